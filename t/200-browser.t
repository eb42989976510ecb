# The demo page in headless Chromium (util/test-browser.sh): every
# sub-resource loads, no console error, the stylesheet applies.  Skipped
# where Chromium is not installed or nginx is not build/nginx/sbin/nginx
# (make test-dynamic).  Ports: TEST_NGINX_BROWSER_PORT and
# TEST_NGINX_BROWSER_REDIS_PORT (see util/test-browser.sh).
use strict;
use warnings;
use Test::More;
use FindBin;

my $root = "$FindBin::Bin/..";
my $nginx = "$root/build/nginx/sbin/nginx";
my ($chromium) = grep { -x } map { "$_/chromium" } split /:/, $ENV{PATH};

plan skip_all => 'chromium is not installed' unless $chromium;
plan skip_all => "no $nginx (make build)" unless -x $nginx;
plan skip_all => 'dynamic-module run: the demo uses the static build'
    if $ENV{TEST_NGINX_LOAD_MODULES};
plan tests => 1;

my $out = `"$root/util/test-browser.sh" 2>&1`;
my $ok = $? == 0;
ok($ok, 'the demo page loads in Chromium with all its resources')
    or diag($out);
