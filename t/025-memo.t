# A worker remembers the renderings of json and text fragments by their
# value's bytes: the same value renders from memory, a changed value (of
# the same length, with the same first and last 32 bytes) renders anew.

use t::WapressTest;

plan tests => repeat_each() * (blocks() * 5 + 5);

our $Pad = 'p' x 40;
redis('SET', 't025:j', qq{{"a":"$Pad","n":1,"z":"$Pad"}});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the same value, twice
--- user_files
>>> layout.html
<!--# wapress fragment="j" -->
>>> j.mustache
n={{n}}
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment j t025:j template=../html/j.mustache;
    }
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["n=1\n\n", "n=1\n\n"]



=== TEST 2: a value that differs only in the middle renders anew
--- init
t::WapressTest::redis('SET', 't025:j', qq{{"a":"$main::Pad","n":2,"z":"$main::Pad"}});
--- request
GET /t
--- response_body eval
"n=2\n\n"




=== TEST 3: and back
--- init
t::WapressTest::redis('SET', 't025:j', qq{{"a":"$main::Pad","n":1,"z":"$main::Pad"}});
--- request
GET /t
--- response_body eval
"n=1\n\n"

