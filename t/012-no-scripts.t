# shared_session_redis_scripts off: the same Spring layout and answers as
# the scripts give (blocks taken from t/001 and t/003), with plain pipelined
# commands, for Redis-compatible servers that forbid scripting; and against
# a redis-server whose EVAL, EVALSHA and SCRIPT are renamed away (and TIME:
# expiry is then judged by nginx's clock, as behind a proxy that forwards
# keyed commands only).

use lib 't/inc';
use SharedSessionTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(5);

$ENV{TEST_NGINX_NOSCRIPT_REDIS_PORT} = SharedSessionTest::start_redis(
    conf => ['rename-command EVAL ""', 'rename-command EVALSHA ""',
             'rename-command SCRIPT ""', 'rename-command TIME ""']);

run_tests();

__DATA__

=== TEST 1: scripts off: a request without cookie creates a session laid out exactly as Spring Session's
--- config
    shared_session_redis_scripts off;
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /b {
        shared_session;
        shared_session_host hostB;
    }
--- init
SharedSessionTest::flush();
--- request
GET /a
--- response_headers_like
Content-Type: application/json
Cache-Control: no-store
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: scripts off: a location with another host reuses the session: host switches, id and creationTime stay
--- config
    shared_session_redis_scripts off;
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /b {
        shared_session;
        shared_session_host hostB;
    }
--- init
SharedSessionTest::flush();
--- request
GET /a
--- response_body_filters eval
sub { SharedSessionTest::follow($_[0], ['/b'], ['/a']) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
-> GET /b
status: 200
set-cookie: none
body: {"sessionId":"<new>","host":"hostB","lastUpdatedAt":<now2>,"previousHost":"hostA","creationTime":<now>,"new":false}
-> GET /a
status: 200
set-cookie: none
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now3>,"previousHost":"hostB","creationTime":<now>,"new":false}
-> redis
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now3>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now3>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now3+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: scripts off: a session written by Spring Session is reused; its other fields survive byte for byte
The seed's session of DESIGN.md section 1 (lastAccessedTime made recent so
that it has not expired), with a JSON string attribute and a JDK-serialized
one.  The old bucket held only this session, so SREM leaves it empty: gone.
--- config
    shared_session_redis_scripts off;
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /b {
        shared_session;
        shared_session_host hostB;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707,
    attrs => [
        'scopedTarget.sampleSession' =>
            SharedSessionTest::spring_attr('c95883d5424d', 1552129074569),
        'other' => '"hello"',
        'SPRING_SECURITY_CONTEXT' => "\xac\xed\x00\x05t\x00\x05hello",
    ]);
--- request
GET /a
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_headers
Content-Type: application/json
Cache-Control: no-store
!Set-Cookie
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":"c95883d5424d","creationTime":1552128921707,"new":false}
hash spring:session:sessions:<B> ttl=2100s
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:SPRING_SECURITY_CONTEXT=\xac\xed\x00\x05t\x00\x05hello
  sessionAttr:other="hello"
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<B> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: scripts off: a valid session is invalidated as Spring does it, with the expiring cookie and a redirect
B and C share an expiration bucket; only B's member goes.
--- config
    shared_session_redis_scripts off;
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /invalidateSession {
        shared_session_invalidate;
    }
--- init
SharedSessionTest::flush();
my $minute = int((SharedSessionTest::now_ms() - 180_000) / 60_000) * 60_000;
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707, lastAccessedTime => $minute + 1000,
    attrs => [
        'scopedTarget.sampleSession' =>
            SharedSessionTest::spring_attr('c95883d5424d', 1552129074569),
        'other' => '"hello"',
    ]);
SharedSessionTest::seed_session(
    id => '5f0e7f8a-2b1c-4d3e-8f9a-0b1c2d3e4f5a', label => 'C',
    creationTime => $minute - 1000, lastAccessedTime => $minute + 2000);
--- request
GET /invalidateSession
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 302
--- response_headers
Location: http://localhost:$ServerPort/index.html
Set-Cookie: SESSION=; Max-Age=0; Expires=Thu, 1 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], no_body => 1) }
--- response_body
hash spring:session:sessions:<B> ttl=300s
  creationTime=1552128921707
  maxInactiveInterval=0
  lastAccessedTime=<B.last>
  sessionAttr:other="hello"
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"c95883d5424d","lastUpdatedAt":["java.util.Date",1552129074569]}
hash spring:session:sessions:<C> ttl=seeded
  creationTime=<C.created>
  maxInactiveInterval=1800
  lastAccessedTime=<C.last>
string spring:session:sessions:expires:<C> ttl=seeded value=""
set spring:session:expirations:<bucket(B.last+0s)> ttl=300s
  "expires:<B>"
set spring:session:expirations:<bucket(B.last+1800s)> ttl=seeded
  "expires:<C>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: scripts off: numbers in the typed form of spring-data-redis 2.7.0-2.7.1 are read; they stay as stored
--- config
    shared_session_redis_scripts off;
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /b {
        shared_session;
        shared_session_host hostB;
    }
--- init
SharedSessionTest::flush();
my $last = SharedSessionTest::now_ms() - 60_000;
SharedSessionTest::seed_session(
    id => '7c9e6679-7425-40de-944b-e07fc1f90ae7', label => 'T',
    creationTime => '["java.lang.Long",1552128921707]',
    lastAccessedTime => qq(["java.lang.Long",$last]),
    maxInactiveInterval => '["java.lang.Integer",1800]',
    attrs => [ 'scopedTarget.sampleSession' =>
                   SharedSessionTest::spring_attr('typed-host', $last) ]);
--- request
GET /a
--- more_headers
Cookie: SESSION=N2M5ZTY2NzktNzQyNS00MGRlLTk0NGItZTA3ZmMxZjkwYWU3
--- response_headers
Content-Type: application/json
!Set-Cookie
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<T>","host":"hostA","lastUpdatedAt":<now>,"previousHost":"typed-host","creationTime":1552128921707,"new":false}
hash spring:session:sessions:<T> ttl=2100s
  creationTime=["java.lang.Long",1552128921707]
  maxInactiveInterval=["java.lang.Integer",1800]
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<T> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<T>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: scripts off: TTLs and bucket follow the stored maxInactiveInterval, not the directive's
--- config
    shared_session_redis_scripts off;
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /b {
        shared_session;
        shared_session_host hostB;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => '16fd2706-8baf-433b-82eb-8c7fada847da', label => 'S',
    creationTime => 1552128921707, maxInactiveInterval => 600);
--- request
GET /a
--- more_headers
Cookie: SESSION=MTZmZDI3MDYtOGJhZi00MzNiLTgyZWItOGM3ZmFkYTg0N2Rh
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<S>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
hash spring:session:sessions:<S> ttl=900s
  creationTime=1552128921707
  maxInactiveInterval=600
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<S> ttl=600s value=""
set spring:session:expirations:<bucket(now+600s)> ttl=900s
  "expires:<S>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: scripts off: a session that never expires (negative maxInactiveInterval) is reused and persisted, no bucket
lastAccessedTime is from 2019: with a positive interval it would have expired.
The stale TTLs given in --- init must be removed (PERSIST).
--- config
    shared_session_redis_scripts off;
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /b {
        shared_session;
        shared_session_host hostB;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => '9b2d4e6f-1a3c-4e5f-9a7b-c8d9e0f1a2b3', label => 'N',
    creationTime => 1552128921707, lastAccessedTime => 1552129074379,
    maxInactiveInterval => -1,
    attrs => [ 'scopedTarget.sampleSession' =>
                   SharedSessionTest::spring_attr('forever-host',
                                                  1552129074569) ]);
SharedSessionTest::redis_cmd('PEXPIRE', "spring:session:sessions:$_", 1_000_000)
    for '9b2d4e6f-1a3c-4e5f-9a7b-c8d9e0f1a2b3',
        'expires:9b2d4e6f-1a3c-4e5f-9a7b-c8d9e0f1a2b3';
--- request
GET /a
--- more_headers
Cookie: SESSION=OWIyZDRlNmYtMWEzYy00ZTVmLTlhN2ItYzhkOWUwZjFhMmIz
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<N>","host":"hostA","lastUpdatedAt":<now>,"previousHost":"forever-host","creationTime":1552128921707,"new":false}
hash spring:session:sessions:<N> ttl=none
  creationTime=1552128921707
  maxInactiveInterval=-1
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<N> ttl=none value=""
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: scripts off: an expired session is not reused and not modified; a new one is created
lastAccessedTime + maxInactiveInterval lies one second in the past; Redis has
already dropped the shadow key, the hash and bucket have their 300 s grace.
--- config
    shared_session_redis_scripts off;
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /b {
        shared_session;
        shared_session_host hostB;
    }
--- init
SharedSessionTest::flush();
my $last = SharedSessionTest::now_ms() - 1_801_000;
SharedSessionTest::seed_session(
    id => '0d4c8a1e-7f2b-4c3d-9e8f-a1b2c3d4e5f6', label => 'X',
    creationTime => $last - 3_600_000, lastAccessedTime => $last,
    attrs => [ 'scopedTarget.sampleSession' =>
                   SharedSessionTest::spring_attr('old-host', $last) ]);
--- request
GET /a
--- more_headers
Cookie: SESSION=MGQ0YzhhMWUtN2YyYi00YzNkLTllOGYtYTFiMmMzZDRlNWY2
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<X> ttl=seeded
  creationTime=<X.created>
  maxInactiveInterval=1800
  lastAccessedTime=<X.last>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"old-host","lastUpdatedAt":["java.util.Date",<X.last>]}
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(X.last+1800s)> ttl=seeded
  "expires:<X>"
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: a server without scripting is served with scripts off
--- config
    location = /plain {
        shared_session;
        shared_session_host hostA;
        shared_session_redis 127.0.0.1:$TEST_NGINX_NOSCRIPT_REDIS_PORT;
        shared_session_redis_scripts off;
    }
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_NOSCRIPT_REDIS_PORT});
--- request
GET /plain
--- response_body_filters eval
sub {
    SharedSessionTest::normalizer()->body($_[0])
    . "private redis: "
    . SharedSessionTest::dbsize(port => $ENV{TEST_NGINX_NOSCRIPT_REDIS_PORT})
    . " keys\n";
}
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
private redis: 3 keys
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: with scripts on, the same server is refused with the cause: 503
--- config
    location = /scripts {
        shared_session;
        shared_session_host hostA;
        shared_session_redis 127.0.0.1:$TEST_NGINX_NOSCRIPT_REDIS_PORT;
    }
--- request
GET /scripts
--- error_code: 503
--- response_body chomp
{"error":"session store unavailable"}
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:\d+ SCRIPT LOAD failed: ERR unknown command/
--- no_error_log
[alert]
[crit]



=== TEST 11: scripts off: an invalidated session (maxInactiveInterval 0) whose lastAccessedTime is ahead of this clock (another host's, or a request that began later) is still ended: not reused, not modified, no error
--- config
    shared_session_redis_scripts off;
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /b {
        shared_session;
        shared_session_host hostB;
    }
--- init
SharedSessionTest::flush();
my $last = SharedSessionTest::now_ms() + 120_000;
SharedSessionTest::seed_session(
    id => '0d4c8a1e-7f2b-4c3d-9e8f-a1b2c3d4e5f6', label => 'X',
    creationTime => $last - 3_600_000, lastAccessedTime => $last,
    maxInactiveInterval => 0);
--- request
GET /a
--- more_headers
Cookie: SESSION=MGQ0YzhhMWUtN2YyYi00YzNkLTllOGYtYTFiMmMzZDRlNWY2
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<X> ttl=seeded
  creationTime=<X.created>
  maxInactiveInterval=0
  lastAccessedTime=<X.last>
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(X.last+0s)> ttl=seeded
  "expires:<X>"
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: a server that refuses TIME: a session is reused all the same (expiry judged by nginx's clock)
--- config
    location = /plain {
        shared_session;
        shared_session_host hostB;
        shared_session_redis 127.0.0.1:$TEST_NGINX_NOSCRIPT_REDIS_PORT;
        shared_session_redis_scripts off;
    }
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_NOSCRIPT_REDIS_PORT});
SharedSessionTest::seed_session(
    port => $ENV{TEST_NGINX_NOSCRIPT_REDIS_PORT},
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707,
    attrs => [ 'scopedTarget.sampleSession' =>
               SharedSessionTest::spring_attr('hostA', 1552129074569) ]);
--- request
GET /plain
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostB","lastUpdatedAt":<now>,"previousHost":"hostA","creationTime":1552128921707,"new":false}
--- no_error_log
[error]
[alert]
[crit]
