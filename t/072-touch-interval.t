# shared_session_touch_interval: a lookup (shared_session_require, _load)
# of a session touched less than the interval ago, whose expiry bucket
# would not change, reads and writes nothing.  Against the suite's Redis
# (the scripted back end), without scripts, and against a Redis Cluster.
#
# Each probe is one request: its answer, the write commands Redis ran for
# it (INFO commandstats after CONFIG RESETSTAT, the script's own calls
# included: EdgeTest::commands(all => 1)), and whether lastAccessedTime,
# read with HGET before and after, changed.
#
# The blocks that need two requests in one minute wait, when the clock is
# within 1.5 s of the next minute, until it has passed
# (SharedSessionTest::clear_of_minute()).

use lib 't/inc';
use SharedSessionTest;
use EdgeTest;
use ClusterTest;
use Time::HiRes ();
use Test::Nginx::Socket 'no_plan';

no warnings 'once';    # $main::... set here, read in the blocks

no_shuffle();
no_long_string();
log_level('info');
timeout(15);

$main::cluster = ClusterTest->start(nodes => 3, replicas => 0);
ClusterTest::use_cluster($main::cluster);
$ENV{TEST_NGINX_SEED1} = ($main::cluster->ports)[0];

our $V = 'e1237df7-5646-4382-aa12-41435ed09dc7';
our $PRINCIPAL =
    'org.springframework.session.FindByIndexNameSessionRepository.'
    . 'PRINCIPAL_NAME_INDEX_NAME';

# what a touch writes (a script's calls, or plain commands)
our %WRITE = map { $_ => 1 }
    qw(set hset hmset hsetnx pexpire pexpireat persist sadd srem zadd del);

my $config = <<'EOF';
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_touch_interval 1s;

    location = /ping {
        return 200 "pong\n";
    }
    location = /logout {
        shared_session_invalidate;
    }
    location /app/ {
        shared_session_require on;
        return 200 "app: $shared_session_status\n";
    }
    location /every/ {
        shared_session_require on;
        shared_session_touch_interval 0;
        return 200 "every: $shared_session_status\n";
    }
    location /long/ {
        shared_session_require on;
        shared_session_touch_interval 5m;
        return 200 "long: $shared_session_status\n";
    }
    location /long-plain/ {
        shared_session_require on;
        shared_session_touch_interval 5m;
        shared_session_redis_scripts off;
        return 200 "long, plain: $shared_session_status\n";
    }
    location /plain/ {
        shared_session_require on;
        shared_session_redis_scripts off;
        return 200 "plain: $shared_session_status\n";
    }
    location /cl/ {
        shared_session_require on;
        shared_session_redis_cluster on;
        shared_session_redis 127.0.0.1:$TEST_NGINX_SEED1;
        return 200 "cluster: $shared_session_status\n";
    }
    location /cl-plain/ {
        shared_session_require on;
        shared_session_redis_cluster on;
        shared_session_redis_scripts off;
        shared_session_redis 127.0.0.1:$TEST_NGINX_SEED1;
        return 200 "cluster, plain: $shared_session_status\n";
    }
EOF

# Attributes are read (HGETALL) by every lookup of a configuration that
# names one in a variable: only where these locations are added.
$main::names_config = $config . <<'EOF';
    location /names/ {
        shared_session_load on;
        return 200 "names: $shared_session_status $shared_session_principal $shared_session_attr_tenantid\n";
    }
    location /plain-names/ {
        shared_session_load on;
        shared_session_redis_scripts off;
        return 200 "plain-names: $shared_session_status $shared_session_attr_tenantid\n";
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
    $block->set_value(request => "GET /ping\n") unless defined $block->request;
    $block->set_value(no_error_log => "[error]\n[alert]\n[crit]\n")
        unless defined $block->no_error_log;
});



# "<answer>; writes: <commands>|none; lastAccessedTime changed|unchanged"
# %o: cluster => 1 (commands counted on every node, the hash read there)
sub main::probe {
    my ($path, $id, %o) = @_;
    my %opt = (all => 1);
    my $hget = \&SharedSessionTest::redis_cmd;
    if ($o{cluster}) {
        my $c = ClusterTest::current();
        %opt = (all => 1, ports => [ $c->ports ],
                cmd => sub { my ($t, @c) = @_; $c->cmd($t->{port}, @c) });
        $hget = \&ClusterTest::redis_cmd;
    }
    my $last = sub {
        $hget->('HGET', "spring:session:sessions:$id", 'lastAccessedTime') // '';
    };
    my $before = $last->();
    my $r;
    my $n = EdgeTest::commands(sub { $r = EdgeTest::get($path, $id) }, %opt);
    my @w = grep { $WRITE{$_} } map { /^(\w+)=/ ? $1 : () } split ' ', $n;
    return "$r; writes: " . (@w ? join(',', @w) : 'none')
           . '; lastAccessedTime '
           . ($last->() eq $before ? 'unchanged' : 'changed') . "\n";
}

# a live session last accessed "$age" ms ago (and where $at says, if so)
sub main::seed {
    my (%o) = @_;
    my $now = SharedSessionTest::now_ms();
    my $seed = $o{cluster} ? \&ClusterTest::seed_session
                           : \&SharedSessionTest::seed_session;
    $seed->(id => $o{id} // $V,
            lastAccessedTime => $o{at} // $now - ($o{age} // 10_000),
            maxInactiveInterval => $o{mii} // 1800,
            $o{hash_ttl_ms} ? (hash_ttl_ms => $o{hash_ttl_ms}) : (),
            attrs => [ $PRINCIPAL => '"alice"', tenantId => '"acme"' ]);
}

run_tests();

__DATA__

=== TEST 1: 1s: the first lookup touches; a second one at once reads only (no write, lastAccessedTime as it was); after the interval the next one writes again
--- init
SharedSessionTest::flush();
main::seed();
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    my $out = main::probe('/app/x', $main::V);
    $out .= main::probe('/app/x', $main::V);
    $out .= main::probe('/app/x', $main::V);
    Time::HiRes::sleep(1.1);
    $out . main::probe('/app/x', $main::V);
}
--- response_body_like eval
qr{\A200 app: valid; writes: hmset,pexpire,(?:sadd,)?set(?:,srem)?; lastAccessedTime changed
200 app: valid; writes: none; lastAccessedTime unchanged
200 app: valid; writes: none; lastAccessedTime unchanged
200 app: valid; writes: hmset,pexpire,(?:sadd,)?set(?:,srem)?; lastAccessedTime changed
\z}



=== TEST 2: the read-only lookup is the script's TIME and HMGET alone
--- init
SharedSessionTest::flush();
main::seed();
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    EdgeTest::get('/app/x', $main::V);
    EdgeTest::commands(sub { EdgeTest::get('/app/x', $main::V) }, all => 1) . "\n";
}
--- response_body
evalsha=1 hmget=1 time=1



=== TEST 3: 0 (shared_session_touch_interval 0 where the server says 1s): every lookup touches, as Spring does
--- init
SharedSessionTest::flush();
main::seed();
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    my $out = main::probe('/every/x', $main::V);
    for (1 .. 3) {
        Time::HiRes::sleep(0.01);
        $out .= main::probe('/every/x', $main::V);
    }
    $out;
}
--- response_body_like eval
qr{\A200 every: valid; writes: hmset,pexpire,(?:sadd,)?set(?:,srem)?; lastAccessedTime changed
(?:200 every: valid; writes: hmset,pexpire,set; lastAccessedTime changed
){3}\z}



=== TEST 4: within the interval (5m), a session whose expiry would move to the next minute's bucket is touched (the bucket moves); one whose bucket stays is not; with scripts and without
--- init
SharedSessionTest::flush();
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    my $now = SharedSessionTest::now_ms();
    my $minute = $now - $now % 60_000;
    my $out = '';
    # accessed at the start of this minute: its bucket is this request's
    main::seed(id => 's-same', at => $minute);
    $out .= 'same minute: ' . main::probe('/long/x', 's-same');
    # accessed in the last ms of the previous minute: the bucket moves
    main::seed(id => 's-prev', at => $minute - 1);
    $out .= 'previous minute: ' . main::probe('/long/x', 's-prev');
    my $old = "spring:session:expirations:" . SharedSessionTest::bucket_ms($minute - 1, 1800);
    my $new = "spring:session:expirations:" . SharedSessionTest::bucket_ms($minute, 1800);
    $out .= "old bucket: "
        . (SharedSessionTest::redis_cmd('SISMEMBER', $old, '"expires:s-prev"') ? 'member' : 'no member')
        . "\nnew bucket: "
        . (SharedSessionTest::redis_cmd('SISMEMBER', $new, '"expires:s-prev"') ? 'member' : 'no member')
        . "\nsame's bucket: "
        . (SharedSessionTest::redis_cmd('SISMEMBER', $new, '"expires:s-same"') ? 'member' : 'no member')
        . "\n";
    main::seed(id => 's-same-plain', at => $minute);
    $out .= 'plain, same minute: ' . main::probe('/long-plain/x', 's-same-plain');
    main::seed(id => 's-prev-plain', at => $minute - 1);
    $out .= 'plain, previous minute: ' . main::probe('/long-plain/x', 's-prev-plain');
    $out;
}
--- response_body
same minute: 200 long: valid; writes: none; lastAccessedTime unchanged
previous minute: 200 long: valid; writes: hmset,pexpire,sadd,set,srem; lastAccessedTime changed
old bucket: no member
new bucket: member
same's bucket: member
plain, same minute: 200 long, plain: valid; writes: none; lastAccessedTime unchanged
plain, previous minute: 200 long, plain: valid; writes: hmset,hsetnx,pexpire,sadd,set,srem; lastAccessedTime changed



=== TEST 5: ended sessions stay ended within the interval: invalidated (maxInactiveInterval 0), expired by Redis's clock (1 s interval, accessed 1.5 s ago), and one invalidated right after a read-only lookup; nothing of them is written back
--- init
SharedSessionTest::flush();
main::seed(id => 's-inv', age => 10, mii => 0, hash_ttl_ms => 300_000);
main::seed(id => 's-exp', age => 1500, mii => 1, hash_ttl_ms => 300_000);
main::seed(id => 's-end', age => 600_000);
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    my $out = 'invalidated: ' . main::probe('/long/x', 's-inv');
    $out .= 'expired: ' . main::probe('/long/x', 's-exp');
    $out .= 'live: ' . main::probe('/long/x', 's-end');
    $out .= 'live again: ' . main::probe('/long/x', 's-end');
    $out .= 'logout: ' . EdgeTest::get('/logout', 's-end') . "\n";
    $out .= 'after: ' . main::probe('/long/x', 's-end');
    $out .= 'shadow key: ' . SharedSessionTest::redis_cmd('EXISTS',
                              'spring:session:sessions:expires:s-end') . "\n";
    $out .= 'maxInactiveInterval: ' . SharedSessionTest::redis_cmd('HGET',
              'spring:session:sessions:s-end', 'maxInactiveInterval') . "\n";
    $out;
}
--- response_body_like eval
qr{\Ainvalidated: 401 \{"error":"session required"\}; writes: none; lastAccessedTime unchanged
expired: 401 \{"error":"session required"\}; writes: none; lastAccessedTime unchanged
live: 200 long: valid; writes: hmset,pexpire,(?:sadd,)?set(?:,srem)?; lastAccessedTime changed
live again: 200 long: valid; writes: none; lastAccessedTime unchanged
logout: 302 .*
after: 401 \{"error":"session required"\}; writes: none; lastAccessedTime unchanged
shadow key: 0
maxInactiveInterval: 0
\z}



=== TEST 6: the lookup that reads attributes (one HGETALL) with 1s: the values, then a read-only lookup
--- config eval
$main::names_config
--- init
SharedSessionTest::flush();
main::seed();
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    my $out = main::probe('/names/x', $main::V);
    $out .= main::probe('/names/x', $main::V);
    $out . EdgeTest::commands(sub { EdgeTest::get('/names/x', $main::V) }, all => 1) . "\n";
}
--- response_body_like eval
qr{\A200 names: valid alice acme; writes: hmset,pexpire,(?:sadd,)?set(?:,srem)?; lastAccessedTime changed
200 names: valid alice acme; writes: none; lastAccessedTime unchanged
evalsha=1 hgetall=1 time=1
\z}



=== TEST 7: without scripts (shared_session_redis_scripts off): the same, HMGET and TIME alone within the interval
--- init
SharedSessionTest::flush();
main::seed();
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    my $out = main::probe('/plain/x', $main::V);
    $out .= main::probe('/plain/x', $main::V);
    $out .= EdgeTest::commands(sub { EdgeTest::get('/plain/x', $main::V) }) . "\n";
    Time::HiRes::sleep(1.1);
    $out . main::probe('/plain/x', $main::V);
}
--- response_body_like eval
qr{\A200 plain: valid; writes: hmset,hsetnx,pexpire,(?:sadd,)?set(?:,srem)?; lastAccessedTime changed
200 plain: valid; writes: none; lastAccessedTime unchanged
hmget=1 time=1
200 plain: valid; writes: hmset,hsetnx,pexpire,(?:sadd,)?set(?:,srem)?; lastAccessedTime changed
\z}



=== TEST 8: without scripts, reading attributes (HGETALL): the same
--- config eval
$main::names_config
--- init
SharedSessionTest::flush();
main::seed(id => 's-pn');
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    my $out = main::probe('/plain-names/x', 's-pn');
    $out .= main::probe('/plain-names/x', 's-pn');
    $out . EdgeTest::commands(sub { EdgeTest::get('/plain-names/x', 's-pn') }) . "\n";
}
--- response_body_like eval
qr{\A200 plain-names: valid acme; writes: hmset,hsetnx,pexpire,(?:sadd,)?set(?:,srem)?; lastAccessedTime changed
200 plain-names: valid acme; writes: none; lastAccessedTime unchanged
hgetall=1 time=1
\z}



=== TEST 9: a Redis Cluster, with the hash script and with plain commands: HMGET alone within the interval
--- init
ClusterTest::flush();
main::seed(cluster => 1);
main::seed(cluster => 1, id => 's-clp');
--- response_body_filters eval
sub {
    SharedSessionTest::clear_of_minute();
    my $out = main::probe('/cl/x', $main::V, cluster => 1);
    $out .= main::probe('/cl/x', $main::V, cluster => 1);
    $out .= main::probe('/cl-plain/x', 's-clp', cluster => 1);
    $out .= main::probe('/cl-plain/x', 's-clp', cluster => 1);
    Time::HiRes::sleep(1.1);
    $out . main::probe('/cl/x', $main::V, cluster => 1);
}
--- response_body_like eval
qr{\A200 cluster: valid; writes: hmset,pexpire,(?:sadd,)?set(?:,srem)?; lastAccessedTime changed
200 cluster: valid; writes: none; lastAccessedTime unchanged
200 cluster, plain: valid; writes: hmset,hsetnx,pexpire,(?:sadd,)?set(?:,srem)?; lastAccessedTime changed
200 cluster, plain: valid; writes: none; lastAccessedTime unchanged
200 cluster: valid; writes: hmset,pexpire,(?:sadd,)?set(?:,srem)?; lastAccessedTime changed
\z}
--- no_error_log eval
[qr/shared session: (?!redis cluster \S+: slot map from \S+: \d+ ranges)/,
 '[error]', '[alert]', '[crit]']
