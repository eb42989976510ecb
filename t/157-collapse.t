# Concurrent misses collapse: pages of one worker that ask Redis for the
# same key while a lookup of it is in flight share it (one GET, every
# page gets the value); a page that gives up leaves the others waiting.
# Redis is held with CLIENT PAUSE so that the pages overlap.

use t::WapressTest;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

repeat_each(1);

plan 'no_plan';

sub gets {
    my $info = t::WapressTest::redis('INFO', 'commandstats');
    my $n = 0;
    $n += $1 while $info =~ /cmdstat_h?get:calls=(\d+)/g;
    return $n;
}

# sends GETs for @paths at once, then reads every response body
sub together {
    my @socks;
    for my $path (@_) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $Test::Nginx::Util::ServerPort,
                                      Timeout => 5)
            or die "connect: $!";
        print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
        push @socks, $s;
    }
    my @bodies;
    for my $s (@socks) {
        local $/;
        my $resp = <$s> // '';
        $resp =~ s/.*?\r\n\r\n//s;
        push @bodies, $resp;
    }
    return @bodies;
}

our $Config = <<'_EOC_';
    location = /k {
        wapress_layout ../html/one.html;
        wapress_fragment x t157:k default=none;
    }

    location = /k2 {
        wapress_layout ../html/two.html;
        wapress_fragment x t157:k default=none;
        wapress_fragment y t157:k type=text template=../html/t.mustache;
    }

    location = /short {
        wapress_redis_timeout 100ms;
        wapress_layout ../html/one.html;
        wapress_fragment x t157:k default=gave-up;
    }
_EOC_

our $UserFiles = <<'_EOF_';
>>> one.html
[<!--# wapress fragment="x" -->]
>>> two.html
[<!--# wapress fragment="x" -->|<!--# wapress fragment="y" -->]
>>> t.mustache
<{{.}}>
_EOF_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: 20 pages missing the same key at once: one GET
--- config eval: $::Config
--- user_files eval: $::UserFiles
--- init
t::WapressTest::redis('SET', 't157:k', 'v');
--- request
GET /k
--- response_body
[v]



=== TEST 2: ... checked while Redis is paused
--- init
my $g = main::gets();
t::WapressTest::redis('CLIENT', 'PAUSE', '300', 'ALL');
my @b = main::together(('/k') x 20);
Test::More::is(scalar(grep { $_ eq "[v]\n" } @b), 20, "20 complete pages");
Test::More::is(main::gets() - $g, 1, "one GET for 20 pages");
--- request
GET /k
--- response_body
[v]
--- error_log
wapress fetch shares the lookup of "t157:k" in flight



=== TEST 3: two fragments of one page with the same key: one GET
--- init
my $g = main::gets();
t::WapressTest::redis('CLIENT', 'PAUSE', '200', 'ALL');
my @b = main::together(('/k2') x 3);
Test::More::is(join('', @b), "[v|<v>\n]\n" x 3, "complete pages");
Test::More::is(main::gets() - $g, 1, "one GET");
--- request
GET /k2
--- response_body
[v|<v>
]



=== TEST 4: a page that gives up leaves the others their reply
--- init
my $g = main::gets();
t::WapressTest::redis('CLIENT', 'PAUSE', '300', 'ALL');
my @b = main::together('/k', '/short', '/k');
Test::More::is(join('', @b), "[v]\n[gave-up]\n[v]\n", "pages");
Test::More::is(main::gets() - $g, 1, "one GET");
--- request
GET /k
--- response_body
[v]
--- error_log
timed out after 100ms



=== TEST 5: every page gives up: the command is dropped, Redis is fine
--- init
t::WapressTest::redis('CLIENT', 'PAUSE', '300', 'ALL');
my @b = main::together(('/short') x 5);
Test::More::is(join('', @b), "[gave-up]\n" x 5, "defaults");
sleep 0.4;
--- request
GET /k
--- response_body
[v]
--- error_log
timed out after 100ms
