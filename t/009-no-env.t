# Neither shared_session_redis nor REDIS_CLUSTER_ENDPOINT: 127.0.0.1:6379.
# A private redis-server takes that address; skipped when 6379 is taken.

use lib 't/inc';
use SharedSessionTest;

BEGIN {
    delete $ENV{REDIS_CLUSTER_ENDPOINT};
    delete $ENV{REDIS_CLUSTER_PORT};
}

use Test::Nginx::Socket;

if (SharedSessionTest::port_in_use(6379)) {
    plan(skip_all => 'port 6379 is in use');
} else {
    plan('no_plan');
}

no_shuffle();
no_long_string();
log_level('info');
timeout(5);

SharedSessionTest::start_redis(port => 6379);

run_tests();

__DATA__

=== TEST 1: the default address is 127.0.0.1:6379
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
    }
--- init
SharedSessionTest::flush(port => 6379);
--- request
GET /s
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
