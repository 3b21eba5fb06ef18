package EdgeTest;

# Helpers for the tests of shared_session_require and shared_session_load
# (t/070-require.t, t/071-load-variables.t): short one-line answers, and
# the Redis commands a request sent, counted as bench/run.sh counts them.
#
#     use lib 't/inc';
#     use IO::Select ();
use IO::Socket::INET ();
use SharedSessionTest;
#     use EdgeTest;
#
#     EdgeTest::label($id, 'V');          # the id prints as <V>
#     EdgeTest::get('/app/x', $id);       # "200 upstream: ..." (Cookie:
#                                         # SESSION=<b64 id>; \'raw' as is)
#     EdgeTest::commands(sub { ... });    # "evalsha=1", "none", ...
#
# Pure Perl, core modules only; called fully qualified from the blocks.

use strict;
use warnings;

use SharedSessionTest;

my %Label;

sub label {
    my ($id, $name) = @_;
    $Label{$id} = "<$name>";
    return $id;
}

sub cookie {
    my ($id, $name) = @_;
    return () unless defined $id;
    $name //= 'SESSION';
    return (Cookie => "$name="
                      . (ref $id ? $$id : SharedSessionTest::b64($id)));
}

# "<status>[ [location]] <first body line>", labelled ids by their names
sub show {
    my ($res) = @_;
    my $b = $res->{body} // '';
    $b = '(html)' if $b =~ /<html>/i;
    $b =~ s/\r?\n.*//s;
    my $loc = $res->{headers}{location} ? " [$res->{headers}{location}[0]]"
                                        : '';
    for my $id (sort { length $b <=> length $a } keys %Label) {
        $b =~ s/\Q$id\E/$Label{$id}/g;
    }
    return "$res->{status}$loc $b";
}

sub get {
    my ($path, $id, @more) = @_;
    return show(SharedSessionTest::http_request(GET => $path, cookie($id),
                                                @more));
}

# Sends the bytes on one connection (requests pipelined, the last with
# "Connection: close") and returns each answer as "<status> <body>"
# (bodies by Content-Length), one per line.
sub pipelined {
    my ($bytes) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => SharedSessionTest::server_port(),
                                     Proto => 'tcp', Timeout => 5)
        or die "pipelined: connect: $!\n";
    binmode $sock;
    print $sock $bytes;
    my $raw = '';
    my $sel = IO::Select->new($sock);
    while ($sel->can_read(5)) {
        my $n = sysread($sock, my $chunk, 65536);
        last unless $n;
        $raw .= $chunk;
    }
    close $sock;
    my $out = '';
    while ($raw =~ s{\AHTTP/1\.1 (\d+)[^\r]*\r\n(.*?)\r\n\r\n}{}s) {
        my ($status, $head) = ($1, $2);
        my ($len) = $head =~ /^Content-Length: (\d+)/mi;
        my $body = substr($raw, 0, $len // 0, '');
        $body =~ s/\n\z//;
        $out .= "$status $body\n";
    }
    return $out . ($raw eq '' ? '' : "left: $raw\n");
}

# The commands Redis ran while $code ran (CONFIG RESETSTAT, then INFO
# commandstats), on the suite's Redis or on the given ports (a cluster's
# nodes, summed).  What a client sends to a script is EVALSHA (or EVAL,
# SCRIPT); what the scripts call is not shown (all => 1 shows it too).
# Without scripts (plain commands), every command is shown.  "none":
# nothing at all.
sub commands {
    my ($code, %opt) = @_;
    my @targets = $opt{ports} ? map { { port => $_ } } @{ $opt{ports} }
                              : ({});
    my $cmd = $opt{cmd} // sub {
        my ($t, @c) = @_;
        SharedSessionTest::redis_cmd($t, @c);
    };
    $cmd->($_, 'CONFIG', 'RESETSTAT') for @targets;
    $code->();
    my (%calls, $scripts);
    for my $t (@targets) {
        my $info = $cmd->($t, 'INFO', 'commandstats');
        while ($info =~ /^cmdstat_([^:]+):calls=(\d+)/mg) {
            my ($name, $n) = ($1, $2);
            next if $name =~ /^(info|config)/;
            $calls{$name} += $n;
            $scripts = 1 if $name =~ /^(eval|script)/;
        }
    }
    return 'none' unless %calls;
    my @show = grep { $opt{all} || !$scripts || /^(eval|script)/ }
               sort keys %calls;
    return join ' ', map { "$_=$calls{$_}" } @show;
}

1;
