# Filter mode with wapress_cache: once one lookup of a page has timed
# out, Redis is not asked again for that page, but its later fragments
# still come from the cache zone when it has a fresh copy (they used to
# get their default).  The markers reach the filter in separate buffers
# (a static file read 16 bytes at a time into one buffer), so the second
# is seen only after the first one's deadline.

use t::WapressTest;

repeat_each(1);
plan tests => repeat_each() * (blocks() * 5);

our $Port = $ENV{TEST_NGINX_REDIS_FILTER_PORT} ||= 6394;
stop_redis($Port);
start_redis($Port);
redis_at($Port, 'SET', 't094:a', '<b>A</b>');
redis_at($Port, 'SET', 't094:b', '<b>B</b>');

add_cleanup_handler(sub {
    kill 'CONT', t::WapressTest::redis_pid($Port)
        if t::WapressTest::redis_pid($Port);
    stop_redis($Port);
});

our $HttpConfig = <<'_EOC_';
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_FILTER_PORT;
    wapress_redis_timeout 300ms;
    wapress_cache zone=t094:1m valid=1h stale=0;
_EOC_

our $Config = <<'_EOC_';
    location /c/ {
        alias html/;
        default_type text/html;
        output_buffers 1 16;
        wapress_filter on;
        wapress_fragment a t094:a valid=0 default=defA;
        wapress_fragment b t094:b default=defB;
    }
_EOC_

our $Page = <<'_EOF_';
>>> page.html
[<!--# wapress fragment="a" -->]<p>filler text, filler text</p>[<!--# wapress fragment="b" -->]
_EOF_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Redis up: both from Redis, b is kept in the zone
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval: $::Page
--- request
GET /c/page.html
--- response_body
[<b>A</b>]<p>filler text, filler text</p>[<b>B</b>]



=== TEST 2: Redis paused: a times out, b still comes from the zone
--- init
kill 'STOP', t::WapressTest::redis_pid($main::Port);
--- request
GET /c/page.html
--- response_body
[defA]<p>filler text, filler text</p>[<b>B</b>]
--- error_log eval
qr/\[warn\] .*wapress: fragment "a" key "t094:a": timed out after 300ms, using the default/
--- no_error_log
fragment "b"
[error]



=== TEST 3: Redis back
--- init
kill 'CONT', t::WapressTest::redis_pid($main::Port);
--- request
GET /c/page.html
--- response_body
[<b>A</b>]<p>filler text, filler text</p>[<b>B</b>]
