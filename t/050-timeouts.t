# A Redis that stops answering: the page waits no longer than
# wapress_redis_timeout, then gives defaults (or 503); the replies that
# come late, and those of a client that went away, touch nothing freed
# and reach no other request.

use t::WapressTest;
use Time::HiRes qw(sleep);

repeat_each(1);
plan tests => repeat_each() * (blocks() * 4 + 3);

our $Port = $ENV{TEST_NGINX_REDIS_PAUSE_PORT} ||= 6396;
stop_redis($Port);
start_redis($Port);
redis_at($Port, 'SET', "t050:$_", "value $_") for qw(a b c);

add_cleanup_handler(sub { stop_redis($Port) });

our $HttpConfig = <<'_EOC_';
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_PAUSE_PORT;
    wapress_redis_timeout 300ms;
_EOC_

our $Config = <<'_EOC_';
    location ~ ^/p/(?<k>[a-z])$ {
        wapress_layout ../html/layout.html;
        wapress_fragment x t050:$k default=late;
    }

    location ~ ^/r/(?<k>[a-z])$ {
        wapress_layout ../html/layout.html;
        wapress_fragment x t050:$k required;
    }
_EOC_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Redis answers
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> layout.html
[<!--# wapress fragment="x" -->]
--- request
GET /p/a
--- response_body
[value a]



=== TEST 2: Redis paused past the deadline: the default after 300ms
--- init
kill 'STOP', t::WapressTest::redis_pid($main::Port);
--- request
GET /p/a
--- response_body
[late]
--- timeout: 2
--- error_log
wapress: fragment "x" key "t050:a": timed out after 300ms, using the default
--- no_error_log
[error]
[alert]



=== TEST 3: still paused: a required fragment makes the page 503
--- request
GET /r/b
--- error_code: 503
--- response_body_like: 503 Service
--- timeout: 2
--- error_log eval
[qr/wapress: fragment "x" key "t050:b": .*(timed out after 300ms|a reply due for \d+ms \(limit 400ms\), connection dropped), the page is 503/,
 qr/\[warn\] .*wapress: redis 127\.0\.0\.1:\d+: a reply due for \d+ms \(limit 400ms\), connection dropped/]
--- no_error_log
[alert]
[crit]



=== TEST 4: still paused: the client goes away before the deadline
--- init
Time::HiRes::sleep(0.2);   # past the backoff after the watchdog's drop
--- request
GET /p/a
--- timeout: 0.1
--- abort
--- ignore_response
--- wait: 0.4
--- error_log
client prematurely closed connection
--- no_error_log
[alert]
[crit]



=== TEST 5: Redis resumes: late replies are dropped, not given to others
--- init
kill 'CONT', t::WapressTest::redis_pid($main::Port);
Time::HiRes::sleep(0.2);
--- request
GET /p/c
--- response_body
[value c]
--- no_error_log
[alert]
[crit]
