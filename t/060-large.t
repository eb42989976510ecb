# Fragments larger than hiredis's 16 KB read size arrive whole even with
# nginx's edge-triggered events.

use t::WapressTest;

plan tests => repeat_each() * (blocks() * 6);

our $Big = join '', map { sprintf "<p>%06d %s</p>\n", $_, 'x' x 40 } 1 .. 3800;
our $BigJson = '[' . join(',', map { qq{{"n":$_,"t":"<&>"}} } 1 .. 12000) . ']';
redis('SET', 't060:big', $Big);
redis('SET', 't060:big2', scalar reverse $Big);
redis('SET', 't060:json', $BigJson);

our $JsonOut = join '', map { "$_:&lt;&amp;&gt;\n" } 1 .. 12000;

run_tests();

__DATA__

=== TEST 1: a 200 KB html fragment
--- user_files
>>> layout.html
<!--# wapress fragment="big" -->
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment big t060:big;
    }
--- request
GET /t
--- response_body eval: $::Big . "\n"
--- response_headers eval
"Content-Length: " . (length($::Big) + 1)



=== TEST 2: two large fragments and a large JSON list in one page
--- user_files
>>> layout.html
<!--# wapress fragment="a" -->|<!--# wapress fragment="b" -->|<!--# wapress fragment="j" -->
>>> j.mustache
{{#.}}
{{n}}:{{t}}
{{/.}}
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment a t060:big;
        wapress_fragment b t060:big2;
        wapress_fragment j t060:json template=../html/j.mustache;
    }
--- request
GET /t
--- response_body eval: $::Big . "|" . CORE::reverse($::Big) . "|" . $::JsonOut . "\n"
--- response_headers eval
"Content-Type: text/html"
