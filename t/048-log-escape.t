# Keys built from the request are logged escaped (issue 9, item 7): a CR
# LF in the URL cannot forge a log line, and an ESC byte does not reach
# the terminal of whoever reads the log.  Control bytes (below 0x20, and
# 0x7F) are written as \xHH.

use t::WapressTest;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 4);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: CR, LF and ESC from the URL are escaped in the log line
--- config
    location ~ (?s)^/x/(?<k>.+)$ {
        wapress_layout ../html/one.html;
        wapress_fragment x t048:$k default=none;
    }
--- user_files
>>> one.html
[<!--# wapress fragment="x" -->]
--- log_level: info
--- request
GET /x/a%0D%0A2026/11/30%2023:59:59%20[emerg]%20forged%1B[31m
--- response_body
[none]
--- error_log
key "t048:a\x0d\x0a2026/11/30 23:59:59 [emerg] forged\x1b[31m": not found
--- no_error_log eval
qr/^2026\/11\/30 23:59:59/
