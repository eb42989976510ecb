# wapress_redis: AUTH with a password and with an ACL user, SELECT db=N,
# a unix socket, a host name resolved at load time, and a server per
# location.

use t::WapressTest;

plan tests => repeat_each() * (blocks() * 5 + 1);

our $AuthPort = $ENV{TEST_NGINX_REDIS_AUTH_PORT};
redis_session($AuthPort, ['AUTH', 's3cret'], ['SET', 't070:k', 'secret value']);
redis_session($ENV{TEST_NGINX_REDIS_PORT}, ['SELECT', '3'],
              ['SET', 't070:k', 'from db 3']);
redis('SET', 't070:k', 'from db 0');

our $Config = <<'_EOC_';
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t070:k default=none;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: AUTH with a password
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_AUTH_PORT password=s3cret;
--- config eval: $::Config
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
--- request
GET /t
--- response_body
secret value



=== TEST 2: AUTH with an ACL user
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_AUTH_PORT user=alice password=wonderland;
--- config eval: $::Config
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
--- request
GET /t
--- response_body
secret value



=== TEST 3: a wrong password: the default, and the cause in the log
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_AUTH_PORT password=wrong;
--- config eval: $::Config
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
--- request
GET /t
--- response_body
none
--- error_log eval
[qr/\[error\] .*wapress: redis 127\.0\.0\.1:\d+: AUTH failed: WRONGPASS/,
 qr/\[warn\] .*wapress: fragment "x" key "t070:k": .*AUTH failed: WRONGPASS .*, using the default/]
--- no_error_log
[alert]
[crit]



=== TEST 4: no password for a server that needs one
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_AUTH_PORT;
--- config eval: $::Config
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
--- request
GET /t
--- response_body
none
--- error_log eval
qr/\[warn\] .*wapress: fragment "x" key "t070:k": .*PING failed: NOAUTH .*, using the default/
--- no_error_log
[alert]
[crit]



=== TEST 5: SELECT db=3
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT db=3;
--- config eval: $::Config
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
--- request
GET /t
--- response_body
from db 3



=== TEST 6: a unix socket
--- http_config
    wapress_redis unix:$TEST_NGINX_REDIS_SOCKET;
--- config eval: $::Config
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
--- request
GET /t
--- response_body
from db 0



=== TEST 7: a host name, resolved when the configuration loads
--- http_config
    wapress_redis localhost:$TEST_NGINX_REDIS_PORT;
--- config eval: $::Config
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
--- request
GET /t
--- response_body
from db 0



=== TEST 8: a location may name its own server
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT db=3;
        wapress_layout ../html/layout.html;
        wapress_fragment x t070:k default=none;
    }
--- user_files
>>> layout.html
<!--# wapress fragment="x" -->
--- request
GET /t
--- response_body
from db 3
