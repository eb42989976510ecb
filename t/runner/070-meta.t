# Runner self-test: Test::Base meta sections (SKIP drops a block, LAST
# drops the blocks after it) seen through blocks(), with 'no_plan', the
# default shuffled order and no_root_location().
use Test::Nginx::Socket 'no_plan';

no_root_location();
run_tests();

is(scalar(blocks()), 2, 'SKIP and LAST are applied to blocks()');

__DATA__

=== TEST 1: runs (blocks may run in any order, each has a config)
--- config
    location /one { return 200 "one"; }
--- request
GET /one
--- response_body chomp
one



=== TEST 2: skipped entirely
--- SKIP
--- config
    location /two { return 500; }
--- request
GET /two
--- response_body chomp
never



=== TEST 3: last block that runs; its own "location /" (no duplicate)
--- LAST
--- config
    location / { return 200 "three"; }
--- request
GET /
--- response_body chomp
three



=== TEST 4: dropped by LAST
--- config
    location /four { return 500; }
--- request
GET /four
--- response_body chomp
never
