# The effect of each configuration directive (shared_session_redis_timeout
# is in 005, invalidate_redirect in 003, cookie_base64 in 002, the default
# Redis address in 007-009), and inheritance http -> server -> location.

use lib 't/inc';
use File::Temp ();
use SharedSessionTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(5);

# Private servers: one behind requirepass, one with ACL users (whose default
# user has another password, so that a module ignoring the username fails),
# one listening on a unix socket.
$ENV{TEST_NGINX_AUTH_REDIS_PORT} = SharedSessionTest::start_redis(
    conf => ['requirepass s3cret'], auth => ['s3cret']);
$ENV{TEST_NGINX_ACL_REDIS_PORT} = SharedSessionTest::start_redis(
    conf => ['user default on >defaultpw ~* &* +@all',
             'user alice on >alicepw ~* &* +@all'],
    auth => ['alice', 'alicepw']);
$ENV{TEST_NGINX_UNIX_REDIS_PORT} = SharedSessionTest::start_redis(
    unixsocket => 1);
$ENV{TEST_NGINX_UNIX_REDIS_SOCK} =
    SharedSessionTest::redis_socket($ENV{TEST_NGINX_UNIX_REDIS_PORT});

# A TLS server (self-signed) that the plain one proxies to, for
# shared_session_cookie_secure auto.
$ENV{TEST_NGINX_TLS_PORT} = SharedSessionTest::free_port();
$ENV{TEST_NGINX_CERT_DIR} = File::Temp::tempdir('ss-cert-XXXXXX', TMPDIR => 1,
                                                CLEANUP => 1);
system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
       . " -nodes -keyout $ENV{TEST_NGINX_CERT_DIR}/key.pem"
       . " -out $ENV{TEST_NGINX_CERT_DIR}/cert.pem -days 2 -subj /CN=localhost"
       . " 2>/dev/null") == 0
    or die "openssl req failed\n";

SharedSessionTest::flush();

run_tests();

__DATA__

=== TEST 1: shared_session_redis unix:/path talks to the Redis on that socket
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis unix:$TEST_NGINX_UNIX_REDIS_SOCK;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::flush(port => $ENV{TEST_NGINX_UNIX_REDIS_PORT});
--- request
GET /s
--- response_body_filters eval
sub {
    SharedSessionTest::dump_db($_[0], port => $ENV{TEST_NGINX_UNIX_REDIS_PORT})
    . "shared redis: " . SharedSessionTest::dbsize() . " keys\n";
}
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
shared redis: 0 keys
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: shared_session_redis with a host name (resolved when the configuration is loaded)
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis localhost:$TEST_NGINX_UNIX_REDIS_PORT;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::flush(port => $ENV{TEST_NGINX_UNIX_REDIS_PORT});
--- request
GET /s
--- response_body_filters eval
sub {
    SharedSessionTest::normalizer()->body($_[0])
    . "private redis: "
    . SharedSessionTest::dbsize(port => $ENV{TEST_NGINX_UNIX_REDIS_PORT})
    . " keys\n";
}
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
private redis: 3 keys
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: shared_session_redis_password sends AUTH
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_REDIS_PORT;
        shared_session_redis_password s3cret;
    }
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_AUTH_REDIS_PORT});
--- request
GET /s
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], port => $ENV{TEST_NGINX_AUTH_REDIS_PORT}) }
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



=== TEST 4: without the password that Redis refuses: 503 and NOAUTH in the log
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_REDIS_PORT;
    }
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_AUTH_REDIS_PORT});
--- request
GET /s
--- error_code: 503
--- response_headers
Content-Type: application/json
!Set-Cookie
--- response_body_filters eval
sub {
    $_[0] . "\nredis: "
    . SharedSessionTest::dbsize(port => $ENV{TEST_NGINX_AUTH_REDIS_PORT})
    . " keys\n";
}
--- response_body_like eval
qr/^\{"error":"session store unavailable"\}\n?\nredis: 0 keys\n\z/
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_AUTH_REDIS_PORT}\b.*NOAUTH/
--- no_error_log
[alert]
[crit]



=== TEST 5: a wrong password: 503 and WRONGPASS in the log
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_REDIS_PORT;
        shared_session_redis_password not-the-password;
    }
--- request
GET /s
--- error_code: 503
--- response_headers
!Set-Cookie
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_AUTH_REDIS_PORT}\b.*WRONGPASS/
--- no_error_log
[alert]
[crit]



=== TEST 6: shared_session_redis_username with the password authenticates as an ACL user
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis 127.0.0.1:$TEST_NGINX_ACL_REDIS_PORT;
        shared_session_redis_username alice;
        shared_session_redis_password alicepw;
    }
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_ACL_REDIS_PORT});
--- request
GET /s
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], port => $ENV{TEST_NGINX_ACL_REDIS_PORT}) }
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



=== TEST 7: the ACL user's password alone is not enough (the username must be sent)
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis 127.0.0.1:$TEST_NGINX_ACL_REDIS_PORT;
        shared_session_redis_password alicepw;
    }
--- request
GET /s
--- error_code: 503
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_ACL_REDIS_PORT}\b.*WRONGPASS/
--- no_error_log
[alert]
[crit]



=== TEST 8: another username with that password is refused
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis 127.0.0.1:$TEST_NGINX_ACL_REDIS_PORT;
        shared_session_redis_username bob;
        shared_session_redis_password alicepw;
    }
--- request
GET /s
--- error_code: 503
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_ACL_REDIS_PORT}\b.*WRONGPASS/
--- no_error_log
[alert]
[crit]



=== TEST 9: shared_session_host with variables
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /header {
        shared_session;
        shared_session_host $http_x_host;
    }
    location = /mixed {
        shared_session;
        shared_session_host "$server_name/$http_x_host";
    }
--- init
SharedSessionTest::flush();
--- request eval
["GET /header", "GET /mixed"]
--- more_headers
X-Host: container-7
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body eval
[qq(body: {"sessionId":"<new>","host":"container-7","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}\n),
 qq(body: {"sessionId":"<new>","host":"localhost/container-7","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}\n)]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: without shared_session_host the host is the machine's hostname ($hostname)
--- config
    location = /s {
        shared_session;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    }
--- init
SharedSessionTest::flush();
--- request
GET /s
--- response_body_filters eval
sub {
    require Sys::Hostname;
    my $h = lc Sys::Hostname::hostname();
    (my $b = $_[0]) =~ s/"host":"\Q$h\E"/"host":"<hostname>"/;
    SharedSessionTest::normalizer()->body($b);
}
--- response_body
body: {"sessionId":"<new>","host":"<hostname>","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: shared_session_namespace prefixes every key
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
        shared_session_namespace myapp;
    }
--- init
SharedSessionTest::flush();
--- request
GET /s
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash myapp:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string myapp:sessions:expires:<new> ttl=1800s value=""
set myapp:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: a session is read from its namespace only; the default namespace's copy is untouched
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
        shared_session_namespace myapp;
    }
--- init
SharedSessionTest::flush();
my $last = SharedSessionTest::now_ms() - 60_000;
for (['myapp', 'ns-host'], ['spring:session', 'default-ns-host']) {
    SharedSessionTest::seed_session(
        id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
        ns => $_->[0], creationTime => 1552128921707,
        lastAccessedTime => $last,
        attrs => [ 'scopedTarget.sampleSession' =>
                       SharedSessionTest::spring_attr($_->[1], 1552129074569) ]);
}
--- request
GET /s
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":"ns-host","creationTime":1552128921707,"new":false}
hash myapp:sessions:<B> ttl=2100s
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
hash spring:session:sessions:<B> ttl=seeded
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<B.last>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"default-ns-host","lastUpdatedAt":["java.util.Date",1552129074569]}
string myapp:sessions:expires:<B> ttl=1800s value=""
string spring:session:sessions:expires:<B> ttl=seeded value=""
set myapp:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<B>"
set spring:session:expirations:<bucket(B.last+1800s)> ttl=seeded
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 13: shared_session_max_inactive_interval 10m: 600 s, TTLs and bucket to match
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_host hostA;
    location = /10m {
        shared_session;
        shared_session_max_inactive_interval 10m;
    }
    location = /90s {
        shared_session;
        shared_session_max_inactive_interval 90s;
    }
    location = /1h {
        shared_session;
        shared_session_max_inactive_interval 1h;
    }
--- init
SharedSessionTest::flush();
--- request
GET /10m
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<new> ttl=900s
  creationTime=<now>
  maxInactiveInterval=600
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=600s value=""
set spring:session:expirations:<bucket(now+600s)> ttl=900s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 14: shared_session_max_inactive_interval 90s
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_host hostA;
    location = /10m {
        shared_session;
        shared_session_max_inactive_interval 10m;
    }
    location = /90s {
        shared_session;
        shared_session_max_inactive_interval 90s;
    }
    location = /1h {
        shared_session;
        shared_session_max_inactive_interval 1h;
    }
--- init
SharedSessionTest::flush();
--- request
GET /90s
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<new> ttl=390s
  creationTime=<now>
  maxInactiveInterval=90
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=90s value=""
set spring:session:expirations:<bucket(now+90s)> ttl=390s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 15: shared_session_max_inactive_interval 1h
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_host hostA;
    location = /10m {
        shared_session;
        shared_session_max_inactive_interval 10m;
    }
    location = /90s {
        shared_session;
        shared_session_max_inactive_interval 90s;
    }
    location = /1h {
        shared_session;
        shared_session_max_inactive_interval 1h;
    }
--- init
SharedSessionTest::flush();
--- request
GET /1h
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<new> ttl=3900s
  creationTime=<now>
  maxInactiveInterval=3600
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=3600s value=""
set spring:session:expirations:<bucket(now+3600s)> ttl=3900s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 16: shared_session_attribute and shared_session_attribute_class name the field and its @class
The previous host is read from the configured attribute; the sample
attribute of another application is left alone.
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
        shared_session_attribute cartOwner;
        shared_session_attribute_class com.example.shop.CartOwner;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707,
    attrs => [
        'scopedTarget.sampleSession' =>
            SharedSessionTest::spring_attr('sample-host', 1552129074569),
        'cartOwner' =>
            SharedSessionTest::spring_attr('cart-host', 1552129074570,
                                           'com.example.shop.CartOwner'),
    ]);
--- request
GET /s
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":"cart-host","creationTime":1552128921707,"new":false}
hash spring:session:sessions:<B> ttl=2100s
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:cartOwner={"@class":"com.example.shop.CartOwner","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"sample-host","lastUpdatedAt":["java.util.Date",1552129074569]}
string spring:session:sessions:expires:<B> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 17: shared_session_attribute for a new session
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
        shared_session_attribute cartOwner;
        shared_session_attribute_class com.example.shop.CartOwner;
    }
--- init
SharedSessionTest::flush();
--- request
GET /s
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:cartOwner={"@class":"com.example.shop.CartOwner","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 18: shared_session_cookie_name: the new cookie has that name
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_host hostA;
    location = /named {
        shared_session;
        shared_session_cookie_name JSESSIONID2;
    }
--- init
SharedSessionTest::flush();
--- request
GET /index.html
--- response_body_filters eval
sub {
    SharedSessionTest::normalizer()->response(
        SharedSessionTest::http_request(GET => '/named'));
}
--- response_body
status: 200
set-cookie: JSESSIONID2=<b64 new>; Path=/; HttpOnly; SameSite=Lax
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 19: shared_session_cookie_name: only a cookie of that name is read
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_host hostA;
    location = /named {
        shared_session;
        shared_session_cookie_name JSESSIONID2;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
SharedSessionTest::seed_session(
    id => '33fdd1b6-b496-4b33-9f7d-df96679d32fe', label => 'A',
    creationTime => 1552128921707);
--- request
GET /named
--- more_headers
Cookie: SESSION=MzNmZGQxYjYtYjQ5Ni00YjMzLTlmN2QtZGY5NjY3OWQzMmZl; JSESSIONID2=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_headers
!Set-Cookie
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 20: cookie path, domain and secure on, in Spring's attribute order
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_cookie_path /app;
        shared_session_cookie_domain example.com;
        shared_session_cookie_secure on;
    }
--- init
SharedSessionTest::flush();
--- request
GET /s
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Domain=example\.com; Path=/app; Secure; HttpOnly; SameSite=Lax
--- no_error_log
[error]
[alert]
[crit]



=== TEST 21: shared_session_cookie_httponly off drops HttpOnly
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_cookie_httponly off;
    }
--- init
SharedSessionTest::flush();
--- request
GET /s
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; SameSite=Lax
--- no_error_log
[error]
[alert]
[crit]



=== TEST 22: shared_session_cookie_samesite Strict, None and off
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_host hostA;
    location = /strict {
        shared_session;
        shared_session_cookie_samesite Strict;
    }
    location = /none {
        shared_session;
        shared_session_cookie_samesite None;
    }
    location = /off {
        shared_session;
        shared_session_cookie_samesite off;
    }
--- init
SharedSessionTest::flush();
--- request eval
["GET /strict", "GET /none", "GET /off"]
--- response_headers_like eval
["Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Strict",
 "Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=None",
 "Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 23: shared_session_cookie_secure auto adds Secure over TLS; off never does
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name tls.test;
        ssl_certificate $TEST_NGINX_CERT_DIR/cert.pem;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/key.pem;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
        shared_session_host tls-host;
        location = /auto {
            shared_session;
        }
        location = /off {
            shared_session;
            shared_session_cookie_secure off;
        }
    }
--- config
    location = /tls/auto {
        proxy_pass https://127.0.0.1:$TEST_NGINX_TLS_PORT/auto;
    }
    location = /tls/off {
        proxy_pass https://127.0.0.1:$TEST_NGINX_TLS_PORT/off;
    }
    location = /plain/auto {
        shared_session;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
        shared_session_host plain-host;
    }
--- init
SharedSessionTest::flush();
--- request eval
["GET /tls/auto", "GET /tls/off", "GET /plain/auto"]
--- response_headers_like eval
["Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; Secure; HttpOnly; SameSite=Lax",
 "Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax",
 "Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax"]
--- response_body_like eval
['"host":"tls-host"', '"host":"tls-host"', '"host":"plain-host"']
--- no_error_log
[error]
[alert]
[crit]



=== TEST 24: inheritance: a location without directives takes the server's, which override http's
http: namespace, host, attribute, cookie name, Redis; server: host, SameSite.
--- http_config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_namespace inh;
    shared_session_host from-http;
    shared_session_attribute httpAttr;
    shared_session_cookie_name HTTPSESS;
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name other.test;
        location = /srv {
            shared_session;
        }
    }
--- config
    shared_session_host from-server;
    shared_session_cookie_samesite Strict;
    location = /srv {
        shared_session;
    }
    location = /loc {
        shared_session;
        shared_session_attribute locAttr;
        shared_session_max_inactive_interval 5m;
    }
--- init
SharedSessionTest::flush();
--- request
GET /srv
--- response_headers_like
Set-Cookie: HTTPSESS=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Strict
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"from-server","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash inh:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:httpAttr={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"from-server","lastUpdatedAt":["java.util.Date",<now>]}
string inh:sessions:expires:<new> ttl=1800s value=""
set inh:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 25: inheritance: a location's own directives override the server's
--- http_config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_namespace inh;
    shared_session_host from-http;
    shared_session_attribute httpAttr;
    shared_session_cookie_name HTTPSESS;
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name other.test;
        location = /srv {
            shared_session;
        }
    }
--- config
    shared_session_host from-server;
    shared_session_cookie_samesite Strict;
    location = /srv {
        shared_session;
    }
    location = /loc {
        shared_session;
        shared_session_attribute locAttr;
        shared_session_max_inactive_interval 5m;
    }
--- init
SharedSessionTest::flush();
--- request
GET /loc
--- response_headers_like
Set-Cookie: HTTPSESS=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Strict
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"from-server","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash inh:sessions:<new> ttl=600s
  creationTime=<now>
  maxInactiveInterval=300
  lastAccessedTime=<now>
  sessionAttr:locAttr={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"from-server","lastUpdatedAt":["java.util.Date",<now>]}
string inh:sessions:expires:<new> ttl=300s value=""
set inh:expirations:<bucket(now+300s)> ttl=600s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 26: inheritance: another server without directives takes http's
--- http_config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_namespace inh;
    shared_session_host from-http;
    shared_session_attribute httpAttr;
    shared_session_cookie_name HTTPSESS;
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name other.test;
        location = /srv {
            shared_session;
        }
    }
--- config
    shared_session_host from-server;
    shared_session_cookie_samesite Strict;
    location = /srv {
        shared_session;
    }
    location = /loc {
        shared_session;
        shared_session_attribute locAttr;
        shared_session_max_inactive_interval 5m;
    }
--- init
SharedSessionTest::flush();
--- request
GET /srv
--- more_headers
Host: other.test
--- response_headers_like
Set-Cookie: HTTPSESS=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"from-http","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash inh:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:httpAttr={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"from-http","lastUpdatedAt":["java.util.Date",<now>]}
string inh:sessions:expires:<new> ttl=1800s value=""
set inh:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 27: shared_session_redis_database selects the database
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
        shared_session_redis_database 3;
    }
--- init
SharedSessionTest::flush();
--- request
GET /s
--- response_body_filters eval
sub {
    SharedSessionTest::dump_db($_[0], db => 3)
    . "db 0: " . SharedSessionTest::dbsize(db => 0) . " keys\n";
}
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
db 0: 0 keys
--- no_error_log
[error]
[alert]
[crit]



=== TEST 28: a session is looked up in the configured database only
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
        shared_session_redis_database 3;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B', db => 3,
    creationTime => 1552128921707,
    attrs => [ 'scopedTarget.sampleSession' =>
                   SharedSessionTest::spring_attr('db3-host', 1552129074569) ]);
--- request
GET /s
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":"db3-host","creationTime":1552128921707,"new":false}
--- no_error_log
[error]
[alert]
[crit]
