# Every ```nginx block of README.md and docs/*.md passes `nginx -t`
# (util/check-docs.py: how blocks are marked partial or skipped).  One
# test per block, named FILE:LINE; a failure shows nginx's message with the
# line of the .md file it points to.
use strict;
use warnings;
use Test::More;
use FindBin;

my $root = "$FindBin::Bin/..";
my @out = `python3 "$root/util/check-docs.py" 2>&1`;
chomp @out;
my $status = $? >> 8;
my $n = 0;
for (my $i = 0; $i < @out; $i++) {
    my $line = $out[$i];
    if ($line =~ /^ok (\S+)/) {
        pass("nginx -t: $1");
        $n++;
    } elsif ($line =~ /^skip (\S+) \(\w+\): (.*)/) {
        SKIP: { skip("$1: $2", 1) }
        $n++;
    } elsif ($line =~ /^FAIL (\S+)/) {
        my $what = $1;
        my $msg = $line;
        $msg .= "\n" . $out[++$i]
            while $i + 1 < @out && $out[$i + 1] =~ /^\s/;
        fail("nginx -t: $what");
        diag($msg);
        $n++;
    }
}
ok($n > 0 && ($status == 0) == !grep(/^FAIL/, @out),
   'check-docs.py ran: ' . ($out[-1] // '(no output)'));
done_testing();
