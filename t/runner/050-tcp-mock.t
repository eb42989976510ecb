# Runner self-test: forked mock TCP back-ends (tcp_listen, tcp_reply as
# string / chunks / code, tcp_query, tcp_query_len, tcp_reply_delay,
# tcp_shutdown, tcp_no_close) behind proxy_pass.  Every location asks for
# HTTP/1.0 and "Connection: close" itself: since 1.29.7 nginx's defaults
# are HTTP/1.1 with keepalive and no Connection header, which the queries
# and the mock's one reply per connection here do not expect (with the
# directives, every nginx sends the same query).
use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * 13;

$ENV{TEST_NGINX_RUNNER_MOCK_PORT} = $Test::Nginx::Util::ServerPort + 1;

our $Query = "GET /t HTTP/1.0\r\nHost: backend\r\n"
             . "Connection: close\r\n\r\n";

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a full reply; the query nginx sent is checked
--- config
    location /t {
        proxy_http_version 1.0;
        proxy_set_header Host backend;
        proxy_set_header Connection close;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RUNNER_MOCK_PORT;
    }
--- tcp_listen eval: $ENV{TEST_NGINX_RUNNER_MOCK_PORT}
--- tcp_query eval: $::Query
--- tcp_query_len eval: length $::Query
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nX-Mock: yes\r\nContent-Length: 5\r\n\r\nmock\n"
--- request
GET /t
--- response_headers
X-Mock: yes
--- response_body
mock



=== TEST 2: the reply sent as separate chunks, connection left open
--- config
    location /t {
        proxy_http_version 1.0;
        proxy_set_header Connection close;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RUNNER_MOCK_PORT;
    }
--- tcp_listen eval: $ENV{TEST_NGINX_RUNNER_MOCK_PORT}
--- tcp_reply eval
["HTTP/1.0 200 OK\r\n", "Content-Length: 6\r\n\r\n", "abc", "def"]
--- tcp_no_close
--- request
GET /t
--- response_body chomp
abcdef



=== TEST 3: a reply computed from the query
--- config
    location /t {
        proxy_http_version 1.0;
        proxy_set_header Connection close;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RUNNER_MOCK_PORT/echo;
    }
--- tcp_listen eval: $ENV{TEST_NGINX_RUNNER_MOCK_PORT}
--- tcp_reply eval
sub {
    my $query = shift;
    my ($line) = $query =~ /^(.*?)\r\n/;
    return "HTTP/1.0 200 OK\r\n\r\n[$line]";
}
--- request
GET /t
--- response_body chomp
[GET /echo HTTP/1.0]



=== TEST 4: a late reply makes nginx time out
--- config
    location /t {
        proxy_http_version 1.0;
        proxy_set_header Connection close;
        proxy_read_timeout 100ms;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RUNNER_MOCK_PORT;
    }
--- tcp_listen eval: $ENV{TEST_NGINX_RUNNER_MOCK_PORT}
--- tcp_reply_delay: 300ms
--- tcp_reply eval
"HTTP/1.0 200 OK\r\n\r\nlate"
--- request
GET /t
--- error_code: 504
--- error_log
upstream timed out



=== TEST 5: the back-end closes its write side at once
--- config
    location /t {
        proxy_http_version 1.0;
        proxy_set_header Connection close;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RUNNER_MOCK_PORT;
    }
--- tcp_listen eval: $ENV{TEST_NGINX_RUNNER_MOCK_PORT}
--- tcp_shutdown: 1
--- request
GET /t
--- error_code: 502
--- error_log
upstream prematurely closed connection
