# A scripted fake Redis (t/inc/FaultTest.pm, and Test::Nginx's own
# tcp_listen server) for what a real redis-server will not do on demand:
# replies split byte by byte, replies that never come, connections closed
# mid-reply, garbage and unsolicited bytes, a 10 MB bulk reply, replies of
# the wrong shape, NOSCRIPT, pipelined replies arriving in one packet.
#
# The module sends on each new connection SCRIPT LOAD <touch script> and
# SCRIPT LOAD <invalidate script>, then the request's EVALSHA; the fake
# answers SCRIPT LOAD with the sha1 of the script as a real Redis does.
# Every location talks to its own fake (its own port), so no block sees
# the connection state another block left behind.  Whatever the fake
# does, the answer must be the defined one (200, or 503 with the JSON
# error and one error line), in time, and the worker must survive.

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(10);

our $ID = 'e1237df7-5646-4382-aa12-41435ed09dc7';
our $B64 = SharedSessionTest::b64($ID);
our $ATTR = '{"@class":"x","host":"fakeHost","lastUpdatedAt":["java.util.Date",1552129074569]}';

my %seen;
for my $name (qw(SPLIT SILENT SILENT_INIT MIDREPLY GARBAGE UNSOLICITED BIG
                 SHAPES NOSCRIPT LOADERR PIPELINE LATE HUGECOUNT TCP1 TCP2
                 INITGARBAGE HANGUP TRICKLE BACKLOG SILENT2 UNSOLICITED2
                 UNSOLICITED3 HUGEARRAY STREAMARRAY))
{
    my $p;
    do { $p = FaultTest::free_port() } while $seen{$p}++;
    $ENV{"TEST_NGINX_FAKE_$name"} = $p;
}

my $config = <<'EOF';
    shared_session_host hostF;
    location = /split {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_SPLIT;
        shared_session_redis_timeout 3s;
    }
    location = /silent {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_SILENT;
        shared_session_redis_timeout 500ms;
    }
    location = /silent2 {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_SILENT2;
        shared_session_redis_timeout 500ms;
    }
    location = /silent-init {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_SILENT_INIT;
        shared_session_redis_timeout 500ms;
    }
    location = /midreply {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_MIDREPLY;
        shared_session_redis_timeout 3s;
    }
    location = /garbage {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_GARBAGE;
        shared_session_redis_timeout 3s;
    }
    location = /init-garbage {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_INITGARBAGE;
        shared_session_redis_timeout 3s;
    }
    location = /http-peer {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        shared_session_redis_timeout 3s;
    }
    location = /unsolicited {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_UNSOLICITED;
        shared_session_redis_timeout 3s;
    }
    location = /unsolicited2 {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_UNSOLICITED2;
        shared_session_redis_timeout 3s;
    }
    location = /unsolicited3 {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_UNSOLICITED3;
        shared_session_redis_timeout 3s;
    }
    location = /big {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_BIG;
        # 64 MB take seconds under valgrind: the cap, not the timer, must end it
        shared_session_redis_timeout 60s;
    }
    location = /shapes {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_SHAPES;
        shared_session_redis_timeout 3s;
    }
    location = /shapes-invalidate {
        shared_session_invalidate;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_SHAPES;
        shared_session_redis_timeout 3s;
    }
    location = /noscript {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_NOSCRIPT;
        shared_session_redis_timeout 3s;
    }
    location = /loaderr {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_LOADERR;
        shared_session_redis_timeout 3s;
    }
    location = /pipeline {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_PIPELINE;
        shared_session_redis_timeout 3s;
    }
    location = /late {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_LATE;
        shared_session_redis_timeout 3s;
    }
    location = /hugecount {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_HUGECOUNT;
        shared_session_redis_timeout 300ms;
    }
    location = /tcp1 {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_TCP1;
        shared_session_redis_timeout 500ms;
    }
    location = /tcp2 {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_TCP2;
        shared_session_redis_timeout 3s;
    }
    location = /hangup {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_HANGUP;
        shared_session_redis_timeout 3s;
    }
    location = /trickle {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_TRICKLE;
        shared_session_redis_timeout 500ms;
    }
    location = /backlog {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_BACKLOG;
        shared_session_redis_timeout 500ms;
    }
    location = /hugearray {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_HUGEARRAY;
        shared_session_redis_timeout 300ms;
    }
    location = /streamarray {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_STREAMARRAY;
        shared_session_redis_timeout 1s;
    }
    location = /static {
        return 200 "static\n";
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
});

# "in time" when the block's request took between $lo and $hi seconds
# since SharedSessionTest::mark() (the end of --- init).
sub main::timing {
    my ($lo, $hi) = @_;
    my $e = SharedSessionTest::elapsed();
    SharedSessionTest::mark();
    return $e >= $lo && $e < $hi ? "in time\n"
         : sprintf("answered after %.3f s, expected %.2f..%.2f s\n",
                   $e, $lo, $hi);
}

# resident memory (kB) of the nginx process serving requests (master off:
# the one in the pid file)
sub main::nginx_rss {
    no warnings 'once';
    open my $p, '<', $Test::Nginx::Util::PidFile or return 0;
    chomp(my $pid = <$p> // '');
    open my $s, '<', "/proc/$pid/status" or return 0;
    while (<$s>) {
        return $1 if /^VmRSS:\s+(\d+)/;
    }
    return 0;
}

sub main::unavailable {
    my ($body) = @_;
    return $body =~ /\A\{"error":"session store unavailable"\}\n?\z/
           ? "503 body ok\n" : "body: $body\n";
}

run_tests();

__DATA__

=== TEST 1: every reply split into 1-byte TCP segments: parsed as a whole, session found
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_SPLIT},
    on_command => sub {
        my ($argv) = @_;
        my $reply = FaultTest::standard_reply($argv);
        if (my $e = FaultTest::decode_eval($argv)) {
            $reply = FaultTest::arr(FaultTest::integer(1),
                                    FaultTest::bulk('1552128921707'),
                                    FaultTest::bulk($main::ATTR));
        }
        return { write => $reply, chunk => 1, gap => 0.001 };
    });
SharedSessionTest::known_id($main::ID, 'B');
--- request
GET /split
--- more_headers eval
"Cookie: SESSION=$main::B64"
--- response_headers
Content-Type: application/json
!Set-Cookie
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostF","lastUpdatedAt":<now>,"previousHost":"fakeHost","creationTime":1552128921707,"new":false}
--- no_error_log
[error]
[warn]
[alert]
[crit]
exited on signal



=== TEST 2: the module sent SCRIPT LOAD twice, then EVALSHA with the sha of the touch script and binary-safe arguments
Checked on the fake of TEST 1.
--- request
GET /static
--- response_body_filters eval
sub {
    my $fake = FaultTest::FakeRedis->running($ENV{TEST_NGINX_FAKE_SPLIT});
    my @c = $fake->commands;
    my $out = 'commands: ' . CORE::join(' ', map { uc $_->{argv}[0] } @c) . "\n";
    my $e = FaultTest::decode_eval($c[2]{argv});
    $out .= 'evalsha is the touch script: '
          . ($e->{sha} eq FaultTest::sha1_hex($c[0]{argv}[2]) ? 'yes' : 'no')
          . "\n";
    my @keys = map {
        /\Aspring:session:sessions:[0-9a-f-]{36}\z/ && !/\Q$main::ID\E/
            ? '<new key>' : s/\Q$main::ID\E/<B>/r
    } @{ $e->{keys} };
    $out .= "keys: @keys\n";
    $out .= CORE::join(' ', 'ids:', map { s/\Q$main::ID\E/<B>/r } @{ $e->{ids} });
    $out .= "\nconnections: " . $fake->connections . "\n";
    $out;
}
--- response_body
commands: SCRIPT SCRIPT EVALSHA
evalsha is the touch script: yes
keys: spring:session:sessions:<B> <new key>
ids: <B>
connections: 1



=== TEST 3: the EVALSHA reply never comes: 503 after the timeout (500 ms), the stalled connection is closed
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_SILENT},
    on_command => sub {
        my ($argv) = @_;
        return { hang => 1 } if FaultTest::decode_eval($argv);
        return FaultTest::standard_reply($argv);
    });
SharedSessionTest::mark();
--- request
GET /silent
--- error_code: 503
--- response_headers
Content-Type: application/json
!Set-Cookie
--- response_body_filters eval
sub { main::unavailable($_[0]) . main::timing(0.45, 1.0) }
--- response_body
503 body ok
in time
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SILENT} timed out/,
 qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SILENT} timed out, closing connection/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 4: other locations of the same worker answer at once while a request waits on a silent Redis
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_SILENT2},
    on_command => sub { return { hang => 1 } });
$main::pending = FaultTest::http_start(GET => '/silent2');
Time::HiRes::sleep(0.05);
SharedSessionTest::mark();
--- request
GET /static
--- response_body_filters eval
sub {
    my $static = main::timing(0, 0.2);
    my $res = FaultTest::http_finish($main::pending, 5);
    "static: $static" . "pending: $res->{status} "
    . ($res->{elapsed} >= 0.45 && $res->{elapsed} < 1.0
       ? "in time" : "after $res->{elapsed} s") . "\n";
}
--- response_body
static: in time
pending: 503 in time
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SILENT2} timed out/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 5: the SCRIPT LOAD replies never come: 503 within the timeout, not a hang
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_SILENT_INIT},
    on_command => sub { return { hang => 1 } });
SharedSessionTest::mark();
--- request
GET /silent-init
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) . main::timing(0.45, 1.0) }
--- response_body
503 body ok
in time
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SILENT_INIT} timed out/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 6: connection closed in the middle of the reply: 503 at once (not after the 3 s timeout)
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_MIDREPLY},
    on_command => sub {
        my ($argv, $ctx) = @_;
        my $reply = FaultTest::standard_reply($argv);
        if (FaultTest::decode_eval($argv) && $ctx->{conn} == 1) {
            return ({ write => substr($reply, 0, 12) }, { sleep => 0.05 },
                    { close => 1 });
        }
        return $reply;
    });
SharedSessionTest::mark();
--- request
GET /midreply
--- error_code: 503
--- response_headers
Content-Type: application/json
!Set-Cookie
--- response_body_filters eval
sub { main::unavailable($_[0]) . main::timing(0, 1.0) }
--- response_body
503 body ok
in time
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MIDREPLY} connection lost: /,
 qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_MIDREPLY} connection lost: /]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 7: after a working connection was lost mid-reply, the next request reconnects at once and succeeds
--- request
GET /midreply
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0])
      . 'connections: '
      . FaultTest::FakeRedis->running($ENV{TEST_NGINX_FAKE_MIDREPLY})->connections
      . "\n" }
--- response_body
body: {"sessionId":"<new>","host":"hostF","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
connections: 2
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: text garbage instead of a reply (an HTTP response): 503 at once, the connection is dropped
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_GARBAGE},
    on_command => sub {
        my ($argv, $ctx) = @_;
        if (FaultTest::decode_eval($argv)) {
            return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                if $ctx->{conn} == 1;
            return "\x00\xff\xfe\x01*\r\n\$\x00garbage\r\n\r\n"
                if $ctx->{conn} == 2;
        }
        return FaultTest::standard_reply($argv);
    });
SharedSessionTest::mark();
--- request
GET /garbage
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) . main::timing(0, 1.0) }
--- response_body
503 body ok
in time
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_GARBAGE} connection lost: Protocol error/,
 qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_GARBAGE} connection lost: Protocol error/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 9: binary garbage with NUL bytes on the next connection: 503, dropped again
--- request
GET /garbage
--- error_code: 503
--- response_body_like: ^\{"error":"session store unavailable"\}\n?\z
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_GARBAGE} connection lost: Protocol error/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 10: the third connection gets proper replies: served
--- request
GET /garbage
--- response_body_filters eval
sub { $_[0] . 'connections: '
      . FaultTest::FakeRedis->running($ENV{TEST_NGINX_FAKE_GARBAGE})->connections . "\n" }
--- response_body_like
"new":true.*connections: 3
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: garbage in answer to SCRIPT LOAD (a fresh connection): 503, no crash
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_INITGARBAGE},
    on_command => sub { return "-\r\n:\r\n\$-7\r\n*-9\r\n!!!!\r\n" });
--- request
GET /init-garbage
--- error_code: 503
--- response_body_like: ^\{"error":"session store unavailable"\}\n?\z
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_INITGARBAGE} /
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 12: the "Redis" address is an HTTP server (nginx itself): its 400 page is garbage to the module: 503, no crash
--- request
GET /http-peer
--- error_code: 503
--- response_body_like: ^\{"error":"session store unavailable"\}\n?\z
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_SERVER_PORT} /
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 13: an unsolicited reply (one more reply than commands sent) closes the connection instead of crashing the worker: 503
The fake sends "+OK" right after the EVALSHA's reply: hiredis would have a
reply but no callback for it, and asserts.
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_UNSOLICITED},
    on_command => sub {
        my ($argv) = @_;
        my $reply = FaultTest::standard_reply($argv);
        $reply .= FaultTest::status('OK') if FaultTest::decode_eval($argv);
        return $reply;
    });
--- request
GET /unsolicited
--- error_code: 503
--- response_body_like: ^\{"error":"session store unavailable"\}\n?\z
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_UNSOLICITED} sent an unexpected reply/,
 qr/\[warn\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_UNSOLICITED} sent an unexpected reply, closing connection/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 14: a flood of replies the moment the connection is accepted: 503, no crash, other locations unaffected
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_UNSOLICITED2},
    on_connect => sub { return FaultTest::status('OK') x 20 });
--- request eval
["GET /unsolicited2", "GET /static"]
--- error_code eval
[503, 200]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 15: an unsolicited error reply after the last reply: 503, no crash
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_UNSOLICITED3},
    on_command => sub {
        my ($argv) = @_;
        my $reply = FaultTest::standard_reply($argv);
        $reply .= FaultTest::err('ERR max number of clients reached')
            if FaultTest::decode_eval($argv);
        return $reply;
    });
--- request
GET /unsolicited3
--- error_code: 503
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_UNSOLICITED3} sent an unexpected reply: ERR max number of clients reached/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 16: a 10 MB bulk reply: the attribute is too large to read (previousHost null), the session is served
The fake's answer depends on the id the request carries: "big-attr" gets
a 10 MB attribute, "big-whole" a 10 MB string as the whole reply,
"big-64k" an attribute of exactly 64 KiB.
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_BIG},
    on_command => sub {
        my ($argv) = @_;
        my $e = FaultTest::decode_eval($argv)
            or return FaultTest::standard_reply($argv);
        my $id = $e->{ids}[0] // '';
        my $ten = '{"host":"bigHost","pad":"' . ('x' x (10 << 20)) . '"}';
        if ($id eq 'big-whole') {
            return FaultTest::bulk($ten);
        }
        if ($id eq 'big-64k') {
            my $pad = 65536 - length('{"host":"bigHost","pad":""}');
            return FaultTest::arr(FaultTest::integer(1),
                                  FaultTest::bulk('1552128921707'),
                                  FaultTest::bulk('{"host":"bigHost","pad":"'
                                                  . ('y' x $pad) . '"}'));
        }
        return FaultTest::arr(FaultTest::integer(1),
                              FaultTest::bulk('1552128921707'),
                              FaultTest::bulk($ten));
    });
SharedSessionTest::known_id('big-attr', 'A');
--- request
GET /big
--- more_headers eval
"Cookie: SESSION=" . SharedSessionTest::b64('big-attr')
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
body: {"sessionId":"<A>","host":"hostF","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 17: a 10 MB bulk string as the whole reply: 503 "unexpected reply to session script"
--- request
GET /big
--- more_headers eval
"Cookie: SESSION=" . SharedSessionTest::b64('big-whole')
--- error_code: 503
--- response_body_like: ^\{"error":"session store unavailable"\}\n?\z
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_BIG} unexpected reply to session script/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 18: after a reply of the wrong shape the same connection serves on; an attribute of exactly 64 KiB is still read
--- request eval
["GET /big", "GET /big"]
--- more_headers eval
["Cookie: SESSION=" . SharedSessionTest::b64('big-whole'),
 "Cookie: SESSION=" . SharedSessionTest::b64('big-64k')]
--- error_code eval
[503, 200]
--- response_body_filters eval
[[sub {
    $main::conns = FaultTest::FakeRedis->running($ENV{TEST_NGINX_FAKE_BIG})->connections;
    main::unavailable($_[0]);
}],
 [sub {
    my $n = FaultTest::FakeRedis->running($ENV{TEST_NGINX_FAKE_BIG})->connections;
    my ($j) = JSON::PP->new->decode($_[0]);
    "previousHost: $j->{previousHost}\n"
    . ($n == $main::conns ? "same connection\n" : "reconnected\n");
}]]
--- response_body eval
["503 body ok\n", "previousHost: bigHost\nsame connection\n"]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 19: a reply over 64 MB: the connection is closed before more is buffered, 503
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_BIG},
    on_command => sub {
        my ($argv) = @_;
        FaultTest::decode_eval($argv) or return FaultTest::standard_reply($argv);
        return FaultTest::bulk('x' x (65 << 20));
    });
--- request
GET /big
--- timeout: 60
--- error_code: 503
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_BIG} sent a reply over 64M/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 20: replies of the wrong shape: 503 "unexpected reply to session script", never a crash or a wrong session
One id is sent (the cookie), so a valid index is 0 or 1.  The connection
stays usable after each: the fake answers each EVALSHA with the next shape.
--- init
@main::SHAPES = (
    FaultTest::integer(1),
    FaultTest::status('OK'),
    FaultTest::nil(),
    "*-1\r\n",
    FaultTest::arr(),
    FaultTest::arr(FaultTest::integer(0), FaultTest::bulk('1')),
    FaultTest::arr(FaultTest::integer(2), FaultTest::bulk('1'), FaultTest::nil()),
    FaultTest::arr(FaultTest::integer(-1), FaultTest::bulk('1'), FaultTest::nil()),
    FaultTest::arr(FaultTest::integer('9223372036854775807'), FaultTest::bulk('1'), FaultTest::nil()),
    FaultTest::arr(FaultTest::bulk('1'), FaultTest::bulk('1'), FaultTest::nil()),
    FaultTest::arr(FaultTest::integer(1), FaultTest::integer(5), FaultTest::nil()),
    FaultTest::arr(FaultTest::integer(1), FaultTest::bulk('abc'), FaultTest::nil()),
    FaultTest::arr(FaultTest::integer(1), FaultTest::bulk(''), FaultTest::nil()),
    FaultTest::arr(FaultTest::integer(1), FaultTest::bulk('-'), FaultTest::nil()),
    FaultTest::arr(FaultTest::integer(1), FaultTest::bulk('99999999999999999999999'), FaultTest::nil()),
    FaultTest::arr(FaultTest::integer(1), FaultTest::nil(), FaultTest::nil()),
    FaultTest::arr(FaultTest::integer(1), FaultTest::bulk('1'), FaultTest::integer(7)),
    FaultTest::arr(FaultTest::integer(1), FaultTest::bulk('1'), FaultTest::arr(FaultTest::bulk('{}'))),
    # then: an error reply with odd bytes
    FaultTest::err("ERR something\x01odd\xff happened"),
    # then: well-formed, with "bad id" entries after the three elements:
    # the first id with an odd format name, an index out of range, a string
    FaultTest::arr(FaultTest::integer(1), FaultTest::bulk('-5'), FaultTest::nil(),
                   FaultTest::integer(1), FaultTest::bulk("jdk\x00"),
                   FaultTest::integer(3), FaultTest::bulk("bad\x00id")),
);
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_SHAPES},
    on_command => sub {
        my ($argv, $ctx) = @_;
        FaultTest::decode_eval($argv)
            or return FaultTest::standard_reply($argv);
        return $main::SHAPES[ $ctx->{state}{evals}++ ];
    });
SharedSessionTest::known_id($main::ID, 'B');
--- request eval
[("GET /shapes") x 18]
--- more_headers eval
"Cookie: SESSION=$main::B64"
--- error_code eval
[(503) x 18]
--- response_body_like eval
[('^\{"error":"session store unavailable"\}\n?\z') x 18]
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPES} unexpected reply to session script/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 21: an error reply with control and non-ASCII bytes: 503, logged
--- request
GET /shapes
--- more_headers eval
"Cookie: SESSION=$main::B64"
--- error_code: 503
--- response_body_like: ^\{"error":"session store unavailable"\}\n?\z
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPES} ERR something/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 22: extra "bad id" entries in a well-formed reply are only warned about; a negative creationTime is returned as is
--- request
GET /shapes
--- more_headers eval
"Cookie: SESSION=$main::B64"
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostF","lastUpdatedAt":<now>,"previousHost":null,"creationTime":-5,"new":false}
--- error_log eval
qr/\[warn\].*invalid session "\Q$main::ID\E" in redis/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 23: replies of the wrong shape to the invalidate script: 503, never a crash
--- init
@main::SHAPES = (
    FaultTest::integer(0),
    FaultTest::arr(),
    FaultTest::arr(FaultTest::integer(2)),
    FaultTest::arr(FaultTest::integer(-3)),
    FaultTest::arr(FaultTest::bulk('1')),
    FaultTest::arr(FaultTest::integer(1), FaultTest::arr(), FaultTest::nil()),
);
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_SHAPES},
    on_command => sub {
        my ($argv, $ctx) = @_;
        FaultTest::decode_eval($argv)
            or return FaultTest::standard_reply($argv);
        return $main::SHAPES[ $ctx->{state}{evals}++ ];
    });
--- request eval
[("GET /shapes-invalidate") x 5]
--- more_headers eval
"Cookie: SESSION=$main::B64"
--- error_code eval
[(503) x 5]
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_SHAPES} unexpected reply to session script/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 24: extra entries of any type after the index are ignored by invalidate: 302
--- request
GET /shapes-invalidate
--- more_headers eval
"Cookie: SESSION=$main::B64"
--- error_code: 302
--- no_error_log
[error]
[alert]
[crit]



=== TEST 25: nested arrays deeper than the parser supports, a huge bulk length: 503, no crash
--- init
@main::SHAPES = (
    ('*1' . "\r\n") x 12 . FaultTest::integer(1),
    "\$2147483647\r\nabc",
);
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_HUGECOUNT},
    on_command => sub {
        my ($argv, $ctx) = @_;
        FaultTest::decode_eval($argv)
            or return FaultTest::standard_reply($argv);
        return $main::SHAPES[ $ctx->{state}{evals}++ % 2 ];
    });
--- request eval
["GET /hugecount", "GET /hugecount"]
--- error_code eval
[503, 503]
--- response_body_like eval
[('^\{"error":"session store unavailable"\}\n?\z') x 2]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 26: a reply that declares 100 million array elements: 503 at once, and the worker is not blocked afterwards
The readers refuse arrays far larger than any reply of the scripts
(hiredis would allocate and later free one slot per declared element),
so the connection is closed as soon as the header arrives.
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_HUGEARRAY},
    on_command => sub {
        my ($argv) = @_;
        FaultTest::decode_eval($argv) or return FaultTest::standard_reply($argv);
        return "*100000000\r\n" . FaultTest::integer(1);
    });
SharedSessionTest::mark();
--- request
GET /hugearray
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::unavailable($_[0]) . main::timing(0, 0.25);
    # the connection is closed at once; then:
    my $res = FaultTest::http(GET => '/static');
    $out . 'static right after: ' . ($res->{elapsed} < 0.3 ? "at once\n"
                                     : sprintf("after %.2f s\n", $res->{elapsed}));
}
--- response_body
503 body ok
in time
static right after: at once
--- error_log eval
qr/\[warn\].*shared session: redis 127\.0\.0\.1:\d+ sent an invalid reply: an array over 16384 elements/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 27: a reply that declares 2 million array elements and streams all but one (8 MB): the worker's memory does not balloon
Each 4-byte element (":1\r\n") must not cost the worker tens of bytes of
parsed objects, per parser, until the timeout.
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_STREAMARRAY},
    on_command => sub {
        my ($argv) = @_;
        FaultTest::decode_eval($argv) or return FaultTest::standard_reply($argv);
        return ("*2000000\r\n", FaultTest::integer(1) x 1_000_000,
                FaultTest::integer(1) x 999_999);
    });
$main::rss_before = main::nginx_rss();
--- request
GET /streamarray
--- error_code: 503
--- response_body_filters eval
sub {
    my $grew = main::nginx_rss() - $main::rss_before;
    main::unavailable($_[0])
    . ($grew < 50_000 ? "memory: bounded\n" : "memory: grew by $grew kB\n");
}
--- response_body
503 body ok
memory: bounded
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 28: NOSCRIPT: the request is sent once more as EVAL with the script text, and served
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_NOSCRIPT},
    on_command => sub {
        my ($argv) = @_;
        return FaultTest::err('NOSCRIPT No matching script. Please use EVAL.')
            if uc $argv->[0] eq 'EVALSHA';
        return FaultTest::standard_reply($argv);
    });
--- request
GET /noscript
--- response_body_filters eval
sub {
    my $out = SharedSessionTest::normalizer()->body($_[0]);
    my @c = FaultTest::FakeRedis->running($ENV{TEST_NGINX_FAKE_NOSCRIPT})->commands;
    $out .= 'commands: ' . CORE::join(' ', map { uc $_->{argv}[0] } @c) . "\n";
    my ($evalsha, $eval) = @c[2, 3];
    my @a = @{ $evalsha->{argv} };
    my @b = @{ $eval->{argv} };
    $out .= 'same script: '
          . (FaultTest::sha1_hex($b[1]) eq $a[1] ? 'yes' : 'no') . "\n";
    $out .= 'same arguments: '
          . ("@a[2 .. $#a]" eq "@b[2 .. $#b]" ? 'yes' : 'no') . "\n";
    $out;
}
--- response_body
body: {"sessionId":"<new>","host":"hostF","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
commands: SCRIPT SCRIPT EVALSHA EVAL PUBLISH
same script: yes
same arguments: yes
--- no_error_log
[error]
[alert]
[crit]



=== TEST 29: NOSCRIPT to EVAL as well: 503 after exactly one retry, no loop
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_NOSCRIPT},
    on_command => sub {
        my ($argv) = @_;
        return FaultTest::err('NOSCRIPT No matching script. Please use EVAL.')
            if $argv->[0] =~ /^EVAL/i;
        return FaultTest::standard_reply($argv);
    });
--- request
GET /noscript
--- error_code: 503
--- response_body_filters eval
sub {
    Time::HiRes::sleep(0.1);
    main::unavailable($_[0]) . 'commands: '
    . FaultTest::FakeRedis->running($ENV{TEST_NGINX_FAKE_NOSCRIPT})->command_names
    . "\n";
}
--- response_body
503 body ok
commands: SCRIPT SCRIPT EVALSHA EVAL
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_NOSCRIPT} NOSCRIPT No matching script/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 30: SCRIPT LOAD answered with an error: 503, logged once when it happens and once for the request
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_LOADERR},
    on_command => sub {
        my ($argv) = @_;
        return FaultTest::err("ERR unknown command 'SCRIPT'")
            if uc $argv->[0] eq 'SCRIPT';
        return FaultTest::standard_reply($argv);
    });
--- request
GET /loaderr
--- error_code: 503
--- response_body_like: ^\{"error":"session store unavailable"\}\n?\z
--- grep_error_log eval
qr/SCRIPT LOAD failed: ERR unknown command 'SCRIPT'/
--- grep_error_log_out
SCRIPT LOAD failed: ERR unknown command 'SCRIPT'
SCRIPT LOAD failed: ERR unknown command 'SCRIPT'
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 31: six pipelined requests whose replies arrive together in one packet: each gets its own reply
The fake holds the replies until the sixth EVALSHA and writes them in one
write; each reply carries a creationTime that identifies its command.
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_PIPELINE},
    on_command => sub {
        my ($argv, $ctx) = @_;
        my $e = FaultTest::decode_eval($argv)
            or return FaultTest::standard_reply($argv);
        my $n = ++$ctx->{state}{evals};
        my $reply = FaultTest::arr(FaultTest::integer(0),
                                   FaultTest::bulk(1500000000000 + $n),
                                   FaultTest::nil());
        return { write => $reply, ($n < 6 ? (hold => 1) : (flush => 1)) };
    });
@main::pending = map { FaultTest::http_start(GET => '/pipeline') } 1 .. 5;
Time::HiRes::sleep(0.2);
--- request
GET /pipeline
--- response_body_filters eval
sub {
    my @res = (FaultTest::http_finish_all(\@main::pending, 5), { status => 200, body => $_[0] });
    my %created;    # new_id => creationTime sent with it
    my $n = 0;
    for my $c (FaultTest::FakeRedis->running($ENV{TEST_NGINX_FAKE_PIPELINE})->commands) {
        my $e = FaultTest::decode_eval($c->{argv}) or next;
        $created{ $e->{new_id} } = 1500000000000 + ++$n;
    }
    my ($ok, @bad) = (0);
    for my $r (@res) {
        my $j = eval { JSON::PP->new->decode($r->{body}) };
        if ($r->{status} == 200 && $j && defined $created{ $j->{sessionId} }
            && $j->{creationTime} == $created{ $j->{sessionId} })
        {
            $ok++;
        } else {
            push @bad, "$r->{status} $r->{body}";
        }
    }
    "EVALSHA: $n\nmatched: $ok\n" . CORE::join('', map { "bad: $_\n" } @bad);
}
--- response_body
EVALSHA: 6
matched: 6
--- no_error_log
[error]
[alert]
[crit]



=== TEST 32: clients that leave while a 10 MB reply is pending: the late replies are dropped, the worker serves on
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_LATE},
    on_command => sub {
        my ($argv, $ctx) = @_;
        my $e = FaultTest::decode_eval($argv)
            or return FaultTest::standard_reply($argv);
        return FaultTest::standard_reply($argv)
            if ++$ctx->{state}{evals} > 3;
        return ({ sleep => 0.15 },
                FaultTest::arr(FaultTest::integer(0), FaultTest::bulk($e->{now}),
                               FaultTest::bulk('{' . ('z' x (10 << 20)))));
    });
for (1 .. 3) {
    my $h = FaultTest::http_start(GET => '/late');
    Time::HiRes::sleep(0.05);
    close $h->{sock};
}
Time::HiRes::sleep(0.6);
--- request
GET /late
--- response_body_like: "new":true
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 33: tcp_listen: a peer that accepts and never answers: 503 within the timeout
--- tcp_listen eval: $ENV{TEST_NGINX_FAKE_TCP1}
--- tcp_reply eval
""
--- tcp_no_close
--- init
SharedSessionTest::mark();
--- request
GET /tcp1
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) . main::timing(0.45, 1.0) }
--- response_body
503 body ok
in time
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_TCP1} timed out/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 34: tcp_listen: a peer that answers garbage and closes: 503 at once
--- tcp_listen eval: $ENV{TEST_NGINX_FAKE_TCP2}
--- tcp_reply eval
"garbage\r\n\x00\xff"
--- init
SharedSessionTest::mark();
--- request
GET /tcp2
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) . main::timing(0, 1.0) }
--- response_body
503 body ok
in time
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_TCP2} /
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 35: a peer that accepts and closes at once: 503 at once
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_HANGUP},
    on_connect => sub { return { close => 1 } });
SharedSessionTest::mark();
--- request
GET /hangup
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) . main::timing(0, 1.0) }
--- response_body
503 body ok
in time
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_HANGUP} /
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 36: a reply that trickles in (1 KB every 20 ms) past the 500 ms timeout: 503 in time, the half-read reply is dropped with the connection
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_TRICKLE},
    on_command => sub {
        my ($argv) = @_;
        my $e = FaultTest::decode_eval($argv)
            or return FaultTest::standard_reply($argv);
        return { write => FaultTest::arr(FaultTest::integer(0),
                                         FaultTest::bulk($e->{now}),
                                         FaultTest::bulk('{' . ('t' x 200_000))),
                 chunk => 1024, gap => 0.02 };
    });
SharedSessionTest::mark();
--- request
GET /trickle
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) . main::timing(0.45, 1.0) }
--- response_body
503 body ok
in time
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_TRICKLE} timed out/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 37: a connect that never completes (the listen queue is full): 503 within the 500 ms timeout
--- init
FaultTest::FakeRedis::stop_all();
$main::listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                        LocalPort => $ENV{TEST_NGINX_FAKE_BACKLOG},
                                        Listen => 0, ReuseAddr => 1)
    or die "listen: $!";
# fill the accept queue: further SYNs are dropped, connect() hangs
@main::fillers = ();
for (1 .. 8) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_FAKE_BACKLOG},
                                  Blocking => 0);
    push @main::fillers, $s if $s;
}
Time::HiRes::sleep(0.05);
SharedSessionTest::mark();
--- request
GET /backlog
--- error_code: 503
--- response_body_filters eval
sub {
    my $out = main::unavailable($_[0]) . main::timing(0.45, 1.0);
    close $_ for @main::fillers;
    close $main::listener;
    $out;
}
--- response_body
503 body ok
in time
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_BACKLOG} (connect )?timed out/
--- no_error_log
[alert]
[crit]
exited on signal
