# wapress_debug_header: X-Wapress names each fragment's result and the
# age of its copy; off by default; inherited; on a layout page, its 404,
# and in filter mode when the header is held (a required fragment), not
# when the page streams.

use t::WapressTest;

$t::WapressTest::LayoutOnly = 'X-Wapress on a streaming filter page is sent before the lookups (only held headers carry it: its filter blocks check that)';
use Time::HiRes qw(sleep);

repeat_each(1);
no_shuffle();

plan tests => repeat_each() * (blocks() * 4 + 11);

redis('DEL', 't172:a', 't172:b', 't172:none', 't172:s');
redis('SET', 't172:a', 'A');
redis('SET', 't172:b', 'B');
redis('SET', 't172:s', 'S');

sub header_of {
    my $resp = shift;
    return $resp =~ /\r\nX-Wapress: ([^\r]*)\r\n/ ? $1 : '(none)';
}

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    return if $dry_run || $block->name !~ /ages/;

    sleep 0.25;
    like(header_of(http_get('/h')), qr/^a=HIT;age=0\.[2-9], b=MISS;age=0\.0$/,
         'a HIT, with its age; b asked again');

    # Redis errors for s: its stale copy stands in
    like(header_of(http_get('/s')), qr/^s=MISS;age=0\.0$/, 's asked');
    redis('DEL', 't172:s');
    redis('HSET', 't172:s', 'f', 'v');
    sleep 0.25;
    like(header_of(http_get('/s')), qr/^s=STALE;age=0\.[2-9]$/,
         's STALE, with its age');
    like(header_of(http_get('/off')), qr/^\(none\)$/, 'off: no header');
    redis('DEL', 't172:s');
    redis('SET', 't172:s', 'S');
});

run_tests();

__DATA__

=== TEST 1: off by default
--- config
    location = /a {
        wapress_layout ../html/one.html;
        wapress_fragment a t172:a;
    }
--- user_files
>>> one.html
[<!--# wapress fragment="a" -->]
--- request
GET /a
--- response_body
[A]
--- response_headers
!X-Wapress



=== TEST 2: results and ages
--- http_config
    wapress_debug_header on;
    wapress_cache zone=t172:1m valid=1h stale=1h;
--- config
    location = /h {
        wapress_layout ../html/two.html;
        wapress_fragment a t172:a;
        wapress_fragment b t172:b valid=0;
    }

    location = /s {
        wapress_cache zone=t172 valid=200ms stale=1h;
        wapress_layout ../html/s.html;
        wapress_fragment s t172:s;
    }

    location = /off {
        wapress_debug_header off;
        wapress_layout ../html/s.html;
        wapress_fragment s t172:s;
    }
--- user_files
>>> two.html
[<!--# wapress fragment="a" -->|<!--# wapress fragment="b" -->]
>>> s.html
[<!--# wapress fragment="s" -->]
--- request
GET /h
--- response_body
[A|B]
--- response_headers
X-Wapress: a=MISS;age=0.0, b=MISS;age=0.0
--- no_error_log
[error]



=== TEST 3: a 404 page names its missing required fragment
--- config
    wapress_debug_header on;

    location = /r {
        wapress_layout ../html/two.html;
        wapress_fragment a t172:none required;
        wapress_fragment b t172:b;
    }
--- user_files
>>> two.html
[<!--# wapress fragment="a" -->|<!--# wapress fragment="b" -->]
--- request
GET /r
--- error_code: 404
--- response_headers
X-Wapress: a=NOTFOUND;age=0.0, b=MISS;age=0.0



=== TEST 4: filter mode, header held for a required fragment
--- config
    wapress_debug_header on;

    location /f/ {
        alias html/;
        wapress_filter on;
        wapress_fragment a t172:a required;
        wapress_fragment n t172:none default=N;
    }
--- user_files
>>> page.html
<p><!--# wapress fragment="n" --><!--# wapress fragment="a" --></p>
--- request
GET /f/page.html
--- response_body
<p>NA</p>
--- response_headers
X-Wapress: a=MISS;age=0.0, n=NOTFOUND;age=0.0;default



=== TEST 5: filter mode, streaming: the header is gone before any lookup
--- config
    wapress_debug_header on;

    location /f/ {
        alias html/;
        wapress_filter on;
        wapress_fragment a t172:a;
    }
--- user_files
>>> page.html
<p><!--# wapress fragment="a" --></p>
--- request
GET /f/page.html
--- response_body
<p>A</p>
--- response_headers
!X-Wapress
