# wapress_status: the counters of all workers, scraped after known
# traffic and parsed with Debian's python3-prometheus-client (the
# parser Prometheus users run), then as JSON: so many hits, misses,
# stale copies, 404s and 503s, so many commands and replies per Redis
# server, the cache zone's numbers.

use t::WapressTest;
use JSON::PP;
use File::Temp qw(tempfile);
use Time::HiRes qw(sleep);

repeat_each(1);
no_shuffle();

plan tests => repeat_each() * (blocks() * 3 + 66);

# a private redis-server, stopped half-way for the stale copies and 503
# (named once, in /p/: naming a server twice makes redis_conf.c compare
# its empty user with memcmp(NULL, ...), which UBSan reports)
our $Port = $ENV{TEST_NGINX_REDIS_STATUS_PORT}
    ||= ($ENV{TEST_NGINX_REDIS_PORT} || 6399) - 19;           # 6380
our $Main = $ENV{TEST_NGINX_REDIS_PORT} || 6399;
our $Python = '/usr/bin/python3';

stop_redis($Port);
add_cleanup_handler(sub { stop_redis($Port) });

# prints "TYPE name type" per family and "S name labels value" per sample
our $Parser = <<'_PY_';
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    print("TYPE\t%s\t%s" % (fam.name, fam.type))
    for s in fam.samples:
        print("S\t%s\t%s\t%r" % (s.name, "\x01".join(
            "%s=%s" % (k, s.labels[k]) for k in sorted(s.labels)), s.value))
_PY_

# the parsed scrape: { types => {family => type}, samples => [[n, {l}, v]] }
sub scrape {
    my $resp = http_get('/status');
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    my ($fh, $file) = tempfile('t170-XXXXXX', TMPDIR => 1, UNLINK => 1);
    print $fh $body;
    close $fh;
    open my $py, '-|', $Python, '-c', $Parser, $file or die "python: $!";
    my (%types, @samples);
    while (<$py>) {
        chomp;
        my @f = split /\t/;
        if ($f[0] eq 'TYPE') {
            $types{$f[1]} = $f[2];
        } else {
            my %l = map { split /=/, $_, 2 } split /\x01/, $f[2] // '';
            push @samples, [$f[1], \%l, $f[3]];
        }
    }
    close $py;
    die "the parser failed ($?) on:\n$body" if $?;
    diag($body) if $ENV{TEST_STATUS_DUMP};
    return { head => $head, body => $body, types => \%types,
             samples => \@samples };
}

# the sum of the samples of $name whose labels include %want
sub metric {
    my ($s, $name, %want) = @_;
    my ($sum, $n) = (0, 0);
    SAMPLE: for my $x (@{ $s->{samples} }) {
        next unless $x->[0] eq $name;
        for (keys %want) {
            next SAMPLE unless ($x->[1]{$_} // '') eq $want{$_};
        }
        $sum += $x->[2];
        $n++;
    }
    return $n ? $sum : undef;
}

sub get_with_accept {
    my ($path, $accept) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $Test::Nginx::Util::ServerPort,
                                  Timeout => 3) or die "connect: $!";
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\nAccept: $accept\r\n\r\n";
    local $/;
    return scalar <$s>;
}

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    return if $dry_run || $block->name !~ /evictions/;

    http_get("/e/$_") for 1 .. 50;       # 2000 bytes each, in 32k
    http_get('/u');                      # MISS
    sleep 0.25;
    http_get('/u');                      # UPDATING, and a refresh
    sleep 0.1;

    my $s = scrape();
    my $r = "127.0.0.1:$main::Main";
    my $ev = metric($s, 'wapress_cache_evictions_total', zone => 't170e');
    ok($ev > 0, "evictions: $ev");
    is(metric($s, 'wapress_cache_entries', zone => 't170e'), 50 - $ev,
       'entries: 50 stored, less the evicted');
    is(metric($s, 'wapress_fragments_total', location => '^/e/(?<n>\d+)$',
              result => 'miss'), 50, '50 misses (a regex location)');
    is(metric($s, 'wapress_fragments_total', location => '/u',
              result => 'updating'), 1, '1 updating');
    is(metric($s, 'wapress_cache_stale_served_total', zone => 't170u'), 1,
       'an updating copy is a stale copy served');
    is(metric($s, 'wapress_redis_commands_total', redis => $r), 52,
       '50 + 1 lookups, 1 refresh');
    is(metric($s, 'wapress_redis_replies_total', redis => $r), 52,
       'all answered');
    is(metric($s, 'wapress_redis_round_trip_seconds_count', redis => $r),
       52, 'every reply timed, the refresh too');
});

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    return if $dry_run || $block->name !~ /known traffic/;

    http_get('/a') for 1 .. 3;           # x: HIT, y: cached "not found"
    http_get('/req') for 1 .. 2;         # 404
    http_get('/p/s');                      # MISS: the private Redis is up
    stop_redis($Port);
    sleep 0.3;                           # past valid=200ms
    http_get('/p/s') for 1 .. 2;           # STALE
    like(http_get('/p/d'), qr{^HTTP/1\.\d 503}, '/p/d is 503');

    my $s = scrape();
    my $r = "127.0.0.1:$main::Main";
    my $p = "127.0.0.1:$main::Port";

    like($s->{head}, qr{\r\nContent-Type: text/plain; version=0\.0\.4\r\n},
         'content type');
    is($s->{types}{wapress_pages}, 'counter', 'pages: a counter');
    is($s->{types}{wapress_redis_round_trip_seconds}, 'histogram',
       'round trip: a histogram');
    is($s->{types}{wapress_redis_up}, 'gauge', 'up: a gauge');

    is(metric($s, 'wapress_pages_total', location => '/a', code => '200'), 4,
       '4 pages /a');
    is(metric($s, 'wapress_fragments_total', location => '/a', fragment => 'x',
         result => 'miss'), 1, 'x: 1 miss');
    is(metric($s, 'wapress_fragments_total', location => '/a', fragment => 'x',
         result => 'hit'), 3, 'x: 3 hits');
    is(metric($s, 'wapress_fragments_total', location => '/a', fragment => 'y',
         result => 'not_found'), 4, 'y: 4 not found');
    is(metric($s, 'wapress_fragment_defaults_total', location => '/a',
         fragment => 'y'), 4, 'y: 4 defaults');
    is(metric($s, 'wapress_fragment_defaults_total', location => '/a',
         fragment => 'x'), 0, 'x: no default');
    is(metric($s, 'wapress_pages_total', location => '/req', code => '404'), 2,
       '2 pages 404');
    is(metric($s, 'wapress_fragments_total', location => '/req',
         result => 'not_found'), 2, '/req: 2 not found');
    is(metric($s, 'wapress_pages_total', location => '/p/s', code => '200'),
       3, '3 pages /p/s');
    is(metric($s, 'wapress_fragments_total', location => '/p/s',
              result => 'miss'),
       1, '/p/s: 1 miss');
    is(metric($s, 'wapress_fragments_total', location => '/p/s',
              result => 'stale'),
       2, '/p/s: 2 stale');
    is(metric($s, 'wapress_pages_total', location => '/p/d', code => '503'),
       1,
       '1 page 503');
    is(metric($s, 'wapress_fragments_total', location => '/p/d',
              result => 'error'),
       1, '/p/d: 1 error');
    is(metric($s, 'wapress_fragment_errors_total', location => '/p/d',
         cause => 'connection'), 1, '/p/d: caused by the connection');
    is(metric($s, 'wapress_fragment_errors_total'), 1, 'no other error');

    # the main Redis: a:2 commands (x, y), req:2, nothing else
    is(metric($s, 'wapress_redis_commands_total', redis => $r), 4, '4 commands');
    is(metric($s, 'wapress_redis_replies_total', redis => $r), 4, '4 replies');
    is(metric($s, 'wapress_redis_commands_in_flight', redis => $r), 0,
       'none in flight');
    is(metric($s, 'wapress_redis_up', redis => $r), 1, 'connected');
    is(metric($s, 'wapress_redis_connects_total', redis => $r), 1, '1 connect');
    is(metric($s, 'wapress_redis_failures_total', redis => $r), 0, 'no failure');
    is(metric($s, 'wapress_redis_round_trip_seconds_count', redis => $r), 4,
       '4 round trips timed');
    is(metric($s, 'wapress_redis_round_trip_seconds_bucket', redis => $r,
         le => '+Inf'), 4, '+Inf bucket');

    # the private one, stopped
    is(metric($s, 'wapress_redis_up', redis => $p), 0, 'private: down');
    ok(metric($s, 'wapress_redis_failures_total', redis => $p) >= 1,
       'private: failures');
    is(metric($s, 'wapress_redis_commands_in_flight', redis => $p), 0,
       'private: none in flight');
    is(metric($s, 'wapress_redis_commands_total', redis => $p),
       metric($s, 'wapress_redis_replies_total', redis => $p)
       + metric($s, 'wapress_redis_dropped_total', redis => $p),
       'private: every command answered or dropped');

    is(metric($s, 'wapress_cache_size_bytes', zone => 't170'), 1048576, 'size');
    ok(metric($s, 'wapress_cache_used_bytes', zone => 't170') > 0, 'used');
    is(metric($s, 'wapress_cache_entries', zone => 't170'), 3,
       '3 entries: t170:a, t170:none, t170:s');
    is(metric($s, 'wapress_cache_evictions_total', zone => 't170'), 0,
       'no eviction');
    is(metric($s, 'wapress_cache_stale_served_total', zone => 't170'), 2,
       '2 stale copies');
    my $age = metric($s, 'wapress_cache_oldest_stale_age_seconds', zone => 't170');
    ok($age >= 0.2 && $age < 5, "oldest stale copy served: $age s");

    # the same numbers as JSON, by ?format= and by Accept
    for my $resp (http_get('/status?format=json'),
                  get_with_accept('/status', 'application/json'))
    {
        my ($head, $json) = split /\r\n\r\n/, $resp, 2;
        like($head, qr{\r\nContent-Type: application/json\r\n}, 'json type');
        my $j = eval { decode_json($json) };
        ok($j, 'the JSON parses') or diag($@);
        my ($a) = grep { $_->{location} eq '/a' } @{ $j->{locations} };
        my ($x) = grep { $_->{name} eq 'x' } @{ $a->{fragments} };
        is($x->{hit}, 3, 'json: x 3 hits');
        my ($z) = @{ $j->{cache} };
        is($z->{stale_served}, 2, 'json: 2 stale');
    }
});

our $UserFiles = <<'_EOF_';
>>> one.html
[<!--# wapress fragment="x" -->]
>>> two.html
[<!--# wapress fragment="x" -->|<!--# wapress fragment="y" -->]
_EOF_

our $Config = <<'_EOC_';
    location = /a {
        wapress_layout ../html/two.html;
        wapress_fragment x t170:a;
        wapress_fragment y t170:none default=none;
    }

    location = /req {
        wapress_cache off;
        wapress_layout ../html/one.html;
        wapress_fragment x t170:nokey required;
    }

    location /p/ {
        wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_STATUS_PORT;

        location = /p/s {
            wapress_cache zone=t170 valid=200ms stale=1h;
            wapress_layout ../html/one.html;
            wapress_fragment x t170:s;
        }

        location = /p/d {
            wapress_cache off;
            wapress_layout ../html/one.html;
            wapress_fragment x t170:d required;
        }
    }

    location = /status {
        wapress_status;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: counters after known traffic
--- http_config
    wapress_cache zone=t170:1m valid=1h stale=1h;
--- config eval: $::Config
--- user_files eval: $::UserFiles
--- init
main::redis('DEL', 't170:a', 't170:none', 't170:nokey');
main::redis('SET', 't170:a', 'A');
t::WapressTest::start_redis($main::Port);
main::redis_at($main::Port, 'SET', 't170:s', 'S');
main::redis_at($main::Port, 'SET', 't170:d', 'D');
--- request
GET /a
--- response_body
[A|none]
--- no_error_log
[alert]
[crit]



=== TEST 2: evictions, updating copies and refreshes
--- http_config
    wapress_cache zone=t170e:32k valid=1h;
--- config
    location ~ ^/e/(?<n>\d+)$ {
        wapress_layout ../html/one.html;
        wapress_fragment x t170:e:$n;
    }

    location = /u {
        wapress_cache zone=t170u:1m valid=200ms stale=1h
                      stale_while_revalidate;
        wapress_layout ../html/one.html;
        wapress_fragment x t170:u;
    }

    location = /status {
        wapress_status;
    }
--- user_files eval: $::UserFiles
--- init
my @cmds = map { ['SET', "t170:e:$_", 'v' x 2000] } 1 .. 50;
t::WapressTest::redis_session($ENV{TEST_NGINX_REDIS_PORT}, @cmds,
                              ['SET', 't170:u', 'U']);
--- request
GET /status?format=json
--- response_body_like eval
qr/^\{"locations":/



=== TEST 3: a status page with no page location: empty, valid
--- config
    location = /status {
        wapress_status;
    }
--- request
GET /status?format=json
--- response_body
{"locations":[],"redis":[],"cache":[]}



=== TEST 4: an unknown format is a bad request
--- config
    location = /status {
        wapress_status;
    }
--- request
GET /status?format=xml
--- error_code: 400



=== TEST 5: wapress_status next to another content handler
--- config
    location = /status {
        wapress_layout ../html/one.html;
        wapress_status;
    }
--- user_files eval: $::UserFiles
--- must_die
--- error_log
"wapress_status" directive conflicts with another content handler



=== TEST 6: filter mode at the server level: its location without a name
--- config
    wapress_filter on;
    wapress_fragment x t170:a;

    location = /status {
        wapress_status;
    }
--- user_files
>>> page.html
<p><!--# wapress fragment="x" --></p>
--- request eval
["GET /page.html", "GET /status?format=json"]
--- response_body_like eval
[qr{^<p>A</p>$},
 qr{"location":"","layout":null,.*"location":"/","layout":null,"pages":\{"200":1,}]
