# Configuration errors fail "nginx -t" (and start-up) with the file and
# the line; warnings that are not errors let nginx start.

use t::WapressTest;

plan tests => repeat_each() * (blocks() * 2 + 3);

run_tests();

__DATA__

=== TEST 1: a marker naming no fragment of the location
--- user_files
>>> layout.html
<p>
<!--# wapress fragment="nope" -->
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t030:x;
    }
--- must_die
--- error_log eval
qr{\[emerg\] .*wapress: layout ".*/html/layout\.html", line 2: marker names fragment "nope", which is not defined}



=== TEST 2: a malformed marker, with its line
--- user_files
>>> layout.html
a
b
<!--# wapress fragmnt="x" -->
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t030:x;
    }
--- must_die
--- error_log eval
qr{\[emerg\] .*wapress: malformed marker in layout ".*/html/layout\.html", line 3: expected fragment="NAME"}



=== TEST 3: an unterminated marker at the end of the layout
--- user_files
>>> layout.html
a <!--# wapress fragment="x"
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t030:x;
    }
--- must_die
--- error_log eval
qr{\[emerg\] .*wapress: malformed marker in layout ".*/html/layout\.html", line 1: }



=== TEST 4: a layout that cannot be read
--- config
    location = /t {
        wapress_layout ../html/no-such-layout.html;
    }
--- must_die
--- error_log eval
qr{\[emerg\] .*wapress: cannot open layout ".*/html/no-such-layout\.html"}



=== TEST 5: a template with a syntax error, with its line
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
>>> bad.mustache
<ul>
{{#items}}
<li>{{name}}</li>
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t030:x template=../html/bad.mustache;
    }
--- must_die
--- error_log eval
qr{\[emerg\] .*wapress: template ".*/html/bad\.mustache", line \d+: .*items}



=== TEST 6: a syntax error inside a partial names the partial's file
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
>>> main.mustache
{{> card}}
>>> card.mustache
ok
{{/oops}}
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t030:x template=../html/main.mustache;
    }
--- must_die
--- error_log eval
qr{\[emerg\] .*wapress: template ".*/html/main\.mustache": partial ".*/html/card\.mustache", line 2: }



=== TEST 7: type=html takes no template
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
>>> x.mustache
{{.}}
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t030:x type=html template=../html/x.mustache;
    }
--- must_die
--- error_log
fragment "x": type=html takes no template



=== TEST 8: type=json needs a template
--- config
    location = /t {
        wapress_fragment x t030:x type=json;
    }
--- must_die
--- error_log
fragment "x": type=json and type=text need template=FILE



=== TEST 9: a default that is not valid JSON for a json fragment
--- user_files
>>> x.mustache
{{.}}
--- config
    location = /t {
        wapress_fragment x t030:x template=../html/x.mustache 'default={oops';
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*fragment "x": default "\{oops": invalid JSON/



=== TEST 10: a duplicate fragment name
--- config
    location = /t {
        wapress_fragment x t030:x;
        wapress_fragment x t030:y;
    }
--- must_die
--- error_log
duplicate fragment "x"



=== TEST 11: an unknown parameter
--- config
    location = /t {
        wapress_fragment x t030:x requird;
    }
--- must_die
--- error_log
invalid or repeated parameter "requird" of fragment "x"



=== TEST 12: a location with fragments of its own inherits none
--- user_files
>>> layout.html
<!--# wapress fragment="outer" -->
--- config
    wapress_fragment outer t030:outer;

    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment inner t030:inner;
    }
--- must_die
--- error_log eval
qr{\[emerg\] .*layout\.html", line 1: marker names fragment "outer", which is defined at an enclosing level but hidden by the location's own wapress_fragment \(fragments are not merged: a location that defines any defines all\) in .*nginx\.conf:\d+}



=== TEST 13: wapress_redis with user= but no password=
--- config
    wapress_redis 127.0.0.1:6379 user=alice;
--- must_die
--- error_log eval
qr/\[emerg\] .*user=.*password=/



=== TEST 14: wapress_redis with a bad db
--- config
    wapress_redis 127.0.0.1:6379 db=x;
--- must_die
--- error_log eval
qr/\[emerg\] .*db/



=== TEST 15: a missing partial renders empty, with a warning at load
--- user_files
>>> layout.html
[<!--# wapress fragment="x" -->]
>>> main.mustache
a{{> nothere}}b
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t030:x template=../html/main.mustache default=1;
    }
--- request
GET /t
--- response_body
[ab
]
--- error_log eval
qr{\[warn\] .*wapress: template ".*/html/main\.mustache": partial ".*/html/nothere\.mustache" not found, it renders empty}



=== TEST 16: a bad fragment name
--- config
    location = /t {
        wapress_fragment "a b" t030:x;
    }
--- must_die
--- error_log
invalid fragment name "a b"



=== TEST 17: a marker naming no fragment at any level says where
--- user_files
>>> layout.html
<!--# wapress fragment="elsewhere" -->
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment inner t030:inner;
    }
--- must_die
--- error_log eval
qr{\[emerg\] .*line 1: marker names fragment "elsewhere", which is not defined by a wapress_fragment of the location in .*nginx\.conf:\d+}



=== TEST 18: a fragment hidden by a nested location's own ones
--- user_files
>>> layout.html
<!--# wapress fragment="outer" -->
--- config
    location /t {
        wapress_fragment outer t030:outer;

        location = /t/x {
            wapress_layout ../html/layout.html;
            wapress_fragment inner t030:inner;
        }
    }
--- must_die
--- error_log eval
qr{\[emerg\] .*marker names fragment "outer", which is defined at an enclosing level but hidden .* in .*nginx\.conf:\d+}



=== TEST 19: a cache zone named but never given a size
--- config
    location = /t {
        wapress_cache zone=nosize valid=1s;
    }
--- must_die
--- error_log eval
qr{\[emerg\] .*wapress_cache zone "nosize" is never given a size: one wapress_cache must declare it as zone=nosize:SIZE in .*nginx\.conf:\d+}



=== TEST 20: a zone named here and sized elsewhere is fine
--- http_config
    wapress_cache zone=t030sized:1m valid=1s;
--- user_files
>>> layout.html
[<!--# wapress fragment="x" -->]
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_cache zone=t030sized valid=0;
        wapress_fragment x t030:none default=d;
    }
--- request
GET /t
--- response_body
[d]
--- no_error_log
[emerg]
[error]
