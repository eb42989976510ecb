# Filter mode: a marker split across buffers at any byte is recognised.
# A backend (a small Perl server forked here) sends pages in packets: a
# request per split point of a marker, one byte per packet, and a slow
# page whose first bytes must reach the client before the backend ends.
# Static files and proxy_buffering on split pages deterministically with
# tiny output_buffers / proxy_buffers; a FastCGI responder splits its page
# across two records.

use t::WapressTest;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(sleep);
use POSIX ();

repeat_each(1);
plan tests => repeat_each() * 443;

redis('SET', 't091:a', '<b>A</b>');
redis('SET', 't091:b', '[B]');

our $M = '<!--# wapress fragment="a" -->';
our $L = length $M;
our $Head = '<p>head</p>';
our $Tail = '<p>tail</p>';

# path => [status line and headers, [delay before, bytes], ...]
our %Pages;

my $ok = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
         . "Connection: close\r\n";

for my $k (0 .. $L) {
    my $page = $Head . $M . $Tail;
    my $at = length($Head) + $k;
    $Pages{"/split/$k"} = [$ok . "Content-Length: " . length($page)
                           . "\r\n\r\n",
                           [0, substr($page, 0, $at)],
                           [0.03, substr($page, $at)]];
}

our $Bytes = '<!--# wapress fragment="a" -->|<!--#x|<!-- wapress|<'
             . '<!--# wapress fragment="nope" -->|<!--# include file="x" -->'
             . "|<!--# wapress\n fragment = 'b'\t-->|"
             . '<!--# wapress fragment="a"';
our $BytesOut = '<b>A</b>|<!--#x|<!-- wapress|<'
                . '<!--# wapress fragment="nope" -->|<!--# include file="x" -->'
                . '|[B]|<!--# wapress fragment="a"';

$Pages{'/bytes'} = [$ok . "\r\n", map { [0.002, $_] } split //, $Bytes];

$Pages{'/charset'} = ["HTTP/1.1 200 OK\r\n"
                      . "Content-Type: text/html; charset=UTF-8\r\n"
                      . "Content-Length: 31\r\nConnection: close\r\n\r\n",
                      [0, $M . "\n"]];

our $SlowFirst = '<p>first</p>' . $M . '<p>second</p>';
our $SlowRest = '<p>rest</p>' . $M;
$Pages{'/slow'} = [$ok . "\r\n", [0, $SlowFirst], [1.5, $SlowRest]];

# pages for buffers of 16 bytes: the marker at every offset
our (@Offsets, @OffsetsOut);
for my $o (0 .. 31) {
    push @Offsets, ['o' . $o . '.html', ('x' x $o) . $M . '|' . $M . "\n"];
    push @OffsetsOut, ('x' x $o) . "<b>A</b>|<b>A</b>\n";
}

sub backend {
    my $c = shift;
    local $/ = "\r\n\r\n";
    my $req = <$c>;
    my ($path) = defined $req ? $req =~ m{^GET (\S+)} : ();
    my $page = defined $path ? $Pages{$path} : undef;
    if (!$page) {
        print $c "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n";
        return;
    }
    my ($head, @packets) = @$page;
    syswrite $c, $head;
    for my $p (@packets) {
        sleep $p->[0] if $p->[0];
        syswrite($c, $p->[1]) or return;
    }
}

my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 64, ReuseAddr => 1)
    or die "cannot listen: $!";
$ENV{TEST_NGINX_BACKEND_PORT} = $listen->sockport;

our $Backend = fork;
die "fork: $!" unless defined $Backend;

if ($Backend == 0) {
    $SIG{CHLD} = 'IGNORE';
    alarm 600;
    while (1) {
        my $c = $listen->accept or next;
        if (fork == 0) {
            setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
            backend($c);
            close $c;
            POSIX::_exit(0);
        }
        close $c;
    }
}

close $listen;

# a FastCGI responder: the page in two STDOUT records, split in a marker

our $FcgiPage = "<p>fastcgi</p>$M<p>end</p>";

sub fcgi_record {
    my ($type, $data) = @_;
    return pack('CCnnCC', 1, $type, 1, length $data, 0, 0) . $data;
}

sub fcgi {
    my $c = shift;
    for (;;) {
        my $h = '';
        while (length $h < 8) {
            sysread($c, $h, 8 - length $h, length $h) or return;
        }
        my (undef, $type, undef, $len, $pad) = unpack 'CCnnCC', $h;
        my $body = '';
        while (length $body < $len + $pad) {
            sysread($c, $body, $len + $pad - length $body, length $body)
                or return;
        }
        last if $type == 5 && $len == 0;    # the end of FCGI_STDIN
    }
    my $out = "Content-Type: text/html\r\n\r\n" . $FcgiPage;
    my $at = index($out, '<!--#') + 10;
    syswrite $c, fcgi_record(6, substr($out, 0, $at));
    sleep 0.03;
    syswrite $c, fcgi_record(6, substr($out, $at)) . fcgi_record(6, '')
                 . fcgi_record(3, pack('NCCCC', 0, 0, 0, 0, 0));
}

my $flisten = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                    LocalPort => 0, Listen => 64,
                                    ReuseAddr => 1)
    or die "cannot listen: $!";
$ENV{TEST_NGINX_FASTCGI_PORT} = $flisten->sockport;

our $Fastcgi = fork;
die "fork: $!" unless defined $Fastcgi;

if ($Fastcgi == 0) {
    $SIG{CHLD} = 'IGNORE';
    alarm 600;
    while (1) {
        my $c = $flisten->accept or next;
        if (fork == 0) {
            setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
            fcgi($c);
            close $c;
            POSIX::_exit(0);
        }
        close $c;
    }
}

close $flisten;

# the handler also runs from END: "local $?" keeps the exit status
add_cleanup_handler(sub {
    local $?;
    kill 'KILL', $Backend, $Fastcgi;
    waitpid $Backend, 0;
    waitpid $Fastcgi, 0;
});

our $Config = <<'_EOC_';
    wapress_fragment a t091:a;
    wapress_fragment b t091:b;

    location /p/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT/;
        proxy_buffering off;
        wapress_filter on;
    }

    location /pb/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT/;
        wapress_filter on;
    }
_EOC_

no_shuffle();
no_long_string();
run_tests();

__DATA__

=== TEST 1: proxy_buffering off, the marker split at every byte
--- config eval: $::Config
--- request eval
[map { "GET /p/split/$_" } 0 .. $::L]
--- response_body eval
[map { $::Head . '<b>A</b>' . $::Tail } 0 .. $::L]
--- response_headers eval
[map { "!Content-Length" } 0 .. $::L]
--- no_error_log
[error]



=== TEST 2: the partial marker was held across the packets
--- request
GET /p/split/12
--- response_body eval: $::Head . '<b>A</b>' . $::Tail
--- error_log
wapress filter holds a partial marker of 12 bytes



=== TEST 3: proxy_buffering off, one byte per packet
--- config eval: $::Config
--- request
GET /p/bytes
--- response_body eval: $::BytesOut
--- grep_error_log eval: qr/wapress: a marker in the response names fragment "\w+"/
--- grep_error_log_out
wapress: a marker in the response names fragment "nope"
--- error_log
wapress filter holds a partial marker of 1 bytes
--- no_error_log
[error]



=== TEST 4: proxy_buffering on, the same pages
--- config eval: $::Config
--- request eval
[(map { "GET /pb/split/$_" } 0 .. $::L), "GET /pb/bytes"]
--- response_body eval
[(map { $::Head . '<b>A</b>' . $::Tail } 0 .. $::L), $::BytesOut]
--- no_error_log
[error]



=== TEST 5: a static file read one byte per buffer
--- config eval
$::Config . <<'_EOC_'
    location /s/ {
        alias html/;
        sendfile off;
        output_buffers 2 1;
        wapress_filter on;
    }
_EOC_
--- user_files eval
[['bytes.html' => $::Bytes]]
--- request
GET /s/bytes.html
--- response_body eval: $::BytesOut
--- error_log
wapress filter holds a partial marker of 1 bytes
--- no_error_log
[error]



=== TEST 6: static files read in 16-byte buffers, a marker at every offset
--- config eval
$::Config . <<'_EOC_'
    location /s/ {
        alias html/;
        output_buffers 1 16;
        wapress_filter on;
    }
_EOC_
--- user_files eval: \@::Offsets
--- request eval
[map { "GET /s/o$_.html" } 0 .. 31]
--- response_body eval: \@::OffsetsOut
--- no_error_log
[error]



=== TEST 7: proxy_buffering on with 16-byte buffers, every offset
--- config eval
$::Config . <<'_EOC_'
    location /backend/ {
        alias html/;
    }

    location /pb16/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        proxy_buffer_size 512;
        proxy_buffers 64 16;
        proxy_busy_buffers_size 512;
        wapress_filter on;
    }
_EOC_
--- user_files eval: \@::Offsets
--- request eval
[map { "GET /pb16/o$_.html" } 0 .. 31]
--- response_body eval: \@::OffsetsOut
--- no_error_log
[error]



=== TEST 8: a slow upstream: the first bytes arrive before it ends
The client gives up after 0.7 s of silence; the backend sends the rest
after 1.5 s, so what was received came before the upstream finished.
--- config eval: $::Config
--- request
GET /p/slow HTTP/1.0
--- timeout: 0.7
--- abort
--- response_body eval: '<p>first</p><b>A</b><p>second</p>'
--- no_error_log
[error]



=== TEST 9: a slow upstream, the whole page
--- config eval: $::Config
--- request
GET /p/slow
--- timeout: 5
--- response_body eval
'<p>first</p><b>A</b><p>second</p><p>rest</p><b>A</b>'
--- no_error_log
[error]



=== TEST 10: a type with parameters: text/html; charset=UTF-8
--- config eval: $::Config
--- request
GET /p/charset
--- response_body
<b>A</b>
--- response_headers
Content-Type: text/html; charset=UTF-8
!Content-Length



=== TEST 11: fastcgi_pass, the marker split across two records
--- config
    location /f/ {
        fastcgi_pass 127.0.0.1:$TEST_NGINX_FASTCGI_PORT;
        fastcgi_buffering off;
        wapress_filter on;
        wapress_fragment a t091:a;
    }
--- request eval
["GET /f/page", "GET /f/again"]
--- response_body eval
["<p>fastcgi</p><b>A</b><p>end</p>", "<p>fastcgi</p><b>A</b><p>end</p>"]
--- error_log
wapress filter holds a partial marker of 10 bytes
