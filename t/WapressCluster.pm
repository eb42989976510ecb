package t::WapressCluster;

# A real Redis Cluster for one test file (t/191, t/192), from Debian's
# redis-server and redis-cli: 3 primaries and 3 replicas on the six
# ports given, cluster-node-timeout 1000 ms, no persistence, each node's
# files in $TEST_NGINX_REDIS_DIR/private-PORT (wiped at start).  The
# caller "use"s t::WapressTest first (this module calls its RESP and
# redis-server helpers by their full names).
#
#   cluster_start(@ports)           create, wait until every node says
#                                   cluster_state:ok and replicas are synced
#   cluster_stop(@ports)            kill them all
#   cluster_node_start($port)       start one node again (it rejoins)
#   cluster_nodes($port)            [{id, port, role, master_id, slots}] as
#                                   $port sees them
#   cluster_primaries($port)        the primaries' ports, by first slot
#   cluster_replica_of($pport, $port) the port of $pport's replica
#   cluster_slot($port, $key)       $key's slot (CLUSTER KEYSLOT)
#   cluster_owner($port, $key)      the primary port that holds $key
#   cluster_set($port, $k, $v)      SET that follows MOVED
#   cluster_wait_ok($secs, @ports)  cluster_state:ok everywhere
#   cluster_wait_synced($secs, @primaries) every replica has every write
#   cluster_migrate_slots(...)      move slots by hand (IMPORTING,
#                                   MIGRATING, MIGRATE key by key, NODE)
#   cluster_poll {COND} $secs, $what  wait for COND or die
#   loadgen_start($n, $path, $expected, $pause) / loadgen_stop()
#                                   $n children request $path in a loop and
#                                   record [time, seconds, class, x_time]
#   page_class($response, $expected) "ok", "503", "default" or "error",
#                                   and the X-Time header

use strict;
use warnings;
use Exporter 'import';
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

our @EXPORT = qw(cluster_start cluster_stop cluster_node_start
                 cluster_nodes cluster_primaries cluster_replica_of
                 cluster_owner cluster_set
                 cluster_wait_ok cluster_wait_synced cluster_migrate_slots
                 cluster_poll cluster_slot loadgen_start loadgen_stop
                 page_class);

sub _at { &t::WapressTest::redis_at(@_) }

sub cluster_poll (&$$) {
    my ($cond, $secs, $what) = @_;
    my $until = time + $secs;
    while (time < $until) {
        my $v = eval { $cond->() };
        return $v if $v;
        sleep 0.05;
    }
    die "$what: not after ${secs}s\n";
}

sub cluster_stop {
    t::WapressTest::stop_redis($_) for @_;
}

sub cluster_start {
    my @ports = @_;
    die "cluster_start: 6 ports\n" unless @ports == 6;
    cluster_stop(@ports);
    for my $port (@ports) {
        remove_tree("$ENV{TEST_NGINX_REDIS_DIR}/private-$port");
        cluster_node_start($port);
    }
    my $cmd = 'redis-cli --cluster create '
        . join(' ', map { "127.0.0.1:$_" } @ports)
        . ' --cluster-replicas 1 --cluster-yes </dev/null 2>&1';
    my $out = `$cmd`;
    if ($? != 0 || $out !~ /All 16384 slots covered/) {
        cluster_stop(@ports);
        die "redis-cli --cluster create failed:\n$out";
    }
    cluster_wait_ok(20, @ports);
    cluster_poll {
        my @n = @{ cluster_nodes($ports[0]) };
        (grep { $_->{role} eq 'master' } @n) == 3
            && (grep { $_->{role} eq 'slave' } @n) == 3
    } 20, 'cluster: 3 primaries and 3 replicas';
    cluster_wait_synced(20, cluster_primaries($ports[0]));
}

# one node; a node started again in the same directory keeps its
# nodes.conf: it rejoins the cluster it knew (a former primary comes back
# as a replica of the node that took its slots)
sub cluster_node_start {
    my $port = shift;
    my $dir = "$ENV{TEST_NGINX_REDIS_DIR}/private-$port";
    make_path($dir);
    t::WapressTest::start_redis($port, '--cluster-enabled', 'yes',
        '--cluster-config-file', "$dir/nodes.conf",
        '--cluster-node-timeout', '1000',
        '--repl-diskless-sync', 'yes',
        '--repl-diskless-sync-delay', '0',
        '--repl-ping-replica-period', '1');
}

# CLUSTER NODES as $port sees it: [{id, port, role, master_id, flags,
# slots => [[from, to], ...]}], failed nodes included (flag "fail")
sub cluster_nodes {
    my $port = shift;
    my $txt = _at($port, 'CLUSTER', 'NODES');
    die "CLUSTER NODES on $port: $txt\n" if !defined $txt || $txt =~ /^ERR:/;
    my @nodes;
    for my $line (split /\n/, $txt) {
        my ($id, $addr, $flags, $master, undef, undef, undef, $link, @slots)
            = split ' ', $line;
        my ($p) = $addr =~ /:(\d+)/;
        my $role = $flags =~ /master/ ? 'master'
                 : $flags =~ /slave/ ? 'slave' : 'none';
        push @nodes, {
            id => $id, port => $p, role => $role, flags => $flags,
            master_id => $master, link => $link,
            slots => [map { /^(\d+)(?:-(\d+))?$/ ? [$1, $2 // $1] : () }
                      @slots],
        };
    }
    return \@nodes;
}

sub cluster_primaries {
    my $port = shift;
    my @m = grep { $_->{role} eq 'master' && $_->{flags} !~ /fail/
                   && @{ $_->{slots} } } @{ cluster_nodes($port) };
    return map { $_->{port} } sort { $a->{slots}[0][0] <=> $b->{slots}[0][0] }
        @m;
}

sub _id_of {
    my ($port, $of) = @_;
    my ($n) = grep { $_->{port} == $of } @{ cluster_nodes($port) };
    die "no node $of seen from $port\n" unless $n;
    return $n->{id};
}

sub cluster_replica_of {
    my ($pport, $port) = @_;
    my $id = _id_of($port // $pport, $pport);
    my ($r) = grep { $_->{master_id} eq $id && $_->{flags} !~ /fail/ }
        @{ cluster_nodes($port // $pport) };
    return $r ? $r->{port} : undef;
}

sub cluster_slot {
    my ($port, $key) = @_;
    return _at($port, 'CLUSTER', 'KEYSLOT', $key);
}

sub cluster_owner {
    my ($port, $key) = @_;
    my $slot = cluster_slot($port, $key);
    for my $n (@{ cluster_nodes($port) }) {
        next unless $n->{role} eq 'master';
        for my $r (@{ $n->{slots} }) {
            return $n->{port} if $slot >= $r->[0] && $slot <= $r->[1];
        }
    }
    die "no owner of slot $slot\n";
}

sub cluster_set {
    my ($port, $key, $value) = @_;
    for (1 .. 5) {
        my $r = _at($port, 'SET', $key, $value);
        return $r if defined $r && $r eq 'OK';
        if (defined $r && $r =~ /^ERR:MOVED \d+ [\d.]+:(\d+)/) {
            $port = $1;
            next;
        }
        die "SET $key on $port: " . ($r // 'nil') . "\n";
    }
    die "SET $key: too many redirections\n";
}

sub cluster_wait_ok {
    my ($secs, @ports) = @_;
    for my $p (@ports) {
        cluster_poll { _at($p, 'CLUSTER', 'INFO') =~ /cluster_state:ok/ }
            $secs, "cluster_state:ok on $p";
    }
}

# every replica of the primaries has acknowledged all their writes
sub cluster_wait_synced {
    my ($secs, @primaries) = @_;
    for my $p (@primaries) {
        cluster_poll {
            my $i = _at($p, 'INFO', 'replication');
            my ($off) = $i =~ /master_repl_offset:(\d+)/;
            my @s = $i =~ /^slave\d+:.*state=online,offset=(\d+)/mg;
            @s && !grep { $_ != $off } @s
        } $secs, "replica of $p in sync";
    }
}

# Moves each [$slot, $from, $to] by hand, all together so that the map
# changes once: IMPORTING on $to, MIGRATING on $from for every slot; then
# every key MIGRATEd alone, $pause seconds before each, $during->() called
# in the pauses; then, $pause later, SETSLOT NODE on the target, the
# source and the other primaries, slot after slot.  Returns the keys
# moved.
sub cluster_migrate_slots {
    my ($moves, $pause, $during, @primaries) = @_;
    my $wait = sub {
        my $until = time + $pause;
        while (time < $until) {
            $during->() if $during;
            sleep 0.01;
        }
    };
    my %id = map { $_ => _id_of($primaries[0], $_) } @primaries;
    for my $m (@$moves) {
        my ($slot, $from, $to) = @$m;
        my $r = _at($to, 'CLUSTER', 'SETSLOT', $slot, 'IMPORTING', $id{$from});
        die "IMPORTING $slot on $to: $r\n" unless $r eq 'OK';
        $r = _at($from, 'CLUSTER', 'SETSLOT', $slot, 'MIGRATING', $id{$to});
        die "MIGRATING $slot on $from: $r\n" unless $r eq 'OK';
    }
    my @moved;
    for my $m (@$moves) {
        my ($slot, $from, $to) = @$m;
        my $keys = _at($from, 'CLUSTER', 'GETKEYSINSLOT', $slot, 1000);
        for my $k (@$keys) {
            $wait->();
            my $r = _at($from, 'MIGRATE', '127.0.0.1', $to, $k, 0, 5000);
            die "MIGRATE $k from $from to $to: $r\n" unless $r eq 'OK';
            push @moved, $k;
        }
    }
    $wait->();
    # slot by slot, back to back (one slot's owner set on the target, the
    # source and the others before the next): the target's epoch bump
    # must not meet a source that still claims a slot
    for my $m (@$moves) {
        my ($slot, $from, $to) = @$m;
        for my $p ($to, $from, grep { $_ != $from && $_ != $to } @primaries) {
            my $r = _at($p, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $id{$to});
            die "SETSLOT $slot NODE on $p: $r\n" unless $r eq 'OK';
        }
    }
    return @moved;
}

# "ok" (200, the body $expected), "503", or "default" (anything else:
# a default or a missing fragment in the page) and the X-Time header
sub page_class {
    my ($resp, $expected) = @_;
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    my ($xt) = ($head // '') =~ /^X-Time: ([\d.]+)/m;
    my ($code) = ($head // '') =~ m{^HTTP/1\.\d (\d+)};
    my $class = !defined $code ? 'error'
              : $code == 503 ? '503'
              : $code == 200 && ($body // '') eq $expected ? 'ok'
              : 'default';
    return ($class, $xt // 0);
}

# $n children request $path in a loop until loadgen_stop, $pause seconds
# between two requests (none by default); each result is one line "time
# seconds class x_time" in a file of its own
our (@Kids, $LoadDir);

sub loadgen_start {
    my ($n, $path, $expected, $pause) = @_;
    $LoadDir = "$ENV{TEST_NGINX_REDIS_DIR}/loadgen-$$";
    remove_tree($LoadDir);
    make_path($LoadDir);
    for my $i (1 .. $n) {
        my $pid = fork;
        die "fork: $!\n" unless defined $pid;
        if ($pid == 0) {
            open my $out, '>', "$LoadDir/$i" or POSIX::_exit(1);
            $out->autoflush(1);
            my $stop = 0;
            $SIG{TERM} = sub { $stop = 1 };
            while (!$stop) {
                my $t0 = time;
                my $resp = eval { t::WapressTest::http_get($path) } // '';
                my $dt = time - $t0;
                my ($class, $xt) = page_class($resp, $expected);
                printf $out "%.4f %.4f %s %s\n", $t0, $dt, $class, $xt;
                sleep $pause if $pause;
            }
            close $out;
            POSIX::_exit(0);
        }
        push @Kids, $pid;
    }
}

# stops the children; the results, sorted by time: [[t, secs, class, xt]]
sub loadgen_stop {
    kill 'TERM', @Kids;
    waitpid($_, 0) for @Kids;
    @Kids = ();
    my @r;
    for my $f (glob "$LoadDir/*") {
        open my $fh, '<', $f or next;
        push @r, map { [split ' '] } <$fh>;
    }
    remove_tree($LoadDir);
    return sort { $a->[0] <=> $b->[0] } @r;
}

END {
    if (@Kids) {
        kill 'KILL', @Kids;
        waitpid($_, 0) for @Kids;
    }
}

1;
