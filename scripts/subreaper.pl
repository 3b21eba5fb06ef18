#!/usr/bin/perl
#
# scripts/subreaper.pl COMMAND [ARG]...: runs COMMAND as a child subreaper
# (prctl PR_SET_CHILD_SUBREAPER) and reaps every orphan at once.
#
# nginx daemonizes: its master is orphaned and handed to the nearest
# subreaper, PID 1 by default.  Some container inits reap late (here about
# 2 s), and until then the master is a zombie that kill(0) still finds, so
# a driver that polls with kill(0) for nginx's exit (Test::Nginx does,
# between every two blocks) waits for the init rather than for nginx.
# Under this script the masters are ours to reap, in microseconds.
#
# The exit status is COMMAND's.  INT, TERM, HUP and QUIT are passed on to
# COMMAND.  Orphans still running when COMMAND ends go back to PID 1.

use strict;
use warnings;

use POSIX qw(WNOHANG);

require 'sys/syscall.ph';

my $PR_SET_CHILD_SUBREAPER = 36;

@ARGV or die "usage: $0 COMMAND [ARG]...\n";

if (syscall(SYS_prctl(), $PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    # not fatal: the command runs as before, only slower
    warn "subreaper: prctl(PR_SET_CHILD_SUBREAPER): $!\n";
}

my $child = fork;
defined $child or die "subreaper: fork: $!\n";

if ($child == 0) {
    exec { $ARGV[0] } @ARGV or die "subreaper: exec $ARGV[0]: $!\n";
}

for my $sig (qw(INT TERM HUP QUIT)) {
    $SIG{$sig} = sub { kill $sig, $child };
}

my $status;

for (;;) {
    my $pid = waitpid(-1, 0);

    if ($pid == -1) {
        next if $!{EINTR};
        last;
    }

    if ($pid == $child) {
        $status = $?;
        last;
    }
}

# the orphans that ended meanwhile
1 while waitpid(-1, WNOHANG) > 0;

defined $status or die "subreaper: lost $ARGV[0]\n";

exit($status & 127 ? 128 + ($status & 127) : $status >> 8);
