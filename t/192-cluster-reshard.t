# wapress_redis cluster: live resharding under load.  A real Redis
# Cluster from Debian's packages (t/WapressCluster.pm), started once for
# this file on private ports derived from TEST_NGINX_REDIS_PORT (6399 by
# default):
#
#   REDIS_PORT-62 .. -57   3 primaries and 3 replicas (bus ports +10000),
#                          cluster-node-timeout 1000 ms
#
# While three load children request the page without pause, the slots
# that hold its keys are moved to another primary by hand, so that every
# run goes through the same states: CLUSTER SETSLOT IMPORTING on the
# target and MIGRATING on the source for every slot, then MIGRATE of one
# key at a time with pauses (the source answers ASK for a key that has
# left), then SETSLOT NODE on the targets, the sources and the others
# (the source answers MOVED until the worker's map is refreshed).  No
# cache: every page must be complete and byte-correct, ASK and MOVED
# show in the debug log and the map change is logged (a notice per map
# read that differs from the last one).
#
# (1) the example page, its six keys on all three primaries: each key's
#     slot moves to the next primary;
# (2) the same page from hash-tagged keys ({slug}:article, ...): one slot,
#     six keys moved one by one to another primary, a page reading some
#     from the source and some (ASKING) from the target.

use t::WapressTest;
use t::WapressCluster;
use Time::HiRes qw(sleep time);

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 3 + 14);

our $Base = $ENV{TEST_NGINX_REDIS_PORT} || 6399;
our @Nodes = map { $Base - $_ } reverse 57 .. 62;
our $Slug = 'niger-junta-revokes-eu-security-agreements';
our $Expected = example_file('expected.html');
our $Deadline = 0.3;
our $Margin = 0.1;
our $Pause = 0.4;

cluster_start(@Nodes);
add_cleanup_handler(sub { cluster_stop(@Nodes) });

our @Primaries = cluster_primaries($Nodes[0]);
$ENV{TEST_NGINX_CLUSTER_SEEDS} = join ' ', map { "127.0.0.1:$_" } @Primaries;

# the example's keys, and the same values under {slug}:NAME
our (@Keys, @Tagged);
{
    my $dir = "$ENV{TEST_NGINX_EXAMPLE}/redis";
    opendir my $dh, $dir or die "$dir: $!";
    for my $key (sort grep { !/^\./ } readdir $dh) {
        open my $fh, '<:raw', "$dir/$key" or die "$key: $!";
        local $/;
        my $v = <$fh>;
        my ($name) = $key =~ /^(\w+):/;
        cluster_set($Nodes[0], $key, $v);
        cluster_set($Nodes[0], "{$Slug}:$name", $v);
        push @Keys, $key;
        push @Tagged, "{$Slug}:$name";
    }
    my %on = map { cluster_owner($Nodes[0], $_) => 1 } @Keys;
    die "the example's keys are not on all three primaries\n"
        unless keys %on == 3;
}
cluster_wait_synced(10, @Primaries);

sub log_since {
    my $from = shift // 0;
    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or return '';
    seek $fh, $from, 0;
    local $/;
    return <$fh> // '';
}
sub log_size { -s $Test::Nginx::Util::ErrLogFile // 0 }

sub warm {
    my $path = shift;
    cluster_poll { (page_class(http_get($path), $Expected))[0] eq 'ok' }
        10, 'a complete page';
}

# moves the slots of @keys under load on $path: every slot to the primary
# after its owner (or to $to); returns the load's results, the moves and
# the error log written meanwhile
sub reshard {
    my ($path, $to, @keys) = @_;
    my %move;
    for my $k (@keys) {
        my $slot = cluster_slot($Nodes[0], $k);
        my $from = cluster_owner($Nodes[0], $k);
        my ($i) = grep { $Primaries[$_] == $from } 0 .. $#Primaries;
        $move{$slot} = [$slot, $from, $to // $Primaries[($i + 1) % 3]];
    }
    my @moves = map { $move{$_} } sort { $a <=> $b } keys %move;
    my $pos = log_size();
    loadgen_start(3, $path, $Expected, 0.002);
    sleep 1;
    my $t0 = time;
    my @moved = cluster_migrate_slots(\@moves, $Pause, undef, @Primaries);
    my $t1 = time;
    cluster_wait_ok(10, @Nodes);
    sleep 2;
    my @r = loadgen_stop();
    for my $m (@moves) {
        my ($slot, $from, $to) = @$m;
        for my $k (@keys) {
            next unless cluster_slot($Nodes[0], $k) == $slot;
            die "$k is not on $to after the move\n"
                unless t::WapressTest::redis_at($to, 'EXISTS', $k) == 1;
        }
        die "keys of slot $slot left on $from after the move\n"
            if t::WapressTest::redis_at($from, 'CLUSTER', 'COUNTKEYSINSLOT',
                                        $slot) != 0;
    }
    return (\@r, \@moves, scalar @moved, $t1 - $t0, log_since($pos));
}

sub check {
    my ($what, $r, $moves, $nkeys, $secs, $log) = @_;
    my %n = (ok => 0, default => 0, 503 => 0, error => 0);
    my $xt = 0;
    for (@$r) {
        $n{ $_->[2] }++;
        $xt = $_->[3] if $_->[3] > $xt;
    }
    my $all = @$r;
    my $redirect = qr/\[debug\] [^\n]*wapress redis cluster [^\n]*: /;
    my $ask = () = $log =~ /$redirect(?=ASK \d+ )/g;
    my $moved = () = $log =~ /$redirect(?=MOVED \d+ )/g;
    my @notice = $log =~ /(\[notice\] [^\n]*wapress: redis cluster [^\n]*)/g;
    my @map = grep { /: slot map from / } @notice;
    Test::More::is($all - $n{ok}, 0, "$what: every page complete of $all "
        . "(default $n{default}, 503 $n{503}, error $n{error})");
    Test::More::cmp_ok($xt, '<', $main::Deadline + $main::Margin,
                       "$what: no page waits past the deadline");
    Test::More::cmp_ok($ask, '>', 0, "$what: ASK in the debug log");
    Test::More::cmp_ok($moved, '>', 0, "$what: MOVED in the debug log");
    # the slots change owner one after another: each map read that
    # differs from the last is one notice, so one per slot at most
    Test::More::ok(@map >= 1 && @map <= @$moves,
                   "$what: the map change is told, once per map read "
                   . "that differs (1 to " . @$moves . " notices)")
        or Test::More::diag(join "\n", 'cluster notices:', @notice);
    Test::More::diag(sprintf "cluster reshard, %s: %d slot(s), %d keys "
        . "moved in %.1fs under load; %d pages, %d complete; debug lines: "
        . "%d ASK, %d MOVED; %d map notice(s); slowest X-Time %.3fs",
        $what,
        scalar @$moves, $nkeys, $secs, $all, $n{ok}, $ask, $moved,
        scalar @map, $xt);
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

    location ~ ^/tagged/(?<slug>[a-z0-9-]+)$ {
        wapress_layout   $TEST_NGINX_EXAMPLE/layout.html;
        wapress_fragment article  "{$slug}:article"  required;
        wapress_fragment comments "{$slug}:comments" template=$TEST_NGINX_EXAMPLE/templates/comments.mustache default=0;
        wapress_fragment related  "{$slug}:related"  template=$TEST_NGINX_EXAMPLE/templates/related.mustache;
        wapress_fragment features "{$slug}:features" template=$TEST_NGINX_EXAMPLE/templates/features.mustache;
        wapress_fragment history  "{$slug}:history"  type=text template=$TEST_NGINX_EXAMPLE/templates/history.mustache;
        wapress_fragment rates    "{$slug}:rates"    template=$TEST_NGINX_EXAMPLE/templates/rates.mustache;
    }
_EOC_

no_shuffle();
no_long_string();
run_tests();

__DATA__

=== TEST 1: the page's slots moved under load: every page complete
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_SEEDS;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::warm("/news/$main::Slug");
main::check('three shards', main::reshard("/news/$main::Slug", undef,
                                          @main::Keys));
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: hash tags: one slot, six keys moved one by one under load
--- http_config
    wapress_redis cluster $TEST_NGINX_CLUSTER_SEEDS;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::warm("/tagged/$main::Slug");
my $from = t::WapressCluster::cluster_owner($main::Nodes[0], $main::Tagged[0]);
my ($to) = grep { $_ != $from } @main::Primaries;
main::check('hash tags', main::reshard("/tagged/$main::Slug", $to,
                                       @main::Tagged));
--- request
GET /tagged/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- no_error_log
[error]
[alert]
[crit]
