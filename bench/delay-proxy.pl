#!/usr/bin/perl
#
# delay-proxy.pl: a TCP proxy that delays every chunk it forwards by a
# fixed one-way delay, in both directions.  bench/run.sh puts it between
# nginx and Redis: with a one-way delay d, one Redis round trip costs 2d,
# so a request's median latency divided by 2d is the number of round trips
# the request made to Redis.
#
#   delay-proxy.pl --listen 127.0.0.1:PORT --connect 127.0.0.1:PORT \
#                  --delay-ms 5 [--stats FILE]
#
# Order is kept per direction; the delay is measured from the moment a
# chunk was read.  On SIGUSR1 (and on exit) it writes to --stats:
#     connections=N up_chunks=N up_bytes=N down_chunks=N down_bytes=N
# (up: client to server).  With one request at a time, up_chunks per
# request is a second count of round trips.  Loopback only; core Perl.

use strict;
use warnings;

use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Getopt::Long ();
use IO::Select ();
use IO::Socket::INET ();
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time);

my ($listen, $connect, $delay_ms, $stats_file) = (undef, undef, 5, undef);

Getopt::Long::GetOptions(
    'listen=s'   => \$listen,
    'connect=s'  => \$connect,
    'delay-ms=f' => \$delay_ms,
    'stats=s'    => \$stats_file,
) && defined $listen && defined $connect
    or die "usage: $0 --listen host:port --connect host:port"
         . " [--delay-ms 5] [--stats file]\n";

my $delay = $delay_ms / 1000;

my $server = IO::Socket::INET->new(
    LocalAddr => $listen,
    Listen    => 128,
    ReuseAddr => 1,
    Blocking  => 0,
) or die "delay-proxy: listen $listen: $!\n";

my %stats = (connections => 0, up_chunks => 0, up_bytes => 0,
             down_chunks => 0, down_bytes => 0);

my $dump = 0;
$SIG{USR1} = sub { $dump = 1 };
$SIG{TERM} = $SIG{INT} = sub { write_stats(); exit 0 };
$SIG{PIPE} = 'IGNORE';

# a pipe: one direction of a proxied connection
#   from, to: sockets; queue: [[due, data], ...]; out: bytes being written
#   peer: the opposite pipe; eof: "from" has closed
my %pipes;          # fileno(from) => pipe
my $sel = IO::Select->new($server);

sub write_stats {
    return unless defined $stats_file;
    if (open my $fh, '>', "$stats_file.tmp") {
        print $fh join(' ', map { "$_=$stats{$_}" }
                            qw(connections up_chunks up_bytes down_chunks
                               down_bytes)), "\n";
        close $fh;
        rename "$stats_file.tmp", $stats_file;
    }
}

sub nodelay {
    setsockopt($_[0], IPPROTO_TCP, TCP_NODELAY, 1);
}

sub close_pair {
    my ($p) = @_;
    for my $q ($p, $p->{peer}) {
        next unless $q->{from};
        $sel->remove($q->{from});
        delete $pipes{ fileno $q->{from} } if defined fileno $q->{from};
    }
    close $p->{from};
    close $p->{to};
    $p->{from} = $p->{peer}{from} = undef;
}

sub accept_one {
    my $c = $server->accept or return;
    my $u = IO::Socket::INET->new(PeerAddr => $connect, Blocking => 1);
    unless ($u) {
        warn "delay-proxy: connect $connect: $!\n";
        close $c;
        return;
    }
    $c->blocking(0);
    $u->blocking(0);
    nodelay($c);
    nodelay($u);
    $stats{connections}++;

    my $up   = { from => $c, to => $u, queue => [], out => '', dir => 'up' };
    my $down = { from => $u, to => $c, queue => [], out => '', dir => 'down' };
    $up->{peer}   = $down;
    $down->{peer} = $up;
    $pipes{ fileno $c } = $up;
    $pipes{ fileno $u } = $down;
    $sel->add($c, $u);
}

# write what is due; returns false when the pair was closed
sub flush_pipe {
    my ($p, $now) = @_;
    while (@{ $p->{queue} } && $p->{queue}[0][0] <= $now) {
        $p->{out} .= shift(@{ $p->{queue} })->[1];
    }
    while (length $p->{out}) {
        my $n = syswrite($p->{to}, $p->{out});
        if (!defined $n) {
            return 1 if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            close_pair($p);
            return 0;
        }
        substr($p->{out}, 0, $n, '');
    }
    if ($p->{eof} && !@{ $p->{queue} } && !length $p->{out}) {
        close_pair($p);
        return 0;
    }
    return 1;
}

while (1) {
    if ($dump) {
        $dump = 0;
        write_stats();
    }

    # wait until the next chunk is due, or for input
    my $now = time;
    my $timeout = 1;
    my $wsel = IO::Select->new;
    for my $p (values %pipes) {
        next unless $p->{from};
        if (length $p->{out}) {
            $wsel->add($p->{to});
            $timeout = 0 if $timeout > 0.05;
        }
        if (@{ $p->{queue} }) {
            my $t = $p->{queue}[0][0] - $now;
            $timeout = $t if $t < $timeout;
        }
    }
    $timeout = 0 if $timeout < 0;

    my ($r) = IO::Select->select($sel, $wsel->count ? $wsel : undef, undef,
                                 $timeout);
    $now = time;

    for my $fh (@{ $r || [] }) {
        if ($fh == $server) {
            accept_one();
            next;
        }
        my $p = $pipes{ fileno $fh } or next;
        next unless $p->{from};
        my $buf;
        my $n = sysread($fh, $buf, 65536);
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            close_pair($p);
            next;
        }
        if ($n == 0) {
            $p->{eof} = 1;
            $sel->remove($fh);
            next;
        }
        push @{ $p->{queue} }, [$now + $delay, $buf];
        $stats{"$p->{dir}_chunks"}++;
        $stats{"$p->{dir}_bytes"} += $n;
    }

    for my $p (my @all = values %pipes) {
        next unless $p->{from};
        flush_pipe($p, $now);
    }
}
