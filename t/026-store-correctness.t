# The store's correctness at the edges of its round trips (issue #11):
#
#  1-2  expiry is judged by Redis's clock (TIME inside the scripts, TIME in
#       the plain strategy's pipeline), not by the request's: a session
#       that ended by Redis's clock while the request's "now" still says
#       live is not revived.  The request's clock is made to lag Redis's
#       by holding its commands in CLIENT PAUSE: they run 2.5 s after
#       nginx read its clock, as on a host whose clock lags by 2.5 s.
#  3    shared_session_redis_scripts off: the hash deleted between the
#       HMGET and the writes (a proxy deletes it before it hands the HMGET
#       reply to nginx) is written back as a hash Spring can read.
#  4    the same with maxInactiveInterval set to 0 in between (an
#       invalidation): it stays 0, the session ended.
#  5    cluster: the hash script's "the session ended meanwhile" (its TTL
#       ran out while the write waited behind CLIENT PAUSE WRITE) is an
#       ended session: a new session, and the old one's shadow key and
#       bucket, written beside the script, are taken back.
#  6    cluster: a touch is two round trips, the shadow key and the bucket
#       are written beside the hash script, not after its reply.
#  7    cluster with a primary down: a 503 answered while another command
#       was already sent is final: the reply that comes later neither
#       writes the session nor answers the request a second time, though
#       the request lives on (its body never came).

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use ClusterTest;
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Test::Nginx::Socket 'no_plan';
no warnings 'once';    # $main::... set in one section, read in another

no_shuffle();
no_long_string();
log_level('info');
master_on();
workers(1);
timeout(10);

# three primaries without replicas that keep serving their slots when one
# of them is down
$main::cluster = ClusterTest->start(
    nodes => 3, replicas => 0, node_timeout => 1000,
    conf => [ '--cluster-require-full-coverage', 'no' ]);
($ENV{TEST_NGINX_SEED1}, $ENV{TEST_NGINX_SEED2}) = ($main::cluster->ports)[0, 1];
$ENV{TEST_NGINX_PROXY_PORT} = SharedSessionTest::free_port();

my $SPRING = 'spring:session';


############################################################################
# Helpers (main::, because Test::Nginx evaluates the sections elsewhere)

# An id (a UUID) whose hash lives on the primary $port.
sub main::id_on {
    my ($port, $skip) = @_;
    for my $n (1 .. 1000) {
        my $id = sprintf('%08x-26ab-4cde-8f01-%012x', $n, $n * 7919);
        next if $skip && $id eq $skip;
        return $id if $main::cluster->node_for_key("$SPRING:sessions:$id")
                      == $port;
    }
    die "no id on $port\n";
}

# The next responses of a socket held open: what came in $max seconds.
sub main::read_for {
    my ($sock, $max) = @_;
    my $buf = '';
    my $sel = IO::Select->new($sock);
    my $deadline = Time::HiRes::time() + $max;
    while ((my $left = $deadline - Time::HiRes::time()) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread($sock, my $chunk, 65536);
        last unless $n;
        $buf .= $chunk;
    }
    return $buf;
}

# An id whose hash lives on the primary $port and its shadow key on
# another one.
sub main::id_apart {
    my ($port) = @_;
    for my $n (1 .. 1000) {
        my $id = sprintf('%08x-26ab-4cde-8f01-%012x', $n, $n * 7919);
        return $id
            if $main::cluster->node_for_key("$SPRING:sessions:$id") == $port
               && $main::cluster->node_for_key("$SPRING:sessions:expires:$id")
                  != $port;
    }
    die "no id apart from $port\n";
}

# A TCP proxy between nginx and the shared Redis that runs the command
# @cmd once, at the moment the first HMGET has been answered and before
# nginx sees that answer: it falls between the plain strategy's read and
# its writes, as a Spring app's invalidation could (DEL for Spring Boot 3's
# RedisSessionRepository, maxInactiveInterval 0 for Spring Session 3.4's
# indexed one).  Runs for at most 30 s.
sub main::start_proxy {
    my (@cmd) = @_;
    my $listen = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1', LocalPort => $ENV{TEST_NGINX_PROXY_PORT},
        Listen => 16, ReuseAddr => 1)
        or die "proxy: listen: $!\n";
    my $pid = fork();
    die "proxy: fork: $!\n" unless defined $pid;
    if ($pid) {
        close $listen;
        $main::proxy_pid = $pid;
        return;
    }
    my $sel = IO::Select->new($listen);
    my (%peer, %up, $armed, $done);
    my $deadline = Time::HiRes::time() + 30;
    while (Time::HiRes::time() < $deadline) {
        for my $fh ($sel->can_read(0.5)) {
            if ($fh == $listen) {
                my $c = $listen->accept or next;
                my $u = IO::Socket::INET->new(
                    PeerAddr => '127.0.0.1',
                    PeerPort => $ENV{TEST_NGINX_REDIS_PORT}) or next;
                $peer{$c} = $u;
                $peer{$u} = $c;
                $up{$u} = 1;
                $sel->add($c, $u);
                next;
            }
            my $n = sysread($fh, my $data, 65536);
            my $to = $peer{$fh};
            if (!$n) {
                $sel->remove($fh, $to);
                close $fh;
                close $to;
                next;
            }
            if ($up{$fh}) {
                if ($armed && !$done) {
                    SharedSessionTest::redis_cmd(@cmd);
                    $done = 1;
                }
            } elsif ($data =~ /HMGET/) {
                $armed = 1;
            }
            syswrite($to, $data);
        }
    }
    POSIX::_exit(0);
}

sub main::stop_proxy {
    if ($main::proxy_pid) {
        kill 'KILL', $main::proxy_pid;
        waitpid($main::proxy_pid, 0);
        undef $main::proxy_pid;
    }
}

END { main::stop_proxy() }

# A session whose expiry (lastAccessedTime + 1800 s) is 1 s from now, then
# CLIENT PAUSE $ms ALL on the shared Redis: the request sent right after
# reads nginx's clock before that expiry, Redis runs its commands after it.
sub main::seed_expiring_and_pause {
    my ($ms) = @_;
    SharedSessionTest::seed_session(
        id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
        creationTime => SharedSessionTest::now_ms() - 3_600_000,
        lastAccessedTime => SharedSessionTest::now_ms() - 1_799_000,
        attrs => [ 'scopedTarget.sampleSession' =>
                   SharedSessionTest::spring_attr('old', 1) ]);
    SharedSessionTest::redis_cmd('CLIENT', 'PAUSE', $ms, 'ALL');
}

sub main::lines { return join '', map { "$_\n" } @_ }


run_tests();

__DATA__

=== TEST 1: scripts: a session that ended by Redis's clock while nginx's "now" says live is not revived
nginx's "now" is 1 s before the session's expiry; the script runs 2.5 s
later, after the shadow key expired (the moment Spring publishes
SessionExpiredEvent): only that key is gone, the rest is left as it was.
Before: the script compared with nginx's "now", touched the session
(lastAccessedTime, attribute, TTLs, a new shadow key) and answered it as
current.
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_redis_timeout 10s;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
--- init
# a connection with its scripts loaded, before the pause
FaultTest::http(GET => '/a');
SharedSessionTest::flush();
main::seed_expiring_and_pause(2500);
--- request
GET /a
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
deleted spring:session:sessions:expires:e1237df7-5646-4382-aa12-41435ed09dc7
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: scripts off: the same, with TIME read in the pipeline of the reads
Before: the plain strategy compared with nginx's "now" and touched the
session.
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_redis_scripts off;
    shared_session_redis_timeout 10s;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
--- init
FaultTest::http(GET => '/a');
SharedSessionTest::flush();
main::seed_expiring_and_pause(2500);
--- request
GET /a
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
deleted spring:session:sessions:expires:e1237df7-5646-4382-aa12-41435ed09dc7
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: scripts off: the hash deleted between the HMGET and the writes is written back whole (creationTime, maxInactiveInterval as read)
Before: the writes made a hash of lastAccessedTime and the attribute only,
which Spring Session 3 cannot read (IllegalStateException) and Spring
Session 2 reads with default fields.
--- config
    shared_session_redis 127.0.0.1:$TEST_NGINX_PROXY_PORT;
    shared_session_redis_scripts off;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707, maxInactiveInterval => 1800);
main::start_proxy('DEL', 'spring:session:sessions:e1237df7-5646-4382-aa12-41435ed09dc7');
--- request
GET /a
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub {
    main::stop_proxy();
    SharedSessionTest::dump_db($_[0]);
}
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
hash spring:session:sessions:<B> ttl=2100s
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<B> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: scripts off: a session invalidated (maxInactiveInterval 0) between the HMGET and the writes stays ended
The writes add lastAccessedTime and the attribute, but maxInactiveInterval
stays 0 (HSETNX): every reader, Spring included, takes the session for
ended.  Guards the fix of TEST 3 against writing maxInactiveInterval over
an invalidation.
--- config
    shared_session_redis 127.0.0.1:$TEST_NGINX_PROXY_PORT;
    shared_session_redis_scripts off;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707, maxInactiveInterval => 1800);
main::start_proxy('HSET', 'spring:session:sessions:e1237df7-5646-4382-aa12-41435ed09dc7',
                  'maxInactiveInterval', '0');
--- request
GET /a
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub {
    main::stop_proxy();
    my $h = SharedSessionTest::redis_cmd('HGET',
        'spring:session:sessions:e1237df7-5646-4382-aa12-41435ed09dc7',
        'maxInactiveInterval');
    "maxInactiveInterval=$h\n";
}
--- response_body
maxInactiveInterval=0
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: cluster: the hash script's "ended meanwhile" is an ended session: a new session, the old one's shadow key and bucket taken back
The hash's TTL (700 ms) runs out while its primary holds writes (CLIENT
PAUSE WRITE, 1.5 s): the HMGET saw the session live, the hash script finds
it gone.  Before: answered as the current session (200, "new":false) after
its shadow key and bucket were written again.  The shadow key and the
bucket are written beside the script (TEST 6): after its 0 they are taken
back (DEL, SREM), so that none is left.
--- config
    shared_session_redis_cluster on;
    shared_session_redis 127.0.0.1:$TEST_NGINX_SEED1;
    shared_session_redis 127.0.0.1:$TEST_NGINX_SEED2;
    shared_session_redis_timeout 10s;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
--- init
my $c = $main::cluster;
ClusterTest::flush();
my ($p) = $c->primaries;
my $id = main::id_on($p);
# connections to every primary, the hash script loaded on each
for my $q ($c->primaries) {
    FaultTest::http(GET => '/a',
                    Cookie => 'SESSION=' . SharedSessionTest::b64(main::id_on($q, $id)));
}
ClusterTest::flush();
$main::id = $id;
ClusterTest::seed_session(
    id => $id, label => 'B', hash_ttl_ms => 700,
    fields => [ creationTime => SharedSessionTest::now_ms() - 60_000,
                maxInactiveInterval => 1800,
                lastAccessedTime => SharedSessionTest::now_ms() - 1000 ]);
$c->cmd($p, 'CLIENT', 'PAUSE', 1500, 'WRITE');
--- request
GET /a
--- more_headers eval
"Cookie: SESSION=" . SharedSessionTest::b64(main::id_on(($main::cluster->primaries)[0]))
--- response_body_filters eval
sub {
    my ($body) = @_;
    my $j = eval { JSON::PP->new->decode($body) } || {};
    my $id = $main::id;
    my $r = ClusterTest::current()->router;
    my @keys = grep { /\Q$id\E/ } @{ $r->cmd('KEYS', '*') };
    my @members = grep { /\Q$id\E/ }
                  map { @{ $r->cmd('SMEMBERS', $_) } }
                  grep { /expirations:/ } @{ $r->cmd('KEYS', '*') };
    return main::lines(
        ($j->{new} && $j->{sessionId} ne $id ? 'a new session'
                                             : "answered: $body"),
        (@keys ? "keys of the ended session: @keys" : 'no key of the ended session'),
        (@members ? "bucket members: @members" : 'in no bucket'));
}
--- response_body
a new session
no key of the ended session
in no bucket
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 6: cluster: a touch is two round trips: the shadow key is written beside the hash script, not after its reply
The hash's primary holds writes (CLIENT PAUSE WRITE, 800 ms), the shadow
key lives on another primary.  The HMGETs, then the hash script with the
shadow key and the bucket: the shadow key is written at once, some 800 ms
before the answer (its TTL tells).  Before: three round trips, the hash
script alone and the shadow key only after its reply, after the pause.
--- config
    shared_session_redis_cluster on;
    shared_session_redis 127.0.0.1:$TEST_NGINX_SEED1;
    shared_session_redis 127.0.0.1:$TEST_NGINX_SEED2;
    shared_session_redis_timeout 10s;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
--- init
my $c = $main::cluster;
ClusterTest::flush();
my ($p) = $c->primaries;
my $id = main::id_apart($p);
# connections to every primary, the hash script loaded on each
for my $q ($c->primaries) {
    FaultTest::http(GET => '/a',
                    Cookie => 'SESSION=' . SharedSessionTest::b64(main::id_on($q, $id)));
}
ClusterTest::flush();
$main::id = $id;
ClusterTest::seed_session(
    id => $id, label => 'B',
    fields => [ creationTime => SharedSessionTest::now_ms() - 60_000,
                maxInactiveInterval => 1800,
                lastAccessedTime => SharedSessionTest::now_ms() - 1000 ]);
$c->cmd($p, 'CLIENT', 'PAUSE', 800, 'WRITE');
--- request
GET /a
--- more_headers eval
"Cookie: SESSION=" . SharedSessionTest::b64(main::id_apart(($main::cluster->primaries)[0]))
--- response_body_filters eval
sub {
    my ($body) = @_;
    my $j = eval { JSON::PP->new->decode($body) } || {};
    my $id = $main::id;
    my $pttl = ClusterTest::redis_cmd('PTTL', "spring:session:sessions:expires:$id");
    return main::lines(
        (($j->{sessionId} // '') eq $id && !$j->{new} ? 'the same session'
                                                      : "answered: $body"),
        ($pttl > 0 && $pttl <= 1_800_000 - 400
         ? 'shadow key written during the pause'
         : "shadow key written after the pause (PTTL $pttl ms)"));
}
--- response_body
the same session
shadow key written during the pause
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 7: cluster, a primary down: the 503 of a request whose first HMGET was already sent is final
Cookies A (on a live primary) then D (on the stopped one, backing off:
a send to it fails at once).  The client keeps the request alive: Content-Length 1, and
the body never comes.  Before: the HMGET of A was answered after the 503,
the session was touched, and the request finalized a second time ("header
already sent").
--- config
    shared_session_redis_cluster on;
    shared_session_redis 127.0.0.1:$TEST_NGINX_SEED1;
    shared_session_redis 127.0.0.1:$TEST_NGINX_SEED2;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /static {
        return 200 "static\n";
    }
--- init
my $c = $main::cluster;
ClusterTest::flush();
my ($p1, $p2, $p3) = $c->primaries;
my $a = main::id_on($p1);
my $d = main::id_on($p3);
# connections to the live primaries and the one to stop
FaultTest::http(GET => '/a', Cookie => 'SESSION=' . SharedSessionTest::b64($_))
    for main::id_on($p2), $d;
ClusterTest::seed_session(id => $a, label => 'A',
                          creationTime => 1552128921707);
$main::before = join ',', @{ ClusterTest::redis_cmd('HGETALL', "spring:session:sessions:$a") };
$c->kill_node($p3);
Time::HiRes::sleep(0.3);
# each connection attempt to the stopped node fails (ECONNREFUSED) and
# doubles its backoff, up to 1 s; the last attempt, made after the backoff
# ran out, is followed by 1 s in which every send to the node fails at once
for my $wait (0.15, 0.25, 0.45, 0.85, 1.05, 0) {
    FaultTest::http(GET => '/a', Cookie => 'SESSION=' . SharedSessionTest::b64($d));
    Time::HiRes::sleep($wait);
}
FaultTest::log_mark();
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                              PeerPort => SharedSessionTest::server_port())
    or die "connect: $!\n";
print $s "GET /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n"
         . "Cookie: SESSION=" . SharedSessionTest::b64($a)
         . "; SESSION=" . SharedSessionTest::b64($d) . "\r\n\r\n";
$main::answer = main::read_for($s, 1);
close $s;
$main::after = join ',', @{ ClusterTest::redis_cmd('HGETALL', "spring:session:sessions:$a") };
$main::log = FaultTest::log_since_mark();
$c->restart_node($p3);
--- request
GET /static
--- response_body_filters eval
sub {
    my @status = $main::answer =~ m{^HTTP/1\.1 (\d+)}mg;
    return main::lines(
        "statuses: @status",
        ($main::answer =~ /session store unavailable/ ? '503 body' : 'no 503 body'),
        ($main::after eq $main::before ? 'session A untouched'
                                       : "session A written: $main::after"),
        ($main::log =~ /header already sent/ ? 'finalized twice'
                                             : 'finalized once'),
        (FaultTest::fatal_lines($main::log) ? 'fatal: ' . FaultTest::fatal_lines($main::log)
                                             : 'no fatal line'));
}
--- response_body
statuses: 503
503 body
session A untouched
finalized once
no fatal line
--- no_error_log
[alert]
[crit]
exited on signal
