# Filter mode: required fragments hold the header until the page's status
# is known (a missing one gives 404, Redis trouble 503, the upstream body
# discarded); Redis down, paused past the deadline, or answering late:
# defaults, never a hang or a half-written page.

use t::WapressTest;
use Time::HiRes qw(time sleep);
use POSIX ();

repeat_each(1);
plan tests => repeat_each() * (blocks() * 4 + 2);

our $Port = $ENV{TEST_NGINX_REDIS_FILTER_PORT} ||= 6394;
stop_redis($Port);
start_redis($Port);
redis_at($Port, 'SET', 't092:a', '<b>A</b>');
redis_at($Port, 'SET', 't092:b', '<b>B</b>');
redis_at($Port, 'DEL', 't092:nope');

add_cleanup_handler(sub { stop_redis($Port) });

our $HttpConfig = <<'_EOC_';
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_FILTER_PORT;
    wapress_redis_timeout 300ms;
_EOC_

our $Config = <<'_EOC_';
    location /backend/ {
        alias html/;
    }

    location /req/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        wapress_filter on;
        wapress_fragment a t092:a required;
        wapress_fragment b t092:b;
    }

    location /missing/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        wapress_filter on;
        wapress_fragment a t092:nope required;
        wapress_fragment b t092:b;
    }

    location /s/ {
        alias html/;
        wapress_filter on;
        wapress_fragment a t092:nope required;
    }

    location /opt/ {
        alias html/;
        output_buffers 1 16;
        wapress_filter on;
        wapress_fragment a t092:a default=defA;
        wapress_fragment b t092:b default=defB;
    }
_EOC_

# a page larger than the proxy buffers, its required marker at the end
our $Big = ('<p>' . ('x' x 70) . "</p>\n") x 2000;

no_shuffle();
no_long_string();
run_tests();

__DATA__

=== TEST 1: the required fragment is found: the held page is sent
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> page.html
<h1><!--# wapress fragment="a" --></h1><!--# wapress fragment="b" -->
--- request
GET /req/page.html
--- response_body
<h1><b>A</b></h1><b>B</b>
--- response_headers
!Content-Length
--- error_log
wapress filter holds the header
wapress filter sends the held header



=== TEST 2: the required fragment is missing: 404, the body discarded
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> page.html
<h1>upstream text</h1><!--# wapress fragment="a" --><!--# wapress fragment="b" -->
--- request
GET /missing/page.html
--- error_code: 404
--- response_body_like: 404 Not Found
--- response_body_unlike: upstream text
--- error_log eval
qr/\[info\] .*wapress: fragment "a" key "t092:nope": not found, the page is 404/
--- no_error_log
[error]



=== TEST 3: a static file with a missing required fragment
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> page.html
<h1>static text</h1><!--# wapress fragment="a" -->
--- request
GET /s/page.html
--- error_code: 404
--- response_body_unlike: static text
--- no_error_log
[error]



=== TEST 4: a required fragment the page does not use: 200 at its end
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> page.html
<p>no marker of a here</p><!--# wapress fragment="b" -->
--- request
GET /missing/page.html
--- response_body
<p>no marker of a here</p><b>B</b>
--- no_error_log
[error]
wapress: fragment



=== TEST 5: a page larger than the proxy buffers, its required marker last
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval
[['big.html' => $::Big . '<!--# wapress fragment="a" -->']]
--- request
GET /req/big.html
--- response_body eval: $::Big . '<b>A</b>'
--- no_error_log
[error]



=== TEST 6: the same page, the required fragment missing: 404
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval
[['big.html' => '<!--# wapress fragment="a" -->' . $::Big]]
--- request
GET /missing/big.html
--- error_code: 404
--- response_body_like: 404 Not Found
--- no_error_log
[error]



=== TEST 7: error_page serves the 404 of a missing required fragment
--- http_config eval: $::HttpConfig
--- config eval
$::Config . <<'_EOC_'
    location /ep/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        wapress_filter on;
        wapress_fragment a t092:nope required;
        error_page 404 /backend/sorry.html;
    }
_EOC_
--- user_files
>>> page.html
<h1>upstream text</h1><!--# wapress fragment="a" -->
>>> sorry.html
<p>sorry</p>
--- request
GET /ep/page.html
--- error_code: 404
--- response_body
<p>sorry</p>
--- no_error_log
[error]



=== TEST 8: error_page to a proxied location
--- http_config eval: $::HttpConfig
--- config eval
$::Config . <<'_EOC_'
    location /ep/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        wapress_filter on;
        wapress_fragment a t092:nope required;
        error_page 404 /sorry;
    }

    location = /sorry {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/sorry.html;
    }
_EOC_
--- user_files eval
[['page.html' => '<h1>upstream text</h1><!--# wapress fragment="a" -->' . $::Big],
 ['sorry.html' => "<p>sorry</p>\n"]]
--- request
GET /ep/page.html
--- error_code: 404
--- response_body
<p>sorry</p>
--- no_error_log
[error]



=== TEST 9: keepalive after a page that became a 404
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval
[['page.html' => '<h1>upstream text</h1><!--# wapress fragment="a" -->' . $::Big]]
--- pipelined_requests eval
["GET /missing/page.html", "GET /req/page.html", "GET /s/page.html"]
--- error_code eval
[404, 200, 404]
--- response_body_like eval
["404 Not Found", "^<h1>upstream text</h1><b>A</b>", "404 Not Found"]
--- no_error_log
[error]



=== TEST 10: HEAD of a page with a required fragment passes through
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> page.html
<!--# wapress fragment="a" -->
--- request
HEAD /missing/page.html
--- response_headers
Content-Length: 31
--- no_error_log
wapress: fragment



=== TEST 11: Redis paused past the deadline: optional ones get defaults
The two markers arrive in separate buffers: the second is not asked after
the first timed out, so the page waits once, not twice.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> page.html
[<!--# wapress fragment="a" -->]<p>filler text, filler text</p>[<!--# wapress fragment="b" -->]
--- init
kill 'STOP', t::WapressTest::redis_pid($main::Port);
$main::T0 = Time::HiRes::time();
--- request
GET /opt/page.html
--- response_body
[defA]<p>filler text, filler text</p>[defB]
--- error_log eval
[qr/\[warn\] .*wapress: fragment "a" key "t092:a": timed out after 300ms, using the default/,
 qr/\[warn\] .*wapress: fragment "b" key "t092:b": not asked, an earlier lookup of the page timed out, using the default/]
--- no_error_log
[error]



=== TEST 12: ... and it waited about one deadline
--- init
my $t = Time::HiRes::time() - $main::T0;
die "the page took ${t}s\n" if $t > 1.5;
--- request
GET /opt/page.html
--- response_body
[defA]<p>filler text, filler text</p>[defB]
--- no_error_log
[error]



=== TEST 13: Redis paused: a required fragment makes the page 503
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> page.html
<h1>upstream text</h1><!--# wapress fragment="a" -->
--- request
GET /req/page.html
--- error_code: 503
--- response_body_like: 503 Service
--- response_body_unlike: upstream text
--- error_log eval
qr/\[error\] .*wapress: fragment "a" key "t092:a": timed out after 300ms, the page is 503/
--- no_error_log
[alert]



=== TEST 14: Redis back: the late replies touched nothing
--- init
kill 'CONT', t::WapressTest::redis_pid($main::Port);
Time::HiRes::sleep(0.2);
--- request
GET /req/page.html
--- response_body
<h1>upstream text</h1><b>A</b>
--- no_error_log
[alert]
[crit]



=== TEST 15: Redis down: defaults at once, a required fragment 503
--- http_config
    wapress_redis 127.0.0.1:1;
--- config eval: $::Config
--- user_files
>>> page.html
<h1>upstream text</h1><!--# wapress fragment="a" --><!--# wapress fragment="b" -->
--- request eval
["GET /opt/page.html", "GET /req/page.html"]
--- error_code eval
[200, 503]
--- response_body_like eval
["^<h1>upstream text</h1>defAdefB\$", "503 Service"]
--- error_log eval
qr/wapress: fragment "b" key "t092:b": .*connect failed/
--- no_error_log
[alert]



=== TEST 16: the text before a pending fragment reaches the client at once
The client gives up after 0.6 s of silence; Redis answers after 1.2 s.
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_FILTER_PORT;
    wapress_redis_timeout 3s;
--- config eval
$::Config . <<'_EOC_'
    location /slow/ {
        alias html/;
        wapress_filter on;
        wapress_fragment a t092:a default=defA;
    }
_EOC_
--- user_files
>>> page.html
<p>before</p><!--# wapress fragment="a" --><p>after</p>
--- init
my $pid = t::WapressTest::redis_pid($main::Port);
kill 'STOP', $pid;
if (fork() == 0) {
    Time::HiRes::sleep(1.2);
    kill 'CONT', $pid;
    POSIX::_exit(0);
}
--- request
GET /slow/page.html HTTP/1.0
--- timeout: 0.6
--- abort
--- response_body chomp
<p>before</p>
--- no_error_log
[error]



=== TEST 17: ... and the whole page once Redis answers
--- init
Time::HiRes::sleep(1);
--- request
GET /slow/page.html
--- response_body
<p>before</p><b>A</b><p>after</p>
--- no_error_log
[error]
