# Hundreds of concurrent requests for different pages share the worker's
# one Redis connection: their lookups pipeline, and every reply reaches
# its own request.

use t::WapressTest;
use IO::Socket::INET;
use IO::Select;

our $N = 400;

worker_connections(1024);

plan tests => repeat_each() * (blocks() * 5 + 1);

my @cmds = map { ['SET', "t080:a:$_", "article $_"] } 1 .. $N;
push @cmds, map { ['SET', "t080:c:$_", $_ * 7] } 1 .. $N;
redis_session($ENV{TEST_NGINX_REDIS_PORT}, @cmds);

# Sends $N requests at once, each on its own connection, and returns how
# many bodies were the page of their own slug.
sub concurrent_pages {
    my (%want, %got, %sock);
    my $sel = IO::Select->new;
    for my $i (1 .. $N) {
        my $s = IO::Socket::INET->new(
            PeerAddr => '127.0.0.1',
            PeerPort => $Test::Nginx::Util::ServerPort) or die "connect: $!";
        $s->blocking(0);
        $want{$s} = "<h1>article $i</h1><p>" . ($i * 7) . " comments</p>\n";
        $sock{$s} = $s;
        $got{$s} = '';
        print $s "GET /n/$i HTTP/1.0\r\nHost: localhost\r\n\r\n";
        $sel->add($s);
    }
    my $deadline = time + 20;
    while ($sel->count && time < $deadline) {
        for my $s ($sel->can_read(1)) {
            my $n = sysread($s, my $buf, 65536);
            if (!$n) {
                $sel->remove($s);
                close $s;
                next;
            }
            $got{$s} .= $buf;
        }
    }
    my $ok = 0;
    for my $k (keys %want) {
        my ($head, $body) = split /\r\n\r\n/, $got{$k}, 2;
        $ok++ if defined $body && $head =~ m{^HTTP/1\.\d 200 }
                 && $body eq $want{$k};
    }
    return $ok;
}

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    return if $dry_run;
    is(concurrent_pages(), $N, "$N concurrent pages, each with its own "
                               . "fragments");
});

run_tests();

__DATA__

=== TEST 1: concurrent requests for different slugs
--- user_files
>>> layout.html
<h1><!--# wapress fragment="a" --></h1><p><!--# wapress fragment="c" --> comments</p>
--- config
    location ~ ^/n/(?<slug>[0-9]+)$ {
        wapress_layout ../html/layout.html;
        wapress_fragment a t080:a:$slug required;
        wapress_fragment c t080:c:$slug;
    }
--- main_config
    worker_rlimit_nofile 4096;
--- request
GET /n/1
--- response_body
<h1>article 1</h1><p>7 comments</p>
