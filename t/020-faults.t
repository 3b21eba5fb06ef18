# Faults of a real redis-server: not running when nginx starts, started
# later, killed (SIGKILL) with requests in flight, restarted, paused with
# SIGSTOP (requests answer 503 within the timeout while other locations of
# the same worker answer at once) and resumed, and answering errors:
# NOAUTH, WRONGPASS, WRONGTYPE, OOM (maxmemory 1 + noeviction), LOADING
# (DEBUG RELOAD with a slowed-down load), NOSCRIPT after SCRIPT FLUSH.
#
# Every Redis here is private to this file (SharedSessionTest::start_redis);
# the shared one only serves the "/other" location.  After a failure the
# module waits 100 ms before reconnecting, doubling to at most 1 s: "within
# one backoff period" below means within 1.1 s.  Every block checks that no
# worker crashed ("exited on signal", [alert], [crit]).

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(10);

$ENV{TEST_NGINX_LATE_PORT} = SharedSessionTest::free_port();
$ENV{TEST_NGINX_FAULT_PORT} = SharedSessionTest::start_redis();
$ENV{TEST_NGINX_AUTH_PORT} = SharedSessionTest::start_redis(
    conf => ['requirepass s3cret'], auth => ['s3cret']);
$ENV{TEST_NGINX_OOM_PORT} = SharedSessionTest::start_redis();
$ENV{TEST_NGINX_LOADING_PORT} = SharedSessionTest::start_redis(
    conf => ['enable-debug-command yes']);
$ENV{TEST_NGINX_MAXCLIENTS_PORT} = SharedSessionTest::start_redis(
    conf => ['maxclients 1']);

my $config = <<'EOF';
    shared_session_host hostA;
    location = /late {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_LATE_PORT;
    }
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_PORT;
    }
    location = /s3 {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_PORT;
        shared_session_redis_timeout 3s;
    }
    location = /logout {
        shared_session_invalidate;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_PORT;
    }
    location = /other {
        shared_session;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    }
    location = /static {
        return 200 "static\n";
    }
    location = /noauth {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_PORT;
    }
    location = /wrongpass {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_PORT;
        shared_session_redis_password Wr0ngPa55;
    }
    location = /auth {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_PORT;
        shared_session_redis_password s3cret;
    }
    location = /oom {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_OOM_PORT;
    }
    location = /oom-logout {
        shared_session_invalidate;
        shared_session_redis 127.0.0.1:$TEST_NGINX_OOM_PORT;
    }
    location = /maxclients {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_MAXCLIENTS_PORT;
    }
    location = /loading {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_LOADING_PORT;
    }
    location = /loading-db1 {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_LOADING_PORT;
        shared_session_redis_database 1;
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
});

sub main::timing {
    my ($lo, $hi) = @_;
    my $e = SharedSessionTest::elapsed();
    SharedSessionTest::mark();
    return $e >= $lo && $e < $hi ? "in time\n"
         : sprintf("answered after %.3f s, expected %.2f..%.2f s\n",
                   $e, $lo, $hi);
}

sub main::unavailable {
    my ($body) = @_;
    return $body =~ /\A\{"error":"session store unavailable"\}\n?\z/
           ? "503 body ok\n" : "body: $body\n";
}

sub main::no_errors_since_mark {
    my @e = grep { /\[error\]|\[alert\]|\[crit\]/ }
            split /^/, FaultTest::log_since_mark();
    return @e ? "errors after recovering:\n@e" : "no errors after recovering\n";
}

sub main::within {
    my ($what, $t, $max) = @_;
    return defined $t && $t <= $max ? "$what: in time\n"
         : "$what: " . (defined $t ? sprintf('after %.3f s', $t) : 'never')
           . " (max $max s)\n";
}

run_tests();

__DATA__

=== TEST 1: Redis not running when nginx starts: nginx starts, requests get 503 with the JSON error and one error line each
--- init
FaultTest::log_mark();
# keep failing for 1.6 s: the backoff grows to its 1 s cap
my $t0 = Time::HiRes::time();
$main::sent = 0;
while (Time::HiRes::time() - $t0 < 1.6) {
    my $res = FaultTest::http(GET => '/late');
    $main::sent++;
    die "unexpected $res->{status}\n" unless $res->{status} eq '503';
    Time::HiRes::sleep(0.05);
}
--- request
GET /late
--- error_code: 503
--- response_headers
Content-Type: application/json
Cache-Control: no-store
!Set-Cookie
--- response_body_filters eval
sub {
    my $log = FaultTest::log_since_mark();
    my $lines = () = $log =~ /^.*\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_LATE_PORT} connect failed: Connection refused.*$/mg;
    my $all = () = $log =~ /^.*\[error\].*$/mg;
    main::unavailable($_[0])
    . ($lines == $main::sent + 1 && $all == $lines
       ? "one error line per request\n"
       : "error lines: $lines refused, $all in all, for " . ($main::sent + 1) . " requests\n");
}
--- response_body
503 body ok
one error line per request
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 2: Redis started later: requests succeed within one backoff period, without a reload
--- init
SharedSessionTest::start_redis(port => $ENV{TEST_NGINX_LATE_PORT});
$main::recovered = FaultTest::poll_until('/late', 200, 3, 0.02);
FaultTest::log_mark();
--- request
GET /late
--- response_body_filters eval
sub { main::within('recovered', $main::recovered, 1.1)
      . main::no_errors_since_mark()
      . SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
recovered: in time
no errors after recovering
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
--- no_error_log
[alert]
[crit]



=== TEST 3: Redis killed (SIGKILL) with five requests in flight: each gets 503 at once, not after its 3 s timeout
Redis is paused first so that the requests are surely pending, then
killed; the block's own request finds it dead.
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_PORT});
FaultTest::http(GET => '/s3');    # a working connection
my $pid = FaultTest::redis_pid($ENV{TEST_NGINX_FAULT_PORT});
SharedSessionTest::pause_redis($ENV{TEST_NGINX_FAULT_PORT});
@main::pending = map { FaultTest::http_start(GET => '/s3') } 1 .. 5;
Time::HiRes::sleep(0.2);
FaultTest::kill_redis($pid);
@main::res = FaultTest::http_finish_all(\@main::pending, 5);
--- request
GET /s3
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::unavailable($_[0]);
    for my $r (@main::res) {
        $out .= "in flight: $r->{status} "
              . ($r->{elapsed} < 1.2 ? 'at once'
                                     : sprintf('after %.3f s', $r->{elapsed}))
              . "\n";
    }
    $out;
}
--- response_body
503 body ok
in flight: 503 at once
in flight: 503 at once
in flight: 503 at once
in flight: 503 at once
in flight: 503 at once
--- error_log eval
[qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAULT_PORT} connection lost/,
 # the block's own request finds the dead connection or, once the worker
 # has seen the loss, a refused connect: which one depends on timing
 qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAULT_PORT} (?:connect failed: Connection refused|connection lost)/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 4: the killed Redis restarted: requests succeed within one backoff period, no reload
--- init
SharedSessionTest::restart_redis($ENV{TEST_NGINX_FAULT_PORT});
$main::recovered = FaultTest::poll_until('/s', 200, 3, 0.02);
FaultTest::log_mark();
--- request
GET /s
--- response_body_filters eval
sub { main::within('recovered', $main::recovered, 1.1)
      . main::no_errors_since_mark()
      . SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
recovered: in time
no errors after recovering
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
--- no_error_log
[alert]
[crit]



=== TEST 5: Redis restarted while the worker is idle: the lost working connection is replaced at once, no 503 at all
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_PORT});
FaultTest::http(GET => '/s');
SharedSessionTest::restart_redis($ENV{TEST_NGINX_FAULT_PORT});
Time::HiRes::sleep(0.05);
--- request eval
["GET /s", "GET /s"]
--- error_code eval
[200, 200]
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 6: Redis paused (SIGSTOP): 503 after the 1 s timeout; meanwhile other locations of the same worker answer at once
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_PORT});
FaultTest::http(GET => '/s');
FaultTest::http(GET => '/other');
SharedSessionTest::pause_redis($ENV{TEST_NGINX_FAULT_PORT});
$main::first = FaultTest::http_start(GET => '/s');
Time::HiRes::sleep(0.05);
$main::static = FaultTest::http(GET => '/static');
$main::other = FaultTest::http(GET => '/other');
SharedSessionTest::mark();
--- request
GET /s
--- error_code: 503
--- response_headers
Content-Type: application/json
!Set-Cookie
--- response_body_filters eval
sub {
    my $out = main::unavailable($_[0]) . 'own request: ' . main::timing(0.8, 1.5);
    my $first = FaultTest::http_finish($main::first, 5);
    $out .= "first request: $first->{status} "
          . ($first->{elapsed} >= 0.95 && $first->{elapsed} < 1.5
             ? "in time\n" : sprintf("after %.3f s\n", $first->{elapsed}));
    for my $r ([static => $main::static], [other => $main::other]) {
        $out .= "$r->[0] meanwhile: $r->[1]{status} "
              . ($r->[1]{elapsed} < 0.3 ? "at once\n"
                 : sprintf("after %.3f s\n", $r->[1]{elapsed}));
    }
    $out;
}
--- response_body
503 body ok
own request: in time
first request: 503 in time
static meanwhile: 200 at once
other meanwhile: 200 at once
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAULT_PORT} timed out/,
 qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAULT_PORT} timed out, closing connection/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 7: kill -CONT: service resumes within one backoff period; nothing half-written by the timed-out requests
--- init
SharedSessionTest::resume_redis($ENV{TEST_NGINX_FAULT_PORT});
$main::recovered = FaultTest::poll_until('/s', 200, 3, 0.02);
FaultTest::log_mark();
--- request
GET /s
--- response_body_filters eval
sub {
    my $out = main::within('recovered', $main::recovered, 1.1)
              . main::no_errors_since_mark();
    # every hash in Redis is a complete session
    my $c = SharedSessionTest::connect_redis(port => $ENV{TEST_NGINX_FAULT_PORT});
    my $bad = 0;
    for my $k (@{ $c->cmd('KEYS', 'spring:session:sessions:*') }) {
        next if $k =~ /:expires:/;
        my $f = $c->cmd('HMGET', $k, qw(creationTime lastAccessedTime maxInactiveInterval));
        $bad++ if grep { !defined } @$f;
    }
    $out . "partial hashes: $bad\n" . ($_[0] =~ /"new":true/ ? "served\n" : "body: $_[0]\n");
}
--- response_body
recovered: in time
no errors after recovering
partial hashes: 0
served
--- no_error_log
[alert]
[crit]



=== TEST 8: NOAUTH: a Redis with requirepass and no password configured: 503, the cause logged
--- request
GET /noauth
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body
503 body ok
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_AUTH_PORT} .*NOAUTH Authentication required/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 9: a wrong password: 503, "AUTH failed" logged, the password itself never
--- request
GET /wrongpass
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body
503 body ok
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_AUTH_PORT} AUTH failed: WRONGPASS/
--- no_error_log
[alert]
[crit]
exited on signal
Wr0ngPa55
s3cret



=== TEST 10: the right password on the same Redis works (its own connection)
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_AUTH_PORT});
--- request
GET /auth
--- response_body_like: "new":true
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: WRONGTYPE on the session key (a string): not a session, warned about, left untouched, a new session is served
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_PORT});
SharedSessionTest::seed_key(string => 'spring:session:sessions:e1237df7-5646-4382-aa12-41435ed09dc7',
                            'not a hash', { port => $ENV{TEST_NGINX_FAULT_PORT} });
--- request
GET /s
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0], port => $ENV{TEST_NGINX_FAULT_PORT}) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
--- error_log eval
qr/\[warn\].*invalid session "e1237df7-5646-4382-aa12-41435ed09dc7"/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: WRONGTYPE for the new session's expiration bucket: 503, the error logged, an existing session and everything else untouched
The session's own next bucket and the new session's bucket are strings:
the touch is refused before any write, and so is the new session.
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_PORT});
SharedSessionTest::seed_session(id => 'e1237df7-5646-4382-aa12-41435ed09dc7',
                                label => 'B', port => $ENV{TEST_NGINX_FAULT_PORT});
my $now = SharedSessionTest::now_ms();
SharedSessionTest::seed_key(
    string => 'spring:session:expirations:'
              . SharedSessionTest::bucket_ms($now + $_, 1800),
    'not a set', { port => $ENV{TEST_NGINX_FAULT_PORT} })
    for 0, 60_000;
$main::keys_before = SharedSessionTest::dbsize(port => $ENV{TEST_NGINX_FAULT_PORT});
--- request
GET /s
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 503
--- response_body_filters eval
sub {
    main::unavailable($_[0])
    . SharedSessionTest::seeds_status(port => $ENV{TEST_NGINX_FAULT_PORT})
    . 'keys added: '
    . (SharedSessionTest::dbsize(port => $ENV{TEST_NGINX_FAULT_PORT}) - $main::keys_before)
    . "\n";
}
--- response_body
503 body ok
seeds untouched
keys added: 0
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAULT_PORT} .*WRONGTYPE/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 13: OOM (maxmemory 1, noeviction): touching an existing session gets 503 and writes nothing
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_OOM_PORT});
SharedSessionTest::seed_session(id => 'e1237df7-5646-4382-aa12-41435ed09dc7',
                                label => 'B', port => $ENV{TEST_NGINX_OOM_PORT});
SharedSessionTest::redis_cmd({ port => $ENV{TEST_NGINX_OOM_PORT} },
                             'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
SharedSessionTest::redis_cmd({ port => $ENV{TEST_NGINX_OOM_PORT} },
                             'CONFIG', 'SET', 'maxmemory', '1');
--- request
GET /oom
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 503
--- response_body_filters eval
sub {
    main::unavailable($_[0])
    . SharedSessionTest::seeds_status(port => $ENV{TEST_NGINX_OOM_PORT})
    . SharedSessionTest::dbsize(port => $ENV{TEST_NGINX_OOM_PORT}) . " keys\n";
}
--- response_body
503 body ok
seeds untouched
3 keys
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_OOM_PORT} .*OOM command not allowed/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 14: OOM: a new session gets 503 and nothing is created
--- request
GET /oom
--- error_code: 503
--- response_body_filters eval
sub {
    main::unavailable($_[0])
    . SharedSessionTest::seeds_status(port => $ENV{TEST_NGINX_OOM_PORT})
    . SharedSessionTest::dbsize(port => $ENV{TEST_NGINX_OOM_PORT}) . " keys\n";
}
--- response_body
503 body ok
seeds untouched
3 keys
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_OOM_PORT} .*OOM command not allowed/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 15: OOM: invalidating is all or nothing; Redis lets a script that began with a write that frees memory finish: 302, fully invalidated
--- request
GET /oom-logout
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 302
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], no_body => 1, port => $ENV{TEST_NGINX_OOM_PORT}) }
--- response_body
hash spring:session:sessions:<B> ttl=300s
  creationTime=<B.created>
  maxInactiveInterval=0
  lastAccessedTime=<B.last>
set spring:session:expirations:<bucket(B.last+0s)> ttl=300s
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 16: an OOM error reply does not close the connection: once memory is freed the same connection serves at once
The first request meets OOM; its filter frees the memory; the second one
must be served without a new connection (the invalidated session of the
previous block is not reused).
--- request eval
["GET /oom", "GET /oom"]
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code eval
[503, 200]
--- response_body_filters eval
[[sub {
    my %t = (port => $ENV{TEST_NGINX_OOM_PORT});
    SharedSessionTest::redis_cmd({ %t }, 'CONFIG', 'SET', 'maxmemory', '0');
    ($main::clients) = SharedSessionTest::redis_cmd({ %t }, 'INFO', 'stats')
        =~ /total_connections_received:(\d+)/;
    main::unavailable($_[0]);
}],
 [sub {
    my ($now) = SharedSessionTest::redis_cmd({ port => $ENV{TEST_NGINX_OOM_PORT} },
                                             'INFO', 'stats')
        =~ /total_connections_received:(\d+)/;
    # the only connection since is the one of this INFO
    SharedSessionTest::normalizer()->body($_[0])
    . 'new connections from nginx: ' . ($now - $main::clients - 1) . "\n";
}]]
--- response_body eval
["503 body ok\n",
 qq(body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}\nnew connections from nginx: 0\n)]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 17: LOADING (DEBUG RELOAD of a dataset loaded slowly): requests on the working connection and on a new one get 503
The established connection sends EVALSHA and gets -LOADING; the new one
(database 1) fails its SCRIPT LOAD with -LOADING.
--- init
my %t = (port => $ENV{TEST_NGINX_LOADING_PORT});
SharedSessionTest::flush(%t);
SharedSessionTest::redis_cmd({ %t }, 'EVAL',
    "for i = 1, 6000 do redis.call('SET', 'filler:' .. i, 'x') end", 0);
SharedSessionTest::redis_cmd({ %t }, 'CONFIG', 'SET', 'key-load-delay', 100);
SharedSessionTest::redis_cmd({ %t }, 'CONFIG', 'SET',
                             'loading-process-events-interval-bytes', 1024);
FaultTest::http(GET => '/loading');    # a working connection
# DEBUG RELOAD blocks its own client until the load is done: not waited for
$main::reload = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $t{port}) or die "$!";
print {$main::reload} "*2\r\n\$5\r\nDEBUG\r\n\$6\r\nRELOAD\r\n";
my $deadline = Time::HiRes::time() + 5;
until (eval { SharedSessionTest::redis_cmd({ %t }, 'PING'); 0 } // $@ =~ /LOADING/) {
    die "Redis does not report LOADING\n" if Time::HiRes::time() > $deadline;
    Time::HiRes::sleep(0.01);
}
--- request eval
["GET /loading", "GET /loading-db1"]
--- error_code eval
[503, 503]
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body eval
["503 body ok\n", "503 body ok\n"]
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_LOADING_PORT} .*LOADING Redis is loading the dataset in memory/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 18: loading done: both connections serve again (the failed one after its backoff)
--- init
my $sel = IO::Select->new($main::reload);
$sel->can_read(20) or die "DEBUG RELOAD did not finish\n";
sysread($main::reload, my $reply, 100);
die "DEBUG RELOAD: $reply" unless $reply =~ /^\+OK/;
SharedSessionTest::redis_cmd({ port => $ENV{TEST_NGINX_LOADING_PORT} },
                             'CONFIG', 'SET', 'key-load-delay', 0);
Time::HiRes::sleep(1.1);
--- request eval
["GET /loading", "GET /loading-db1"]
--- error_code eval
[200, 200]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 19: SCRIPT FLUSH on a real Redis: NOSCRIPT, then EVAL with the script text, and the session is served
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_PORT});
FaultTest::http(GET => '/s');
SharedSessionTest::redis_cmd({ port => $ENV{TEST_NGINX_FAULT_PORT} }, 'SCRIPT', 'FLUSH');
--- request eval
["GET /s", "GET /logout"]
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code eval
[200, 302]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 20: Redis closes an idle connection (CLIENT KILL, as its idle timeout or a proxy would): the next request reconnects at once
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_PORT});
FaultTest::http(GET => '/s');
SharedSessionTest::redis_cmd({ port => $ENV{TEST_NGINX_FAULT_PORT} },
                             'CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
Time::HiRes::sleep(0.05);
--- request
GET /s
--- response_body_like: "new":true
--- error_log eval
qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAULT_PORT} connection lost/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 21: 40 requests pending on a paused Redis, resumed after 0.3 s: every one is answered 200 in order, none lost
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_PORT});
FaultTest::http(GET => '/s3');
SharedSessionTest::pause_redis($ENV{TEST_NGINX_FAULT_PORT});
@main::pending = map { FaultTest::http_start(GET => "/s3") } 1 .. 40;
Time::HiRes::sleep(0.3);
SharedSessionTest::resume_redis($ENV{TEST_NGINX_FAULT_PORT});
@main::res = FaultTest::http_finish_all(\@main::pending, 10);
--- request
GET /s3
--- response_body_filters eval
sub {
    my %n;
    $n{ $_->{status} }++ for @main::res;
    my %ids;
    for my $r (@main::res) {
        my $j = eval { JSON::PP->new->decode($r->{body}) } or next;
        $ids{ $j->{sessionId} }++;
    }
    CORE::join('', map { "$_ x$n{$_}\n" } sort keys %n)
    . 'distinct sessions: ' . scalar(keys %ids) . "\n"
    . 'hashes: ' . scalar(grep { !/:expires:/ } @{ SharedSessionTest::redis_cmd(
          { port => $ENV{TEST_NGINX_FAULT_PORT} }, 'KEYS', 'spring:session:sessions:*') })
    . "\n";
}
--- response_body
200 x40
distinct sessions: 40
hashes: 42
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 22: Redis refuses the connection with "max number of clients reached": 503, the cause logged
--- init
$main::hog = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                   PeerPort => $ENV{TEST_NGINX_MAXCLIENTS_PORT})
    or die "$!";
print {$main::hog} "PING\r\n";
IO::Select->new($main::hog)->can_read(2);
sysread($main::hog, my $pong, 100);
--- request
GET /maxclients
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body
503 body ok
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_MAXCLIENTS_PORT} .*max number of clients reached/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 23: a client slot free again: served after the backoff
--- init
close $main::hog;
Time::HiRes::sleep(1.1);
--- request
GET /maxclients
--- response_body_like: "new":true
--- no_error_log
[error]
[alert]
[crit]
