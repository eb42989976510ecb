# Runner self-test: request building and response parsing - request
# bodies and Content-Length, more_headers, several requests, packets with
# delays, pipelined requests, raw requests, chunked responses, HTTP/1.0,
# idle timeout with abort.
use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * 28;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a request body gets a Content-Length (body trimmed)
--- config
    location /echo {
        proxy_set_header X-Body $request_body;
        proxy_set_header X-Len $http_content_length;
        proxy_pass http://127.0.0.1:$server_port/back;
    }
    location /back {
        return 200 "[$http_x_body] $http_x_len\n";
    }
--- request
POST /echo
hello world
--- response_body
[hello world] 11



=== TEST 2: more_headers, with a Host override and a comment
--- config
    location /h {
        return 200 "$host $http_x_a $http_x_b\n";
    }
--- more_headers
# a comment line
Host: foo.example
X-A: 1
X-B:two words
--- request
    # the request may be indented and commented
    GET /h
--- response_body
foo.example 1 two words



=== TEST 3: several requests, each on its own connection
--- config
    location /a { return 200 "a"; }
    location /b { return 201 "bb"; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 201]
--- response_body eval
["a", "bb"]
--- response_headers eval
["Content-Length: 1", "Content-Length: 2"]



=== TEST 4: one request sent as packets, with delays
--- config
    location /packet { return 200 "$request_method $uri $server_protocol\n"; }
--- request eval
[["GE", "T /pa", { value => "cket", delay_before => 0.05 }, " HTTP/1.0"]]
--- raw_request_middle_delay: 0.02
--- response_body
GET /packet HTTP/1.0



=== TEST 5: pipelined requests on one connection
--- config
    location /p1 { return 200 "one"; }
    location /p2 { return 404; }
    location /p3 { return 200 "three\n"; }
--- pipelined_requests eval
["GET /p1", "GET /p2", "GET /p3"]
--- error_code eval
[200, 404, 200]
--- response_body_like eval
["^one\$", "404 Not Found", "^three\n\$"]



=== TEST 6: raw_request is sent byte for byte
--- config
    location /raw { return 200 "raw $server_protocol"; }
--- raw_request eval
"GET /raw HTTP/1.0\r\nHost: x\r\n\r\n"
--- response_body chomp
raw HTTP/1.0
--- raw_response_headers_like: ^HTTP/1\.1 200 OK\r\n
--- raw_response_headers_unlike: Transfer-Encoding



=== TEST 7: chunked response is decoded
--- config
    location /chunked {
        default_type text/html;
        ssi on;
        return 200 "b<!--# echo var=\"arg_x\" -->b";
    }
--- request
GET /chunked?x=b
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- response_body chomp
bbb



=== TEST 8: keep-alive connection: idle timeout, silenced by abort
--- config
    location /ka { return 200 "ka"; }
--- more_headers
Connection: keep-alive
--- request
GET /ka
--- timeout: 200ms
--- abort
--- response_body chomp
ka
