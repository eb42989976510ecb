# wapress_redis sentinel: a real Sentinel deployment from Debian's
# packages, started once for this file on private ports (derived from
# TEST_NGINX_REDIS_PORT, 6399 by default):
#
#   REDIS_PORT-30        the primary at start ("news")
#   REDIS_PORT-31, -32   its replicas
#   REDIS_PORT-33..-35   three Sentinels (down-after 500ms, failover 2s)
#   REDIS_PORT-36        nothing listens there (a Sentinel that refuses)
#   REDIS_PORT-37        a listener of this test that never answers
#   REDIS_PORT-38        a fake Sentinel (a child of this test): garbage, or lies
#
# (a) the example page through the Sentinels is expected.html;
# (b) read=replica: the primary sees no GET from page lookups;
# (b') read=prefer-replica: the same once the replica's connection is up;
# (c) SENTINEL FAILOVER while pages are requested, then the old primary
#     killed: the worker follows the new primary without a reload, and
#     with the stale zone no page is incomplete;
# (c') the primary killed outright: the Sentinels promote a replica, the
#     worker follows, no page incomplete (both print how long it took);
# (c'') every Sentinel gone: the last known primary is kept;
# (d) Sentinels that refuse, never answer or answer garbage: no crash, the page does not
#     wait, one error line;
# and the directive's errors at load time.

use t::WapressTest;
use IO::Socket::INET;
use File::Path qw(make_path);
use POSIX ();
use Time::HiRes qw(sleep time);

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 3 + 28);

our $Base = $ENV{TEST_NGINX_REDIS_PORT} || 6399;
our ($P0, $R1, $R2) = ($Base - 30, $Base - 31, $Base - 32);
our @Sentinels = ($Base - 33, $Base - 34, $Base - 35);
our ($Refused, $Mute) = ($Base - 36, $Base - 37);
$ENV{TEST_NGINX_SENTINELS} = join ' ', map { "127.0.0.1:$_" } @Sentinels;
$ENV{TEST_NGINX_SENTINEL_BAD} = "127.0.0.1:$Refused 127.0.0.1:$Mute "
    . "127.0.0.1:" . ($Base - 38);
$ENV{TEST_NGINX_SENTINEL_FAKE} = $Base - 38;
our $MuteSock;

sub stop_all {
    undef $MuteSock;
    stop_fake();
    t::WapressTest::stop_redis($_) for @Sentinels, $P0, $R1, $R2;
}

# a fake Sentinel in a child process on $Fake: "garbage" answers every
# read with bytes that are not RESP; "liar" names $_[1] as the primary
our ($FakePort, $FakePid) = ($Base - 38);
sub start_fake {
    my ($mode, $primary) = @_;
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                    LocalPort => $FakePort, Listen => 16,
                                    ReuseAddr => 1)
        or die "cannot listen on $FakePort: $!\n";
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        require IO::Select;
        my $sel = IO::Select->new($srv);
        for ( ;; ) {
            for my $c ($sel->can_read(1)) {
                if ($c == $srv) {
                    my $n = $srv->accept;
                    $sel->add($n) if $n;
                    next;
                }
                my $line = <$c>;
                if (!defined $line) {
                    $sel->remove($c);
                    close $c;
                    next;
                }
                if ($mode eq 'garbage') {
                    syswrite($c, "HTTP/1.1 400 Bad Request\r\n\r\n\x00\xff");
                    next;
                }
                my ($n) = $line =~ /^\*(\d+)/ or next;
                my @arg;
                for (1 .. $n) {
                    my ($len) = <$c> =~ /^\$(\d+)/;
                    read($c, my $v, $len + 2);
                    push @arg, substr($v, 0, $len);
                }
                my $cmd = uc($arg[0] // '');
                my $out = $cmd eq 'PING' ? "+PONG\r\n"
                    : $cmd eq 'SUBSCRIBE' ? "*3\r\n\$9\r\nsubscribe\r\n"
                      . "\$14\r\n+switch-master\r\n:1\r\n"
                    : ($arg[1] // '') eq 'get-master-addr-by-name'
                      ? "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($primary)
                        . "\r\n$primary\r\n"
                    : "*0\r\n";
                syswrite($c, $out);
            }
        }
        POSIX::_exit(0);
    }
    close $srv;
    $FakePid = $pid;
}

sub stop_fake {
    return unless $FakePid;
    kill 'KILL', $FakePid;
    waitpid($FakePid, 0);
    undef $FakePid;
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
    my $port = shift;
    my $dir = "$ENV{TEST_NGINX_REDIS_DIR}/private-$port";
    make_path($dir);
    open my $fh, '>', "$dir/sentinel.conf" or die "$dir: $!\n";
    print $fh <<"_EOS_";
port $port
bind 127.0.0.1
daemonize yes
pidfile $dir/redis.pid
logfile $dir/sentinel.log
dir $dir
sentinel monitor news 127.0.0.1 $P0 2
sentinel down-after-milliseconds news 500
sentinel failover-timeout news 2000
sentinel parallel-syncs news 2
_EOS_
    close $fh;
    system('redis-sentinel', "$dir/sentinel.conf") == 0
        or die "cannot start redis-sentinel on $port\n";
}

stop_all();
start_redis($P0);
start_redis($_, '--replicaof', '127.0.0.1', $P0, '--replica-read-only', 'no')
    for $R1, $R2;

{
    my $dir = "$ENV{TEST_NGINX_EXAMPLE}/redis";
    opendir my $dh, $dir or die "$dir: $!";
    for my $key (grep { !/^\./ } readdir $dh) {
        open my $fh, '<:raw', "$dir/$key" or die "$key: $!";
        local $/;
        redis_at($P0, 'SET', $key, scalar <$fh>) eq 'OK'
            or die "cannot SET $key";
    }
    redis_at($P0, 'SET', 't180:mark', 'first');
}

poll { info($P0, 'replication') =~ /connected_slaves:2/ } 10, 'replicas';
for my $r ($R1, $R2) {
    poll { (redis_at($r, 'GET', 't180:mark') // '') eq 'first'
           && info($r, 'replication') =~ /master_link_status:up/ } 10,
        "data on $r";
}

start_sentinel($_) for @Sentinels;

# a failover needs the Sentinels to know each other and the replicas
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

# the example page is complete; $main::Slowest: the largest X-Time seen
our $Slowest = 0;
sub page_ok {
    my $resp = http_get('/news/niger-junta-revokes-eu-security-agreements');
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    $Slowest = $1 if $head =~ /^X-Time: ([\d.]+)/m && $1 > $Slowest;
    return $head =~ m{^HTTP/1\.\d 200} && ($body // '') eq $main::Expected;
}

our $Expected = example_file('expected.html');
our $Config = <<'_EOC_';
    add_header X-Time $request_time always;

    location ~ ^/news/(?<slug>[a-z0-9-]+)$ {
        wapress_layout   $TEST_NGINX_EXAMPLE/layout.html;
        wapress_fragment article  article:$slug  required;
        wapress_fragment comments comments:$slug template=$TEST_NGINX_EXAMPLE/templates/comments.mustache default=0;
        wapress_fragment related  related:$slug  template=$TEST_NGINX_EXAMPLE/templates/related.mustache;
        wapress_fragment features features:home  template=$TEST_NGINX_EXAMPLE/templates/features.mustache;
        wapress_fragment history  history:today  type=text template=$TEST_NGINX_EXAMPLE/templates/history.mustache;
        wapress_fragment rates    rates:USD      template=$TEST_NGINX_EXAMPLE/templates/rates.mustache;
    }

    location = /mark {
        wapress_layout ../html/mark.html;
        wapress_fragment m t180:mark default=DEFAULT;
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

=== TEST 1: the example page through the Sentinels is expected.html
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINELS master=news;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::poll(sub { main::log_since() =~ /primary is 127\.0\.0\.1:$main::P0 / },
           5, 'primary found');
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- error_log eval
qr/\[notice\] .*wapress: redis sentinel master=news: primary is 127\.0\.0\.1:\d+ \(the Sentinels say\)/
--- no_error_log
[error]



=== TEST 2: read=replica: the primary sees no GET from page lookups
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINELS master=news read=replica;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::poll(sub { main::log_since() =~ /reads go to the replica/ }, 15,
           'replica chosen');
t::WapressTest::redis_at($_, 'CONFIG', 'RESETSTAT') for $main::P0, $main::R1, $main::R2;
my $ok = 0;
for (1 .. 20) { $ok++ if main::page_ok() }
Test::More::is($ok, 20, 'read=replica: 20 pages, all expected.html');
my $stats = main::info($main::P0, 'commandstats');
Test::More::unlike($stats, qr/cmdstat_h?get:/,
                   'read=replica: no GET or HGET on the primary');
Test::More::diag(join "\n", grep { /wapress: |wapress redis/ } split /\n/, main::log_since())
    if $stats =~ /cmdstat_h?get:/;
my $gets = 0;
for my $r ($main::R1, $main::R2) {
    my $st = main::info($r, 'commandstats');
    $gets += $1 while $st =~ /cmdstat_h?get:calls=(\d+)/g;
}
Test::More::cmp_ok($gets, '>=', 20 * 6, 'read=replica: the replicas answered the GETs');
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- error_log eval
qr/\[notice\] .*healthy replicas: 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+/
--- no_error_log
[error]



=== TEST 3: read=prefer-replica: once the replica is up, reads go there
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINELS master=news read=prefer-replica;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::poll(sub { main::log_since() =~ /reads go to the replica/ }, 15,
           'replica chosen');
# the first page starts the replica's connection and reads the primary
main::poll(sub { main::page_ok() && (t::WapressTest::redis_at($main::P0, 'CONFIG', 'RESETSTAT'), main::page_ok())
                 && main::info($main::P0, 'commandstats') !~ /cmdstat_h?get:/ }, 5,
           'reads on the replica');
my $ok = 0;
for (1 .. 10) { $ok++ if main::page_ok() }
Test::More::is($ok, 10, 'read=prefer-replica: 10 pages, all expected.html');
Test::More::unlike(main::info($main::P0, 'commandstats'), qr/cmdstat_h?get:/,
                   'read=prefer-replica: no GET on the primary once the replica is up');
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- no_error_log
[error]



=== TEST 4: a node named as the primary that is a replica is left at once
--- http_config
    wapress_redis sentinel 127.0.0.1:$TEST_NGINX_SENTINEL_FAKE master=news;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::start_fake('liar', $main::R1);
main::poll(sub { main::log_since() =~ /primary is 127\.0\.0\.1:$main::R1 / },
           5, 'the lie told');
my $t0 = Time::HiRes::time();
my $resp = t::WapressTest::http_get('/mark');
Test::More::ok(Time::HiRes::time() - $t0 < 0.5, 'a replica named: the page does not wait');
main::poll(sub { main::log_since() =~ /is not the primary/ }, 5, 'ROLE');
main::stop_fake();
--- request
GET /mark
--- response_body
[DEFAULT]
--- error_log eval
qr/\[warn\] .*wapress: redis sentinel master=news: 127\.0\.0\.1:\d+ is not the primary \(ROLE: slave\), the Sentinels are asked again/
--- no_error_log
[alert]
[crit]



=== TEST 5: SENTINEL FAILOVER under load, then the old primary killed
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINELS master=news;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
    wapress_cache zone=t180:1m valid=100ms stale=1h;
--- config eval: $::Config
--- init
main::poll(sub { main::log_since() =~ /primary is 127\.0\.0\.1:$main::P0 / },
           5, 'primary found');
my ($n, $bad) = (0, 0);
$n++, $bad += !main::page_ok() for 1 .. 5;
# each replica says who it is: the page shows which node it reads
t::WapressTest::redis_at($_, 'SET', 't180:mark', "on-$_") for $main::R1, $main::R2;
$main::Slowest = 0;
my $t0 = Time::HiRes::time();
my $r = t::WapressTest::redis_at($main::Sentinels[0], 'SENTINEL', 'FAILOVER', 'news');
die "SENTINEL FAILOVER: $r\n" unless $r eq 'OK';
my ($new, $t_page);
while (Time::HiRes::time() - $t0 < 15) {
    $n++;
    $bad++ unless main::page_ok();
    if (t::WapressTest::http_get('/mark') =~ /\[on-(\d+)\]/) {
        ($new, $t_page) = ($1, Time::HiRes::time());
        last;
    }
    Time::HiRes::sleep(0.02);
}
Test::More::ok($t_page, 'the page follows the new primary without a reload');
# the old primary goes; pages go on
t::WapressTest::stop_redis($main::P0);
my $t1 = Time::HiRes::time();
while (Time::HiRes::time() - $t1 < 1.5) {
    $n++;
    $bad++ unless main::page_ok();
    Time::HiRes::sleep(0.02);
}
t::WapressTest::redis_at($new, 'SET', 't180:mark', 'second');
main::poll(sub { t::WapressTest::http_get('/mark') =~ /\[second\]/ }, 3, 'written');
Test::More::is($bad, 0, "failover: no page incomplete of $n");
Test::More::cmp_ok($main::Slowest, '<', 0.4, 'failover: no page waits past the deadline');
Test::More::diag(sprintf "failover: pages read the new primary (%s) %.0f ms "
    . "after SENTINEL FAILOVER; %d pages, slowest %.3fs", $new // '-',
    (($t_page // Time::HiRes::time()) - $t0) * 1000, $n, $main::Slowest);
--- request
GET /mark
--- response_body
[second]
--- error_log eval
qr/\[notice\] .*primary moved from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+ \(\+switch-master\), failover followed/
--- no_error_log
[alert]
[crit]



=== TEST 6: the primary killed under load: the Sentinels promote, pages follow
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINELS master=news;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
    wapress_cache zone=t180:1m valid=100ms stale=1h;
--- config eval: $::Config
--- init
my $a = t::WapressTest::redis_at($main::Sentinels[0], 'SENTINEL',
                                 'get-master-addr-by-name', 'news');
my $old = $a->[1];
my ($left) = grep { $_ != $old } $main::R1, $main::R2;
main::poll(sub { main::log_since() =~ /primary is 127\.0\.0\.1:$old / },
           5, 'primary found');
main::poll(sub { main::info($left, 'replication') =~ /master_link_status:up/ },
           10, 'replica in sync');
my ($n, $bad) = (0, 0);
$n++, $bad += !main::page_ok() for 1 .. 5;
t::WapressTest::redis_at($left, 'SET', 't180:mark', "on-$left");
$main::Slowest = 0;
my $t0 = Time::HiRes::time();
t::WapressTest::stop_redis($old);
my $t_page;
while (Time::HiRes::time() - $t0 < 20) {
    $n++;
    $bad++ unless main::page_ok();
    if (t::WapressTest::http_get('/mark') =~ /\[on-$left\]/) {
        $t_page = Time::HiRes::time();
        last;
    }
    Time::HiRes::sleep(0.02);
}
Test::More::ok($t_page, 'killed: the page follows the promoted replica');
Test::More::is($bad, 0, "killed: no page incomplete of $n");
Test::More::cmp_ok($main::Slowest, '<', 0.4, 'killed: no page waits past the deadline');
Test::More::diag(sprintf "primary killed: pages read the promoted replica "
    . "%.0f ms later; %d pages, slowest %.3fs",
    (($t_page // Time::HiRes::time()) - $t0) * 1000, $n, $main::Slowest);
--- request
GET /mark
--- response_body_like: ^\[on-\d+\]$
--- error_log eval
qr/\[notice\] .*primary moved from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+ \(.*\), failover followed/
--- no_error_log
[alert]
[crit]



=== TEST 7: every Sentinel gone: the last known primary is kept
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINELS master=news;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::poll(sub { main::log_since() =~ /primary is 127\.0\.0\.1:\d+ / },
           5, 'primary found');
t::WapressTest::stop_redis($_) for @main::Sentinels;
main::poll(sub { main::log_since() =~ /no Sentinel answered/ }, 5,
           'Sentinels gone');
my $ok = 0;
for (1 .. 10) { $ok++ if main::page_ok() }
Test::More::is($ok, 10, 'Sentinels gone: pages from the last known primary');
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- error_log eval
qr/\[error\] .*no Sentinel answered \(3 asked, last sentinel 127\.0\.0\.1:\d+: .*\), keeping the primary 127\.0\.0\.1:\d+/
--- no_error_log
[alert]
[crit]



=== TEST 8: Sentinels that refuse, never answer or answer garbage: no wait, one error line
--- http_config
    wapress_redis sentinel $TEST_NGINX_SENTINEL_BAD master=news;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
$main::MuteSock = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
    LocalPort => $main::Mute, Listen => 16, ReuseAddr => 1) or die "listen: $!";
main::start_fake('garbage');
my $t0 = Time::HiRes::time();
my $resp = t::WapressTest::http_get('/mark');
Test::More::ok(Time::HiRes::time() - $t0 < 0.3, 'no Sentinel: the page does not wait');
Test::More::like($resp, qr/\[DEFAULT\]/, 'no Sentinel: the default');
main::poll(sub { main::log_since() =~ /no Sentinel answered/ }, 5, 'log');
# a second round, logged at info only
Time::HiRes::sleep(1.5);
my @err = main::log_since() =~ /\[error\] .*no Sentinel answered/g;
Test::More::is(scalar @err, 1, 'one error line');
--- request
GET /mark
--- response_body
[DEFAULT]
--- error_log eval
qr/\[error\] .*wapress: redis sentinel master=news: no Sentinel answered \(3 asked, last sentinel 127\.0\.0\.1:\d+: .*\), no primary known/
--- no_error_log
[alert]
[crit]



=== TEST 9: no master= is an error at load time
--- http_config
    wapress_redis sentinel 127.0.0.1:26379 read=replica sentinel_password=s3cret;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*redis sentinel requires "master=NAME" in .*nginx\.conf:\d+/
--- no_error_log
s3cret



=== TEST 10: a bad read= is an error at load time
--- http_config
    wapress_redis sentinel 127.0.0.1:26379 master=news read=replicas password=s3cret;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid redis "read=" value \(expected "primary", "replica" or "prefer-replica"\) in .*nginx\.conf:\d+/
--- no_error_log
s3cret



=== TEST 11: no Sentinel address is an error at load time
--- http_config
    wapress_redis sentinel master=news password=s3cret;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*no redis sentinel address .* in .*nginx\.conf:\d+/
--- no_error_log
s3cret



=== TEST 12: a bare word is not taken for a Sentinel's address, nor shown
--- http_config
    wapress_redis sentinel 127.0.0.1:26379 s3cret master=news;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid redis sentinel address 2 \(expected "HOST:PORT"\) in .*nginx\.conf:\d+/
--- no_error_log
s3cret
