# The default Redis port 6379: REDIS_CLUSTER_ENDPOINT without
# REDIS_CLUSTER_PORT, and shared_session_redis with a host only.  A private
# redis-server listens on 127.0.0.2:6379 only, so that the default address
# 127.0.0.1:6379 cannot be what answers.  Skipped when 6379 is taken.

use lib 't/inc';
use SharedSessionTest;

BEGIN {
    $ENV{REDIS_CLUSTER_ENDPOINT} = '127.0.0.2';
    delete $ENV{REDIS_CLUSTER_PORT};
}

use Test::Nginx::Socket;

if (SharedSessionTest::port_in_use(6379)
    || SharedSessionTest::port_in_use(6379, '127.0.0.2'))
{
    plan(skip_all => 'port 6379 is in use');
} else {
    plan('no_plan');
}

no_shuffle();
no_long_string();
log_level('info');
timeout(5);

SharedSessionTest::start_redis(port => 6379, bind => '127.0.0.2');

run_tests();

__DATA__

=== TEST 1: REDIS_CLUSTER_ENDPOINT without REDIS_CLUSTER_PORT means port 6379
--- config
    shared_session_host hostA;
    location = /env {
        shared_session;
    }
    location = /host-only {
        shared_session;
        shared_session_redis 127.0.0.2;
    }
--- init
SharedSessionTest::flush(port => 6379);
--- request
GET /env
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], port => 6379) }
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



=== TEST 2: shared_session_redis with a host and no port means port 6379
--- config
    shared_session_host hostA;
    location = /env {
        shared_session;
    }
    location = /host-only {
        shared_session;
        shared_session_redis 127.0.0.2;
    }
--- init
SharedSessionTest::flush(port => 6379);
--- request
GET /host-only
--- response_body_filters eval
sub {
    SharedSessionTest::normalizer()->body($_[0])
    . 'redis: ' . SharedSessionTest::dbsize(port => 6379) . " keys\n";
}
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
redis: 3 keys
--- no_error_log
[error]
[alert]
[crit]
