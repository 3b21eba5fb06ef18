# Redis unreachable, stopped, restarted, paused (slow past the timeout),
# answering errors, and a client that leaves while its reply is pending.
# Every case runs against a private redis-server of this file; the shared
# one is not disturbed.  After a failure the module retries with a backoff
# capped at 1 s, so "Redis is back" blocks wait 1.2 s first.

use lib 't/inc';
use SharedSessionTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(5);

$ENV{TEST_NGINX_FAULT_REDIS_PORT} = SharedSessionTest::start_redis();
$ENV{TEST_NGINX_DEAD_PORT} = SharedSessionTest::free_port();

run_tests();

__DATA__

=== TEST 1: nothing listens at the Redis address: 503 with the JSON error, one error line, no crash
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
    }
    location = /fast {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
        shared_session_redis_timeout 300ms;
    }
    location = /dead {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- request eval
["GET /dead", "GET /dead"]
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code eval
[503, 503]
--- response_headers eval
["Content-Type: application/json\n!Set-Cookie", "Content-Type: application/json\n!Set-Cookie"]
--- response_body_like eval
[qr/^\{"error":"session store unavailable"\}\n?\z/,
 qr/^\{"error":"session store unavailable"\}\n?\z/]
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_DEAD_PORT}\b.*Connection refused/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 2: the private Redis works (and the module is connected to it)
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
    }
    location = /fast {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
        shared_session_redis_timeout 300ms;
    }
    location = /dead {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_REDIS_PORT});
--- request
GET /s
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: Redis stopped: 503, an error line naming its address, no crash
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
    }
    location = /fast {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
        shared_session_redis_timeout 300ms;
    }
    location = /dead {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- init
SharedSessionTest::stop_redis($ENV{TEST_NGINX_FAULT_REDIS_PORT});
--- request
GET /s
--- error_code: 503
--- response_headers
Content-Type: application/json
!Set-Cookie
--- response_body_like eval
qr/^\{"error":"session store unavailable"\}\n?\z/
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAULT_REDIS_PORT}\b/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 4: Redis back: after the backoff the module reconnects and works
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
    }
    location = /fast {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
        shared_session_redis_timeout 300ms;
    }
    location = /dead {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- init
SharedSessionTest::restart_redis($ENV{TEST_NGINX_FAULT_REDIS_PORT});
Time::HiRes::sleep(1.2);
--- request
GET /s
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0], port => $ENV{TEST_NGINX_FAULT_REDIS_PORT}) }
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



=== TEST 5: after recovering, requests are served without errors
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
    }
    location = /fast {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
        shared_session_redis_timeout 300ms;
    }
    location = /dead {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- request eval
["GET /s", "GET /s", "GET /s"]
--- error_code eval
[200, 200, 200]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: Redis slower than shared_session_redis_timeout (paused): 503 within the timeout, then at once during the backoff
The second request is sent by the filter the moment the first answer is
read: between two requests of the driver, its own work can outlast the
100 ms backoff (seen under the real Test::Nginx on a loaded machine), and
the second request would then rightly try Redis again.
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
    }
    location = /fast {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
        shared_session_redis_timeout 300ms;
    }
    location = /dead {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- init
SharedSessionTest::pause_redis($ENV{TEST_NGINX_FAULT_REDIS_PORT});
SharedSessionTest::mark();
--- request
GET /fast
--- error_code: 503
--- response_headers
Content-Type: application/json
!Set-Cookie
--- response_body_filters eval
sub {
    my $e = SharedSessionTest::elapsed();
    my $out = $_[0] . ($e >= 0.25 && $e < 1.3
                       ? "\nin time\n" : sprintf("\nanswered after %.3f s\n", $e));
    SharedSessionTest::mark();
    my $r = SharedSessionTest::http_request(GET => '/fast');
    $e = SharedSessionTest::elapsed();
    $out .= "again: $r->{status} $r->{body}"
            . ($r->{headers}{'set-cookie'} ? "\nwith a Set-Cookie\n" : '')
            . ($e < 0.2 ? "\nat once\n" : sprintf("\nanswered after %.3f s\n", $e));
    return $out;
}
--- response_body_like eval
qr/^\{"error":"session store unavailable"\}\n?\nin time\nagain: 503 \{"error":"session store unavailable"\}\n?\nat once\n\z/
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAULT_REDIS_PORT}\b.*timed out/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 7: Redis answering again after the pause: the module recovers
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
    }
    location = /fast {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
        shared_session_redis_timeout 300ms;
    }
    location = /dead {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- init
SharedSessionTest::resume_redis($ENV{TEST_NGINX_FAULT_REDIS_PORT});
Time::HiRes::sleep(1.2);
--- request eval
["GET /fast", "GET /s"]
--- error_code eval
[200, 200]
--- response_body_like eval
['"new":true', '"new":true']
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: a Redis error reply gives 503, is logged, and nothing is written
The expiration buckets a new session would go to hold strings, so the
session script answers WRONGTYPE before writing anything.
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
    }
    location = /fast {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
        shared_session_redis_timeout 300ms;
    }
    location = /dead {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_REDIS_PORT});
my $now = SharedSessionTest::now_ms();
SharedSessionTest::seed_key(
    string => 'spring:session:expirations:'
              . SharedSessionTest::bucket_ms($now + $_, 1800),
    'not a set', { port => $ENV{TEST_NGINX_FAULT_REDIS_PORT} })
    for 0, 60_000;
--- request
GET /s
--- error_code: 503
--- response_headers
Content-Type: application/json
!Set-Cookie
--- response_body_filters eval
sub {
    $_[0] . "\n"
    . SharedSessionTest::seeds_status(port => $ENV{TEST_NGINX_FAULT_REDIS_PORT})
    . SharedSessionTest::dbsize(port => $ENV{TEST_NGINX_FAULT_REDIS_PORT})
    . " keys\n";
}
--- response_body_like eval
qr/^\{"error":"session store unavailable"\}\n?\nseeds untouched\n2 keys\n\z/
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAULT_REDIS_PORT}\b.*WRONGTYPE/
--- no_error_log
[alert]
[crit]



=== TEST 9: the connection is still usable after an error reply
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
    }
    location = /fast {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
        shared_session_redis_timeout 300ms;
    }
    location = /dead {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_REDIS_PORT});
--- request
GET /s
--- response_body_like: "new":true
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: a client that leaves while its Redis reply is pending does not crash the worker
In --- init: pause Redis, send a request and close the connection, let Redis
answer; then the block's own request must be served by the same nginx.
--- config
    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
    }
    location = /fast {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAULT_REDIS_PORT;
        shared_session_redis_timeout 300ms;
    }
    location = /dead {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_FAULT_REDIS_PORT});
# warm the connection (with the real Test::Nginx nginx was just restarted)
SharedSessionTest::http_request(GET => '/s');
SharedSessionTest::pause_redis($ENV{TEST_NGINX_FAULT_REDIS_PORT});
for (1 .. 3) {
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => SharedSessionTest::server_port())
        or die "connect: $!";
    print $c "GET /s HTTP/1.1\r\nHost: localhost\r\n\r\n";
    Time::HiRes::sleep(0.05);
    close $c;
}
SharedSessionTest::resume_redis($ENV{TEST_NGINX_FAULT_REDIS_PORT});
Time::HiRes::sleep(0.3);
--- request
GET /s
--- response_body_like: "new":true
--- no_error_log
[alert]
[crit]
exited on signal
