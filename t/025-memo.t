# A worker remembers the renderings of json and text fragments by their
# value's bytes: the same value renders from memory, a changed value (of
# the same length, with the same first and last 32 bytes) renders anew,
# and both are then held (a slot of the table is a chain).
# The memo is observed through its debug lines ("wapress memo hit" and
# "wapress memo miss"; a block without a config reuses the running nginx
# and sees the log since it started): with the memo off
# (wapress_memo_size 0) the blocks that expect a hit fail.  Its entries are held within
# wapress_memo_size bytes per worker, least recently used dropped first.

use t::WapressTest;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 6 - 6);

our $Pad = 'p' x 40;
redis('SET', 't025:j', qq{{"a":"$Pad","n":1,"z":"$Pad"}});

# twelve fragments of about 110 bytes each in the memo (the entry's
# bookkeeping, a 40-byte value, a 4-byte rendering)
our ($Twelve, $Layout12);
for my $i (1 .. 12) {
    redis('SET', "t025:m$i", sprintf('{"n":%d,"pad":"%s"}', $i % 10, 'q' x 27));
    $Twelve .= "        wapress_fragment m$i t025:m$i template=../html/j.mustache;\n";
    $Layout12 .= "<!--# wapress fragment=\"m$i\" -->";
}
our $Out12 = join('', map { 'n=' . ($_ % 10) . "\n" } 1 .. 12) . "\n";

add_block_preprocessor(sub {
    my $block = shift;
    if (defined $block->config) {
        my $c = $block->config;
        $c =~ s/TWELVE\n/$Twelve/;
        $block->set_value('config', $c);
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a value seen for the first time is rendered
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
--- request
GET /t
--- response_body eval
"n=1\n\n"
--- grep_error_log eval: qr/wapress memo (?:hit|miss)/
--- grep_error_log_out
wapress memo miss



=== TEST 2: the same value again comes from the memo
--- request
GET /t
--- response_body eval
"n=1\n\n"
--- grep_error_log eval: qr/wapress memo (?:hit|miss)/
--- grep_error_log_out
wapress memo miss
wapress memo hit



=== TEST 3: a value that differs only in the middle renders anew
--- init
t::WapressTest::redis('SET', 't025:j', qq{{"a":"$main::Pad","n":2,"z":"$main::Pad"}});
--- request
GET /t
--- response_body eval
"n=2\n\n"
--- grep_error_log eval: qr/wapress memo (?:hit|miss)/
--- grep_error_log_out
wapress memo miss
wapress memo hit
wapress memo miss



=== TEST 4: and back: both values are held (a slot is a chain)
--- init
t::WapressTest::redis('SET', 't025:j', qq{{"a":"$main::Pad","n":1,"z":"$main::Pad"}});
--- request
GET /t
--- response_body eval
"n=1\n\n"
--- grep_error_log eval: qr/wapress memo (?:hit|miss)/
--- grep_error_log_out
wapress memo miss
wapress memo hit
wapress memo miss
wapress memo hit



=== TEST 5: wapress_memo_size 0 turns the memo off
--- http_config
    wapress_memo_size 0;
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
--- request
GET /t
--- response_body eval
"n=1\n\n"
--- no_error_log
wapress memo



=== TEST 6: ... on every request
--- request
GET /t
--- response_body eval
"n=1\n\n"
--- no_error_log
wapress memo



=== TEST 7: twelve values that fit in wapress_memo_size
--- http_config
    wapress_memo_size 4000;
--- user_files eval
">>> layout.html\n$::Layout12\n>>> j.mustache\nn={{n}}\n"
--- config
    location = /t {
        wapress_layout ../html/layout.html;
TWELVE
    }
--- request
GET /t
--- response_body eval: $::Out12
--- grep_error_log eval: qr/wapress memo (?:hit|miss)/
--- grep_error_log_out eval: "wapress memo miss\n" x 12



=== TEST 8: all remembered
--- request
GET /t
--- response_body eval: $::Out12
--- grep_error_log eval: qr/wapress memo (?:hit|miss)/
--- grep_error_log_out eval: ("wapress memo miss\n" x 12) . ("wapress memo hit\n" x 12)



=== TEST 9: twelve values that do not fit: the oldest make room
--- http_config
    wapress_memo_size 1000;
--- user_files eval
">>> layout.html\n$::Layout12\n>>> j.mustache\nn={{n}}\n"
--- config
    location = /t {
        wapress_layout ../html/layout.html;
TWELVE
    }
--- request
GET /t
--- response_body eval: $::Out12
--- grep_error_log eval: qr/wapress memo (?:hit|miss)/
--- grep_error_log_out eval: "wapress memo miss\n" x 12



=== TEST 10: used in the same order, each was dropped before its turn
--- request
GET /t
--- response_body eval: $::Out12
--- grep_error_log eval: qr/wapress memo (?:hit|miss)/
--- grep_error_log_out eval: "wapress memo miss\n" x 24



=== TEST 11: an entry larger than an eighth of wapress_memo_size is not kept
--- http_config
    wapress_memo_size 800;
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
--- request
GET /t
--- response_body eval
"n=1\n\n"
--- grep_error_log eval: qr/wapress memo (?:hit|miss)/
--- grep_error_log_out
wapress memo miss



=== TEST 12: ... so it is rendered again
--- request
GET /t
--- response_body eval
"n=1\n\n"
--- grep_error_log eval: qr/wapress memo (?:hit|miss)/
--- grep_error_log_out
wapress memo miss
wapress memo miss
