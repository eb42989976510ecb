# wapress_redis cluster: a real Redis Cluster from Debian's redis-server,
# 3 primaries and 3 replicas, created once for this file on private ports
# (derived from TEST_NGINX_REDIS_PORT, 6399 by default):
#
#   REDIS_PORT-50 .. -45   the six nodes (cluster bus: +10000)
#   REDIS_PORT-44          nothing listens there (a dead seed)
#   REDIS_PORT-43          a listener that never answers (a mute seed)
#   REDIS_PORT-42          a fake node (a child of this test): garbage
#
# (a) the example page, its keys on all three primaries, is expected.html;
# (b) the same page from hash-tagged keys (one shard) is expected.html;
# (c) read=replica: the primaries see no GET from page lookups;
# (d) a dead seed among the seeds: the map comes from another one;
# (e) a slot migrated by hand: ASK while it migrates, MOVED after, the
#     page right both times;
# (f) read=prefer-replica once the replicas' connections are up;
# (g) a seed that answers garbage, or a map that is not one, or never
#     answers: no crash, the page does not wait past its deadline, one
#     error line;
# (h) a read refused by a replica goes to the primary; wapress_status
#     counts the nodes' connections under the cluster's name;
# and the directive's errors at load time.
#
# The cluster's start and stop are the subs cluster_start() and
# cluster_stop(), written to be moved into t::WapressTest.

use t::WapressTest;
use IO::Socket::INET;
use File::Path qw(make_path);
use POSIX ();
use Time::HiRes qw(sleep time);

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 2 + 41);

our $Base = $ENV{TEST_NGINX_REDIS_PORT} || 6399;
our @Nodes = map { $Base - 50 + $_ } 0 .. 5;
our $Dead = $Base - 44;
our ($MutePort, $FakePort) = ($Base - 43, $Base - 42);
$ENV{TEST_NGINX_CLUSTER_MUTE} = "127.0.0.1:$MutePort";
$ENV{TEST_NGINX_CLUSTER_FAKE} = "127.0.0.1:$FakePort";
our ($MuteSock, $FakePid);

# a listener that accepts (the kernel does) and never answers
sub start_mute {
    $MuteSock = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $MutePort, Listen => 16,
                                      ReuseAddr => 1)
        or die "cannot listen on $MutePort: $!\n";
}

# a fake node in a child process: "garbage" answers every command with
# bytes that are not RESP; "status" answers +OK to everything (a valid
# reply that is not a map)
sub start_fake {
    my $mode = shift;
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
                my $n = sysread($c, my $buf, 65536);
                if (!$n) {
                    $sel->remove($c);
                    close $c;
                    next;
                }
                my $cmds = () = $buf =~ /^\*\d+\r\n/mg;
                syswrite($c, $mode eq 'garbage'
                             ? "HTTP/1.1 400 Bad Request\r\n\r\n\x00\xff"
                             : "+OK\r\n" x ($cmds || 1));
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
$ENV{TEST_NGINX_CLUSTER} = join ' ', map { "127.0.0.1:$_" } @Nodes[0 .. 2];
$ENV{TEST_NGINX_CLUSTER_DEAD} = "127.0.0.1:$Dead 127.0.0.1:$Nodes[1]";

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

# Starts a cluster of redis-server on @ports (cluster-node-timeout 1s, no
# persistence, its nodes.conf in each node's private directory), made by
# redis-cli --cluster create with $replicas replicas per primary, and
# waits until every node says cluster_state:ok and knows every other.
sub cluster_start {
    my ($replicas, @ports) = @_;
    for my $p (@ports) {
        my $dir = "$ENV{TEST_NGINX_REDIS_DIR}/private-$p";
        make_path($dir);
        unlink "$dir/nodes.conf", "$dir/dump.rdb";
        t::WapressTest::start_redis($p, '--cluster-enabled', 'yes',
                                    '--cluster-node-timeout', '1000',
                                    '--cluster-config-file',
                                    "$dir/nodes.conf");
    }
    my $out = `redis-cli --cluster create @{[map { "127.0.0.1:$_" } @ports]} --cluster-replicas $replicas --cluster-yes 2>&1`;
    $? == 0 or die "redis-cli --cluster create failed: $out\n";
    for my $p (@ports) {
        poll { cluster_info($p) =~ /cluster_state:ok/
               && cluster_info($p) =~ /cluster_known_nodes:@{[scalar @ports]}/ }
            30, "cluster_state:ok on $p";
    }
    # every primary has its replicas, every replica its link up
    my $primaries = @ports / ($replicas + 1);
    poll { my ($m, $s) = (0, 0);
           for my $p (@ports) {
               my $r = t::WapressTest::redis_at($p, 'INFO', 'replication');
               $m++ if $r =~ /role:master/
                       && $r =~ /connected_slaves:$replicas\b/;
               $s++ if $r =~ /role:slave/
                       && $r =~ /master_link_status:up/;
           }
           $m == $primaries && $s == @ports - $primaries }
        30, 'replication';
    # and every node knows every replica (gossip), for CLUSTER SLOTS
    for my $p (@ports) {
        poll { my $slots = t::WapressTest::redis_at($p, 'CLUSTER', 'SLOTS');
               @$slots == $primaries
               && !grep { @$_ != 3 + $replicas } @$slots }
            30, "CLUSTER SLOTS on $p";
    }
}

sub cluster_stop {
    t::WapressTest::stop_redis($_) for @_;
}

sub cluster_info { t::WapressTest::redis_at($_[0], 'CLUSTER', 'INFO') }

# the port of the primary serving $slot now
sub slot_owner {
    my $slot = shift;
    for my $r (@{ t::WapressTest::redis_at($Nodes[0], 'CLUSTER', 'SLOTS') }) {
        return $r->[2][1] if $slot >= $r->[0] && $slot <= $r->[1];
    }
    die "slot $slot: no owner\n";
}

sub primaries {
    my %p = map { $_->[2][1] => 1 }
            @{ t::WapressTest::redis_at($Nodes[0], 'CLUSTER', 'SLOTS') };
    return sort keys %p;
}

sub keyslot { t::WapressTest::redis_at($Nodes[0], 'CLUSTER', 'KEYSLOT', $_[0]) }

# SET on the node that owns the key, following MOVED
sub cluster_set {
    my ($key, $value) = @_;
    my $port = slot_owner(keyslot($key));
    my $r = t::WapressTest::redis_at($port, 'SET', $key, $value);
    $r eq 'OK' or die "SET $key on $port: $r\n";
}

sub node_id { t::WapressTest::redis_at($_[0], 'CLUSTER', 'MYID') }

sub info { t::WapressTest::redis_at($_[0], 'INFO', $_[1]) }

cluster_stop(@Nodes, $Dead);
cluster_start(1, @Nodes);
start_mute();
add_cleanup_handler(sub { undef $MuteSock; stop_fake();
                          cluster_stop(@Nodes) });

our $Slug = 'niger-junta-revokes-eu-security-agreements';
our %Value;
{
    my $dir = "$ENV{TEST_NGINX_EXAMPLE}/redis";
    opendir my $dh, $dir or die "$dir: $!";
    for my $key (grep { !/^\./ } readdir $dh) {
        open my $fh, '<:raw', "$dir/$key" or die "$key: $!";
        local $/;
        $Value{$key} = scalar <$fh>;
        cluster_set($key, $Value{$key});
        # the one-shard copies: "article:{SLUG}", "features:{SLUG}" ...
        (my $name = $key) =~ s/:.*//;
        cluster_set("$name:{$Slug}", $Value{$key});
    }
}

cluster_set('t190:mark', 'first');

# (a) the example's keys are on every primary; (b) the tagged ones on one
{
    my %on = map { slot_owner(keyslot($_)) => 1 } keys %Value;
    Test::More::is(scalar keys %on, 3, 'the example keys are on 3 primaries');
    my %slots = map { (my $n = $_) =~ s/:.*//; keyslot("$n:{$Slug}") => 1 }
                keys %Value;
    Test::More::is(scalar keys %slots, 1, 'the tagged keys are in one slot');
}

# the replicas have the data
for my $p (@Nodes) {
    for my $key (keys %Value) {
        my $slot = keyslot($key);
        poll { my (undef, $v) = t::WapressTest::redis_session($p,
                   ['READONLY'], ['GET', $key]);
               ($v // '') eq $Value{$key} || ($v // '') =~ /^ERR:MOVED/ }
            20, "$key on $p";
    }
}

# the error log from $from on
sub log_since {
    my $from = shift // 0;
    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or return '';
    local $/;
    my $all = <$fh> // '';
    return substr($all, $from);
}

sub page_ok {
    my $path = shift // "/news/$Slug";
    my $resp = http_get($path);
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    return $head =~ m{^HTTP/1\.\d 200} && ($body // '') eq $main::Expected;
}

sub map_loaded {
    poll { log_since() =~ /slot map from \S+: 16384 of 16384 slots/ } 10,
        'slot map';
}

our $Expected = example_file('expected.html');
our $Config = <<'_EOC_';
    location ~ ^/news/(?<slug>[a-z0-9-]+)$ {
        wapress_layout   $TEST_NGINX_EXAMPLE/layout.html;
        wapress_fragment article  article:$slug  required;
        wapress_fragment comments comments:$slug template=$TEST_NGINX_EXAMPLE/templates/comments.mustache default=0;
        wapress_fragment related  related:$slug  template=$TEST_NGINX_EXAMPLE/templates/related.mustache;
        wapress_fragment features features:home  template=$TEST_NGINX_EXAMPLE/templates/features.mustache;
        wapress_fragment history  history:today  type=text template=$TEST_NGINX_EXAMPLE/templates/history.mustache;
        wapress_fragment rates    rates:USD      template=$TEST_NGINX_EXAMPLE/templates/rates.mustache;
    }

    location ~ ^/tagged/(?<slug>[a-z0-9-]+)$ {
        wapress_layout   $TEST_NGINX_EXAMPLE/layout.html;
        wapress_fragment article  "article:{$slug}"  required;
        wapress_fragment comments "comments:{$slug}" template=$TEST_NGINX_EXAMPLE/templates/comments.mustache default=0;
        wapress_fragment related  "related:{$slug}"  template=$TEST_NGINX_EXAMPLE/templates/related.mustache;
        wapress_fragment features "features:{$slug}" template=$TEST_NGINX_EXAMPLE/templates/features.mustache;
        wapress_fragment history  "history:{$slug}"  type=text template=$TEST_NGINX_EXAMPLE/templates/history.mustache;
        wapress_fragment rates    "rates:{$slug}"    template=$TEST_NGINX_EXAMPLE/templates/rates.mustache;
    }

    location = /mark {
        wapress_layout ../html/mark.html;
        wapress_fragment m t190:mark default=DEFAULT;
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

=== TEST 1: the example page, its keys on three primaries, is expected.html
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER;
    wapress_redis_timeout 500ms;
--- config eval: $::Config
--- init
main::map_loaded();
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- no_error_log
[error]



=== TEST 2: hash-tagged keys, one shard: expected.html
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER;
    wapress_redis_timeout 500ms;
--- config eval: $::Config
--- init
main::map_loaded();
--- request
GET /tagged/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- no_error_log
[error]



=== TEST 3: read=replica: the primaries see no GET from page lookups
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER read=replica;
    wapress_redis_timeout 500ms;
--- config eval: $::Config
--- init
main::map_loaded();
t::WapressTest::redis_at($_, 'CONFIG', 'RESETSTAT') for @main::Nodes;
my $ok = 0;
for (1 .. 10) { $ok++ if main::page_ok() }
Test::More::is($ok, 10, 'read=replica: 10 pages, all expected.html');
my ($gets, $pgets) = (0, 0);
for my $p (main::primaries()) {
    my $st = main::info($p, 'commandstats');
    $pgets += $1 while $st =~ /cmdstat_h?get:calls=(\d+)/g;
}
Test::More::is($pgets, 0, 'read=replica: no GET on the primaries');
Test::More::diag(join "\n", grep { /wapress: |wapress redis/ } split /\n/, main::log_since())
    if $pgets;
Test::More::diag(join ' ', map { scalar @$_ } @{ t::WapressTest::redis_at($main::Nodes[0], 'CLUSTER', 'SLOTS') }) if $pgets;
for my $p (@main::Nodes) {
    my $st = main::info($p, 'commandstats');
    $gets += $1 while $st =~ /cmdstat_h?get:calls=(\d+)/g;
}
Test::More::cmp_ok($gets, '>=', 10 * 6, 'read=replica: the replicas answered');
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- no_error_log
[error]



=== TEST 4: a dead seed: the map comes from the next one
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_DEAD;
    wapress_redis_timeout 500ms;
--- config eval: $::Config
--- init
main::map_loaded();
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- error_log eval
qr/\[error\] .*wapress: redis 127\.0\.0\.1:\d+: connect failed: Connection refused/



=== TEST 5: a slot migrating: ASK, ASKING and the page is right
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER;
    wapress_redis_timeout 500ms;
--- config eval: $::Config
--- init
main::map_loaded();
my $slot = main::keyslot('features:home');
my $from = main::slot_owner($slot);
my ($to) = grep { $_ != $from } main::primaries();
$main::Migration = [$slot, $from, $to];
t::WapressTest::redis_at($to, 'CLUSTER', 'SETSLOT', $slot, 'IMPORTING', main::node_id($from)) eq 'OK' or die;
t::WapressTest::redis_at($from, 'CLUSTER', 'SETSLOT', $slot, 'MIGRATING', main::node_id($to)) eq 'OK' or die;
t::WapressTest::redis_at($from, 'MIGRATE', '127.0.0.1', $to, 'features:home', 0, 5000) eq 'OK' or die;
Test::More::like(t::WapressTest::redis_at($from, 'GET', 'features:home'), qr/^ERR:ASK $slot /, 'the slot migrates: ASK');
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- error_log eval
qr/wapress redis cluster \S+: ASK \d+ 127\.0\.0\.1:\d+/
--- no_error_log
[error]



=== TEST 6: the slot moved after the map was read: MOVED, the page is right
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER;
    wapress_redis_timeout 500ms;
--- config eval: $::Config
--- init
main::map_loaded();
my ($slot, $from, $to) = @$main::Migration;
my $id = main::node_id($to);
for my $p ($to, $from, main::primaries()) {
    t::WapressTest::redis_at($p, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $id);
}
main::poll(sub { main::slot_owner($slot) == $to }, 10, 'slot moved');
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- error_log eval
[qr/wapress redis cluster \S+: MOVED \d+ 127\.0\.0\.1:\d+/,
 qr/\[notice\] .*slot map from/]
--- no_error_log
[error]



=== TEST 7: read=prefer-replica: once the replicas are up, reads go there
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER read=prefer-replica;
    wapress_redis_timeout 500ms;
--- config eval: $::Config
--- init
main::map_loaded();
sub primary_gets {
    my $n = 0;
    for my $p (main::primaries()) {
        my $st = main::info($p, 'commandstats');
        $n += $1 while $st =~ /cmdstat_h?get:calls=(\d+)/g;
    }
    return $n;
}
# the first pages start the replicas' connections and read the primaries
main::poll(sub { main::page_ok()
                 && do { t::WapressTest::redis_at($_, 'CONFIG', 'RESETSTAT')
                             for main::primaries(); 1 }
                 && main::page_ok() && primary_gets() == 0 }, 5,
           'reads on the replicas');
my $ok = 0;
for (1 .. 10) { $ok++ if main::page_ok() }
Test::More::is($ok, 10, 'read=prefer-replica: 10 pages, all expected.html');
Test::More::is(primary_gets(), 0, 'read=prefer-replica: no GET on the primaries once the replicas are up');
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- no_error_log
[error]



=== TEST 8: a seed that answers garbage: the default at once, one error line
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_FAKE;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::start_fake('garbage');
main::poll(sub { main::log_since() =~ /no node answered CLUSTER SLOTS/ }, 5, 'log');
my $t0 = Time::HiRes::time();
my $resp = t::WapressTest::http_get('/mark');
Test::More::ok(Time::HiRes::time() - $t0 < 0.4, 'garbage: the page does not wait');
Test::More::like($resp, qr/\[DEFAULT\]/, 'garbage: the default');
Time::HiRes::sleep(1.5);
my @err = main::log_since() =~ /\[error\] .*no node answered CLUSTER SLOTS/g;
Test::More::is(scalar @err, 1, 'garbage: one error line for every round');
main::stop_fake();
--- request
GET /mark
--- response_body
[DEFAULT]
--- error_log eval
qr/\[error\] .*wapress: redis cluster 127\.0\.0\.1:\d+: no node answered CLUSTER SLOTS \(1 asked, last 127\.0\.0\.1:\d+: .*\), no map yet/
--- no_error_log
[alert]
[crit]



=== TEST 9: a map that is not one: one error line, the page does not wait
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_FAKE;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::start_fake('status');
main::poll(sub { main::log_since() =~ /bad reply to CLUSTER SLOTS/ }, 5, 'log');
my $t0 = Time::HiRes::time();
my $resp = t::WapressTest::http_get('/mark');
Test::More::ok(Time::HiRes::time() - $t0 < 0.4, 'not a map: the page does not wait');
main::stop_fake();
--- request
GET /mark
--- response_body
[DEFAULT]
--- error_log eval
qr/\[error\] .*wapress: redis cluster 127\.0\.0\.1:\d+: bad reply to CLUSTER SLOTS from 127\.0\.0\.1:\d+, no map yet/
--- no_error_log
[alert]
[crit]



=== TEST 10: a seed that never answers: the page waits its deadline only
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_MUTE;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
my $t0 = Time::HiRes::time();
my $resp = t::WapressTest::http_get('/mark');
my $took = Time::HiRes::time() - $t0;
Test::More::ok($took < 0.8, "mute: the page took ${took}s, its deadline is 0.3s");
Test::More::like($resp, qr/\[DEFAULT\]/, 'mute: the default');
main::poll(sub { main::log_since() =~ /no node answered CLUSTER SLOTS/ }, 5, 'log');
main::stop_fake();
--- request
GET /mark
--- response_body
[DEFAULT]
--- error_log eval
qr/\[error\] .*no node answered CLUSTER SLOTS \(1 asked, last 127\.0\.0\.1:\d+: .*\), no map yet/
--- no_error_log
[alert]
[crit]



=== TEST 11: read=replica: a read that fails on a replica goes to the primary
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER read=replica;
    wapress_redis_timeout 500ms;
--- config eval: $::Config
--- init
main::map_loaded();
# the replica that serves the article's slot refuses GET (an ACL)
my $slot = main::keyslot("article:$main::Slug");
my ($replica) = map { $_->[3][1] } grep { $slot >= $_->[0] && $slot <= $_->[1] }
    @{ t::WapressTest::redis_at($main::Nodes[0], 'CLUSTER', 'SLOTS') };
t::WapressTest::redis_at($replica, 'ACL', 'SETUSER', 'default', '-get', '-hget') eq 'OK' or die;
my $ok = 0;
for (1 .. 5) { $ok++ if main::page_ok() }
t::WapressTest::redis_at($replica, 'ACL', 'SETUSER', 'default', '+@all') eq 'OK' or die;
Test::More::is($ok, 5, 'a replica refuses: 5 pages, all expected.html');
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- error_log eval
qr/a read failed on a replica \(error\), sent to the primary/
--- no_error_log
[error]



=== TEST 12: wapress_status counts the nodes' connections under the cluster
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER;
    wapress_redis_timeout 500ms;
--- config eval
$::Config . '
    location = /status {
        wapress_status;
    }'
--- init
main::map_loaded();
main::page_ok() or die "the page is not right\n";
--- request
GET /status
--- response_body_like eval
[qr/^wapress_redis_up\{redis="cluster 127\.0\.0\.1:\d+"\} 3$/m,
 qr/^wapress_redis_connects_total\{redis="cluster 127\.0\.0\.1:\d+"\} 3$/m,
 qr/^wapress_redis_commands_total\{redis="cluster 127\.0\.0\.1:\d+"\} 6$/m]
--- no_error_log
[error]



=== TEST 13: db= is an error at load time
--- http_config
    wapress_redis cluster 127.0.0.1:7000 db=2 password=s3cret;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid redis cluster parameter "db=": Redis Cluster has only db 0 in .*nginx\.conf:\d+/
--- no_error_log
s3cret



=== TEST 14: no seed is an error at load time
--- http_config
    wapress_redis cluster read=replica password=s3cret;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*no redis cluster address .* in .*nginx\.conf:\d+/
--- no_error_log
s3cret



=== TEST 15: a bad read= is an error at load time
--- http_config
    wapress_redis cluster 127.0.0.1:7000 read=replicas password=s3cret;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid redis "read=" value \(expected "primary", "replica" or "prefer-replica"\) in .*nginx\.conf:\d+/
--- no_error_log
s3cret



=== TEST 16: a bare word is not taken for a seed's address, nor shown
--- http_config
    wapress_redis cluster 127.0.0.1:7000 s3cret;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid redis cluster address 2 \(expected "HOST:PORT"\) in .*nginx\.conf:\d+/
--- no_error_log
s3cret



=== TEST 17: invalidate=on is not supported with a cluster
--- http_config
    wapress_redis cluster 127.0.0.1:7000;
--- config
    location /x {
        wapress_cache zone=t190:1m valid=10s invalidate=on;
        wapress_layout ../html/x.html;
        wapress_fragment a a:1;
    }
--- user_files
>>> x.html
x
--- must_die
--- error_log eval
qr/\[emerg\] .*invalidate=on is not supported with wapress_redis cluster yet/
