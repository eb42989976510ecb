# wapress_cache ... invalidate=on: entries stay fresh for valid=1h, and a
# key written in Redis (SET, DEL, EXPIRE, FLUSHALL) reaches the page at
# once, on every worker, through Redis's CLIENT TRACKING broadcasts
# followed by worker 0.  While the subscription is down (killed with
# CLIENT KILL, Redis restarted) entries fall back to 1 s of freshness and
# the subscription comes back by itself.  A private redis-server (master
# on, two workers) so that commandstats count only this file's commands.

use t::WapressTest;
use Time::HiRes qw(sleep time);

repeat_each(1);
master_on();
workers(2);

plan 'no_plan';

our $Port = $ENV{TEST_NGINX_REDIS_INVAL_PORT}
    ||= ($ENV{TEST_NGINX_REDIS_PORT} || 6399) - 16;           # 6383

stop_redis($Port);
start_redis($Port);

add_cleanup_handler(sub {
    stop_redis($Port);
});

sub r { return t::WapressTest::redis_at($Port, @_) }

sub gets {
    my $info = r('INFO', 'commandstats');
    return $info =~ /cmdstat_get:calls=(\d+)/ ? $1 : 0;
}

# the page as seen by many requests (spread over both workers)
sub pages {
    my ($path, $n) = @_;
    my %seen;
    for (1 .. $n) {
        my $resp = http_get($path);
        $resp =~ s/.*?\r\n\r\n//s;
        $seen{$resp}++;
    }
    return join ',', sort keys %seen;
}

# waits until worker 0 has subscribed (its notice is in the log)
sub wait_subscribed {
    my $log = "$Test::Nginx::Util::ErrLogFile";
    for (1 .. 100) {
        open my $fh, '<', $log or die "$log: $!";
        my $n = grep { /following invalidations of/ } <$fh>;
        return $n if $n >= ($_[0] // 1);
        sleep 0.05;
    }
    die "no subscription in the log\n";
}

our $UserFiles = <<'_EOF_';
>>> one.html
[<!--# wapress fragment="x" -->]
>>> two.html
[<!--# wapress fragment="x" -->|<!--# wapress fragment="y" -->]
_EOF_

our $HttpConfig = <<"_EOC_";
    wapress_redis 127.0.0.1:$Port;
    wapress_cache zone=t155:1m valid=1h stale=1h invalidate=on;
_EOC_

our $Config = <<'_EOC_';
    location ~ ^/a/(?<n>\w+)$ {
        wapress_layout ../html/one.html;
        wapress_fragment x t155:a:$n default=none;
    }

    location = /two {
        wapress_layout ../html/two.html;
        wapress_fragment x t155:static default=none;
        wapress_fragment y t155:h field=f default=none;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    if (defined $block->config && !defined $block->user_files) {
        $block->set_value('user_files', $UserFiles);
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: worker 0 subscribes to the invalidations of the keys' prefixes
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- init
main::r('SET', 't155:a:1', 'one');
main::r('SET', 't155:static', 's1');
main::r('HSET', 't155:h', 'f', 'h1');
--- request
GET /a/1
--- response_body
[one]
--- wait: 0.3
--- error_log eval
qr/wapress: redis 127\.0\.0\.1:\d+: following invalidations of 3 key prefixes/
--- no_error_log
[error]
[alert]



=== TEST 2: fresh for an hour: 200 pages cost no GET at all
--- init
main::wait_subscribed();
main::pages('/a/1', 4);
my $g = main::gets();
my $p = main::pages('/a/1', 200);
Test::More::is($p, "[one]\n", "200 pages from the zone");
Test::More::is(main::gets() - $g, 0, "no GET for 200 pages");
--- request
GET /a/1
--- response_body
[one]



=== TEST 3: a SET reaches the page at once, on every worker
--- init
main::r('SET', 't155:a:1', 'two');
sleep 0.2;
Test::More::is(main::pages('/a/1', 20), "[two]\n", "every page new");
--- request
GET /a/1
--- response_body
[two]



=== TEST 4: a hash field (HSET) and a DEL of a static key
--- init
main::pages('/two', 2);
main::r('HSET', 't155:h', 'f', 'h2');
main::r('DEL', 't155:static');
sleep 0.2;
--- request
GET /two
--- response_body
[none|h2]



=== TEST 5: an expiry invalidates too
--- init
main::r('SET', 't155:a:e', 'short', 'PX', 300);
main::pages('/a/e', 2);
sleep 0.6;
--- request
GET /a/e
--- response_body
[none]



=== TEST 6: FLUSHALL: every entry is asked again
--- init
main::pages('/a/1', 2);
main::r('FLUSHALL');
sleep 0.2;
--- request
GET /a/1
--- response_body
[none]



=== TEST 7: a key no fragment uses: nothing is asked again
--- init
main::r('SET', 't155:a:1', 'three');
sleep 0.2;
main::pages('/a/1', 2);
my $g = main::gets();
main::r('SET', 'unrelated:key', 'x');
sleep 0.2;
Test::More::is(main::pages('/a/1', 20), "[three]\n", "pages");
Test::More::is(main::gets() - $g, 0, "no GET after an unrelated write");
--- request
GET /a/1
--- response_body
[three]



=== TEST 8: the subscriber killed: no page older than 1 s meanwhile
--- init
main::r('CLIENT', 'KILL', 'TYPE', 'pubsub');
main::r('SET', 't155:a:1', 'four');
sleep 1.1;
Test::More::is(main::pages('/a/1', 10), "[four]\n", "every page new");
--- request
GET /a/1
--- response_body
[four]
--- error_log
invalidations no longer followed



=== TEST 9: ... and it is back within a second: a write is seen at once
--- init
my $t0 = Time::HiRes::time();
main::wait_subscribed(2);
Test::More::cmp_ok(Time::HiRes::time() - $t0, '<', 1, "subscribed again");
main::pages('/a/1', 4);
main::r('SET', 't155:a:1', 'five');
sleep 0.2;
Test::More::is(main::pages('/a/1', 10), "[five]\n", "every page new");
--- request
GET /a/1
--- response_body
[five]
--- no_error_log
[alert]



=== TEST 10: Redis restarted: fallback freshness, then followed again
--- init
main::pages('/a/1', 2);
t::WapressTest::stop_redis($main::Port);
t::WapressTest::start_redis($main::Port);
main::r('SET', 't155:a:1', 'six');
sleep 1.1;
Test::More::is(main::pages('/a/1', 10), "[six]\n", "every page new");
main::wait_subscribed(3);
main::r('SET', 't155:a:1', 'seven');
sleep 0.2;
--- request
GET /a/1
--- response_body
[seven]
--- no_error_log
[alert]
[crit]



=== TEST 11: a prefix that matches nothing written: the page stays cached
--- http_config eval
"    wapress_redis 127.0.0.1:$::Port;\n"
. "    wapress_cache zone=t155b:1m valid=1h invalidate=on;\n"
--- config
    location = /s {
        wapress_layout ../html/one.html;
        wapress_fragment x t155:nothing:here default=empty;
    }
--- request
GET /s
--- response_body
[empty]
--- wait: 0.3
--- error_log
following invalidations of 1 key prefixes



=== TEST 12: ... its nil stays cached: no GET for more pages
--- init
main::wait_subscribed();
my $g = main::gets();
Test::More::is(main::pages('/s', 50), "[empty]\n", "pages");
Test::More::is(main::gets() - $g, 0, "no GET");
--- request
GET /s
--- response_body
[empty]
