# A later filter that recodes in place (charset koi8-r with
# source_charset windows-1251: the charset filter rewrites the bytes of
# the buffers it is given) must never change a fragment's default, which
# lives in configuration memory, nor a value the request does not own:
# every request shows the same, rightly recoded bytes, in layout mode
# and in filter mode.  The map swaps two bytes, so a default recoded in
# place would alternate between them from one request to the next.

use t::WapressTest;

repeat_each(1);
plan tests => repeat_each() * (blocks() * 24);

redis('SET', 't150:v', "v\xC0");
redis('DEL', 't150:nope');

our $HttpConfig = <<'_EOC_';
    charset_map windows-1251 koi8-r {
        C0  FE;
        FE  C0;
    }
_EOC_

our $Config = "
    location = /l {
        charset koi8-r;
        source_charset windows-1251;
        wapress_layout ../html/page.html;
        wapress_fragment a t150:nope default=d\xFE;
        wapress_fragment b t150:v;
    }

    location /f/ {
        alias html/;
        default_type text/html;
        charset koi8-r;
        source_charset windows-1251;
        wapress_filter on;
        wapress_fragment a t150:nope default=d\xFE;
        wapress_fragment b t150:v;
    }
";

our $Files = <<'_EOF_';
>>> page.html
[<!--# wapress fragment="a" -->|<!--# wapress fragment="b" -->]
_EOF_

our @Four = ("[d\xC0|v\xFE]\n") x 4;

no_long_string();
run_tests();

__DATA__

=== TEST 1: layout mode: the same bytes every time
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval: $::Files
--- request eval
["GET /l", "GET /l", "GET /l", "GET /l"]
--- response_body eval
[@::Four]
--- response_headers eval
[("Content-Type: text/html; charset=koi8-r\n") x 4]



=== TEST 2: filter mode: the same bytes every time
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval: $::Files
--- request eval
["GET /f/page.html", "GET /f/page.html", "GET /f/page.html",
 "GET /f/page.html"]
--- response_body eval
[@::Four]
--- response_headers eval
[("Content-Type: text/html; charset=koi8-r\n") x 4]
