# Self-test of the Test::Nginx::Socket compatible runner (t/lib) against
# stock nginx features; must pass under the real Test::Nginx too.
use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * blocks() * 3;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: return with a body
--- config
    location /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: add_header, response_headers and !Key
--- config
    location /h {
        add_header X-Foo bar;
        return 200 "ok";
    }
--- request
GET /h
--- response_headers
X-Foo: bar
!X-Missing
--- response_body chomp
ok



=== TEST 3: error code and a block without config reuses nginx
--- request
GET /nonexistent
--- error_code: 404
--- response_body_like: 404 Not Found
