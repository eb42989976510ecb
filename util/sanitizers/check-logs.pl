#!/usr/bin/env perl
# util/sanitizers/check-logs.pl [--valgrind] DIR: fails (exit 1) if any
# report file in DIR holds a report, and prints those reports.
#
# Sanitizer mode (ASAN_OPTIONS=log_path=DIR/san): every AddressSanitizer,
# UndefinedBehaviorSanitizer or LeakSanitizer report counts, except one
# leak LSan's suppression syntax cannot single out (its frames are all
# general): the pool of nginx's bootstrap cycle, created in main() and
# never destroyed when the configuration fails to load (the must_die
# tests), i.e. a direct leak allocated by exactly
# ngx_memalign <- ngx_create_pool <- main (src/core/nginx.c).
#
# Valgrind mode (TEST_NGINX_VALGRIND_LOG=DIR/vg): valgrind -q writes
# nothing but reports, so any non-empty file counts.

use strict;
use warnings;

my $valgrind = 0;
if (@ARGV && $ARGV[0] eq '--valgrind') {
    $valgrind = 1;
    shift;
}

my $dir = shift or die "usage: $0 [--valgrind] DIR\n";
opendir my $dh, $dir or die "$0: cannot open $dir: $!\n";
my @files = sort grep { -f "$dir/$_" } readdir $dh;
closedir $dh;

my ($bad, $known) = (0, 0);

for my $f (@files) {
    my $path = "$dir/$f";
    open my $fh, '<', $path or die "$0: cannot read $path: $!\n";
    my $text = do { local $/; <$fh> };
    close $fh;

    next if $text eq '';

    if ($valgrind) {
        print "==== $path\n$text\n";
        $bad++;
        next;
    }

    my $rest = $text;

    # leak blocks: "Direct leak of N byte(s) in M object(s) allocated
    # from:" and the frames that follow
    my $block = qr/^(Direct|Indirect)\ leak\ of\ [^\n]*\n
                   ((?:[ \t]+\#\d+\ [^\n]*\n?)+)/mx;

    while ($rest =~ $block) {
        my ($kind, $frames) = ($1, $2);
        my @fn = map { /#\d+ 0x[0-9a-f]+ in (\S+)/ ? $1 : '?' }
                 split /\n/, $frames;

        if ($kind eq 'Direct' && @fn >= 4
            && $fn[1] eq 'ngx_memalign' && $fn[2] eq 'ngx_create_pool'
            && $fn[3] eq 'main' && $frames =~ m{src/core/nginx\.c})
        {
            $known++;
            $rest =~ s/$block//;
            next;
        }

        last;
    }

    # anything left that is a report: a leak block, an error or a
    # "runtime error" line

    if ($rest =~ /^(?:Direct|Indirect) leak of /m
        || $rest =~ /ERROR: (?:AddressSanitizer|UndefinedBehaviorSanitizer)/
        || $rest =~ /LeakSanitizer has encountered a fatal error/
        || $rest =~ /runtime error:/)
    {
        print "==== $path\n$text\n";
        $bad++;
    }
}

if ($valgrind) {
    printf "%s: %d report file(s), %d not empty\n", $dir, scalar @files, $bad;

} else {
    printf "%s: %d report file(s), %d with unknown reports, %d known "
           . "nginx leak(s) ignored\n", $dir, scalar @files, $bad, $known;
}

exit($bad ? 1 : 0);
