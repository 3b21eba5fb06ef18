# Expiry shared by nginx and the real Spring Boot app (issue 13), for each
# configuration of t/spring (see t/050): nginx creates sessions with
# "shared_session_max_inactive_interval 2s" in two browsers, A and B, on a
# private redis-server with notify-keyspace-events Egx.
#
#  - Spring takes A over 1.3 s after nginx's last access: still live in
#    its eyes, and it keeps nginx's interval;
#  - B's time (its lastAccessedTime + 2 s) passes: the indexed
#    repositories' app receives SessionExpiredEvent for it at that time
#    (Redis expires the shadow key, its keyspace notification reaches the
#    app); with Boot 3's default repository Redis deletes the hash itself
#    at that time (PEXPIREAT);
#  - Spring then gives B's browser a new session (B expired in its eyes);
#  - A expires 2 s after Spring's touch, and nginx then gives A's browser a
#    new session.
#
# "At its time": not before lastAccessedTime + interval, and at most
# SpringTest::Scenario's $EXPIRY_SLACK_MS (1.5 s) later (Redis's active
# expiry runs 10 times a second; the notification, the app's listener).
# After each answer the Redis side is checked as in t/050; each block
# prints (diag) the Redis state it ends with.  A configuration whose
# directives nginx -t rejects is skipped, nginx's message in the skip.
#
# Skipped when the jars are not built ("make spring").

use lib 't/inc';
use SharedSessionTest;
use SpringTest;
BEGIN { SpringTest::skip_all_unless_built(keys %SpringTest::CONFIG) }
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(10);

my $redis = SharedSessionTest::start_redis(
    conf => [ 'notify-keyspace-events Egx' ]);

add_block_preprocessor(sub {
    SpringTest::Blocks::fill($_[0],
        redis => [ "127.0.0.1:$redis" ],
        app => { redis_port => $redis },
        scenario => { redis_port => $redis });
});

run_tests();

__DATA__

=== TEST 1: seed: sessions of 2 s nginx created expire in Spring's eyes at their time
--- scenario: seed expiry



=== TEST 2: boot2-default: sessions of 2 s nginx created expire in Spring's eyes at their time
--- scenario: boot2-default expiry



=== TEST 3: boot3-indexed: sessions of 2 s nginx created expire in Spring's eyes at their time
--- scenario: boot3-indexed expiry



=== TEST 4: boot3-default: sessions of 2 s nginx created expire in Spring's eyes at their time
--- scenario: boot3-default expiry



=== TEST 5: boot3-indexed-zset: sessions of 2 s nginx created expire in Spring's eyes at their time
--- scenario: boot3-indexed-zset expiry
