# A configuration reload (nginx -s reload: SIGHUP to the master) must leave
# the module working in the new workers.  The master frees the previous
# configuration cycle at once; MALLOC_PERTURB_ fills freed memory with
# garbage, which makes a pointer left into it more likely to fail here.

use lib 't/inc';
use SharedSessionTest;

BEGIN {
    $ENV{MALLOC_PERTURB_} = 165;
}

use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(5);
master_on();
workers(1);

$ENV{TEST_NGINX_UNIX_REDIS_PORT} = SharedSessionTest::start_redis(
    unixsocket => 1);
$ENV{TEST_NGINX_UNIX_REDIS_SOCK} =
    SharedSessionTest::redis_socket($ENV{TEST_NGINX_UNIX_REDIS_PORT});

run_tests();

__DATA__

=== TEST 1: before any reload
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_host hostA;
    location = /a {
        shared_session;
    }
    location = /fast {
        shared_session;
        shared_session_redis_timeout 300ms;
        shared_session_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    }
    location = /unix {
        shared_session;
        shared_session_redis unix:$TEST_NGINX_UNIX_REDIS_SOCK;
    }
    location = /logout {
        shared_session_invalidate;
    }
--- init
SharedSessionTest::flush();
--- request eval
["GET /a", "GET /fast", "GET /unix", "GET /logout"]
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code eval
[200, 200, 200, 302]
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 2: after two reloads every Redis address still works in the new workers
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_host hostA;
    location = /a {
        shared_session;
    }
    location = /fast {
        shared_session;
        shared_session_redis_timeout 300ms;
        shared_session_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    }
    location = /unix {
        shared_session;
        shared_session_redis unix:$TEST_NGINX_UNIX_REDIS_SOCK;
    }
    location = /logout {
        shared_session_invalidate;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B');
SharedSessionTest::hup_nginx() for 1 .. 2;
--- request eval
["GET /a", "GET /fast", "GET /unix", "GET /logout"]
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code eval
[200, 200, 200, 302]
--- response_body_like eval
['"sessionId":"e1237df7-5646-4382-aa12-41435ed09dc7"',
 '"sessionId":"e1237df7-5646-4382-aa12-41435ed09dc7"',
 '"new":true', '']
--- no_error_log
[error]
[alert]
[crit]
exited on signal
