# A slow Redis must not leave a backlog that outlives the load.  A fake
# server answers one command every 20 ms (50 a second, in the order they
# came, dropping those of a client that closed).  A burst of 300 pages (600
# lookups) with wapress_redis_timeout 200ms gives up at the deadline;
# then a new page must be served from Redis again within
# 2 x wapress_redis_timeout, and the server must have been sent far fewer
# than 600 lookups: at most 256 commands are in flight on a connection,
# the others wait in the module and are dropped when their page gives
# up, and the watchdog drops a connection whose oldest reply is older
# than the deadline.  Before: every lookup was written, and every page
# for 12 s after the burst waited its deadline.  (The cap and the drop
# of cancelled commands are in the command API, ngx_http_wapress_redis_send():
# this passes once the page code sends its lookups through it.)

use t::WapressTest;
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Time::HiRes qw(sleep time);

repeat_each(1);
master_off();
worker_connections(1024);

plan tests => repeat_each() * (blocks() * 4 + 2);

our $Port = $ENV{TEST_NGINX_REDIS_SLOW_PORT}
    ||= ($ENV{TEST_NGINX_REDIS_PORT} || 6399) - 8;             # 6391
our $Burst = 300;
our $Gets = "$ENV{TEST_NGINX_REDIS_DIR}/t042-gets";
our $Slow;

add_cleanup_handler(sub {
    return unless $Slow;
    kill 'KILL', $Slow;
    local $?;
    waitpid $Slow, 0;
});

# one RESP command from the front of $$buf, or undef if incomplete
sub parse_cmd {
    my $buf = shift;
    return undef unless $$buf =~ /\A\*(\d+)\r\n/;
    my ($n, $pos) = ($1, length($&));
    my @args;
    for (1 .. $n) {
        return undef unless substr($$buf, $pos) =~ /\A\$(\d+)\r\n/;
        my $len = $1;
        $pos += length($&);
        return undef if length($$buf) < $pos + $len + 2;
        push @args, substr($$buf, $pos, $len);
        $pos += $len + 2;
    }
    substr($$buf, 0, $pos) = '';
    return \@args;
}

sub start_slow {
    unlink $Gets;
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $Port, Listen => 64,
                                  ReuseAddr => 1)
        or die "cannot listen on $Port: $!\n";
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        alarm 120;
        open my $log, '>>', $Gets or POSIX::_exit(1);
        $log->autoflush(1);
        my $sel = IO::Select->new($l);
        my (%buf, @queue);
        my $next = time;
        for ( ;; ) {
            my $wait = @queue ? ($next - time > 0 ? $next - time : 0) : 1;
            for my $s ($sel->can_read($wait)) {
                if ($s == $l) {
                    my $c = $l->accept or next;
                    $sel->add($c);
                    $buf{$c} = '';
                    next;
                }
                my $n = sysread($s, my $in, 65536);
                if (!$n) {
                    $sel->remove($s);
                    delete $buf{$s};
                    @queue = grep { $_->[0] != $s } @queue;
                    close $s;
                    next;
                }
                $buf{$s} .= $in;
                while (my $cmd = parse_cmd(\$buf{$s})) {
                    print $log "$cmd->[1]\n" if uc $cmd->[0] eq 'GET';
                    push @queue, [$s, $cmd];
                }
            }
            if (@queue && time >= $next) {
                my ($s, $cmd) = @{shift @queue};
                my $reply = uc $cmd->[0] eq 'GET'
                            ? '$' . length("v-$cmd->[1]") . "\r\nv-$cmd->[1]\r\n"
                            : uc $cmd->[0] eq 'PING' ? "+PONG\r\n" : "+OK\r\n";
                syswrite($s, $reply);
                $next = time + 0.02;
            }
        }
    }
    close $l;
    $Slow = $pid;
}

sub gets {
    open my $fh, '<', $Gets or return 0;
    my @lines = <$fh>;
    return scalar @lines;
}

# $Burst pages at once; returns when every one has been answered
sub burst {
    my @socks;
    for my $i (1 .. $Burst) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $Test::Nginx::Util::ServerPort)
            or die "connect: $!\n";
        print $s "GET /p/b$i HTTP/1.0\r\nHost: localhost\r\n\r\n";
        push @socks, $s;
    }
    for my $s (@socks) {
        local $/;
        my $resp = <$s>;
    }
}

sub recovery {
    start_slow();
    sleep 0.2;
    # init may run before nginx listens: wait for it (at most 5 s)
    for (1 .. 100) {
        last if IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $Test::Nginx::Util::ServerPort);
        sleep 0.05;
    }
    http_get('/p/warm') =~ /\[v-t042:warm:1\|v-t042:warm:2\]/
        or die "the slow server does not answer\n";
    burst();
    my $end = time;
    my $sent = gets();
    my $page;
    while (time - $end < 5) {
        $page = http_get('/p/fresh');
        last if $page =~ /\[v-t042:fresh:1\|v-t042:fresh:2\]/;
        sleep 0.02;
    }
    my $took = int((time - $end) * 1000);
    ok($took <= 400, "a fresh page ${took}ms after the burst (at most 400ms)");
    ok($sent < 400, "lookups sent to the slow server for the burst: $sent "
                    . "(of " . 2 * $Burst . ")");
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: after a burst against a slow server, pages are fresh again
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_SLOW_PORT;
    wapress_redis_timeout 200ms;
--- config
    location ~ ^/p/(?<k>[a-z0-9]+)$ {
        wapress_layout ../html/layout.html;
        wapress_fragment x t042:$k:1 default=late;
        wapress_fragment y t042:$k:2 default=late;
    }
--- user_files
>>> layout.html
[<!--# wapress fragment="x" -->|<!--# wapress fragment="y" -->]
--- init
main::recovery();
--- request
GET /p/last
--- response_body
[v-t042:last:1|v-t042:last:2]
--- no_error_log
[alert]
[crit]
