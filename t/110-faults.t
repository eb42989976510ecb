# Redis in trouble, with a real redis-server: killed, paused (SIGSTOP)
# past the deadline, restarted on the same port, restarted empty,
# replaced by a server that accepts and never answers, and by one that
# answers garbage.  Each time: the worker does not crash (master on: a
# crash would log an [alert]), no page waits past the deadline
# (wapress_redis_timeout 300ms: X-Time is $request_time when the header
# goes), the page is complete from the stale zone, and once Redis is
# back the pages are fresh again without a reload.  A real miss (Redis
# restarted empty) is not masked by a stale copy.

use t::WapressTest;
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Time::HiRes qw(sleep time);

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 7 + 8);

our $Port = $ENV{TEST_NGINX_REDIS_FAULT_PORT}
    ||= ($ENV{TEST_NGINX_REDIS_PORT} || 6399) - 14;           # 6385
our $Fake;

stop_redis($Port);
start_redis($Port);

add_cleanup_handler(sub {
    stop_fake();
    stop_redis($Port);
});

# a listener on $Port in a child process: "silent" reads and never
# answers, "garbage" answers every read with bytes that are not RESP
sub start_fake {
    my $mode = shift;
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                    LocalPort => $Port, Listen => 64,
                                    ReuseAddr => 1)
        or die "cannot listen on $Port: $!\n";
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        my $sel = IO::Select->new($srv);
        for ( ;; ) {
            for my $s ($sel->can_read(1)) {
                if ($s == $srv) {
                    my $c = $srv->accept;
                    $sel->add($c) if $c;
                    next;
                }
                my $n = sysread($s, my $buf, 65536);
                if (!$n) {
                    $sel->remove($s);
                    close $s;
                    next;
                }
                if ($mode eq 'garbage') {
                    syswrite($s, "HTTP/1.1 400 Bad Request\r\n\r\n\x00\xff");
                }
            }
        }
        POSIX::_exit(0);
    }
    close $srv;
    $Fake = $pid;
}

sub stop_fake {
    return unless $Fake;
    kill 'KILL', $Fake;
    waitpid($Fake, 0);
    undef $Fake;
}


# recovery: polls until a page matches, at most $secs seconds
sub wait_page {
    my ($path, $re, $secs) = @_;
    my $until = time + $secs;
    while (time < $until) {
        return if http_get($path) =~ $re;
        sleep 0.05;
    }
    die "$path: no page like $re after ${secs}s\n";
}


sub seed {
    my %kv = @_;
    t::WapressTest::redis_at($Port, 'SET', $_, $kv{$_}) for keys %kv;
}

our $HttpConfig = <<'_EOC_';
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_FAULT_PORT;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
    wapress_cache zone=t110:1m valid=100ms stale=1h;
_EOC_

our $Config = <<'_EOC_';
    add_header X-Cache $wapress_cache_status always;
    add_header X-Time $request_time always;

    location ~ ^/p/(?<k>[a-z])$ {
        wapress_layout ../html/layout.html;
        wapress_fragment x t110:$k required;
        wapress_fragment c t110:count default=0 valid=0;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->timeout) {
        $block->set_value('timeout', '1');
    }
    if (!defined $block->no_error_log) {
        $block->set_value('no_error_log', "[alert]\n[crit]\n");
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Redis up: fresh pages
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> layout.html
[<!--# wapress fragment="x" -->|<!--# wapress fragment="c" -->]
--- init
main::seed('t110:a' => 'A1', 't110:count' => 5);
--- request
GET /p/a
--- response_headers
X-Cache: MISS
--- response_headers_like
X-Time: 0\.[0-4]\d\d
--- response_body
[A1|5]



=== TEST 2: killed: the stale copies at once
--- init
t::WapressTest::stop_redis($main::Port);
Time::HiRes::sleep(0.15);
--- request eval
["GET /p/a", "GET /p/a"]
--- response_headers eval
["X-Cache: STALE\n", "X-Cache: STALE\n"]
--- response_headers_like eval
["X-Time: 0\\.[0-4]\\d\\d\n", "X-Time: 0\\.[0-4]\\d\\d\n"]
--- response_body eval
["[A1|5]\n", "[A1|5]\n"]
--- error_log eval
qr/(?:fragment "x" key "t110:a"|fragments "x", [^(]*\(keys "t110:a", [^)]*\)): .*, using (?:a stale copy|stale copies, the oldest) \d+ms old/



=== TEST 3: killed: a page never cached fails as it would without a cache
--- request
GET /p/b
--- error_code: 503
--- response_headers_like
X-Time: 0\.[0-4]\d\d
--- response_body_like: 503 Service
--- error_log
fragment "x" key "t110:b"



=== TEST 4: restarted on the same port: fresh again, no reload
--- init
t::WapressTest::start_redis($main::Port);
main::seed('t110:a' => 'A2', 't110:b' => 'B2', 't110:count' => 6);
main::wait_page('/p/a', qr/\[A2\|6\]/, 8);
--- request
GET /p/b
--- response_headers
X-Cache: MISS
--- response_headers_like
X-Time: 0\.[0-4]\d\d
--- response_body
[B2|6]



=== TEST 5: paused past the deadline: the stale copies after 300ms
--- init
kill 'STOP', t::WapressTest::redis_pid($main::Port);
Time::HiRes::sleep(0.15);
--- request eval
["GET /p/a", "GET /p/b"]
--- response_headers eval
["X-Cache: STALE\n", "X-Cache: STALE\n"]
--- response_headers_like eval
["X-Time: 0\\.[34]\\d\\d\n", "X-Time: 0\\.[0-4]\\d\\d\n"]
--- response_body eval
["[A2|6]\n", "[B2|6]\n"]
--- error_log eval
qr/(?:fragment "x" key "t110:[ab]"|fragments "x", [^(]*\(keys "t110:[ab]", [^)]*\)): (timed out after 300ms|.*a reply due for \d+ms \(limit 400ms\), connection dropped), using (?:a stale copy|stale copies)/



=== TEST 6: resumed: late replies are dropped, pages fresh again
--- init
kill 'CONT', t::WapressTest::redis_pid($main::Port);
main::wait_page('/p/a', qr/X-Cache: MISS/, 8);
t::WapressTest::redis_at($main::Port, 'SET', 't110:a', 'A3');
Time::HiRes::sleep(0.15);
--- request
GET /p/a
--- response_headers
X-Cache: MISS
--- response_headers_like
X-Time: 0\.[0-4]\d\d
--- response_body
[A3|6]



=== TEST 7: restarted empty: a real miss is not masked by a stale copy
--- init
t::WapressTest::stop_redis($main::Port);
t::WapressTest::start_redis($main::Port);
main::wait_page('/p/a', qr/^HTTP\/1\.\d 404/, 8);
--- request
GET /p/a
--- error_code: 404
--- response_headers_like
X-Cache: MISS|BYPASS
--- response_body_like: 404 Not Found
--- error_log
wapress: fragment "x" key "t110:a": not found, the page is 404



=== TEST 8: seeded again
--- init
main::seed('t110:a' => 'A4', 't110:count' => 7);
Time::HiRes::sleep(0.15);
--- request
GET /p/a
--- response_headers
X-Cache: MISS
--- response_body
[A4|7]



=== TEST 9: replaced by a server that accepts and never answers
--- init
t::WapressTest::stop_redis($main::Port);
main::start_fake('silent');
Time::HiRes::sleep(0.15);
--- request eval
["GET /p/a", "GET /p/a"]
--- response_headers eval
["X-Cache: STALE\n", "X-Cache: STALE\n"]
--- response_headers_like eval
["X-Time: 0\\.[0-4]\\d\\d\n", "X-Time: 0\\.[0-4]\\d\\d\n"]
--- response_body eval
["[A4|7]\n", "[A4|7]\n"]
--- error_log eval
qr/(?:fragment "x" key "t110:a"|fragments "x", [^(]*\(keys "t110:a", [^)]*\)): .*, using (?:a stale copy|stale copies)/



=== TEST 10: Redis is back: fresh pages
--- init
main::stop_fake();
t::WapressTest::start_redis($main::Port);
main::seed('t110:a' => 'A5', 't110:count' => 8);
main::wait_page('/p/a', qr/\[A5\|8\]/, 8);
--- request
GET /p/a
--- response_headers_like
X-Cache: MISS|BYPASS
X-Time: 0\.[0-4]\d\d
--- response_body
[A5|8]



=== TEST 11: replaced by a server that answers garbage
--- init
t::WapressTest::stop_redis($main::Port);
main::start_fake('garbage');
Time::HiRes::sleep(0.15);
--- request eval
["GET /p/a", "GET /p/a"]
--- response_headers eval
["X-Cache: STALE\n", "X-Cache: STALE\n"]
--- response_headers_like eval
["X-Time: 0\\.[0-4]\\d\\d\n", "X-Time: 0\\.[0-4]\\d\\d\n"]
--- response_body eval
["[A5|8]\n", "[A5|8]\n"]
--- error_log eval
qr/(?:fragment "x" key "t110:a"|fragments "x", [^(]*\(keys "t110:a", [^)]*\)): .*Protocol error, .*using (?:a stale copy|stale copies)/



=== TEST 12: Redis is back: fresh pages
--- init
main::stop_fake();
t::WapressTest::start_redis($main::Port);
main::seed('t110:a' => 'A6', 't110:count' => 9);
main::wait_page('/p/a', qr/\[A6\|9\]/, 8);
--- request
GET /p/a
--- response_headers_like
X-Cache: MISS|BYPASS
X-Time: 0\.[0-4]\d\d
--- response_body
[A6|9]
