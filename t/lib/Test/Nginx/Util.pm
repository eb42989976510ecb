package Test::Nginx::Util;

# Server management half of the Test::Nginx::Socket compatible runner:
# settings, server root, nginx.conf generation, starting and stopping
# nginx, the per-block life cycle, mock TCP back-ends and error-log
# reading.  Request building, response parsing and the checks live in
# Test/Nginx/Socket.pm, which plugs itself in through $RunTestHelper,
# $CheckErrorLog and $CheckShutdownErrorLog.
#
# Only loaded when the real Test::Nginx (openresty/test-nginx) is not
# installed; see t/lib/README.md.

use strict;
use warnings;

our $VERSION = '0.33';

use base 'Exporter';

use Carp qw( croak );
use File::Path qw( make_path remove_tree );
use File::Spec ();
use File::Temp ();
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use List::Util qw( min shuffle );
use POSIX qw( SIGKILL SIGQUIT SIGTERM WNOHANG );
use Scalar::Util qw( looks_like_number );
use Socket qw( SOCK_STREAM );
use Test::LongString ();
use Test::More ();
use Time::HiRes qw( sleep );

our @EXPORT = qw(
    $ServerPort $ServerPortForClient $ServerAddr $ServerName $ServRoot
    $NginxVersion $NginxRawVersion $OpenSSLVersion $RepeatEach
    $NoLongString $PidFile $ConfFile $ErrLogFile $AccLogFile $HtmlDir
    $RunTestHelper $CheckErrorLog $CheckShutdownErrorLog
    $UseValgrind $TestNginxSleep

    run_tests repeat_each no_shuffle no_long_string no_root_location
    log_level master_on master_off master_process_enabled workers
    worker_connections env_to_nginx config_preamble
    add_block_preprocessor add_cleanup_handler add_test_cleanup_handler
    bail_out is_str timeout server_name server_addr server_port
    server_port_for_client server_root html_dir check_accum_error_log
    use_hup no_nginx_manager

    sleep_time verbose parse_time trim show_all_chars parse_headers
    error_log_data access_log_data get_canon_version get_nginx_version
    get_pid_from_pidfile setup_server_root write_config_file
    expand_env_in_text is_running
);

my $RUNNER = 'Test::Nginx (compatibility runner in t/lib)';

sub gen_rand_port (;$$);
sub bail_out (@);

#--------------------------------------------------------------------------
# Modes of the real module that this runner refuses instead of faking.
#--------------------------------------------------------------------------

my %UnsupportedEnv = (
    TEST_NGINX_USE_HUP                   => 'HUP reload mode',
    TEST_NGINX_USE_HTTP2                 => 'HTTP/2 through curl',
    TEST_NGINX_USE_HTTP3                 => 'HTTP/3 through curl',
    TEST_NGINX_USE_STAP                  => 'systemtap mode',
    TEST_NGINX_USE_RR                    => 'rr recording mode',
    TEST_NGINX_CHECK_LEAK                => 'memory leak mode',
    TEST_NGINX_BENCHMARK                 => 'benchmark mode',
    TEST_NGINX_NO_NGINX_MANAGER          => 'external nginx mode',
    TEST_NGINX_IGNORE_MISSING_DIRECTIVES => 'dry run on unknown directives',
    TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR => 'valgrind exit on first error',
);

my %UnsupportedSections = map { $_ => 1 } qw(
    http2 http3 curl curl_options curl_protocol curl_error
    stap stap_out stap_out_like stap_out_unlike
    udp_listen udp_reply udp_reply_delay udp_query
    reload_fails response_body_json_sort write_resp_body_file
    tcp_query_auto_timeout quic_max_idle_timeout skip_slave
    request_eval response_body_eval
);

sub refuse ($) {
    my $what = shift;
    die "$RUNNER: $what is not supported by this runner; install the "
        . "real Test::Nginx::Socket to use it\n";
}

for my $var (sort keys %UnsupportedEnv) {
    if ($ENV{$var}) {
        refuse("env $var ($UnsupportedEnv{$var})");
    }
}

#--------------------------------------------------------------------------
# Settings
#--------------------------------------------------------------------------

our $Verbose            = $ENV{TEST_NGINX_VERBOSE};
our $NginxBinary        = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Workers            = 1;
our $WorkerConnections  = 64;
our $LogLevel           = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $ServerAddr         = '127.0.0.1';
our $ServerName         = 'localhost';
our $ServerPort         = $ENV{TEST_NGINX_SERVER_PORT}
                          || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $NoRootLocation     = 0;
our $NoShuffle          = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoLongString;
our $RepeatEach         = 1;
our $Timeout            = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep     = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ForceRestartOnTest = $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} // 1;
our $CheckAccumErrLog   = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $UseValgrind        = $ENV{TEST_NGINX_USE_VALGRIND};
our $LoadModules        = $ENV{TEST_NGINX_LOAD_MODULES};
our $EventType          = $ENV{TEST_NGINX_EVENT_TYPE};
our $ReusePort          = $ENV{TEST_NGINX_REUSE_PORT};
our $Randomize          = $ENV{TEST_NGINX_RANDOMIZE};
our $WorkerUser         = $ENV{TEST_NGINX_WORKER_USER};

if (defined $WorkerUser && $WorkerUser !~ /^\w+(?:\s+\w+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

our @EnvToNginx;
our $ConfigPreamble = '';
our @BlockPreprocessors;
our @CleanupHandlers;
our @TestCleanupHandlers;

our ($NginxVersion, $NginxRawVersion, $OpenSSLVersion, $NginxV);

# hooks filled in by Test::Nginx::Socket
our ($RunTestHelper, $CheckErrorLog, $CheckShutdownErrorLog);

# run state
our $ErrLogFilePos = 0;
our $RandPorts = {};        # $TEST_NGINX_RAND_PORT_N values of the block
our ($PrevConfig, $PrevBlock);
our $LastStart;             # [block, rand ports] that last started nginx
our ($ChildPid, $TcpServerPid);
our $InSubprocess;

# a valgrind'ed nginx can take long to write its leak report on exit
my $VALGRIND_EXIT_GRACE = 60;

srand($$ ^ time);

if ($Randomize) {
    $ServerPort = gen_rand_port(1000)
        // die "Cannot find an available listening port number\n";
    $ServerPortForClient = $ServerPort;
}

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : ($ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot'));
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');

sub verbose ()    { $Verbose }
sub sleep_time () { $TestNginxSleep }
sub html_dir ()   { $HtmlDir }
sub server_root () { $ServRoot }

sub repeat_each (@) {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub no_shuffle ()       { $NoShuffle = 1 }
sub no_long_string ()   { $NoLongString = 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub master_on ()        { $MasterProcessEnabled = 'on' }
sub master_off ()       { $MasterProcessEnabled = 'off' }
sub use_hup ()          { refuse('use_hup() (HUP reload mode)') }
sub no_nginx_manager () { refuse('no_nginx_manager() (external nginx mode)') }

sub master_process_enabled (@) {
    return $MasterProcessEnabled unless @_;
    $MasterProcessEnabled = shift() ? 'on' : 'off';
}

sub workers (@) {
    return $Workers unless @_;
    $Workers = shift;
}

sub worker_connections (@) {
    return $WorkerConnections unless @_;
    $WorkerConnections = shift;
}

sub log_level (@) {
    return $LogLevel unless @_;
    $LogLevel = shift;
}

sub timeout (@) {
    return $Timeout unless @_;
    $Timeout = shift;
}

sub server_name (@) {
    return $ServerName unless @_;
    $ServerName = shift;
}

sub server_addr (@) {
    return $ServerAddr unless @_;
    $ServerAddr = shift;
}

sub server_port (@) {
    return $ServerPort unless @_;
    $ServerPort = shift;
}

sub server_port_for_client (@) {
    return $ServerPortForClient unless @_;
    $ServerPortForClient = shift;
}

sub config_preamble ($) {
    $ConfigPreamble = shift;
}

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        if ($v !~ /^[A-Za-z_]/ || $v =~ /\n/) {
            croak "env_to_nginx: bad argument value: $v\n";
        }
        # the real module quotes such a value in place, again at every
        # nginx start: the second start fails ('unexpected "R"')
        if ($v =~ /\s/) {
            croak "env_to_nginx: a value with white space is not supported"
                  . " (the real Test::Nginx breaks it): $v\n";
        }
        push @EnvToNginx, $v;
    }
}

sub add_block_preprocessor (&) {
    unshift @BlockPreprocessors, shift;
}

sub add_cleanup_handler ($) {
    unshift @CleanupHandlers, shift;
}

sub add_test_cleanup_handler ($) {
    unshift @TestCleanupHandlers, shift;
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

sub is_str (@) {
    my ($got, $expected, $desc) = @_;

    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }

    if ($NoLongString) {
        return Test::More::is($got, $expected, $desc);
    }

    return Test::LongString::is_string($got, $expected, $desc);
}

#--------------------------------------------------------------------------
# Small helpers
#--------------------------------------------------------------------------

sub parse_time ($) {
    my $tm = shift;
    return $tm unless defined $tm;

    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
        $tm = $tm / 1000;

    } else {
        $tm =~ s/([^_a-zA-Z])s$/$1/;
    }

    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/gs;
    $s =~ s/\r/\\r/gs;
    $s =~ s/\t/\\t/gs;
    return $s;
}

# "Key: value" lines -> { Key => value }; "!Key" -> { Key => undef }
sub parse_headers ($) {
    my $text = shift;
    my %headers;

    for my $line (split /\n/, $text // '') {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';

        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
            next;
        }

        my ($key, $val) = split /\s*:\s*/, $line, 2;
        $headers{$key} = $val;
    }

    return \%headers;
}

sub get_canon_version (@) {
    return sprintf "%d.%03d%03d", $_[0], $_[1], $_[2];
}

sub canon_openssl_version (@) {
    my ($maj, $min, $patch, $letter) = @_;
    my $v = get_canon_version($maj, $min, $patch);
    $v .= sprintf "%03d", ord($letter) - ord('a') if defined $letter;
    return $v;
}

sub version_op ($$$) {
    my ($have, $op, $want) = @_;
    return $have < $want  if $op eq '<';
    return $have <= $want if $op eq '<=';
    return $have > $want  if $op eq '>';
    return $have >= $want if $op eq '>=';
    die "bad version operator $op\n";
}

sub slurp ($) {
    my $path = shift;
    open my $in, '<', $path or return undef;
    binmode $in;
    local $/;
    my $data = <$in>;
    close $in;
    return $data;
}

sub can_run ($) {
    my $cmd = shift;

    if ($cmd =~ m{/}) {
        return -f $cmd && -x _ ? $cmd : undef;
    }

    for my $dir (split(/:/, $ENV{PATH} // ''), '.') {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x _;
    }

    return undef;
}

sub gen_rand_port (;$$) {
    my ($tries, $used) = @_;
    $tries //= 1000;
    $used //= {};

    for (1 .. $tries) {
        my $port = 1988 + int rand(63000);
        next if $used->{$port};

        my $sock = IO::Socket::INET->new(
            LocalAddr => $ServerAddr,
            LocalPort => $port,
            Proto     => 'tcp',
        );

        if ($sock) {
            close $sock;
            return $port;
        }
    }

    return undef;
}

# $TEST_NGINX_FOO -> $ENV{TEST_NGINX_FOO}; $TEST_NGINX_RAND_PORT_N -> a free
# port, stable within one block (kept in %$rand_ports)
sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return $text unless defined $text && !ref $text;

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        expand_one_env($1, $name, $rand_ports)
    }ge;

    return $text;
}

sub expand_one_env ($$$) {
    my ($var, $name, $rand_ports) = @_;

    if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
        return $rand_ports->{$var} if defined $rand_ports->{$var};

        my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);
        my $port = gen_rand_port(1000, \%used);
        if (!defined $port) {
            bail_out("$name - Cannot find an available listening port "
                     . "number for $var.\n");
        }
        return $rand_ports->{$var} = $port;
    }

    if (!defined $ENV{$var}) {
        bail_out("$name - No environment $var defined.\n");
    }

    return $ENV{$var};
}

#--------------------------------------------------------------------------
# Processes
#--------------------------------------------------------------------------

sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid;

    {
        local ($!, $?);
        waitpid($pid, WNOHANG);     # reap it if it is our own child
    }

    return 0 unless kill 0, $pid;

    # a daemonised nginx is not our child: do not wait on its zombie
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in> // '';
        close $in;
        return 0 if $stat =~ /^\d+ \(.*\) [ZX]/s;
    }

    return 1;
}

sub wait_for_exit ($$) {
    my ($pid, $secs) = @_;
    my $step = 0.01;

    while ($secs > 0 && is_running($pid)) {
        sleep $step;
        $secs -= $step;
    }

    return !is_running($pid);
}

sub kill_process ($$;$$) {
    my ($pid, $name, $grace, $sig) = @_;
    local $?;

    $grace //= $Timeout;
    kill($sig // SIGQUIT, $pid);
    return if wait_for_exit($pid, $grace);

    warn "$name - timeout when waiting for the process $pid to exit\n";

    my $group = getpgrp($pid);
    kill(SIGKILL, (defined $group && $group == $pid) ? -$pid : $pid);
    wait_for_exit($pid, 1);
}

sub get_pid_from_pidfile ($) {
    my $name = shift;

    open my $in, '<', $PidFile
        or bail_out("$name - Failed to open the pid file $PidFile for "
                    . "reading: $!");
    my $pid = do { local $/; <$in> } // '';
    close $in;
    $pid =~ s/\s+//g;
    return $pid;
}

sub nginx_stop_signal () {
    return $ENV{TEST_NGINX_FAST_SHUTDOWN} ? SIGTERM : SIGQUIT;
}

# Stop the nginx of the previous block, if any: QUIT, wait timeout(), KILL.
sub stop_nginx ($) {
    my $name = shift;

    if (defined $ChildPid) {
        # valgrind mode: nginx is our own child process
        if (is_running($ChildPid)) {
            kill_process($ChildPid, $name, $VALGRIND_EXIT_GRACE,
                         nginx_stop_signal());
        }
        undef $ChildPid;
        unlink $PidFile if -f $PidFile;
        return;
    }

    return unless -f $PidFile;

    my $pid = get_pid_from_pidfile($name);
    if ($pid ne '' && is_running($pid)) {
        kill_process($pid, $name, $Timeout, nginx_stop_signal());
    }

    unlink $PidFile if -f $PidFile;
}

# As the real module: the handlers run at the end of run_tests() and again
# from END, there with $? being the script's exit status (a handler that
# reaps a process without "local $?" changes it).
sub cleanup () {
    for my $handler (@CleanupHandlers) {
        $handler->();
    }

    if (defined $TcpServerPid) {
        kill_process($TcpServerPid, 'cleanup', $Timeout, SIGTERM);
        undef $TcpServerPid;
    }

    if (defined $ChildPid) {
        kill_process($ChildPid, 'cleanup', $VALGRIND_EXIT_GRACE,
                     nginx_stop_signal());
        undef $ChildPid;
    }
}

#--------------------------------------------------------------------------
# Server root, user files, nginx.conf
#--------------------------------------------------------------------------

sub setup_server_root () {
    if (-d $ServRoot) {
        # only the sub-directories we create are removed, so that a
        # misused TEST_NGINX_SERVROOT cannot wipe real data
        remove_tree($ConfDir, $HtmlDir, $LogDir, "$ServRoot/cache",
                    glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }

    for my $dir ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        mkdir $dir or bail_out("Failed to do mkdir $dir: $!\n");
    }

    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index
        or bail_out("Can't open $index for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;
}

sub parse_user_files_text ($) {
    my $raw = shift;
    my (@files, $current);

    for my $line (split /^/, $raw) {
        if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
            $current = [$1, undef, $2];
            push @files, $current;

        } elsif ($current) {
            $current->[1] .= $line;
        }
    }

    return \@files;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        $files = parse_user_files_text($files);

    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";

        my ($dir) = $path =~ m{(.*)/};
        if (defined $dir && !-d $dir) {
            make_path($dir)
                or bail_out("$name - Cannot create directory $dir");
        }

        $body = expand_env_in_text($body // '', $name, $rand_ports);

        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;

        set_file_mtime($path, $date, $name) if $date;
    }
}

# TIMESTAMP is touch -t syntax ([[CC]YY]MMDDhhmm[.ss]) in GMT
sub set_file_mtime ($$$) {
    my ($path, $date, $name) = @_;
    local $ENV{TZ} = 'GMT';
    system('touch', '-t', $date, $path) == 0
        or bail_out("$name - Failed to run touch -t '$date' $path\n");
}

sub temp_path_directives ($) {
    my $http_config = shift;
    my @lines;

    for my $kind (qw( client_body proxy fastcgi scgi uwsgi )) {
        my $directive = "${kind}_temp_path";
        next if $http_config =~ /\b\Q$directive\E\b/;
        next if $kind ne 'client_body' && $kind ne 'proxy'
                && ($NginxV // '') =~ /--without-http_${kind}_module/;
        push @lines, "$directive $ServRoot/${kind}_temp;";
    }

    return @lines ? '    ' . join(' ', @lines) . "\n" : '';
}

sub main_context_env_lines () {
    my $out = '';

    for my $v (qw( MOCKEAGAIN_VERBOSE MOCKEAGAIN
                   MOCKEAGAIN_WRITE_TIMEOUT_PATTERN LD_PRELOAD
                   LD_LIBRARY_PATH DYLD_INSERT_LIBRARIES
                   DYLD_FORCE_FLAT_NAMESPACE ))
    {
        $out .= "env $v;\n";
    }

    for my $v (@EnvToNginx) {
        $out .= "env $v;\n";
    }

    return $out;
}

sub load_module_lines () {
    return '' unless $LoadModules;
    my @mods = grep { length } split /\s+/, $LoadModules;
    return join '', map { "load_module $_;\n" } @mods;
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    my $http_config = expand_env_in_text($block->http_config // '', $name,
                                         $rand_ports);
    my $main_config = expand_env_in_text($block->main_config // '', $name,
                                         $rand_ports);
    my $post_main_config = expand_env_in_text($block->post_main_config // '',
                                              $name, $rand_ports);
    my $err_log_file = expand_env_in_text($block->error_log_file, $name,
                                          $rand_ports) || $ErrLogFile;
    my $server_name = $block->server_name // $ServerName;
    $config //= '';

    (my $quoted_server_name = $server_name) =~ s/\\/\\\\/g;
    $quoted_server_name =~ s/'/\\'/g;

    my $daemon = use_valgrind_for($block) ? 'off' : 'on';
    my $listen_opts = $ReusePort ? ' reuseport' : '';
    my $env_lines = main_context_env_lines();
    my $load_modules = load_module_lines();
    my $temp_paths = temp_path_directives($http_config);

    my $root_location = $NoRootLocation ? '' : <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    my $events_use = $EventType ? "    use $EventType;\n" : '';

    my $user = '';
    if (defined $WorkerUser) {
        $user = "user $WorkerUser;\n";

    } elsif ($> == 0) {
        $user = "user root;\n";
    }

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");

    print $out <<_EOC_;
worker_processes  $Workers;
daemon $daemon;
master_process $MasterProcessEnabled;
error_log $err_log_file $LogLevel;
pid       $PidFile;
$env_lines
$load_modules$main_config

http {
    access_log $AccLogFile;
$temp_paths
    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config

    server {
        listen          $ServerPort$listen_opts;
        server_name     '$quoted_server_name';

        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
}

$post_main_config

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
$events_use}
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
$user
_EOC_

    close $out;
}

#--------------------------------------------------------------------------
# Starting nginx
#--------------------------------------------------------------------------

sub get_nginx_version () {
    my $out = `$NginxBinary -V 2>&1`;

    if (!defined $out || $? != 0) {
        bail_out("Failed to get the version of the Nginx in PATH: "
                 . ($out // ''));
    }

    $NginxV = $out;

    if ($out =~ m{built with OpenSSL (\d+)\.(\d+)\.(\d+)([a-z])?}s) {
        $OpenSSLVersion = canon_openssl_version($1, $2, $3, $4);
    }

    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }

    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

sub use_valgrind_for ($) {
    my $block = shift;
    return $UseValgrind && !defined $block->must_die;
}

sub valgrind_prefix () {
    my @opts;

    if ($UseValgrind =~ /^\d+$/) {
        @opts = qw( --num-callers=100 --tool=memcheck --leak-check=full
                    --show-possibly-lost=no --gen-suppressions=all );
        push @opts, '--suppressions=valgrind.suppress'
            if -f 'valgrind.suppress';

    } else {
        @opts = ($UseValgrind);
    }

    # extension: one report file per process so that a Makefile can fail
    # on any finding
    if (my $log = $ENV{TEST_NGINX_VALGRIND_LOG}) {
        push @opts, "--log-file=$log.%p";
    }

    return join ' ', 'valgrind', '-q', @opts;
}

sub nginx_command ($$) {
    my ($block, $valgrind) = @_;

    my $cmd = $NginxBinary;
    $cmd .= " -e $ErrLogFile" if $NginxVersion >= 1.019005;
    $cmd .= " -p $ServRoot/ -c $ConfFile > /dev/null";
    $cmd .= " 2> /dev/null" if defined $block->suppress_stderr;
    $cmd = valgrind_prefix() . " $cmd" if $valgrind;

    if (my $preload = $ENV{TEST_NGINX_LD_PRELOAD}) {
        $preload .= ":$ENV{LD_PRELOAD}" if $ENV{LD_PRELOAD};
        $cmd = "LD_PRELOAD='$preload' $cmd";
    }

    return $cmd;
}

sub prepare_server_root ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    setup_server_root();

    if (defined(my $code = $block->post_setup_server_root)) {
        eval $code;
        bail_out("$name - post_setup_server_root failed: $@") if $@;
    }

    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports);

    if (!can_run($NginxBinary)) {
        bail_out("$name - Cannot find the nginx executable in the PATH "
                 . "environment");
    }

    $ErrLogFilePos = 0;
}

sub last_emerg_line () {
    my $log = slurp($ErrLogFile) // '';
    my @emerg = grep { /\[emerg\]/ } split /\n/, $log;
    return @emerg ? " Last error: $emerg[-1]" : '';
}

sub start_nginx_daemon ($) {
    my $block = shift;
    my $name = $block->name;
    my $cmd = nginx_command($block, 0);
    my ($tries, $waited) = (0, 0);

    warn "starting nginx: $cmd\n" if $Verbose;

    while (1) {
        my $status = system($cmd);
        last if $status == 0;

        my $delay = min(0.1 * ++$tries, 1);
        sleep $delay;
        $waited += $delay;

        if ($waited >= 30) {
            bail_out("$name - Cannot start nginx using command \"$cmd\" "
                     . "(status code $status)." . last_emerg_line());
        }
    }

    # nginx writes its pid file right after daemonising; wait for it so
    # that the next restart can always find the process to stop
    for (1 .. 100) {
        last if -s $PidFile;
        sleep 0.01;
    }

    sleep $TestNginxSleep;
}

sub start_nginx_under_valgrind ($$) {
    my ($block, $label) = @_;
    my $cmd = nginx_command($block, 1);

    warn "$label\n";

    my $pid = fork;
    bail_out("$label - fork() failed: $!") unless defined $pid;

    if ($pid == 0) {
        $InSubprocess = 1;
        setpgrp;
        exec "exec $cmd" or POSIX::_exit(127);
    }

    $ChildPid = $pid;
    sleep $TestNginxSleep;
}

# Extension: under valgrind nginx is stopped after every block, so a block
# without a config section would find no server (the real module fails
# such blocks).  Start nginx again with the last block config instead.
sub restart_for_configless_block ($) {
    my $name = shift;
    my ($block, $rand_ports) = @$LastStart;

    prepare_server_root($block, $PrevConfig, $rand_ports);
    start_nginx_under_valgrind($block, $name);
}

sub decode_wait_status ($) {
    my $status = shift;
    return (1, 0, undef) if $status == -1;
    return (0, ($status & 128) ? 1 : 0, $status >> 8);
}

sub run_must_die ($$) {
    my ($block, $cmd) = @_;
    my $name = $block->name;
    my $expected = $block->must_die;

    for my $i (0 .. $RepeatEach - 1) {
        my $status = system($cmd);
        my ($exec_failed, $coredump, $exit_code) = decode_wait_status($status);

        if ($exec_failed) {
            Test::More::fail("$name - failed to execute the nginx command line");

        } elsif ($coredump) {
            Test::More::fail("$name - nginx core dumped");

        } elsif (looks_like_number($expected)) {
            Test::More::is($expected, $exit_code,
                           "$name - die with the expected exit code");

        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        $CheckErrorLog->($block, undef, 0, $i, 0);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; "
                 . "killing it (req $i)\n";
            for (1 .. 15) {
                last if -f $PidFile;
                sleep $TestNginxSleep;
            }
            stop_nginx($name);
        }
    }
}

#--------------------------------------------------------------------------
# Mock TCP back-end (tcp_listen & co.): a forked child per repeat
# iteration that accepts one connection, reads the query, waits, replies.
#--------------------------------------------------------------------------

sub open_tcp_listener ($$) {
    my ($target, $name) = @_;
    my $err;

    for my $try (1 .. 30) {
        my $sock;

        if ($target =~ /^\d+$/) {
            $sock = IO::Socket::INET->new(
                LocalHost => '127.0.0.1',
                LocalPort => $target,
                Proto     => 'tcp',
                ReuseAddr => 1,
                Listen    => 5,
            );

        } elsif ($target =~ m{\S+\.sock$}) {
            unlink $target if -e $target;
            $sock = IO::Socket::UNIX->new(
                Local  => $target,
                Type   => SOCK_STREAM,
                Listen => 5,
            );

        } else {
            bail_out("$name - bad tcp_listen target: $target");
        }

        return $sock if $sock;

        $err = $!;
        last unless $err =~ /address already in use/i;
        warn "WARNING: failed to create the tcp listening socket: $err\n";
        sleep 1;
    }

    bail_out("$name - failed to create the tcp listening socket: $err");
}

sub start_tcp_server ($$) {
    my ($block, $rand_ports) = @_;
    return undef unless defined $block->tcp_listen;

    my $name = $block->name;
    my $target = expand_env_in_text($block->tcp_listen, $name, $rand_ports);

    if (!defined $block->tcp_reply && !defined $block->tcp_shutdown) {
        bail_out("$name - no --- tcp_reply specified but --- tcp_listen "
                 . "is specified");
    }

    my ($query_len, $query_file);
    if (defined $block->tcp_query || defined $block->tcp_query_len) {
        $query_len = $block->tcp_query_len // length $block->tcp_query;
        (undef, $query_file) = File::Temp::tempfile('tcp_query_XXXXXX',
                                                    TMPDIR => 1);
    }

    my $listener = open_tcp_listener($target, $name);

    my $pid = fork;
    bail_out("$name - fork() failed: $!") unless defined $pid;

    if ($pid == 0) {
        $InSubprocess = 1;
        eval { tcp_server_child($block, $listener, $query_len, $query_file) };
        warn "$name - TCP server: $@" if $@;
        POSIX::_exit(0);
    }

    $TcpServerPid = $pid;

    return {
        pid        => $pid,
        socket     => $listener,
        target     => $target,
        query_file => $query_file,
    };
}

sub tcp_server_child ($$$$) {
    my ($block, $listener, $query_len, $query_file) = @_;
    my $name = $block->name;
    local $SIG{PIPE} = 'IGNORE';

    my $client;
    until ($client = $listener->accept) {
        warn "WARNING: $name - TCP server: failed to accept: $!\n";
        sleep $TestNginxSleep;
    }

    my ($no_read, $no_write);
    if (defined(my $how = $block->tcp_shutdown)) {
        my $delay = parse_time($block->tcp_shutdown_delay);
        sleep $delay if $delay;
        shutdown($client, $how);
        if ($how == 0 || $how == 2) {
            $no_read = 1;

        } else {
            $no_write = 1;
        }
    }

    my $query = '';
    read_tcp_query($client, $query_len, $query_file, \$query)
        unless $no_read;

    my $delay = parse_time($block->tcp_reply_delay);
    sleep $delay if $delay;

    send_tcp_reply($client, $block->tcp_reply, $query, $name)
        unless $no_write;

    if (defined $block->tcp_no_close) {
        sleep 1 while 1;
    }

    close $client;
    close $listener;
}

# one read unless a query length is known; the data is flushed to the
# query file after every read for the tcp_query checks
sub read_tcp_query ($$$$) {
    my ($client, $want, $file, $buf) = @_;

    while (1) {
        my $n = sysread($client, my $chunk, 4096);
        die "failed to receive: $!\n" unless defined $n;
        $$buf .= $chunk;

        if ($file) {
            open my $out, '>', $file or die "cannot open $file: $!\n";
            binmode $out;
            print $out $$buf;
            close $out;
        }

        last if $n == 0 || !$want || length($$buf) >= $want;
    }
}

sub send_tcp_reply ($$$$) {
    my ($client, $reply, $query, $name) = @_;
    return unless defined $reply;

    $reply = $reply->($query) if ref $reply eq 'CODE';

    my @chunks;
    if (!ref $reply) {
        @chunks = ($reply);

    } elsif (ref $reply eq 'ARRAY') {
        @chunks = @$reply;

    } else {
        die "bad --- tcp_reply value\n";
    }

    for my $chunk (@chunks) {
        if (!write_all($client, $chunk)) {
            warn "WARNING: tcp server failed to send reply: $!\n";
            last;
        }
    }
}

sub write_all ($$) {
    my ($fh, $data) = @_;
    my $off = 0;

    while ($off < length $data) {
        my $n = syswrite($fh, $data, length($data) - $off, $off);
        return 0 unless defined $n;
        $off += $n;
    }

    return 1;
}

sub stop_tcp_server ($$) {
    my ($tcp, $name) = @_;
    return unless $tcp;

    if (defined $TcpServerPid) {
        kill_process($TcpServerPid, $name, $Timeout, SIGTERM);
        undef $TcpServerPid;
    }

    close $tcp->{socket};
    unlink $tcp->{target} if $tcp->{target} =~ /\.sock$/;
    unlink $tcp->{query_file} if defined $tcp->{query_file};
}

sub run_tcp_server_tests ($$) {
    my ($block, $tcp) = @_;
    return unless $tcp;

    my $name = $block->name;
    my $query = '';
    if (defined $tcp->{query_file}) {
        $query = slurp($tcp->{query_file}) // '';
    }

    if (defined $block->tcp_query) {
        is_str($query, $block->tcp_query, "$name - tcp_query ok");
    }

    if (defined $block->tcp_query_len) {
        Test::More::is(length($query), $block->tcp_query_len,
                       "$name - TCP query length ok");
    }
}

#--------------------------------------------------------------------------
# Logs
#--------------------------------------------------------------------------

sub error_log_data () {
    # give log-phase handlers (run after the response) time to write
    sleep $TestNginxSleep * 3;

    open my $in, '<', $ErrLogFile or return [];

    if (!$CheckAccumErrLog && $ErrLogFilePos > 0) {
        seek $in, $ErrLogFilePos, 0;
    }

    my @lines = <$in>;
    $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
    close $in;

    return \@lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;

    open my $in, '<', $AccLogFile
        or die "open $AccLogFile failed: $!\n";
    my @lines = <$in>;
    close $in;

    return \@lines;
}

sub check_prev_block_shutdown_error_log () {
    my $block = $PrevBlock;
    return unless defined $block && defined $block->shutdown_error_log;

    my $dry_run = $ENV{TEST_NGINX_NO_CLEAN} ? 1 : 0;
    $CheckShutdownErrorLog->($block, $dry_run);
}

sub append_to_total_error_log ($) {
    my $block = shift;
    my $total = $ENV{TEST_NGINX_ERROR_LOG} or return;
    return unless -s $ErrLogFile;

    open my $out, '>>', $total
        or bail_out("Failed to append to $total: $!\n");
    print $out "\n=== ", $block->name, "\n", slurp($ErrLogFile) // '';
    close $out;
}

#--------------------------------------------------------------------------
# Block life cycle
#--------------------------------------------------------------------------

sub check_supported_block ($) {
    my $block = shift;

    for my $sec (sort keys %UnsupportedSections) {
        if (defined $block->$sec) {
            refuse("section '--- $sec' (block '" . $block->name . "')");
        }
    }
}

sub parse_skip_sections ($$) {
    my ($block, $s) = @_;
    my $name = $block->name;

    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            my ($count, $code) = ($1, $2);
            @$s{qw( count reason )} = ($count, 'skip_eval');
            $s->{skip} = eval $code;
            if ($@) {
                bail_out("$name - skip_eval - failed to eval the Perl code "
                         . "\"$code\": $@");
            }
        }
    }

    my $ver = qr/([<>]=?)\s*(\d+)\.(\d+)\.(\d+)/;

    if (defined(my $spec = $block->skip_nginx)) {
        my ($count, $op, @v, $reason);
        ($count, $op, @v[0 .. 2], $reason) =
            $spec =~ /^\s*(\d+)\s*:\s*$ver(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        $s->{count} = $count;
        $s->{reason} = $reason || "nginx version $op " . join('.', @v);
        $s->{skip} = 1
            if version_op($NginxVersion, $op, get_canon_version(@v));

    } elsif (defined(my $spec2 = $block->skip_nginx2)) {
        my ($count, $op1, @v1, $logic, $op2, @v2, $reason);
        ($count, $op1, @v1[0 .. 2], $logic, $op2, @v2[0 .. 2], $reason) =
            $spec2 =~ /^\s*(\d+)\s*:\s*$ver\s*(or|and)\s*$ver
                       (?:\s*:\s*(.*))?\s*$/x
            or bail_out("$name - Invalid --- skip_nginx2 spec: $spec2");
        my $m1 = version_op($NginxVersion, $op1, get_canon_version(@v1));
        my $m2 = version_op($NginxVersion, $op2, get_canon_version(@v2));
        $s->{count} = $count;
        $s->{reason} = $reason if $reason;
        $s->{skip} = 1 if $logic eq 'or' ? ($m1 || $m2) : ($m1 && $m2);
    }

    if (defined(my $spec = $block->skip_openssl)) {
        my ($count, $op, @v, $letter, $reason);
        ($count, $op, @v[0 .. 2], $letter, $reason) =
            $spec =~ /^\s*(\d+)\s*:\s*$ver([a-z])?(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- skip_openssl spec: $spec");
        my $text = join('.', @v) . ($letter // '');
        $s->{count} = $count;
        $s->{reason} = $reason || (defined $OpenSSLVersion
                                   ? "OpenSSL version $op $text"
                                   : 'Not built with OpenSSL');
        $s->{skip} = 1
            if !defined $OpenSSLVersion
               || version_op($OpenSSLVersion, $op,
                             canon_openssl_version(@v, $letter));
    }
}

sub parse_todo_sections ($$) {
    my ($block, $s) = @_;
    my $name = $block->name;

    if (defined(my $spec = $block->todo_nginx)) {
        $spec =~ /^\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- todo_nginx spec: $spec");
        $s->{todo_reason} = $5;
        $s->{todo} = 1
            if version_op($NginxVersion, $1, get_canon_version($2, $3, $4));
    }

    if (defined(my $spec = $block->todo)) {
        $spec =~ /^\s*(\d+)\s*:\s*(.*)/s
            or bail_out("$name - Invalid --- todo spec: $spec");
        @$s{qw( todo count todo_reason )} = (1, $1, $2);
    }
}

sub skip_and_todo ($) {
    my $block = shift;
    my %s = (skip => 0, todo => 0);

    parse_skip_sections($block, \%s);
    parse_todo_sections($block, \%s);

    $s{reason} //= 'various reasons';
    $s{todo_reason} //= 'various reasons';
    return \%s;
}

sub run_iteration ($$$$) {
    my ($block, $i, $flags, $rand_ports) = @_;
    my $name = $block->name;

    my $tcp = start_tcp_server($block, $rand_ports);
    write_user_files($block, $rand_ports) if $i > 0;

    my $run = sub {
        $RunTestHelper->($block, 0, $i);
        run_tcp_server_tests($block, $tcp);
    };

    if ($flags->{skip} && defined $flags->{count}) {
        SKIP: {
            Test::More::skip("$name - $flags->{reason}", $flags->{count});
            $run->();
        }

    } elsif ($flags->{todo}) {
        TODO: {
            Test::More::todo_skip("$name - $flags->{todo_reason}",
                                  $flags->{count});
            $run->();
        }

    } else {
        $run->();
    }

    stop_tcp_server($tcp, $name);
}

# returns true when the block restarts nginx
sub needs_restart ($$) {
    my ($config, $name) = @_;

    if (!defined $config) {
        if (!defined $PrevConfig) {
            bail_out("$name - No '--- config' section specified and could "
                     . "not get previous one.");
        }
        return 0;
    }

    return 1 if !defined $PrevConfig || $config ne $PrevConfig;
    return $ForceRestartOnTest;
}

sub run_block ($) {
    my $block = shift;
    return if defined $block->SKIP;

    check_supported_block($block);

    my $name = $block->name;
    my $rand_ports = $RandPorts = {};
    my $config = expand_env_in_text($block->config, $name, $rand_ports);

    local $LogLevel = $block->log_level || $LogLevel;

    my $flags = skip_and_todo($block);

    if (needs_restart($config, $name) && !$flags->{skip}) {
        $PrevConfig = $config;

        stop_nginx($name);
        check_prev_block_shutdown_error_log();
        prepare_server_root($block, $config, $rand_ports);

        if (defined $block->must_die) {
            run_must_die($block, nginx_command($block, 0));
            return;
        }

        $LastStart = [$block, $rand_ports];

        if (use_valgrind_for($block)) {
            start_nginx_under_valgrind($block, $name);

        } else {
            start_nginx_daemon($block);
        }

    } elsif (!defined $config && $UseValgrind && !$flags->{skip}
             && !defined $ChildPid && $LastStart)
    {
        restart_for_configless_block($name);
    }

    if (my $init = $block->init) {
        eval $init;
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;

    for my $i (0 .. $RepeatEach - 1) {
        run_iteration($block, $i, $flags, $rand_ports);
    }

    append_to_total_error_log($block);

    # under valgrind nginx is stopped after every block so that its
    # report shows up next to the block that caused it
    stop_nginx($name) if $UseValgrind;
}

sub run_tests () {
    $NginxVersion = get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;

    my @blocks = Test::Base::blocks();
    check_supported_block($_) for @blocks;

    @blocks = shuffle @blocks unless $NoShuffle;

    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;

        $block->set_value(name => "$0 " . $block->name);
        run_block($block);

        $_->($block) for @TestCleanupHandlers;
        $PrevBlock = $block;
    }

    cleanup();
}

END {
    return if $InSubprocess;

    cleanup();

    local $?;

    if ($UseValgrind || !$ENV{TEST_NGINX_NO_CLEAN}) {
        stop_nginx('END');
    }

    check_prev_block_shutdown_error_log();

    if ($Randomize && -d $ServRoot && $ServRoot =~ m{/t/servroot_\d+$}) {
        remove_tree($ServRoot);
    }
}

1;
