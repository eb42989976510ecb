# Runner self-test: error-log checks (error_log, no_error_log, eval
# patterns, grep_error_log, per-block log_level, shutdown_error_log) and
# the per-request log windows of multi-request blocks.
use Test::Nginx::Socket;

repeat_each(2);

# TEST 1: 4, TEST 2: 4, TEST 3: 2, TEST 4: 2 per repeat;
# TEST 5: 2 requests x (1 status + 1 log) = 4 per repeat;
# TEST 6: 2 per repeat + 2 shutdown tests (run once, at restart or END)
plan tests => repeat_each() * 18 + 2;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: error_log and no_error_log with string patterns
--- config
    location /t {
        return 404;
    }
--- request
GET /missing.html
--- error_code: 404
--- error_log
open() "
--- no_error_log
[alert]
[crit]



=== TEST 2: eval patterns (qr and strings mixed)
--- config
    location /t {
        error_page 404 = /nothing;
        return 404;
    }
--- request
GET /t
--- error_code: 404
--- error_log eval
[qr/http finalize request: \d+/, "http request line"]
--- no_error_log eval
qr/\[emerg\]/



=== TEST 3: grep_error_log with a regex, output compared exactly
--- config
    location /g {
        return 200 "g";
    }
--- request
GET /g?a=1
--- grep_error_log eval: qr/http args: "[^"]*"/
--- grep_error_log_out
http args: "a=1"



=== TEST 4: block log_level hides debug lines
--- log_level: warn
--- config
    location /w {
        return 200 "w";
    }
--- request
GET /w
--- no_error_log
[debug]



=== TEST 5: two requests: log checks run after each request
--- config
    location /a { return 200 "a"; }
    location /b { return 200 "b"; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 200]
--- error_log
http request line



=== TEST 6: shutdown_error_log is checked when nginx stops
--- config
    location /s { return 200 "s"; }
--- request
GET /s
--- response_body chomp
s
--- shutdown_error_log
exit
--- no_shutdown_error_log
[alert]
