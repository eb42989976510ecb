# wapress_purge: an operator drops entries of the fragment cache by key or
# by key prefix (every field, rendering and server), gets a JSON answer
# of what went, and the next page asks Redis again.  allow/deny protect
# it; it needs a wapress_cache zone.

use t::WapressTest;

repeat_each(1);

plan 'no_plan';

our $UserFiles = <<'_EOF_';
>>> one.html
[<!--# wapress fragment="x" -->]
_EOF_

our $HttpConfig = <<'_EOC_';
    wapress_cache zone=t150:1m valid=1h stale=1h;
_EOC_

our $Config = <<'_EOC_';
    location = /a {
        wapress_layout ../html/one.html;
        wapress_fragment x t150:a default=none;
    }

    location ~ ^/p/(?<n>\d+)$ {
        wapress_layout ../html/one.html;
        wapress_fragment x t150:p:$n default=none;
    }

    location = /purge {
        allow 127.0.0.1;
        deny all;
        wapress_purge;
    }

    location = /closed {
        deny all;
        wapress_purge;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    if (defined $block->config && !defined $block->user_files) {
        $block->set_value('user_files', $UserFiles);
    }
});

# blocks without a config go on with the nginx (and zone) of the last
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a value is cached for an hour: a new one is not seen
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- init
t::WapressTest::redis('SET', 't150:a', 'v1');
--- request eval
["GET /a", "GET /a"]
--- response_body eval
["[v1]\n", "[v1]\n"]



=== TEST 2: purge by key: its entry goes, the next page has the new value
--- init
t::WapressTest::redis('SET', 't150:a', 'v2');
--- request eval
["GET /a", "GET /purge?key=t150:a", "GET /a"]
--- response_body eval
["[v1]\n",
 qq{{"zone":"t150","key":"t150:a","dropped":1,"keys":["t150:a"],"keys_truncated":false}\n},
 "[v2]\n"]
--- response_headers eval
["", "Content-Type: application/json", ""]



=== TEST 3: purge by prefix: every key that begins with it, most recent first
--- init
t::WapressTest::redis('SET', 't150:p:1', 'one');
t::WapressTest::redis('SET', 't150:p:2', 'two');
--- request eval
["GET /p/1", "GET /p/2", "GET /purge?prefix=t150%3Ap%3A"]
--- response_body eval
["[one]\n", "[two]\n",
 qq{{"zone":"t150","prefix":"t150:p:","dropped":2,"keys":["t150:p:2","t150:p:1"],"keys_truncated":false}\n}]



=== TEST 4: a prefix that matches nothing drops nothing
--- request
GET /purge?prefix=nothing:here
--- response_body
{"zone":"t150","prefix":"nothing:here","dropped":0,"keys":[],"keys_truncated":false}



=== TEST 5: neither key nor prefix (or both): 400 and why
--- request eval
["GET /purge", "GET /purge?key=a&prefix=b"]
--- error_code eval
[400, 400]
--- response_body eval
[qq{{"error":"give one of ?key=KEY or ?prefix=PREFIX"}\n},
 qq{{"error":"give one of ?key=KEY or ?prefix=PREFIX"}\n}]



=== TEST 6: PURGE, POST and DELETE work; other methods are 405
--- request eval
["PURGE /purge?key=x", "POST /purge?key=x", "DELETE /purge?key=x",
 "PUT /purge?key=x"]
--- error_code eval
[200, 200, 200, 405]
--- response_body_like eval
['"dropped":0', '"dropped":0', '"dropped":0', '405 Not Allowed']



=== TEST 7: a key with control bytes is logged escaped, answered in JSON
--- request
GET /purge?key=evil%0D%0A2026%2F01%2F01%20%5Bemerg%5D
--- response_body
{"zone":"t150","key":"evil\r\n2026/01/01 [emerg]","dropped":0,"keys":[],"keys_truncated":false}
--- error_log
purge of key "evil%0D%0A2026%2F01%2F01%20%5Bemerg%5D" dropped 0
--- no_error_log
[error]



=== TEST 8: allow/deny protect it
--- request
GET /closed?key=t150:a
--- error_code: 403
--- response_body_like: 403 Forbidden
--- error_log
access forbidden by rule



=== TEST 9: wapress_purge without a cache zone fails nginx -t
--- http_config
--- config
    location = /purge {
        wapress_purge;
    }
--- must_die
--- error_log
wapress_purge needs a wapress_cache zone in its location (or inherited)
