# Fragment types, keys and fields, defaults, required fragments and the
# log line of each failure.

use t::WapressTest;

plan tests => repeat_each() * (blocks() * 6 + 1);

redis('DEL', $_) for qw(t020:nope t020:hash t020:hash2);
redis('SET', 't020:html', "<b>bold & raw</b>");
redis('SET', 't020:json', '{"name":"<Ann> & \"Bo\"","age":3}');
redis('SET', 't020:text', "it's <x> & y");
redis('HSET', 't020:hash', 'f1', '<i>from a hash</i>');
redis('SET', 't020:v:one', 'value one');
redis('SET', 't020:v:two', 'value two');
redis('SET', 't020:bad', '{"name": broken');
redis('SET', 't020:marker', 'before <!--# wapress fragment="secret" --> after');
redis('SET', 't020:secret', 'SECRET');
redis('SET', 't020:count', '0');
redis('SET', 't020:list', '[{"t":"a"},{"t":"b<"}]');

run_tests();

__DATA__

=== TEST 1: type=html is inserted as it is
--- user_files
>>> layout.html
A<!--# wapress fragment="x" -->B
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t020:html;
    }
--- request
GET /t
--- response_body
A<b>bold & raw</b>B
--- response_headers
Content-Type: text/html
Content-Length: 20



=== TEST 2: type=json renders the template, {{x}} escapes & < > " '
--- user_files
>>> layout.html
[<!--# wapress fragment="x" -->]
>>> x.mustache
{{name}} is {{age}}; raw: {{{name}}}
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t020:json template=../html/x.mustache;
    }
--- request
GET /t
--- response_body
[&lt;Ann&gt; &amp; &quot;Bo&quot; is 3; raw: <Ann> & "Bo"
]
--- response_headers
Content-Type: text/html
Content-Length: 60



=== TEST 3: type=text renders the template with the string as root
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
>>> x.mustache
<p>{{.}}</p>
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t020:text type=text template=../html/x.mustache;
    }
--- request
GET /t
--- response_body eval
"<p>it&#39;s &lt;x&gt; &amp; y</p>\n\n"
--- response_headers
Content-Type: text/html
Content-Length: 35



=== TEST 4: field= asks HGET, and the same fragment may appear twice
--- user_files
>>> layout.html
<!--# wapress fragment="h" -->|<!--# wapress fragment="h" -->
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment h t020:hash field=f1;
    }
--- request
GET /t
--- response_body
<i>from a hash</i>|<i>from a hash</i>
--- response_headers
Content-Type: text/html
Content-Length: 38



=== TEST 5: keys and fields take variables
--- user_files
>>> layout.html
<!--# wapress fragment="v" -->/<!--# wapress fragment="h" -->
--- config
    location ~ ^/v/(?<id>[a-z]+)$ {
        wapress_layout ../html/layout.html;
        wapress_fragment v t020:v:$id;
        wapress_fragment h t020:hash field=$arg_f;
    }
--- request
GET /v/two?f=f1
--- response_body
value two/<i>from a hash</i>
--- response_headers
Content-Type: text/html
Content-Length: 29



=== TEST 6: a missing optional key without default is left empty
--- user_files
>>> layout.html
[<!--# wapress fragment="x" -->]
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t020:nope;
    }
--- request
GET /t
--- response_body
[]
--- error_log
wapress: fragment "x" key "t020:nope": not found, left empty
--- no_error_log
[error]
[warn]
[alert]



=== TEST 7: a missing key gives default=, rendered like a value
--- user_files
>>> layout.html
<!--# wapress fragment="c" -->|<!--# wapress fragment="h" -->
>>> c.mustache
{{.}} Comments
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment c t020:nope template=../html/c.mustache default=0;
        wapress_fragment h t020:nope default=<i>none</i>;
    }
--- request
GET /t
--- response_body
0 Comments
|<i>none</i>
--- error_log eval
[qr/wapress: fragments "c", "h" \(keys "t020:nope", "t020:nope"\): not found, using the default/,
 qr/wapress: fragments [^(]*"h" \(keys [^)]*\): not found, using the default/]
--- no_error_log
[error]
[warn]
[alert]



=== TEST 8: a missing required fragment makes the page 404
--- user_files
>>> layout.html
<!--# wapress fragment="a" --><!--# wapress fragment="b" -->
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment a t020:html;
        wapress_fragment b t020:nope required;
    }
--- request
GET /t
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log
wapress: fragment "b" key "t020:nope": not found, the page is 404
--- no_error_log
[error]
[warn]
[alert]



=== TEST 9: malformed JSON gives the default and one log line
--- user_files
>>> layout.html
[<!--# wapress fragment="j" -->]
>>> j.mustache
{{name}}
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment j t020:bad template=../html/j.mustache 'default={"name":"n/a"}';
    }
--- request
GET /t
--- response_body
[n/a
]
--- error_log eval
qr/\[warn\] .*wapress: fragment "j" key "t020:bad": invalid JSON: .*using the default/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: malformed JSON in a required fragment makes the page 503
--- user_files
>>> layout.html
[<!--# wapress fragment="j" -->]
>>> j.mustache
{{name}}
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment j t020:bad template=../html/j.mustache required;
    }
--- request
GET /t
--- error_code: 503
--- response_body_like: 503 Service
--- error_log eval
qr/\[error\] .*wapress: fragment "j" key "t020:bad": invalid JSON: .*the page is 503/
--- no_error_log
[warn]
[alert]
[crit]



=== TEST 11: a fragment's value is never scanned for markers
--- user_files
>>> layout.html
<!--# wapress fragment="m" -->
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment m t020:marker;
        wapress_fragment secret t020:secret;
    }
--- request
GET /t
--- response_body
before <!--# wapress fragment="secret" --> after



=== TEST 12: fragments are inherited from the server level
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
--- config
    wapress_fragment x t020:v:one;

    location = /t {
        wapress_layout ../html/layout.html;
    }
--- request
GET /t
--- response_body
value one



=== TEST 13: a Redis error (WRONGTYPE) gives the default and a log line
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t020:hash default=fallback;
    }
--- request
GET /t
--- response_body
fallback
--- error_log
wapress: fragment "x" key "t020:hash": Redis error: WRONGTYPE
--- no_error_log
[error]
[alert]
[crit]



=== TEST 14: only GET and HEAD
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t020:html;
    }
--- request
POST /t
hello
--- error_code: 405
--- response_body_like: 405 Not Allowed



=== TEST 15: sections over a root array, and partials beside the template
--- user_files
>>> layout.html
<ul><!--# wapress fragment="l" --></ul>
>>> list.mustache
{{#.}}{{> item}}{{/.}}
>>> item.mustache
<li>{{t}}</li>
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment l t020:list template=../html/list.mustache;
    }
--- request
GET /t
--- response_body
<ul><li>a</li>
<li>b&lt;</li>

</ul>



=== TEST 16: a layout without markers is served as it is
--- user_files
>>> layout.html
<p>static</p>
--- config
    location = /t {
        wapress_layout ../html/layout.html;
    }
--- request
GET /t
--- response_body
<p>static</p>
