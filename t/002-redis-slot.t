#!/usr/bin/env perl
# t/002-redis-slot.t: runs the C unit test build/unit/redis_slot (built by
# "make unit"): Redis Cluster hash slots and hash tags; its TAP goes
# straight to prove.  Run from the repository root.

use strict;
use warnings;

my $bin = 'build/unit/redis_slot';

if (!-x $bin) {
    print "Bail out! $bin missing: run 'make unit'\n";
    exit 1;
}

exec $bin
    or do { print "Bail out! cannot run $bin: $!\n"; exit 1 };
