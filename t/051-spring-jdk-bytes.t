# SpringTest's JDK serialization against the real Spring Boot app
# (configuration boot2-default: Spring's default JdkSerializationRedisSerializer):
#
#  - what SpringTest::jdk_long, jdk_integer and jdk_sample_session produce
#    is byte for byte what Spring writes for creationTime,
#    maxInactiveInterval and the seed's SampleSession (serialVersionUID
#    2326897810215790710, the one the JVM computes for the seed's class);
#  - a session seeded with them (non-ASCII host, a String attribute) is
#    read by Spring: same id and creationTime, previousHost decoded;
#  - SpringTest::jdk_decode reads all of it back.
#
# Other tests seed JDK-serialized sessions with these helpers, so they must
# be the real bytes.  Skipped when the jars are not built ("make spring").

use strict;
use warnings;

use lib 't/inc';
use SharedSessionTest;
use SpringTest;
BEGIN { SpringTest::skip_all_unless_built('boot2-default') }
use Test::More;

my $port = SharedSessionTest::start_redis();
my $app = SpringTest->start(config => 'boot2-default', host => 'spring-1',
                            redis_port => $port);
my $ATTR = 'sessionAttr:scopedTarget.sampleSession';

# what Spring writes
my $c = SpringTest::Client->new;
my $r = $c->get($app->port, '/2');
is($r->{status}, 200, 'Spring creates a session');
my $j = $r->{json};
my $h = SpringTest::session_hash($j->{sessionId}, port => $port);
is(SpringTest::escape($h->{creationTime}),
   SpringTest::escape(SpringTest::jdk_long($j->{creationTime})),
   'creationTime: jdk_long gives Spring\'s bytes');
is(SpringTest::escape($h->{maxInactiveInterval}),
   SpringTest::escape(SpringTest::jdk_integer(1800)),
   'maxInactiveInterval: jdk_integer gives Spring\'s bytes');
is(SpringTest::escape($h->{$ATTR}),
   SpringTest::escape(SpringTest::jdk_sample_session('spring-1',
                                                     $j->{lastUpdatedAt})),
   'SampleSession: jdk_sample_session gives Spring\'s bytes');
is(SpringTest::value_text($h->{$ATTR}),
   'jdk:org.debugroom.mynavi.sample.aws.elasticache.app.web.model.'
   . 'SampleSession#2326897810215790710{host="spring-1", lastUpdatedAt=Date('
   . $j->{lastUpdatedAt} . ')}',
   'jdk_decode reads the SampleSession');
is(SpringTest::number($h->{lastAccessedTime}) >= $j->{creationTime}, 1,
   'number() reads a JDK Long');

# what Spring reads
my $id = '11111111-2222-4333-8444-555555555555';
my $now = SharedSessionTest::now_ms();
my $host = "h\x{e9}\x{1F600}";
SharedSessionTest::redis_cmd({ port => $port }, 'HSET',
    "spring:session:sessions:$id",
    creationTime => SpringTest::jdk_long($now - 5000),
    lastAccessedTime => SpringTest::jdk_long($now),
    maxInactiveInterval => SpringTest::jdk_integer(1800),
    $ATTR => SpringTest::jdk_sample_session($host, $now),
    'sessionAttr:note' => SpringTest::jdk_string("caf\x{e9}"));
$c->set_cookie(SESSION => SharedSessionTest::b64($id));
$r = $c->get($app->port, '/2');
is($r->{status}, 200, 'Spring reads the seeded JDK session');
is($r->{json}{sessionId}, $id, '... under its id');
is($r->{json}{creationTime}, $now - 5000, '... with its creationTime');
is($r->{json}{previousHost}, $host, '... and the host in its SampleSession');
$h = SpringTest::session_hash($id, port => $port);
is(SpringTest::value_text($h->{'sessionAttr:note'}), 'jdk:"caf\u00e9"',
   'Spring left the String attribute as it was');
diag("redis at the end:\n" . SpringTest::dump_redis(port => $port));

$app->stop;
done_testing();
