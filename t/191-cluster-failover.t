# wapress_redis cluster: a primary lost under load.  A real Redis Cluster
# from Debian's packages (t/WapressCluster.pm), started once for this file
# on private ports derived from TEST_NGINX_REDIS_PORT (6399 by default):
#
#   REDIS_PORT-56 .. -51   3 primaries and 3 replicas (bus ports +10000),
#                          cluster-node-timeout 1000 ms
#
# The example page's six keys lie on all three primaries.  Three load
# children request the page without pause while this file kills the
# primary that holds some of its keys (SIGKILL) and the cluster promotes
# that primary's replica:
#
# (a) with the stale zone: no page incomplete, none slower than the
#     deadline; the worker follows the promoted replica without a reload
#     (a value written there after the failover shows up: how long is
#     printed);
# (b) without it: defaults and 503s only until the replica is promoted,
#     then complete pages again without a reload (how long is printed);
# (c) seeds that refuse, never answer or answer garbage: no crash, no
#     page waits past the deadline, one clear error line; with a good
#     seed after them the map is found;
# (d) read=replica, no cache: the replica the worker reads from killed
#     under load: every page complete (the reads go to the primary).

use t::WapressTest;
use t::WapressCluster;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 3 + 29);

our $Base = $ENV{TEST_NGINX_REDIS_PORT} || 6399;
our @Nodes = map { $Base - $_ } reverse 51 .. 56;
our $Slug = 'niger-junta-revokes-eu-security-agreements';
our $Page = "/news/$Slug";
our $Expected = example_file('expected.html');
our $Deadline = 0.3;
our $Margin = 0.1;

# free ports for the bad seeds: one nothing listens on, one that accepts
# and stays silent, one that answers garbage (a child of this test)
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 16, ReuseAddr => 1)
        or die "listen: $!\n";
    return $s;
}
our ($Refused, $MuteSock, $GarbageSock, $GarbagePid);
{
    my $s = free_port();
    $Refused = $s->sockport;
    close $s;
    $MuteSock = free_port();
    $GarbageSock = free_port();
}
$ENV{TEST_NGINX_CLUSTER_BAD} = join ' ', map { "127.0.0.1:$_" } $Refused,
    $MuteSock->sockport, $GarbageSock->sockport;

sub start_garbage {
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        require IO::Select;
        my $sel = IO::Select->new($GarbageSock);
        for ( ;; ) {
            for my $c ($sel->can_read(1)) {
                if ($c == $GarbageSock) {
                    my $n = $GarbageSock->accept;
                    $sel->add($n) if $n;
                    next;
                }
                if (!sysread($c, my $buf, 4096)) {
                    $sel->remove($c);
                    close $c;
                    next;
                }
                syswrite($c, "HTTP/1.1 400 Bad Request\r\n\r\n\x00\xff");
            }
        }
        POSIX::_exit(0);
    }
    $GarbagePid = $pid;
}

sub stop_all {
    if ($GarbagePid) {
        kill 'KILL', $GarbagePid;
        waitpid($GarbagePid, 0);
        undef $GarbagePid;
    }
    cluster_stop(@Nodes);
}

cluster_start(@Nodes);
add_cleanup_handler(\&stop_all);

our @Primaries = cluster_primaries($Nodes[0]);
$ENV{TEST_NGINX_CLUSTER_SEEDS} = join ' ', map { "127.0.0.1:$_" } @Primaries;

{
    my $dir = "$ENV{TEST_NGINX_EXAMPLE}/redis";
    opendir my $dh, $dir or die "$dir: $!";
    for my $key (grep { !/^\./ } readdir $dh) {
        open my $fh, '<:raw', "$dir/$key" or die "$key: $!";
        local $/;
        cluster_set($Nodes[0], $key, scalar <$fh>);
    }
    my %on = map { cluster_owner($Nodes[0], $_) => 1 }
        map { "$_:$Slug" } qw(article comments related);
    $on{ cluster_owner($Nodes[0], $_) } = 1
        for qw(features:home history:today rates:USD);
    die "the example's keys are not on all three primaries\n"
        unless keys %on == 3;
}
cluster_wait_synced(10, @Primaries);

# the error log from byte $from on
sub log_since {
    my $from = shift // 0;
    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or return '';
    seek $fh, $from, 0;
    local $/;
    return <$fh> // '';
}
sub log_size { -s $Test::Nginx::Util::ErrLogFile // 0 }

# /mark?k=KEY reads "mark{KEY}": a key in KEY's slot
sub mark {
    my $resp = http_get("/mark?k=$_[0]");
    return $resp =~ /\[([^\]]*)\]/ ? $1 : '';
}

# the page is complete (the first page may come before the slot map)
sub warm {
    cluster_poll { (page_class(http_get($Page), $Expected))[0] eq 'ok' }
        10, 'a complete page';
}

# kills the primary that holds $key under load (and starts it again
# when the load is over: it comes back as a replica); returns the load's
# results, the times of the kill and of the promotion, the promoted port
# and when /mark showed a value written on it after the promotion, the
# notices of a new slot map
sub failover {
    my ($key, $linger) = @_;
    my $old = cluster_owner($Nodes[0], $key);
    my $replica = cluster_replica_of($old, $Nodes[0]);
    die "no replica of $old\n" unless $replica;
    my @alive = grep { $_ != $old } @Nodes;
    loadgen_start(3, $Page, $Expected, 0.002);
    sleep 0.7;
    my $pos = log_size();
    my $t_kill = time;
    t::WapressTest::stop_redis($old);
    cluster_poll { t::WapressTest::redis_at($replica, 'ROLE')->[0] eq 'master' }
        15, "replica $replica promoted";
    my $t_prom = time;
    my $value = "after-$replica-" . int(rand 1e6);
    cluster_set($replica, "mark{$key}", $value);
    my $t_fresh = eval {
        cluster_poll { mark($key) eq $value && time } 10, 'fresh';
    };
    cluster_wait_ok(10, @alive);
    sleep $linger;
    my @r = loadgen_stop();
    my @map = log_since($pos) =~ /(\[notice\] [^\n]*: slot map from [^\n]*)/g;
    # the old primary comes back as a replica of the new one
    cluster_node_start($old);
    cluster_poll { cluster_replica_of($replica, $Nodes[0]) } 15,
        'the old primary is a replica again';
    cluster_wait_synced(10, $replica);
    return (\@r, $t_kill, $t_prom, $replica, $t_fresh, $old, \@map);
}

# the counts of each class, the slowest X-Time and client time
sub tally {
    my %n = (ok => 0, default => 0, 503 => 0, error => 0);
    my ($xt, $dt) = (0, 0);
    for (@_) {
        $n{ $_->[2] }++;
        $xt = $_->[3] if $_->[3] > $xt;
        $dt = $_->[1] if $_->[1] > $dt;
    }
    return (\%n, $xt, $dt);
}

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
        wapress_fragment m "mark{$arg_k}" default=DEFAULT;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->user_files) {
        $block->set_value('user_files', ">>> mark.html\n"
                          . "[<!--# wapress fragment=\"m\" -->]\n");
    }
});

no_shuffle();
no_long_string();
run_tests();

__DATA__

=== TEST 1: the example page from keys on three primaries is expected.html
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_SEEDS;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::warm();
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: stale zone: a primary killed under load, no page incomplete
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_SEEDS;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
    wapress_cache zone=t191:1m valid=100ms stale=1h;
--- config eval: $::Config
--- init
main::warm();
my $key = "article:$main::Slug";
my ($r, $t_kill, $t_prom, $new, $t_fresh, $old, $map)
    = main::failover($key, 1.5);
Test::More::ok(@$map >= 1 && @$map <= 3, 'the new map: a notice, no flood')
    or Test::More::diag(join "\n", 'map notices:', @$map);
my ($n, $xt, $dt) = main::tally(@$r);
my $all = @$r;
Test::More::ok($t_fresh, 'stale zone: a value written on the promoted replica is served');
Test::More::is($all - $n->{ok}, 0, "stale zone: no page incomplete of $all "
    . "(default $n->{default}, 503 $n->{503}, error $n->{error})");
Test::More::cmp_ok($xt, '<', $main::Deadline + $main::Margin,
                   'stale zone: no page waits past the deadline');
Test::More::diag(sprintf "cluster failover, stale zone: %d pages, %d "
    . "complete; replica %d promoted %.0f ms after the kill of %d; a value "
    . "written on it served %.0f ms after the kill (%.0f ms after the "
    . "promotion); slowest X-Time %.3fs, client %.3fs; %d map notice(s)",
    $all, $n->{ok}, $new, ($t_prom - $t_kill) * 1000, $old,
    (($t_fresh // time) - $t_kill) * 1000,
    (($t_fresh // time) - $t_prom) * 1000, $xt, $dt, scalar @$map);
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- error_log eval
qr/\[warn\] .*wapress: .*using (?:a stale copy|stale copies)/
--- no_error_log
[alert]
[crit]



=== TEST 3: without the cache: defaults only until the replica is promoted
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_SEEDS;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
--- config eval: $::Config
--- init
main::warm();
my $key = "comments:$main::Slug";
my ($r, $t_kill, $t_prom, $new, $t_fresh, $old, $map)
    = main::failover($key, 1.5);
Test::More::ok(@$map >= 1 && @$map <= 3, 'the new map: a notice, no flood')
    or Test::More::diag(join "\n", 'map notices:', @$map);
my ($n, $xt, $dt) = main::tally(@$r);
my $all = @$r;
my @bad = grep { $_->[2] ne 'ok' } @$r;
my @e503 = grep { $_->[2] eq '503' } @$r;
my $t_ok = @bad ? $bad[-1][0] + $bad[-1][1] : $t_kill;
my @after = grep { $_->[0] > $t_ok } @$r;
Test::More::cmp_ok(scalar @bad, '>', 0,
                   'no cache: the kill shows in pages (defaults or 503)');
Test::More::is($n->{error}, 0, 'no cache: every request answered');
Test::More::ok($t_fresh, 'no cache: a value written on the promoted replica is served');
Test::More::cmp_ok($t_ok - $t_prom, '<', 3,
                   'no cache: complete pages again soon after the promotion');
Test::More::cmp_ok(scalar @after, '>', 10, 'no cache: and they stay complete');
Test::More::cmp_ok($xt, '<', $main::Deadline + $main::Margin,
                   'no cache: no page waits past the deadline');
Test::More::diag(sprintf "cluster failover, no cache: %d pages: %d "
    . "complete, %d with a default, %d 503; not complete from %.0f ms to "
    . "%.0f ms after the kill; replica %d promoted at %.0f ms; a new value "
    . "served at %.0f ms; slowest X-Time %.3fs, client %.3fs; %d map "
    . "notice(s); 503s (CLUSTERDOWN everywhere) from %.0f to %.0f ms",
    $all, $n->{ok},
    $n->{default}, $n->{503}, @bad ? ($bad[0][0] - $t_kill) * 1000 : 0,
    ($t_ok - $t_kill) * 1000, $new, ($t_prom - $t_kill) * 1000,
    (($t_fresh // time) - $t_kill) * 1000, $xt, $dt, scalar @$map,
    @e503 ? (($e503[0][0] - $t_kill) * 1000, ($e503[-1][0] - $t_kill) * 1000)
          : (0, 0));
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- error_log eval
qr/\[(?:error|warn)\] .*wapress: .*comments:niger-junta-revokes-eu-security-agreements/
--- no_error_log
[alert]
[crit]



=== TEST 4: bad seeds (refused, silent, garbage): no wait, one error line
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_BAD;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
--- config eval: $::Config
--- init
main::start_garbage();
# nginx listens (under valgrind, not at once)
t::WapressCluster::cluster_poll(sub { t::WapressTest::http_get('/mark?k=x') },
                                10, 'nginx');
my $slowest = 0;
for (1 .. 5) {
    my $t0 = Time::HiRes::time();
    my $resp = t::WapressTest::http_get('/mark?k=x');
    my $t = Time::HiRes::time() - $t0;
    $slowest = $t if $t > $slowest;
    Test::More::like($resp, qr/\[DEFAULT\]/, 'bad seeds: the default')
        if $_ == 1;
}
Test::More::cmp_ok($slowest, '<', $main::Deadline + $main::Margin,
                   'bad seeds: no page waits past the deadline');
t::WapressCluster::cluster_poll(sub {
    main::log_since() =~ /\[error\] .*no node answered CLUSTER SLOTS/ }, 5,
    'log');
# the map is asked for again: no more error lines
Time::HiRes::sleep(1.5);
my @err = main::log_since() =~ /(\[error\] .*wapress: redis cluster [^\n]*)/g;
Test::More::is(scalar @err, 1, 'bad seeds: one error line for any number '
               . 'of rounds') or Test::More::diag(join "\n", @err);
--- request
GET /mark?k=x
--- response_body
[DEFAULT]
--- error_log eval
qr/\[error\] .*wapress: redis cluster 127\.0\.0\.1:\d+: no node answered CLUSTER SLOTS \(3 asked, last .*\), no map yet/
--- no_error_log
[alert]
[crit]



=== TEST 5: bad seeds before a good one: the map is found
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_BAD $TEST_NGINX_CLUSTER_SEEDS;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
--- config eval: $::Config
--- init
main::warm();
my $ok = 0;
my $t0 = Time::HiRes::time();
for (1 .. 10) {
    $ok++ if (t::WapressCluster::page_class(
        t::WapressTest::http_get($main::Page), $main::Expected))[0] eq 'ok';
}
Test::More::is($ok, 10, 'bad seeds first: 10 complete pages');
Test::More::cmp_ok((Time::HiRes::time() - $t0) / 10, '<', $main::Deadline,
                   'bad seeds first: pages do not wait');
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- no_error_log
[alert]
[crit]



=== TEST 6: read=replica, the replica killed under load, no cache: every page complete
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_SEEDS read=replica;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
--- config eval: $::Config
--- init
main::warm();
my $primary = t::WapressCluster::cluster_owner($main::Nodes[0],
                                               "article:$main::Slug");
my $replica = t::WapressCluster::cluster_replica_of($primary,
                                                    $main::Nodes[0]);
t::WapressTest::redis_at($replica, 'CONFIG', 'RESETSTAT');
t::WapressCluster::loadgen_start(3, $main::Page, $main::Expected, 0.002);
Time::HiRes::sleep(1);
Test::More::like(t::WapressTest::redis_at($replica, 'INFO', 'commandstats'),
                 qr/cmdstat_get:calls=[1-9]/, 'read=replica: the replica reads');
my $t_kill = Time::HiRes::time();
t::WapressTest::stop_redis($replica);
Time::HiRes::sleep(2);
my @r = t::WapressCluster::loadgen_stop();
t::WapressCluster::cluster_node_start($replica);
t::WapressCluster::cluster_poll(sub {
    t::WapressCluster::cluster_replica_of($primary, $main::Nodes[0]) }, 15,
    'the replica back');
t::WapressCluster::cluster_wait_synced(10, $primary);
my ($n, $xt, $dt) = main::tally(@r);
my @after = grep { $_->[0] > $t_kill } @r;
my @bad = grep { $_->[2] ne 'ok' } @after;
Test::More::is(scalar @bad, 0, 'read=replica, the replica killed: no page '
               . 'incomplete of ' . scalar(@after) . " (default $n->{default},"
               . " 503 $n->{503}, error $n->{error})");
Test::More::cmp_ok($xt, '<', $main::Deadline + $main::Margin,
                   'read=replica, the replica killed: no page waits');
Test::More::diag(sprintf "cluster replica killed, read=replica: %d pages "
    . "after the kill, %d complete; slowest X-Time %.3fs, client %.3fs",
    scalar @after, @after - @bad, $xt, $dt);
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- no_error_log
[alert]
[crit]
