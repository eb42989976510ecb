# wapress_redis HOST:PORT with nginx's "resolver": the name is resolved
# again by each new connection, without a reload (issue 10).  This file
# starts, on private ports derived from TEST_NGINX_REDIS_PORT (6399 by
# default):
#
#   REDIS_PORT-70 (UDP)   a fake DNS server (a child of this test): A
#                         records from the file $Zone ("NAME ADDRESS"
#                         lines; ADDRESS "-": never answers), AAAA
#                         queries for those names answered empty,
#                         NXDOMAIN for every other name
#   REDIS_PORT-71         two Redis servers on the same port, one on
#                         127.0.0.1 ("first"), one on 127.0.0.2 ("second")
#   REDIS_PORT-72         a fake Sentinel (a child of this test) that names
#                         the first as the primary "news"
#
# (a) the page through the resolved name is right;
# (b) the name moved to 127.0.0.2 and the connection killed: the next
#     connection goes to the new address, without a reload;
# (c) NXDOMAIN, (c') no answer: the page gets its default within the
#     deadline, one error line naming the server; (c'') a name that stops
#     resolving keeps the last address found; a worker that exits while
#     a name is resolved (reload) neither waits for it nor crashes;
# (d) no resolver: the name is resolved when nginx starts (/etc/hosts),
#     an unknown one is an error there;
# (e) wapress_redis sentinel with a Sentinel named by a host name.

use t::WapressTest;
use IO::Socket::INET;
use File::Path qw(make_path);
use POSIX ();
use Socket qw(inet_aton);
use Time::HiRes qw(sleep time);

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 3 + 31);

our $Base = $ENV{TEST_NGINX_REDIS_PORT} || 6399;
our ($DnsPort, $RPort, $SentinelPort) = ($Base - 70, $Base - 71, $Base - 72);
$ENV{TEST_NGINX_DNS_PORT} = $DnsPort;
$ENV{TEST_NGINX_R185_PORT} = $RPort;
$ENV{TEST_NGINX_R185_SENTINEL} = $SentinelPort;
our $Dir = "$ENV{TEST_NGINX_REDIS_DIR}/private-$RPort";
our $Zone = "$Dir/zone.txt";
our $DnsPid;

sub zone {
    my %names = @_;
    open my $fh, '>', "$Zone.tmp" or die "$Zone: $!";
    print $fh "$_ $names{$_}\n" for grep { defined $names{$_} } sort keys %names;
    close $fh;
    rename "$Zone.tmp", $Zone or die "$Zone: $!";
}

sub start_dns {
    my $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                     LocalPort => $DnsPort, Proto => 'udp',
                                     ReuseAddr => 1)
        or die "cannot listen on udp $DnsPort: $!\n";
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        for ( ;; ) {
            my $peer = $sock->recv(my $q, 512) // next;
            next if length($q) < 17;
            my ($id) = unpack 'n', $q;
            my ($off, @labels) = (12);
            while ($off < length $q) {
                my $len = ord substr($q, $off++, 1);
                last unless $len;
                push @labels, substr($q, $off, $len);
                $off += $len;
            }
            my ($qtype) = unpack 'n', substr($q, $off, 2);
            my $question = substr($q, 12, $off + 4 - 12);
            my $name = lc join '.', @labels;
            my %zone;
            if (open my $fh, '<', $Zone) {
                %zone = map { split ' ' } <$fh>;
            }
            my $addr = $zone{$name};
            next if defined $addr && $addr eq '-';
            my ($rcode, $an) = (defined $addr ? 0 : 3, '');
            if (defined $addr && $qtype == 1) {
                $an = pack('n n n N n', 0xc00c, 1, 1, 1, 4) . inet_aton($addr);
            }
            my $resp = pack('n n n n n n', $id, 0x8180 | $rcode, 1,
                            $an ? 1 : 0, 0, 0) . $question . $an;
            $sock->send($resp, 0, $peer);
        }
        POSIX::_exit(0);
    }
    close $sock;
    $DnsPid = $pid;
}

sub stop_dns {
    return unless $DnsPid;
    kill 'KILL', $DnsPid;
    waitpid($DnsPid, 0);
    undef $DnsPid;
}

# the second Redis: 127.0.0.2, same port, its own directory
sub start_second {
    my $dir = "$Dir-b";
    make_path($dir);
    system('redis-server', '--daemonize', 'yes', '--bind', '127.0.0.2',
           '--port', $RPort, '--dir', $dir, '--pidfile', "$dir/redis.pid",
           '--logfile', "$dir/redis.log", '--save', '', '--appendonly',
           'no') == 0 or die "cannot start redis-server on 127.0.0.2\n";
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.2',
                                      PeerPort => $RPort);
        return if $s && -s "$dir/redis.pid";
        sleep 0.05;
    }
    die "redis-server on 127.0.0.2:$RPort did not start\n";
}

sub stop_second {
    my $dir = "$Dir-b";
    open my $fh, '<', "$dir/redis.pid" or return;
    chomp(my $pid = <$fh> // '');
    close $fh;
    return unless $pid;
    kill 'KILL', $pid;
    unlink "$dir/redis.pid";
    for (1 .. 300) {
        last unless kill 0, $pid;
        sleep 0.01;
    }
}

# a command to the Redis on 127.0.0.2
sub second {
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.2',
                                     PeerPort => $RPort, Timeout => 5)
        or die "cannot connect to 127.0.0.2:$RPort: $!\n";
    my $req = '*' . @_ . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @_;
    print $sock $req;
    my $line = <$sock>;
    return $line;
}

# one whole RESP command taken from the front of ${$_[0]}, or undef
sub resp_take {
    my $b = shift;
    $$b =~ /\A\*(\d+)\r\n/ or return undef;
    my ($n, $pos, @arg) = ($1, length $&);
    for (1 .. $n) {
        substr($$b, $pos) =~ /\A\$(\d+)\r\n/ or return undef;
        my $len = $1;
        $pos += length $&;
        return undef if length($$b) < $pos + $len + 2;
        push @arg, substr($$b, $pos, $len);
        $pos += $len + 2;
    }
    substr($$b, 0, $pos) = '';
    return \@arg;
}

# a fake Sentinel: PING, SUBSCRIBE, and the primary is 127.0.0.1:$RPort
our $SentinelPid;
sub start_sentinel {
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                    LocalPort => $SentinelPort, Listen => 16,
                                    ReuseAddr => 1)
        or die "cannot listen on $SentinelPort: $!\n";
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        require IO::Select;
        my $sel = IO::Select->new($srv);
        my %buf;
        for ( ;; ) {
            for my $c ($sel->can_read(1)) {
                if ($c == $srv) {
                    my $n = $srv->accept;
                    $sel->add($n) if $n;
                    next;
                }
                # commands may come several in one read (PING, then the
                # question, written together once connected)
                my $data;
                if (!sysread($c, $data, 65536)) {
                    $sel->remove($c);
                    delete $buf{$c};
                    close $c;
                    next;
                }
                $buf{$c} .= $data;
                while (my $arg = resp_take(\$buf{$c})) {
                    my $cmd = uc($arg->[0] // '');
                    my $out = $cmd eq 'PING' ? "+PONG\r\n"
                        : $cmd eq 'SUBSCRIBE' ? "*3\r\n\$9\r\nsubscribe\r\n"
                          . "\$14\r\n+switch-master\r\n:1\r\n"
                        : ($arg->[1] // '') eq 'get-master-addr-by-name'
                          ? "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($RPort)
                            . "\r\n$RPort\r\n"
                        : "*0\r\n";
                    syswrite($c, $out);
                }
            }
        }
        POSIX::_exit(0);
    }
    close $srv;
    $SentinelPid = $pid;
}

sub stop_sentinel {
    return unless $SentinelPid;
    kill 'KILL', $SentinelPid;
    waitpid($SentinelPid, 0);
    undef $SentinelPid;
}

sub stop_all {
    stop_sentinel();
    stop_dns();
    stop_second();
    t::WapressTest::stop_redis($RPort);
}

stop_all();
make_path($Dir);
start_redis($RPort);
start_second();
redis_at($RPort, 'SET', 't185:mark', 'first') eq 'OK' or die "SET first";
second('SET', 't185:mark', 'second') =~ /^\+OK/ or die "SET second";
our %Zone0 = ('redis.test' => '127.0.0.1', 'silent.test' => '-',
              'sentinel.test' => '127.0.0.1');
zone(%Zone0);
start_dns();
start_sentinel();
add_cleanup_handler(\&stop_all);

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

# the error log from $from on
sub log_since {
    my $from = shift // 0;
    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or return '';
    local $/;
    my $all = <$fh> // '';
    return substr($all, $from);
}

# the worker processes of nginx's master $_[0]
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

# the page's mark, and how long it took
sub mark {
    my $t0 = time;
    my $resp = http_get('/mark');
    my $took = time - $t0;
    return ($resp =~ /\[(\w+)\]/ ? $1 : '', $took);
}

our $Config = <<'_EOC_';
    location = /mark {
        wapress_layout ../html/mark.html;
        wapress_fragment m t185:mark default=DEFAULT;
    }

    location = /k {
        wapress_layout ../html/mark.html;
        wapress_fragment m t185:$arg_n default=DEFAULT;
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

=== TEST 1: the page through a name the resolver answers
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=1s;
    wapress_redis redis.test:$TEST_NGINX_R185_PORT;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
# 20 pages at once, the first ones of the worker, each its own key:
# their lookups wait together for the name, then go
t::WapressTest::redis_at($main::RPort, 'SET', "t185:k$_", "v$_") for 1 .. 20;
my @s = map {
    IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                          PeerPort => $Test::Nginx::Util::ServerPort,
                          Timeout => 3) or die "connect: $!";
} 1 .. 20;
my $i = 0;
print $_ "GET /k?n=k" . ++$i . " HTTP/1.0\r\nHost: localhost\r\n\r\n" for @s;
$i = 0;
my $ok = grep { local $/; $i++; (<$_> // '') =~ /\[v$i\]/ } @s;
Test::More::is($ok, 20, '20 pages at once through the name: all right');
--- request
GET /mark
--- response_body
[first]
--- no_error_log
[error]
[warn]
[crit]



=== TEST 2: the name moves: the next connection goes to the new address
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=1s;
    wapress_redis redis.test:$TEST_NGINX_R185_PORT;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::zone(%main::Zone0);
main::poll(sub { (main::mark())[0] eq 'first' }, 5, 'first');
main::zone(%main::Zone0, 'redis.test' => '127.0.0.2');
# the resolver's cache (valid=1s, counted in whole seconds) expires; the
# connection is killed
Time::HiRes::sleep(2.1);
t::WapressTest::redis_at($main::RPort, 'CLIENT', 'KILL', 'TYPE', 'normal');
my ($t0, $seen) = (Time::HiRes::time(), '');
my $slowest = 0;
while (Time::HiRes::time() - $t0 < 5) {
    my ($m, $took) = main::mark();
    $slowest = $took if $took > $slowest;
    $seen = $m, last if $m eq 'second';
    Time::HiRes::sleep(0.02);
}
Test::More::is($seen, 'second', 'the second Redis answers without a reload');
Test::More::cmp_ok($slowest, '<', 0.5, 'no page waits past the deadline');
Test::More::diag(sprintf "the new address used %.0f ms after the kill",
                 (Time::HiRes::time() - $t0) * 1000);
--- request
GET /mark
--- response_body
[second]
--- error_log eval
qr/\[notice\] .*wapress: redis redis\.test:\d+: "redis\.test" is now 127\.0\.0\.2 \(was 127\.0\.0\.1\)/
--- no_error_log
[alert]
[crit]



=== TEST 3: NXDOMAIN: the default within the deadline, one error line
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=1s;
    wapress_redis nx.test:$TEST_NGINX_R185_PORT;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
my $slowest = 0;
my $t0 = Time::HiRes::time();
while (Time::HiRes::time() - $t0 < 1.5) {
    my ($m, $took) = main::mark();
    die "NXDOMAIN: page shows '$m'\n" unless $m eq 'DEFAULT';
    $slowest = $took if $took > $slowest;
    Time::HiRes::sleep(0.05);
}
Test::More::cmp_ok($slowest, '<', 0.4, 'NXDOMAIN: no page waits past the deadline');
my @err = main::log_since() =~ /\[error\] .*resolve failed/g;
Test::More::is(scalar @err, 1, 'NXDOMAIN: one error line');
--- request
GET /mark
--- response_body
[DEFAULT]
--- error_log eval
qr/\[error\] .*wapress: redis nx\.test:\d+: resolve failed: Host not found/
--- no_error_log
[alert]
[crit]



=== TEST 4: no answer: the default within the deadline, one error line
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=1s;
    wapress_redis silent.test:$TEST_NGINX_R185_PORT;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 300ms;
--- config eval: $::Config
--- init
my $slowest = 0;
my $t0 = Time::HiRes::time();
while (Time::HiRes::time() - $t0 < 2) {
    my ($m, $took) = main::mark();
    die "no answer: page shows '$m'\n" unless $m eq 'DEFAULT';
    $slowest = $took if $took > $slowest;
    Time::HiRes::sleep(0.05);
}
Test::More::cmp_ok($slowest, '<', 0.4, 'no answer: no page waits past the deadline');
main::poll(sub { main::log_since() =~ /resolve failed/ }, 3, 'log');
my @err = main::log_since() =~ /\[error\] .*resolve failed/g;
Test::More::is(scalar @err, 1, 'no answer: one error line');
--- request
GET /mark
--- response_body
[DEFAULT]
--- error_log eval
qr/\[error\] .*wapress: redis silent\.test:\d+: resolve failed: Operation timed out/
--- no_error_log
[alert]
[crit]



=== TEST 5: a name that stops resolving: the last address found is kept
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=1s;
    wapress_redis redis.test:$TEST_NGINX_R185_PORT;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::zone(%main::Zone0);
main::poll(sub { (main::mark())[0] eq 'first' }, 5, 'first');
main::zone(%main::Zone0, 'redis.test' => undef);
Time::HiRes::sleep(2.1);
t::WapressTest::redis_at($main::RPort, 'CLIENT', 'KILL', 'TYPE', 'normal');
my $m;
main::poll(sub { $m = (main::mark())[0];
                 main::log_since() =~ /using the last address/ }, 5,
           'the last address');
Test::More::is($m, 'first', 'the last address: the page is right');
main::zone(%main::Zone0);
--- request
GET /mark
--- response_body
[first]
--- error_log eval
qr/\[warn\] .*wapress: redis redis\.test:\d+: resolve failed: Host not found, using the last address 127\.0\.0\.1/
--- no_error_log
[alert]
[crit]



=== TEST 6: a worker that exits while a name is resolved does not wait
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=1s;
    wapress_redis silent.test:$TEST_NGINX_R185_PORT;
    wapress_redis_timeout 300ms;
    wapress_redis_connect_timeout 20s;
--- config eval: $::Config
--- init
# the page starts a resolution that would last 20s, and gets its default
my ($m, $took) = main::mark();
Test::More::is($m, 'DEFAULT', 'pending: the default');
Test::More::cmp_ok($took, '<', 0.4, 'pending: within the deadline');
open my $fh, '<', $Test::Nginx::Util::PidFile or die "pid file: $!";
chomp(my $master = <$fh>);
my @old = main::workers_of($master);
kill 'HUP', $master;
my $t0 = Time::HiRes::time();
main::poll(sub { !grep { kill 0, $_ } @old }, 5, 'the old worker exits');
Test::More::cmp_ok(Time::HiRes::time() - $t0, '<', 3,
                   'the old worker exits without waiting for the DNS');
--- request
GET /mark
--- response_body
[DEFAULT]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 7: a resolver and a wapress_redis in a server{} block
--- http_config
    wapress_redis_timeout 300ms;
--- config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=1s;

    location = /mark {
        wapress_redis redis.test:$TEST_NGINX_R185_PORT;
        wapress_layout ../html/mark.html;
        wapress_fragment m t185:mark default=DEFAULT;
    }
--- request
GET /mark
--- response_body
[first]
--- no_error_log
[error]
[warn]
[crit]



=== TEST 8: no resolver: the name is resolved when nginx starts
--- http_config
    wapress_redis localhost:$TEST_NGINX_R185_PORT;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- request
GET /mark
--- response_body
[first]
--- no_error_log
[error]
[warn]
[crit]



=== TEST 9: "localhost" is never asked of the resolver (the DNS says NXDOMAIN)
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=1s;
    wapress_redis localhost:$TEST_NGINX_R185_PORT;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- request
GET /mark
--- response_body
[first]
--- no_error_log
[error]
[warn]
[crit]



=== TEST 10: no resolver: a name not found is an error at load time
--- http_config
    wapress_redis nx.invalid:$TEST_NGINX_R185_PORT db=2 password=s3cret;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*host not found in redis address "nx\.invalid:\d+" in .*nginx\.conf:\d+/
--- no_error_log
s3cret



=== TEST 11: a Sentinel named by a host name, through the resolver
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=1s;
    wapress_redis sentinel sentinel.test:$TEST_NGINX_R185_SENTINEL master=news;
    wapress_redis_timeout 300ms;
--- config eval: $::Config
--- init
main::poll(sub { main::log_since() =~ /primary is 127\.0\.0\.1:$main::RPort / },
           5, 'primary found');
--- request
GET /mark
--- response_body
[first]
--- error_log eval
qr/\[notice\] .*wapress: redis sentinel master=news: primary is 127\.0\.0\.1:\d+ \(the Sentinels say\)/
--- no_error_log
[error]
[warn]
[crit]



=== TEST 12: no resolver: a Sentinel's name not found is an error at load time
--- http_config
    wapress_redis sentinel sentinel.test:$TEST_NGINX_R185_SENTINEL master=news;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*host not found in redis address "sentinel\.test:\d+" in .*nginx\.conf:\d+/
