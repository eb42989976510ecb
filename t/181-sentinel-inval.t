# wapress_redis sentinel with wapress_cache ... invalidate=on, and
# sentinel_password=: a Sentinel deployment of its own (like t/180's), on
# private ports derived from TEST_NGINX_REDIS_PORT (6399 by default):
#
#   REDIS_PORT-80        the primary at start ("news")
#   REDIS_PORT-81, -82   its replicas
#   REDIS_PORT-83..-85   three Sentinels (down-after 1.5s, failover 4s: a
#                        new primary must not look down to them while its
#                        replicas resync on a loaded machine)
#   REDIS_PORT-86        a Sentinel with requirepass, that monitors the
#                        same primary as "newsauth" (and never fails over)
#
# (a) sentinel_password=: the module authenticates to a Sentinel that
#     requires it; a wrong one, or none, is one clear error line, the
#     secret never logged;
# (b) invalidate=on through the Sentinels: a write reaches the page at once;
# (c) SENTINEL FAILOVER (the old primary demoted, alive): the subscription
#     moves to the new primary; a write there reaches the page within the
#     short fallback freshness, and at once when subscribed again;
# (d) the primary paused (SIGSTOP: its connections stay open, it hears of
#     no write): the Sentinels promote a replica, and a write on it must
#     not wait for valid=1h: the subscription left on the paused node is
#     dropped at +switch-master, the zone falls back to 1 s until it is
#     made again on the new primary.

use t::WapressTest;
use File::Path qw(make_path);
use Time::HiRes qw(sleep time);

repeat_each(1);
master_on();
workers(1);

plan 'no_plan';

our $Base = $ENV{TEST_NGINX_REDIS_PORT} || 6399;
our ($P0, $R1, $R2) = ($Base - 80, $Base - 81, $Base - 82);
our @Sentinels = ($Base - 83, $Base - 84, $Base - 85);
our $AuthSentinel = $Base - 86;
$ENV{TEST_NGINX_SENTINELS} = join ' ', map { "127.0.0.1:$_" } @Sentinels;
$ENV{TEST_NGINX_SENTINEL_AUTH} = "127.0.0.1:$AuthSentinel";

sub stop_all {
    t::WapressTest::stop_redis($_)
        for $AuthSentinel, @Sentinels, $P0, $R1, $R2;
}

sub poll (&$$) {
    my ($cond, $secs, $what) = @_;
    my $until = time + $secs;
    while (time < $until) {
        my $v = eval { $cond->() };
        return $v if $v;
        sleep 0.05;
    }
    die "$what: not after ${secs}s\n";
}

sub info { t::WapressTest::redis_at($_[0], 'INFO', $_[1]) }

sub start_sentinel {
    my ($port, $extra) = @_;
    my $dir = "$ENV{TEST_NGINX_REDIS_DIR}/private-$port";
    make_path($dir);
    open my $fh, '>', "$dir/sentinel.conf" or die "$dir: $!\n";
    print $fh $extra // <<"_EOS_";
sentinel monitor news 127.0.0.1 $P0 2
sentinel down-after-milliseconds news 1500
sentinel failover-timeout news 4000
sentinel parallel-syncs news 2
_EOS_
    print $fh <<"_EOS_";
port $port
bind 127.0.0.1
daemonize yes
pidfile $dir/redis.pid
logfile $dir/sentinel.log
dir $dir
_EOS_
    close $fh;
    system('redis-sentinel', "$dir/sentinel.conf") == 0
        or die "cannot start redis-sentinel on $port\n";
    poll { t::WapressTest::redis_pid($port) } 5, "sentinel $port";
}

stop_all();
start_redis($P0);
start_redis($_, '--replicaof', '127.0.0.1', $P0) for $R1, $R2;
redis_at($P0, 'SET', 't181:mark', 'first');

poll { info($P0, 'replication') =~ /connected_slaves:2/ } 10, 'replicas';
for my $r ($R1, $R2) {
    poll { (redis_at($r, 'GET', 't181:mark') // '') eq 'first'
           && info($r, 'replication') =~ /master_link_status:up/ } 10,
        "data on $r";
}

start_sentinel($_) for @Sentinels;
start_sentinel($AuthSentinel, <<"_EOS_");
requirepass t0psecret
sentinel monitor newsauth 127.0.0.1 $P0 1
sentinel down-after-milliseconds newsauth 600000
sentinel failover-timeout newsauth 600000
_EOS_

for my $s (@Sentinels) {
    poll { @{ redis_at($s, 'SENTINEL', 'sentinels', 'news') } == 2
           && @{ redis_at($s, 'SENTINEL', 'replicas', 'news') } == 2 }
        20, "sentinel $s";
}

add_cleanup_handler(\&stop_all);

# the error log from $from on
sub log_since {
    my $from = shift // 0;
    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or return '';
    local $/;
    my $all = <$fh> // '';
    return substr($all, $from);
}

sub mark { t::WapressTest::http_get('/mark') =~ /\[([^\]]*)\]/ ? $1 : '' }

# the primary the Sentinels name now
sub primary {
    my $a = t::WapressTest::redis_at($Sentinels[0], 'SENTINEL',
                                     'get-master-addr-by-name', 'news');
    return $a->[1];
}

# how many times worker 0 subscribed to the invalidations
sub subscribed { scalar(() = log_since() =~ /following invalidations of/g) }

# $port's invalidation subscriber count (INFO clients: tracking_clients)
sub tracking { info($_[0], 'clients') =~ /tracking_clients:(\d+)/ ? $1 : -1 }

# SET on $port; the seconds until the page shows it ($limit at most)
sub shown_after {
    my ($port, $value, $limit) = @_;
    my $r = t::WapressTest::redis_at($port, 'SET', 't181:mark', $value);
    if ($r ne 'OK') {
        # the Sentinels failed over once more (a loaded machine: the new
        # primary missed down-after): the write goes where they say now
        my $now = primary();
        Test::More::diag("SET on $port: $r; the primary is now $now");
        $r = t::WapressTest::redis_at($now, 'SET', 't181:mark', $value);
        die "SET on $now: $r\n" unless $r eq 'OK';
    }
    my $t0 = time;
    while (time - $t0 < $limit) {
        return time - $t0 if mark() eq $value;
        sleep 0.02;
    }
    return undef;
}

our $Config = <<'_EOC_';
    location = /mark {
        wapress_layout ../html/mark.html;
        wapress_fragment m t181:mark default=DEFAULT;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->user_files && !defined $block->must_die) {
        $block->set_value('user_files', ">>> mark.html\n"
                          . "[<!--# wapress fragment=\"m\" -->]\n");
    }
});

no_shuffle();
no_long_string();
run_tests();

__DATA__

=== TEST 1: sentinel_password=: the module authenticates to a Sentinel with requirepass
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINEL_AUTH master=newsauth sentinel_password=t0psecret;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
Test::More::like(t::WapressTest::redis_at($main::AuthSentinel, 'SENTINEL',
                     'get-master-addr-by-name', 'newsauth'), qr/^ERR:NOAUTH/,
                 'the Sentinel refuses a client without the password');
main::poll(sub { main::log_since() =~ /primary is 127\.0\.0\.1:$main::P0 / },
           5, 'primary found');
--- request
GET /mark
--- response_body
[first]
--- error_log eval
qr/\[notice\] .*wapress: redis sentinel master=newsauth: primary is 127\.0\.0\.1:\d+ \(the Sentinels say\)/
--- no_error_log
[error]
t0psecret



=== TEST 2: a wrong sentinel_password: one clear error line, the secret not logged
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINEL_AUTH master=newsauth sentinel_password=wr0ngpass;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- log_level: notice
--- init
main::poll(sub { main::log_since() =~ /no Sentinel answered/ }, 5, 'log');
# two more rounds (one a second): logged at info only
Time::HiRes::sleep(2.2);
my @err = main::log_since() =~ /^.*\[error\].*$/mg;
Test::More::is(scalar @err, 1, 'a wrong sentinel_password: one error line')
    or Test::More::diag(join "\n", @err);
Test::More::unlike(main::log_since(), qr/wr0ngpass/, 'the password is not logged');
--- request
GET /mark
--- response_body
[DEFAULT]
--- error_log eval
qr/\[error\] .*wapress: redis sentinel master=newsauth: no Sentinel answered \(1 asked, last sentinel 127\.0\.0\.1:\d+: .*(WRONGPASS|invalid password).*\), no primary known/
--- no_error_log
[alert]
[crit]
wr0ngpass



=== TEST 3: no sentinel_password for a Sentinel that requires one: one clear error line
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINEL_AUTH master=newsauth password=notforsentinels;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- log_level: notice
--- init
main::poll(sub { main::log_since() =~ /no Sentinel answered/ }, 5, 'log');
Time::HiRes::sleep(2.2);
my @err = main::log_since() =~ /^.*\[error\].*$/mg;
Test::More::is(scalar @err, 1, 'no sentinel_password: one error line')
    or Test::More::diag(join "\n", @err);
t::WapressTest::stop_redis($main::AuthSentinel);
--- request
GET /mark
--- response_body
[DEFAULT]
--- error_log eval
qr/\[error\] .*wapress: redis sentinel master=newsauth: no Sentinel answered \(1 asked, last sentinel 127\.0\.0\.1:\d+: .*NOAUTH.*\), no primary known/
--- no_error_log
[alert]
[crit]
notforsentinels



=== TEST 4: invalidate=on through the Sentinels: a write reaches the page at once
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINELS master=news;
    wapress_redis_timeout 300ms;
    wapress_cache zone=t181:1m valid=1h stale=1h invalidate=on;
--- config eval: $::Config
--- init
main::poll(sub { main::subscribed() >= 1 }, 5, 'subscribed');
Test::More::is(main::mark(), 'first', 'the value, cached for an hour');
Test::More::is(main::tracking($main::P0), 1, 'the subscriber is on the primary');
my $t = main::shown_after($main::P0, 'second', 3);
Test::More::ok(defined $t && $t < 0.5, 'a write on the primary: at once')
    or Test::More::diag("shown after " . ($t // 'never'));
--- request
GET /mark
--- response_body
[second]
--- error_log eval
qr/\[notice\] .*wapress: redis sentinel master=news: following invalidations of 1 key prefixes/
--- no_error_log
[error]



=== TEST 5: SENTINEL FAILOVER: the subscription follows the new primary
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINELS master=news;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
    wapress_cache zone=t181:1m valid=1h stale=1h invalidate=on;
--- config eval: $::Config
--- init
my $old = main::primary();
main::poll(sub { main::subscribed() >= 1 }, 5, 'subscribed');
Test::More::is(main::mark(), 'second', 'cached');
my $t0 = Time::HiRes::time();
my $r = t::WapressTest::redis_at($main::Sentinels[0], 'SENTINEL', 'FAILOVER', 'news');
die "SENTINEL FAILOVER: $r\n" unless $r eq 'OK';
main::poll(sub { main::log_since() =~ /failover followed/ }, 15, 'followed');
my $new = main::primary();
my $t_follow = Time::HiRes::time() - $t0;
my $t = main::shown_after($new, 'third', 3);
Test::More::ok(defined $t && $t < 1.5,
               'a write on the new primary: within the fallback freshness')
    or Test::More::diag("shown after " . ($t // 'never'));
eval { main::poll(sub { main::subscribed() >= 2 }, 5, 'subscribed again') };
my $t_sub = Time::HiRes::time() - $t0;
Test::More::is(main::tracking($new), 1, 'the subscriber is on the new primary');
Test::More::is(main::tracking($old), 0, 'and no longer on the old one');
# entries asked before it subscribed again: 1 s at most
Time::HiRes::sleep(1.1);
main::mark();
my $t2 = main::shown_after($new, 'fourth', 3);
Test::More::ok(defined $t2 && $t2 < 0.5, 'subscribed again: a write, at once')
    or Test::More::diag("shown after " . ($t2 // 'never'));
Test::More::diag(sprintf "SENTINEL FAILOVER: followed after %.0f ms, "
    . "subscribed on the new primary after %.0f ms; a write there shown "
    . "after %.0f ms, then %.0f ms", $t_follow * 1000, $t_sub * 1000,
    ($t // 9) * 1000, ($t2 // 9) * 1000);
--- request
GET /mark
--- response_body
[fourth]
--- error_log eval
qr/\[notice\] .*primary moved from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+ \(\+switch-master\), failover followed/
--- no_error_log
[alert]
[crit]



=== TEST 6: the primary paused: after the failover a write is not hidden for valid=1h
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINELS master=news;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
    wapress_cache zone=t181:1m valid=1h stale=1h invalidate=on;
--- config eval: $::Config
--- init
my $old = main::primary();
main::poll(sub { main::subscribed() >= 1 }, 5, 'subscribed');
main::poll(sub { main::tracking($old) == 1 }, 5, 'on the primary');
my ($left) = grep { $_ != $old } $main::P0, $main::R1, $main::R2;
for my $r (grep { $_ != $old } $main::P0, $main::R1, $main::R2) {
    eval { main::poll(sub { main::info($r, 'replication')
                            =~ /master_port:$old\r?\n.*master_link_status:up/s },
                      20, "replica $r in sync") }
        or die $@ . main::info($r, 'replication');
}
Test::More::is(main::mark(), 'fourth', 'cached');
my $pid = t::WapressTest::redis_pid($old);
my $t0 = Time::HiRes::time();
kill 'STOP', $pid;
my $ok = eval {
    main::poll(sub { main::log_since() =~ /failover followed/ }, 20, 'followed');
    1;
};
my $new = main::primary();
my $t_follow = Time::HiRes::time() - $t0;
my $t = $ok ? main::shown_after($new, 'fifth', 3) : undef;
Test::More::ok(defined $t && $t < 1.5,
               'the old primary paused: a write on the new one within the fallback freshness')
    or Test::More::diag("shown after " . ($t // 'never'));
eval { main::poll(sub { main::subscribed() >= 2 }, 5, 'subscribed again') };
my $t_sub = Time::HiRes::time() - $t0;
Test::More::is(main::tracking($new), 1, 'the subscriber is on the new primary');
Time::HiRes::sleep(1.1);
main::mark();
my $t2 = main::shown_after($new, 'sixth', 3);
Test::More::ok(defined $t2 && $t2 < 0.5, 'subscribed again: a write, at once')
    or Test::More::diag("shown after " . ($t2 // 'never'));
kill 'CONT', $pid;
Test::More::diag(sprintf "primary paused: followed after %.0f ms, "
    . "subscribed on the new primary after %.0f ms; a write there shown "
    . "after %.0f ms, then %.0f ms", $t_follow * 1000, $t_sub * 1000,
    ($t // 9) * 1000, ($t2 // 9) * 1000);
--- request
GET /mark
--- response_body
[sixth]
--- error_log eval
qr/\[notice\] .*primary moved from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+ \(\+switch-master\), failover followed/
--- no_error_log
[alert]
[crit]
