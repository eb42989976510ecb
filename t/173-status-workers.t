# wapress_status adds up all workers: pages served by two workers (the
# kernel spreads the connections of a reuseport listener over both) are
# all counted, whichever worker answers the scrape; a reload with the
# same configuration keeps the counts (the zone is found again), one that
# changes the labels starts from zero.

use t::WapressTest;
use Time::HiRes qw(sleep time);

repeat_each(1);
master_on();
workers(2);
no_shuffle();

plan tests => repeat_each() * (blocks() * 3 + 6);

our $HttpPort = $ENV{TEST_NGINX_STATUS_HTTP_PORT}
    ||= $Test::Nginx::Util::ServerPort + 4;
our $N = 40;

redis('SET', 't173:a', 'A');

sub get_at {
    my ($port, $path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 3) or die "connect: $!";
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
    local $/;
    return scalar <$s>;
}

# the pages of both servers' /a
sub pages {
    my $text = get_at($HttpPort, '/status');
    my $n = 0;
    $n += $1 while $text =~ /^wapress_pages_total\{[^}]*location="\/a",
                              code="200"\}\s(\d+)$/mgx;
    return $n;
}

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

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    return if $dry_run;

    get_at($HttpPort, '/a') for 1 .. $N;

    my %pids;
    if (open my $fh, '<', "$Test::Nginx::Util::ServRoot/logs/t173.log") {
        %pids = map { /^(\d+) / ? ($1 => 1) : () } <$fh>;
    }
    is(scalar(keys %pids), 2, "the $N pages went to both workers");

    # each worker answers some of the scrapes: all say the same
    my %seen = map { pages() => 1 } 1 .. 10;
    is_deeply([keys %seen], [$N + 1], "$N + 1 pages, as every worker sees");

    reload();
    get_at($HttpPort, '/a');
    is(pages(), $N + 2, 'a reload keeps the counts');

    # a fragment more: other labels, a new zone, counted from zero
    my $conf = "$Test::Nginx::Util::ServRoot/conf/nginx.conf";
    open my $in, '<', $conf or die "$conf: $!";
    my $text = do { local $/; <$in> };
    close $in;
    $text =~ s/(wapress_fragment x t173:a;)/$1 wapress_fragment y t173:b;/
        or die "no fragment in $conf";
    open my $out, '>', $conf or die "$conf: $!";
    print $out $text;
    close $out;
    reload();
    get_at($HttpPort, '/a');
    is(pages(), 1, 'a reload with other labels starts from zero');
});

run_tests();

__DATA__

=== TEST 1: counted by two workers
--- http_config
    log_format t173 '$pid $wapress_fragments_missing';

    server {
        listen 127.0.0.1:$TEST_NGINX_STATUS_HTTP_PORT reuseport;
        access_log logs/t173.log t173;

        location = /a {
            wapress_layout ../html/one.html;
            wapress_fragment x t173:a;
        }

        location = /status {
            wapress_status;
        }
    }
--- config
    location = /a {
        wapress_layout ../html/one.html;
        wapress_fragment x t173:a;
    }
--- user_files
>>> one.html
[<!--# wapress fragment="x" -->]
--- request
GET /a
--- response_body
[A]
