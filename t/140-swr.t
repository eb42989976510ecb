# stale_while_revalidate: past valid=, the stale copy is served at once
# (UPDATING) and one refresh per key is sent, across all workers; its
# reply updates the zone with no request waiting for it.  Redis counts
# the GETs (INFO commandstats of a private redis-server).

use t::WapressTest;

$t::WapressTest::LayoutOnly = 'its checks read $wapress_cache_status in response headers, sent before the lookups in filter mode';
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);

repeat_each(1);
master_on();
workers(2);

plan tests => repeat_each() * (blocks() * 5 + 29);

our $Port = $ENV{TEST_NGINX_REDIS_SWR_PORT}
    ||= ($ENV{TEST_NGINX_REDIS_PORT} || 6399) - 13;           # 6386

# a second server listening with reuseport: the kernel spreads its
# connections over both workers
our $HttpPort = $ENV{TEST_NGINX_SWR_HTTP_PORT}
    ||= $Test::Nginx::Util::ServerPort + 1;
our $N = 40;
our %R;

stop_redis($Port);
start_redis($Port);
add_cleanup_handler(sub { stop_redis($Port) });

sub r { t::WapressTest::redis_at($Port, @_) }


sub gets {
    my $info = r('INFO', 'commandstats');
    return $info =~ /cmdstat_get:calls=(\d+)/ ? $1 : 0;
}

# $N requests at once, each on its own connection: the bodies and the
# X-Cache headers seen, and the slowest answer in seconds
sub concurrent {
    my $path = shift;
    my (%buf, %t0, %bodies, %status);
    my $sel = IO::Select->new;
    my $slowest = 0;
    for (1 .. $N) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $HttpPort)
            or die "connect: $!";
        $s->blocking(0);
        $t0{$s} = time;
        $buf{$s} = '';
        print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
        $sel->add($s);
    }
    my $deadline = time + 5;
    while ($sel->count && time < $deadline) {
        for my $s ($sel->can_read(1)) {
            my $n = sysread($s, my $chunk, 65536);
            if ($n) {
                $buf{$s} .= $chunk;
                next;
            }
            my $t = time - $t0{$s};
            $slowest = $t if $t > $slowest;
            $sel->remove($s);
            close $s;
        }
    }
    for my $r (values %buf) {
        my ($head, $body) = split /\r\n\r\n/, $r, 2;
        $bodies{$body // '(none)'}++;
        $status{$head =~ /X-Cache: (\w+)/ ? $1 : '(none)'}++;
    }
    return (\%bodies, \%status, $slowest);
}

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    return if $dry_run || $block->name !~ /one refresh/;
    is_deeply($R{bodies}, { "[A1]\n" => $N }, "all $N got the stale copy");
    is_deeply($R{status}, { UPDATING => $N }, "all $N were UPDATING");
    is($R{gets}, 1, "one GET for $N requests on 2 workers");
    if (open my $fh, '<', "$Test::Nginx::Util::ServRoot/logs/access.log") {
        my %pids = map { /^(\d+) UPDATING/ ? ($1 => 1) : () } <$fh>;
        is(scalar(keys %pids), 2, "the $N requests went to both workers");
    }
    is($R{slowest} < 0.25 ? 'fast' : $R{slowest}, 'fast', 'no wait');
});

our $HttpConfig = <<'_EOC_';
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_SWR_PORT;
    wapress_redis_timeout 300ms;
    wapress_cache zone=t140:1m valid=300ms stale=1h stale_while_revalidate;
    log_format t140 '$pid $wapress_cache_status';

    server {
        listen 127.0.0.1:$TEST_NGINX_SWR_HTTP_PORT reuseport;
        access_log logs/access.log t140;
        add_header X-Cache $wapress_cache_status always;

        location = /a {
            wapress_layout ../html/layout.html;
            wapress_fragment x t140:a default=none;
        }
    }
_EOC_

our $Config = <<'_EOC_';
    access_log logs/access.log t140;
    add_header X-Cache $wapress_cache_status always;
    add_header X-Time $request_time always;

    location = /a {
        wapress_layout ../html/layout.html;
        wapress_fragment x t140:a default=none;
    }

    location = /short {
        wapress_cache zone=t140 valid=100ms stale=400ms
                      stale_while_revalidate;
        wapress_layout ../html/layout.html;
        wapress_fragment x t140:s default=none;
    }
_EOC_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the first request asks Redis
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> layout.html
[<!--# wapress fragment="x" -->]
--- init
main::r('SET', 't140:a', 'A1');
main::r('SET', 't140:s', 'S1');
--- request eval
["GET /a", "GET /short"]
--- response_headers eval
["X-Cache: MISS\n", "X-Cache: MISS\n"]
--- response_body eval
["[A1]\n", "[S1]\n"]



=== TEST 2: expired: the stale copy to all at once, one refresh in flight
--- init
main::r('SET', 't140:a', 'A2');
Time::HiRes::sleep(0.35);
main::r('CONFIG', 'RESETSTAT');
kill 'STOP', t::WapressTest::redis_pid($main::Port);
@main::R{qw(bodies status slowest)} = main::concurrent('/a');
kill 'CONT', t::WapressTest::redis_pid($main::Port);
Time::HiRes::sleep(0.1);
$main::R{gets} = main::gets();
--- request
GET /a
--- response_headers
X-Cache: HIT
--- response_body
[A2]



=== TEST 3: a refresh that finds nil: the stale copy once, then the default
--- init
main::r('DEL', 't140:a');
Time::HiRes::sleep(0.35);
--- request eval
["GET /a", "GET /a"]
--- response_headers eval
["X-Cache: UPDATING\n", "X-Cache: HIT\n"]
--- response_body eval
["[A2]\n", "[none]\n"]



=== TEST 4: Redis down: the stale copy at once, without waiting
--- init
main::r('SET', 't140:a', 'A3');
Time::HiRes::sleep(0.35);
main::r('GET', 't140:a') eq 'A3' or die;
kill 'STOP', t::WapressTest::redis_pid($main::Port);
--- request eval
["GET /a", "GET /a"]
--- response_headers eval
["X-Cache: UPDATING\n", "X-Cache: UPDATING\n"]
--- response_headers_like eval
["X-Time: 0\\.0\\d\\d\n", "X-Time: 0\\.0\\d\\d\n"]
--- response_body eval
["[none]\n", "[none]\n"]
--- timeout: 1



=== TEST 5: still down, past stale=: Redis is asked, the default after the deadline
--- init
Time::HiRes::sleep(0.45);
--- request
GET /short
--- response_headers
X-Cache: MISS
--- response_headers_like
X-Time: 0\.[34]\d\d
--- response_body
[none]
--- error_log
wapress: fragment "x" key "t140:s": timed out after 300ms, using the default
--- no_error_log
[alert]
[crit]
--- timeout: 1



=== TEST 6: Redis back: the refresh runs again, fresh pages
--- init
kill 'CONT', t::WapressTest::redis_pid($main::Port);
Time::HiRes::sleep(0.35);
t::WapressTest::http_get('/a');
Time::HiRes::sleep(0.1);
--- request
GET /a
--- response_headers
X-Cache: HIT
--- response_body
[A3]
