# nginx and the real Spring Boot application share one session (issue 13),
# for each Spring configuration of t/spring (built by "make spring"): the
# seed's app ("seed": Boot 2.7, indexed repository, the seed's JSON
# serializer), Boot 2.7 with Spring's default JDK serialization
# ("boot2-default"), Boot 3.5 with the indexed repository and the JSON
# serializer ("boot3-indexed"), Boot 3.5 as it comes (RedisSessionRepository,
# JDK: "boot3-default"), and Boot 3.5 indexed with Spring Session's sorted
# set of expirations ("boot3-indexed-zset").  One private redis-server with
# notify-keyspace-events Egx (what the README tells ElastiCache users), one
# app at a time (started for the first block of its configuration, kept
# for the others), nginx with the module configured for that Spring setup
# (%SpringTest::NGINX: the one place for those directives).  One cookie jar,
# as a browser's: nginx serves /1 (host nginx-1), Spring /2 (host spring-1).
#
# For each configuration:
#  spring_only         Spring alone (no directive of the module needed):
#                      the checks below and the other transcripts hold for
#                      what Spring itself writes
#  alternation nginx   a session nginx created, taken over by Spring, then
#                      nginx again, 10 rounds: same id and creationTime,
#                      previousHost the other side, no second session,
#                      lastAccessedTime growing; Spring's SessionCreatedEvent
#                      for it (indexed)
#  alternation spring  the same, Spring first
#  invalidate_by_nginx nginx's /invalidateSession ends a Spring session: what
#                      nginx wrote with the app frozen (shadow key, principal
#                      index, invalidation bucket, sorted set), then Spring's
#                      SessionDeletedEvent (indexed) and its principal index,
#                      the old cookie gets a new session from Spring
#  invalidate_by_spring Spring's /invalidateSession ends a session nginx
#                      created: nginx gives the old cookie a new session,
#                      which Spring takes over (and heard created: indexed)
#  other_serializer    a live hash written by the other serializer (JDK for
#                      the JSON configurations, JSON for the JDK ones): a
#                      503 or a new session, the hash left byte for byte,
#                      a log line naming it
#  principal_at_edge   Spring names a session's principal (a login); nginx's
#                      shared_session_require lets it through and reads the
#                      principal from Spring's bytes; no session: 401
#
# After each answer with a session the Redis side is checked
# (SpringTest::Scenario::check_redis: the fields, each in the
# configuration's format, and the keys its repository keeps); each block
# prints (diag) the Redis state it ends with.
#
# What the module does not do yet:
#  - a configuration whose directives nginx -t rejects: its blocks are
#    skipped, nginx's message in the skip's name; they run by themselves
#    once the module accepts the directives;
#  - what has no directive of its own (the created event, the principal
#    index and the invalidation bucket on nginx's invalidation): TODO tests
#    while nginx -t rejects the directive of %SpringTest::FEATURE, real
#    tests after.
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

=== TEST 1: seed: Spring alone writes what the checks expect
--- scenario: seed spring_only



=== TEST 2: seed: nginx creates, Spring takes over, 10 rounds
--- scenario: seed alternation nginx 10



=== TEST 3: seed: Spring creates, nginx takes over, 10 rounds
--- scenario: seed alternation spring 10



=== TEST 4: seed: nginx's /invalidateSession ends a Spring session
--- scenario: seed invalidate_by_nginx



=== TEST 5: seed: Spring's /invalidateSession ends a session nginx created
--- scenario: seed invalidate_by_spring



=== TEST 6: seed: a hash written by JDK serialization is never mixed
--- scenario: seed other_serializer



=== TEST 7: boot2-default: Spring alone writes what the checks expect
--- scenario: boot2-default spring_only



=== TEST 8: boot2-default: nginx creates, Spring takes over, 10 rounds
--- scenario: boot2-default alternation nginx 10



=== TEST 9: boot2-default: Spring creates, nginx takes over, 10 rounds
--- scenario: boot2-default alternation spring 10



=== TEST 10: boot2-default: nginx's /invalidateSession ends a Spring session
--- scenario: boot2-default invalidate_by_nginx



=== TEST 11: boot2-default: Spring's /invalidateSession ends a session nginx created
--- scenario: boot2-default invalidate_by_spring



=== TEST 12: boot2-default: a hash written by the JSON serializer is never mixed
--- scenario: boot2-default other_serializer



=== TEST 13: boot3-indexed: Spring alone writes what the checks expect
--- scenario: boot3-indexed spring_only



=== TEST 14: boot3-indexed: nginx creates, Spring takes over, 10 rounds
--- scenario: boot3-indexed alternation nginx 10



=== TEST 15: boot3-indexed: Spring creates, nginx takes over, 10 rounds
--- scenario: boot3-indexed alternation spring 10



=== TEST 16: boot3-indexed: nginx's /invalidateSession ends a Spring session
--- scenario: boot3-indexed invalidate_by_nginx



=== TEST 17: boot3-indexed: Spring's /invalidateSession ends a session nginx created
--- scenario: boot3-indexed invalidate_by_spring



=== TEST 18: boot3-indexed: a hash written by JDK serialization is never mixed
--- scenario: boot3-indexed other_serializer



=== TEST 19: boot3-default: Spring alone writes what the checks expect
--- scenario: boot3-default spring_only



=== TEST 20: boot3-default: nginx creates, Spring takes over, 10 rounds
--- scenario: boot3-default alternation nginx 10



=== TEST 21: boot3-default: Spring creates, nginx takes over, 10 rounds
--- scenario: boot3-default alternation spring 10



=== TEST 22: boot3-default: nginx's /invalidateSession ends a Spring session
--- scenario: boot3-default invalidate_by_nginx



=== TEST 23: boot3-default: Spring's /invalidateSession ends a session nginx created
--- scenario: boot3-default invalidate_by_spring



=== TEST 24: boot3-default: a hash written by the JSON serializer is never mixed
--- scenario: boot3-default other_serializer



=== TEST 25: boot3-indexed-zset: Spring alone writes what the checks expect
--- scenario: boot3-indexed-zset spring_only



=== TEST 26: boot3-indexed-zset: nginx creates, Spring takes over, 10 rounds
--- scenario: boot3-indexed-zset alternation nginx 10



=== TEST 27: boot3-indexed-zset: Spring creates, nginx takes over, 10 rounds
--- scenario: boot3-indexed-zset alternation spring 10



=== TEST 28: boot3-indexed-zset: nginx's /invalidateSession ends a Spring session
--- scenario: boot3-indexed-zset invalidate_by_nginx



=== TEST 29: boot3-indexed-zset: Spring's /invalidateSession ends a session nginx created
--- scenario: boot3-indexed-zset invalidate_by_spring



=== TEST 30: boot3-indexed-zset: a hash written by JDK serialization is never mixed
--- scenario: boot3-indexed-zset other_serializer



=== TEST 31: seed: Spring's login, nginx's shared_session_require reads the principal
--- scenario: seed principal_at_edge



=== TEST 32: boot2-default: Spring's login (JDK serialization), nginx's shared_session_require reads the principal
--- scenario: boot2-default principal_at_edge



=== TEST 33: boot3-indexed: Spring's login, nginx's shared_session_require reads the principal
--- scenario: boot3-indexed principal_at_edge



=== TEST 34: boot3-default: Spring's login (JDK serialization, RedisSessionRepository), nginx's shared_session_require reads the principal
--- scenario: boot3-default principal_at_edge
