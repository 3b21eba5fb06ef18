# The connection layer's memory (issues #12 part 4, #16 item 1): command
# records come from a per-server free list and replies from a per-server
# arena, both reused request after request, and both bounded:
#
#   records   a burst of commands (Redis paused, 400 clients gone) leaves
#             at most 128 records on the free list once it is answered;
#             the others go back to the heap (a debug line says how many)
#   arena     a reply with a 1 MB string grows the reply arena; once it
#             was handled, what is beyond 64 KB of empty blocks goes back
#             to the heap (a debug line says how much)
#
# valgrind (TEST_NGINX_USE_VALGRIND=1) checks that nothing of either
# leaks at exit; the heap allocations per request are measured apart (the
# report of issue #16).

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(30);
worker_connections(1024);

$ENV{TEST_NGINX_QUEUE_PORT} = SharedSessionTest::start_redis();

my $config = <<'EOF';
    location = /queue {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_QUEUE_PORT;
        shared_session_redis_timeout 20s;
    }
    location = /status {
        stub_status;
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
});

run_tests();

__DATA__

=== TEST 1: a burst of 400 commands: once answered, 128 records stay on the free list, the rest go back to the heap
--- log_level: debug
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_QUEUE_PORT});
FaultTest::http(GET => '/queue');    # a working connection
SharedSessionTest::pause_redis($ENV{TEST_NGINX_QUEUE_PORT});
FaultTest::abort_many(400, 32, '/status', GET => '/queue');
SharedSessionTest::resume_redis($ENV{TEST_NGINX_QUEUE_PORT});
FaultTest::poll_until('/queue', 200, 10);
--- request
GET /queue
--- response_body_like: "new":true
--- error_log eval
qr/shared session: redis 127\.0\.0\.1:\d+: 128 command records kept, [1-9]\d* freed/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 2: a reply with a 1 MB string: once handled, the arena gives back all but 64 KB
The touch script answers the session's previous attribute, here 1 MB.
--- log_level: debug
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_QUEUE_PORT});
SharedSessionTest::seed_session(
    port  => $ENV{TEST_NGINX_QUEUE_PORT},
    id    => 'e1237df7-5646-4382-aa12-41435ed09dc7',
    attrs => [ 'scopedTarget.sampleSession' =>
               '{"@class":"org.debugroom.mynavi.sample.aws.elasticache.app'
               . '.web.model.SampleSession","host":"' . ('h' x (1 << 20))
               . '","lastUpdatedAt":["java.util.Date",1700000000000]}' ]);
--- request
GET /queue
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_like: "new":false
--- error_log eval
qr/shared session: redis 127\.0\.0\.1:\d+: reply arena: 1\d{6} bytes freed, \d{1,5} kept/
--- no_error_log
[alert]
[crit]
exited on signal
