# wapress_cache: fragments younger than valid= come from the shared zone
# without asking Redis (HIT); older ones are asked again (MISS); valid=0
# and "wapress_cache off" always ask (BYPASS); a nil is cached like a
# value; renderings are keyed by key, field and template; a full zone
# evicts the least recently used entries and fails no request; the
# $wapress_* variables report all of it.

use t::WapressTest;

$t::WapressTest::LayoutOnly = 'its checks read $wapress_* in response headers, which filter mode sends before the lookups (094-filter-cache.t covers the filter with the cache)';
use IO::Socket::INET;
use Time::HiRes qw(sleep);

repeat_each(1);

plan tests => repeat_each() * (blocks() * 5 + 42);

our $UserFiles = <<'_EOF_';
>>> one.html
[<!--# wapress fragment="x" -->]
>>> two.html
[<!--# wapress fragment="x" -->|<!--# wapress fragment="y" -->]
>>> a.mustache
A{{v}}
>>> b.mustache
B{{v}}
_EOF_

our $HttpConfig = <<'_EOC_';
    wapress_cache zone=t100:1m valid=400ms stale=1h;
_EOC_

our $Config = <<'_EOC_';
    add_header X-Cache $wapress_cache_status always;
    add_header X-Count "h=$wapress_fragments_hit b=$wapress_fragments_bypass m=$wapress_fragments_miss u=$wapress_fragments_updating s=$wapress_fragments_stale f=$wapress_fragments_failed" always;
    add_header X-Frag "x=$wapress_cache_status_x y=$wapress_cache_status_y" always;

    location = /a {
        wapress_layout ../html/one.html;
        wapress_fragment x t100:a default=none;
    }

    location = /n {
        wapress_layout ../html/one.html;
        wapress_fragment x t100:n default=none;
    }

    location = /req {
        wapress_layout ../html/one.html;
        wapress_fragment x t100:n required;
    }

    location = /z {
        wapress_layout ../html/two.html;
        wapress_fragment x t100:z valid=0;
        wapress_fragment y t100:a default=none;
    }

    location = /off {
        wapress_cache off;
        wapress_layout ../html/one.html;
        wapress_fragment x t100:a default=none;
    }

    location = /long {
        wapress_cache zone=t100 valid=1h;
        wapress_layout ../html/one.html;
        wapress_fragment x t100:a default=none;
    }

    location = /h {
        wapress_layout ../html/two.html;
        wapress_fragment x t100:h field=f1;
        wapress_fragment y t100:h field=f2;
    }

    location = /tpl {
        wapress_layout ../html/two.html;
        wapress_fragment x t100:j template=../html/a.mustache;
        wapress_fragment y t100:j template=../html/b.mustache;
    }

    location = /text {
        wapress_layout ../html/two.html;
        wapress_fragment x t100:j;
        wapress_fragment y t100:j type=text template=../html/a.mustache;
    }

    location = /api {
        wapress_layout ../html/one.html;
        wapress_fragment x t100:j template=../html/a.mustache;
    }
_EOC_

our $EvictConfig = <<'_EOC_';
    add_header X-Cache $wapress_cache_status always;

    location ~ ^/e/(?<n>\d+)$ {
        wapress_layout ../html/one.html;
        wapress_fragment x t100:e:$n;
    }
_EOC_

# a 2000-byte value per key: a 32k zone (8 pages) holds a few of them
our $Big = 'v' x 2000;
our $Keys = 200;

sub http_get {
    my $path = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $Test::Nginx::Util::ServerPort,
                                  Timeout => 5)
        or die "connect: $!";
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
    local $/;
    my $resp = <$s>;
    return $resp;
}

add_block_preprocessor(sub {
    my $block = shift;
    if (defined $block->config && !defined $block->user_files) {
        $block->set_value('user_files', $UserFiles);
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the first request asks Redis: MISS
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- init
t::WapressTest::redis('SET', 't100:a', 'v1');
--- request
GET /a
--- response_headers
X-Cache: MISS
X-Count: h=0 b=0 m=1 u=0 s=0 f=0
X-Frag: x=MISS y=
--- response_body
[v1]



=== TEST 2: younger than valid=: from the zone, Redis not asked (HIT)
--- init
t::WapressTest::redis('SET', 't100:a', 'v2');
--- request
GET /a
--- response_headers
X-Cache: HIT
X-Count: h=1 b=0 m=0 u=0 s=0 f=0
--- response_body
[v1]



=== TEST 3: older than valid=: Redis is asked again
--- init
Time::HiRes::sleep(0.45);
--- request
GET /a
--- response_headers
X-Cache: MISS
--- response_body
[v2]



=== TEST 4: wapress_cache off in a location: always asked (BYPASS)
--- init
t::WapressTest::redis('SET', 't100:a', 'v3');
--- request
GET /off
--- response_headers
X-Cache: BYPASS
X-Count: h=0 b=1 m=0 u=0 s=0 f=0
--- response_body
[v3]



=== TEST 5: a location's own valid= on the same zone (named without size)
--- request
GET /long
--- response_headers
X-Cache: HIT
--- response_body
[v2]



=== TEST 6: a nil is cached too: MISS, the default
--- init
t::WapressTest::redis('DEL', 't100:n');
--- request
GET /n
--- response_headers
X-Cache: MISS
--- response_body
[none]



=== TEST 7: the key appears: still "not found" while the nil is fresh
--- init
t::WapressTest::redis('SET', 't100:n', 'here');
--- request
GET /n
--- response_headers
X-Cache: HIT
--- response_body
[none]



=== TEST 8: a required fragment: the cached nil makes the page 404
--- request
GET /req
--- error_code: 404
--- response_headers
X-Cache: HIT
--- response_body_like: 404 Not Found



=== TEST 9: then it is asked again
--- init
Time::HiRes::sleep(0.45);
--- request
GET /n
--- response_headers
X-Cache: MISS
--- response_body
[here]



=== TEST 10: valid=0 in a fragment: always asked (BYPASS), the page too
--- init
t::WapressTest::redis('SET', 't100:z', 'z1');
Time::HiRes::sleep(0.45);
--- request eval
["GET /z", "GET /z"]
--- response_headers eval
["X-Cache: MISS\nX-Frag: x=BYPASS y=MISS\n",
 "X-Cache: BYPASS\nX-Frag: x=BYPASS y=HIT\n"]
--- response_body eval
["[z1|v3]\n", "[z1|v3]\n"]



=== TEST 11: valid=0: a new value is seen at once
--- init
t::WapressTest::redis('SET', 't100:z', 'z2');
--- request
GET /z
--- response_headers
X-Cache: BYPASS
--- response_body
[z2|v3]



=== TEST 12: field=: one entry per field
--- init
t::WapressTest::redis('DEL', 't100:h');
t::WapressTest::redis('HSET', 't100:h', 'f1', 'one', 'f2', 'two');
--- request eval
["GET /h", "GET /h"]
--- response_headers eval
["X-Cache: MISS\n", "X-Cache: HIT\n"]
--- response_body eval
["[one|two]\n", "[one|two]\n"]



=== TEST 13: one key, two templates: one rendering each
--- init
t::WapressTest::redis('SET', 't100:j', '{"v":"<j>"}');
--- request eval
["GET /tpl", "GET /tpl", "GET /api"]
--- response_headers eval
["X-Cache: MISS\n", "X-Cache: HIT\n", "X-Cache: HIT\n"]
--- response_body eval
["[A&lt;j&gt;\n|B&lt;j&gt;\n]\n", "[A&lt;j&gt;\n|B&lt;j&gt;\n]\n",
 "[A&lt;j&gt;\n]\n"]



=== TEST 14: one key, html and text: one rendering each
--- request eval
["GET /text", "GET /text"]
--- response_headers eval
["X-Frag: x=MISS y=MISS\n", "X-Frag: x=HIT y=HIT\n"]
--- response_body eval
[qq{[{"v":"<j>"}|A\n]\n}, qq{[{"v":"<j>"}|A\n]\n}]



=== TEST 15: outside a page the variables are not found
--- request
GET /
--- response_headers
X-Cache:
X-Count: h= b= m= u= s= f=
--- response_body_like: It works



=== TEST 16: a full zone evicts the least recently used, pages stay whole
--- http_config
    wapress_cache zone=t100e:32k valid=1h;
--- config eval: $::EvictConfig
--- init
my @cmds = map { ['SET', "t100:e:$_", "$_:$::Big"] } 1 .. $::Keys;
t::WapressTest::redis_session($ENV{TEST_NGINX_REDIS_PORT}, @cmds);
for my $n (1 .. $::Keys) {
    my $r = main::http_get("/e/$n");
    my ($head, $body) = split /\r\n\r\n/, $r, 2;
    $head =~ m{^HTTP/1\.\d 200 .*\r\nX-Cache: MISS(\r\n|\z)}s
        && $body eq "[$n:$::Big]\n"
        or die "page $n: " . join("|", split(m{\r?\n}, $head));
}
--- request eval
["GET /e/1", "GET /e/$::Keys"]
--- response_headers eval
["X-Cache: MISS\n", "X-Cache: HIT\n"]
--- response_body eval
["[1:$::Big]\n", "[$::Keys:$::Big]\n"]



=== TEST 17: larger than a quarter of the zone: not stored, page whole
--- init
t::WapressTest::redis('SET', 't100:e:999', 'w' x 9000);
--- request eval
["GET /e/999", "GET /e/999"]
--- response_headers eval
["X-Cache: MISS\n", "X-Cache: MISS\n"]
--- response_body eval
["[" . ('w' x 9000) . "]\n", "[" . ('w' x 9000) . "]\n"]



=== TEST 18: zone too small
--- http_config
    wapress_cache zone=t100s:1k;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qwapress_cache zone "t100s" is too small\E/



=== TEST 19: no zone
--- http_config
    wapress_cache valid=1s;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*\Q"wapress_cache" directive needs zone=NAME[:SIZE]\E/



=== TEST 20: a bad time
--- http_config
    wapress_cache zone=t100s:1m valid=soon;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid or repeated parameter "valid=soon"\E/



=== TEST 21: twice at one level
--- http_config
    wapress_cache zone=t100s:1m;
    wapress_cache off;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*\Q"wapress_cache" directive is duplicate\E/



=== TEST 22: off takes nothing more
--- http_config
    wapress_cache off valid=1s;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*\Q"wapress_cache" directive takes no parameters after "off"\E/



=== TEST 23: a zone never given a size
--- http_config
    wapress_cache zone=t100nosize;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*wapress_cache zone "t100nosize" is never given a size: .* in .*nginx\.conf:\d+/



=== TEST 24: a bad valid= of a fragment
--- config
    location = /t {
        wapress_layout ../html/one.html;
        wapress_fragment x t100:a valid=later;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid or repeated parameter "valid=later" of fragment "x"\E/



=== TEST 25: a zone of another module's name
--- http_config
    limit_req_zone $binary_remote_addr zone=t100lr:1m rate=1r/s;
    wapress_cache zone=t100lr:1m;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qthe shared memory zone "t100lr" is already declared for a different use\E/
