# Runner self-test: configuration helpers and the less common sections -
# http_config, main_config, post_main_config, server_name, env_to_nginx,
# config_preamble, block preprocessors, response body checks and filters,
# init, wait, skip_eval, skip_nginx, todo, *_like variants.
use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * 27;

env_to_nginx('RUNNER_PLAIN', 'RUNNER_SET=value');
config_preamble("        set \$preamble 'from preamble';\n");

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->more_headers) {
        $block->set_value(more_headers => "X-Pre: preprocessed");
    }
});

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
    return unless defined $block->body_check;
    Test::More::ok(length($body // '') > 0,
                   $block->name . " - custom body check ($req_idx)");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: http_config, main_config, post_main_config, server_name
--- main_config
    worker_rlimit_nofile 1024;
--- post_main_config
    pcre_jit off;
--- http_config
    map $uri $mapped {
        default "mapped";
    }
--- server_name: runner.test
--- config
    location /t {
        return 200 "$mapped $server_name $preamble $http_x_pre\n";
    }
--- request
GET /t
--- response_body
mapped runner.test from preamble preprocessed



=== TEST 2: response_body_filters (names and code refs), body checks
--- config
    location /f { return 200 "hello"; }
--- request eval
["GET /f", "GET /f", "GET /f"]
--- response_body_filters eval
[["length"], ["md5_hex"], [sub { uc $_[0] }, "lcfirst"]]
--- response_body eval
["5", "5d41402abc4b2a76b9719d911017c592", "hELLO"]
--- body_check



=== TEST 3: regex expectations
--- config
    location /r {
        add_header X-Num 12345;
        return 201 "abc 123\n";
    }
--- request
GET /r
--- error_code_like: ^2\d\d$
--- response_headers_like
X-Num: \d+
Content-Type: text/.*
--- response_body eval
qr/^abc \d+$/m



=== TEST 4: response_body_unlike
--- config
    location /u { return 200 "nothing to see"; }
--- request
GET /u
--- response_body_unlike: error



=== TEST 5: init runs before the first request
--- config
    location /x { return 204; }
--- init
my $dir = Test::Nginx::Util::html_dir();
open my $fh, '>', "$dir/from-init.txt" or die $!;
print $fh "made by init\n";
close $fh;
--- request
GET /from-init.txt
--- wait: 0.05
--- response_body
made by init



=== TEST 6: skip_eval: the tests of the block are skipped
--- config
    location /x { return 500; }
--- request
GET /x
--- skip_eval: 2: 1
--- response_body
never checked



=== TEST 7: skip_nginx: condition false, the block runs
--- config
    location /x { return 200 "ran"; }
--- request
GET /x
--- skip_nginx: 2: < 0.1.0
--- response_body chomp
ran



=== TEST 8: skip_nginx: condition true, skipped
--- config
    location /x { return 500; }
--- request
GET /x
--- skip_nginx: 2: >= 0.1.0
--- response_body chomp
never checked



=== TEST 9: todo
--- config
    location /x { return 500; }
--- request
GET /x
--- todo: 2: not implemented on purpose
--- response_body chomp
never checked
