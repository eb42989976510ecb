package t::WapressTest;

# Shared defaults for the wapress test suite, for the real
# Test::Nginx::Socket and the compatible runner in t/lib alike:
#
# - every block gets "wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;" in
#   http_config unless it names a wapress_redis itself, and
#   no_error_log [error] / [alert] / [crit] unless it checks logs itself;
#   with TEST_NGINX_LOAD_MODULES, variables_hash_max_size 4096;
# - redis(@args) speaks RESP to the test Redis (arguments sent as bulk
#   strings, binary safe) and returns the reply; redis_at($port, @args) and
#   redis_unix($path, @args) talk to another server, redis_session($port,
#   [@cmd], ...) sends several commands on one connection;
# - start_redis($port, @options) / stop_redis($port) run a private
#   redis-server for tests that kill or pause it;
# - http_get($path) sends one GET to the test nginx outside the blocks;
# - with TEST_WAPRESS_MODE=filter, a block's "wapress_layout PATH;" is
#   served in filter mode instead: the same file, as a static file that
#   "wapress_filter on" rewrites, so that the same expected bodies and
#   codes hold for both front ends of the page model.  A block that cannot
#   apply to filter mode says why in a "--- layout_only: REASON" section
#   (it then runs as it is); must_die blocks (wapress_layout's own
#   configuration errors) run as they are; so does a whole file that sets
#   $t::WapressTest::LayoutOnly to its reason.  An expected Content-Length
#   becomes "none" (the filter streams the page chunked).

use Test::Nginx::Socket -Base;
use IO::Socket::INET;
use IO::Socket::UNIX;
use File::Path qw(make_path);
use Time::HiRes qw(sleep);

# a file that cannot run in filter mode sets this to say why
our $LayoutOnly;

our @EXPORT = qw(redis redis_at redis_unix redis_session start_redis
                 stop_redis redis_pid example_file http_get);

$ENV{TEST_NGINX_REDIS_PORT} ||= 6399;
$ENV{TEST_NGINX_REDIS_AUTH_PORT} ||= 6398;
$ENV{TEST_NGINX_ROOT} ||= Cwd::cwd();
$ENV{TEST_NGINX_EXAMPLE} ||= "$ENV{TEST_NGINX_ROOT}/examples/seed-page";
$ENV{TEST_NGINX_REDIS_DIR} ||= "$ENV{TEST_NGINX_ROOT}/build/test-redis";
$ENV{TEST_NGINX_REDIS_SOCKET} ||= "$ENV{TEST_NGINX_REDIS_DIR}/main/redis.sock";

add_block_preprocessor(sub {
    my $block = shift;

    my $http = $block->http_config // '';
    if ($http !~ /wapress_redis\s/) {
        $http = "    wapress_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT};\n"
                . $http;
        $block->set_value('http_config', $http);
    }

    # modules loaded before ours (make test-dynamic: nchan) bring
    # variables enough for a [warn] about the default variables_hash
    if ($ENV{TEST_NGINX_LOAD_MODULES} && $http !~ /variables_hash_max/) {
        $block->set_value('http_config',
                          "    variables_hash_max_size 4096;\n" . $http);
    }

    if (!defined $block->no_error_log && !defined $block->error_log
        && !defined $block->must_die)
    {
        $block->set_value('no_error_log', "[error]\n[alert]\n[crit]\n");
    }

    my $config = $block->config;
    if (($ENV{TEST_WAPRESS_MODE} // '') eq 'filter' && defined $config
        && !defined $LayoutOnly && !defined $block->layout_only && !defined $block->must_die
        && $config =~ s/\bwapress_layout\s+(\S+?)\s*;/_as_filter($1)/ge)
    {
        $block->set_value('config', $config);

        # the filter streams: no Content-Length, chunked instead
        my $h = $block->response_headers;
        if (defined $h) {
            s/^Content-Length:.*$/!Content-Length/mg
                for ref $h ? @$h : $h;
            $block->set_value('response_headers', $h);
        }
    }
});

# "wapress_layout PATH;" (PATH relative to the conf directory, or
# absolute) as a static file through the body filter
sub _as_filter ($) {
    my $path = shift;
    my ($root, $file) = $path =~ m{^[/\$]} ? ('/', $path)
                                           : ('conf', "/$path");
    return "wapress_filter on; root $root; try_files $file =404; "
           . "types { } default_type text/html;";
}

sub example_file ($) {
    my $name = shift;
    open my $fh, '<:raw', "$ENV{TEST_NGINX_EXAMPLE}/$name"
        or die "cannot open $name: $!";
    local $/;
    return scalar <$fh>;
}

sub _resp_read ($);

sub _resp_read ($) {
    my $sock = shift;
    local $/ = "\r\n";
    my $line = <$sock>;
    defined $line or die "redis: connection closed\n";
    $line =~ s/\r\n\z//;
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $type eq '+' || $type eq ':';
    return "ERR:$rest" if $type eq '-';
    if ($type eq '$') {
        return undef if $rest < 0;
        my $buf = '';
        while (length($buf) < $rest + 2) {
            my $n = read($sock, $buf, $rest + 2 - length($buf), length $buf);
            die "redis: short read\n" unless $n;
        }
        return substr($buf, 0, $rest);
    }
    if ($type eq '*') {
        return undef if $rest < 0;
        return [map { _resp_read($sock) } 1 .. $rest];
    }
    die "redis: bad reply line '$line'\n";
}

sub _resp_cmd ($@) {
    my ($sock, @args) = @_;
    my $req = '*' . @args . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;
    print $sock $req;
    return _resp_read($sock);
}

sub redis_at ($@) {
    my ($port, @args) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Timeout => 5)
        or die "cannot connect to redis at $port: $!\n";
    binmode $sock;
    return _resp_cmd($sock, @args);
}

sub redis_unix ($@) {
    my ($path, @args) = @_;
    my $sock = IO::Socket::UNIX->new(Peer => $path)
        or die "cannot connect to redis at $path: $!\n";
    binmode $sock;
    return _resp_cmd($sock, @args);
}

# several commands on one connection: redis_session($port, [@cmd], ...)
sub redis_session ($@) {
    my ($port, @cmds) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Timeout => 5)
        or die "cannot connect to redis at $port: $!\n";
    binmode $sock;
    return map { _resp_cmd($sock, @$_) } @cmds;
}

sub redis (@) {
    return redis_at($ENV{TEST_NGINX_REDIS_PORT}, @_);
}

sub _redis_dir ($) {
    return "$ENV{TEST_NGINX_REDIS_DIR}/private-$_[0]";
}

sub redis_pid ($) {
    my $port = shift;
    open my $fh, '<', _redis_dir($port) . '/redis.pid' or return undef;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

sub start_redis ($@) {
    my ($port, @opts) = @_;
    my $dir = _redis_dir($port);
    make_path($dir);
    system('redis-server', '--daemonize', 'yes', '--bind', '127.0.0.1',
           '--port', $port, '--dir', $dir, '--pidfile', "$dir/redis.pid",
           '--logfile', "$dir/redis.log", '--save', '', '--appendonly',
           'no', @opts) == 0 or die "cannot start redis-server on $port\n";
    for (1 .. 100) {
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => $port);
        if ($sock && redis_pid($port)) {
            return;
        }
        sleep 0.05;
    }
    die "redis-server on $port did not start\n";
}

# Kills the private redis-server on $port; done when the port can be bound
# again (where nothing reaps orphans quickly, a killed process that is a
# zombie still looks alive to "kill 0").
sub stop_redis ($) {
    my $port = shift;
    my $pid = redis_pid($port) or return;
    kill 'CONT', $pid;
    kill 'KILL', $pid;
    unlink _redis_dir($port) . '/redis.pid';
    for (1 .. 300) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $port, Listen => 1,
                                      ReuseAddr => 1);
        if ($s) {
            close $s;
            return;
        }
        sleep 0.01;
    }
    die "port $port still in use\n";
}

# one HTTP/1.0 GET to the test nginx; the whole raw response
sub http_get ($) {
    my $path = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $Test::Nginx::Util::ServerPort,
                                  Timeout => 3)
        or die "connect: $!";
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
    local $/;
    my $resp = <$s>;
    return $resp // '';
}

1;
