# The Redis layer's configuration errors: a parameter's value is never
# echoed (a misspelt or repeated password would be printed in the error
# and in every log that keeps nginx -t's output), and
# wapress_redis_connect_timeout 0 is refused (it would set no deadline).

use t::WapressTest;

plan tests => repeat_each() * (blocks() * 3 + 3);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a misspelt password= is named, its value not shown
--- config
    wapress_redis 127.0.0.1:6379 pasword=s3cret;
--- must_die
--- error_log
invalid redis parameter "pasword=..."
--- no_error_log
s3cret



=== TEST 2: a repeated password= is named, neither value shown
--- config
    wapress_redis 127.0.0.1:6379 password=s3cret password=t0psecret;
--- must_die
--- error_log
duplicate redis parameter "password="
--- no_error_log
s3cret
t0psecret



=== TEST 3: a bare word (a password without its name?) is not shown
--- config
    wapress_redis 127.0.0.1:6379 db=2 s3cret;
--- must_die
--- error_log
invalid redis parameter 2 (expected "db=", "password=" or "user=")
--- no_error_log
s3cret



=== TEST 4: wapress_redis_connect_timeout 0 is refused at load
--- config
    wapress_redis_connect_timeout 0;
--- must_die
--- error_log eval
qr/\[emerg\] .*"wapress_redis_connect_timeout" directive must be greater than 0 in .*nginx\.conf:\d+/
--- no_error_log
[alert]



=== TEST 5: a wapress_redis_connect_timeout of 1ms is taken
--- config
    wapress_redis_connect_timeout 1ms;
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
