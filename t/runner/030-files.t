# Runner self-test: user_files (text and eval forms, sub-directories,
# timestamps), static files under the generated "location /", HEAD,
# $TEST_NGINX_* expansion and the $ServerPort substitution.
use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2 + 4);

$ENV{TEST_NGINX_RUNNER_GREETING} = 'hello from env';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: text user_files with a timestamp
--- config
    location /x {
        return 204;
    }
--- user_files
>>> a.txt 202001021504.05
first file
>>> sub/dir/b.txt
$TEST_NGINX_RUNNER_GREETING
--- request
GET /a.txt
--- response_headers
Last-Modified: Thu, 02 Jan 2020 15:04:05 GMT
--- response_body
first file



=== TEST 2: files in sub-directories, env expanded in the content
--- request
GET /sub/dir/b.txt
--- response_body
hello from env



=== TEST 3: eval user_files and HEAD
--- config
    location /x {
        return 204;
    }
--- user_files eval
[
    ["c.html", "<p>" . ("x" x 100) . "</p>\n"],
]
--- request
HEAD /c.html
--- response_headers
Content-Length: 108
Content-Type: text/html
--- response_body



=== TEST 4: the default index page
--- config
    location /x {
        return 204;
    }
--- request
GET /
--- response_body_like: It works!



=== TEST 5: env in config, $ServerPort in expected values
--- config
    location /port {
        add_header X-Port $server_port;
        return 200 "port $server_port\n";
    }
--- request
GET /port
--- response_headers
X-Port: $ServerPort
--- response_body
port $TEST_NGINX_SERVER_PORT
