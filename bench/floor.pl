#!/usr/bin/perl
#
# floor.pl: the Redis floor of bench/run.sh (issue 16).  Reads a MONITOR
# capture taken while the module served REQUESTS requests, keeps the
# commands that did the session's work (what its scripts called, "[0 lua]",
# and any plain command nginx sent itself) and drops the client's script
# and connection commands (EVALSHA, EVAL, SCRIPT, FCALL, PING, ECHO, ...),
# whose cost the floor is meant to leave out.
#
#   floor.pl --mix MONITOR REQUESTS
#       one line, the kept commands per request, most frequent first:
#       "total=5.00 hset=1.00 set=1.00 ..."
#   floor.pl --resp MONITOR PASSES
#       the kept commands, in order, PASSES times, as RESP on stdout (for
#       redis-cli --pipe): the same keys and arguments the script used
#
# MONITOR quotes every argument as sdscatrepr does (\\ \" \n \r \t \a \b
# and \xHH), which is undone here.  Core Perl only.

use strict;
use warnings;

my ($mode, $file, $n) = @ARGV;
die "usage: $0 --mix|--resp MONITOR N\n"
    unless defined $n && $n =~ /^\d+$/ && $n > 0
           && ($mode eq '--mix' || $mode eq '--resp');

# the client's own commands: the script machinery and the connection
my %skip = map { $_ => 1 } qw(eval evalsha eval_ro evalsha_ro fcall fcall_ro
    script function ping echo info client hello auth select monitor dbsize
    multi exec discard quit command);

my %esc = (n => "\n", r => "\r", t => "\t", a => "\a", b => "\b",
           '"' => '"', '\\' => '\\');

sub unrepr {
    my ($s) = @_;
    $s =~ s{\\(x[0-9a-fA-F]{2}|.)}
           {length($1) == 3 ? chr(hex(substr($1, 1))) : ($esc{$1} // $1)}ge;
    return $s;
}

my @cmds;       # [db, arg, arg, ...]
open my $fh, '<', $file or die "$file: $!\n";
while (my $line = <$fh>) {
    $line =~ s/\r?\n$//;
    next unless $line =~ /^\d+\.\d+ \[(\d+) ([^\]]+)\] (".*)$/;
    my ($db, $who, $rest) = ($1, $2, $3);
    my @args;
    push @args, unrepr($1) while $rest =~ /"((?:[^"\\]|\\.)*)"/g;
    next unless @args;
    my $name = lc $args[0];
    # inside a script everything counts; from a client, what is not the
    # script machinery
    next if $who ne 'lua' && $skip{$name};
    push @cmds, [$db, @args];
}
close $fh;
die "$file: no session commands captured\n" unless @cmds;

if ($mode eq '--mix') {
    my %c;
    $c{ lc $_->[1] }++ for @cmds;
    my @k = sort { $c{$b} <=> $c{$a} || $a cmp $b } keys %c;
    print join(' ', sprintf('total=%.2f', @cmds / $n),
                    map { sprintf '%s=%.2f', $_, $c{$_} / $n } @k), "\n";
    exit 0;
}

# RESP, once; then written PASSES times
my ($resp, $db) = ('', 0);
my $bulk = sub { join '', map { '$' . length($_) . "\r\n$_\r\n" } @_ };
for my $c (@cmds) {
    my ($cdb, @args) = @$c;
    if ($cdb != $db) {
        $resp .= "*2\r\n" . $bulk->('SELECT', $cdb);
        $db = $cdb;
    }
    $resp .= '*' . @args . "\r\n" . $bulk->(@args);
}
$resp .= "*2\r\n" . $bulk->('SELECT', 0) if $db != 0;
binmode STDOUT;
print $resp for 1 .. $n;
