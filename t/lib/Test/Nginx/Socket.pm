package Test::Nginx::Socket;

# A small Test::Nginx::Socket compatible runner (the subset documented in
# t/lib/README.md).  It is put on @INC only when the real module from
# openresty/test-nginx is not installed.
#
# Like the real module this class inherits from Test::Base (block parsing,
# filters, ONLY/SKIP/LAST, blocks()), so "use Test::Nginx::Socket -Base;"
# subclassing and the Spiffy export rules behave the same.
#
# NOTE: "use Test::Base -Base" runs Spiffy's source filter on this file,
# which adds "my $self = shift;" to every "sub name {".  Every sub below
# therefore carries a prototype, which the filter leaves alone.

use lib 'lib';
use lib 'inc';

use Test::Base -Base;

our $VERSION = '0.33';

# lets a Makefile or a test tell this runner from the real one
our $IsCompatRunner = 1;

use Digest::MD5 ();
use Digest::SHA ();
use Encode ();
use Errno ();
use HTTP::Response ();
use IO::Socket::INET ();
use List::Util ();
use POSIX ();
use Test::LongString ();
use Time::HiRes ();

use Test::Nginx::Util;

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location use_hup
    server_name server_addr server_root html_dir server_port
    server_port_for_client timeout no_nginx_manager check_accum_error_log
    add_block_preprocessor bail_out add_cleanup_handler
    add_test_cleanup_handler add_response_body_check
);

our @ResponseBodyChecks;
our $TotalConnectingTimeouts = 0;

$RunTestHelper         = \&run_test_helper;
$CheckErrorLog         = \&check_error_log;
$CheckShutdownErrorLog = \&check_shutdown_error_log;

sub add_response_body_check ($) {
    push @ResponseBodyChecks, shift;
}

sub no_ending ($) {
    Test::More->builder->no_ending(1);
}

# is() for texts: Test::LongString unless no_long_string()
sub is_text ($$$) {
    my ($got, $expected, $desc) = @_;

    if ($NoLongString) {
        return Test::Base::is($got, $expected, $desc);
    }

    return Test::LongString::is_string($got, $expected, $desc);
}

sub fmt_str ($) {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    return $str;
}

sub subst_server_port ($) {
    my $text = shift;
    $text =~ s/\$ServerPort\b/$ServerPort/g;
    $text =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
    return $text;
}

sub expand_env ($$) {
    my ($text, $name) = @_;
    return expand_env_in_text($text, $name, $Test::Nginx::Util::RandPorts);
}

#==========================================================================
# Building requests
#==========================================================================

sub parse_more_headers ($) {
    my $text = shift;
    my ($out, $chunked) = ('', 0);

    for my $line (split /\n+/, $text) {
        next if $line =~ /^\s*#/ || $line !~ /\S/;

        my ($key, $val) = split /:\s*/, $line, 2;
        $val //= '';
        $chunked = 1 if lc $key eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }

    return ($out, $chunked);
}

# more_headers may be one text for all requests or an array (one per
# request); returns (header text, is chunked)
sub headers_for_request ($$$) {
    my ($block, $more_headers, $i) = @_;

    if (ref $more_headers eq 'ARRAY') {
        my $hdr = $more_headers->[$i];
        if (!defined $hdr) {
            bail_out($block->name
                     . " - --- more_headers lacks data for the request $i");
        }
        return parse_more_headers($hdr);
    }

    return parse_more_headers($more_headers);
}

# Split the request text into consecutive edits [original length,
# replacement] that turn it into the wire format:
# "METHOD SP URI SP VERSION CRLF" + headers + body.
sub request_edits ($$$) {
    my ($name, $text, $headers_cb) = @_;

    my ($first, $body) = $text =~ /\A([^\n]*\n?)(.*)\z/s;
    bail_out("$name - Request line should be non-empty") if $first eq '';

    my @m = $first =~ /^(\s*)(\S+)( *)(?:(\S+)( *))?(?:(\S+)( *))?(\s*)$/
        or bail_out("$name - Request line is not valid. Should be "
                    . "'meth [url [version]]' but got \"$first\".");
    my ($lead, $meth, $sp1, $url, $sp2, $ver, $sp3, $eol) =
        map { $_ // '' } @m;

    my ($headers, $new_body) = $headers_cb->($body);

    return [
        [length $lead, ''],
        [length $meth, "$meth "],
        [length $sp1, ''],
        [length $url, ($url eq '' ? '/' : $url) . ' '],
        [length $sp2, ''],
        [length $ver, ($ver eq '' ? 'HTTP/1.1' : $ver) . "\r\n"],
        [length($sp3) + length($eol), ''],
        [0, $headers],
        [length $body, $new_body],
    ];
}

# Apply consecutive edits to a request given as packets, keeping the
# packet boundaries: the replacement of an edit goes to the packet(s)
# its original bytes came from; insertions go to the current packet.
sub apply_edits ($$) {
    my ($packets, $edits) = @_;
    my @out = ('') x @$packets;
    my $k = 0;
    my $room = length($packets->[0] // '');

    for my $edit (@$edits) {
        my ($len, $repl) = @$edit;

        while ($len > 0) {
            while ($room == 0 && $k < $#$packets) {
                $room = length $packets->[++$k];
            }

            my $take = $room ? List::Util::min($len, $room) : $len;
            $out[$k] .= substr($repl, 0,
                               List::Util::min($take, length $repl), '');
            $len -= $take;
            $room -= $take if $room;
        }

        $out[$k] .= $repl;
    }

    return \@out;
}

sub build_request_from_packets ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn, $packets) = @_;

    my $headers_cb = sub {
        my $body = shift;
        my $len_header = '';

        if (!$is_chunked && $body ne ''
            && $more_headers !~ /(?:^|\n)Content-Length:/)
        {
            $body =~ s/^\s+|\s+$//gs;
            $len_header = "Content-Length: " . length($body) . "\r\n";
        }

        my $headers = '';
        $headers .= "Host: $ServerName\r\n"
            if $more_headers !~ /(?:^|\n)Host:/msi;
        $headers .= "Connection: $conn\r\n"
            if $more_headers !~ /(?:^|\n)Connection/msi;
        $headers .= "$more_headers$len_header\r\n";

        return ($headers, $body);
    };

    my @texts = map { $_ // '' } @$packets;
    my $edits = request_edits($name, join('', @texts), $headers_cb);
    return apply_edits(\@texts, $edits);
}

sub strip_request_comments ($) {
    my $req = shift;
    1 while $req =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
    return $req;
}

# one element of "request eval": a string, or an array of packets (each
# a string or { value => ..., delay_before => secs })
sub build_one_request ($$$$) {
    my ($block, $req, $hdr, $chunked) = @_;
    my $name = $block->name;

    if (!ref $req) {
        my $out = build_request_from_packets($name, $hdr, $chunked, 'close',
                                             [$req]);
        return [{ value => $out->[0] }];
    }

    if (ref $req ne 'ARRAY') {
        bail_out("$name - Invalid syntax. $req should be a string or an "
                 . "array of packets.");
    }

    my @texts;
    for my $packet (@$req) {
        if (!ref $packet) {
            push @texts, $packet;

        } elsif (ref $packet eq 'HASH') {
            push @texts, $packet->{value};

        } else {
            bail_out("$name - Invalid syntax. $packet should be a string "
                     . "or hash with value.");
        }
    }

    my $out = build_request_from_packets($name, $hdr, $chunked, 'close',
                                         \@texts);
    my @bits;
    for my $i (0 .. $#$req) {
        my %bit = ref $req->[$i] ? %{ $req->[$i] } : ();
        $bit{value} = $out->[$i];
        push @bits, \%bit;
    }

    return \@bits;
}

sub build_pipelined ($$$) {
    my ($block, $reqs, $more_headers) = @_;
    my $name = $block->name;

    if (ref $reqs ne 'ARRAY') {
        bail_out("$name - invalid entries in --- pipelined_requests");
    }

    my $all = '';
    for my $i (0 .. $#$reqs) {
        my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
        my ($hdr, $chunked) = headers_for_request($block, $more_headers, $i);
        my $req = expand_env($reqs->[$i], $name);
        $all .= build_request_from_packets($name, $hdr, $chunked, $conn,
                                           [$req])->[0];
    }

    return $all;
}

# Returns a list of requests; each request is an array of packets
# { value => bytes, delay_before => secs }.
sub get_req_from_block ($) {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        my @pieces = ref $raw eq 'ARRAY' ? @$raw : ($raw);
        return [[ map { { value => $_ } } @pieces ]];
    }

    my $more_headers = $block->more_headers || '';

    if (my $reqs = $block->pipelined_requests) {
        return [[{ value => build_pipelined($block, $reqs, $more_headers) }]];
    }

    my $request = $block->request;

    if (!ref $request) {
        $request = strip_request_comments($request) if defined $request;
        my ($hdr, $chunked) = headers_for_request($block, $more_headers, 0);
        return [build_one_request($block, $request // '', $hdr, $chunked)];
    }

    if (ref $request ne 'ARRAY') {
        bail_out("$name - invalid ---request : MUST be string or array of "
                 . "requests");
    }

    my @list;
    for my $i (0 .. $#$request) {
        my ($hdr, $chunked) = headers_for_request($block, $more_headers, $i);
        push @list, build_one_request($block, $request->[$i], $hdr, $chunked);
    }

    return \@list;
}

#==========================================================================
# Talking to nginx
#==========================================================================

sub nginx_child_gone () {
    my $pid = $Test::Nginx::Util::ChildPid;
    return 0 unless defined $pid;
    local ($!, $?);
    return POSIX::waitpid($pid, POSIX::WNOHANG()) != 0;
}

sub connect_to_nginx ($) {
    my $block = shift;
    my $name = $block->name;
    my $addr = $block->server_addr_for_client // $ServerAddr;
    my $port = $ServerPortForClient;
    my $max_tries = $TotalConnectingTimeouts ? 20 : 50;
    my $err = '';

    for my $try (1 .. $max_tries + 1) {
        my $sock = IO::Socket::INET->new(
            PeerAddr => $addr,
            PeerPort => $port,
            Proto    => 'tcp',
            Timeout  => timeout(),
        );

        if ($sock) {
            $sock->blocking(0);
            return $sock;
        }

        $err = $!;
        last if $try > $max_tries;

        if (nginx_child_gone()) {
            warn "WARNING: Child process $Test::Nginx::Util::ChildPid is "
                 . "already gone.\n";
            no_ending(1);
            Test::More::fail("$name - Can't connect to $addr:$port: $err "
                             . "(aborted)\n");
            return undef;
        }

        my $wait = List::Util::min(
            1, (sleep_time() + sleep_time() * $try) * $try / 2);

        if ($wait >= 0.6) {
            warn "$name - Can't connect to $addr:$port: $err\n";
            warn "\tRetry connecting after $wait sec\n" if $try < $max_tries;
        }

        Time::HiRes::sleep($wait);
    }

    my $msg = "$name - Can't connect to $addr:$port: $err (aborted)\n";
    bail_out($msg) if ++$TotalConnectingTimeouts >= 3;

    no_ending(1);
    Test::More::fail($msg);
    return undef;
}

# read all that is available; false once the peer closed or on error
sub read_available ($) {
    my $ctx = shift;

    while (1) {
        my $n = sysread($ctx->{sock}, my $buf, 4096);

        if (!defined $n) {
            return 1 if $!{EAGAIN} || $!{EWOULDBLOCK} || $!{EINTR};
            warn "WARNING: $ctx->{name} - HTTP response read failure: $!\n";
            return 0;
        }

        return 0 if $n == 0;
        $ctx->{resp} .= $buf;
    }
}

# write what the socket takes; 1 = more to write, 2 = all written,
# undef = error
sub write_pending ($) {
    my $ctx = shift;

    while (1) {
        my $rest = length($ctx->{wbuf}) - $ctx->{woff};

        if ($rest > 0) {
            my $n = syswrite($ctx->{sock}, $ctx->{wbuf}, $rest, $ctx->{woff});

            if (!defined $n) {
                return 1 if $!{EAGAIN} || $!{EWOULDBLOCK} || $!{EINTR};
                my $msg = "write failed: $!";
                warn "$msg\n";
                $ctx->{resp} = $msg if $ctx->{resp} eq '';
                return undef;
            }

            $ctx->{woff} += $n;
            next;
        }

        my $next = shift @{ $ctx->{bits} };
        return 2 unless defined $next;

        $ctx->{wbuf} = $next->{value} // '';
        $ctx->{woff} = 0;

        my $delay = $next->{delay_before} // $ctx->{middle_delay};
        Time::HiRes::sleep($delay) if $delay;
    }
}

sub shutdown_if_asked ($) {
    my $ctx = shift;
    my $how = $ctx->{block}->shutdown;
    return unless defined $how;

    $how = 1 if $how eq '';
    shutdown($ctx->{sock}, $how);
}

sub on_client_timeout ($) {
    my $ctx = shift;

    if (defined $ctx->{block}->abort) {
        Time::HiRes::sleep(0.005);
        return;
    }

    no_ending(1);
    Test::More::fail("ERROR: client socket timed out - $ctx->{name}\n");
}

# Send the packets, then read until nginx closes the connection; the
# timeout is an idle timeout for each wait.
sub exchange ($$$$$) {
    my ($sock, $bits, $middle_delay, $timeout, $block) = @_;
    local $SIG{PIPE} = 'IGNORE';

    my $first = shift @$bits;
    my $ctx = {
        sock         => $sock,
        name         => $block->name,
        block        => $block,
        bits         => $bits,
        wbuf         => $first ? ($first->{value} // '') : '',
        woff         => 0,
        middle_delay => $middle_delay,
        resp         => '',
    };

    my $writing = 1;
    my $fileno = fileno $sock;

    while (1) {
        my $rin = '';
        vec($rin, $fileno, 1) = 1;
        my $win = $writing ? $rin : undef;
        my ($rout, $wout) = ($rin, $win);

        my $n = select($rout, $wout, undef, $timeout);
        next if $n < 0 && $!{EINTR};

        if ($n <= 0) {
            on_client_timeout($ctx);
            last;
        }

        if (vec($rout, $fileno, 1)) {
            last unless read_available($ctx);
        }

        if ($writing && vec($wout, $fileno, 1)) {
            my $status = write_pending($ctx);
            last unless defined $status;

            if ($status == 2) {
                shutdown_if_asked($ctx);
                $writing = 0;
            }
        }
    }

    close $sock;
    return $ctx->{resp};
}

sub send_request ($$$$) {
    my ($req, $middle_delay, $timeout, $block) = @_;
    my @bits = map { { %$_ } } @$req;

    my $all = join '', map { $_->{value} // '' } @bits;
    my $head_req = $all =~ /^\s*HEAD\s+/ ? 1 : 0;

    my $sock = connect_to_nginx($block) or return (undef, $head_req);
    return (exchange($sock, \@bits, $middle_delay, $timeout, $block),
            $head_req);
}

#==========================================================================
# Parsing responses
#==========================================================================

sub chunk_failure ($) {
    no_ending(1);
    Test::More::fail(shift);
    return (0);
}

# strict de-chunking; returns (ok, body, left-over bytes)
sub decode_chunked ($$) {
    my ($name, $raw) = @_;
    my $decoded = '';
    pos($raw) = 0;

    while (1) {
        if ($raw =~ /\G0[ \t]*\r\n(?:[^\r\n]+\r\n)*\r\n/gc) {
            my $left = $raw =~ /\G(.+)/gcs ? $1 : undef;
            return (1, $decoded, $left);
        }

        if ($raw =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n/gc) {
            my $size = hex $1;
            my $at = pos $raw;

            if (length($raw) - $at < $size) {
                return chunk_failure("$name - invalid chunked data received "
                    . "(not enought octets for the data section)");
            }

            $decoded .= substr($raw, $at, $size);
            pos($raw) = $at + $size;

            if ($raw !~ /\G\r\n/gc) {
                return chunk_failure("$name - invalid chunked data received "
                                     . "(expected CRLF).");
            }

            next;
        }

        if ($raw =~ /\G(.+)/gcs) {
            return chunk_failure("$name - invalid chunked body received: $1");
        }

        return chunk_failure("$name - no last chunk found - $raw");
    }
}

# returns (HTTP::Response, raw header text, left-over bytes), or an empty
# list when the chunked framing is broken
sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;

    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';
    my $res = HTTP::Response->parse($raw);
    my $code = $res->code;

    if (defined $code && $code !~ /^\d+$/) {
        $res->code(undef);
        undef $code;
    }

    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    my $left;

    if (defined $enc && $enc eq 'chunked') {
        my ($ok, $body);
        ($ok, $body, $left) = decode_chunked($name, $res->content // '');
        return () unless $ok;
        $res->content($body);

    } elsif (defined $len && $len =~ /^\s*(\d+)\s*$/) {
        $len = $1;
        my $body = $res->content // '';

        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got ", length $body, "\n" unless $head_req;

        } elsif (length $body > $len) {
            $left = substr $body, $len;
            $res->content(substr $body, 0, $len);
        }
    }

    return ($res, $raw_headers, $left);
}

#==========================================================================
# Response checks
#==========================================================================

sub get_indexed_value ($$$$) {
    my ($name, $value, $idx, $need_array) = @_;

    if ($need_array) {
        return $value->[$idx] if ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }

    return ref $value eq 'ARRAY' ? $value->[0] : $value;
}

sub check_error_code ($$$$) {
    my ($block, $res, $idx, $need_array) = @_;
    my $name = $block->name;
    my $got = ($res && $res->code) || '';

    if (defined $block->error_code_like) {
        my $pat = get_indexed_value($name, $block->error_code_like, $idx,
                                    $need_array);
        Test::More::like($got, qr/$pat/sm, "$name - status code ok");

    } elsif (defined $block->error_code) {
        Test::More::is($got, get_indexed_value($name, $block->error_code,
                                               $idx, $need_array),
                       "$name - status code ok");

    } else {
        Test::More::is($got, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$) {
    my ($block, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->raw_response_headers_like) {
        my $pat = get_indexed_value($name, $block->raw_response_headers_like,
                                    $idx, $need_array);
        Test::More::like($raw_headers, qr/$pat/s,
                         "$name - raw resp headers like");
    }

    if (defined $block->raw_response_headers_unlike) {
        my $pat = get_indexed_value($name,
                                    $block->raw_response_headers_unlike,
                                    $idx, $need_array);
        Test::More::unlike($raw_headers, qr/$pat/s,
                           "$name - raw resp headers unlike");
    }
}

sub check_response_headers ($$$$$) {
    my ($block, $res, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_headers) {
        my $headers = parse_headers(get_indexed_value(
            $name, $block->response_headers, $idx, $need_array));

        for my $key (sort keys %$headers) {
            my $val = $headers->{$key};

            if (!defined $val) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                    "$name - header $key not present in the raw headers");
                next;
            }

            my $actual = $res ? $res->header($key) : undef;
            Test::More::is($actual // '', subst_server_port($val),
                           "$name - header $key ok");
        }

    } elsif (defined $block->response_headers_like) {
        my $headers = parse_headers(get_indexed_value(
            $name, $block->response_headers_like, $idx, $need_array));

        for my $key (sort keys %$headers) {
            my $val = $headers->{$key} // '';
            my $actual = $res ? $res->header($key) : undef;
            Test::More::like($actual // '', qr/^$val$/,
                             "$name - header $key like ok");
        }
    }
}

my %BodyFilters = (
    md5_hex  => sub { Digest::MD5::md5_hex($_[0]) },
    sha1_hex => sub { Digest::SHA::sha1_hex($_[0]) },
    uc       => sub { uc $_[0] },
    lc       => sub { lc $_[0] },
    ucfirst  => sub { ucfirst $_[0] },
    lcfirst  => sub { lcfirst $_[0] },
    length   => sub { length $_[0] },
);

sub run_body_filter ($$$) {
    my ($block, $filter, $content) = @_;
    my $name = $block->name;

    return $filter->($content) if ref $filter eq 'CODE';

    if (ref $filter) {
        bail_out("$name - the --- response_body_filters section only "
                 . "supports subroutine reference values and string values");
    }

    my $f = $BodyFilters{$filter}
        or bail_out("$name - unknown filter, \"$filter\", specified in the "
                    . "--- response_body_filters section");
    return $f->($content);
}

sub transform_response_body ($$$) {
    my ($block, $res, $idx) = @_;
    my $filters = $block->response_body_filters;
    return unless defined $filters && $res && defined $res->content;

    my $name = $block->name;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//gs;
        $filters = [split /\s+/, $filters];

    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }

    if (ref $filters->[0] eq 'ARRAY') {
        if (grep { ref $_ ne 'ARRAY' } @$filters) {
            bail_out("$name - the --- response_body_filters two-dimensional "
                     . "array only be like [[uc], [lc]] not [[uc], lc]");
        }

        $filters = $filters->[$idx];
        if (!defined $filters) {
            bail_out("$name - the ---response_body_filters two-dimensional "
                     . "array unmatch the specified request($idx)");
        }
    }

    my $content = $res->content;
    for my $f (@$filters) {
        $content = run_body_filter($block, $f, $content);
    }

    $res->content($content);
}

sub strip_lwp_lines ($) {
    my $content = shift;
    return undef unless defined $content;
    $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
    $content =~ s/^Connection: TE, close\r\n//gms;
    return $content;
}

sub check_response_body ($$$$$) {
    my ($block, $res, $idx, $rep, $need_array) = @_;
    my $name = $block->name;
    my $content = strip_lwp_lines($res ? $res->content : undef);

    if (defined $block->response_body) {
        my $expected = get_indexed_value($name, $block->response_body, $idx,
                                         $need_array);

        if ($block->charset) {
            Encode::from_to($expected, 'UTF-8', $block->charset);
        }

        if (defined $expected && !ref $expected) {
            $expected = expand_env(subst_server_port($expected), $name);
        }

        my $desc = "$name - response_body - %s (repeated req $rep, req $idx)";

        if (ref $expected) {
            Test::More::like($content, $expected, sprintf($desc, 'like'));

        } else {
            is_text($content, $expected,
                    sprintf($desc, 'response is expected'));
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $section = "response_body_$type";
        my $pat = get_indexed_value($name, $block->$section, $idx,
                                    $need_array);
        $pat = subst_server_port($pat) unless ref $pat;

        my $summary = trim($content) // '';
        my $desc = "$name - ${section} - response is expected ($summary)";

        if ($type eq 'like') {
            Test::More::like($content, qr/$pat/s, $desc);

        } else {
            Test::More::unlike($content, qr/$pat/s, $desc);
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $idx, $rep, 0);
    }
}

#==========================================================================
# Log checks
#==========================================================================

sub normalize_patterns ($) {
    my $pats = shift;

    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }

    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return $line =~ $pat if ref $pat;
    return index($line, $pat) >= 0;
}

sub first_match ($$) {
    my ($line, $pat) = @_;

    if (ref $pat) {
        return undef unless $line =~ $pat;
        return substr($line, $-[0], $+[0] - $-[0]);
    }

    return index($line, $pat) >= 0 ? $pat : undef;
}

sub value_contains ($$) {
    my ($val, $needle) = @_;
    return 0 unless defined $val;

    if (ref $val eq 'ARRAY') {
        return List::Util::any { value_contains($_, $needle) } @$val;
    }

    return index("$val", $needle) >= 0;
}

sub emit_result ($$$) {
    my ($ok, $desc, $o) = @_;

    SKIP: {
        if ($o->{dry_run}) {
            Test::More::skip("$o->{name} - $o->{kind} - tests skipped due "
                             . "to $o->{dry_run}", 1);
        }

        $ok ? Test::More::pass($desc) : Test::More::fail($desc);
    }
}

# error_log & co.: one passing test per pattern that matches a line, one
# failing test per pattern that matches none
sub expect_patterns ($$$) {
    my ($lines, $pats, $o) = @_;
    my @left = @$pats;

    for my $line (@$lines) {
        for my $pat (@left) {
            next unless defined $pat && line_matches($line, $pat);
            emit_result(1, "$o->{name} - pattern \"$pat\" matches a line in "
                           . "$o->{file}$o->{suffix}", $o);
            undef $pat;
        }
    }

    for my $pat (grep { defined } @left) {
        emit_result(0, "$o->{name} - pattern \"$pat\" should match a line in "
                       . "$o->{file}$o->{suffix}", $o);
    }
}

# no_error_log & co.: one failing test per matching line, or one passing
# test per pattern that matches no line
sub reject_patterns ($$$) {
    my ($lines, $pats, $o) = @_;
    my %found;

    for my $i (0 .. $#$lines) {
        my $line = $lines->[$i];

        for my $pat (@$pats) {
            next unless defined $pat && line_matches($line, $pat);
            no_ending(1) if $found{$pat}++;

            my $desc = "$o->{name} - pattern \"" . fmt_str($pat)
                . "\" should not match any line in $o->{file} but matches "
                . "line \"" . fmt_str($line) . "\"$o->{suffix}";

            if ($o->{context}) {
                my $last = List::Util::min($i + 10, $#$lines) - 1;
                $desc .= "\n" . join '', @$lines[$i + 1 .. $last];
            }

            emit_result(0, $desc, $o);
        }
    }

    for my $pat (@$pats) {
        next if !defined $pat || $found{$pat};
        emit_result(1, "$o->{name} - pattern \"" . fmt_str($pat)
                       . "\" does not match a line in $o->{file}$o->{suffix}",
                    $o);
    }
}

sub check_grep_error_log ($$$) {
    my ($block, $rep, $lines) = @_;
    my $name = $block->name;
    my $pat = $block->grep_error_log;

    if (!defined $pat) {
        if (defined $block->grep_error_log_out) {
            bail_out("$name - No --- grep_error_log defined but "
                     . "--- grep_error_log_out is defined");
        }
        return;
    }

    $pat = $pat->[$rep] if ref $pat eq 'ARRAY';
    return unless defined $pat;

    my $expected = $block->grep_error_log_out;
    if (!defined $expected) {
        bail_out("$name - No --- grep_error_log_out defined but "
                 . "--- grep_error_log is defined");
    }

    $expected = $expected->[$rep] if ref $expected eq 'ARRAY';
    $expected = expand_env($expected, $name) unless ref $expected;

    my $out = '';
    for my $line (@{ $lines->() }) {
        my $m = first_match($line, $pat);
        $out .= "$m\n" if defined $m && $m !~ /\n/;
    }

    my $desc = "$name - grep_error_log_out (req $rep)";
    if (ref $expected eq 'Regexp') {
        Test::More::like($out, $expected, $desc);

    } else {
        is_text($out, $expected, $desc);
    }
}

sub warn_about_bad_lines ($$$) {
    my ($block, $lines, $name) = @_;

    my @tokens = ('writing a global lua variable', '[alert', '[crit',
                  '[emerg');
    my %regex = (
        'writing a global lua variable' => qr/writing a global lua variable/,
        '[alert' => qr/\[alert\]/,
        '[crit'  => qr/\[crit\]/,
        '[emerg' => qr/\[emerg\]/,
    );

    for my $token (@tokens) {
        next if value_contains($block->error_log, $token)
                || value_contains($block->no_error_log, $token);

        for my $line (@$lines) {
            warn "WARNING: $name - ", fmt_str($line), "\n"
                if $line =~ $regex{$token};
        }
    }
}

sub fail_on_assertions ($$$) {
    my ($lines, $name, $re) = @_;

    for my $line (@$lines) {
        next unless $line =~ $re;
        no_ending(1);
        chomp(my $l = $line);
        Test::More::fail("$name - $l\n");
    }
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $rep, $need_array) = @_;
    my $name = $block->name;
    my $data;
    my $lines = sub { $data //= error_log_data() };

    check_grep_error_log($block, $rep, $lines);

    my %o = (name => $name, file => 'error.log', suffix => " (req $rep)",
             dry_run => $dry_run);

    if (defined $block->error_log) {
        expect_patterns($lines->(), normalize_patterns($block->error_log),
                        { %o, kind => 'error_log' });
    }

    if (defined $block->no_error_log) {
        reject_patterns($lines->(), normalize_patterns($block->no_error_log),
                        { %o, kind => 'no_error_log', context => 1 });
    }

    return if $dry_run;

    warn_about_bad_lines($block, $lines->(), $name);
    fail_on_assertions($lines->(), $name, qr/\bAssertion .*?failed\b/);
}

# only run for blocks with a shutdown_error_log section, like the real
# module (no_shutdown_error_log alone is never checked)
sub check_shutdown_error_log ($$) {
    my ($block, $dry_run) = @_;
    my $name = $block->name;
    my $lines = error_log_data();
    my %o = (name => $name, file => 'error.log', suffix => '',
             dry_run => $dry_run);

    if (defined $block->no_shutdown_error_log) {
        reject_patterns($lines,
                        normalize_patterns($block->no_shutdown_error_log),
                        { %o, kind => 'no_shutdown_error_log' });
    }

    expect_patterns($lines, normalize_patterns($block->shutdown_error_log),
                    { %o, kind => 'shutdown_error_log' });

    fail_on_assertions($lines, $name, qr/\bAssertion .*? failed\.$/);
}

sub check_access_log ($$) {
    my ($block, $rep) = @_;
    my $data;
    my %o = (name => $block->name, file => 'access.log',
             suffix => " (req $rep)", dry_run => 0);

    if (defined $block->access_log) {
        $data //= access_log_data();
        expect_patterns($data, normalize_patterns($block->access_log),
                        { %o, kind => 'access_log' });
    }

    if (defined $block->no_access_log) {
        $data //= access_log_data();
        reject_patterns($data, normalize_patterns($block->no_access_log),
                        { %o, kind => 'no_access_log', context => 1 });
    }
}

#==========================================================================
# One repeat iteration of a block
#==========================================================================

sub check_one_response ($$$$$$) {
    my ($block, $raw, $head_req, $idx, $rep, $need_array) = @_;
    my $name = $block->name;

    my ($res, $raw_headers, $left);
    if (defined $block->http09) {
        $res = HTTP::Response->new(200, 'OK', [], $raw);
        $raw_headers = '';

    } else {
        ($res, $raw_headers, $left) = parse_response($name, $raw, $head_req);
    }

    check_error_code($block, $res, $idx, $need_array);
    check_raw_response_headers($block, $raw_headers // '', $idx,
                               $need_array);
    check_response_headers($block, $res, $raw_headers // '', $idx,
                           $need_array);
    transform_response_body($block, $res, $idx);
    check_response_body($block, $res, $idx, $rep, $need_array);

    return $left;
}

sub check_logs_after_request ($$$) {
    my ($block, $rep, $need_array) = @_;

    if (my $wait = $block->wait) {
        Time::HiRes::sleep($wait);
    }

    check_error_log($block, undef, 0, $rep, $need_array);
    check_access_log($block, $rep) unless defined $block->ignore_response;
}

sub run_test_helper ($$$) {
    my ($block, $dry_run, $rep) = @_;
    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time($block->timeout) // timeout();
    my $pipelined = $block->pipelined_requests;
    my $per_conn = $pipelined ? scalar @$pipelined : 1;
    my $need_array = $pipelined ? 1 : @$reqs > 1;
    my $total = @$reqs * $per_conn;
    my $idx = 0;

    for my $req (@$reqs) {
        my ($raw, $head_req) = send_request(
            $req, $block->raw_request_middle_delay, $timeout, $block);
        $raw //= '';

        for my $k (1 .. $per_conn) {
            if (!defined $block->ignore_response) {
                my $left = check_one_response($block, $raw, $head_req, $idx,
                                              $rep, $need_array);

                if ($pipelined) {
                    $raw = $left // '';

                } elsif (defined $left && $left ne '') {
                    (my $shown = $left)
                        =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after last "
                         . "chunk in response: \"$shown\"\n";
                }
            }

            if (++$idx < $total) {
                check_logs_after_request($block, $rep, $need_array);
            }
        }
    }

    check_logs_after_request($block, $rep, $need_array);
}

1;
