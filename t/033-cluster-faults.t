# Redis Cluster mode (shared_session_redis_cluster on) against hostile or
# broken cluster nodes: scripted fakes (FaultTest::FakeRedis) on free ports
# of 127.0.0.1 that answer CLUSTER SLOTS with slot maps pointing at each
# other, and the session commands the module sends in cluster mode (HMGET
# per candidate id, then EVALSHA of the one-key hash script, SET of the shadow
# key, SADD/PEXPIRE/SREM of the bucket) as told.
#
#  1-2   a sane fake cluster of two nodes serves (the fakes are good enough,
#        every command goes to the node of its key's slot)
#  3-21  CLUSTER SLOTS replies of the wrong shape: 503 at once, logged
#  22    one seed answers a broken map, the other a good one: served
#  23-26 MOVED ping-pong, ASK to a node refusing ASKING, ASK to a dead node
#  27-35 MOVED/ASK replies that cannot be read, or name an unusable node
#  36-38 TRYAGAIN and CLUSTERDOWN forever: bounded retries, 503 in time
#  39    CLUSTER SLOTS reply cut by a closed connection: 503, then served
#  40    a seed that never answers CLUSTER SLOTS, the other one fine
#  41    (todo) a late map must not get a healthy node closed as stalled
#  42    a map naming 16384 nodes (over the 1024-node cap)
#  43    clients leaving while their commands wait for a retry or the map
#
# Every location has its own fakes (own ports), started by its block's
# --- init; the nginx started for a block found them not running yet, so
# main::settle() waits out the reconnect back-off (100 ms) that left.
# Every answer must be the defined one (200, or 503 with the JSON error and
# an error line), within shared_session_redis_timeout, and no worker may
# crash ([alert], [crit], "exited on signal", and "exited with code 1..",
# which is how an AddressSanitizer build dies, are checked in every block).

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use ClusterTest ();
use JSON::PP ();
use Digest::SHA ();
use Time::HiRes ();
use Test::Nginx::Socket 'no_plan';
no warnings 'once';    # $main::... set in one section, read in another

no_shuffle();
no_long_string();
log_level('info');
master_on();
workers(1);
timeout(10);

my @SHAPES = qw(NOTARRAY NILREPLY ERRREPLY EMPTY SHORTRANGE STARTEND
                NEGSTART SLOTHIGH SLOTSTR PORT0 PORTHIGH PORTSTR HOSTSPACE
                HOSTCTRL HOSTLONG ERRELEM EMPTYNODE DEEP HUGE);
my @MOVED = (1 .. 9);

my %seen = map { $_ => 1 } grep { defined }
    @ENV{qw(TEST_NGINX_PORT TEST_NGINX_SERVER_PORT TEST_NGINX_REDIS_PORT)};
for my $name (qw(SANE_A SANE_B MIXED_A MIXED_B PP_A PP_B ASK1_A ASK1_B
                 ASK2_A ASK2_B ASK3_A ASK3_DEAD TRY TRYS DOWN MID
                 HANG_A HANG_B SLOW MANY LEAVE LEAVE_MAP),
              (map { "SHAPE_$_" } @SHAPES), (map { "MOVED_$_" } @MOVED))
{
    my $p;
    do { $p = FaultTest::free_port() } while $seen{$p}++;
    $ENV{"TEST_NGINX_FAKE_$name"} = $p;
}

sub main::port { return $ENV{"TEST_NGINX_FAKE_$_[0]"} }

my $config = <<'EOF';
    shared_session_host hostF;
    shared_session_redis_cluster on;
    shared_session_redis_timeout 1s;
    location = /sane {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_SANE_A;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_SANE_B;
    }
    location = /mixed {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_MIXED_A;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_MIXED_B;
    }
    location = /pingpong {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_PP_A;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_PP_B;
    }
    location = /ask-refused {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_ASK1_A;
    }
    location = /ask-loop {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_ASK2_A;
    }
    location = /ask-dead {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_ASK3_A;
    }
    location = /tryagain {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_TRY;
    }
    location = /tryagain-short {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_TRYS;
        shared_session_redis_timeout 150ms;
    }
    location = /clusterdown {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_DOWN;
    }
    location = /midclose {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_MID;
    }
    location = /hang {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_HANG_A;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_HANG_B;
    }
    location = /slow-map {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_SLOW;
    }
    location = /many-nodes {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_MANY;
    }
    location = /leave-retry {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_LEAVE;
    }
    location = /leave-map {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_LEAVE_MAP;
    }
    location = /static {
        return 200 "static\n";
    }
EOF

for my $name ((map { "SHAPE_$_" } @SHAPES), (map { "MOVED_$_" } @MOVED)) {
    (my $path = lc $name) =~ tr/_/-/;
    $config .= <<"EOF";
    location = /$path {
        shared_session;
        shared_session_redis 127.0.0.1:\$TEST_NGINX_FAKE_$name;
    }
EOF
}

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
    # a worker that died otherwise (AddressSanitizer, make asan) exits with 1
    $block->set_value(no_error_log => ['[alert]', '[crit]', 'exited on signal',
                                       qr/exited with code [1-9]/])
        unless defined $block->no_error_log;
});


############################################################################
# Helpers (main::, because Test::Nginx evaluates the sections elsewhere)

# A CLUSTER SLOTS reply: ranges [start, end, port, host (127.0.0.1)].
sub main::slot_map {
    return FaultTest::arr(map {
        my ($start, $end, $port, $host) = @$_;
        FaultTest::arr(FaultTest::integer($start), FaultTest::integer($end),
                       FaultTest::arr(FaultTest::bulk($host // '127.0.0.1'),
                                      FaultTest::integer($port),
                                      FaultTest::bulk("node$port")));
    } @_);
}

# One range: every slot served by the node on $port.
sub main::all_slots { return main::slot_map([0, 16383, $_[0]]) }

sub main::is_slots {
    my ($argv) = @_;
    return uc($argv->[0] // '') eq 'CLUSTER' && uc($argv->[1] // '') eq 'SLOTS';
}

# The key of a session command: the script's first key, or argv[1].
sub main::key_of {
    my ($argv) = @_;
    return $argv->[3] if uc($argv->[0]) =~ /^EVAL(SHA)?$/;
    return $argv->[1];
}

sub main::is_session_command {
    my ($argv) = @_;
    return uc($argv->[0] // '')
        =~ /^(HMGET|EVAL|EVALSHA|SET|SADD|PEXPIRE|SREM|HMSET|PUBLISH)$/;
}

# What a real node answers to the module's commands for an empty database.
sub main::session_reply {
    my ($argv) = @_;
    my $name = uc($argv->[0] // '');
    return FaultTest::arr((FaultTest::nil()) x (@$argv - 2)) if $name eq 'HMGET';
    return FaultTest::integer(1) if $name =~ /^EVAL(SHA)?$/;
    return FaultTest::status('OK') if $name eq 'SET' || $name eq 'HMSET';
    return FaultTest::integer(1) if $name eq 'SADD' || $name eq 'PEXPIRE';
    return FaultTest::integer(0) if $name eq 'SREM' || $name eq 'PUBLISH';
    return FaultTest::status('OK') if $name eq 'ASKING';
    return FaultTest::bulk(Digest::SHA::sha1_hex($argv->[2] // ''))
        if $name eq 'SCRIPT' && uc($argv->[1] // '') eq 'LOAD';
    return FaultTest::status('PONG') if $name eq 'PING';
    return FaultTest::err("ERR unknown command '$argv->[0]'");
}

# A fake cluster node on the port of $name: CLUSTER SLOTS gets $o{slots}
# (bytes, or a code ref: argv, ctx -> actions); a session command gets
# $o{session}->(argv, ctx) if that returns anything, else session_reply;
# everything else (ASKING included) $o{other} or session_reply.
sub main::fake_node {
    my ($name, %o) = @_;
    return FaultTest::FakeRedis->start(
        port => main::port($name),
        on_command => sub {
            my ($argv, $ctx) = @_;
            if (main::is_slots($argv)) {
                return ref $o{slots} eq 'CODE' ? $o{slots}->($argv, $ctx)
                                               : $o{slots};
            }
            if ($o{session} && main::is_session_command($argv)) {
                my @a = $o{session}->($argv, $ctx);
                return @a if @a;
            }
            if ($o{other} && !main::is_session_command($argv)) {
                my @a = $o{other}->($argv, $ctx);
                return @a if @a;
            }
            return main::session_reply($argv);
        });
}

sub main::fake { return FaultTest::FakeRedis->running(main::port($_[0])) }

# The nginx of this block may have started just now and found the block's
# fakes not running: its first refresh failed, and the seeds back off for
# 100 ms.  Wait until that is over, then start the stopwatch.
sub main::settle {
    my $pid_file = $Test::Nginx::Util::PidFile;
    my $t = defined $pid_file ? (Time::HiRes::stat($pid_file))[9] : undef;
    my $age = defined $t ? Time::HiRes::time() - $t : 1;
    Time::HiRes::sleep(0.4 - $age) if $age < 0.4;
    Time::HiRes::sleep(0.05);
    FaultTest::log_mark();
    SharedSessionTest::mark();
}

# "in time" when the request took between $lo and $hi seconds since
# SharedSessionTest::mark() (the end of --- init).
sub main::timing {
    my ($lo, $hi) = @_;
    # under valgrind (memory checks, not timing) a 16384-range map alone
    # takes seconds to parse
    $hi *= 10 if $ENV{TEST_NGINX_USE_VALGRIND};
    my $e = SharedSessionTest::elapsed();
    SharedSessionTest::mark();
    return $e >= $lo && $e < $hi ? "in time\n"
         : sprintf("answered after %.3f s, expected %.2f..%.2f s\n",
                   $e, $lo, $hi);
}

sub main::unavailable {
    my ($body) = @_;
    return $body =~ /\A\{"error":"session store unavailable"\}\n?\z/
           ? "503 body ok\n" : "body: $body\n";
}

# The usual check of a 503: the JSON body, within the 1 s timeout.
sub main::fast_503 { return main::unavailable($_[0]) . main::timing(0, 1.25) }

# The two error lines of a bad CLUSTER SLOTS reply from the only seed.
sub main::bad_slots_log {
    my ($name, $what) = @_;
    my $p = main::port($name);
    return [qr/\[error\].*shared session: redis cluster 127\.0\.0\.1:$p: bad CLUSTER SLOTS reply from 127\.0\.0\.1:$p: \Q$what\E/,
            qr/\[error\].*shared session: redis 127\.0\.0\.1:$p 127\.0\.0\.1:$p: bad CLUSTER SLOTS reply/];
}

# A single-seed fake whose CLUSTER SLOTS reply is $reply.
sub main::bad_slots {
    my ($name, $reply) = @_;
    main::fake_node($name, slots => $reply);
    main::settle();
}

# Session commands received by a fake, by name: "EVALSHA=6 SET=6 ..."
sub main::session_counts {
    my ($name) = @_;
    my %n;
    $n{ uc $_->{argv}[0] }++
        for grep { main::is_session_command($_->{argv}) } main::fake($name)->commands;
    return \%n;
}

sub main::count_of {
    my ($name, $what) = @_;
    return scalar grep { uc(join ' ', @{ $_->{argv} }[0 .. ($what =~ tr/ //)]) eq $what }
                  main::fake($name)->commands;
}

# The sane cluster runs from the start, so that even the first nginx finds
# it (its blocks check that no error or warning names its nodes).
$main::MAP = main::slot_map([0, 8191, main::port('SANE_A')],
                            [8192, 16383, main::port('SANE_B')]);
main::fake_node($_, slots => $main::MAP) for qw(SANE_A SANE_B);

# [status, seconds taken, start offset]... as runs: "503 x2 (1.00 s each)
# from 0.00 s, ..."
sub main::runs {
    my @runs;
    for my $r (@_) {
        if (@runs && $runs[-1]{status} eq $r->[0]) {
            push @{ $runs[-1]{took} }, $r->[1];
            next;
        }
        push @runs, { status => $r->[0], took => [ $r->[1] ], at => $r->[2] // 0 };
    }
    return CORE::join ', ', map {
        my @t = sort { $a <=> $b } @{ $_->{took} };
        sprintf '%s x%d from %.2f s (took %.3f..%.3f s)', $_->{status},
                scalar @t, $_->{at}, $t[0], $t[-1];
    } @runs;
}

run_tests();

__DATA__

=== TEST 1: a sane fake cluster of two nodes (slots 0-8191 on A, 8192-16383 on B) serves a new session
--- init
main::settle();
--- request
GET /sane
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) . main::timing(0, 1.25) }
--- response_body
body: {"sessionId":"<new>","host":"hostF","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
in time
--- error_log eval
qr/\[info\].*shared session: redis cluster 127\.0\.0\.1:\d+: slot map from 127\.0\.0\.1:\d+: 2 ranges, 2 primaries/
--- no_error_log eval
[qr/\[(error|warn)\].*127\.0\.0\.1:($ENV{TEST_NGINX_FAKE_SANE_A}|$ENV{TEST_NGINX_FAKE_SANE_B})\b/,
 '[alert]', '[crit]', 'exited on signal', qr/exited with code [1-9]/]



=== TEST 2: with an unknown session cookie: HMGET (nils), then EVALSHA, SET, SADD, PEXPIRE, and Spring's created event (PUBLISH); each on the node of its key's slot
--- init
%main::before = map { $_ => scalar(my @c = main::fake($_)->commands) } qw(SANE_A SANE_B);
main::settle();
--- request
GET /sane
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub {
    my $out = SharedSessionTest::normalizer()->body($_[0]) . main::timing(0, 1.25);
    my (%names, @wrong);
    for my $node (qw(SANE_A SANE_B)) {
        my @c = main::fake($node)->commands;
        for my $c (@c[$main::before{$node} .. $#c]) {
            next unless main::is_session_command($c->{argv});
            my $slot = ClusterTest::key_slot(main::key_of($c->{argv}));
            my $want = $slot <= 8191 ? 'SANE_A' : 'SANE_B';
            $names{ uc $c->{argv}[0] }++;
            push @wrong, "$c->{argv}[0] slot $slot on $node" if $want ne $node;
        }
    }
    $out . 'commands: ' . CORE::join(' ', sort keys %names) . "\n"
         . 'misrouted: ' . (@wrong ? "@wrong" : 'none') . "\n";
}
--- response_body
body: {"sessionId":"<new>","host":"hostF","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
in time
commands: EVALSHA HMGET PEXPIRE PUBLISH SADD SET
misrouted: none
--- no_error_log eval
[qr/\[(error|warn)\].*127\.0\.0\.1:($ENV{TEST_NGINX_FAKE_SANE_A}|$ENV{TEST_NGINX_FAKE_SANE_B})\b/,
 '[alert]', '[crit]', 'exited on signal', qr/exited with code [1-9]/]



=== TEST 3: CLUSTER SLOTS answered with a string: 503 at once, logged
--- init
main::bad_slots('SHAPE_NOTARRAY', FaultTest::bulk('0 16383 127.0.0.1 6379'));
--- request
GET /shape-notarray
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_NOTARRAY', 'not an array')



=== TEST 4: CLUSTER SLOTS answered with a nil array: 503, logged
--- init
main::bad_slots('SHAPE_NILREPLY', "*-1\r\n");
--- request
GET /shape-nilreply
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_NILREPLY', 'not an array')



=== TEST 5: CLUSTER SLOTS answered with an error (cluster support disabled): 503 with that error
--- init
main::bad_slots('SHAPE_ERRREPLY', FaultTest::err('ERR This instance has cluster support disabled'));
--- request
GET /shape-errreply
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
[qr/\[warn\].*slot map refresh failed: 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPE_ERRREPLY}: ERR This instance has cluster support disabled/,
 qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPE_ERRREPLY} 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPE_ERRREPLY}: ERR This instance has cluster support disabled/]



=== TEST 6: an empty array of ranges: 503, logged
--- init
main::bad_slots('SHAPE_EMPTY', FaultTest::arr());
--- request
GET /shape-empty
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_EMPTY', 'no slot ranges')



=== TEST 7: a range of two elements (no node): 503, logged
--- init
main::bad_slots('SHAPE_SHORTRANGE',
    FaultTest::arr(FaultTest::arr(FaultTest::integer(0), FaultTest::integer(16383))));
--- request
GET /shape-shortrange
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_SHORTRANGE', 'a range is not an array of 3 or more elements')



=== TEST 8: a range whose start is after its end: 503, logged
--- init
main::bad_slots('SHAPE_STARTEND',
    main::slot_map([0, 8191, main::port('SHAPE_STARTEND')],
                   [16383, 8192, main::port('SHAPE_STARTEND')]));
--- request
GET /shape-startend
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_STARTEND', 'a slot range is out of bounds')



=== TEST 9: a negative start slot: 503, logged
--- init
main::bad_slots('SHAPE_NEGSTART', main::slot_map([-1, 16383, main::port('SHAPE_NEGSTART')]));
--- request
GET /shape-negstart
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_NEGSTART', 'a slot range is out of bounds')



=== TEST 10: a slot over 16383 (16384, and 2^63-1): 503, logged
--- init
main::bad_slots('SHAPE_SLOTHIGH',
    main::slot_map([0, 16384, main::port('SHAPE_SLOTHIGH')],
                   [0, '9223372036854775807', main::port('SHAPE_SLOTHIGH')]));
--- request
GET /shape-slothigh
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_SLOTHIGH', 'a slot range is out of bounds')



=== TEST 11: slots given as strings: 503, logged
--- init
main::bad_slots('SHAPE_SLOTSTR',
    FaultTest::arr(FaultTest::arr(FaultTest::bulk('0'), FaultTest::bulk('16383'),
        FaultTest::arr(FaultTest::bulk('127.0.0.1'),
                       FaultTest::integer(main::port('SHAPE_SLOTSTR'))))));
--- request
GET /shape-slotstr
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_SLOTSTR', 'a slot is not an integer')



=== TEST 12: port 0: 503, logged
--- init
main::bad_slots('SHAPE_PORT0', main::slot_map([0, 16383, 0]));
--- request
GET /shape-port0
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_PORT0', "a primary's port is not a port")



=== TEST 13: port 65536 (and a negative one): 503, logged
--- init
main::bad_slots('SHAPE_PORTHIGH', main::slot_map([0, 100, 65536], [101, 16383, -6379]));
--- request
GET /shape-porthigh
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_PORTHIGH', "a primary's port is not a port")



=== TEST 14: a port given as a string: 503, logged
--- init
main::bad_slots('SHAPE_PORTSTR',
    FaultTest::arr(FaultTest::arr(FaultTest::integer(0), FaultTest::integer(16383),
        FaultTest::arr(FaultTest::bulk('127.0.0.1'),
                       FaultTest::bulk(main::port('SHAPE_PORTSTR'))))));
--- request
GET /shape-portstr
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_PORTSTR', "a primary's port is not a port")



=== TEST 15: a host with a space: 503, logged
--- init
main::bad_slots('SHAPE_HOSTSPACE',
    main::slot_map([0, 16383, main::port('SHAPE_HOSTSPACE'), '127.0.0.1 evil']));
--- request
GET /shape-hostspace
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_HOSTSPACE', "a primary's host is not a host name or address")



=== TEST 16: a host with control characters, a NUL and CRLF: 503, logged, not echoed
--- init
main::bad_slots('SHAPE_HOSTCTRL',
    main::slot_map([0, 16383, main::port('SHAPE_HOSTCTRL'), "127.0.0.1\x00\r\n\x1b[31mX"]));
--- request
GET /shape-hostctrl
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::fast_503($_[0]);
    my $log = FaultTest::log_since_mark();
    $out . ($log =~ /\x1b|\x00/ ? "control bytes in the log\n" : "log clean\n");
}
--- response_body
503 body ok
in time
log clean
--- error_log eval
main::bad_slots_log('SHAPE_HOSTCTRL', "a primary's host is not a host name or address")



=== TEST 17: a host of 300 bytes: 503, logged
--- init
main::bad_slots('SHAPE_HOSTLONG',
    main::slot_map([0, 16383, main::port('SHAPE_HOSTLONG'), 'h' x 300]));
--- request
GET /shape-hostlong
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_HOSTLONG', "a primary's host is not a host name or address")



=== TEST 18: a range that is an error reply, and a slot that is one: 503, logged
--- init
main::bad_slots('SHAPE_ERRELEM',
    FaultTest::arr(FaultTest::err('ERR not a range'),
        FaultTest::arr(FaultTest::err('ERR x'), FaultTest::integer(16383),
            FaultTest::arr(FaultTest::bulk('127.0.0.1'), FaultTest::integer(6379)))));
--- request
GET /shape-errelem
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_ERRELEM', 'a range is not an array of 3 or more elements')



=== TEST 19: a range whose node entry is an empty array: 503, logged
--- init
main::bad_slots('SHAPE_EMPTYNODE',
    FaultTest::arr(FaultTest::arr(FaultTest::integer(0), FaultTest::integer(16383),
                                  FaultTest::arr())));
--- request
GET /shape-emptynode
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
main::bad_slots_log('SHAPE_EMPTYNODE', 'a primary is not an array of 2 or more elements')



=== TEST 20: arrays nested 12 deep (beyond the parser's depth): 503, the connection is closed
--- init
main::bad_slots('SHAPE_DEEP', ("*1\r\n" x 12) . FaultTest::integer(1));
--- request
GET /shape-deep
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
[qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPE_DEEP} connection lost: .*nested/,
 qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPE_DEEP} 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPE_DEEP}: connection lost/]



=== TEST 21: 20000 ranges (over the reader's 16384-element cap): 503, the connection is closed
--- init
main::bad_slots('SHAPE_HUGE',
    main::slot_map(map { [$_ % 16384, $_ % 16384, main::port('SHAPE_HUGE')] } 0 .. 19999));
--- request
GET /shape-huge
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
[qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPE_HUGE} sent an invalid reply: an array over 16384 elements/,
 qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPE_HUGE} 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPE_HUGE}: /]



=== TEST 22: two seeds, one answers a broken map, the other a good one: served (the next node is asked while there is no map)
--- init
main::fake_node('MIXED_A', slots => FaultTest::arr());
main::fake_node('MIXED_B', slots => main::all_slots(main::port('MIXED_B')));
main::settle();
$main::asked_before = main::count_of('MIXED_A', 'CLUSTER SLOTS');
--- request
GET /mixed
--- response_body_filters eval
sub {
    my $out = SharedSessionTest::normalizer()->body($_[0]) . main::timing(0, 1.25);
    # if the broken seed was asked for this request, that was logged
    my $asked = main::count_of('MIXED_A', 'CLUSTER SLOTS') - $main::asked_before;
    my $log = FaultTest::log_since_mark();
    $out . ($asked && $log !~ /bad CLUSTER SLOTS reply from 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MIXED_A}: no slot ranges/
            ? "broken seed asked, not logged\n" : "log ok\n")
         . 'session commands on the broken seed: '
         . scalar(keys %{ main::session_counts('MIXED_A') }) . "\n";
}
--- response_body_like
^body: \{"sessionId":"<new>",.*"new":true\}
in time
log ok
session commands on the broken seed: 0



=== TEST 23: MOVED ping-pong between two nodes: 503 after 5 redirections, at once, no connection storm
--- init
my ($a, $b) = (main::port('PP_A'), main::port('PP_B'));
my $moved = sub {
    my ($to) = @_;
    return sub {
        my ($argv) = @_;
        FaultTest::err('MOVED ' . ClusterTest::key_slot(main::key_of($argv))
                       . " 127.0.0.1:$to");
    };
};
main::fake_node('PP_A', slots => main::all_slots($a), session => $moved->($b));
main::fake_node('PP_B', slots => main::all_slots($a), session => $moved->($a));
main::settle();
--- request
GET /pingpong
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::fast_503($_[0]);
    Time::HiRes::sleep(0.3);
    my ($na, $nb) = map { main::session_counts($_) } qw(PP_A PP_B);
    my %sum;
    $sum{$_} += $na->{$_} // 0 for keys %$na;
    $sum{$_} += $nb->{$_} // 0 for keys %$nb;
    my @over = grep { $sum{$_} > 6 } sort keys %sum;
    $out . 'commands sent more than 6 times: ' . (@over ? "@over" : 'none') . "\n"
         . 'redirected: ' . (grep({ $_ > 1 } values %sum) ? 'yes' : 'no') . "\n"
         . 'connections: ' . (main::fake('PP_A')->connections <= 2
                              && main::fake('PP_B')->connections <= 2
                              ? "at most 2 per node\n"
                              : main::fake('PP_A')->connections . ' and '
                                . main::fake('PP_B')->connections . "\n");
}
--- response_body
503 body ok
in time
commands sent more than 6 times: none
redirected: yes
connections: at most 2 per node
--- error_log eval
[qr/\[info\].*shared session: redis cluster 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_PP_A}: MOVED slot \d+ to 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_PP_B}/,
 qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_PP_A} too many redirections/]



=== TEST 24: ASK to a node that answers ASKING with an error but serves the command: served (ASKING's reply is not used)
--- init
my $b = main::port('ASK1_B');
main::fake_node('ASK1_A', slots => main::all_slots(main::port('ASK1_A')),
    session => sub {
        FaultTest::err('ASK ' . ClusterTest::key_slot(main::key_of($_[0]))
                       . " 127.0.0.1:$b");
    });
main::fake_node('ASK1_B', slots => main::all_slots(main::port('ASK1_A')),
    other => sub {
        uc $_[0][0] eq 'ASKING' ? FaultTest::err('ERR ASKING is not allowed') : ();
    });
main::settle();
--- request
GET /ask-refused
--- response_body_filters eval
sub {
    my $out = SharedSessionTest::normalizer()->body($_[0]) . main::timing(0, 1.25);
    my @b = map { uc $_->{argv}[0] } main::fake('ASK1_B')->commands;
    my $pairs = CORE::join ' ', @b;
    # every command on B follows an ASKING
    my $ok = 1;
    for my $i (0 .. $#b) {
        next unless main::is_session_command([$b[$i]]);
        $ok = 0 unless $i > 0 && $b[$i - 1] eq 'ASKING';
    }
    $out . 'each command on B after ASKING: ' . ($ok ? 'yes' : "no ($pairs)") . "\n";
}
--- response_body_like
^body: \{"sessionId":"<new>",.*"new":true\}
in time
each command on B after ASKING: yes
--- error_log eval
qr/\[info\].*shared session: redis cluster 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_ASK1_A}: ASK slot \d+ to 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_ASK1_B}/



=== TEST 25: ASK to a node that refuses ASKING and sends the command back (MOVED): 503 after the redirection limit
The request ends while ASKING commands of its redirections still wait for
their replies on the other node: nothing may use the request's memory
afterwards (AddressSanitizer: make asan).
--- init
my ($a, $b) = (main::port('ASK2_A'), main::port('ASK2_B'));
main::fake_node('ASK2_A', slots => main::all_slots($a),
    session => sub {
        FaultTest::err('ASK ' . ClusterTest::key_slot(main::key_of($_[0]))
                       . " 127.0.0.1:$b");
    });
main::fake_node('ASK2_B', slots => main::all_slots($a),
    session => sub {
        FaultTest::err('MOVED ' . ClusterTest::key_slot(main::key_of($_[0]))
                       . " 127.0.0.1:$a");
    },
    other => sub {
        uc $_[0][0] eq 'ASKING' ? FaultTest::err('ERR ASKING is not allowed') : ();
    });
main::settle();
--- request
GET /ask-loop
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::fast_503($_[0]);
    Time::HiRes::sleep(0.2);
    my %sum;
    for my $n (qw(ASK2_A ASK2_B)) {
        my $c = main::session_counts($n);
        $sum{$_} += $c->{$_} for keys %$c;
    }
    my @over = grep { $sum{$_} > 6 } sort keys %sum;
    $out . 'commands sent more than 6 times: ' . (@over ? "@over" : 'none') . "\n";
}
--- response_body
503 body ok
in time
commands sent more than 6 times: none
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_ASK2_A} too many redirections/



=== TEST 26: ASK to a port where nothing listens: 503 at once, the node named
As in TEST 25, ASKING commands outlive the request (make asan).
--- init
my $dead = main::port('ASK3_DEAD');
main::fake_node('ASK3_A', slots => main::all_slots(main::port('ASK3_A')),
    session => sub {
        FaultTest::err('ASK ' . ClusterTest::key_slot(main::key_of($_[0]))
                       . " 127.0.0.1:$dead");
    });
main::settle();
--- request
GET /ask-dead
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_ASK3_A} 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_ASK3_DEAD}: connect failed/



=== TEST 27: "-MOVED" alone: not a redirection, passed on as the error: 503
--- init
main::fake_node('MOVED_1', slots => main::all_slots(main::port('MOVED_1')),
                session => sub { FaultTest::err('MOVED') });
main::settle();
--- request
GET /moved-1
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_1} MOVED, client:/



=== TEST 28: "-MOVED x y": logged as a bad redirection, passed on: 503
--- init
main::fake_node('MOVED_2', slots => main::all_slots(main::port('MOVED_2')),
                session => sub { FaultTest::err('MOVED x y') });
main::settle();
--- request
GET /moved-2
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
[qr/\[error\].*shared session: redis cluster 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_2}: bad redirection from 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_2}: "MOVED x y"/,
 qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_2} MOVED x y, client:/]



=== TEST 29: "-MOVED 1 nohostport": bad redirection, passed on: 503
--- init
main::fake_node('MOVED_3', slots => main::all_slots(main::port('MOVED_3')),
                session => sub { FaultTest::err('MOVED 1 nohostport') });
main::settle();
--- request
GET /moved-3
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
[qr/\[error\].*bad redirection from 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_3}: "MOVED 1 nohostport"/,
 qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_3} MOVED 1 nohostport, client:/]



=== TEST 30: "-MOVED 1 127.0.0.1:99999": bad redirection, passed on: 503
--- init
main::fake_node('MOVED_4', slots => main::all_slots(main::port('MOVED_4')),
                session => sub { FaultTest::err('MOVED 1 127.0.0.1:99999') });
main::settle();
--- request
GET /moved-4
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
[qr/\[error\].*bad redirection from 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_4}: "MOVED 1 127\.0\.0\.1:99999"/,
 qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_4} MOVED 1 127\.0\.0\.1:99999, client:/]



=== TEST 31: "-MOVED 16384 127.0.0.1:<port>" (slot out of range): bad redirection, 503
--- init
main::fake_node('MOVED_5', slots => main::all_slots(main::port('MOVED_5')),
                session => sub { FaultTest::err('MOVED 16384 127.0.0.1:' . main::port('MOVED_5')) });
main::settle();
--- request
GET /moved-5
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
qr/\[error\].*bad redirection from 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_5}: "MOVED 16384 /



=== TEST 32: "-ASK 1 127.0.0.1:0" and "-ASK -1 ..." and a host with a control byte: bad redirections, 503 each
--- init
my $p = main::port('MOVED_6');
my @bad = ('ASK 1 127.0.0.1:0', "ASK -1 127.0.0.1:$p", "MOVED 1 127.0.\x01.1:$p");
main::fake_node('MOVED_6', slots => main::all_slots($p),
                session => sub { FaultTest::err($bad[ $_[1]{state}{n}++ % 3 ]) });
main::settle();
--- request eval
["GET /moved-6", "GET /moved-6", "GET /moved-6"]
--- error_code eval
[503, 503, 503]
--- response_body_filters eval
\&main::fast_503
--- response_body eval
["503 body ok\nin time\n", "503 body ok\nin time\n", "503 body ok\nin time\n"]
--- error_log eval
qr/\[error\].*bad redirection from 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_6}: "(ASK|MOVED) /



=== TEST 33: "-ASK" alone and "-MOVED " with a trailing space only: passed on: 503
--- init
my @bad = ('ASK', 'MOVED ');
main::fake_node('MOVED_7', slots => main::all_slots(main::port('MOVED_7')),
                session => sub { FaultTest::err($bad[ $_[1]{state}{n}++ % 2 ]) });
main::settle();
--- request eval
["GET /moved-7", "GET /moved-7"]
--- error_code eval
[503, 503]
--- response_body_filters eval
\&main::fast_503
--- response_body eval
["503 body ok\nin time\n", "503 body ok\nin time\n"]
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_7} (ASK|MOVED)/



=== TEST 34: "-MOVED <slot> :<port>" (empty host: the node that answered): followed, served
--- init
my $p = main::port('MOVED_8');
main::fake_node('MOVED_8', slots => main::all_slots($p),
    session => sub {
        my ($argv, $ctx) = @_;
        return () if $ctx->{state}{moved}{ main::key_of($argv) }++;
        FaultTest::err('MOVED ' . ClusterTest::key_slot(main::key_of($argv)) . " :$p");
    });
main::settle();
--- request
GET /moved-8
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) . main::timing(0, 1.25) }
--- response_body_like
^body: \{"sessionId":"<new>",.*"new":true\}
in time
--- error_log eval
qr/\[info\].*MOVED slot \d+ to 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_8}/



=== TEST 35: "-MOVED <slot> evil.example:6379" (a name, no resolver): that node is not used, 503 naming it
--- init
main::fake_node('MOVED_9', slots => main::all_slots(main::port('MOVED_9')),
    session => sub {
        FaultTest::err('MOVED ' . ClusterTest::key_slot(main::key_of($_[0])) . ' evil.example:6379');
    });
main::settle();
--- request
GET /moved-9
--- error_code: 503
--- response_body_filters eval
\&main::fast_503
--- response_body
503 body ok
in time
--- error_log eval
[qr/\[error\].*redis node "evil\.example:6379" is a name, and no "resolver" is configured/,
 qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_9} redis cluster 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MOVED_9}: no node for "evil\.example:6379"/]



=== TEST 36: TRYAGAIN forever: 503 after at most 5 retries per command, within the 1 s timeout
--- init
main::fake_node('TRY', slots => main::all_slots(main::port('TRY')),
                session => sub { FaultTest::err('TRYAGAIN Multiple keys request during rehashing of slot') });
main::settle();
--- request
GET /tryagain
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::unavailable($_[0]) . main::timing(0.3, 1.25);
    Time::HiRes::sleep(0.4);
    my $n = main::session_counts('TRY');
    my @over = grep { $n->{$_} > 6 } sort keys %$n;
    Test::More::diag('TRYAGAIN: ' . CORE::join(' ', map { "$_=$n->{$_}" } sort keys %$n))
        if $ENV{TEST_VERBOSE};
    $out . 'sent more than 6 times: ' . (@over ? "@over" : 'none') . "\n"
         . 'retried: ' . (grep({ $_ > 1 } values %$n) ? 'yes' : 'no') . "\n";
}
--- response_body
503 body ok
in time
sent more than 6 times: none
retried: yes
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_TRY} TRYAGAIN Multiple keys/



=== TEST 37: TRYAGAIN forever with a 150 ms timeout: the retries stop within it
--- init
main::fake_node('TRYS', slots => main::all_slots(main::port('TRYS')),
                session => sub { FaultTest::err('TRYAGAIN') });
main::settle();
--- request
GET /tryagain-short
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::unavailable($_[0]) . main::timing(0, 0.4);
    Time::HiRes::sleep(0.3);
    my $n = main::session_counts('TRYS');
    my @over = grep { $n->{$_} > 4 } sort keys %$n;
    $out . 'sent more than 4 times: ' . (@over ? "@over" : 'none') . "\n";
}
--- response_body
503 body ok
in time
sent more than 4 times: none
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_TRYS} (TRYAGAIN|timed out)/



=== TEST 38: CLUSTERDOWN forever: 503 after at most 5 retries, within the timeout; the map refreshes are throttled
--- init
main::fake_node('DOWN', slots => main::all_slots(main::port('DOWN')),
                session => sub { FaultTest::err('CLUSTERDOWN The cluster is down') });
main::settle();
$main::slots_before = main::count_of('DOWN', 'CLUSTER SLOTS');
--- request
GET /clusterdown
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::unavailable($_[0]) . main::timing(0.3, 1.25);
    Time::HiRes::sleep(0.4);
    my $n = main::session_counts('DOWN');
    my @over = grep { $n->{$_} > 6 } sort keys %$n;
    my $refreshes = main::count_of('DOWN', 'CLUSTER SLOTS') - $main::slots_before;
    $out . 'sent more than 6 times: ' . (@over ? "@over" : 'none') . "\n"
         . 'retried: ' . (grep({ $_ > 1 } values %$n) ? 'yes' : 'no') . "\n"
         . ($refreshes >= 1 && $refreshes <= 12 ? "refreshes: throttled\n"
                                                 : "refreshes: $refreshes\n");
}
--- response_body
503 body ok
in time
sent more than 6 times: none
retried: yes
refreshes: throttled
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_DOWN} CLUSTERDOWN The cluster is down/



=== TEST 39: the node closes the connection in the middle of the CLUSTER SLOTS reply: 503; once it answers whole, served
--- init
$main::cut = "/tmp/t033-cut-$$";
open my $fh, '>', $main::cut or die "$main::cut: $!";
close $fh;
my $map = main::all_slots(main::port('MID'));
my $cut = $main::cut;
main::fake_node('MID', slots => sub {
    return $map unless -e $cut;
    return ({ write => substr($map, 0, 20) }, { sleep => 0.05 }, { close => 1 });
});
main::settle();
--- request
GET /midclose
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::fast_503($_[0]);
    my $again = FaultTest::http(GET => '/midclose');
    $out .= "while cut: $again->{status}\n";
    unlink $main::cut;
    my $t = FaultTest::poll_until('/midclose', 200, 3, 0.05);
    $out . (defined $t ? "then: 200\n" : "then: never 200\n");
}
--- response_body
503 body ok
in time
while cut: 503
then: 200
--- error_log eval
qr/\[(warn|error)\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MID} connection lost/



=== TEST 40: one seed never answers (hangs), the other serves the map: every answer within the timeout, then served
When the silent seed is asked first, its CLUSTER SLOTS waits for the
refresh's own timeout (the 1 s timeout + 1 s): requests made meanwhile get
503 when their own timeout ends, then the other seed's map is used.  (A
request whose commands leave with little time left then has the healthy
node closed as stalled, see TEST 41: about 100 ms of immediate 503s.)
--- init
main::fake_node('HANG_A', slots => { hang => 1 }, session => sub { { hang => 1 } });
main::fake_node('HANG_B', slots => main::all_slots(main::port('HANG_B')));
main::settle();
--- request
GET /hang
--- error_code_like: ^(200|503)$
--- response_body_filters eval
sub {
    # the block's own request first: its status from its body
    my @seq = ([ $_[0] =~ /"sessionId"/ ? 200
                 : $_[0] =~ /session store unavailable/ ? 503 : 'other',
                 SharedSessionTest::elapsed() ]);
    my $t0 = Time::HiRes::time();
    while (Time::HiRes::time() - $t0 < 4) {
        my $r = FaultTest::http(GET => '/hang');
        push @seq, [ $r->{status}, $r->{elapsed}, Time::HiRes::time() - $t0 ];
        last if @seq >= 3 && $seq[-1][0] eq '200' && $seq[-2][0] eq '200'
                && $seq[-3][0] eq '200';
    }
    Test::More::diag('hang: ' . main::runs(@seq)) if $ENV{TEST_VERBOSE};
    my @late = grep { $_->[1] > 1.25 } @seq;
    my @odd = grep { $_->[0] !~ /^(200|503)$/ } @seq;
    my $served = @seq >= 3 && $seq[-1][0] eq '200' && $seq[-2][0] eq '200'
                 && $seq[-3][0] eq '200';
    (@late ? 'late: ' . CORE::join(' ', map { sprintf '%.2f', $_->[1] } @late) . "\n"
           : "every answer in time\n")
    . (@odd ? "odd answers\n" : "only 200 and 503\n")
    . ($served ? "served\n" : "not served within 4 s\n");
}
--- response_body
every answer in time
only 200 and 503
served



=== TEST 41: the map comes late (at 0.95 s of the 1 s timeout): that request times out, but the healthy node is not taken for stalled: the next request is served
The first CLUSTER SLOTS reply takes 0.95 s, so the first request's commands
reach the node with 50 ms left, and the first reply takes 100 ms: that
request gets 503 (timed out).  The node answered CLUSTER SLOTS 50 ms
before and answers everything else at once: it is not stalled (README,
Failure behaviour: "nothing at all arrived on the connection for a whole
timeout"), and a request right after must be served, not refused during
a reconnect back-off.
--- init
my $map = main::all_slots(main::port('SLOW'));
main::fake_node('SLOW',
    slots => sub {
        my ($argv, $ctx) = @_;
        return $ctx->{state}{mapped}++ ? $map : ({ sleep => 0.95 }, $map);
    },
    session => sub {
        my ($argv, $ctx) = @_;
        return () if $ctx->{state}{n}++;
        return ({ sleep => 0.1 }, main::session_reply($argv));
    });
main::settle();
--- request
GET /slow-map
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::unavailable($_[0]) . main::timing(0.9, 1.25);
    Time::HiRes::sleep(0.03);
    my $r = FaultTest::http(GET => '/slow-map');
    $out . "next request: $r->{status}\n";
}
--- response_body
503 body ok
in time
next request: 200
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SLOW} 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SLOW}: timed out/
--- no_error_log eval
[qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SLOW} timed out, closing connection/,
 '[alert]', '[crit]', 'exited on signal', qr/exited with code [1-9]/]



=== TEST 42: a map of 16384 one-slot ranges on 16384 different nodes: the nodes over 1024 are ignored, 503 in time, the worker stays responsive
The nodes are 127.x.y.1 port 1, where nothing listens.
--- init
main::fake_node('MANY', slots => main::slot_map(map {
    [$_, $_, 1, sprintf('127.%d.%d.1', 1 + ($_ >> 8), $_ & 0xff)]
} 0 .. 16383));
main::settle();
--- request
GET /many-nodes
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::fast_503($_[0]);
    my $r = FaultTest::http(GET => '/static');
    my $again = FaultTest::http(GET => '/many-nodes');
    Test::More::diag(sprintf('many: static %.3f s, again %s in %.3f s',
                             $r->{elapsed}, $again->{status}, $again->{elapsed}))
        if $ENV{TEST_VERBOSE};
    $out . ($r->{elapsed} < 0.2 ? "static at once\n" : sprintf("static after %.2f s\n", $r->{elapsed}))
         . "again: $again->{status}" . ($again->{elapsed} < 1.25 ? " in time\n" : " late\n");
}
--- response_body
503 body ok
in time
static at once
again: 503 in time
--- error_log eval
qr/\[error\].*shared session: redis cluster 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MANY}: more than 1024 nodes, "127\.4\.255\.1:1" and further ones ignored/



=== TEST 43: clients that leave while their commands wait for a TRYAGAIN retry or for a slow map: no crash, the worker serves on
--- init
main::fake_node('LEAVE', slots => main::all_slots(main::port('LEAVE')),
                session => sub { FaultTest::err('TRYAGAIN') });
my $map = main::all_slots(main::port('LEAVE_MAP'));
main::fake_node('LEAVE_MAP', slots => sub { return ({ sleep => 0.3 }, $map) });
main::settle();
for my $path (('/leave-retry', '/leave-map') x 3) {
    my $h = FaultTest::http_start(GET => $path);
    Time::HiRes::sleep(0.04);
    close $h->{sock};
}
Time::HiRes::sleep(0.8);
SharedSessionTest::mark();
--- request
GET /leave-retry
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::unavailable($_[0]) . main::timing(0, 1.25);
    my $r = FaultTest::http(GET => '/leave-map');
    $out . "map: $r->{status}\n";
}
--- response_body
503 body ok
in time
map: 200
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_LEAVE} TRYAGAIN/
