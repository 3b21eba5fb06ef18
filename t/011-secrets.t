# shared_session_redis_password env:NAME takes the AUTH secret from the
# environment nginx was started with, so that it need not be written in the
# configuration; the secret never appears in the error log, even when AUTH
# fails.

use lib 't/inc';
use SharedSessionTest;

BEGIN {
    $ENV{SS_TEST_REDIS_SECRET} = 'env-s3cret';
    $ENV{SS_TEST_WRONG_SECRET} = 'not-the-s3cret';
}

use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('debug');
timeout(5);

$ENV{TEST_NGINX_AUTH_REDIS_PORT} = SharedSessionTest::start_redis(
    conf => ['requirepass env-s3cret'], auth => ['env-s3cret']);

run_tests();

__DATA__

=== TEST 1: the password comes from the environment variable
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_REDIS_PORT;
        shared_session_redis_password env:SS_TEST_REDIS_SECRET;
    }
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_AUTH_REDIS_PORT});
--- request
GET /s
--- response_body_filters eval
sub {
    SharedSessionTest::normalizer()->body($_[0])
    . "private redis: "
    . SharedSessionTest::dbsize(port => $ENV{TEST_NGINX_AUTH_REDIS_PORT})
    . " keys\n";
}
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
private redis: 3 keys
--- no_error_log
[error]
env-s3cret



=== TEST 2: a wrong secret from the environment: 503, the cause, not the secret
--- config
    location = /s {
        shared_session;
        shared_session_host hostA;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_REDIS_PORT;
        shared_session_redis_password env:SS_TEST_WRONG_SECRET;
    }
--- request
GET /s
--- error_code: 503
--- response_body chomp
{"error":"session store unavailable"}
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:\d+ AUTH failed: WRONGPASS/
--- no_error_log
not-the-s3cret
env-s3cret
[alert]
