# wapress_redis_connect_timeout: a Redis address whose listen queue is
# full never completes the TCP handshake; the worker gives up after the
# connect timeout, and the page does not wait for wapress_redis_timeout.

use t::WapressTest;
use IO::Socket::INET;

plan tests => repeat_each() * (blocks() * 5);

our $Port = $ENV{TEST_NGINX_REDIS_BLACKHOLE_PORT} ||= 6395;

# a listener that never accepts, its queue filled by connections of ours
our $Listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $Port, Listen => 0,
                                      ReuseAddr => 1)
    or die "cannot listen on $Port: $!";
our @Fillers;
for (1 .. 8) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $Port,
                                  Blocking => 0);
    push @Fillers, $s if $s;
}

run_tests();

__DATA__

=== TEST 1: the connect times out after wapress_redis_connect_timeout
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_BLACKHOLE_PORT;
    wapress_redis_connect_timeout 100ms;
    wapress_redis_timeout 5s;
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->]
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment a t045:a default=none;
    }
--- request
GET /t
--- response_body
[none]
--- timeout: 1
--- error_log eval
[qr/wapress: redis 127\.0\.0\.1:\d+: connect timed out/,
 qr/\[warn\] .*wapress: fragment "a" key "t045:a": .*using the default/]
--- no_error_log
[crit]



=== TEST 2: the page deadline bounds the connect too
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_BLACKHOLE_PORT;
    wapress_redis_connect_timeout 5s;
    wapress_redis_timeout 150ms;
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->]
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment a t045:a default=none;
    }
--- request
GET /t
--- response_body
[none]
--- timeout: 1
--- error_log
wapress: fragment "a" key "t045:a": timed out after 150ms, using the default
--- no_error_log
[crit]
[alert]
