# A server that accepts and then drops the connection must not make
# every page reconnect: a connection is healthy only once the server has
# answered its setup (AUTH, SELECT, or else a PING) right, so each such
# drop is a failed attempt and the backoff (100 ms, doubling) applies;
# the same failure again logs at the info level only.  Over 40 pages in
# about a second, a real redis-server at maxclients (its one slot held by
# another client) and a listener that closes every connection at once
# each see a handful of connection attempts, and the error log gets at
# most two [error] lines.  Before: one attempt and one [error] per page.

use t::WapressTest;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep);

repeat_each(1);
master_off();

our $Pages = 40;

plan tests => repeat_each() * (blocks() * 5 + 4);

our $Port = $ENV{TEST_NGINX_REDIS_STORM_PORT}
    ||= ($ENV{TEST_NGINX_REDIS_PORT} || 6399) - 9;             # 6390
our ($Held, $Closer);
our $Accepts = "$ENV{TEST_NGINX_REDIS_DIR}/t041-accepts";

stop_redis($Port);

add_cleanup_handler(sub {
    stop_closer();
    stop_redis($Port);
});

sub errlog_size {
    return -s $Test::Nginx::Util::ErrLogFile || 0;
}

# $Pages pages, 25 ms apart; the [error] lines logged meanwhile
sub storm {
    my $pos = errlog_size();
    for (1 .. $Pages) {
        http_get('/t') =~ /\[none\]/ or die "page $_: not the default\n";
        sleep 0.025;
    }
    sleep 0.1;
    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or die "error.log: $!";
    seek $fh, $pos, 0;
    my @errors = grep { /\[error\]/ } <$fh>;
    return @errors;
}

# redis-server's count of the connections it refused at maxclients
sub rejected {
    my $info = t::WapressTest::_resp_cmd($Held, 'INFO', 'stats');
    $info =~ /^rejected_connections:(\d+)/m or die "no rejected_connections\n";
    return $1;
}

# a listener that closes every connection at once, counting them
sub start_closer {
    unlink $Accepts;
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $Port, Listen => 64,
                                  ReuseAddr => 1)
        or die "cannot listen on $Port: $!\n";
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        alarm 60;
        while (my $c = $l->accept) {
            open my $fh, '>>', $Accepts or POSIX::_exit(1);
            print $fh "accept\n";
            close $fh;
            close $c;
        }
        POSIX::_exit(0);
    }
    close $l;
    $Closer = $pid;
}

sub stop_closer {
    return unless $Closer;
    kill 'KILL', $Closer;
    local $?;
    waitpid $Closer, 0;
    undef $Closer;
}

sub accepts {
    open my $fh, '<', $Accepts or return 0;
    my @lines = <$fh>;
    return scalar @lines;
}

sub maxclients_storm {
    start_redis($Port, '--maxclients', '1');
    # the slot may still be taken by start_redis()'s probe for a moment
    for (1 .. 50) {
        $Held = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $Port)
            or die "cannot connect to $Port: $!\n";
        my $pong = eval { t::WapressTest::_resp_cmd($Held, 'PING') } // '';
        last if $pong eq 'PONG';
        undef $Held;
        sleep 0.05;
    }
    $Held or die "cannot hold the one client slot\n";
    my $before = rejected();
    my @errors = storm();
    my $attempts = rejected() - $before;
    ok($attempts >= 1 && $attempts <= 8,
       "maxclients: $attempts connection attempts for $Pages pages");
    ok(@errors <= 2, "maxclients: " . scalar(@errors) . " [error] lines for "
                     . "$Pages pages")
        or diag(join '', @errors);
}

sub closer_storm {
    close $Held;
    stop_redis($Port);
    start_closer();
    my @errors = storm();
    my $attempts = accepts();
    ok($attempts >= 1 && $attempts <= 8,
       "closer: $attempts connection attempts for $Pages pages");
    ok(@errors <= 2, "closer: " . scalar(@errors) . " [error] lines for "
                     . "$Pages pages")
        or diag(join '', @errors);
}

our $HttpConfig = <<'_EOC_';
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_STORM_PORT;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
_EOC_

our $Config = <<'_EOC_';
    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment a t041:a default=none;
    }
_EOC_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Redis at maxclients: a few attempts, not one per page
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->]
--- init
main::maxclients_storm();
--- request
GET /t
--- response_body
[none]
--- error_log eval
qr/\[error\] .*wapress: redis 127\.0\.0\.1:\d+: PING failed: ERR max number of clients reached/
--- no_error_log
[alert]
[crit]



=== TEST 2: a listener that closes every connection at once
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->]
--- init
main::closer_storm();
--- request
GET /t
--- response_body
[none]
--- error_log eval
qr/\[error\] .*wapress: redis 127\.0\.0\.1:\d+: connection lost: /
--- no_error_log
[alert]
[crit]
