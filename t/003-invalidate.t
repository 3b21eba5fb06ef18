# The shared_session_invalidate endpoint: Spring 3.4's deleteById on Redis
# (the member in the bucket of lastAccessedTime + 0 for 300 s included),
# the expiring cookie, the redirect.

use lib 't/inc';
use SharedSessionTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(5);

# Nothing listens here: a location pointing at it shows whether Redis is
# contacted at all.
$ENV{TEST_NGINX_DEAD_PORT} = SharedSessionTest::free_port();

SharedSessionTest::flush();

run_tests();

__DATA__

=== TEST 1: a valid session is invalidated as Spring does it, with the expiring cookie and a redirect
B and C share an expiration bucket; only B's member goes.
--- config
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



=== TEST 2: the bucket is found from the stored maxInactiveInterval; an emptied bucket disappears
--- config
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
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707, maxInactiveInterval => 600);
--- request
GET /invalidateSession
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 302
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], no_body => 1) }
--- response_body
hash spring:session:sessions:<B> ttl=300s
  creationTime=1552128921707
  maxInactiveInterval=0
  lastAccessedTime=<B.last>
set spring:session:expirations:<bucket(B.last+0s)> ttl=300s
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: after invalidation the same cookie gets a new session
--- config
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
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B');
--- request eval
["GET /invalidateSession", "GET /a"]
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code eval
[302, 200]
--- response_headers_like eval
["Set-Cookie: SESSION=; Max-Age=0; Expires=Thu, 1 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax",
 "Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax"]
--- response_body_filters eval
sub {
    $_[0] =~ /^\{/ ? SharedSessionTest::normalizer()->body($_[0])
                   : "not the module's JSON\n";
}
--- response_body eval
["not the module's JSON\n",
 qq(body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}\n)]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: without a cookie there is nothing to invalidate: redirect and expiring cookie, Redis not contacted
The location's Redis address has nobody listening.
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /invalidateSession {
        shared_session_invalidate;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- request
GET /invalidateSession
--- error_code: 302
--- response_headers
Location: http://localhost:$ServerPort/index.html
Set-Cookie: SESSION=; Max-Age=0; Expires=Thu, 1 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: with a cookie and Redis unreachable, invalidate answers 503
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /invalidateSession {
        shared_session_invalidate;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- request
GET /invalidateSession
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 503
--- response_headers
Content-Type: application/json
!Set-Cookie
!Location
--- response_body_like eval
qr/^\{"error":"session store unavailable"\}\n?\z/
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_DEAD_PORT}\b.*Connection refused/
--- no_error_log
[alert]
[crit]



=== TEST 6: a cookie naming no session: redirect and expiring cookie, nothing written
--- config
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
--- request
GET /invalidateSession
--- more_headers
Cookie: SESSION=MzNmZGQxYjYtYjQ5Ni00YjMzLTlmN2QtZGY5NjY3OWQzMmZl
--- error_code: 302
--- response_headers
Location: http://localhost:$ServerPort/index.html
Set-Cookie: SESSION=; Max-Age=0; Expires=Thu, 1 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], no_body => 1) }
--- response_body
(no keys)
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: a hash that is not a valid session is left untouched
--- config
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
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    fields => [ creationTime => 1552128921707,
                lastAccessedTime => SharedSessionTest::now_ms() - 60_000 ]);
--- request
GET /invalidateSession
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 302
--- response_headers
Set-Cookie: SESSION=; Max-Age=0; Expires=Thu, 1 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::seeds_status() }
--- response_body
seeds untouched
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: the session is the first existing one among several SESSION cookies
--- config
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
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
GET /invalidateSession
--- more_headers
Cookie: SESSION=MzNmZGQxYjYtYjQ5Ni00YjMzLTlmN2QtZGY5NjY3OWQzMmZl; SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 302
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], no_body => 1) }
--- response_body
hash spring:session:sessions:<B> ttl=300s
  creationTime=1552128921707
  maxInactiveInterval=0
  lastAccessedTime=<B.last>
set spring:session:expirations:<bucket(B.last+0s)> ttl=300s
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: HEAD invalidates too and answers the same headers
--- config
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
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
HEAD /invalidateSession
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
set spring:session:expirations:<bucket(B.last+0s)> ttl=300s
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: other methods get 405 and invalidate nothing
--- config
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
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B');
--- request
POST /invalidateSession
logout
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 405
--- response_headers
Allow: GET, HEAD
!Set-Cookie
--- response_body_filters eval
sub { SharedSessionTest::seeds_status() }
--- response_body
seeds untouched
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: shared_session_invalidate_redirect sets the Location (relative and absolute)
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_invalidate_redirect /bye.html;
    location = /logout {
        shared_session_invalidate;
    }
    location = /logout-elsewhere {
        shared_session_invalidate;
        shared_session_invalidate_redirect https://example.com/signed-out;
    }
--- request eval
["GET /logout", "GET /logout-elsewhere"]
--- error_code eval
[302, 302]
--- response_headers eval
['Location: http://localhost:$ServerPort/bye.html',
 'Location: https://example.com/signed-out']
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: the expiring cookie carries the configured name, domain, path, Secure and SameSite
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /logout {
        shared_session_invalidate;
        shared_session_cookie_name MYSESS;
        shared_session_cookie_domain example.com;
        shared_session_cookie_path /app;
        shared_session_cookie_secure on;
        shared_session_cookie_samesite Strict;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
GET /logout
--- more_headers
Cookie: SESSION=MzNmZGQxYjYtYjQ5Ni00YjMzLTlmN2QtZGY5NjY3OWQzMmZl; MYSESS=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 302
--- response_headers
Set-Cookie: MYSESS=; Max-Age=0; Expires=Thu, 1 Jan 1970 00:00:00 GMT; Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=Strict
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], no_body => 1) }
--- response_body
hash spring:session:sessions:<B> ttl=300s
  creationTime=1552128921707
  maxInactiveInterval=0
  lastAccessedTime=<B.last>
set spring:session:expirations:<bucket(B.last+0s)> ttl=300s
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 13: without HttpOnly and SameSite the expiring cookie has neither
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /logout {
        shared_session_invalidate;
        shared_session_cookie_httponly off;
        shared_session_cookie_samesite off;
    }
--- request
GET /logout
--- error_code: 302
--- response_headers
Set-Cookie: SESSION=; Max-Age=0; Expires=Thu, 1 Jan 1970 00:00:00 GMT; Path=/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 14: invalidate works in its namespace
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /logout {
        shared_session_invalidate;
        shared_session_namespace myapp;
    }
--- init
SharedSessionTest::flush();
my $last = SharedSessionTest::now_ms() - 60_000;
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B', ns => $_,
    creationTime => 1552128921707, lastAccessedTime => $last)
    for 'myapp', 'spring:session';
--- request
GET /logout
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 302
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], no_body => 1) }
--- response_body
hash myapp:sessions:<B> ttl=300s
  creationTime=1552128921707
  maxInactiveInterval=0
  lastAccessedTime=<B.last>
hash spring:session:sessions:<B> ttl=seeded
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<B.last>
string spring:session:sessions:expires:<B> ttl=seeded value=""
set myapp:expirations:<bucket(B.last+0s)> ttl=300s
  "expires:<B>"
set spring:session:expirations:<bucket(B.last+1800s)> ttl=seeded
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]
