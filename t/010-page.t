# The example page end to end: the issue's configuration, pointed at
# examples/seed-page, must serve expected.html byte for byte; plus the
# response headers, HEAD, gzip and charset.

use t::WapressTest;

repeat_each(2);
plan tests => repeat_each() * (blocks() * 6 + 2);

my $dir = "$ENV{TEST_NGINX_EXAMPLE}/redis";
opendir my $dh, $dir or die "$dir: $!";
for my $key (grep { !/^\./ } readdir $dh) {
    open my $fh, '<:raw', "$dir/$key" or die "$key: $!";
    local $/;
    redis('SET', $key, scalar <$fh>) eq 'OK' or die "cannot SET $key";
}

our $Expected = example_file('expected.html');
our $Config = <<'_EOC_';
    location ~ ^/news/(?<slug>[a-z0-9-]+)$ {
        wapress_layout   $TEST_NGINX_EXAMPLE/layout.html;
        wapress_fragment article  article:$slug  required;
        wapress_fragment comments comments:$slug template=$TEST_NGINX_EXAMPLE/templates/comments.mustache default=0;
        wapress_fragment related  related:$slug  template=$TEST_NGINX_EXAMPLE/templates/related.mustache;
        wapress_fragment features features:home  template=$TEST_NGINX_EXAMPLE/templates/features.mustache;
        wapress_fragment history  history:today  type=text template=$TEST_NGINX_EXAMPLE/templates/history.mustache;
        wapress_fragment rates    rates:USD      template=$TEST_NGINX_EXAMPLE/templates/rates.mustache;
    }
_EOC_

no_long_string();
run_tests();

__DATA__

=== TEST 1: the article page is expected.html, byte for byte
--- http_config
    wapress_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    wapress_redis_timeout 200ms;
--- config eval: $::Config
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- response_headers eval
"Content-Type: text/html
Content-Length: " . length($::Expected)



=== TEST 2: HEAD gives the same headers and no body
--- layout_only: HEAD: the filter lets a HEAD response through as it is
--- config eval: $::Config
--- request
HEAD /news/niger-junta-revokes-eu-security-agreements
--- response_body
--- response_headers eval
"Content-Type: text/html
Content-Length: " . length($::Expected)



=== TEST 3: charset utf-8 is added to the Content-Type
--- config eval: "charset utf-8;\n" . $::Config
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body eval: $::Expected
--- response_headers
Content-Type: text/html; charset=utf-8



=== TEST 4: gzip compresses the assembled page
--- config eval: "gzip on; gzip_min_length 1;\n" . $::Config
--- more_headers
Accept-Encoding: gzip
--- request
GET /news/niger-junta-revokes-eu-security-agreements
--- response_body_filters eval
sub {
    require IO::Uncompress::Gunzip;
    my ($in, $out) = (shift, undef);
    IO::Uncompress::Gunzip::gunzip(\$in, \$out) or die "gunzip failed";
    return $out;
}
--- response_body eval: $::Expected
--- response_headers
Content-Encoding: gzip
