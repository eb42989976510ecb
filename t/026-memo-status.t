# wapress_status counts, per fragment, the renderings of json and text
# values by whether the worker's memo had them
# (wapress_fragment_renderings_total{memo="hit"|"miss"}, JSON "memo"):
# a value seen again is a hit, a new one a miss, an html value or a copy
# from the cache is no rendering, and with wapress_memo_size 0 every
# rendering is a miss.

use t::WapressTest;

repeat_each(1);
no_shuffle();

plan tests => repeat_each() * (blocks() * 5 + 11);

redis('DEL', 't026:h', 't026:j', 't026:c');
redis('SET', 't026:h', 'H');
redis('SET', 't026:j', '{"n":1}');
redis('SET', 't026:c', '{"n":7}');

# the value of one sample of the Prometheus text, 0 if absent
sub sample {
    my ($text, $loc, $frag, $memo) = @_;
    return $text =~ /^wapress_fragment_renderings_total\{server="[^"]*",location="\Q$loc\E",fragment="\Q$frag\E",memo="$memo"\} (\d+)$/m
           ? $1 : 0;
}

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    return if $dry_run || $block->name !~ /counted/;

    # the block's request: j rendered
    http_get('/m') for 1 .. 3;                 # j: 3 hits
    redis('SET', 't026:j', '{"n":2}');
    http_get('/m');                            # j: a miss
    http_get('/c') for 1 .. 3;                 # c: a miss, then the cache

    my $s = http_get('/status');
    is(sample($s, '/m', 'j', 'hit'), 3, 'j: 3 from the memo');
    is(sample($s, '/m', 'j', 'miss'), 2, 'j: 2 rendered');
    is(sample($s, '/m', 'h', 'hit') + sample($s, '/m', 'h', 'miss'), 0,
       'h (html): no rendering');
    is(sample($s, '/c', 'j', 'miss'), 1, 'c: rendered once');
    is(sample($s, '/c', 'j', 'hit'), 0,
       'c: then from the cache, no rendering');
    like($s, qr/^# TYPE wapress_fragment_renderings_total counter$/m,
         'a counter');

    my $j = http_get('/status?format=json');
    like($j, qr/"name":"j",[^\]]*"memo":\{"hit":3,"miss":2\}/, 'JSON: j');
    like($j, qr/"name":"h",[^\]]*"memo":\{"hit":0,"miss":0\}/, 'JSON: h');
});

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeat_idx, $dry_run) = @_;
    return if $dry_run || $block->name !~ /memo off/;

    # the block's request: j rendered
    redis('SET', 't026:j', '{"n":1}');
    http_get('/m') for 1 .. 3;

    my $s = http_get('/status');
    is(sample($s, '/m', 'j', 'hit'), 0, 'memo off: no hit');
    is(sample($s, '/m', 'j', 'miss'), 4, 'memo off: every one rendered');
    is(sample($s, '/m', 'h', 'miss'), 0, 'h (html): still no rendering');
});

run_tests();

__DATA__

=== TEST 1: renderings counted by the memo's answer
--- user_files
>>> two.html
<!--# wapress fragment="h" -->|<!--# wapress fragment="j" -->
>>> n.mustache
n={{n}}
--- config
    location = /m {
        wapress_layout ../html/two.html;
        wapress_fragment h t026:h;
        wapress_fragment j t026:j template=../html/n.mustache;
    }
    location = /c {
        wapress_cache zone=t026:1m valid=60s;
        wapress_layout ../html/two.html;
        wapress_fragment h t026:h;
        wapress_fragment j t026:c template=../html/n.mustache;
    }
    location = /status {
        wapress_status;
    }
--- request
GET /m
--- response_body eval
"H|n=1\n\n"




=== TEST 2: memo off: every rendering is a miss
--- http_config
    wapress_memo_size 0;
--- user_files
>>> two.html
<!--# wapress fragment="h" -->|<!--# wapress fragment="j" -->
>>> n.mustache
n={{n}}
--- config
    location = /m {
        wapress_layout ../html/two.html;
        wapress_fragment h t026:h;
        wapress_fragment j t026:j template=../html/n.mustache;
    }
    location = /status {
        wapress_status;
    }
--- request
GET /m
--- response_body eval
"H|n=2\n\n"

