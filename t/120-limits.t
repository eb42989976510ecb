# Limits on what Redis may hand us: wapress_fragment_max_size (default
# 1m) gives the default and one log line for a larger value, never a
# truncated page, and a stale copy does not stand in for it; JSON nesting
# is bounded (jansson's parser stops at 2048 levels) and so is rendering
# (partials nested 32 deep, sections 64): both give the default.  A
# json or text fragment's rendering is bounded by the same
# wapress_fragment_max_size (it stops there: the default and one line),
# and a rendering that fails (too long, too large) is remembered by the
# worker's memo, so the same value does not cost it again.

use t::WapressTest;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 4 + 3);

our $Deep = ('[' x 3000) . (']' x 3000);

sub tree {
    my $depth = shift;
    # the leaf's own empty "children": else the lookup finds its parent's
    my $t = '{"name":"leaf","children":[]}';
    $t = qq{{"name":"n$_","children":[$t]}} for CORE::reverse(1 .. $depth - 1);
    return $t;
}

redis('SET', 't120:small', 'x' x 1024);
redis('SET', 't120:big', 'x' x 1025);
redis('SET', 't120:huge', 'y' x (1024 * 1024 + 1));
redis('SET', 't120:mega', 'z' x (1024 * 1024));
redis('SET', 't120:deep', $Deep);
redis('SET', 't120:tree5', tree(5));
redis('SET', 't120:tree40', tree(40));
redis('SET', 't120:c', 'small');

# {{#a}}{{{s}}}{{/a}}: 1,000 copies of 100 KB would be 100 MB
redis('SET', 't120:rep', '{"a":[' . join(',', (1) x 1000) . '],"s":"'
                         . ('r' x (100 * 1024)) . '"}');
# 31 copies of 33 bytes and a newline: 1024 bytes; one copy more: 1057
redis('SET', 't120:rep31', '{"a":[' . join(',', (1) x 31) . '],"s":"'
                           . ('r' x 33) . '"}');
redis('SET', 't120:rep32', '{"a":[' . join(',', (1) x 32) . '],"s":"'
                           . ('r' x 33) . '"}');
# three sections over 300 elements: 27 million steps
redis('SET', 't120:cube', '{"a":[' . join(',', (1) x 300) . ']}');

our $Files = <<'_EOF_';
>>> layout.html
[<!--# wapress fragment="x" -->]
>>> any.mustache
{{#.}}ok{{/.}}
>>> tree.mustache
<ul>{{> node}}</ul>
>>> node.mustache
<li>{{name}}{{#children}}<ul>{{> node}}</ul>{{/children}}</li>
>>> rep.mustache
{{#a}}{{{s}}}{{/a}}
>>> cube.mustache
{{#a}}{{#a}}{{#a}}{{x}}{{/a}}{{/a}}{{/a}}
_EOF_

add_block_preprocessor(sub {
    my $block = shift;
    if (defined $block->config && !defined $block->user_files) {
        $block->set_value('user_files', $Files);
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a value of exactly wapress_fragment_max_size
--- config
    wapress_fragment_max_size 1k;
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:small default=none;
    }
--- request
GET /t
--- response_body eval
"[" . ('x' x 1024) . "]\n"
--- no_error_log
[warn]
[error]



=== TEST 2: one byte more: the default and one line
--- config
    wapress_fragment_max_size 1k;
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:big default=none;
    }
--- request
GET /t
--- response_body
[none]
--- error_log
wapress: fragment "x" key "t120:big": value of 1025 bytes is larger than wapress_fragment_max_size 1024, using the default
--- no_error_log
[error]



=== TEST 3: a required fragment too large: 503
--- config
    wapress_fragment_max_size 1k;
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:big required;
    }
--- request
GET /t
--- error_code: 503
--- response_body_like: 503 Service
--- error_log
wapress: fragment "x" key "t120:big": value of 1025 bytes is larger than wapress_fragment_max_size 1024, the page is 503



=== TEST 4: the default limit is 1m: 1m passes
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:mega default=none;
    }
--- request
GET /t
--- response_body eval
"[" . ('z' x (1024 * 1024)) . "]\n"
--- no_error_log
[warn]
[error]



=== TEST 5: the default limit is 1m: one byte more does not
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:huge default=none;
    }
--- request
GET /t
--- response_body
[none]
--- error_log
value of 1048577 bytes is larger than wapress_fragment_max_size 1048576, using the default
--- no_error_log
[error]



=== TEST 6: a value cached for stale=
--- http_config
    wapress_cache zone=t120:1m valid=0 stale=1h;
--- config
    wapress_fragment_max_size 1k;
    add_header X-Cache $wapress_cache_status always;
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:c default=none;
    }
--- init
t::WapressTest::redis('SET', 't120:c', 'small');
--- request
GET /t
--- response_body
[small]



=== TEST 7: then too large: the default, not the stale copy
--- init
t::WapressTest::redis('SET', 't120:c', 'x' x 1025);
--- request
GET /t
--- response_body
[none]
--- error_log
value of 1025 bytes is larger than wapress_fragment_max_size 1024, using the default
--- no_error_log
[error]



=== TEST 8: JSON nested deeper than the parser allows: the default
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:deep template=../html/any.mustache default=0;
    }
--- request
GET /t
--- response_body
[ok
]
--- error_log
wapress: fragment "x" key "t120:deep": invalid JSON: maximum parsing depth reached
--- no_error_log
[error]



=== TEST 9: a recursive partial over a shallow tree renders
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:tree5 template=../html/tree.mustache default=0;
    }
--- request
GET /t
--- response_body eval
my $li = "<li>leaf</li>\n";
$li = "<li>n$_<ul>$li</ul></li>\n" for CORE::reverse(1 .. 4);
"[<ul>$li</ul>\n]\n"
--- no_error_log
[warn]
[error]



=== TEST 10: over a tree deeper than partials may nest: the default
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:tree40 template=../html/tree.mustache default=0;
    }
--- request
GET /t
--- response_body
[<ul><li></li>
</ul>
]
--- error_log
wapress: fragment "x" key "t120:tree40": template
data nested too deep, using the default
--- no_error_log
[error]



=== TEST 11: sections nested deeper than 64 fail nginx -t
--- user_files eval
">>> layout.html\n<!--# wapress fragment=\"x\" -->\n>>> s.mustache\n"
. CORE::join('', map { "{{#a$_}}" } 1 .. 65) . CORE::join('', map { "{{/a$_}}" } CORE::reverse(1 .. 65))
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:c template=../html/s.mustache;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*s\.mustache", line 1: sections nested too deeply/



=== TEST 12: a bad size
--- config
    wapress_fragment_max_size lots;
--- must_die
--- error_log eval
qr/\[emerg\] .*"wapress_fragment_max_size" directive invalid value/



=== TEST 13: a rendering larger than wapress_fragment_max_size stops there
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:rep template=../html/rep.mustache default=0;
    }
--- request
GET /t
--- response_body
[
]
--- grep_error_log eval: qr/wapress: fragment "x" key "t120:rep": template ".*rep\.mustache": rendering larger than wapress_fragment_max_size 1048576, using the default/
--- grep_error_log_out eval
qr/\A[^\n]+\n\z/



=== TEST 14: a rendering of exactly wapress_fragment_max_size
--- config
    wapress_fragment_max_size 1k;
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:rep31 template=../html/rep.mustache default=0;
    }
--- request
GET /t
--- response_body eval
"[" . ('r' x (31 * 33)) . "\n]\n"
--- no_error_log
[warn]
[error]



=== TEST 15: a rendering one copy larger
--- config
    wapress_fragment_max_size 1k;
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:rep32 template=../html/rep.mustache default=0;
    }
--- request
GET /t
--- response_body
[
]
--- error_log
wapress: fragment "x" key "t120:rep32": template
rendering larger than wapress_fragment_max_size 1024, using the default



=== TEST 16: a required fragment whose rendering is too large: 503
--- config
    wapress_fragment_max_size 1k;
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:rep32 template=../html/rep.mustache required;
    }
--- request
GET /t
--- error_code: 503
--- response_body_like: 503 Service
--- error_log
wapress: fragment "x" key "t120:rep32": template
rendering larger than wapress_fragment_max_size 1024, the page is 503



=== TEST 17: a rendering past the step limit: the default
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t120:cube template=../html/cube.mustache default=0;
    }
--- request
GET /t
--- response_body
[
]
--- grep_error_log eval: qr/rendering too long|wapress memo (?:hit|miss): fragment "x"(?: \(rendering failed\))?/
--- grep_error_log_out
wapress memo miss: fragment "x"
rendering too long



=== TEST 18: the same value again: the failure is remembered, not rendered
--- request
GET /t
--- response_body
[
]
--- grep_error_log eval: qr/rendering too long|wapress memo (?:hit|miss): fragment "x"(?: \(rendering failed\))?/
--- grep_error_log_out
wapress memo miss: fragment "x"
rendering too long
wapress memo hit: fragment "x" (rendering failed)
rendering too long
