# Filter mode: memory stays bounded whatever the page size.  A 5 MB page
# with a few markers goes through the filter (proxy_pass with buffering on
# and off, and a static file) while Redis is paused for half a second at
# its first marker, so that the whole rest of the page would pile up in
# the worker if the filter held it.  The worker's peak RSS (VmHWM) after
# the 5 MB pages must stay within 1 MB of its peak after a 500 KB page.

use t::WapressTest;
use Digest::MD5 qw(md5_hex);
use Time::HiRes ();
use POSIX ();

repeat_each(1);
plan tests => repeat_each() * (blocks() * 3 + 1);

our $Port = $ENV{TEST_NGINX_REDIS_MEMORY_PORT} ||= 6384;
stop_redis($Port);
start_redis($Port);
redis_at($Port, 'SET', 't093:a', '<b>A</b>');
redis_at($Port, 'SET', 't093:b', '<b>B</b>');

add_cleanup_handler(sub { stop_redis($Port) });

sub page {
    my $size = shift;
    my $line = '<p>' . ('x' x 90) . "</p>\n";
    my $n = int($size / length($line) / 4);
    my $quarter = $line x $n;
    my ($in, $out) = ('', '');
    for my $m (qw(a b a b)) {
        $in .= qq{<!--# wapress fragment="$m" -->} . $quarter;
        $out .= "<b>\U$m\E</b>" . $quarter;
    }
    return ($in, $out);
}

our ($Small, $SmallOut) = page(500 * 1024);
our ($Big, $BigOut) = page(5 * 1024 * 1024);
our $SmallMd5 = md5_hex($SmallOut);
our $BigMd5 = md5_hex($BigOut);

our %Hwm;

sub hwm {
    my $pidfile = "$Test::Nginx::Util::ServRoot/logs/nginx.pid";
    open my $fh, '<', $pidfile or die "$pidfile: $!";
    my $pid = <$fh>;
    chomp $pid;
    open my $st, '<', "/proc/$pid/status" or die "/proc/$pid/status: $!";
    while (<$st>) {
        return $1 if /^VmHWM:\s+(\d+) kB/;
    }
    die "no VmHWM for $pid\n";
}

# pauses Redis now and lets it go on after a while
sub pause_redis {
    my $pid = redis_pid($Port);
    kill 'STOP', $pid;
    if (fork() == 0) {
        Time::HiRes::sleep(0.5);
        kill 'CONT', $pid;
        POSIX::_exit(0);
    }
}

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    my $name = $block->name;
    $name =~ s/.*TEST (\d+):.*/$1/;
    $Hwm{$name} = hwm();
    return unless $name eq '4';
    my $grown = $Hwm{4} - $Hwm{1};
    diag("worker VmHWM: $Hwm{1} kB after the 500 KB page; $Hwm{2}, "
         . "$Hwm{3}, $Hwm{4} kB after the 5 MB pages (proxy buffered, "
         . "proxy unbuffered, static)");
    ok($grown < 1024, $block->name . " - peak RSS grew by $grown kB, "
                      . "less than 1 MB");
});

no_shuffle();
no_long_string();
run_tests();

__DATA__

=== TEST 1: a 500 KB page through proxy_pass, Redis paused at its first marker
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_MEMORY_PORT;
    wapress_redis_timeout 3s;
--- config
    wapress_fragment a t093:a;
    wapress_fragment b t093:b;

    location /backend/ {
        alias html/;
    }

    location /p/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        wapress_filter on;
    }

    location /u/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        proxy_buffering off;
        wapress_filter on;
    }

    location /s/ {
        alias html/;
        wapress_filter on;
    }
--- user_files eval
[['small.html' => $::Small], ['big.html' => $::Big]]
--- init
main::pause_redis();
--- request
GET /p/small.html
--- timeout: 10
--- response_body_filters
md5_hex
--- response_body eval: $::SmallMd5
--- error_log
wapress filter waits for fragment 0



=== TEST 2: a 5 MB page, proxy_buffering on
--- init
main::pause_redis();
--- request
GET /p/big.html
--- timeout: 10
--- response_body_filters
md5_hex
--- response_body eval: $::BigMd5
--- error_log
wapress filter waits for fragment 0



=== TEST 3: a 5 MB page, proxy_buffering off
--- init
main::pause_redis();
--- request
GET /u/big.html
--- timeout: 10
--- response_body_filters
md5_hex
--- response_body eval: $::BigMd5
--- error_log
wapress filter waits for fragment 0



=== TEST 4: a 5 MB static file
--- init
main::pause_redis();
--- request
GET /s/big.html
--- timeout: 10
--- response_body_filters
md5_hex
--- response_body eval: $::BigMd5
--- error_log
wapress filter waits for fragment 0
