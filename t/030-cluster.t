# Redis Cluster (shared_session_redis_cluster on) against real local
# clusters (t/inc/ClusterTest.pm): six redis-server processes with
# cluster-enabled, three primaries with a replica each, created with
# "redis-cli --cluster create", cluster-node-timeout 1000 ms; and a second
# cluster with requirepass/masterauth and an ACL user.
#
#  1-3  Spring's exact layout across shards (the expectations of
#       t/001 and t/003), 20 sessions spread over the primaries and reused,
#       invalidation.
#  4-5  a slot migrated by hand: ASK while it is migrating, MOVED after.
#  6    a primary killed (SIGKILL) under load: the failover window is
#       measured (diag), then every session answers again, unchanged.
#  7    slots resharded under load with "redis-cli --cluster reshard".
#  8-9  every node stopped: 503 at once; restarted: served again.
# 10-12 AUTH on every node connection: password, ACL user, wrong password
#       (no reconnect storm), no password.
#
# Sessions are requested with their cookies; an answer is "ok" when it is
# 200 with the same sessionId, the same creationTime and "new":false,
# "unavailable" when it is the 503 JSON, and wrong otherwise.  Every block
# checks that no worker crashed ("exited on signal", [alert], [crit]).

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use ClusterTest;
use JSON::PP ();
use Test::Nginx::Socket 'no_plan';
no warnings 'once';    # $main::... set in one section, read in another

no_shuffle();
no_long_string();
log_level('info');
master_on();
workers(2);
timeout(10);

my $t_start = Time::HiRes::time();
$main::cluster = ClusterTest->start(nodes => 6, replicas => 1,
                                    node_timeout => 1000);
$main::auth_cluster = ClusterTest->start(
    nodes => 6, replicas => 1, node_timeout => 1000, password => 's3cret',
    conf => [ '--user', qw(alice on >4lic3 ~* &* +@all) ]);
ClusterTest::use_cluster($main::cluster);
diag(sprintf('clusters ready in %.1f s', Time::HiRes::time() - $t_start))
    if $ENV{TEST_VERBOSE};

($ENV{TEST_NGINX_SEED1}, $ENV{TEST_NGINX_SEED2}) = ($main::cluster->ports)[0, 1];
($ENV{TEST_NGINX_AUTH_SEED1}, $ENV{TEST_NGINX_AUTH_SEED2})
    = ($main::auth_cluster->ports)[0, 1];

my $config = <<'EOF';
    shared_session_host hostA;
    shared_session_redis_cluster on;
    shared_session_redis 127.0.0.1:$TEST_NGINX_SEED1;
    shared_session_redis 127.0.0.1:$TEST_NGINX_SEED2;
    location = /a {
        shared_session;
    }
    location = /b {
        shared_session;
        shared_session_host hostB;
    }
    location = /logout {
        shared_session_invalidate;
    }
    location = /auth {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_SEED1;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_SEED2;
        shared_session_redis_password s3cret;
    }
    location = /acl {
        shared_session;
        shared_session_host hostB;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_SEED2;
        shared_session_redis_username alice;
        shared_session_redis_password 4lic3;
    }
    location = /static {
        return 200 "static\n";
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
});

my $B_ID = 'e1237df7-5646-4382-aa12-41435ed09dc7';
my $SPRING = 'spring:session';


############################################################################
# Helpers (main::, because Test::Nginx evaluates the sections elsewhere)

# Creates $n sessions through $path; id => creationTime.
sub main::create_sessions {
    my ($n, $path) = @_;
    my %created;
    for (1 .. $n) {
        my $res = FaultTest::http(GET => $path // '/a');
        my $j = eval { JSON::PP->new->decode($res->{body}) } || {};
        die "creating a session: $res->{status} $res->{body}\n"
            unless $res->{status} eq '200' && $j->{sessionId} && $j->{new};
        $created{ $j->{sessionId} } = $j->{creationTime};
    }
    return \%created;
}

# 'ok', 'unavailable' or what is wrong with an answer to a request that
# carried the cookie of session $id created at $created.
sub main::classify {
    my ($r, $id, $created) = @_;
    if ($r->{status} eq '503') {
        return $r->{body} =~ /\A\{"error":"session store unavailable"\}\n?\z/
               ? 'unavailable' : "503 with body $r->{body}";
    }
    return "status $r->{status}" unless $r->{status} eq '200';
    my $j = eval { JSON::PP->new->decode($r->{body}) };
    return "not JSON: $r->{body}" unless ref $j eq 'HASH';
    return "session $id answered as $j->{sessionId}"
        unless ($j->{sessionId} // '') eq $id;
    return "session $id answered as new" if $j->{new};
    return "session $id: creationTime $j->{creationTime}, not $created"
        unless ($j->{creationTime} // '') eq $created;
    return 'ok';
}

sub main::request_with_cookie {
    my ($path, $id) = @_;
    return FaultTest::http(GET => $path,
                           Cookie => 'SESSION=' . SharedSessionTest::b64($id));
}

# Requests every session once, one after the other: the problems.
sub main::check_all {
    my ($created, $path) = @_;
    my @bad;
    for my $id (sort keys %$created) {
        my $r = main::request_with_cookie($path // '/a', $id);
        my $v = main::classify($r, $id, $created->{$id});
        push @bad, $v unless $v eq 'ok';
    }
    return @bad;
}

# Spring's layout of one session, read from the shards (each key from the
# node serving its slot): the problems.  $last and $host: the last touch.
sub main::layout_problems {
    my ($router, $id, $created, $last, $host) = @_;
    my @p;
    my $hash = "$SPRING:sessions:$id";
    my $shadow = "$SPRING:sessions:expires:$id";
    my $bucket = "$SPRING:expirations:" . SharedSessionTest::bucket_ms($last, 1800);
    my $ttl_ok = sub {
        my ($key, $ms) = @_;
        my $pttl = $router->cmd('PTTL', $key);
        push @p, "$key: pttl $pttl, expected $ms"
            unless $pttl <= $ms && $pttl > $ms - 10_000;
    };
    my $t = $router->cmd('TYPE', $hash);
    if ($t ne 'hash') {
        push @p, "$hash: $t";
    } else {
        my %h = @{ $router->cmd('HGETALL', $hash) };
        my %want = (
            creationTime => $created,
            maxInactiveInterval => 1800,
            lastAccessedTime => $last,
            'sessionAttr:scopedTarget.sampleSession' =>
                SharedSessionTest::spring_attr($host, $last),
        );
        for my $f (sort keys %{ { %h, %want } }) {
            push @p, "$hash $f: " . ($h{$f} // '(none)') . ', expected '
                     . ($want{$f} // '(none)')
                unless defined $h{$f} && defined $want{$f}
                       && $h{$f} eq $want{$f};
        }
        $ttl_ok->($hash, 2_100_000);
    }
    $t = $router->cmd('TYPE', $shadow);
    if ($t ne 'string') {
        push @p, "$shadow: $t";
    } else {
        my $v = $router->cmd('GET', $shadow);
        push @p, "$shadow: value '$v'" unless $v eq '';
        $ttl_ok->($shadow, 1_800_000);
    }
    $t = $router->cmd('TYPE', $bucket);
    if ($t ne 'set') {
        push @p, "$bucket: $t";
    } else {
        push @p, "$bucket: no member for $id"
            unless $router->cmd('SISMEMBER', $bucket, qq("expires:$id"));
        $ttl_ok->($bucket, 2_100_000);
    }
    return @p;
}

# Waits until every worker of the nginx under test has logged a slot map
# of the main cluster (a worker fetches it when it starts: with a fresh
# nginx for the block, a test that changes the cluster right away must not
# race that first fetch).
sub main::wait_for_maps {
    my $deadline = Time::HiRes::time() + 5;
    my $seed = "127.0.0.1:$ENV{TEST_NGINX_SEED1}";
    while (1) {
        open my $fh, '<', $Test::Nginx::Util::PidFile or die "pid file: $!\n";
        chomp(my $master = <$fh> // '');
        close $fh;
        my (@workers, @children);
        if (open my $ch, '<', "/proc/$master/task/$master/children") {
            @children = split ' ', scalar(<$ch>) // '';
            @workers = grep {
                open my $c, '<', "/proc/$_/cmdline";
                ($c ? scalar(<$c>) // '' : '') =~ /^nginx: worker process/;
            } @children;
        }
        # under valgrind no process title is set: every child is a worker
        # (the cache manager of a plain nginx is not started here); no
        # children: a single nginx process fetches the map itself
        @workers = @children if !@workers;
        @workers = ($master) if !@workers && $master =~ /^\d+\z/;
        my ($log) = FaultTest::read_from($Test::Nginx::Util::ErrLogFile, 0);
        my @missing = grep {
            $log !~ /\[info\] $_#\d+: .*redis cluster \Q$seed\E: slot map from /
        } @workers;
        return if @workers && !@missing;
        die "no slot map logged by workers @missing\n"
            if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.02);
    }
}

sub main::count {
    my ($re, $log) = @_;
    my $n = () = $log =~ /$re/g;
    return $n;
}

# TEST 2: creation layout, spread, reuse through /b, layout after reuse.
sub main::report_spread {
    my $c = $main::cluster;
    my $router = $c->router;
    my %created = %{ $main::created };
    my (%primary, @bad);
    for my $id (keys %created) {
        $primary{ $c->node_for_key("$SPRING:sessions:$id") }++;
        push @bad, main::layout_problems($router, $id, $created{$id},
                                         $created{$id}, 'hostA');
    }
    my $out = keys(%created) . " sessions created\n";
    $out .= keys %primary >= 2
            ? "hashes on at least 2 primaries\n"
            : 'hashes on ' . join(',', keys %primary) . "\n";
    $out .= @bad ? main::lines(@bad) : "created: all laid out as Spring's\n";
    my (%last, @wrong);
    for my $id (sort keys %created) {
        my $r = main::request_with_cookie('/b', $id);
        my $v = main::classify($r, $id, $created{$id});
        my $j = eval { JSON::PP->new->decode($r->{body}) } || {};
        push @wrong, $v unless $v eq 'ok';
        push @wrong, "$id: host " . ($j->{host} // '') . ', previousHost '
                     . ($j->{previousHost} // 'null')
            unless ($j->{host} // '') eq 'hostB'
                   && ($j->{previousHost} // '') eq 'hostA';
        push @wrong, "$id: Set-Cookie on reuse" if $r->{headers}{'set-cookie'};
        $last{$id} = $j->{lastUpdatedAt} // 0;
    }
    $out .= @wrong ? main::lines(@wrong)
          : "reused through /b: same id and creationTime, new:false, "
            . "previousHost hostA\n";
    $router = $c->router;
    @bad = map { main::layout_problems($router, $_, $created{$_}, $last{$_},
                                       'hostB') } sort keys %created;
    return $out . (@bad ? main::lines(@bad)
                        : "reused: all laid out as Spring's\n");
}

# TEST 4: where the hash is while its slot migrates, and the ASK line.
sub main::report_ask {
    my ($body) = @_;
    my $c = $main::cluster;
    my $hash = "$SPRING:sessions:$B_ID";
    my $to = $c->conn($main::to);
    $to->cmd('ASKING');
    my $on_to = $to->cmd('EXISTS', $hash);
    my $on_from = eval { $c->cmd($main::from, 'EXISTS', $hash) } // $@;
    my $ask = main::count(qr/\[info\].*shared session: redis cluster .*: ASK slot $main::slot to 127\.0\.0\.1:$main::to\b/,
                          FaultTest::log_since_mark());
    return ClusterTest::dump_db($body)
        . ($on_to ? "hash on the importing node\n"
                  : "hash not on the importing node\n")
        . ($on_from =~ /: ASK $main::slot / ? "migrating node answers ASK\n"
                                            : "migrating node: $on_from\n")
        . ($ask ? "ASK followed (logged at info)\n"
                : "no ASK line in the log\n");
}

# TEST 5: the slot's new owner and the MOVED line.
sub main::report_moved {
    my ($body) = @_;
    my $c = $main::cluster;
    my $moved = main::count(qr/\[info\].*shared session: redis cluster .*: MOVED slot $main::slot to 127\.0\.0\.1:$main::to\b/,
                            FaultTest::log_since_mark());
    return ClusterTest::dump_db($body)
        . ($c->node_for_slot($main::slot) == $main::to
           ? "slot served by the new node\n" : "slot not moved\n")
        . ($moved ? "MOVED followed (logged at info)\n"
                  : "no MOVED line in the log\n");
}

# TEST 6: the failover window, from the load's answers.
sub main::report_failover {
    my ($body) = @_;
    my $c = $main::cluster;
    my $tk = $main::t_kill;
    my (@fail, @wrong, $slowest, $before);
    my $n = @{ $main::results };
    for my $r (@{ $main::results }) {
        my $v = main::classify($r, $r->{id}, $main::created->{ $r->{id} });
        my $took = $r->{done} - $r->{sent};
        $slowest = $took if !defined $slowest || $took > $slowest;
        if ($v eq 'unavailable') {
            push @fail, $r;
        } elsif ($v ne 'ok') {
            push @wrong, sprintf('+%d ms: %s', ($r->{done} - $tk) * 1000, $v);
        }
        $before++ if $r->{done} < $tk && $v ne 'ok';
    }
    @fail = sort { $a->{done} <=> $b->{done} } @fail;
    my ($first, $last) = @fail ? ($fail[0]{done} - $tk, $fail[-1]{done} - $tk)
                               : (0, 0);
    my $after_ok = grep { $_->{sent} > $tk + $last } @{ $main::results };
    my %cause;
    $cause{$_}++ for map { s/\d+\.\d+\.\d+\.\d+:\d+/<node>/gr }
        FaultTest::log_since_mark() =~ /\[error\].*?shared session: redis \S+ (.*?), client:/g;
    diag(sprintf('failover: first 503 at +%d ms, last 503 at +%d ms, %d '
                 . 'requests failed (of %d); cluster_state ok everywhere at '
                 . '+%d ms; %d requests ok after the last 503; slowest answer '
                 . '%d ms; %d of %d sessions had their hash on the killed '
                 . 'primary; 503 causes: %s',
                 $first * 1000, $last * 1000, scalar @fail, $n,
                 defined $main::t_ok ? ($main::t_ok - $tk) * 1000 : -1, $after_ok, $slowest * 1000,
                 $main::on_victim, scalar keys %{ $main::created },
                 join('; ', map { "$cause{$_}x $_" } sort keys %cause)));
    my $maps = main::count(qr/\[info\].*shared session: redis cluster .*: slot map from .*: \d+ ranges, 3 primaries/,
                           FaultTest::log_since_mark());
    my $out = $main::on_victim ? "sessions on the killed primary: some\n"
                               : "sessions on the killed primary: none\n";
    $out .= $maps ? "new slot map logged\n" : "no new slot map in the log\n";
    $out .= grep({ $_ == $main::promoted } $c->primaries)
            ? "its replica promoted\n" : "its replica not promoted\n";
    $out .= "no failure before the kill\n" unless $before;
    $out .= @fail ? "some requests failed\n" : "no request failed\n";
    $out .= $last < 10 ? "failover window under 10 s\n"
                       : sprintf("failover window %.1f s\n", $last);
    $out .= $after_ok >= 50 ? "then only successes\n"
                            : "only $after_ok requests after the last failure\n";
    $out .= @wrong ? main::lines(map { "wrong: $_" } main::first10(@wrong))
                   : "no wrong answer\n";
    $out .= $slowest < 2.5 ? "every answer within 2.5 s\n"
                           : sprintf("slowest answer %.1f s\n", $slowest);
    $out .= @{ $main::after }
            ? main::lines(map { "afterwards: $_" } @{ $main::after })
            : "afterwards every session answers unchanged\n";
    return $out . ($body =~ /"new":true/ ? "a new session is created\n"
                                         : "body: $body\n");
}

# TEST 7: the answers during the reshard, the MOVED/ASK lines.
sub main::report_reshard {
    my $c = $main::cluster;
    my $h = $main::rs;
    my (%v, @wrong, $during);
    for my $r (@{ $main::results }) {
        my $v = main::classify($r, $r->{id}, $main::created->{ $r->{id} });
        $v{ $v eq 'ok' || $v eq 'unavailable' ? $v : 'wrong' }++;
        push @wrong, $v if $v ne 'ok' && $v ne 'unavailable';
        $during++ if $r->{sent} >= $h->{t0}
                     && $r->{done} <= $h->{t0} + $h->{took};
    }
    $during //= 0;
    my $log = FaultTest::log_since_mark();
    my $moved = main::count(qr/shared session: redis cluster .*: MOVED slot \d+ to 127\.0\.0\.1:$main::rs_to\b/, $log);
    my $ask = main::count(qr/shared session: redis cluster .*: ASK slot \d+ to 127\.0\.0\.1:$main::rs_to\b/, $log);
    my %cause;
    $cause{$_}++ for map { s/\d+\.\d+\.\d+\.\d+:\d+/<node>/gr }
        $log =~ /\[error\].*?shared session: redis \S+ (.*?), client:/g;
    diag(sprintf('reshard: %d slots from %d to %d in %.2f s under load; %d '
                 . 'requests (%d during the reshard): %s; %d sessions had '
                 . 'their hash in the moving slots; %d MOVED and %d ASK lines%s',
                 $main::rs_n, $main::rs_from, $main::rs_to, $h->{took},
                 scalar @{ $main::results }, $during,
                 join(', ', map { "$_ $v{$_}" } sort keys %v),
                 $main::hashes_moving, $moved, $ask,
                 %cause ? '; 503 causes: '
                          . join('; ', map { "$cause{$_}x $_" } sort keys %cause)
                        : ''));
    my $served = grep { $c->node_for_slot($_) == $main::rs_to }
                 keys %{ $main::moving };
    my $out = $h->{status} == 0 ? "reshard done\n"
                                : "reshard failed: $h->{output}\n";
    $out .= $served == $main::rs_n ? "the $main::rs_n slots moved\n"
                                   : "$served slots moved\n";
    $out .= $main::hashes_moving >= 6 ? "sessions in the moving slots\n"
            : "only $main::hashes_moving sessions moving\n";
    $out .= $during >= 20 ? "requests during the reshard\n"
                          : "only $during requests during the reshard\n";
    $out .= @wrong ? main::lines(map { "wrong: $_" } main::first10(@wrong))
                   : "no wrong answer\n";
    $out .= $v{unavailable} ? "$v{unavailable} answers 503\n" : "no 503\n";
    $out .= $moved ? "MOVED followed\n" : "no MOVED in the log\n";
    $out .= @{ $main::after }
            ? main::lines(map { "afterwards: $_" } @{ $main::after })
            : "afterwards every session answers unchanged\n";
    return $out;
}

# TEST 8: every node down.
sub main::report_down {
    my ($body) = @_;
    my $e = SharedSessionTest::elapsed();
    my @slow = grep { $_->{elapsed} > 1.2 } @{ $main::down };
    my @not503 = grep { $_->{status} ne '503' } @{ $main::down };
    return main::unavailable($body)
        . ($e < 1.2 && !@slow
           ? "every answer within the 1 s timeout\n"
           : sprintf("answered after %.3f s; %d slow\n", $e, scalar @slow))
        . (@not503 ? 'not 503: ' . join(' ', map { $_->{status} } @not503)
                     . "\n"
                   : "all 503\n");
}

# TEST 9: served again after the restart.
sub main::report_recovered {
    my ($body) = @_;
    my @errors = grep { /\[error\]/ } split /^/, FaultTest::log_since_mark();
    diag(sprintf('all nodes restarted: cluster ok after %.2f s, served again '
                 . '%.2f s later', $main::reformed, $main::recovered // -1));
    return (defined $main::recovered && $main::recovered < 5
            ? "served again within 5 s of the cluster being ok\n"
            : 'recovered: ' . ($main::recovered // 'never') . "\n")
        . ($body =~ /"new":true/ ? "a new session\n" : "body: $body\n")
        . (@errors ? "errors after recovering:\n@errors"
                   : "no error after recovering\n");
}

# TEST 11: the wrong password.
sub main::report_wrongpass {
    my ($body) = @_;
    my @st = @{ $main::statuses };
    my @not = grep { $_ ne '503' } @st;
    diag(sprintf('wrong password: %d requests in 2 s, %d connections '
                 . 'accepted by the nodes', scalar @st, $main::conns));
    return main::unavailable($body)
        . (@not ? "not 503: @not\n" : "all 503\n")
        . ($main::conns <= 40 && @st >= 100 ? "a handful of connections\n"
           : "$main::conns connections for " . scalar(@st) . " requests\n");
}

sub main::unavailable {
    my ($body) = @_;
    return $body =~ /\A\{"error":"session store unavailable"\}\n?\z/
           ? "503 body ok\n" : "body: $body\n";
}

sub main::lines { return join '', map { "$_\n" } @_ }

sub main::first10 { return @_ > 10 ? @_[0 .. 9] : @_ }


run_tests();

__DATA__

=== TEST 1: a new session on a cluster: Spring's keys, fields, types and TTLs, each key read from the shard serving it
The same expectations as t/001 TEST 1, read from the three primaries.
--- init
ClusterTest::flush();
--- request
GET /a
--- response_headers_like
Content-Type: application/json
Cache-Control: no-store
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { ClusterTest::dump_db($_[0]) }
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
exited on signal



=== TEST 2: 20 sessions spread over the primaries, laid out as Spring's, reused by another "container" with the same id and creationTime
--- init
ClusterTest::flush();
$main::created = main::create_sessions(20, '/a');
--- request
GET /static
--- response_body_filters eval
sub { main::report_spread() }
--- response_body
20 sessions created
hashes on at least 2 primaries
created: all laid out as Spring's
reused through /b: same id and creationTime, new:false, previousHost hostA
reused: all laid out as Spring's
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 3: invalidation on a cluster, as Spring does it (the expectations of t/003 TEST 1)
B and C share an expiration bucket; only B's member goes.
--- init
ClusterTest::flush();
my $minute = int((SharedSessionTest::now_ms() - 180_000) / 60_000) * 60_000;
ClusterTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707, lastAccessedTime => $minute + 1000,
    attrs => [
        'scopedTarget.sampleSession' =>
            SharedSessionTest::spring_attr('c95883d5424d', 1552129074569),
        'other' => '"hello"',
    ]);
ClusterTest::seed_session(
    id => '5f0e7f8a-2b1c-4d3e-8f9a-0b1c2d3e4f5a', label => 'C',
    creationTime => $minute - 1000, lastAccessedTime => $minute + 2000);
--- request
GET /logout
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- error_code: 302
--- response_headers
Location: http://localhost:$ServerPort/index.html
Set-Cookie: SESSION=; Max-Age=0; Expires=Thu, 1 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { ClusterTest::dump_db($_[0], no_body => 1) }
--- response_body
hash spring:session:sessions:<B> ttl=300s
  creationTime=1552128921707
  maxInactiveInterval=0
  lastAccessedTime=<B.last>
  sessionAttr:other="hello"
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"c95883d5424d","lastUpdatedAt":["java.util.Date",1552129074569]}
hash spring:session:sessions:<C> ttl=seeded
  creationTime=<C.created>
  maxInactiveInterval=1800
  lastAccessedTime=<C.last>
string spring:session:sessions:expires:<C> ttl=seeded value=""
set spring:session:expirations:<bucket(B.last+0s)> ttl=300s
  "expires:<B>"
set spring:session:expirations:<bucket(B.last+1800s)> ttl=seeded
  "expires:<C>"
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 4: a slot being migrated by hand: the hash already moved, the module follows ASK and reuses the session there
--- init
ClusterTest::flush();
ClusterTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
my $c = $main::cluster;
my $hash = 'spring:session:sessions:e1237df7-5646-4382-aa12-41435ed09dc7';
$main::slot = ClusterTest::key_slot($hash);
$main::from = $c->node_for_slot($main::slot);
($main::to) = grep { $_ != $main::from } $c->primaries;
$c->migrate_begin($main::slot, $main::from, $main::to);
$c->migrate_keys($main::slot, $main::from, $main::to, $hash);
FaultTest::log_mark();
--- request
GET /a
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub { main::report_ask($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
hash spring:session:sessions:<B> ttl=2100s
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<B> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<B>"
hash on the importing node
migrating node answers ASK
ASK followed (logged at info)
--- no_error_log
[error]
[alert]
[crit]
exited on signal
MOVED



=== TEST 5: the migration finished (CLUSTER SETSLOT NODE): the module follows MOVED and reuses the session on its new node
--- init
main::wait_for_maps();
my $c = $main::cluster;
$c->migrate_keys($main::slot, $main::from, $main::to);
$c->migrate_end($main::slot, $main::to);
$c->wait_ok(10);
FaultTest::log_mark();
--- request
GET /b
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub { main::report_moved($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostB","lastUpdatedAt":<now>,"previousHost":"hostA","creationTime":1552128921707,"new":false}
hash spring:session:sessions:<B> ttl=2100s
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostB","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<B> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<B>"
slot served by the new node
MOVED followed (logged at info)
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 6: a primary killed (SIGKILL) under load: 503 only while its replica is promoted, then the same sessions again
Seed 1 is the primary killed, so the slot map must come from another node.
Its replica has acknowledged every write before the kill (no persistence:
what is not replicated is lost).
--- init
my $c = $main::cluster;
ClusterTest::flush();
$main::created = main::create_sessions(24, '/a');
my @ids = sort keys %{ $main::created };
my ($victim) = grep { $_ == $ENV{TEST_NGINX_SEED1} } $c->primaries;
die "seed 1 is not a primary\n" unless $victim;
$main::victim = $victim;
$main::on_victim = grep { $c->node_for_key("spring:session:sessions:$_") == $victim } @ids;
($main::promoted) = $c->replica_of($victim);
# every worker has its connections to every primary
main::check_all($main::created);
main::check_all($main::created);
$c->wait_replicated(5);
FaultTest::log_mark();

my $i = 0;
my ($t_kill, $t_ok, $last_check);
my @res = ClusterTest::load(
    concurrency => 6, gap => 0.01, max => 30,
    requests => sub {
        my $id = $ids[ $i++ % @ids ];
        [ '/a', $id, Cookie => 'SESSION=' . SharedSessionTest::b64($id) ];
    },
    tick => sub {
        my $now = Time::HiRes::time();
        if (!$t_kill && $i >= 60) {
            $c->kill_node($victim);
            $t_kill = $now;
        }
        if ($t_kill && !$t_ok && $now - ($last_check // 0) > 0.1) {
            $last_check = $now;
            $t_ok = $now unless $c->not_ok_reason;
        }
    },
    until => sub { $t_ok && Time::HiRes::time() - $t_ok > 3 });
$main::t_kill = $t_kill;
$main::t_ok = $t_ok;
$main::results = \@res;
$main::after = [ main::check_all($main::created, '/b') ];
--- request
GET /a
--- response_body_filters eval
sub { main::report_failover($_[0]) }
--- response_body
sessions on the killed primary: some
new slot map logged
its replica promoted
no failure before the kill
some requests failed
failover window under 10 s
then only successes
no wrong answer
every answer within 2.5 s
afterwards every session answers unchanged
a new session is created
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_SEED1} /
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 7: slots resharded under load with redis-cli --cluster reshard: no wrong answer, MOVED (and ASK) followed
The killed primary of TEST 6 rejoins first (as a replica).  The sessions
include Spring-written ones whose hashes are in the slots that move.
--- init
my $c = $main::cluster;
$c->restart_node($main::victim);
$c->wait_ok(20);
ClusterTest::flush();
my @p = $c->primaries;
($main::rs_from, $main::rs_to) = @p[1, 2];
$main::rs_n = 1000;
my %moving = map { $_ => 1 } $c->reshard_slots($main::rs_from, $main::rs_n);
$main::moving = \%moving;
$main::created = main::create_sessions(24, '/a');
my $seeded = 0;
while ($seeded < 6) {
    my $id = sprintf('%08x-%04x-4%03x-a%03x-%012x', rand(2**32), rand(2**16),
                     rand(2**12), rand(2**12), rand(2**48));
    next unless $moving{ ClusterTest::key_slot("spring:session:sessions:$id") };
    ClusterTest::seed_session(id => $id, creationTime => 1552128921707 + $seeded);
    $main::created->{$id} = 1552128921707 + $seeded++;
}
my @ids = sort keys %{ $main::created };
$main::hashes_moving = grep { $moving{ ClusterTest::key_slot("spring:session:sessions:$_") } } @ids;
main::check_all($main::created);
main::check_all($main::created);
FaultTest::log_mark();

my $i = 0;
my ($h, $t_rs);
my @res = ClusterTest::load(
    concurrency => 6, gap => 0.005, max => 40,
    requests => sub {
        my $id = $ids[ $i++ % @ids ];
        [ $i % 2 ? '/a' : '/b', $id,
          Cookie => 'SESSION=' . SharedSessionTest::b64($id) ];
    },
    tick => sub {
        if (!$h && $i >= 30) {
            $h = $c->reshard(from => $main::rs_from, to => $main::rs_to,
                             slots => $main::rs_n, background => 1);
            $t_rs = Time::HiRes::time();
        }
    },
    until => sub { $h && $c->cli_done($h) && Time::HiRes::time() - $h->{t0} - $h->{took} > 1 });
$main::rs = $h;
$main::results = \@res;
$main::t_rs = $t_rs;
$main::after = [ main::check_all($main::created, '/b') ];
--- request
GET /static
--- response_body_filters eval
sub { main::report_reshard() }
--- response_body
reshard done
the 1000 slots moved
sessions in the moving slots
requests during the reshard
no wrong answer
no 503
MOVED followed
afterwards every session answers unchanged
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 8: every node of the cluster stopped: 503 at once, with the cause logged
--- init
my $c = $main::cluster;
ClusterTest::flush();
FaultTest::http(GET => '/a');
$c->stop_all;
$main::down = [ map { FaultTest::http(GET => '/a') } 1 .. 10 ];
SharedSessionTest::mark();
--- request
GET /a
--- error_code: 503
--- response_headers
Content-Type: application/json
!Set-Cookie
--- response_body_filters eval
sub { main::report_down($_[0]) }
--- response_body
503 body ok
every answer within the 1 s timeout
all 503
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_SEED1} /
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 9: the nodes restarted (same ports and nodes.conf): the cluster reforms and requests are served again
--- init
my $c = $main::cluster;
my $t0 = Time::HiRes::time();
$c->restart_all;
$c->wait_ok(30);
$main::reformed = Time::HiRes::time() - $t0;
# served again: six 200s in a row (both workers)
my ($streak, $first_ok) = (0);
while (Time::HiRes::time() - $t0 < $main::reformed + 10) {
    if (FaultTest::http(GET => '/a')->{status} eq '200') {
        $first_ok //= Time::HiRes::time();
        last if ++$streak >= 6;
    } else {
        ($streak, $first_ok) = (0, undef);
    }
    Time::HiRes::sleep(0.05);
}
$main::recovered = $streak >= 6 ? $first_ok - $t0 - $main::reformed : undef;
FaultTest::log_mark();
--- request
GET /a
--- response_body_filters eval
sub { main::report_recovered($_[0]) }
--- response_body
served again within 5 s of the cluster being ok
a new session
no error after recovering
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 10: AUTH on every node connection: requirepass/masterauth cluster with the password, then an ACL user reuses the session
--- init
ClusterTest::use_cluster($main::auth_cluster);
ClusterTest::flush();
--- request
GET /auth
--- response_body_filters eval
sub {
    my $out = ClusterTest::follow($_[0], ['/acl']);
    ClusterTest::use_cluster($main::cluster);
    $out;
}
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
-> GET /acl
status: 200
set-cookie: none
body: {"sessionId":"<new>","host":"hostB","lastUpdatedAt":<now2>,"previousHost":"hostA","creationTime":<now>,"new":false}
-> redis
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now2>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostB","lastUpdatedAt":["java.util.Date",<now2>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now2+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 11: a wrong password: 503, "AUTH failed" logged without the password, and no reconnect storm
About 100 requests in 2 s, 10 at a time; the nodes count the connections they accepted.
This block and the next have their own configuration: a worker fetches the
slot map when it starts, and these locations fail to.
--- config
    shared_session_redis_cluster on;
    location = /wrongpass {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_SEED1;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_SEED2;
        shared_session_redis_password Wr0ngPa55;
    }
    location = /noauth {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_SEED1;
    }
--- init
my $ac = $main::auth_cluster;
my $conns0 = $ac->connections_received;
my @res = ClusterTest::load(concurrency => 10, gap => 0.05, max => 2,
                            requests => sub { [ '/wrongpass' ] });
$main::statuses = [ map { $_->{status} } @res ];
$main::conns = $ac->connections_received - $conns0;
--- request
GET /wrongpass
--- error_code: 503
--- response_body_filters eval
sub { main::report_wrongpass($_[0]) }
--- response_body
503 body ok
all 503
a handful of connections
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_AUTH_SEED1} .*AUTH failed: WRONGPASS/
--- no_error_log
[alert]
[crit]
exited on signal
Wr0ngPa55
s3cret



=== TEST 12: no password for a cluster that requires one: 503 with NOAUTH logged
--- config
    shared_session_redis_cluster on;
    location = /wrongpass {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_SEED1;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_SEED2;
        shared_session_redis_password Wr0ngPa55;
    }
    location = /noauth {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_SEED1;
    }
--- request
GET /noauth
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body
503 body ok
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_AUTH_SEED1} .*NOAUTH/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 13: the nodes' scripts flushed (SCRIPT FLUSH) under open connections: the hash's EVALSHA gets NOSCRIPT, is sent once more as EVAL, and the session is served and written
--- init
ClusterTest::flush();
ClusterTest::seed_session(id => '7c1b2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
                          label => 'S');
--- request
GET /b
--- more_headers
Cookie: SESSION=N2MxYjJhM2QtNGU1Zi00YTZiLThjN2QtOWUwZjFhMmIzYzRk
--- response_body_filters eval
sub {
    my $c = $main::cluster;
    my $hash = 'spring:session:sessions:7c1b2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    my $port = $c->node_for_key($hash);
    my $cookie = 'SESSION=N2MxYjJhM2QtNGU1Zi00YTZiLThjN2QtOWUwZjFhMmIzYzRk';
    my $out = $_[0] =~ /"new":false/ ? "served by B\n" : "B got: $_[0]\n";
    # both workers open their connection to the hash's node (12 requests
    # leave one of two workers without any once in 2000 runs)
    SharedSessionTest::http_request(GET => '/b', Cookie => $cookie)
        for 1 .. 12;
    # the connections stay open: flush the scripts under them
    for my $p ($c->live_ports) {
        $c->cmd($p, 'SCRIPT', 'FLUSH');
        $c->cmd($p, 'CONFIG', 'RESETSTAT');
    }
    my @bad;
    for (1 .. 6) {
        my $res = SharedSessionTest::http_request(GET => '/a',
                                                  Cookie => $cookie);
        push @bad, "$res->{status} $res->{body}"
            unless $res->{status} == 200 && $res->{body} =~ /"new":false/;
    }
    $out .= @bad ? "A got: @bad\n" : "served by A after the flush\n";
    my $attr = $c->cmd($port, 'HGET', $hash,
                       'sessionAttr:scopedTarget.sampleSession') // '';
    $out .= $attr =~ /"host":"hostA"/ ? "written by A\n" : "attribute: $attr\n";
    my $stats = $c->cmd($port, 'INFO', 'commandstats') // '';
    my %calls = $stats =~ /cmdstat_(evalsha|eval):calls=(\d+)/g;
    $out . (($calls{evalsha} // 0) >= 1 && ($calls{eval} // 0) >= 1
            ? "EVALSHA refused, then EVAL\n"
            : "calls: evalsha=" . ($calls{evalsha} // 0)
              . " eval=" . ($calls{eval} // 0) . "\n");
}
--- response_body
served by B
served by A after the flush
written by A
EVALSHA refused, then EVAL
--- no_error_log
[error]
[alert]
[crit]
exited on signal
