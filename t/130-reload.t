# Reloads (SIGHUP to the master) while clients keep asking: no request is
# dropped; the cache zone (same name and size) is kept, so new workers
# serve what old ones stored even with Redis down; and an edited template
# is not served with renderings of the old one.

use t::WapressTest;

$t::WapressTest::LayoutOnly = 'its checks read $wapress_cache_status in response headers, sent before the lookups in filter mode';
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

repeat_each(1);
master_on();
workers(2);

plan tests => repeat_each() * (blocks() * 4 + 22);

our $Port = $ENV{TEST_NGINX_REDIS_RELOAD_PORT}
    ||= ($ENV{TEST_NGINX_REDIS_PORT} || 6399) - 12;           # 6387
our ($Total, $Failed, $Sample);


stop_redis($Port);
start_redis($Port);
add_cleanup_handler(sub { stop_redis($Port) });

sub seed {
    t::WapressTest::redis_at($Port, 'SET', 't130:j', '{"v":"one"}');
    t::WapressTest::redis_at($Port, 'SET', 't130:h', 'H1');
}

seed();

sub master_pid {
    open my $fh, '<', "$Test::Nginx::Util::ServRoot/logs/nginx.pid"
        or die "no pid file: $!";
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

sub workers_of {
    my $master = shift;
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        push @pids, $1 if $line =~ /^(\d+) \(.*\) \S+ (\d+) / && $2 == $master;
    }
    return @pids;
}

# HUP, then wait until none of the old workers is left
sub reload {
    my $master = master_pid();
    my %old = map { $_ => 1 } workers_of($master);
    kill 'HUP', $master;
    my $until = time + 5;
    while (time < $until) {
        my @now = workers_of($master);
        return if @now == 2 && !grep { $old{$_} } @now;
        sleep 0.02;
    }
    die "the workers were not replaced\n";
}


# $clients processes each asking for $secs seconds while the master is
# sent $hups HUPs; every answer must be a 200 with the expected page
sub load_with_reloads {
    my ($clients, $secs, $hups, $want) = @_;
    my $dir = "$Test::Nginx::Util::ServRoot/logs";
    my @kids;
    for my $c (1 .. $clients) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            my ($n, $bad, $sample) = (0, 0, '');
            my $until = time + $secs;
            while (time < $until) {
                my $r = http_get('/t');
                $n++;
                if ($r !~ m{^HTTP/1\.\d 200 .*\r\n\r\n\Q$want\E\z}s) {
                    $bad++;
                    $sample ||= substr($r, 0, 80);
                }
            }
            open my $fh, '>', "$dir/load-$c" or POSIX::_exit(1);
            print $fh "$n $bad $sample";
            close $fh;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    for (1 .. $hups) {
        sleep $secs / ($hups + 1);
        kill 'HUP', master_pid();
    }
    waitpid($_, 0) for @kids;
    ($Total, $Failed, $Sample) = (0, 0, '');
    for my $c (1 .. $clients) {
        open my $fh, '<', "$dir/load-$c" or die "client $c: no result\n";
        my ($n, $bad, $sample) = split / /, <$fh>, 3;
        $Total += $n;
        $Failed += $bad;
        $Sample ||= $sample // '';
    }
}

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    return if $dry_run || $block->name !~ /drops no request/;
    ok($Total > 100, "requests during the reloads: $Total");
    is($Failed, 0, "failed requests" . ($Sample ? " (e.g. \"$Sample\")" : ''));
});

our $HttpConfig = <<'_EOC_';
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_RELOAD_PORT;
    wapress_redis_timeout 300ms;
    wapress_cache zone=t130:1m valid=1h;
_EOC_

our $Config = <<'_EOC_';
    add_header X-Cache $wapress_cache_status always;

    location = /t {
        wapress_layout ../html/layout.html;
        wapress_fragment x t130:j template=../html/a.mustache default=0;
    }

    location = /h {
        wapress_layout ../html/layout.html;
        wapress_fragment x t130:h default=none;
    }
_EOC_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: stored by the first workers
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> layout.html
[<!--# wapress fragment="x" -->]
>>> a.mustache
A:{{v}}
--- request eval
["GET /t", "GET /h"]
--- response_headers eval
["X-Cache: MISS\n", "X-Cache: MISS\n"]
--- response_body eval
["[A:one\n]\n", "[H1]\n"]



=== TEST 2: three reloads while four clients ask: drops no request
--- init
main::load_with_reloads(4, 1.5, 3, "[A:one\n]\n");
main::reload();
--- request
GET /t
--- response_headers
X-Cache: HIT
--- response_body
[A:one
]



=== TEST 3: Redis down, new workers: what the old ones stored is served
--- init
main::reload();
t::WapressTest::stop_redis($main::Port);
--- request
GET /h
--- response_headers
X-Cache: HIT
--- response_body
[H1]



=== TEST 4: an edited template: not served with the old renderings
--- init
t::WapressTest::start_redis($main::Port);
main::seed();
open my $fh, '>', "$Test::Nginx::Util::ServRoot/html/a.mustache" or die;
print $fh "B:{{v}}\n";
close $fh;
main::reload();
--- request eval
["GET /t", "GET /t"]
--- response_headers eval
["X-Cache: MISS\n", "X-Cache: HIT\n"]
--- response_body eval
["[B:one\n]\n", "[B:one\n]\n"]
