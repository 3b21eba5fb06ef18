#!/usr/bin/env perl
#
# What the real Spring app writes to Redis, configuration by configuration:
# the transcript that t/spring/FORMAT.md is made from.  For each
# configuration, on a private redis-server with notify-keyspace-events Egx:
# create (GET /1), touch (GET /2), principal (GET /principal/alice),
# invalidate (GET /invalidateSession), each with the commands Spring sent
# (MONITOR), what was published (PSUBSCRIBE *), and the whole Redis after
# it; with --expiry also a session of maxInactiveInterval 2 left to expire,
# through the next minute's cleanup job.
#
#     make spring
#     t/spring/record.pl [--expiry] [--hex] [CONFIG ...] > transcript.txt
#
# CONFIG: seed boot2-default boot3-indexed boot3-default boot3-indexed-zset
# (default: all).

use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/../inc";

use Getopt::Long ();
use JSON::PP ();
use Time::HiRes ();

use SharedSessionTest;
use SpringTest;

my ($expiry, $hex) = (0, 0);
Getopt::Long::GetOptions('expiry' => \$expiry, 'hex' => \$hex)
    or die "usage: $0 [--expiry] [--hex] [CONFIG ...]\n";
my @configs = @ARGV ? @ARGV : qw(seed boot2-default boot3-indexed
                                 boot3-default boot3-indexed-zset);
if (my @missing = SpringTest::missing_jars(@configs)) {
    die "not built: @missing (make spring)\n";
}

$| = 1;
my $port = SharedSessionTest::start_redis(
    conf => [ 'notify-keyspace-events Egx' ]);
my $version = SharedSessionTest::redis_cmd({ port => $port }, 'INFO', 'server');
($version) = $version =~ /redis_version:(\S+)/;
print "# redis-server $version, notify-keyspace-events Egx\n";

for my $config (@configs) {
    record($config);
    expire($config) if $expiry;
}

sub step {
    my ($title, $mon, $sub, $r, $dump_hex) = @_;
    print "\n## $title\n";
    if ($r) {
        print "status: $r->{status}\n";
        print "set-cookie: $_\n" for @{ $r->{headers}{'set-cookie'} // [] };
        print "location: $_\n" for @{ $r->{headers}{location} // [] };
        print "body: $r->{body}\n" if length $r->{body}
                                      && $r->{status} != 302;
    }
    # Spring's listener reacts to events after the answer: let it finish.
    Time::HiRes::sleep(0.5);
    print "commands:\n";
    print "  $_\n" for $mon->lines;
    print "published:\n";
    print "  $_\n" for $sub->lines;
    print "redis:\n";
    print map { "  $_\n" } split /\n/,
        SpringTest::dump_redis(port => $port, hex => $dump_hex);
}

sub record {
    my ($config) = @_;
    SharedSessionTest::flush(port => $port);
    my $mon = SpringTest::Watch->new(port => $port, kind => 'monitor');
    my $sub = SpringTest::Watch->new(port => $port, kind => 'psubscribe');
    my $app = SpringTest->start(config => $config, redis_port => $port,
                                host => 'spring-1');
    printf "\n\n# %s (%s, profiles '%s'): ready in %.1f s, RSS %d MiB\n",
        $config, $SpringTest::CONFIG{$config}{jar},
        $SpringTest::CONFIG{$config}{profiles}, $app->startup,
        $app->rss_kb / 1024;
    step('startup', $mon, $sub);

    my $c = SpringTest::Client->new;
    step('GET /1 (new session)', $mon, $sub, $c->get($app->port, '/1'), $hex);
    step('GET /2 (touch)', $mon, $sub, $c->get($app->port, '/2'));
    step('GET /principal/alice', $mon, $sub,
         $c->get($app->port, '/principal/alice'));
    step('GET /2 (touch with a principal)', $mon, $sub,
         $c->get($app->port, '/2'));
    step('GET /invalidateSession', $mon, $sub,
         $c->get($app->port, '/invalidateSession'));
    step('GET /invalidateSession without a session', $mon, $sub,
         $c->get($app->port, '/invalidateSession'));
    print "\nevents: ", JSON::PP->new->canonical->encode($app->events), "\n";
    printf "RSS after the requests: %d MiB\n", $app->rss_kb / 1024;
    $app->stop;
    $mon->close;
    $sub->close;
}

# A session of maxInactiveInterval 2 left alone until the first cleanup
# run (second 0 of a minute) after its expiry has passed.
sub expire {
    my ($config) = @_;
    SharedSessionTest::flush(port => $port);
    my $app = SpringTest->start(config => $config, redis_port => $port,
                                host => 'spring-1', session_timeout => 2);
    my $mon = SpringTest::Watch->new(port => $port, kind => 'monitor');
    my $sub = SpringTest::Watch->new(port => $port, kind => 'psubscribe');
    print "\n\n# $config: expiry (maxInactiveInterval 2)\n";
    my $c = SpringTest::Client->new;
    my $r = $c->get($app->port, '/1');
    my $id = $r->{json}{sessionId};
    step('GET /1 (new session, maxInactiveInterval 2)', $mon, $sub, $r);
    my $now = time;
    my $cron = (int($now / 60) + 1) * 60 + 2;
    $cron += 60 if $cron - $now < 5;
    Time::HiRes::sleep($cron - Time::HiRes::time());
    step('after expiry and a cleanup run (second 0)', $mon, $sub);
    print "\nevents: ", JSON::PP->new->canonical->encode($app->events), "\n";
    $r = $c->get($app->port, '/1');
    print "GET /1 again: status $r->{status}, new $r->{json}{new}, same id "
          . ($r->{json}{sessionId} eq $id ? 'yes' : 'no') . "\n";
    $app->stop;
    $mon->close;
    $sub->close;
}
