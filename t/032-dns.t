# Failover that follows DNS (issue 6, item 4): with nginx's "resolver"
# configured, the module resolves the host of "shared_session_redis" with
# nginx's non-blocking resolver whenever it (re)connects, and keeps the
# answer for its TTL (nginx's resolver cache); a name is then not resolved
# when the configuration is loaded.  Without a resolver the name is resolved
# once, at configuration time, and that address is kept.
#
# A tiny DNS server of this file (t/inc/DnsTest.pm) answers on 127.0.0.1.
# Two private Redis servers listen on the same port: A on 127.0.0.1 (the
# primary) and B on 127.0.0.2 (its replica).  Until the failover block
# promotes B, B is read-only: a session write that went to B would fail
# (READONLY, 503), so a 200 means the request was served by A.  Each block
# uses its own name, present in the DNS table from the start, so that the
# blocks do not depend on when a worker first resolves.  Every block checks
# that no worker crashed ("exited on signal", [alert], [crit]).
#
# The demotion block has its own pair on another port (A on 127.0.0.1, B on
# 127.0.0.2): B is promoted, the name moved, and A, still up, is made a
# replica of B.  nginx's open connection to A then answers READONLY; the
# module closes it on that reply and the next request resolves the name
# again.  It prints "DNS failover, old primary demoted: N requests failed
# over X ms" with diag() (N is 1: the request that got READONLY).
#
# The failover block (last: it kills A) prints its window with diag(),
# "DNS failover: N requests failed over X ms".  With a 1 s TTL it is about
# 1.5 or 2.5 s: nginx's resolver keeps an answer up to TTL + 1 s (it counts
# whole seconds), and the refused reconnects to the old address back off
# 0.1, 0.2, 0.4, 0.8, 1 s.

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use DnsTest;
use File::Temp ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
master_on();
workers(1);
timeout(10);

# set by the blocks' --- init, read by their filters
our ($dns, $report, $first, $silent, $recovered, $q1, @res);

my $P = SharedSessionTest::free_port();
$ENV{TEST_NGINX_FAILOVER_PORT} = $P;
# the demotion block's own pair (the failover block kills A of the first)
my $Q;
do { $Q = SharedSessionTest::free_port() } while $Q == $P;
$ENV{TEST_NGINX_DEMOTE_PORT} = $Q;

$main::dns = DnsTest->start(ttl => 1, records => {
    # without a resolver nginx must not follow this: B is a read-only replica
    'localhost'   => '127.0.0.2',
    'ttl.test'    => '127.0.0.1',
    'silent.test' => '127.0.0.1',
    'drop.test'   => 'drop',
    'redis.test'  => '127.0.0.1',
    'demote.test' => '127.0.0.1',
});
$main::dns->set('ttl.test' => '127.0.0.1', ttl => 30);
$ENV{TEST_NGINX_DNS_PORT} = $main::dns->port;
{
    my $r = DnsTest::query($main::dns->port, 'redis.test', 'A');
    die "the test DNS server does not answer: " . $main::dns->child_error . "\n"
        unless $r && @{ $r->{answers} } && $r->{answers}[0]{addr} eq '127.0.0.1';
}

# redis-server bound to one address only (SharedSessionTest::start_redis
# knows its servers by port, and each pair here shares its port), known by
# "addr:port"
my %RedisPid;

sub redis_at {
    my ($addr, $port, @conf) = @_;
    my $dir = File::Temp::tempdir('dns-redis-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    open my $fh, '>', "$dir/redis.conf" or die "$dir: $!\n";
    print $fh map { "$_\n" } "port $port", "bind $addr", 'save ""',
              'appendonly no', "dir $dir", "logfile $dir/redis.log", @conf;
    close $fh;
    my $pid = fork();
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec('redis-server', "$dir/redis.conf") or POSIX::_exit(127);
    }
    $RedisPid{"$addr:$port"} = $pid;
    my $deadline = Time::HiRes::time() + 10;
    until (eval { SharedSessionTest::redis_cmd({ host => $addr, port => $port },
                                               'PING') eq 'PONG' })
    {
        die "redis-server on $addr:$port did not start; see $dir/redis.log\n"
            if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.02);
    }
}

# redis('127.0.0.1', @cmd) asks the server of the pair on $P,
# redis("127.0.0.1:$port", @cmd) another one
sub redis {
    my ($where, @cmd) = @_;
    my ($addr, $port) = $where =~ /\A([^:]+)(?::(\d+))?\z/;
    return SharedSessionTest::redis_cmd({ host => $addr, port => $port // $P },
                                        @cmd);
}

# A primary on 127.0.0.1:$port and its replica on 127.0.0.2:$port (the
# first sync at once, not after the default 5 s diskless sync delay).
sub redis_pair {
    my ($port) = @_;
    redis_at('127.0.0.1', $port, 'repl-diskless-sync-delay 0');
    redis_at('127.0.0.2', $port, "replicaof 127.0.0.1 $port");
}

sub wait_replica_up {
    my ($port) = @_;
    my $deadline = Time::HiRes::time() + 10;
    until (redis("127.0.0.2:$port", 'INFO', 'replication')
           =~ /^master_link_status:up/m)
    {
        die "127.0.0.2:$port did not become a replica of 127.0.0.1:$port\n"
            if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}

redis_pair($P);
redis_pair($Q);
wait_replica_up($_) for $P, $Q;

END {
    for my $pid (values %RedisPid) {
        kill 'TERM', $pid;
        waitpid($pid, 0);
    }
}

# Closes nginx's connections to A (as an idle timeout or a network blip
# would): the next request reconnects.  B's replication link is not a
# "normal" client and survives.
sub drop_connections {
    redis('127.0.0.1', 'CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    Time::HiRes::sleep(0.05);
}

sub json {
    my ($body) = @_;
    return eval { JSON::PP->new->decode($body) } // {};
}

sub unavailable {
    my ($body) = @_;
    return $body =~ /\A\{"error":"session store unavailable"\}\n?\z/
           ? "503 body ok\n" : "body: $body\n";
}

sub statuses {
    return CORE::join(' ', map { $_->{status} } @_) . "\n";
}

# The failover, run from the block's --- init; the report goes to the
# block's response_body_filters.
sub failover {
    my @out;
    my $r = FaultTest::http(GET => '/s');
    my $s = json($r->{body});
    push @out, "before the failover: $r->{status}"
               . ($s->{new} ? ", a new session" : ", body: $r->{body}");
    my ($cookie) = map { /^(SESSION=[^;]+)/ ? $1 : () }
                   @{ $r->{headers}{'set-cookie'} // [] };
    my $hash = 'spring:session:sessions:' . ($s->{sessionId} // '');
    my $acked = redis('127.0.0.1', 'WAIT', 1, 2000);
    my $l0 = redis('127.0.0.2', 'HGET', $hash, 'lastAccessedTime');
    push @out, 'replicated to 127.0.0.2: '
               . ($acked == 1 && defined $l0 ? 'yes' : "no (WAIT: $acked)");
    Time::HiRes::sleep(0.01);    # a later lastAccessedTime

    # what ElastiCache does: promote the replica, move the name, lose A
    redis('127.0.0.2', 'REPLICAOF', 'NO', 'ONE');
    $main::dns->set('redis.test' => '127.0.0.2');
    kill 'KILL', $RedisPid{"127.0.0.1:$P"};
    waitpid(delete $RedisPid{"127.0.0.1:$P"}, 0);
    my $t0 = Time::HiRes::time();

    my ($failed, %other, $ok) = (0);
    while (1) {
        my $res = FaultTest::http(GET => '/s', Cookie => $cookie // '');
        if ($res->{status} eq '200') { $ok = $res; last }
        if ($res->{status} eq '503') { $failed++ } else { $other{ $res->{status} }++ }
        last if Time::HiRes::time() - $t0 > 10;
        Time::HiRes::sleep(0.02);
    }
    my $window = Time::HiRes::time() - $t0;
    Test::More::diag(sprintf 'DNS failover: %d requests failed over %d ms',
                     $failed, $window * 1000);

    push @out, 'statuses while failing over: '
               . (%other ? join(' ', map { "$_ x$other{$_}" } sort keys %other)
                         : 'only 503');
    push @out, $ok && $window <= 5 ? 'recovered within 5 s'
               : sprintf('not recovered within 5 s (%.3f s)', $window);
    my $after = json($ok ? $ok->{body} : q());
    push @out, 'after the failover: '
        . join ', ',
          ($ok ? '200' : 'no 200'),
          (($after->{sessionId} // '') eq ($s->{sessionId} // '-') ? 'same sessionId'
                                                               : 'another sessionId'),
          (($after->{creationTime} // '') eq ($s->{creationTime} // '-')
              ? 'same creationTime' : 'another creationTime'),
          'new:' . (defined $after->{new} ? ($after->{new} ? 'true' : 'false') : 'none');
    my $l1 = redis('127.0.0.2', 'HGET', $hash, 'lastAccessedTime');
    push @out, 'lastAccessedTime in 127.0.0.2: '
               . (defined $l0 && defined $l1 && $l1 > $l0
                  ? 'advanced' : 'not advanced (' . ($l0 // 'nil') . ' -> '
                                 . ($l1 // 'nil') . ')');
    $main::report = join '', map { "$_\n" } @out;
}

# The failover without losing A, run from the demotion block's --- init on
# the pair on $Q; the report goes to the block's response_body_filters.
sub demotion {
    my @out;
    my $r = FaultTest::http(GET => '/s');
    my $s = json($r->{body});
    push @out, "before the failover: $r->{status}"
               . ($s->{new} ? ", a new session" : ", body: $r->{body}");
    my ($cookie) = map { /^(SESSION=[^;]+)/ ? $1 : () }
                   @{ $r->{headers}{'set-cookie'} // [] };
    my $hash = 'spring:session:sessions:' . ($s->{sessionId} // '');
    my $acked = redis("127.0.0.1:$Q", 'WAIT', 1, 2000);
    my $l0 = redis("127.0.0.2:$Q", 'HGET', $hash, 'lastAccessedTime');
    push @out, 'replicated to 127.0.0.2: '
               . ($acked == 1 && defined $l0 ? 'yes' : "no (WAIT: $acked)");

    # what ElastiCache does: promote the replica, move the name, and once
    # the name's old answer is gone from every cache (nginx keeps it up to
    # TTL + 1 s), demote A to a replica of the new primary: A stays up, and
    # so does nginx's connection to it
    redis("127.0.0.2:$Q", 'REPLICAOF', 'NO', 'ONE');
    $main::dns->set('demote.test' => '127.0.0.2');
    Time::HiRes::sleep(2.1);
    redis("127.0.0.1:$Q", 'REPLICAOF', '127.0.0.2', $Q);
    my $refused = eval { redis("127.0.0.1:$Q", 'SET', 'demote-probe', 1); 0 }
                  // ($@ =~ /READONLY/ ? 1 : 0);
    push @out, 'the old primary refuses writes: ' . ($refused ? 'yes' : "no ($@)");
    my $t0 = Time::HiRes::time();

    my ($failed, %other, $ok) = (0);
    for (1 .. 50) {
        my $res = FaultTest::http(GET => '/s', Cookie => $cookie // '');
        if ($res->{status} eq '200') { $ok = $res; last }
        if ($res->{status} eq '503') { $failed++ } else { $other{ $res->{status} }++ }
        last if Time::HiRes::time() - $t0 > 5;
        Time::HiRes::sleep(0.02);
    }
    Test::More::diag(sprintf 'DNS failover, old primary demoted: %d requests'
                     . ' failed over %d ms', $failed,
                     (Time::HiRes::time() - $t0) * 1000);

    push @out, 'statuses while failing over: '
               . (%other ? join(' ', map { "$_ x$other{$_}" } sort keys %other)
                         : 'only 503');
    push @out, $ok && $failed <= 2 ? 'at most two requests failed'
               : sprintf('%d requests failed%s', $failed, $ok ? '' : ', no 200');
    my $after = json($ok ? $ok->{body} : q());
    push @out, 'after the failover: '
        . join ', ',
          ($ok ? '200' : 'no 200'),
          (($after->{sessionId} // '') eq ($s->{sessionId} // '-') ? 'same sessionId'
                                                               : 'another sessionId'),
          (($after->{creationTime} // '') eq ($s->{creationTime} // '-')
              ? 'same creationTime' : 'another creationTime'),
          'new:' . (defined $after->{new} ? ($after->{new} ? 'true' : 'false') : 'none');
    my $l1 = redis("127.0.0.2:$Q", 'HGET', $hash, 'lastAccessedTime');
    push @out, 'lastAccessedTime in 127.0.0.2: '
               . (defined $l0 && defined $l1 && $l1 > $l0
                  ? 'advanced' : 'not advanced (' . ($l0 // 'nil') . ' -> '
                                 . ($l1 // 'nil') . ')');
    $main::report = join '', map { "$_\n" } @out;
}

run_tests();

__DATA__

=== TEST 1: no resolver: the name is resolved from /etc/hosts when the configuration loads and that address is kept, also on reconnect; the DNS server is never asked
The DNS table says localhost is 127.0.0.2, the read-only replica: a
session served there would be a 503.
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis localhost:$TEST_NGINX_FAILOVER_PORT;
    }
--- init
@main::res = FaultTest::http(GET => '/s');
main::drop_connections();
push @main::res, FaultTest::http(GET => '/s');
--- request
GET /s
--- response_body_filters eval
sub {
    'before and after the reconnect: ' . main::statuses(@main::res)
    . 'DNS queries for localhost: ' . $main::dns->queries('localhost') . "\n"
    . SharedSessionTest::normalizer()->body($_[0]);
}
--- response_body
before and after the reconnect: 200 200
DNS queries for localhost: 0
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
--- error_log eval
qr/\[warn\].*shared session: redis localhost:$ENV{TEST_NGINX_FAILOVER_PORT} connection lost/
--- no_error_log
resolved to
[error]
[alert]
[crit]
exited on signal



=== TEST 2: with a resolver the name is asked once and the answer kept for its TTL (30 s): a reconnect within the TTL reuses it, even though DNS now says otherwise
--- config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT ipv6=off;
    resolver_timeout 1s;
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis ttl.test:$TEST_NGINX_FAILOVER_PORT;
    }
--- init
@main::res = (FaultTest::http(GET => '/s'), FaultTest::http(GET => '/s'));
$main::q1 = $main::dns->queries('ttl.test', 'A');
$main::dns->set('ttl.test' => '127.0.0.2', ttl => 30);
main::drop_connections();
push @main::res, FaultTest::http(GET => '/s');
--- request
GET /s
--- response_body_filters eval
sub {
    'requests: ' . main::statuses(@main::res)
    . "DNS queries for ttl.test: $main::q1 before the reconnect, "
    . $main::dns->queries('ttl.test', 'A') . " after\n"
    . SharedSessionTest::normalizer()->body($_[0]);
}
--- response_body
requests: 200 200 200
DNS queries for ttl.test: 1 before the reconnect, 1 after
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
--- error_log eval
[qr/\[info\].*shared session: redis ttl\.test:$ENV{TEST_NGINX_FAILOVER_PORT} resolved to 127\.0\.0\.1:$ENV{TEST_NGINX_FAILOVER_PORT}/,
 qr/\[warn\].*shared session: redis ttl\.test:$ENV{TEST_NGINX_FAILOVER_PORT} connection lost/]
--- no_error_log
resolved to 127.0.0.2
[error]
[alert]
[crit]
exited on signal



=== TEST 3: the DNS server stops answering: a reconnect after the TTL gets 503 when resolver_timeout (1 s) expires, the resolver error logged; answering again, service resumes without a reload
--- config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT ipv6=off;
    resolver_timeout 1s;
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis silent.test:$TEST_NGINX_FAILOVER_PORT;
        shared_session_redis_timeout 3s;
    }
--- init
$main::first = FaultTest::http(GET => '/s');
$main::dns->silent(1);
main::drop_connections();
Time::HiRes::sleep(2.1);    # the 1 s TTL has run out (nginx counts whole seconds)
$main::silent = FaultTest::http(GET => '/s');
$main::dns->silent(0);
$main::recovered = FaultTest::poll_until('/s', 200, 3, 0.02);
--- request
GET /s
--- response_body_filters eval
sub {
    my $e = $main::silent->{elapsed};
    "before: $main::first->{status}\n"
    . "DNS silent: $main::silent->{status} "
    . ($e >= 0.9 && $e < 1.5 ? "after resolver_timeout\n"
                             : sprintf("after %.3f s\n", $e))
    . main::unavailable($main::silent->{body})
    . (defined $main::recovered && $main::recovered <= 1.5
       ? "DNS back: served within one backoff period\n"
       : 'DNS back: ' . ($main::recovered // 'never') . "\n")
    . SharedSessionTest::normalizer()->body($_[0]);
}
--- response_body
before: 200
DNS silent: 503 after resolver_timeout
503 body ok
DNS back: served within one backoff period
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
--- error_log eval
qr/\[error\].*shared session: redis silent\.test:$ENV{TEST_NGINX_FAILOVER_PORT}\b.*silent\.test could not be resolved \(110: Operation timed out\)/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 4: no answer, and shared_session_redis_timeout (300 ms) shorter than resolver_timeout (1 s): 503 when the 300 ms are up, the pending resolution given up; nothing happens when the resolver's own timeout would have expired
--- config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT ipv6=off;
    resolver_timeout 1s;
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis drop.test:$TEST_NGINX_FAILOVER_PORT;
        shared_session_redis_timeout 300ms;
    }
    location = /static {
        return 200 "static\n";
    }
--- init
SharedSessionTest::mark();
--- request
GET /s
--- error_code: 503
--- response_body_filters eval
sub {
    my $e = SharedSessionTest::elapsed();
    my $out = main::unavailable($_[0])
              . ($e >= 0.25 && $e < 0.8 ? "after the request timeout\n"
                                        : sprintf("after %.3f s\n", $e));
    Time::HiRes::sleep(1.2);    # past resolver_timeout
    my $r = FaultTest::http(GET => '/static');
    $out . "then: $r->{status} $r->{body}";
}
--- response_body
503 body ok
after the request timeout
then: 200 static
--- error_log eval
qr/\[error\].*shared session: redis drop\.test:$ENV{TEST_NGINX_FAILOVER_PORT}\b.*drop\.test could not be resolved/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 5: NXDOMAIN: 503 at once, the resolver error logged
--- config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT ipv6=off;
    resolver_timeout 1s;
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis nx.test:$TEST_NGINX_FAILOVER_PORT;
    }
--- init
SharedSessionTest::mark();
--- request
GET /s
--- error_code: 503
--- response_body_filters eval
sub {
    my $e = SharedSessionTest::elapsed();
    main::unavailable($_[0])
    . ($e < 0.5 ? "at once\n" : sprintf("after %.3f s\n", $e))
    . 'DNS answers for nx.test: '
    . CORE::join(' ', map { $_->{answer} }
                grep { $_->{name} eq 'nx.test' } $main::dns->query_log) . "\n";
}
--- response_body
503 body ok
at once
DNS answers for nx.test: NXDOMAIN
--- error_log eval
qr/\[error\].*shared session: redis nx\.test:$ENV{TEST_NGINX_FAILOVER_PORT}\b.*nx\.test could not be resolved \(3: Host not found\)/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 6: failover as ElastiCache does it, the old primary kept and demoted to a replica of the new one (TTL 1 s): the first write to it answers READONLY, the connection is closed, the next request resolves the name again and the same session is served by the new primary
--- config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT ipv6=off;
    resolver_timeout 1s;
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis demote.test:$TEST_NGINX_DEMOTE_PORT;
    }
--- init
main::demotion();
--- request
GET /s
--- response_body_filters eval
sub { $main::report . SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
before the failover: 200, a new session
replicated to 127.0.0.2: yes
the old primary refuses writes: yes
statuses while failing over: only 503
at most two requests failed
after the failover: 200, same sessionId, same creationTime, new:false
lastAccessedTime in 127.0.0.2: advanced
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
--- error_log eval
[qr/\[info\].*shared session: redis demote\.test:$ENV{TEST_NGINX_DEMOTE_PORT} resolved to 127\.0\.0\.1:$ENV{TEST_NGINX_DEMOTE_PORT}/,
 qr/\[warn\].*shared session: redis demote\.test:$ENV{TEST_NGINX_DEMOTE_PORT} answered READONLY \(a replica now\), closing connection/,
 qr/\[info\].*shared session: redis demote\.test:$ENV{TEST_NGINX_DEMOTE_PORT} resolved to 127\.0\.0\.2:$ENV{TEST_NGINX_DEMOTE_PORT}/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 7: failover as ElastiCache does it (replica promoted, the name moved to it, TTL 1 s, the primary killed): requests fail for at most a few seconds, then the same session is served by the new primary
--- config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT ipv6=off;
    resolver_timeout 1s;
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis redis.test:$TEST_NGINX_FAILOVER_PORT;
    }
--- init
main::failover();
--- request
GET /s
--- response_body_filters eval
sub { $main::report . SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
before the failover: 200, a new session
replicated to 127.0.0.2: yes
statuses while failing over: only 503
recovered within 5 s
after the failover: 200, same sessionId, same creationTime, new:false
lastAccessedTime in 127.0.0.2: advanced
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
--- error_log eval
[qr/\[info\].*shared session: redis redis\.test:$ENV{TEST_NGINX_FAILOVER_PORT} resolved to 127\.0\.0\.1:$ENV{TEST_NGINX_FAILOVER_PORT}/,
 qr/\[info\].*shared session: redis redis\.test:$ENV{TEST_NGINX_FAILOVER_PORT} resolved to 127\.0\.0\.2:$ENV{TEST_NGINX_FAILOVER_PORT}/]
--- no_error_log
[alert]
[crit]
exited on signal
