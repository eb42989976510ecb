# A value far over wapress_fragment_max_size is not read: the reply's
# announced length is checked as soon as hiredis has its "$" line, the
# connection is dropped and the page gets its default with one log line
# (before: a 20 MB value was read whole, stalling the worker, and its
# memory kept).  The worker's peak RSS grows by less than 4 MB for a
# 20 MB value.  A large value under the limit is served, and hiredis's
# read buffer, grown for it, is given back once empty.

use t::WapressTest;
use Time::HiRes qw(sleep time);

repeat_each(1);
master_off();

plan tests => repeat_each() * (blocks() * 3 + 3);

our $Port = $ENV{TEST_NGINX_REDIS_HUGE_PORT}
    ||= ($ENV{TEST_NGINX_REDIS_PORT} || 6399) - 7;             # 6392
stop_redis($Port);
start_redis($Port, '--proto-max-bulk-len', '64mb');
redis_at($Port, 'SET', 't043:small', 'small');
redis_at($Port, 'SET', 't043:big', 'x' x (20 * 1024 * 1024));
redis_at($Port, 'SET', 't043:large', 'y' x (900 * 1024));

add_cleanup_handler(sub { stop_redis($Port) });

sub status {
    my $field = shift;
    my $pidfile = "$Test::Nginx::Util::ServRoot/logs/nginx.pid";
    open my $fh, '<', $pidfile or die "$pidfile: $!";
    my $pid = <$fh>;
    chomp $pid;
    open my $st, '<', "/proc/$pid/status" or die "/proc/$pid/status: $!";
    while (<$st>) {
        return $1 if /^$field:\s+(\d+) kB/;
    }
    die "no $field for $pid\n";
}

our $Hwm;

add_response_body_check(sub {
    my ($block, $body, $req_idx) = @_;
    return unless $block->name =~ /TEST 2:/;
    my $grown = status('VmHWM') - $Hwm;
    ok($grown < 4096, "peak RSS grew by $grown kB for a 20 MB value");
});

our $HttpConfig = <<'_EOC_';
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_HUGE_PORT;
    wapress_redis_timeout 5s;
_EOC_

our $Config = <<'_EOC_';
    location ~ ^/p/(?<k>[a-z]+)$ {
        wapress_layout ../html/layout.html;
        wapress_fragment v t043:$k default=none;
    }

    location /static/ {
        alias html/;
    }
_EOC_

no_shuffle();
no_long_string();
run_tests();

__DATA__

=== TEST 1: a small value (the baseline)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files
>>> layout.html
[<!--# wapress fragment="v" -->]
--- request
GET /p/small
--- response_body
[small]
--- no_error_log
[error]



=== TEST 2: a 20 MB value: not read, the default, one line
--- init
$main::Hwm = main::status('VmHWM');
--- request
GET /p/big
--- response_body
[none]
--- grep_error_log eval
qr/\[(?:warn|error)\] .*t043:big.*/
--- grep_error_log_out eval
qr/\A\[warn\] [^\n]*wapress: fragment "v" key "t043:big": [^\n]*20971520 bytes is larger than [^\n]*1048576[^\n]*, using the default[^\n]*\n\z/
--- no_error_log
[error]



=== TEST 3: Redis is used again at once, with a new connection
--- request
GET /p/small
--- response_body
[small]
--- no_error_log
[error]



=== TEST 4: a 900 KB value is served; its read buffer is given back
--- request
GET /p/large
--- response_body eval
"[" . ("y" x (900 * 1024)) . "]\n"
--- error_log
read buffer given back
--- no_error_log
[error]
