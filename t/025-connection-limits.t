# Limits of the connection layer (issue #11): what one Redis connection may
# cost a worker, whatever its peer or the clients do.
#
#   replies    a reply may cost at most 64 MB (its buffered bytes and what
#              its parsed elements take): 60 MB bulk strings one after the
#              other, or nested arrays of small integers, close the
#              connection at the cap instead of growing the worker; and a
#              flood of replies does not keep the worker from others (the
#              read handler yields)
#   stalls     a paused Redis (SIGSTOP, TCP still up) whose requests all
#              left before their timeout is still taken for stalled and
#              closed after the timeout
#   queues     at most 8192 commands and 8 MB of unsent output wait on one
#              connection; the request that finds it full gets 503 at once
#   setup      nothing but AUTH, SELECT and SCRIPT LOAD is sent before they
#              all succeeded: a failed SELECT or AUTH leaves no write in
#              database 0 or as the default user
#   TLS        a stalled TLS connection closed while its output is blocked
#              does not leak its SSL object (valgrind reports it otherwise);
#              a TLS write that waited for the socket is retried from the
#              moved output buffer without "bad write retry"
#
# Hostile replies come from scripted fakes (t/inc/FaultTest.pm); stalls,
# queues and setup use real redis-servers of SharedSessionTest and TlsTest.
# Every block checks that no worker crashed.

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use TlsTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(30);
worker_connections(1024);

my %seen;
for my $name (qw(BULKS NESTED FLOOD SETUP)) {
    my $p;
    do { $p = FaultTest::free_port() } while $seen{$p}++;
    $ENV{"TEST_NGINX_FAKE_$name"} = $p;
}

$ENV{TEST_NGINX_STALL_PORT} = SharedSessionTest::start_redis();
$ENV{TEST_NGINX_QUEUE_PORT} = SharedSessionTest::start_redis();
$ENV{TEST_NGINX_DB_PORT} = SharedSessionTest::start_redis();
# the default user needs no password; "app" has one
$ENV{TEST_NGINX_ACL_PORT} = SharedSessionTest::start_redis(
    conf => [ 'user app on >apppass ~* &* +@all' ]);
$ENV{TEST_NGINX_TLS_DIR} = TlsTest::dir();
$ENV{TEST_NGINX_TLS_PORT} = TlsTest::start_redis();

my $config = <<'EOF';
    shared_session_host hostL;
    large_client_header_buffers 4 2m;
    location = /bulks {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_BULKS;
        shared_session_redis_timeout 6s;
    }
    location = /nested {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_NESTED;
        shared_session_redis_timeout 6s;
    }
    location = /flood {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_FLOOD;
        shared_session_redis_timeout 20s;
    }
    location = /setup {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_SETUP;
        shared_session_redis_timeout 3s;
    }
    location = /stall {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_STALL_PORT;
        shared_session_redis_timeout 1s;
    }
    location = /queue {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_QUEUE_PORT;
        shared_session_redis_timeout 20s;
    }
    location = /queue-big {
        shared_session;
        shared_session_host $http_x_pad;
        shared_session_redis 127.0.0.1:$TEST_NGINX_QUEUE_PORT;
        shared_session_redis_timeout 20s;
    }
    location = /db99 {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DB_PORT;
        shared_session_redis_database 99;
    }
    location = /acl {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_ACL_PORT;
        shared_session_redis_username app;
        shared_session_redis_password wrongpass;
    }
    location = /acl-ok {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_ACL_PORT;
        shared_session_redis_username app;
        shared_session_redis_password apppass;
    }
    location = /tls {
        shared_session;
        shared_session_host $http_x_pad;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
        shared_session_redis_timeout 1s;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /tls-slow {
        shared_session;
        shared_session_host $http_x_pad;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
        shared_session_redis_timeout 10s;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /static {
        return 200 "static\n";
    }
    location = /status {
        stub_status;
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
});

sub main::unavailable {
    my ($body) = @_;
    return $body =~ /\A\{"error":"session store unavailable"\}\n?\z/
           ? "503 body ok\n" : "body: $body\n";
}

# "in time" when the block's request took between $lo and $hi seconds
# since SharedSessionTest::mark()
sub main::timing {
    my ($lo, $hi) = @_;
    my $e = SharedSessionTest::elapsed();
    return $e >= $lo && $e < $hi ? "in time\n"
         : sprintf("answered after %.3f s, expected %.2f..%.2f s\n",
                   $e, $lo, $hi);
}

# how much the peak memory of the nginx serving grew since main::rss_mark
sub main::rss_mark {
    $main::pid = FaultTest::nginx_pid();
    FaultTest::reset_peak_rss($main::pid);
    $main::rss0 = FaultTest::peak_rss($main::pid);
}

sub main::rss_growth {
    return FaultTest::peak_rss($main::pid) - $main::rss0;
}

# "memory: bounded" if the peak grew by less than $limit kB; under ASan
# (quarantined frees, shadow memory) or valgrind the RSS says nothing, and
# the log line and the time tell that the cap closed the connection
sub main::memory {
    my ($grew, $limit) = @_;
    return "memory: bounded\n"
        if $grew < $limit || $ENV{ASAN_OPTIONS} || $ENV{TEST_NGINX_USE_VALGRIND};
    return "memory: grew by $grew kB\n";
}

sub main::keys_in {
    my ($port, $db) = @_;
    my $keys = SharedSessionTest::redis_cmd({ port => $port, db => $db // 0 },
                                            'KEYS', '*');
    return scalar @$keys;
}

run_tests();

# the numbers the report quotes
END {
    Test::More::diag(join ', ', map { "$_: $main::report{$_}" }
                                sort keys %main::report)
        if %main::report;
}

__DATA__

=== TEST 1: a reply of 60 MB bulk strings one after the other: the connection is closed at 64 MB, the worker does not hold them all
The fake answers the script with an array of 16384 elements and sends 8
bulk strings of 60 MB of it (480 MB), then nothing more.  Without a cap
on the reply in progress, the worker keeps every string it parsed (its
peak memory grows by the 480 MB) until the timeout.
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_BULKS},
    on_command => sub {
        my ($argv) = @_;
        FaultTest::decode_eval($argv) or return FaultTest::standard_reply($argv);
        my $s = "\$60000000\r\n" . ('x' x 60_000_000) . "\r\n";
        return ("*16384\r\n", ($s) x 8, { hang => 1 });
    });
main::rss_mark();
SharedSessionTest::mark();
--- request
GET /bulks
--- error_code: 503
--- response_body_filters eval
sub {
    my $grew = main::rss_growth();
    $main::report{bulks} = $grew;
    main::unavailable($_[0]) . main::timing(0, 3) . main::memory($grew, 200_000);
}
--- response_body
503 body ok
in time
memory: bounded
--- error_log eval
qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_BULKS} sent a reply over 64M, closing connection/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 2: nested arrays of small integers (16 MB, 4 million elements): the connection is closed when their parsed elements reach 64 MB
Each ":1\r\n" is 4 bytes on the wire and some 70 bytes once parsed: the
bytes alone never reach the cap, what they cost must.
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_NESTED},
    on_command => sub {
        my ($argv) = @_;
        FaultTest::decode_eval($argv) or return FaultTest::standard_reply($argv);
        my $inner = "*16384\r\n" . (FaultTest::integer(1) x 16384);
        return ("*16384\r\n", ($inner) x 256, { hang => 1 });
    });
main::rss_mark();
SharedSessionTest::mark();
--- request
GET /nested
--- error_code: 503
--- response_body_filters eval
sub {
    my $grew = main::rss_growth();
    $main::report{nested} = $grew;
    main::unavailable($_[0]) . main::timing(0, 3) . main::memory($grew, 150_000);
}
--- response_body
503 body ok
in time
memory: bounded
--- error_log eval
qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_NESTED} sent a reply over 64M, closing connection/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 3: 400 replies of 64 KB arriving at once: at most 64 KB is read from Redis per turn of the event loop, other requests are served meanwhile
400 clients leave before their replies; the fake holds the replies (an
array of 16384 integers each, 26 MB in all) and writes them all at once
when the next request's script arrives.  A read handler that reads
until EAGAIN reads as much as the peer keeps the socket filled with
(here, on loopback, a few hundred KB per turn; on a fast network with
large windows, more), parsing it while every other connection of the
worker waits.  nginx's debug log shows each recv() and each turn of the
event loop ("epoll timer").
--- log_level: debug
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_FLOOD},
    on_command => sub {
        my ($argv, $ctx) = @_;
        my $e = FaultTest::decode_eval($argv)
            or return FaultTest::standard_reply($argv);
        my $n = ++$ctx->{state}{evals};
        return FaultTest::standard_reply($argv) if $n == 1;
        return { write => "*16384\r\n" . (FaultTest::integer(1) x 16384),
                 hold => 1 } if $n <= 401;
        return { write => FaultTest::standard_reply($argv), flush => 1 };
    });
# a working connection first: a command whose client leaves during the
# connection's setup is never sent
FaultTest::http(GET => '/flood');
FaultTest::abort_many(400, 16, '/status', GET => '/flood');
Time::HiRes::sleep(0.2);
FaultTest::log_mark();
$main::live = FaultTest::http_start(GET => '/flood');
Time::HiRes::sleep(0.05);
SharedSessionTest::mark();
--- request
GET /static
--- response_body_filters eval
sub {
    my $static = main::timing(0, 0.15);
    my $res = FaultTest::http_finish($main::live, 20);
    my $evals = () = FaultTest::FakeRedis->running($ENV{TEST_NGINX_FAKE_FLOOD})
                                         ->command_names =~ /EVALSHA/g;
    no warnings 'once';
    my ($all) = FaultTest::read_from($Test::Nginx::Util::ErrLogFile, 0);
    my ($fd) = $all =~ /shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_FLOOD} connecting, fd:(\d+)/;
    my ($turn, $max) = (0, 0);
    for (split /\n/, FaultTest::log_since_mark()) {
        if (/epoll timer: /) {
            $max = $turn if $turn > $max;
            $turn = 0;
        } elsif (defined $fd && /recv: fd:$fd (\d+) of /) {
            $turn += $1;
        }
    }
    $max = $turn if $turn > $max;
    $main::report{flood_turn} = $max;
    "static meanwhile: $static" . "scripts: $evals\n"
    . "the request behind them: $res->{status}\n"
    . ($max > 0 && $max <= 65536 ? "read per turn: at most 64 KB\n"
                                 : "read per turn: up to $max bytes\n");
}
--- response_body
static meanwhile: in time
scripts: 402
the request behind them: 200
read per turn: at most 64 KB
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 4: Redis paused, every client leaves before the 1 s timeout: the stalled connection is still closed after the timeout
Three requests are sent 100 ms apart and their clients leave 100 ms
later: no request is left to time out, the connection must be watched
for itself.
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_STALL_PORT});
FaultTest::http(GET => '/stall');    # a working connection
SharedSessionTest::pause_redis($ENV{TEST_NGINX_STALL_PORT});
FaultTest::log_mark();
my $t0 = Time::HiRes::time();
for (1 .. 3) {
    my $h = FaultTest::http_start(GET => '/stall');
    Time::HiRes::sleep(0.1);
    FaultTest::http_abort($h);
}
my $t = FaultTest::wait_log(
    qr/\[warn\].*redis 127\.0\.0\.1:$ENV{TEST_NGINX_STALL_PORT} timed out, closing connection/,
    4);
$main::closed = defined $t ? Time::HiRes::time() - $t0 : undef;
$main::report{stall} = $main::closed;
SharedSessionTest::resume_redis($ENV{TEST_NGINX_STALL_PORT});
Time::HiRes::sleep(0.2);    # the reconnect wait after a stall
--- request
GET /stall
--- response_body_filters eval
sub {
    my $c = $main::closed;
    ($_[0] =~ /"new":true/ ? "served\n" : "body: $_[0]\n")
    . (!defined $c ? "the stalled connection was not closed within 4 s\n"
       : $c >= 0.95 && $c < 1.6 ? "closed after the timeout\n"
       : sprintf("closed after %.3f s\n", $c));
}
--- response_body
served
closed after the timeout
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 5: Redis paused, 8192 commands waiting (their clients gone): the next request gets 503 at once, the queue does not grow
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_QUEUE_PORT});
FaultTest::http(GET => '/queue');    # a working connection
SharedSessionTest::pause_redis($ENV{TEST_NGINX_QUEUE_PORT});
$main::report{abort_8192} = FaultTest::abort_many(8300, 32, '/status', GET => '/queue');
Time::HiRes::sleep(0.2);
SharedSessionTest::mark();
--- request
GET /queue
--- timeout: 5
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::unavailable($_[0]) . main::timing(0, 0.5);
    SharedSessionTest::resume_redis($ENV{TEST_NGINX_QUEUE_PORT});
    $out;
}
--- response_body
503 body ok
in time
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_QUEUE_PORT} too many commands waiting \(8192\)/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 6: after Redis resumed, the queued commands are answered and the connection serves again
--- init
FaultTest::poll_until('/queue', 200, 10);
--- request
GET /queue
--- response_body_like: "new":true
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 7: Redis paused, 1 MB commands (clients gone) fill the socket: past 8 MB of unsent output the next request gets 503 at once
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_QUEUE_PORT});
FaultTest::http(GET => '/queue');    # a working connection
SharedSessionTest::pause_redis($ENV{TEST_NGINX_QUEUE_PORT});
FaultTest::abort_many(40, 4, '/status', GET => '/queue-big',
                      'X-Pad' => 'p' x (1 << 20));
Time::HiRes::sleep(0.2);
SharedSessionTest::mark();
--- request
GET /queue-big
--- more_headers eval
"X-Pad: " . ('p' x (1 << 20))
--- timeout: 5
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::unavailable($_[0]) . main::timing(0, 0.5);
    SharedSessionTest::resume_redis($ENV{TEST_NGINX_QUEUE_PORT});
    $out;
}
--- response_body
503 body ok
in time
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_QUEUE_PORT} too much output waiting \(8M\)/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 8: SELECT 99 on a Redis with 16 databases: 503 with the cause, and the session script never ran in database 0
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_DB_PORT});
--- request
GET /db99
--- error_code: 503
--- response_body_filters eval
sub {
    Time::HiRes::sleep(0.1);
    main::unavailable($_[0]) . 'keys in database 0: '
    . main::keys_in($ENV{TEST_NGINX_DB_PORT}) . "\n";
}
--- response_body
503 body ok
keys in database 0: 0
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_DB_PORT} SELECT failed: ERR DB index is out of range, client:/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 9: AUTH as "app" with a wrong password where the default user needs none: 503 with the cause, nothing written as "default"
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_ACL_PORT});
--- request
GET /acl
--- error_code: 503
--- response_body_filters eval
sub {
    Time::HiRes::sleep(0.1);
    main::unavailable($_[0]) . 'keys: ' . main::keys_in($ENV{TEST_NGINX_ACL_PORT})
    . "\n";
}
--- response_body
503 body ok
keys: 0
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_ACL_PORT} AUTH failed: WRONGPASS/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 10: the right password: requests that arrived during the setup are sent once it succeeded, and served
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_ACL_PORT});
@main::pending = map { FaultTest::http_start(GET => '/acl-ok') } 1 .. 5;
--- request
GET /acl-ok
--- response_body_filters eval
sub {
    my @res = FaultTest::http_finish_all(\@main::pending, 5);
    my $ok = grep { $_->{status} == 200 && $_->{body} =~ /"new":true/ } @res;
    ($_[0] =~ /"new":true/ ? "served\n" : "body: $_[0]\n")
    . "served meanwhile: $ok\n"
    . 'hashes: ' . scalar(grep { !/:expires:/ } @{ SharedSessionTest::redis_cmd(
          { port => $ENV{TEST_NGINX_ACL_PORT} }, 'KEYS', 'spring:session:sessions:*') })
    . "\n";
}
--- response_body
served
served meanwhile: 5
hashes: 6
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: TLS, Redis paused, the output blocked in the socket: the stalled connection is closed after the timeout without waiting for the TLS close
The connection is closed while a TLS record is only partly written:
sending the close_notify alert would block.  Under valgrind
(TEST_NGINX_USE_VALGRIND=1) a close that gives up there loses the SSL
object ("definitely lost").
--- init
FaultTest::http(GET => '/tls', 'X-Pad' => 'warm');    # a working connection
kill 'STOP', TlsTest::redis_pid($ENV{TEST_NGINX_TLS_PORT});
FaultTest::log_mark();
FaultTest::abort_many(12, 4, '/status', GET => '/tls', 'X-Pad' => 't' x (1 << 20));
my $t = FaultTest::wait_log(
    qr/\[warn\].*redis 127\.0\.0\.1:$ENV{TEST_NGINX_TLS_PORT} timed out, closing connection/,
    $ENV{TEST_NGINX_USE_VALGRIND} ? 20 : 4);
$main::closed = defined $t ? 'closed' : 'not closed';
kill 'CONT', TlsTest::redis_pid($ENV{TEST_NGINX_TLS_PORT});
Time::HiRes::sleep(0.2);    # the reconnect wait after a stall
--- request
GET /tls
--- more_headers
X-Pad: after
--- response_body_filters eval
sub {
    ($_[0] =~ /"new":true/ ? "served\n" : "body: $_[0]\n")
    . "stalled connection: $main::closed\n";
}
--- response_body
served
stalled connection: closed
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 12: TLS, Redis paused for 0.5 s while 1 MB commands pile up: every request is served once it resumes
The output buffer grows and moves while a TLS write waits for the
socket; the write is retried from the new address, which OpenSSL refuses
("bad write retry", a [crit] and a lost connection) unless told to
accept it.
--- init
FaultTest::http(GET => '/tls-slow', 'X-Pad' => 'warm');    # a working connection
kill 'STOP', TlsTest::redis_pid($ENV{TEST_NGINX_TLS_PORT});
@main::pending = map {
    my $h = FaultTest::http_start(GET => '/tls-slow', 'X-Pad' => "$_" x (1 << 20));
    Time::HiRes::sleep(0.02);
    $h;
} 1 .. 9;
Time::HiRes::sleep(0.5);
kill 'CONT', TlsTest::redis_pid($ENV{TEST_NGINX_TLS_PORT});
--- request
GET /tls-slow
--- more_headers
X-Pad: after
--- response_body_filters eval
sub {
    my @res = FaultTest::http_finish_all(\@main::pending, 10);
    my %n;
    $n{ $_->{status} }++ for @res;
    ($_[0] =~ /"new":true/ ? "served\n" : "body: $_[0]\n")
    . CORE::join('', map { "pending: $_ x$n{$_}\n" } sort keys %n);
}
--- response_body
served
pending: 200 x9
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 13: a slow setup: a request whose client leaves before the setup succeeded is never sent; the next one is, once it succeeded
The fake answers the first connection's SCRIPT LOADs 0.5 s late.  One
client leaves after 0.1 s, another waits.
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_SETUP},
    on_command => sub {
        my ($argv, $ctx) = @_;
        return ({ sleep => 0.5 }, FaultTest::standard_reply($argv))
            if $ctx->{conn} == 1 && $ctx->{n} == 1;
        return FaultTest::standard_reply($argv);
    });
my $gone = FaultTest::http_start(GET => '/setup');
Time::HiRes::sleep(0.1);
FaultTest::http_abort($gone);
Time::HiRes::sleep(0.05);
--- request
GET /setup
--- response_body_filters eval
sub {
    ($_[0] =~ /"new":true/ ? "served\n" : "body: $_[0]\n")
    . 'commands: '
    . FaultTest::FakeRedis->running($ENV{TEST_NGINX_FAKE_SETUP})->command_names
    . "\n";
}
--- response_body
served
commands: SCRIPT SCRIPT EVALSHA PUBLISH
--- no_error_log
[error]
[alert]
[crit]
