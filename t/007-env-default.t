# Without shared_session_redis the address comes from REDIS_CLUSTER_ENDPOINT
# and REDIS_CLUSTER_PORT, read when the configuration is loaded (here: set
# before nginx starts, as an ECS task definition would).  The directive
# wins over the environment.

use lib 't/inc';
use SharedSessionTest;

BEGIN {
    $ENV{REDIS_CLUSTER_ENDPOINT} = $ENV{TEST_NGINX_REDIS_HOST};
    $ENV{REDIS_CLUSTER_PORT} = $ENV{TEST_NGINX_REDIS_PORT};
}

use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(5);

$ENV{TEST_NGINX_DEAD_PORT} = SharedSessionTest::free_port();

run_tests();

__DATA__

=== TEST 1: the environment's endpoint and port are used
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
    }
    location = /logout {
        shared_session_invalidate;
    }
    location = /explicit {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
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
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: invalidate uses the same default address
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
    }
    location = /logout {
        shared_session_invalidate;
    }
    location = /explicit {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
GET /logout
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



=== TEST 3: an explicit shared_session_redis overrides the environment
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
    }
    location = /logout {
        shared_session_invalidate;
    }
    location = /explicit {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- request
GET /explicit
--- error_code: 503
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_DEAD_PORT}\b.*Connection refused/
--- no_error_log
[alert]
[crit]
