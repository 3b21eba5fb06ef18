# The shared_session endpoint: new sessions, reuse of sessions written by the
# module or by Spring Session, expiry, malformed hashes, methods.  Every
# Redis effect is checked on the real Redis through a normalized dump (see
# t/inc/SharedSessionTest.pm): <new> is a fresh UUID v4, <now> the
# lastUpdatedAt of the answer, <B> etc. the ids seeded in --- init.

use lib 't/inc';
use SharedSessionTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(5);

SharedSessionTest::flush();

run_tests();

__DATA__

=== TEST 1: a request without cookie creates a session laid out exactly as Spring Session's
--- config
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



=== TEST 2: the Set-Cookie of a new session carries the Base64 of its id
--- config
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
GET /index.html
--- response_body_filters eval
sub {
    my $n = SharedSessionTest::normalizer();
    $n->response(SharedSessionTest::http_request(GET => '/a'));
}
--- response_body
status: 200
set-cookie: SESSION=<b64 new>; Path=/; HttpOnly; SameSite=Lax
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: HEAD answers the same headers without a body, and the session exists
--- config
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
HEAD /a
--- response_headers_like
Content-Type: application/json
Cache-Control: no-store
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: (empty)
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



=== TEST 4: a location with another host reuses the session: host switches, id and creationTime stay
--- config
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



=== TEST 5: a second server block (another "container") reuses the session
--- http_config
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name container2.test;
        location = /2 {
            shared_session;
            shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
            shared_session_host container2;
        }
    }
--- config
    location = /1 {
        shared_session;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
        shared_session_host container1;
    }
--- init
SharedSessionTest::flush();
--- request
GET /1
--- response_body_filters eval
sub {
    SharedSessionTest::follow($_[0], ['/2', Host => 'container2.test'],
                              ['/1'])
}
--- response_body
body: {"sessionId":"<new>","host":"container1","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
-> GET /2
status: 200
set-cookie: none
body: {"sessionId":"<new>","host":"container2","lastUpdatedAt":<now2>,"previousHost":"container1","creationTime":<now>,"new":false}
-> GET /1
status: 200
set-cookie: none
body: {"sessionId":"<new>","host":"container1","lastUpdatedAt":<now3>,"previousHost":"container2","creationTime":<now>,"new":false}
-> redis
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now3>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"container1","lastUpdatedAt":["java.util.Date",<now3>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now3+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: a session written by Spring Session is reused; its other fields survive byte for byte
The seed's session of DESIGN.md section 1 (lastAccessedTime made recent so
that it has not expired), with a JSON string attribute and a JDK-serialized
one.  The old bucket held only this session, so SREM leaves it empty: gone.
--- config
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



=== TEST 7: moving to a new bucket removes only this session's member from the old one
B and C share a bucket; reusing B leaves C's member (and C) alone.
--- config
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
my $minute = int((SharedSessionTest::now_ms() - 180_000) / 60_000) * 60_000;
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707, lastAccessedTime => $minute + 1000);
SharedSessionTest::seed_session(
    id => '5f0e7f8a-2b1c-4d3e-8f9a-0b1c2d3e4f5a', label => 'C',
    creationTime => $minute - 1000, lastAccessedTime => $minute + 2000);
--- request
GET /a
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
hash spring:session:sessions:<B> ttl=2100s
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
hash spring:session:sessions:<C> ttl=seeded
  creationTime=<C.created>
  maxInactiveInterval=1800
  lastAccessedTime=<C.last>
string spring:session:sessions:expires:<B> ttl=1800s value=""
string spring:session:sessions:expires:<C> ttl=seeded value=""
set spring:session:expirations:<bucket(B.last+1800s)> ttl=seeded
  "expires:<C>"
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: numbers in the typed form of spring-data-redis 2.7.0-2.7.1 are read; they stay as stored
--- config
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



=== TEST 9: TTLs and bucket follow the stored maxInactiveInterval, not the directive's
--- config
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



=== TEST 10: a session that never expires (negative maxInactiveInterval) is reused and persisted, no bucket
lastAccessedTime is from 2019: with a positive interval it would have expired.
The stale TTLs given in --- init must be removed (PERSIST).
--- config
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



=== TEST 11: a session without our attribute is reused: previousHost null, attribute added
--- config
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
    attrs => [ 'cart' => '["java.util.ArrayList",["apple"]]' ]);
--- request
GET /a
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_headers
!Set-Cookie
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
hash spring:session:sessions:<B> ttl=2100s
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:cart=["java.util.ArrayList",["apple"]]
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<B> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: an attribute that is not our JSON (JDK-serialized) gives previousHost null and is rewritten
--- config
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
    attrs => [ 'scopedTarget.sampleSession' =>
                   "\xac\xed\x00\x05sr\x00\x0dSampleSession\x00\x01" ]);
--- request
GET /a
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
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



=== TEST 13: an expired session is not reused and not modified; a new one is created
lastAccessedTime + maxInactiveInterval lies one second in the past; Redis has
already dropped the shadow key, the hash and bucket have their 300 s grace.
--- config
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



=== TEST 14: a session invalidated by Spring (maxInactiveInterval 0) is not reused and not modified
--- config
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
my $last = SharedSessionTest::now_ms() - 61_000;
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



=== TEST 15: a hash without maxInactiveInterval is not a session: warned about, untouched, not reused
--- config
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
    id => 'b0a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d', label => 'M',
    fields => [ creationTime => 1552128921707,
                lastAccessedTime => SharedSessionTest::now_ms() - 60_000,
                'sessionAttr:other' => '"hello"' ]);
--- request
GET /a
--- more_headers
Cookie: SESSION=YjBhMWMyZDMtZTRmNS00YTZiLThjN2QtOWUwZjFhMmIzYzRk
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<M> ttl=seeded
  creationTime=1552128921707
  lastAccessedTime=<M.last>
  sessionAttr:other="hello"
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
--- error_log eval
qr/\[warn\].*shared session: .*b0a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 16: a hash without creationTime is not a session
--- config
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
    id => 'b0a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d', label => 'M',
    fields => [ maxInactiveInterval => 1800,
                lastAccessedTime => SharedSessionTest::now_ms() - 60_000 ]);
--- request
GET /a
--- more_headers
Cookie: SESSION=YjBhMWMyZDMtZTRmNS00YTZiLThjN2QtOWUwZjFhMmIzYzRk
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<M> ttl=seeded
  maxInactiveInterval=1800
  lastAccessedTime=<M.last>
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
--- error_log eval
qr/\[warn\].*shared session: .*b0a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 17: a hash whose lastAccessedTime does not parse is not a session
--- config
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
    id => 'b0a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d', label => 'M',
    fields => [ creationTime => 1552128921707, maxInactiveInterval => 1800,
                lastAccessedTime => 'yesterday' ]);
--- request
GET /a
--- more_headers
Cookie: SESSION=YjBhMWMyZDMtZTRmNS00YTZiLThjN2QtOWUwZjFhMmIzYzRk
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<M> ttl=seeded
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=yesterday
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
--- error_log eval
qr/\[warn\].*shared session: .*b0a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 18: a key of another type under the session's name is not a session: warned about, untouched
--- config
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
SharedSessionTest::known_id('b0a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d', 'M');
SharedSessionTest::seed_key(
    string => 'spring:session:sessions:b0a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d',
    'not a hash');
--- request
GET /a
--- more_headers
Cookie: SESSION=YjBhMWMyZDMtZTRmNS00YTZiLThjN2QtOWUwZjFhMmIzYzRk
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
--- error_log eval
qr/\[warn\].*shared session: .*b0a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 19: other methods get 405 with Allow: GET, HEAD and leave Redis alone
--- config
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
    creationTime => 1552128921707);
--- request eval
["POST /a\nhello", "PUT /a\nhello", "DELETE /a", "OPTIONS /a"]
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code eval
[405, 405, 405, 405]
--- response_headers eval
[("Allow: GET, HEAD\n!Set-Cookie\n") x 4]
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], no_body => 1) }
--- response_body eval
[(<<'EOT') x 4]
hash spring:session:sessions:<B> ttl=seeded
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<B.last>
string spring:session:sessions:expires:<B> ttl=seeded value=""
set spring:session:expirations:<bucket(B.last+1800s)> ttl=seeded
  "expires:<B>"
EOT
--- no_error_log
[error]
[alert]
[crit]



=== TEST 20: 405 without any cookie creates nothing either
--- config
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
POST /a
hello
--- error_code: 405
--- response_headers
Allow: GET, HEAD
!Set-Cookie
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], no_body => 1) }
--- response_body
(no keys)
--- no_error_log
[error]
[alert]
[crit]



=== TEST 21: an invalidated session (maxInactiveInterval 0) whose lastAccessedTime is ahead of this clock (another host's, or a request that began later) is still ended: not reused, not modified, no error
--- config
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
