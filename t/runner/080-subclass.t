# Runner self-test: a project module subclassing Test::Nginx::Socket with
# "use Test::Nginx::Socket -Base;" (like t/WapressTest.pm), adding its own
# exports and a block preprocessor; the test file only uses the subclass.
use strict;
use warnings;
use File::Temp ();

BEGIN {
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    mkdir "$dir/t" or die "mkdir: $!";
    open my $fh, '>', "$dir/t/RunnerSubclass.pm" or die "open: $!";
    print $fh <<'_EOM_';
package t::RunnerSubclass;

use Test::Nginx::Socket -Base;

our @EXPORT = qw( runner_greeting );

sub runner_greeting () { "hi from the subclass" }

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->response_body) {
        $block->set_value(response_body => runner_greeting() . "\n");
    }
});

1;
_EOM_
    close $fh;
    unshift @INC, $dir;
}

use t::RunnerSubclass;

repeat_each(2);

plan tests => repeat_each() * blocks() * 2;

our $Greeting = runner_greeting();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the preprocessor supplies the expected body
--- config
    location /t { return 200 "hi from the subclass\n"; }
--- request
GET /t



=== TEST 2: subclass exports are usable in eval sections
--- config
    location /t { return 200 "hi from the subclass"; }
--- request
GET /t
--- response_body eval: $::Greeting
