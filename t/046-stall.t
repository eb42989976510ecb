# A "Redis" that accepts and reads but never answers: each page gets its
# default at the deadline, and the connection, which never answered its
# PING, is dropped at wapress_redis_connect_timeout (the callbacks waiting
# on it are freed) instead of piling them up forever.  (A healthy
# connection that stops answering is dropped by the watchdog: t/050.)

use t::WapressTest;
use IO::Socket::INET;
use POSIX ();

plan tests => repeat_each() * (blocks() * 5);

our $Port = $ENV{TEST_NGINX_REDIS_MUTE_PORT} ||= 6393;

our $Pid = fork();
die "fork: $!" unless defined $Pid;
if ($Pid == 0) {
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $Port,
                                  Listen => 16, ReuseAddr => 1)
        or POSIX::_exit(1);
    my @keep;
    alarm 60;
    while (my $c = $l->accept) {
        push @keep, $c;     # read nothing back, answer nothing
    }
    POSIX::_exit(0);
}
# the handler also runs from END: "local $?" keeps the exit status
add_cleanup_handler(sub { local $?; kill 'KILL', $Pid; waitpid $Pid, 0 });
select undef, undef, undef, 0.2;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the page gets its default at the deadline
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_MUTE_PORT;
    wapress_redis_timeout 200ms;
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->]
--- config
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment a t046:a default=none;
    }
--- request
GET /t
--- response_body
[none]
--- error_log
wapress: fragment "a" key "t046:a": timed out after 200ms, using the default
--- no_error_log
[alert]
[crit]



=== TEST 2: the connection never became healthy: dropped at the connect timeout
--- init
Time::HiRes::sleep(0.7);
--- request
GET /t
--- response_body
[none]
--- error_log eval
qr/\[warn\] .*wapress: redis 127\.0\.0\.1:\d+: no reply to PING in 500ms/
--- no_error_log
[alert]
[crit]
