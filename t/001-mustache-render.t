#!/usr/bin/env perl
# t/001-mustache-render.t: runs the C unit test build/unit/mustache_render
# (built by "make unit"): escaping, value formatting, compile errors, depth
# limits, output growth and the seed page's templates in examples/seed-page;
# its TAP goes straight to prove.  Run from the repository root.

use strict;
use warnings;

my $bin = 'build/unit/mustache_render';

if (!-x $bin) {
    print "Bail out! $bin missing: run 'make unit'\n";
    exit 1;
}

exec $bin, 'examples/seed-page'
    or do { print "Bail out! cannot run $bin: $!\n"; exit 1 };
