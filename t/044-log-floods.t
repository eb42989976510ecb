# Log floods (issue 9, item 8): with Redis down a page logs one line for
# the fragments that fail for one cause, naming them all, not one line per
# fragment; a response with 100,000 unknown markers logs a few warnings
# and one line that counts the rest.

use t::WapressTest;

repeat_each(1);
plan tests => repeat_each() * (blocks() * 4 + 6);

our $Port = $ENV{TEST_NGINX_REDIS_DOWN_PORT} ||= 6397;
stop_redis($Port);

our $Six = join '|', map { "<!--# wapress fragment=\"f$_\" -->" } 1 .. 6;

our $Unknown = '<!--# wapress fragment="a" -->'
               . ('<!--# wapress fragment="zz" -->' x 100_000)
               . "\n<!--# wapress fragment=\"a\" -->\n";

# six markers 40 KB apart: the filter reads them in six buffers
our $Spread = join('', map { "<!--# wapress fragment=\"f$_\" -->" . ('.' x 40_000) }
                       1 .. 6) . "\n";

our $Malformed = '[' . ('<!--# wapress fragment=a -->' x 50_000) . "]\n";

no_shuffle();
no_long_string();
run_tests();

add_cleanup_handler(sub { stop_redis($Port) });

__DATA__

=== TEST 1: Redis down, six fragments: one line names them all
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
--- user_files eval
[['layout.html' => "[$::Six]\n"]]
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment f1 t044:1 default=D;
        wapress_fragment f2 t044:2 default=D;
        wapress_fragment f3 t044:3 default=D;
        wapress_fragment f4 "t044:$arg_x" default=D;
        wapress_fragment f5 t044:5 default=D;
        wapress_fragment f6 t044:h field=six default=D;
    }
--- request
GET /t?x=a
--- response_body
[D|D|D|D|D|D]
--- grep_error_log eval
qr/\[(?:warn|error)\] [^\n]*wapress: fragment[^\n]*/
--- grep_error_log_out eval
qr/\A\[warn\] [^\n]*wapress: fragments "f1", "f2", "f3", "f4", "f5", "f6" \(keys "t044:1", "t044:2", "t044:3", "t044:a", "t044:5", "t044:h" field "six"\): [^\n]*connect failed[^\n]*, using the default[^\n]*\n\z/
--- no_error_log
[alert]
[crit]



=== TEST 2: Redis down, required fragments: one error line, one warn line
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
--- user_files eval
[['layout.html' => "[$::Six]\n"]]
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment f1 t044:1 required;
        wapress_fragment f2 t044:2 default=D;
        wapress_fragment f3 t044:3 required;
        wapress_fragment f4 t044:4 default=D;
        wapress_fragment f5 t044:5 default=D;
        wapress_fragment f6 t044:6 default=D;
    }
--- request
GET /t
--- error_code: 503
--- grep_error_log eval
qr/\[(?:warn|error)\] [^\n]*wapress: fragment[^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*wapress: fragments "f1", "f3" \(keys "t044:1", "t044:3"\): [^\n]*, the page is 503[^\n]*\n\[warn\] [^\n]*wapress: fragments "f2", "f4", "f5", "f6" \(keys [^\n]*\): [^\n]*, using the default[^\n]*\n\z/
--- no_error_log
[alert]
[crit]



=== TEST 3: 100,000 unknown markers: three warnings and a count
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- user_files eval
[['page.html' => $::Unknown]]
--- config
    location /s/ {
        alias html/;
        wapress_filter on;
        wapress_fragment a t044:nope default=A;
    }
--- request
GET /s/page.html
--- response_body eval
"A" . (q{<!--# wapress fragment="zz" -->} x 100_000) . "\nA\n"
--- grep_error_log eval
qr/wapress: (?:a marker in the response|\.\.\. and)[^\n]*/
--- grep_error_log_out eval
qr/\A(?:wapress: a marker in the response names fragment "zz"[^\n]*\n){3}wapress: \.\.\. and 99997 more unknown markers in the response \(100000 in all\)[^\n]*\n\z/



=== TEST 4: 50,000 malformed markers: three warnings and a count
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- user_files eval
[['page.html' => $::Malformed]]
--- config
    location /s/ {
        alias html/;
        wapress_filter on;
        wapress_fragment a t044:nope default=A;
    }
--- request
GET /s/page.html
--- response_body eval
$::Malformed
--- grep_error_log eval
qr/wapress: (?:malformed marker|\.\.\. and)[^\n]*/
--- grep_error_log_out eval
qr/\A(?:wapress: malformed marker in the response[^\n]*\n){3}wapress: \.\.\. and 49997 more malformed markers in the response \(50000 in all\)[^\n]*\n\z/



=== TEST 5: Redis down, a filtered page whose markers come in six reads
# one line for the page's attempt to connect, one for the fragments asked
# while the reconnect waits out its backoff (a cause of its own)
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
--- user_files eval
[['page.html' => $::Spread]]
--- config
    location /s/ {
        alias html/;
        output_buffers 1 32k;
        wapress_filter on;
        wapress_fragment f1 t044:1 default=D;
        wapress_fragment f2 t044:2 default=D;
        wapress_fragment f3 t044:3 default=D;
        wapress_fragment f4 t044:4 default=D;
        wapress_fragment f5 t044:5 default=D;
        wapress_fragment f6 t044:6 default=D;
    }
--- request
GET /s/page.html
--- response_body eval
join('', map { 'D' . ('.' x 40_000) } 1 .. 6) . "\n"
--- grep_error_log eval
qr/\[(?:warn|error)\] [^\n]*wapress: fragment[^\n]*/
--- grep_error_log_out eval
qr/\A(?:\[warn\] [^\n]*wapress: fragments? "f1"[^\n]*connect failed: [^\n]*, using the default[^\n]*\n)(?:\[warn\] [^\n]*wapress: fragments "f2", "f3", "f4", "f5", "f6" [^\n]*connect failed: [^\n]*next attempt in [^\n]*, using the default[^\n]*\n)?\z/
--- no_error_log
[alert]
[crit]
