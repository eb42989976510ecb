# Redis unreachable: optional fragments get their default, required ones
# make the page 503, at once and with one log line per fragment; the
# worker keeps trying to reconnect (with backoff) and recovers by itself.

use t::WapressTest;
use Time::HiRes qw(time sleep);

repeat_each(1);
plan tests => repeat_each() * (blocks() * 5 + 2);

our $Port = $ENV{TEST_NGINX_REDIS_DOWN_PORT} ||= 6397;
stop_redis($Port);

our $TwoConfig = <<'_EOC_';
    location = /db2 {
        wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT db=2;
        wapress_layout ../html/layout.html;
        wapress_fragment a t040:a default=down;
    }

    location = /pw {
        wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT password=s3cret;
        wapress_layout ../html/layout.html;
        wapress_fragment a t040:a default=down;
    }
_EOC_

no_shuffle();
run_tests();

add_cleanup_handler(sub { stop_redis($Port) });

__DATA__

=== TEST 1: nobody listens: defaults at once, one line per fragment
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
    wapress_redis_timeout 2s;
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->|<!--# wapress fragment="b" -->]
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment a t040:a default=A;
        wapress_fragment b t040:b;
    }
--- request
GET /t
--- response_body
[A|]
--- timeout: 1
--- error_log eval
[qr/\[warn\] .*wapress: fragment "a" key "t040:a": .*, using the default/,
 qr/\[warn\] .*wapress: fragment "b" key "t040:b": .*, left empty/]
--- no_error_log
[alert]
[crit]



=== TEST 2: a required fragment makes the page 503
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->]
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment a t040:a required;
    }
--- request
GET /t
--- error_code: 503
--- response_body_like: 503 Service
--- error_log eval
qr/\[error\] .*wapress: fragment "a" key "t040:a": .*, the page is 503/
--- no_error_log
[alert]
[crit]



=== TEST 3: Redis is down: the default
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->]
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment a t040:a default=down;
    }
--- request
GET /t
--- response_body
[down]
--- error_log eval
qr/wapress: redis 127\.0\.0\.1:\d+: connect failed: Connection refused/
--- no_error_log
[alert]
[crit]



=== TEST 4: Redis comes up: the same worker reconnects without a reload
--- init
t::WapressTest::start_redis($main::Port);
t::WapressTest::redis_at($main::Port, 'SET', 't040:a', 'up');
Time::HiRes::sleep(0.5);
--- request
GET /t
--- response_body
[up]
--- error_log eval
qr/\[notice\] .*wapress: redis 127\.0\.0\.1:$main::Port: connected after \d+ failed attempts/
--- no_error_log
[alert]
[crit]



=== TEST 5: a Redis that goes away while a page waits: defaults at once
--- init
my $pid = t::WapressTest::redis_pid($main::Port);
kill 'STOP', $pid;
if (fork() == 0) {
    Time::HiRes::sleep(0.3);
    kill 'KILL', $pid;
    require POSIX;
    POSIX::_exit(0);
}
--- request
GET /t
--- response_body
[down]
--- error_log eval
qr/\[warn\] .*wapress: fragment "a" key "t040:a": .*connection lost: .*using the default/
--- no_error_log
[alert]
[crit]



=== TEST 6: servers on one host:port are told apart: db=
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
--- config eval: $::TwoConfig
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->]
--- request
GET /db2
--- response_body
[down]
--- error_log eval
[qr/\[error\] .*wapress: redis 127\.0\.0\.1:\d+ db=2: connect failed: Connection refused/,
 qr/\[warn\] .*wapress: fragment "a" key "t040:a": redis 127\.0\.0\.1:\d+ db=2: connect failed: Connection refused, using the default/]
--- no_error_log
[alert]
[crit]



=== TEST 7: servers on one host:port are told apart: another password
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
--- config eval: $::TwoConfig
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->]
--- request
GET /pw
--- response_body
[down]
--- error_log eval
qr/\[error\] .*wapress: redis 127\.0\.0\.1:\d+ #\d+: connect failed: Connection refused/
--- no_error_log
s3cret
[alert]
