# What the scripts ask Redis for, per request: each redis.call costs Redis
# about as much as the Lua around it (docs/redis-layout.md), so the calls
# are counted (INFO commandstats after CONFIG RESETSTAT, the script's own
# calls included: EdgeTest::commands(all => 1)), against the suite's
# Redis, for the endpoint and the lookup of shared_session_require.
#
# A reused session whose expiry stays in its minute's bucket is TIME, HMGET
# and three writes (SET of the shadow key, HMSET, PEXPIRE of the hash): its
# member is in the bucket since the touch that wrote its lastAccessedTime.
# The lookup's script is loaded by a first, uncounted request (it is not
# loaded on connect: the first lookup after a start sends it as EVAL).
# The blocks wait, when the clock is within 1.5 s of the next minute, until
# it has passed, so that two requests fall in one minute.

use lib 't/inc';
use SharedSessionTest;
use EdgeTest;
use Time::HiRes ();
use Test::Nginx::Socket 'no_plan';

no warnings 'once';    # $main::... set here, read in the blocks

no_shuffle();
no_long_string();
log_level('info');
timeout(10);

our $V = 'e1237df7-5646-4382-aa12-41435ed09dc7';

my $config = <<'EOF';
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;

    location = /ping {
        return 200 "pong\n";
    }
    location = /session {
        shared_session;
    }
    location /app/ {
        shared_session_require on;
        return 200 "app: $shared_session_status\n";
    }
EOF

# a configuration that names attributes in variables: every lookup reads
$main::config_names = $config . <<'EOF';
    location /names/ {
        shared_session_require on;
        return 200 "names: $shared_session_status $shared_session_attr_tenantid $shared_session_attr_role\n";
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
    $block->set_value(request => "GET /ping\n") unless defined $block->request;
    $block->set_value(no_error_log => "[error]\n[alert]\n[crit]\n")
        unless defined $block->no_error_log;
});


# "<status>: <commands>" of one request
sub main::calls {
    my ($path, $id) = @_;
    my $r;
    my $n = EdgeTest::commands(sub { $r = EdgeTest::get($path, $id) }, all => 1);
    $r =~ s/ .*//s;
    return "$path $r: $n\n";
}

run_tests();

__DATA__

=== TEST 1: the endpoint and the lookup of a reused session in the minute of its last touch: TIME, HMGET, SET, HMSET, PEXPIRE (no SADD, no SREM)
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::V);
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    EdgeTest::get('/session', $main::V);
    EdgeTest::get('/app/x', 'no-such-id');    # the lookup's script loaded
    main::calls('/session', $main::V) . main::calls('/app/x', $main::V);
}
--- response_body
/session 200: evalsha=1 hmget=1 hmset=1 pexpire=1 set=1 time=1
/app/x 200: evalsha=1 hmget=1 hmset=1 pexpire=1 set=1 time=1



=== TEST 2: a session last touched in another minute: its member moves to this minute's bucket (SADD, PEXPIRE of the new bucket, SREM from the old one)
--- init
SharedSessionTest::flush();
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    EdgeTest::get('/app/x', 'no-such-id');    # the lookup's script loaded
    my $now = SharedSessionTest::now_ms();
    SharedSessionTest::seed_session(id => $main::V,
                                    lastAccessedTime => $now - $now % 60_000 - 1);
    my $out = main::calls('/app/x', $main::V);
    my $old = SharedSessionTest::bucket_ms($now - $now % 60_000 - 1, 1800);
    my $new = SharedSessionTest::bucket_ms($now, 1800);
    for my $b ([old => $old], [new => $new]) {
        my $k = "spring:session:expirations:$b->[1]";
        $out .= "$b->[0] bucket: "
            . (SharedSessionTest::redis_cmd('SISMEMBER', $k, qq("expires:$main::V"))
               ? 'member' : 'no member')
            . ", ttl " . (SharedSessionTest::redis_cmd('PTTL', $k) > 2_000_000
                          ? '(n + 300) s' : SharedSessionTest::redis_cmd('PTTL', $k))
            . "\n";
    }
    $out;
}
--- response_body
/app/x 200: evalsha=1 hmget=1 hmset=1 pexpire=2 sadd=1 set=1 srem=1 time=1
old bucket: no member, ttl -2
new bucket: member, ttl (n + 300) s



=== TEST 3: the lookup that reads attributes: one HGETALL for the numbers and the attributes
--- config eval
$main::config_names
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::V,
    attrs => [ tenantId => '"acme"', Role => '"admin"' ]);
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    EdgeTest::get('/names/x', $main::V);
    EdgeTest::get('/names/x', $main::V) . "\n" . main::calls('/names/x', $main::V);
}
--- response_body
200 names: valid acme admin
/names/x 200: evalsha=1 hgetall=1 hmset=1 pexpire=1 set=1 time=1
