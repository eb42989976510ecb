# Runner self-test: what a .t file does after its tests, as under the real
# Test::Nginx.  Cleanup handlers also run from END, where $? is the exit
# status: a handler that reaps a process changes it unless it says
# "local $?".  env_to_nginx refuses white space (the real module breaks
# such a value at its second nginx start).  Each case runs a small script
# in a child perl with the same Test::Nginx; none starts nginx.
use strict;
use warnings;
use Test::More tests => 4;
use File::Temp qw(tempdir);
use Test::Nginx::Socket ();

my $dir = tempdir(CLEANUP => 1);

sub run_script {
    my $code = shift;
    open my $fh, '>', "$dir/script.pl" or die $!;
    print $fh "use Test::Nginx::Socket 'no_plan';\n", $code;
    close $fh;
    local $ENV{TEST_NGINX_SERVROOT} = "$dir/servroot";
    my $out = `$^X $dir/script.pl 2>&1`;
    return ($? >> 8, $out);
}

# a helper process, already reaped when END runs the handler again (as
# after run_tests()): waitpid then returns -1 and sets $? to -1
my $reap = "require POSIX;\n"
           . 'my $pid = fork // die; if ($pid == 0) { POSIX::_exit(0) }'
           . "\nwaitpid \$pid, 0;\n";

my ($rc, $out) = run_script($reap . <<'_EOS_');
add_cleanup_handler(sub { waitpid $pid, 0 });
Test::More::pass('one test');
_EOS_
is($rc, 255, 'a cleanup handler reaping without "local $?": exit 255')
    or diag $out;

($rc, $out) = run_script($reap . <<'_EOS_');
add_cleanup_handler(sub { local $?; waitpid $pid, 0 });
Test::More::pass('one test');
_EOS_
is($rc, 0, 'the same with "local $?": exit 0') or diag $out;

($rc, $out) = run_script(<<'_EOS_');
my $n = 0;
add_cleanup_handler(sub { $n++; print "# cleanup $n\n" });
Test::More::pass('one test');
_EOS_
like($out, qr/^# cleanup 1$/m, 'a cleanup handler runs from END');

SKIP: {
    skip 'the real Test::Nginx accepts it (and fails later)', 1
        unless $Test::Nginx::Socket::IsCompatRunner
               || $Test::Nginx::Socket::IsCompatRunner;
    ($rc, $out) = run_script("env_to_nginx('RUNNER_SPACED=a b');\n");
    like($out, qr/white space/, 'env_to_nginx refuses white space');
}
