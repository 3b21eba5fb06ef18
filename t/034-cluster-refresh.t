# Redis Cluster: a slot map refresh round goes on after a node fails, at
# once or later (refused, reset, timed out), to the next candidate: the
# node that answered the last round, the seeds, then the nodes of the last
# map, primaries and replicas.  Real local clusters (t/inc/ClusterTest.pm),
# cluster-node-timeout 1000 ms.
#
#  1  the primary that is the first seed killed (SIGKILL) under load, the
#     cluster failing over normally: in every worker, a live node's answer
#     is logged right after the dead seed's first failure (no throttle
#     window in between), no round fails, and the last 503 comes within
#     the cluster's own failover time + 1 s (timings in diag).
#  2  both seeds (two replicas) killed after nginx learned the map: every
#     session is still served; shard 3 is failed over by hand, MOVED starts
#     a round that asks both dead seeds and then a non-seed node, which
#     answers with the new map within the same round.
#  3  every primary of that cluster killed: only a replica is left, and the
#     rounds reach it (replicas are refresh candidates), none fails.  The
#     replica is shard 3's old primary: TEST 2 ends once the seeds' CLUSTER
#     SLOTS name it as a replica, so that nginx's first map does.
#
# The error log is read while it grows and each line stamped when first
# seen (nginx's own timestamps have whole seconds): "without a throttle
# gap" means under 100 ms, the minimum time between two rounds.

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use ClusterTest;
use JSON::PP ();
use Time::HiRes ();
use Test::Nginx::Socket 'no_plan';
no warnings 'once';    # $main::... set in one section, read in another

no_shuffle();
no_long_string();
log_level('info');
master_on();
my $WORKERS = 2;
workers($WORKERS);
timeout(10);

my $t_start = Time::HiRes::time();
$main::ca = ClusterTest->start(nodes => 6, replicas => 1,
                               node_timeout => 1000);
$main::cb = ClusterTest->start(nodes => 6, replicas => 1,
                               node_timeout => 1000);
diag(sprintf('clusters ready in %.1f s', Time::HiRes::time() - $t_start))
    if $ENV{TEST_VERBOSE};

{
    # cluster A: the seeds are two primaries, the first one is killed
    my ($p1, $p2) = $main::ca->primaries;
    ($ENV{TEST_NGINX_A1}, $ENV{TEST_NGINX_A2}) = ($p1, $p2);

    # cluster B: the seeds are the replicas of the first two shards; then
    # (TEST 3) its first two primaries
    my @p = $main::cb->primaries;
    $main::b_primaries = \@p;
    $ENV{TEST_NGINX_B1} = main::replica_of($main::cb, $p[0]);
    $ENV{TEST_NGINX_B2} = main::replica_of($main::cb, $p[1]);
    $main::b_r3 = main::replica_of($main::cb, $p[2]);
    ($ENV{TEST_NGINX_C1}, $ENV{TEST_NGINX_C2}) = @p[0, 1];
}

# the time between two rounds; valgrind slows nginx and this script alike
my $THROTTLE = $ENV{TEST_NGINX_USE_VALGRIND} ? 0.5 : 0.1;
my $DEAD = qr/connect failed|connection lost|closed by the server|refused|reset|timed out/;


############################################################################
# Helpers (main::, because Test::Nginx evaluates the sections elsewhere)

# What a node knows of the others lags behind what they are: a replica is
# one in another node's CLUSTER NODES only once that node heard from it,
# and in its CLUSTER SLOTS only once it also knows a replication offset
# above 0 (Redis leaves out replicas that have not synced).  wait_ok looks
# at each node's own role, not at these views.

# The replica of $primary as the first live node sees it, once it does
# (right after the cluster is created it may not yet).
sub main::replica_of {
    my ($c, $primary) = @_;
    my $deadline = Time::HiRes::time() + 10;
    while (1) {
        my @r = $c->replica_of($primary);
        return $r[0] if @r;
        die "no replica of 127.0.0.1:$primary known after 10 s\n"
            if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}

# Waits until the CLUSTER SLOTS of every node in @$ports lists $replica
# (a new nginx's first map comes from its first seed).
sub main::wait_listed {
    my ($c, $replica, $ports) = @_;
    # without a write, the offset moves with the primary's PING every 10 s
    my $deadline = Time::HiRes::time() + 15;
    while (1) {
        my @missing = grep {
            my $ranges = eval { $c->slot_ranges($_) } || [];
            !grep { grep { $_ == $replica } @{ $_->[3] } } @$ranges;
        } @$ports;
        return unless @missing;
        die "127.0.0.1:$replica not a replica in the CLUSTER SLOTS of "
            . join(', ', map { "127.0.0.1:$_" } @missing) . " after 15 s\n"
            if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.02);
    }
}

# The error log from now on, each line with the time it was first read.
sub main::tail_start {
    $main::tail = { pos => -s $Test::Nginx::Util::ErrLogFile // 0,
                    buf => '', lines => [] };
}

sub main::tail_poll {
    my $t = $main::tail;
    my ($data, $end) = FaultTest::read_from($Test::Nginx::Util::ErrLogFile,
                                            $t->{pos});
    my $now = Time::HiRes::time();
    $t->{pos} = $end;
    my @l = split /\n/, $t->{buf} . $data, -1;
    $t->{buf} = pop(@l) // '';
    for (@l) {
        my ($pid) = /\] (\d+)#\d+: /;
        push @{ $t->{lines} }, { t => $now, pid => $pid // 0, text => $_ };
    }
}

sub main::tail_lines {
    main::tail_poll();
    return @{ $main::tail->{lines} };
}

# A line without the cluster's name (its first seed) in it: "redis cluster
# <name>: ..." and a request's "redis <name> <node>: <cause>".
sub main::cluster_line {
    my ($text, $seed) = @_;
    (my $t = $text) =~ s/redis cluster 127\.0\.0\.1:$seed: //;
    $t =~ s/redis 127\.0\.0\.1:$seed (?=127\.0\.0\.1:\d+: |redis cluster )//;
    return $t;
}

sub main::workers_of_nginx {
    open my $fh, '<', $Test::Nginx::Util::PidFile or return ();
    chomp(my $master = <$fh> // '');
    close $fh;
    open my $ch, '<', "/proc/$master/task/$master/children" or return ();
    my @children = split ' ', scalar(<$ch>) // '';
    my @w = grep {
        open my $c, '<', "/proc/$_/cmdline";
        ($c ? scalar(<$c>) // '' : '') =~ /^nginx: worker process/;
    } @children;
    # under valgrind no process title is set: every child is a worker
    return @w ? @w : @children;
}

# Waits until every worker logged a slot map from the seed $port (a worker
# fetches it when it starts; the test must not race that first fetch), all
# of them: the master forks one after the other.
sub main::wait_for_maps {
    my ($port) = @_;
    my $deadline = Time::HiRes::time() + 5;
    while (1) {
        my @w = main::workers_of_nginx();
        my ($log) = FaultTest::read_from($Test::Nginx::Util::ErrLogFile, 0);
        my @missing = grep {
            $log !~ /\[info\] $_#\d+: .*redis cluster 127\.0\.0\.1:\d+: slot map from 127\.0\.0\.1:$port: /
        } @w;
        return if @w >= $WORKERS && !@missing;
        die "no slot map from $port logged by workers @missing ("
            . scalar(@w) . " of $WORKERS running)\n"
            if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.02);
    }
}

# Per worker of this nginx, the number of replicas in its first map.
sub main::first_maps {
    my ($log) = FaultTest::read_from($Test::Nginx::Util::ErrLogFile, 0);
    my %first;
    for my $w (main::workers_of_nginx()) {
        ($first{$w}) = $log =~ /\[info\] $w#\d+: .*redis cluster 127\.0\.0\.1:\d+: slot map from 127\.0\.0\.1:\d+: \d+ ranges, \d+ primaries, (\d+) replicas/;
    }
    return \%first;
}

sub main::create_sessions {
    my ($n, $path) = @_;
    my %created;
    for (1 .. $n) {
        my $res = FaultTest::http(GET => $path);
        my $j = eval { JSON::PP->new->decode($res->{body}) } || {};
        die "creating a session: $res->{status} $res->{body}\n"
            unless $res->{status} eq '200' && $j->{sessionId} && $j->{new};
        $created{ $j->{sessionId} } = $j->{creationTime};
    }
    return \%created;
}

# 'ok', 'unavailable' or what is wrong with an answer for session $id.
sub main::classify {
    my ($r, $id, $created) = @_;
    if ($r->{status} eq '503') {
        return $r->{body} =~ /\A\{"error":"session store unavailable"\}\n?\z/
               ? 'unavailable' : "503 with body $r->{body}";
    }
    return "status $r->{status}" unless $r->{status} eq '200';
    my $j = eval { JSON::PP->new->decode($r->{body}) };
    return "not JSON: $r->{body}" unless ref $j eq 'HASH';
    return "session $id answered as " . ($j->{sessionId} // 'none')
        unless ($j->{sessionId} // '') eq $id;
    return "session $id answered as new" if $j->{new};
    return "session $id: creationTime $j->{creationTime}, not $created"
        unless ($j->{creationTime} // '') eq $created;
    return 'ok';
}

sub main::cookie { return 'SESSION=' . SharedSessionTest::b64($_[0]) }

# Every session once, one after the other: the problems.
sub main::check_all {
    my ($created, $path) = @_;
    my @bad;
    for my $id (sort keys %$created) {
        my $r = FaultTest::http(GET => $path, Cookie => main::cookie($id));
        my $v = main::classify($r, $id, $created->{$id});
        push @bad, $v unless $v eq 'ok';
    }
    return @bad;
}

# Lines that end a round without a map ("slot map refresh failed").
sub main::failed_rounds {
    my ($seed, @lines) = @_;
    return grep { $_->{text} =~ /redis cluster 127\.0\.0\.1:$seed: slot map refresh failed/ }
           @lines;
}

sub main::lines { return join '', map { "$_\n" } @_ }

sub main::first5 { return @_ > 5 ? @_[0 .. 4] : @_ }


# TEST 1: per worker, the dead seed's first failure and the first answer of
# a live node after it.
sub main::answers_after_failure {
    my ($dead, $seed, @lines) = @_;
    my %w;
    for my $l (@lines) {
        my $text = main::cluster_line($l->{text}, $seed);
        my $w = $w{ $l->{pid} } //= {};
        if (!$w->{fail} && $text =~ /\[(error|warn)\]/
            && $text =~ /127\.0\.0\.1:$dead\b/ && $text =~ $DEAD)
        {
            $w->{fail} = $l;
        } elsif ($w->{fail} && !$w->{answer}
                 && $text =~ /\[info\].*slot map from 127\.0\.0\.1:(\d+): /
                 && $1 != $dead)
        {
            $w->{answer} = $l;
            $w->{by} = $1;
        }
    }
    delete $w{$_} for grep { !$w{$_}{fail} } keys %w;
    return \%w;
}

sub main::report_failover {
    my $c = $main::ca;
    my $tk = $main::t_kill;
    my $seed = $ENV{TEST_NGINX_A1};
    my (@fail, @wrong, $before);
    for my $r (@{ $main::results }) {
        my $v = main::classify($r, $r->{id}, $main::created->{ $r->{id} });
        if ($v eq 'unavailable') {
            push @fail, $r;
        } elsif ($v ne 'ok') {
            push @wrong, sprintf('+%d ms: %s', ($r->{done} - $tk) * 1000, $v);
        }
        $before++ if $r->{done} < $tk && $v ne 'ok';
    }
    @fail = sort { $a->{done} <=> $b->{done} } @fail;
    my $last = @fail ? $fail[-1]{done} - $tk : 0;
    my $ok = defined $main::t_ok ? $main::t_ok - $tk : undef;
    my $promoted = defined $main::t_promoted ? $main::t_promoted - $tk : undef;
    my @lines = @{ $main::lines };
    my $w = main::answers_after_failure($seed, $seed, @lines);
    my @gaps = map {
        my $x = $w->{$_};
        $x->{answer} ? sprintf('worker %d: %d ms, by %d', $_,
                               ($x->{answer}{t} - $x->{fail}{t}) * 1000,
                               $x->{by})
                     : "worker $_: no answer"
    } sort keys %$w;
    my @slow = grep {
        !$w->{$_}{answer}
        || $w->{$_}{answer}{t} - $w->{$_}{fail}{t} >= $THROTTLE
    } keys %$w;
    my @failed = main::failed_rounds($seed, @lines);
    diag(sprintf('failover: first 503 at +%d ms, last 503 at +%d ms, %d of '
                 . '%d requests failed; replica promoted at +%s ms, '
                 . 'cluster_state ok everywhere at +%s ms; a live node\'s '
                 . 'answer after the dead seed\'s first failure: %s',
                 @fail ? ($fail[0]{done} - $tk) * 1000 : 0, $last * 1000,
                 scalar @fail, scalar @{ $main::results },
                 defined $promoted ? int($promoted * 1000) : 'never',
                 defined $ok ? int($ok * 1000) : 'never',
                 join('; ', @gaps)));
    my $out = $main::on_victim ? "sessions on the killed seed: some\n"
                               : "sessions on the killed seed: none\n";
    $out .= grep({ $_ == $main::promoted } $c->primaries)
            ? "its replica promoted\n" : "its replica not promoted\n";
    $out .= "no failure before the kill\n" unless $before;
    $out .= @fail ? "some requests failed\n" : "no request failed\n";
    $out .= defined $ok && $last <= $ok + 1
            ? "last 503 within the cluster's failover time + 1 s\n"
            : sprintf("last 503 at %.2f s, cluster ok at %s s\n", $last,
                      defined $ok ? sprintf('%.2f', $ok) : 'never');
    $out .= @wrong ? main::lines(map { "wrong: $_" } main::first5(@wrong))
                   : "no wrong answer\n";
    $out .= %$w && !@slow
            ? "every worker: a live node answered right after the dead "
              . "seed failed\n"
            : main::lines(%$w ? @gaps : 'no worker saw the dead seed fail');
    $out .= @failed ? main::lines(map { "round failed: $_->{text}" }
                                      main::first5(@failed))
                    : "no refresh round failed\n";
    $out .= @{ $main::after }
            ? main::lines(map { "afterwards: $_" } main::first5(@{ $main::after }))
            : "afterwards every session answers unchanged\n";
    return $out;
}

# TEST 2: per worker, the round that asked the dead seeds: each failure
# names the node asked next, the last one answers.
sub main::report_dead_seeds {
    my $seed = $ENV{TEST_NGINX_B1};
    my ($s1, $s2) = ($ENV{TEST_NGINX_B1}, $ENV{TEST_NGINX_B2});
    my @lines = @{ $main::lines };
    my (%chain, @seen);
    for my $l (@lines) {
        my $text = main::cluster_line($l->{text}, $seed);
        my $c = $chain{ $l->{pid} } //= { steps => [] };
        next if $c->{done};
        if ($text =~ /\[warn\].*slot map refresh: 127\.0\.0\.1:(\d+): .*, asking 127\.0\.0\.1:(\d+)$/) {
            push @{ $c->{steps} }, [ $1, $2, $l->{t} ];
        } elsif ($text =~ /\[info\].*slot map from 127\.0\.0\.1:(\d+): / && @{ $c->{steps} }) {
            $c->{by} = $1;
            $c->{t} = $l->{t};
            $c->{done} = 1;
        }
    }
    my (@good, @bad);
    for my $pid (sort keys %chain) {
        my $c = $chain{$pid};
        next unless @{ $c->{steps} };
        my @s = @{ $c->{steps} };
        my $asked = join ' ', map { "$_->[0]" } @s;
        my $took = $c->{done} ? $c->{t} - $s[0][2] : undef;
        my $desc = sprintf('worker %d: %s failed, answered by %s%s', $pid,
                           $asked, $c->{by} // 'nobody',
                           defined $took ? sprintf(' %d ms after the first failure',
                                                   $took * 1000) : '');
        push @seen, $desc;
        my $ok = @s == 2 && $s[0][0] == $s1 && $s[0][1] == $s2
                 && $s[1][0] == $s2 && $c->{done}
                 && $s[1][1] == $c->{by}
                 && $c->{by} != $s1 && $c->{by} != $s2
                 && $took < $THROTTLE;
        push @{ $ok ? \@good : \@bad }, $desc;
    }
    my @failed = main::failed_rounds($seed, @lines);
    diag('dead seeds: ' . (@seen ? join('; ', @seen) : 'no round asked them'))
        if $ENV{TEST_VERBOSE};
    my $out = @{ $main::served_dead }
              ? main::lines(map { "with the seeds dead: $_" } main::first5(@{ $main::served_dead }))
              : "every session served with both seeds dead\n";
    $out .= $main::switched ? "shard 3 failed over by hand\n"
                            : "shard 3 not failed over\n";
    $out .= @{ $main::served_moved }
            ? main::lines(map { "after the failover: $_" } main::first5(@{ $main::served_moved }))
            : "every session served after the failover\n";
    $out .= @good && !@bad
            ? "a round asked both dead seeds, then a non-seed node "
              . "answered, within the round\n"
            : main::lines(@seen ? @bad : 'no round asked the dead seeds');
    $out .= @failed ? main::lines(map { "round failed: $_->{text}" }
                                      main::first5(@failed))
                    : "no refresh round failed\n";
    $out .= grep({ /\[info\].*slot map from 127\.0\.0\.1:\d+: \d+ ranges/ }
                 map { $_->{text} } @lines)
            ? "the new map logged\n" : "no new map logged\n";
    return $out;
}

# TEST 3: only a replica is left.
sub main::report_replica {
    my $seed = $ENV{TEST_NGINX_C1};
    my $r = $main::c_replica;
    my @lines = @{ $main::lines };
    my @st = @{ $main::statuses };
    my @not = grep { $_ ne '503' } @st;
    my %by;
    for my $l (@lines) {
        my $text = main::cluster_line($l->{text}, $seed);
        $by{ $l->{pid} }{$1}++
            if $text =~ /\[info\].*slot map from 127\.0\.0\.1:(\d+): /;
    }
    my @by_replica = grep { $by{$_}{$r} } keys %by;
    my @other = grep { $_ != $r } map { keys %{ $by{$_} } } keys %by;
    my @failed = main::failed_rounds($seed, @lines);
    diag(sprintf('only the replica %d left: %d requests; answers per worker: %s',
                 $r, scalar @st,
                 join('; ', map { my $p = $_;
                                  "$p: " . join(',', map { "$_ x$by{$p}{$_}" }
                                                     sort keys %{ $by{$p} }) }
                            sort keys %by)))
        if $ENV{TEST_VERBOSE};
    my $f = $main::first_maps;
    my @no_replica = grep { !$f->{$_} } sort keys %$f;
    my $out = !%$f ? "no first map found\n"
              : @no_replica
              ? main::lines(map { "worker $_: first map with "
                                  . ($f->{$_} // 'no') . " replicas" }
                                @no_replica)
              : "the first map of every worker has a replica\n";
    $out .= @not ? "not 503: @not\n" : "all 503\n";
    $out .= @by_replica ? "the replica answered the rounds\n"
                        : "the replica never answered\n";
    $out .= @other ? "answers from @other too\n" : "no other node answered\n";
    $out .= @failed ? main::lines(map { "round failed: $_->{text}" }
                                      main::first5(@failed))
                    : "no refresh round failed\n";
    return $out;
}

run_tests();

__DATA__

=== TEST 1: the first seed, a primary, killed (SIGKILL) under load, the cluster failing over: a live node answers in the round right after the dead seed fails, and the last 503 comes within the cluster's own failover time + 1 s
--- config
    shared_session_host hostA;
    shared_session_redis_cluster on;
    shared_session_redis 127.0.0.1:$TEST_NGINX_A1;
    shared_session_redis 127.0.0.1:$TEST_NGINX_A2;
    location = /a {
        shared_session;
    }
    location = /static {
        return 200 "static\n";
    }
--- init
my $c = $main::ca;
my $victim = $ENV{TEST_NGINX_A1};
main::wait_for_maps($victim);
$main::created = main::create_sessions(24, '/a');
my @ids = sort keys %{ $main::created };
$main::on_victim = grep { $c->node_for_key("spring:session:sessions:$_") == $victim } @ids;
($main::promoted) = $c->replica_of($victim);
# every worker has its connections to every primary
main::check_all($main::created, '/a') for 1 .. 2;
$c->wait_replicated(5);
main::tail_start();

my $i = 0;
my ($t_kill, $t_ok, $t_promoted, $last_check, $last_role);
my @res = ClusterTest::load(
    concurrency => 6, gap => 0.01, max => 30,
    requests => sub {
        my $id = $ids[ $i++ % @ids ];
        [ '/a', $id, Cookie => main::cookie($id) ];
    },
    tick => sub {
        main::tail_poll();
        my $now = Time::HiRes::time();
        if (!$t_kill && $i >= 60) {
            $c->kill_node($victim);
            $t_kill = Time::HiRes::time();
            return;
        }
        return unless $t_kill;
        if (!$t_promoted && $now - ($last_role // 0) > 0.02) {
            $last_role = $now;
            my $role = eval { $c->cmd($main::promoted, 'ROLE') } || [];
            $t_promoted = $now if ($role->[0] // '') eq 'master';
        }
        if (!$t_ok && $now - ($last_check // 0) > 0.1) {
            $last_check = $now;
            $t_ok = $now unless $c->not_ok_reason;
        }
    },
    until => sub { $t_ok && Time::HiRes::time() - $t_ok > 2 });
main::tail_poll();
$main::t_kill = $t_kill;
$main::t_ok = $t_ok;
$main::t_promoted = $t_promoted;
$main::results = \@res;
$main::lines = [ main::tail_lines() ];
$main::after = [ main::check_all($main::created, '/a') ];
--- request
GET /static
--- response_body_filters eval
sub { main::report_failover() }
--- response_body
sessions on the killed seed: some
its replica promoted
no failure before the kill
some requests failed
last 503 within the cluster's failover time + 1 s
no wrong answer
every worker: a live node answered right after the dead seed failed
no refresh round failed
afterwards every session answers unchanged
--- no_error_log eval
['[alert]', '[crit]', 'exited on signal', qr/exited with code [1-9]/]



=== TEST 2: both seeds (replicas) killed after nginx learned the map: sessions still served; a failover by hand sends MOVED, and that round asks both dead seeds, then a non-seed node, which answers with the new map
--- config
    shared_session_host hostB;
    shared_session_redis_cluster on;
    shared_session_redis 127.0.0.1:$TEST_NGINX_B1;
    shared_session_redis 127.0.0.1:$TEST_NGINX_B2;
    location = /b {
        shared_session;
    }
    location = /static {
        return 200 "static\n";
    }
--- init
my $c = $main::cb;
my ($s1, $s2) = ($ENV{TEST_NGINX_B1}, $ENV{TEST_NGINX_B2});
my ($p1, $p2, $p3) = @{ $main::b_primaries };
main::wait_for_maps($s1);
$main::created = main::create_sessions(24, '/b');
main::check_all($main::created, '/b');
$c->kill_node($s1);
$c->kill_node($s2);
# both workers see their idle connections to the seeds closed
Time::HiRes::sleep(0.3);
$main::served_dead = [ main::check_all($main::created, '/b') ];
main::tail_start();

# shard 3's replica takes over, as an operator's CLUSTER FAILOVER does
$c->cmd($main::b_r3, 'CLUSTER', 'FAILOVER');
my $deadline = Time::HiRes::time() + 10;
$main::switched = 0;
while (Time::HiRes::time() < $deadline) {
    my $role = eval { $c->cmd($main::b_r3, 'ROLE') } || [];
    my $old = eval { $c->cmd($p3, 'ROLE') } || [];
    if (($role->[0] // '') eq 'master' && ($old->[0] // '') eq 'slave') {
        $main::switched = 1;
        last;
    }
    Time::HiRes::sleep(0.02);
}
$c->wait_ok(10);

# the sessions of shard 3 get MOVED, each worker starts a round
my @ids = sort keys %{ $main::created };
my @bad;
for my $round (1 .. 3) {
    for my $id (@ids) {
        my $r = FaultTest::http(GET => '/b', Cookie => main::cookie($id));
        my $v = main::classify($r, $id, $main::created->{$id});
        push @bad, $v unless $v eq 'ok';
        main::tail_poll();
    }
}
$main::served_moved = \@bad;
Time::HiRes::sleep(0.05);
$main::lines = [ main::tail_lines() ];
# TEST 3's nginx starts as soon as this returns: its first map must name
# the demoted primary as the replica it now is, which the other nodes
# learn some 0.1 to 0.5 s after the failover (without this wait TEST 3
# raced that, and lost on a fast machine: its rounds never knew the
# replica)
main::wait_listed($c, $p3, [ $ENV{TEST_NGINX_C1}, $ENV{TEST_NGINX_C2} ]);
--- request
GET /static
--- response_body_filters eval
sub { main::report_dead_seeds() }
--- response_body
every session served with both seeds dead
shard 3 failed over by hand
every session served after the failover
a round asked both dead seeds, then a non-seed node answered, within the round
no refresh round failed
the new map logged
--- no_error_log eval
['[alert]', '[crit]', 'exited on signal', qr/exited with code [1-9]/]



=== TEST 3: every primary killed, only a replica left: the rounds ask it (replicas are refresh candidates) and none fails; requests get 503
The seeds are two primaries of the cluster of TEST 2, whose seeds (its
first two replicas) are dead; the third shard's replica is what is left.
--- config
    shared_session_host hostC;
    shared_session_redis_cluster on;
    shared_session_redis 127.0.0.1:$TEST_NGINX_C1;
    shared_session_redis 127.0.0.1:$TEST_NGINX_C2;
    location = /c {
        shared_session;
    }
    location = /static {
        return 200 "static\n";
    }
--- init
my $c = $main::cb;
main::wait_for_maps($ENV{TEST_NGINX_C1});
$main::first_maps = main::first_maps();
my @primaries = $c->primaries;
my @replicas = grep { my $p = $_; !grep { $_ == $p } @primaries } $c->live_ports;
die "expected one live replica, not @replicas\n" unless @replicas == 1;
$main::c_replica = $replicas[0];
main::tail_start();
$c->kill_node($_) for @primaries;
my @st;
my $t0 = Time::HiRes::time();
while (Time::HiRes::time() - $t0 < 2) {
    push @st, FaultTest::http(GET => '/c')->{status};
    main::tail_poll();
    Time::HiRes::sleep(0.02);
}
$main::statuses = \@st;
$main::lines = [ main::tail_lines() ];
--- request
GET /static
--- response_body_filters eval
sub { main::report_replica() }
--- response_body
the first map of every worker has a replica
all 503
the replica answered the rounds
no other node answered
no refresh round failed
--- no_error_log eval
['[alert]', '[crit]', 'exited on signal', qr/exited with code [1-9]/]
