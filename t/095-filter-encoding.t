# Filter mode and compressed bodies (issue 9, item 11): a wapress_filter
# location asks its upstream for an identity body, so markers are filled
# even when the upstream gzips and the client asks for gzip, and the
# client still gets a gzipped page from "gzip on"; a compressed body that
# comes anyway passes with one warning, or is a 502 where the location
# has required fragments, never a 200 with its markers unfilled.

use t::WapressTest;
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);

repeat_each(1);
plan tests => repeat_each() * (blocks() * 4 + 12);

redis('SET', 't095:a', '<b>A</b>');
redis('SET', 't095:b', 'B&b');
redis('DEL', 't095:nope');

sub main::gunzip_body {
    my $in = shift;
    my $out;
    gunzip(\$in => \$out) or return "gunzip failed: $GunzipError";
    return $out;
}

our $Page = '<!--# wapress fragment="a" -->|<p>middle</p>|'
            . '<!--# wapress fragment="b" -->';

our $Gz;
gzip(\$Page => \$Gz) or die "gzip failed: $GzipError";

# /gzip/: an upstream that gzips what its client accepts; /always/: one
# that sends a gzipped body whatever it is asked; /ae: what it was asked
our $Config = <<'_EOC_';
    wapress_fragment a t095:a;
    wapress_fragment b t095:b;

    location /gzip/ {
        alias html/;
        gzip on;
        gzip_min_length 1;
        gzip_http_version 1.0;
    }

    location /always/ {
        alias html/;
        types { }
        default_type text/html;
        add_header Content-Encoding gzip;
    }

    location = /ae {
        default_type text/html;
        return 200 "[$http_accept_encoding]<!--# wapress fragment=\"a\" -->";
    }

    location /p/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/gzip/;
        proxy_http_version 1.1;
        wapress_filter on;
    }

    location /pz/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/gzip/;
        proxy_http_version 1.1;
        gzip on;
        gzip_min_length 1;
        wapress_filter on;
    }

    location = /pae {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ae;
        wapress_filter on;
    }

    location /always-p/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/always/;
        wapress_filter on;
    }

    location /always-r/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/always/;
        wapress_filter on;
        wapress_fragment a t095:a required;
    }
_EOC_

no_shuffle();
no_long_string();
run_tests();

__DATA__

=== TEST 1: the gzip upstream itself gzips for a client that asks
--- config eval: $::Config
--- user_files eval
[['page.html' => $::Page]]
--- request
GET /gzip/page.html
--- more_headers
Accept-Encoding: gzip
--- response_headers
Content-Encoding: gzip
--- response_body_filters eval
\&main::gunzip_body
--- response_body eval: $::Page



=== TEST 2: the filter asks that upstream for identity: markers filled
--- config eval: $::Config
--- user_files eval
[['page.html' => $::Page]]
--- request
GET /p/page.html
--- more_headers
Accept-Encoding: gzip, deflate
--- response_headers
!Content-Encoding
--- response_body chomp
<b>A</b>|<p>middle</p>|B&b
--- no_error_log
[warn]
[error]



=== TEST 3: with gzip on, the client still gets the assembled page gzipped
--- config eval: $::Config
--- user_files eval
[['page.html' => $::Page]]
--- request
GET /pz/page.html
--- more_headers
Accept-Encoding: gzip
--- response_headers
Content-Encoding: gzip
--- response_body_filters eval
\&main::gunzip_body
--- response_body chomp
<b>A</b>|<p>middle</p>|B&b
--- no_error_log
[warn]
[error]



=== TEST 4: gzip on, a client that does not ask gets the page plain
--- config eval: $::Config
--- user_files eval
[['page.html' => $::Page]]
--- request
GET /pz/page.html
--- response_headers
!Content-Encoding
--- response_body chomp
<b>A</b>|<p>middle</p>|B&b



=== TEST 5: the upstream is asked for identity
--- config eval: $::Config
--- request
GET /pae
--- more_headers
Accept-Encoding: gzip, br
--- response_body chomp
[identity]<b>A</b>



=== TEST 6: an upstream that gzips anyway: passed as it is, one warning
--- config eval: $::Config
--- user_files eval
[['page.html' => $::Gz]]
--- request
GET /always-p/page.html
--- response_headers
Content-Encoding: gzip
--- response_body_filters eval
\&main::gunzip_body
--- response_body eval: $::Page
--- grep_error_log eval
qr/\[(?:warn|error)\] [^\n]*wapress: [^\n]*/
--- grep_error_log_out eval
qr/\A\[warn\] [^\n]*wapress: the response is compressed \(Content-Encoding "gzip"\), its markers are not filled; it passes as it is[^\n]*\n\z/



=== TEST 7: the same with a required fragment: 502, one error line
--- config eval: $::Config
--- user_files eval
[['page.html' => $::Gz]]
--- request
GET /always-r/page.html
--- error_code: 502
--- response_headers
!Content-Encoding
--- response_body_like: 502 Bad Gateway
--- grep_error_log eval
qr/\[(?:warn|error)\] [^\n]*wapress: [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*wapress: the response is compressed \(Content-Encoding "gzip"\), [^\n]*required fragments: the page is 502[^\n]*\n\z/
--- no_error_log
[alert]
[crit]
