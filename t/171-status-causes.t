# Why a fragment failed, as wapress_status counts it
# (wapress_fragment_errors_total{cause=...}) and as the debug header
# names it: a Redis error reply, bad JSON, a value over
# wapress_fragment_max_size, a template that fails, a deadline, a server
# that refuses; and the
# missing optional key in the access log ($wapress_fragments_missing,
# $wapress_fragments_default).  The causes are read from the texts the
# fetch code logs: this test notices when one of them changes.

use t::WapressTest;

$t::WapressTest::LayoutOnly = 'its checks read X-Wapress and $wapress_* in response headers, which a streaming filter page sends before the lookups';
use IO::Socket::INET;

repeat_each(1);
no_shuffle();

plan tests => repeat_each() * (blocks() * 4 + 6);

$ENV{TEST_NGINX_REDIS_DOWN_PORT} ||= 6397;
$ENV{TEST_NGINX_REDIS_BLACKHOLE_PORT} ||= 6395;

# accepts connections (the kernel does) and never answers
our $Blackhole = IO::Socket::INET->new(
    LocalAddr => '127.0.0.1', LocalPort => $ENV{TEST_NGINX_REDIS_BLACKHOLE_PORT},
    Listen => 16, ReuseAddr => 1) or die "blackhole: $!";

redis('DEL', 't171:hash', 't171:bad', 't171:long', 't171:missing',
      't171:ok');
redis('HSET', 't171:hash', 'f', 'v');
redis('SET', 't171:bad', '{bad');
redis('SET', 't171:long', 'x' x 100);
redis('SET', 't171:ok', 'OK');

# 40 levels of a recursive partial: more than a rendering may nest
my $tree = '{"name":"leaf","children":[]}';
$tree = qq{{"name":"n$_","children":[$tree]}} for 1 .. 39;
redis('SET', 't171:tree', $tree);

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    return if $dry_run || $block->name !~ /by cause/;

    like(http_get('/t'),
         qr{\r\nX-Wapress: x=ERROR;cause=timeout;default\r\n}, 'timeout');
    like(http_get('/n'),
         qr{\r\nX-Wapress: x=ERROR;cause=connection;default\r\n},
         'connection');

    like(http_get('/d'),
         qr{\r\nX-Wapress: x=ERROR;cause=render;default\r\n}, 'render');

    my ($head, $text) = split /\r\n\r\n/, http_get('/status'), 2;
    my %err;
    while ($text =~ /^wapress_fragment_errors_total\{[^}]*location="([^"]+)",
                     fragment="(\w)",cause="(\w+)"\}\s(\d+)$/mgx) {
        $err{"$1 $2 $3"} = $4 if $4;
    }
    is_deeply(\%err, {
        '/c r error_reply' => 1,
        '/c j bad_json' => 1,
        '/c l too_large' => 1,
        '/t x timeout' => 1,
        '/n x connection' => 1,
        '/d x render' => 1,
    }, 'errors by cause');
});

run_tests();

__DATA__

=== TEST 1: errors by cause
--- http_config
    log_format t171 '$uri missing=$wapress_fragments_missing default=$wapress_fragments_default';
--- config
    wapress_debug_header on;
    access_log logs/access.log t171;

    location = /c {
        wapress_fragment_max_size 8;
        wapress_layout ../html/c.html;
        wapress_fragment r t171:hash default=R;
        wapress_fragment j t171:bad type=json template=../html/j.mustache
                         'default={"v":"J"}';
        wapress_fragment l t171:long default=L;
        wapress_fragment m t171:missing default=M;
        wapress_fragment o t171:ok;
    }

    location = /t {
        wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_BLACKHOLE_PORT;
        wapress_redis_timeout 100ms;
        wapress_layout ../html/one.html;
        wapress_fragment x t171:x default=T;
    }

    location = /n {
        wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
        wapress_layout ../html/one.html;
        wapress_fragment x t171:x default=N;
    }

    location = /d {
        wapress_layout ../html/one.html;
        wapress_fragment x t171:tree template=../html/tree.mustache
                         default=0;
    }

    location = /status {
        wapress_status;
    }
--- user_files
>>> c.html
[<!--# wapress fragment="r" -->|<!--# wapress fragment="j" -->|<!--# wapress fragment="l" -->|<!--# wapress fragment="m" -->|<!--# wapress fragment="o" -->]
>>> one.html
[<!--# wapress fragment="x" -->]
>>> j.mustache
{{v}}
>>> tree.mustache
<ul>{{> node}}</ul>
>>> node.mustache
<li>{{name}}{{#children}}<ul>{{> node}}</ul>{{/children}}</li>
--- request
GET /c
--- response_body eval
"[R|J\n|L|M|OK]\n"
--- response_headers
X-Wapress: r=ERROR;cause=error_reply;default, j=ERROR;cause=bad_json;default, l=ERROR;cause=too_large;default, m=NOTFOUND;age=0.0;default, o=MISS;age=0.0
--- access_log
/c missing=1 default=4
--- no_error_log
[alert]
[crit]
