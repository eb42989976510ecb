# HTTP caching of the assembled page: a strong ETag from the page's bytes
# (wapress_etag, on by default) with If-None-Match answered 304; it is made
# of each part's hash, taken once per value (read from Redis, rendered,
# kept with the memo's and the cache's entries), so the same bytes by any
# path (Redis, memo, cache) give the same ETag; optional
# Cache-Control: max-age from the fragments' remaining freshness
# (wapress_cache_control) and Surrogate-Key with the page's Redis keys
# (wapress_surrogate_key).  Filter mode sets none of them.

use t::WapressTest;

$t::WapressTest::LayoutOnly = 'ETag, Cache-Control and Surrogate-Key are layout mode\'s: filter mode sends its header before the fragments are known (its own block checks that it sets none)';
use IO::Socket::INET;

repeat_each(1);

plan 'no_plan';

our $UserFiles = <<'_EOF_';
>>> two.html
[<!--# wapress fragment="x" -->|<!--# wapress fragment="y" -->]
>>> n.mustache
n={{n}}
_EOF_

our $Config = <<'_EOC_';
    location = /p {
        wapress_layout ../html/two.html;
        wapress_fragment x t156:x default=none;
        wapress_fragment y t156:h field=f default=none;
    }

    location = /noetag {
        wapress_etag off;
        wapress_layout ../html/two.html;
        wapress_fragment x t156:x default=none;
        wapress_fragment y t156:h field=f default=none;
    }

    location = /cc {
        wapress_cache zone=t156:1m valid=10s;
        wapress_cache_control on;
        wapress_surrogate_key on;
        wapress_layout ../html/two.html;
        wapress_fragment x t156:x default=none;
        wapress_fragment y t156:h field=f default=none valid=4s;
    }

    location = /cc-nocache {
        wapress_cache_control on;
        wapress_surrogate_key on;
        wapress_layout ../html/two.html;
        wapress_fragment x "t156:a b" default=none;
        wapress_fragment y "t156:a b" field=g default=none;
    }

    location = /e {
        wapress_layout ../html/two.html;
        wapress_fragment x t156:e;
        wapress_fragment y t156:j template=../html/n.mustache;
    }

    location = /ec {
        wapress_cache zone=t156:1m valid=60s;
        wapress_layout ../html/two.html;
        wapress_fragment x t156:e;
        wapress_fragment y t156:j template=../html/n.mustache;
    }

    location = /upstream {
        default_type text/html;
        add_header ETag '"up"';
        return 200 '[<!--# wapress fragment="x" -->]';
    }

    location = /f {
        wapress_filter on;
        wapress_fragment x t156:x default=none;
        proxy_pass http://127.0.0.1:$server_port/upstream;
    }
_EOC_

our $Etag;

# one GET with extra header lines; the raw response
sub get {
    my ($path, $headers) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $Test::Nginx::Util::ServerPort,
                                  Timeout => 3)
        or die "connect: $!";
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n"
             . ($headers // '') . "\r\n";
    local $/;
    my $resp = <$s>;
    return $resp // '';
}

sub etag {
    my $resp = get($_[0] // '/p');
    return $resp =~ /^ETag: (\S+)\r$/m ? $1 : '';
}

# the body and the ETag of one GET
sub page {
    my $resp = get($_[0]);
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    return ($body // '', $head =~ /^ETag: ("wp-[0-9a-f]{16}")\r?$/m ? $1
                                                                   : '');
}

our %Seen;

add_block_preprocessor(sub {
    my $block = shift;
    if (defined $block->config && !defined $block->user_files) {
        $block->set_value('user_files', $UserFiles);
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a strong ETag, the same for the same bytes
--- config eval: $::Config
--- init
t::WapressTest::redis('SET', 't156:x', 'one');
t::WapressTest::redis('HSET', 't156:h', 'f', 'eff');
--- request
GET /p
--- response_headers_like
ETag: "wp-[0-9a-f]{16}"
--- response_body
[one|eff]



=== TEST 2: If-None-Match with it: 304, no body
--- init
$main::Etag = main::etag();
Test::More::like($main::Etag, qr/^"wp-[0-9a-f]{16}"$/, "an ETag");
Test::More::is(main::etag(), $main::Etag, "the same twice");
my $r = main::get('/p', "If-None-Match: $main::Etag\r\n");
Test::More::like($r, qr{^HTTP/1\.1 304 }, "answered 304");
Test::More::like($r, qr/\r\n\r\n\z/, "no body");
$r = main::get('/p', "If-None-Match: \"wp-0000000000000000\"\r\n");
Test::More::like($r, qr{^HTTP/1\.1 200 }, "another ETag: 200");
--- request
GET /p
--- response_body
[one|eff]



=== TEST 3: a fragment written: another ETag, 200 with the new page
--- init
t::WapressTest::redis('SET', 't156:x', 'two');
my $r = main::get('/p', "If-None-Match: $main::Etag\r\n");
Test::More::like($r, qr{^HTTP/1\.1 200 .*\[two\|eff\]}s, "200, new page");
Test::More::isnt(main::etag(), $main::Etag, "a new ETag");
--- request
GET /p
--- response_body
[two|eff]



=== TEST 4: wapress_etag off: none
--- request
GET /noetag
--- response_headers
ETag:
--- response_body
[two|eff]



=== TEST 5: Cache-Control and Surrogate-Key are off by default
--- request
GET /p
--- response_headers
Cache-Control:
Surrogate-Key:



=== TEST 6: max-age is the shortest freshness left; the page's keys
--- request
GET /cc
--- response_headers
Cache-Control: max-age=4
Surrogate-Key: t156%3Ax t156%3Ah



=== TEST 7: from the cache a second later: less freshness is left
--- init
Time::HiRes::sleep(1.1);
--- request
GET /cc
--- response_headers_like
Cache-Control: max-age=[0-2]
--- response_body
[two|eff]



=== TEST 8: no cache: max-age=0; a key used twice is listed once, escaped
--- request
GET /cc-nocache
--- response_headers
Cache-Control: max-age=0
Surrogate-Key: t156%3Aa%20b



=== TEST 9: filter mode: the upstream's ETag goes, none is set
--- request
GET /f
--- response_headers
ETag:
--- response_body chomp
[two]



=== TEST 10: a copy from the cache has the ETag of the same bytes from Redis
--- init
t::WapressTest::redis('SET', 't156:e', 'alpha');
t::WapressTest::redis('SET', 't156:j', '{"n":1}');
my ($b1, $e1) = main::page('/e');
Test::More::is($b1, "[alpha|n=1\n]\n", "from Redis");
my ($b2, $e2) = main::page('/ec');
Test::More::is($b2, $b1, "kept in the cache");
Test::More::is($e2, $e1, "the same ETag");
t::WapressTest::redis('SET', 't156:e', 'beta');
my ($b3, $e3) = main::page('/ec');
Test::More::is($b3, $b1, "the cache's copy, Redis not asked");
Test::More::is($e3, $e1, "its ETag is still the copy's");
my ($b4, $e4) = main::page('/e');
Test::More::is($b4, "[beta|n=1\n]\n", "Redis's new value");
Test::More::isnt($e4, $e1, "another ETag");
$main::Seen{beta1} = $e4;
--- request
GET /e
--- response_body
[beta|n=1
]



=== TEST 11: a rendering from the memo has the ETag of the same rendering made anew
--- init
t::WapressTest::redis('SET', 't156:j', '{"n":2}');
my ($b1, $e1) = main::page('/e');
Test::More::is($b1, "[beta|n=2\n]\n", "rendered");
Test::More::isnt($e1, $main::Seen{beta1}, "another ETag");
my ($b2, $e2) = main::page('/e');
Test::More::is($e2, $e1, "from the memo: the same ETag");
t::WapressTest::redis('SET', 't156:j', '{"n":1}');
my ($b3, $e3) = main::page('/e');
Test::More::is($b3, "[beta|n=1\n]\n", "the first value again");
Test::More::is($e3, $main::Seen{beta1}, "its first ETag");
t::WapressTest::redis('SET', 't156:j', '{"n" : 1}');
my ($b4, $e4) = main::page('/e');
Test::More::is($b4, $b3, "another value, the same rendering");
Test::More::is($e4, $e3, "the same bytes: the same ETag");
--- request
GET /e
--- response_body
[beta|n=1
]



=== TEST 12: one byte changed in a long value: another ETag
--- init
my $v = 'a' x 5000;
t::WapressTest::redis('SET', 't156:e', $v);
my ($b1, $e1) = main::page('/e');
substr($v, 2500, 1) = 'b';
t::WapressTest::redis('SET', 't156:e', $v);
my ($b2, $e2) = main::page('/e');
Test::More::isnt($b2, $b1, "another page");
Test::More::isnt($e2, $e1, "another ETag");
substr($v, 2500, 1) = 'a';
t::WapressTest::redis('SET', 't156:e', $v);
my ($b3, $e3) = main::page('/e');
Test::More::is($e3, $e1, "the first value: its ETag");
--- request
GET /e
--- response_body_like: ^\[a+\|n=1
