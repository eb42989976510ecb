# Runner self-test: must_die (nginx must refuse to start) with error-log
# checks, and a normal block after it.
use Test::Nginx::Socket;

repeat_each(2);

# TEST 1: 1 + 2 log tests, TEST 2: 1 + 1, TEST 3: 2 per repeat
plan tests => repeat_each() * 7;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: unknown directive
--- config
    location /t {
        no_such_directive_here on;
    }
--- must_die
--- suppress_stderr
--- error_log
[emerg]
unknown directive "no_such_directive_here"



=== TEST 2: bad argument, checked with a regex
--- config
    location /t {
        return abc;
    }
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid return code "abc"/



=== TEST 3: a good config starts again
--- config
    location /t {
        return 200 "up\n";
    }
--- request
GET /t
--- response_body
up
