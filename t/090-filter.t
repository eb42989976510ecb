# Filter mode (wapress_filter): markers replaced in responses that nginx
# passes through, from static files and from proxy_pass; markers at the
# very start and end of the body, unknown names, text that only looks like
# a marker, a marker inside a fragment's value, types, HEAD, non-200,
# compressed upstreams, gzip, the headers, and the responses the filter
# must leave alone.

use t::WapressTest;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);

repeat_each(2);
plan tests => repeat_each() * (blocks() * 4 + 34);

redis('DEL', 't090:nope');
redis('SET', 't090:a', '<b>A</b>');
redis('SET', 't090:b', 'B&b');
redis('SET', 't090:marker', 'x<!--# wapress fragment="secret" -->y');
redis('SET', 't090:secret', 'SECRET');
redis('SET', 't090:json', '{"n":"<3>"}');

sub main::gunzip_body {
    my $in = shift;
    my $out;
    gunzip(\$in => \$out) or return "gunzip failed: $GunzipError";
    return $out;
}

our $Page = '<!--# wapress fragment="a" -->|<p>middle</p>|'
            . '<!--# wapress fragment="b" -->';

# a backend location in the same server, and the fragments of the tests
our $Config = <<'_EOC_';
    wapress_fragment a t090:a;
    wapress_fragment b t090:b;
    wapress_fragment m t090:marker;
    wapress_fragment secret t090:secret;
    wapress_fragment gone t090:nope default=<i>default</i>;

    location /backend/ {
        alias html/;
    }

    location /s/ {
        alias html/;
        wapress_filter on;
    }

    location /p/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        wapress_filter on;
    }
_EOC_

no_long_string();
run_tests();

__DATA__

=== TEST 1: a static file, markers at the very start and end of the body
--- config eval: $::Config
--- user_files eval
[['page.html' => $::Page]]
--- request
GET /s/page.html
--- response_body chomp
<b>A</b>|<p>middle</p>|B&b
--- response_headers
Content-Type: text/html
!Content-Length
!ETag
!Last-Modified
!Accept-Ranges
Transfer-Encoding: chunked



=== TEST 2: the same page through proxy_pass
--- config eval: $::Config
--- user_files eval
[['page.html' => $::Page]]
--- request
GET /p/page.html
--- response_body chomp
<b>A</b>|<p>middle</p>|B&b
--- response_headers
!Content-Length
!ETag
!Last-Modified
Transfer-Encoding: chunked



=== TEST 3: a page with no marker is sent as it is, chunked
--- config eval: $::Config
--- user_files
>>> plain.html
<html><body>no markers here; a < b &lt; c</body></html>
--- request
GET /p/plain.html
--- response_body
<html><body>no markers here; a < b &lt; c</body></html>
--- response_headers
!Content-Length
Transfer-Encoding: chunked



=== TEST 4: a marker naming no fragment stays as it was, with one warning
--- config eval: $::Config
--- user_files
>>> page.html
[<!--# wapress fragment="a" -->|<!--# wapress fragment="unknown" -->|<!--# wapress fragment='b' -->]
--- request
GET /s/page.html
--- response_body
[<b>A</b>|<!--# wapress fragment="unknown" -->|B&b]
--- grep_error_log eval: qr/wapress: a marker in the response names fragment "\w+"/
--- grep_error_log_out
wapress: a marker in the response names fragment "unknown"
--- no_error_log
[error]



=== TEST 5: text that only looks like a marker passes byte for byte
--- config eval: $::Config
--- user_files eval
[['page.html' => CORE::join "\n",
    '<!--# -->',
    '<!--#',
    '<!-- wapress fragment="a" -->',
    '<!--# include virtual="/x" -->',
    '<!--# wapressx fragment="a" -->',
    '< !--# wapress fragment="a" -->',
    '<!--# echo var="a" --><<<!--<!--',
    '<!--# wapress fragment="a" -->',
    '<!--# wapress fragment="a"']]
--- request
GET /p/page.html
--- response_body eval
CORE::join "\n",
    '<!--# -->',
    '<!--#',
    '<!-- wapress fragment="a" -->',
    '<!--# include virtual="/x" -->',
    '<!--# wapressx fragment="a" -->',
    '< !--# wapress fragment="a" -->',
    '<!--# echo var="a" --><<<!--<!--',
    '<b>A</b>',
    '<!--# wapress fragment="a"'
--- no_error_log
[error]
[warn]



=== TEST 6: a malformed marker is left as it is, with a warning
--- config eval: $::Config
--- user_files
>>> page.html
1<!--# wapress fragmnt="a" -->2<!--# wapress fragment="a" -- >3<!--# wapress fragment="a" -->4
--- request
GET /s/page.html
--- response_body
1<!--# wapress fragmnt="a" -->2<!--# wapress fragment="a" -- >3<b>A</b>4
--- error_log
malformed marker in the response (expected fragment="NAME")
malformed marker in the response (expected "-->" after the fragment name)
--- no_error_log
[error]



=== TEST 7: a fragment's value is never scanned for markers
--- config eval: $::Config
--- user_files
>>> page.html
[<!--# wapress fragment="m" -->]
--- request
GET /s/page.html
--- response_body
[x<!--# wapress fragment="secret" -->y]
--- no_error_log
[error]
[warn]



=== TEST 8: the same fragment twice, a default, fragments of the server
--- config eval: $::Config
--- user_files
>>> page.html
<!--# wapress fragment="a" --><!--# wapress fragment="gone" --><!--# wapress fragment="a" -->
--- request
GET /p/page.html
--- response_body
<b>A</b><i>default</i><b>A</b>
--- no_error_log
[error]



=== TEST 9: a template and the location's own fragments
--- config
    location /backend/ {
        alias html/;
    }

    location /p/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        wapress_filter on;
        wapress_fragment j t090:json template=../html/j.mustache;
    }
--- user_files
>>> page.html
<div><!--# wapress fragment="j" --></div>
<!--# wapress fragment="a" -->
>>> j.mustache
{{n}}/{{{n}}}
--- request
GET /p/page.html
--- response_body
<div>&lt;3&gt;/<3>
</div>
<!--# wapress fragment="a" -->
--- no_error_log
[error]



=== TEST 10: only the listed types: text/plain is left alone by default
--- config eval: $::Config
--- user_files
>>> page.txt
<!--# wapress fragment="a" -->
--- request
GET /s/page.txt
--- response_body
<!--# wapress fragment="a" -->
--- response_headers
Content-Type: text/plain
Content-Length: 31
--- no_error_log
wapress filter streams



=== TEST 11: wapress_filter_types text/plain
--- config
    location /s/ {
        alias html/;
        wapress_filter on;
        wapress_filter_types text/plain;
        wapress_fragment a t090:a;
    }
--- user_files
>>> page.txt
<!--# wapress fragment="a" -->
>>> page.html
<!--# wapress fragment="a" -->
--- request eval
["GET /s/page.txt", "GET /s/page.html"]
--- response_body eval
["<b>A</b>\n", "<b>A</b>\n"]
--- no_error_log
[error]



=== TEST 12: wapress_filter_types *
--- config
    location /s/ {
        alias html/;
        default_type application/x-whatever;
        wapress_filter on;
        wapress_filter_types *;
        wapress_fragment a t090:a;
    }
--- user_files
>>> page.xyz
<!--# wapress fragment="a" -->
--- request
GET /s/page.xyz
--- response_body
<b>A</b>
--- response_headers
Content-Type: application/x-whatever



=== TEST 13: HEAD passes through untouched, and asks nothing
--- config eval: $::Config
--- user_files eval
[['page.html' => $::Page]]
--- request
HEAD /p/page.html
--- response_body
--- response_headers
Content-Length: 75
--- error_log
wapress filter skips the response, status 200
--- no_error_log
wapress filter streams
wapress filter asks



=== TEST 14: a response that is not 200 passes through untouched
--- config
    location = /backend/missing {
        default_type text/html;
        return 404 '<p><!--# wapress fragment="a" --></p>';
    }

    location /p/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        wapress_filter on;
        wapress_fragment a t090:a;
    }
--- request
GET /p/missing
--- error_code: 404
--- response_body chomp
<p><!--# wapress fragment="a" --></p>
--- error_log
wapress filter skips the response, status 404
--- no_error_log
wapress filter streams



=== TEST 15: an upstream that gzips is asked for identity: markers filled
--- config
    location /backend/ {
        alias html/;
        gzip on;
        gzip_min_length 1;
        gzip_http_version 1.0;
    }

    location /p/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        wapress_filter on;
        wapress_fragment a t090:a;
    }
--- user_files eval
[['page.html' => $::Page]]
--- request
GET /p/page.html
--- more_headers
Accept-Encoding: gzip
--- response_headers
!Content-Encoding
--- response_body chomp
<b>A</b>|<p>middle</p>|<!--# wapress fragment="b" -->
--- error_log
wapress filter streams
--- no_error_log
wapress filter skips the response



=== TEST 16: gzip on compresses the assembled page
--- config
    location /backend/ {
        alias html/;
    }

    location /p/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        proxy_set_header Accept-Encoding "";
        gzip on;
        gzip_min_length 1;
        wapress_filter on;
        wapress_fragment a t090:a;
        wapress_fragment b t090:b;
    }
--- user_files eval
[['page.html' => $::Page]]
--- request
GET /p/page.html
--- more_headers
Accept-Encoding: gzip
--- response_headers
Content-Encoding: gzip
!Content-Length
--- response_body_filters eval
\&main::gunzip_body
--- response_body chomp
<b>A</b>|<p>middle</p>|B&b



=== TEST 17: a location without wapress_filter is untouched
--- config eval: $::Config
--- user_files eval
[['page.html' => $::Page]]
--- request
GET /backend/page.html
--- response_body eval: $::Page
--- response_headers
Content-Length: 75
--- raw_response_headers_like: ETag: "
--- no_error_log
wapress filter



=== TEST 18: no wapress_filter anywhere: the filter is not even installed
--- config
    location /s/ {
        alias html/;
        wapress_fragment a t090:a;
    }
--- user_files eval
[['page.html' => $::Page]]
--- request
GET /s/page.html
--- response_body eval: $::Page
--- response_headers
Content-Length: 75
--- no_error_log
wapress filter



=== TEST 19: wapress_filter off in a location overrides the server's on
--- config
    wapress_filter on;
    wapress_fragment a t090:a;

    location /s/ {
        alias html/;
    }

    location /off/ {
        alias html/;
        wapress_filter off;
    }
--- user_files
>>> page.html
<!--# wapress fragment="a" -->
--- request eval
["GET /s/page.html", "GET /off/page.html"]
--- response_body eval
["<b>A</b>\n", "<!--# wapress fragment=\"a\" -->\n"]



=== TEST 20: a layout's page is the handler's: the filter leaves it alone
--- layout_only: a location with both: the handler assembles the page
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_filter on;
        wapress_fragment m t090:marker;
        wapress_fragment secret t090:secret;
    }
--- user_files
>>> layout.html
[<!--# wapress fragment="m" -->]
--- request
GET /t
--- response_body
[x<!--# wapress fragment="secret" -->y]
--- response_headers
Content-Length: 40
--- error_log
wapress filter skips the response, status 200
--- no_error_log
wapress filter streams
[warn]
[error]



=== TEST 21: an empty body and an empty file
--- config eval: $::Config
--- user_files
>>> empty.html
--- request
GET /p/empty.html
--- response_body
--- no_error_log
[error]



=== TEST 22: keepalive: two filtered pages on one connection
--- config eval: $::Config
--- user_files eval
[['page.html' => $::Page]]
--- pipelined_requests eval
["GET /p/page.html", "GET /s/page.html"]
--- response_body eval
["<b>A</b>|<p>middle</p>|B&b", "<b>A</b>|<p>middle</p>|B&b"]
--- no_error_log
[error]



=== TEST 23: wapress_filter takes on or off
--- config
    location / {
        wapress_filter maybe;
    }
--- must_die
--- error_log
invalid value "maybe" in "wapress_filter" directive, it must be "on" or "off"
