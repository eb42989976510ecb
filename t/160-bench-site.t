# The site benchmark's workload (bench/site/, make bench WORKLOAD=site):
# 50 articles from the generator, loaded into a private Redis and served
# through the module with the example page's configuration, come back byte
# for byte as the generator's reference pages; the generator is
# deterministic from its seed and keeps its sizes, links and Zipf order; the
# writer changes what it says it changes.

use t::WapressTest;

$t::WapressTest::LayoutOnly = 'it reads the pages by Content-Length on one keepalive connection; filter mode streams them chunked';
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 5 + 10);

our $Port = $ENV{TEST_NGINX_REDIS_BENCH_PORT}
    ||= ($ENV{TEST_NGINX_REDIS_PORT} || 6399) - 21;           # 6378
our $Root = $ENV{TEST_NGINX_ROOT};
our $Dir = tempdir('t160-XXXXXX', TMPDIR => 1, CLEANUP => 1);
our $N = 50;

sub r { t::WapressTest::redis_at($Port, @_) }

sub slurp ($) {
    open my $fh, '<:raw', $_[0] or die "$_[0]: $!";
    local $/;
    return scalar <$fh>;
}

sub gen ($$) {
    my ($out, $seed) = @_;
    system('python3', "$Root/bench/site/gen.py", '--out', $out,
           '--seed', $seed, '--articles', $N, '--requests', 2000,
           '--check', $N) == 0 or die "gen.py failed\n";
    my %meta = map { /^(\w+)=(.*)$/ ? ($1, $2) : () }
               split /\n/, slurp("$out/meta.txt");
    return \%meta;
}

# the reference renderer reproduces the example page
is(system("python3 $Root/bench/site/gen.py --self-check >/dev/null"), 0,
   'the reference renderer gives examples/seed-page/expected.html');

our $Meta = gen("$Dir/a", 7);
gen("$Dir/b", 7);
gen("$Dir/c", 8);
is(system("diff -r -q $Dir/a $Dir/b >/dev/null"), 0,
   'the same seed generates the same files');
isnt(slurp("$Dir/a/redis.resp"), slurp("$Dir/c/redis.resp"),
     'another seed generates other values');
ok($Meta->{article_min} >= 2048 && $Meta->{article_max} <= 30720,
   "article HTML from $Meta->{article_min} to $Meta->{article_max} bytes");

our @Slugs = grep { length } split /\n/, slurp("$Dir/a/slugs.txt");
my %hits;
$hits{$_}++ for split /\n/, slurp("$Dir/a/paths.txt");
my @top = sort { $hits{$b} <=> $hits{$a} } keys %hits;
is($top[0], "/news/$Slugs[0]", 'the most requested path is rank 1 of '
   . "slugs.txt ($hits{$top[0]} of 2000)");

stop_redis($Port);
start_redis($Port);
add_cleanup_handler(sub { stop_redis($Port) });

is(`redis-cli -p $Port --pipe < $Dir/a/redis.resp 2>&1 | tail -1`,
   "errors: 0, replies: $Meta->{keys}\n", "$Meta->{keys} keys loaded");

my $bad = 0;
for my $slug (@Slugs) {
    my $links = decode_json(r('GET', "related:$slug"));
    $bad++ unless @$links >= 3 && @$links <= 8
                  && !grep { $_->{url} !~ m{^/news/[a-z0-9-]+$} } @$links;
}
is($bad, 0, "every article has 3 to 8 related links");

# every page of check.txt, on one keepalive connection: how many are the
# reference page byte for byte
sub pages_ok {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $Test::Nginx::Util::ServerPort,
                                  Timeout => 5) or die "connect: $!";
    my $ok = 0;
    for my $slug (grep { length } split /\n/, slurp("$Dir/a/check.txt")) {
        print $s "GET /news/$slug HTTP/1.1\r\nHost: localhost\r\n\r\n";
        my $head = '';
        while ($head !~ /\r\n\r\n$/) {
            sysread($s, my $c, 1) or last;
            $head .= $c;
        }
        my ($len) = $head =~ /^Content-Length: *(\d+)/mi;
        last unless defined $len;
        my $body = '';
        while (length $body < $len) {
            sysread($s, $body, $len - length $body, length $body) or last;
        }
        $ok++ if $head =~ m{^HTTP/1\.1 200 }
                 && $body eq slurp("$Dir/a/html/news/$slug");
    }
    return $ok;
}

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    return if $dry_run;
    is(pages_ok(), $N, "all $N pages are the reference pages");

    # the writer, 1.5 s: its INCRs and SETs reach Redis, and the pages
    # change
    my $before = r('INFO', 'commandstats');
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        exec('python3', "$Root/bench/site/writer.py", '--port', $Port,
             '--seed', 7, '--articles', $N, '--incr', 200, '--publish', 4,
             '--stats', "$Dir/writer.txt") or exit 127;
    }
    select(undef, undef, undef, 1.5);
    kill 'TERM', $pid;
    waitpid($pid, 0);
    my %w = map { /^(\w+)=(.*)$/ ? ($1, $2) : () }
            split /\n/, slurp("$Dir/writer.txt");
    my $info = r('INFO', 'commandstats');
    my ($incr) = $info =~ /cmdstat_incr:calls=(\d+)/;
    ok($w{incr} > 0 && $w{publish} > 0 && $w{rates} > 0 && $w{errors} == 0
       && $incr == $w{incr},
       "the writer: $w{incr} INCR ($incr in Redis), $w{publish} articles, "
       . "$w{rates} rates, $w{errors} errors");
    ok(pages_ok() < $N, 'after the writer, pages differ from the reference');
});

run_tests();

__DATA__

=== TEST 1: the generated articles, served through the module
--- http_config eval
"    wapress_redis 127.0.0.1:$main::Port;"
--- config eval
my $ex = $ENV{TEST_NGINX_EXAMPLE};
"    location ~ ^/news/(?<slug>[a-z0-9-]+)\$ {
        wapress_layout   $ex/layout.html;
        wapress_fragment article  article:\$slug  required;
        wapress_fragment comments comments:\$slug template=$ex/templates/comments.mustache default=0;
        wapress_fragment related  related:\$slug  template=$ex/templates/related.mustache;
        wapress_fragment features features:home  template=$ex/templates/features.mustache;
        wapress_fragment history  history:today  type=text template=$ex/templates/history.mustache;
        wapress_fragment rates    rates:USD      template=$ex/templates/rates.mustache;
    }"
--- request eval
"GET /news/$main::Slugs[0]"
--- response_body eval
main::slurp("$main::Dir/a/html/news/$main::Slugs[0]")
