#!/usr/bin/env perl
# t/000-mustache-spec.t: runs the C unit test build/unit/mustache_spec
# (built by "make unit") over the Mustache spec vectors in t/mustache-spec;
# its TAP goes straight to prove.  Run from the repository root.

use strict;
use warnings;

my $bin = 'build/unit/mustache_spec';

if (!-x $bin) {
    print "Bail out! $bin missing: run 'make unit'\n";
    exit 1;
}

exec $bin, 't/mustache-spec'
    or do { print "Bail out! cannot run $bin: $!\n"; exit 1 };
