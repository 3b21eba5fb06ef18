# TLS to Redis (shared_session_redis_tls and friends), against real
# redis-servers that listen with TLS only (port 0, tls-port P) and a CA and
# certificates that t/inc/TlsTest.pm makes with the openssl command line:
#
#   redis          CA "ca", DNS:redis.test and IP:127.0.0.1    the good one
#   wrongname      CA "ca", DNS:other.test only
#   expired        CA "ca", redis.test, valid 2020-01-01 .. 2021-01-01
#   otherca.pem    a second CA that signed nothing the servers present
#   client         a client certificate from "ca" (otherclient: "otherca")
#
# A good certificate works (sessions created and reused, invalidated, 20
# at once, a 60 KB reply; the keys read back over TLS with redis-cli); a
# wrong CA, a wrong name and an expired certificate are each refused with
# the reason logged and a 503, without a reconnect storm; verify off
# accepts them; client certificates; AUTH (password, ACL user) after the
# handshake, a wrong password; a TLS Redis restarted; TLS and plain mixed
# up either way (a real plain Redis, and two fakes from FaultTest for the
# two things it may do with a ClientHello); a Redis Cluster with TLS and
# AUTH.  Before the blocks, plain Test::More checks run "nginx -t" on
# configurations that must be refused (as t/006-config-errors.t does: nginx
# reports them on stderr before it opens its error_log).
#
# After a failure the module waits 100 ms before reconnecting, doubling to
# at most 1 s, so ~2 s of failing requests make ~5 connection attempts
# (TlsTest::attempts counts the TCP connections Redis accepted); "a
# handful" below means 3 to 8.  Every block checks that no worker crashed
# ("exited on signal", [alert], [crit]; TEST 12 explains its one [crit]).

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use TlsTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(10);

my $D = $ENV{TEST_NGINX_TLS_DIR} = TlsTest::dir();

# the good certificate, tls-auth-clients no
$ENV{TEST_NGINX_TLS_PORT} = TlsTest::start_redis();
$ENV{TEST_NGINX_WRONGNAME_PORT} = TlsTest::start_redis(cert => 'wrongname');
$ENV{TEST_NGINX_EXPIRED_PORT} = TlsTest::start_redis(cert => 'expired');
# client certificates from "ca" required
$ENV{TEST_NGINX_MTLS_PORT} = TlsTest::start_redis(auth_clients => 'yes');
$ENV{TEST_NGINX_TLS_AUTH_PORT} = TlsTest::start_redis(
    conf => [ 'requirepass s3cret', 'user alice on >alicepw ~* &* +@all' ],
    auth => ['s3cret']);
# a Redis Cluster, 3 primaries, TLS on the cluster bus too, requirepass
@main::cluster = TlsTest::start_cluster(
    nodes => 3, conf => [ 'requirepass s3cret', 'masterauth s3cret' ],
    auth => ['s3cret']);
# plain servers that are not Redis, for a TLS handshake with what answers
# plain text at once, and with what never answers
$ENV{TEST_NGINX_PLAIN_ERR_PORT} = FaultTest::FakeRedis->start(
    on_connect => sub {
        ({ write => "-ERR unknown command '\x16\x03\x01'\r\n" }, { hang => 1 })
    })->port;
$ENV{TEST_NGINX_SILENT_PORT} = FaultTest::FakeRedis->start(
    on_connect => sub { ({ hang => 1 }) })->port;
# openssl s_server: the redis.test certificate for a ClientHello with SNI
# redis.test, the other.test one otherwise
$ENV{TEST_NGINX_SNI_PORT} = TlsTest::start_sni_server(
    cert => 'wrongname', sni => 'redis.test', sni_cert => 'redis');
@ENV{qw(TEST_NGINX_CLUSTER_PORT1 TEST_NGINX_CLUSTER_PORT2
        TEST_NGINX_CLUSTER_PORT3)} = @main::cluster;


############################################################################
# The certificates are what the blocks take them for (openssl verify)

is(TlsTest::verify('redis', 'ca'), 'OK', 'pki: the good server certificate verifies');
like(TlsTest::describe('redis'), qr/DNS:redis\.test, IP Address:127\.0\.0\.1/,
     'pki: ... for redis.test and 127.0.0.1');
is(TlsTest::verify('wrongname', 'ca'), 'OK', 'pki: the other.test certificate verifies');
is(TlsTest::verify('expired', 'ca'), 'certificate has expired',
   'pki: the expired certificate has expired');
isnt(TlsTest::verify('redis', 'otherca'), 'OK',
     'pki: the other CA does not verify the good certificate');
is(TlsTest::verify('client', 'ca'), 'OK', 'pki: the client certificate verifies');
isnt(TlsTest::verify('otherclient', 'ca'), 'OK',
     "pki: the other CA's client certificate does not");


############################################################################
# nginx -t: what must be refused at configuration time

# a location with shared_session_redis and the given lines; one working
# location with every TLS directive keeps the rest of the file valid
sub tls_conf {
    my ($lines) = @_;
    return <<"EOT";
    server {
        listen 127.0.0.1:1;
        location = /all {
            shared_session;
            shared_session_redis 127.0.0.1:6379;
            shared_session_redis_tls on;
            shared_session_redis_tls_verify on;
            shared_session_redis_tls_trusted_certificate $D/ca.pem;
            shared_session_redis_tls_server_name redis.test;
            shared_session_redis_tls_certificate $D/client.pem;
            shared_session_redis_tls_certificate_key $D/client.key;
        }
        location = /s {
            shared_session;
            shared_session_redis 127.0.0.1:6380;
$lines
        }
    }
EOT
}

{
    my ($st, $out) = TlsTest::nginx_t(tls_conf(''));
    is($st, 'exit 0', 'nginx -t: every TLS directive, valid values') or diag($out);

    ($st, $out) = TlsTest::nginx_t(tls_conf(<<'EOT'));
            shared_session_redis_tls on;
            shared_session_redis_tls_verify off;
EOT
    is($st, 'exit 0', 'nginx -t: verify off needs no trusted certificate')
        or diag($out);

    my @refused = (
        [ 'verify on (the default) without a trusted certificate',
          "shared_session_redis_tls on;\n",
          qr/\[emerg\].*no "shared_session_redis_tls_trusted_certificate"/ ],
        [ 'verify on (explicit) without a trusted certificate',
          "shared_session_redis_tls on;\nshared_session_redis_tls_verify on;\n",
          qr/\[emerg\].*no "shared_session_redis_tls_trusted_certificate"/ ],
        [ 'a trusted certificate file that does not exist',
          "shared_session_redis_tls on;\n"
          . "shared_session_redis_tls_trusted_certificate $D/missing-ca.pem;\n",
          qr/\[emerg\].*\Q$D\E\/missing-ca\.pem/ ],
        [ 'a trusted certificate file without a certificate (a key)',
          "shared_session_redis_tls on;\n"
          . "shared_session_redis_tls_trusted_certificate $D/ca.key;\n",
          qr/\[emerg\].*\Q$D\E\/ca\.key/ ],
        [ 'a client certificate file that does not exist',
          "shared_session_redis_tls on;\n"
          . "shared_session_redis_tls_trusted_certificate $D/ca.pem;\n"
          . "shared_session_redis_tls_certificate $D/missing.pem;\n"
          . "shared_session_redis_tls_certificate_key $D/client.key;\n",
          qr/\[emerg\].*\Q$D\E\/missing\.pem/ ],
        [ 'a client key file that does not exist',
          "shared_session_redis_tls on;\n"
          . "shared_session_redis_tls_trusted_certificate $D/ca.pem;\n"
          . "shared_session_redis_tls_certificate $D/client.pem;\n"
          . "shared_session_redis_tls_certificate_key $D/missing.key;\n",
          qr/\[emerg\].*\Q$D\E\/missing\.key/ ],
        [ 'a client certificate without its key',
          "shared_session_redis_tls on;\n"
          . "shared_session_redis_tls_trusted_certificate $D/ca.pem;\n"
          . "shared_session_redis_tls_certificate $D/client.pem;\n",
          qr/\[emerg\].*"shared_session_redis_tls_certificate_key"/ ],
        [ 'a client certificate and a key that do not belong together',
          "shared_session_redis_tls on;\n"
          . "shared_session_redis_tls_trusted_certificate $D/ca.pem;\n"
          . "shared_session_redis_tls_certificate $D/mismatch.pem;\n"
          . "shared_session_redis_tls_certificate_key $D/mismatch.key;\n",
          qr/\[emerg\].*(?:mismatch|\Q$D\E\/mismatch\.key)/ ],
        [ 'shared_session_redis_tls with a bad value',
          "shared_session_redis_tls maybe;\n",
          qr/\[emerg\].*"shared_session_redis_tls"/ ],
        [ 'shared_session_redis_tls_verify with a bad value',
          "shared_session_redis_tls on;\n"
          . "shared_session_redis_tls_trusted_certificate $D/ca.pem;\n"
          . "shared_session_redis_tls_verify maybe;\n",
          qr/\[emerg\].*"shared_session_redis_tls_verify"/ ],
    );
    for my $case (@refused) {
        my ($what, $lines, $re) = @$case;
        $lines =~ s/^/            /mg;
        ($st, $out) = TlsTest::nginx_t(tls_conf($lines));
        is($st, 'exit 1', "nginx -t fails: $what");
        like($out, $re, "... with a clear [emerg] line: $what");
    }
}


############################################################################
# The blocks

my $config = <<'EOF';
    shared_session_host hostA;
    location = /good {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /good-b {
        shared_session;
        shared_session_host hostB;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /good-invalidate {
        shared_session_invalidate;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    # no server name: the configured host, 127.0.0.1, an IP SAN of the cert
    location = /good-ip {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
    }
    location = /wrong-ca {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/otherca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /wrong-name {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_WRONGNAME_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    # no server name, and a certificate without the IP: 127.0.0.1 is checked
    location = /wrong-name-ip {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_WRONGNAME_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
    }
    location = /other-name {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name elsewhere.test;
    }
    location = /expired {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_EXPIRED_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /noverify-wrong-ca {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_verify off;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/otherca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /noverify-expired {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_EXPIRED_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_verify off;
    }
    location = /noverify-wrong-name {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_WRONGNAME_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_verify off;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /mtls-nocert {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_MTLS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /mtls-othercert {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_MTLS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
        shared_session_redis_tls_certificate $TEST_NGINX_TLS_DIR/otherclient.pem;
        shared_session_redis_tls_certificate_key $TEST_NGINX_TLS_DIR/otherclient.key;
    }
    location = /mtls {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_MTLS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
        shared_session_redis_tls_certificate $TEST_NGINX_TLS_DIR/client.pem;
        shared_session_redis_tls_certificate_key $TEST_NGINX_TLS_DIR/client.key;
    }
    location = /tls-auth {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_AUTH_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
        shared_session_redis_password s3cret;
    }
    location = /tls-acl {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_AUTH_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
        shared_session_redis_username alice;
        shared_session_redis_password alicepw;
    }
    location = /tls-wrongpass {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_AUTH_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
        shared_session_redis_password Wr0ngPa55;
    }
    location = /sni {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_SNI_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /sni-none {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_SNI_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
    }
    # plain Redis protocol to the TLS port
    location = /plain-to-tls {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
    }
    # a TLS handshake with the plain shared Redis
    location = /tls-to-plain {
        shared_session;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /tls-to-plain-err {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_PLAIN_ERR_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /tls-to-silent {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_SILENT_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
EOF

# the cluster blocks' own configurations: a cluster location fetches the
# slot map when the worker starts, so the wrong CA's failure would be logged
# in the window of whichever block starts nginx
$main::cluster_config = <<'EOF';
    shared_session_host hostA;
    location = /cluster {
        shared_session;
        shared_session_redis_cluster on;
        shared_session_redis 127.0.0.1:$TEST_NGINX_CLUSTER_PORT1;
        shared_session_redis 127.0.0.1:$TEST_NGINX_CLUSTER_PORT2;
        shared_session_redis_password s3cret;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
    location = /cluster-b {
        shared_session;
        shared_session_host hostB;
        shared_session_redis_cluster on;
        shared_session_redis 127.0.0.1:$TEST_NGINX_CLUSTER_PORT3;
        shared_session_redis_password s3cret;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
    }
EOF

# no server name: the seeds are addresses, so every node, those learned
# from CLUSTER SLOTS included, is verified against its own address (the
# certificate has IP:127.0.0.1); "localhost" as the seed: every node is
# verified against that name, which the certificate does not have
$main::cluster_no_name_config = <<'EOF';
    shared_session_host hostA;
    location = /cluster-ip {
        shared_session;
        shared_session_redis_cluster on;
        shared_session_redis 127.0.0.1:$TEST_NGINX_CLUSTER_PORT1;
        shared_session_redis_password s3cret;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
    }
EOF

$main::cluster_named_seed_config = <<'EOF';
    shared_session_host hostA;
    location = /cluster-named {
        shared_session;
        shared_session_redis_cluster on;
        shared_session_redis localhost:$TEST_NGINX_CLUSTER_PORT1;
        shared_session_redis_password s3cret;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
    }
EOF

$main::cluster_wrong_ca_config = <<'EOF';
    shared_session_host hostA;
    location = /cluster-wrong-ca {
        shared_session;
        shared_session_redis_cluster on;
        shared_session_redis 127.0.0.1:$TEST_NGINX_CLUSTER_PORT1;
        shared_session_redis_password s3cret;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/otherca.pem;
        shared_session_redis_tls_server_name redis.test;
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

# GET $path every 50 ms for $secs seconds: "all 503, each within 1.5 s"
# or what else came.
sub main::storm {
    my ($path, $secs) = @_;
    my (%status, $slow);
    my $t0 = Time::HiRes::time();
    while (Time::HiRes::time() - $t0 < $secs) {
        my $res = FaultTest::http(GET => $path);
        $status{ $res->{status} }++;
        $slow = $res->{elapsed} if $res->{elapsed} >= 1.5;
        Time::HiRes::sleep(0.05);
    }
    my $out = join(', ', map { "$status{$_} x $_" } sort keys %status);
    return (keys %status == 1 && $status{503} && !$slow)
           ? "storm: all 503, each within 1.5 s\n"
           : "storm: $out" . ($slow ? sprintf(', one after %.3f s', $slow) : '')
             . "\n";
}

sub main::handful {
    my ($port, $mark) = @_;
    my $n = TlsTest::attempts($port, $mark);
    return $n >= 3 && $n <= 8 ? "connection attempts: a handful\n"
                              : "connection attempts: $n\n";
}

sub main::timing {
    my ($max) = @_;
    my $e = SharedSessionTest::elapsed();
    return $e < $max ? "answered in time\n"
                     : sprintf("answered after %.3f s (max %.1f s)\n", $e, $max);
}

# A session as Spring Session writes it, in the TLS Redis on $port, whose
# attribute is $attr.
sub main::seed_tls {
    my ($port, $id, $attr) = @_;
    my $now = SharedSessionTest::now_ms();
    my $hash = "spring:session:sessions:$id";
    TlsTest::cli($port, 'HSET', $hash, creationTime => 1552128921707,
                 maxInactiveInterval => 1800,
                 lastAccessedTime => $now - 60_000,
                 'sessionAttr:scopedTarget.sampleSession' => $attr);
    TlsTest::cli($port, 'PEXPIRE', $hash, 2_040_000);
    TlsTest::cli($port, 'SET', "spring:session:sessions:expires:$id", '',
                 'PX', 1_740_000);
    SharedSessionTest::known_id($id, 'B');
}

run_tests();

__DATA__

=== TEST 1: a good certificate, verified, server name redis.test: a session is created, then reused from another location, laid out as Spring's in the TLS Redis
--- init
TlsTest::flush($ENV{TEST_NGINX_TLS_PORT});
--- request
GET /good
--- response_headers_like
Content-Type: application/json
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub {
    my $n = SharedSessionTest::normalizer();
    my $out = $n->body($_[0]);
    my $res = SharedSessionTest::http_request(GET => '/good-b',
        Cookie => 'SESSION=' . SharedSessionTest::b64($n->primary_id // ''));
    $out . "-> GET /good-b\n" . $n->response($res)
    . "-> redis (redis-cli --tls)\n" . TlsTest::dump($ENV{TEST_NGINX_TLS_PORT}, $n);
}
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
-> GET /good-b
status: 200
set-cookie: none
body: {"sessionId":"<new>","host":"hostB","lastUpdatedAt":<now2>,"previousHost":"hostA","creationTime":<now>,"new":false}
-> redis (redis-cli --tls)
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now2>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostB","lastUpdatedAt":["java.util.Date",<now2>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(lastAccessedTime+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 2: invalidation over TLS: the session's hash is kept for 5 minutes with maxInactiveInterval 0, its shadow key and bucket member go, the member goes to the bucket of lastAccessedTime + 0
--- init
TlsTest::flush($ENV{TEST_NGINX_TLS_PORT});
--- request
GET /good
--- response_body_filters eval
sub {
    my $n = SharedSessionTest::normalizer();
    my $out = $n->body($_[0]);
    my $res = SharedSessionTest::http_request(GET => '/good-invalidate',
        Cookie => 'SESSION=' . SharedSessionTest::b64($n->primary_id // ''));
    $out . "-> GET /good-invalidate\nstatus: $res->{status}\n"
    . "-> redis (redis-cli --tls)\n" . TlsTest::dump($ENV{TEST_NGINX_TLS_PORT}, $n);
}
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
-> GET /good-invalidate
status: 302
-> redis (redis-cli --tls)
hash spring:session:sessions:<new> ttl=300s
  creationTime=<now>
  maxInactiveInterval=0
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
set spring:session:expirations:<bucket(lastAccessedTime+0s)> ttl=300s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 3: no server name configured: the name verified is the configured host, 127.0.0.1, which the good certificate has as an IP SAN
--- request
GET /good-ip
--- response_body_like: "new":true
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 4: no server name configured, and a certificate without 127.0.0.1 (DNS:other.test only): 503, "does not match" logged
--- request
GET /wrong-name-ip
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body
503 body ok
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_WRONGNAME_PORT} /,
 qr/certificate does not match "127\.0\.0\.1"/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 5: 20 requests at once over one TLS connection, and a 60 KB attribute in a reply (several TLS records): all answered
--- init
TlsTest::flush($ENV{TEST_NGINX_TLS_PORT});
my $attr = '{"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"bigHost","lastUpdatedAt":["java.util.Date",1552129074569],"pad":"'
           . ('x' x 60_000) . '"}';
main::seed_tls($ENV{TEST_NGINX_TLS_PORT}, 'e1237df7-5646-4382-aa12-41435ed09dc7', $attr);
my @h = map { FaultTest::http_start(GET => '/good') } 1 .. 20;
my %st;
$st{ $_->{status} }++ for FaultTest::http_finish_all(\@h, 5);
$main::parallel = join(', ', map { "$st{$_} x $_" } sort keys %st);
--- request
GET /good-b
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub {
    my $n = SharedSessionTest::normalizer();
    my $sessions = grep { !/:expires:/ } split /\n/,
        TlsTest::cli($ENV{TEST_NGINX_TLS_PORT}, 'KEYS', 'spring:session:sessions:*');
    "parallel: $main::parallel\n" . $n->body($_[0])
    . "session hashes in redis: $sessions\n";
}
--- response_body
parallel: 20 x 200
body: {"sessionId":"<B>","host":"hostB","lastUpdatedAt":<now>,"previousHost":"bigHost","creationTime":1552128921707,"new":false}
session hashes in redis: 21
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 6: a wrong CA (the trusted certificate is an unrelated CA): 503, the verification failure and its reason logged, no reconnect storm over 2 s of requests
The same Redis serves /good with its own working connection (TEST 1);
this location must not use it.
--- init
$main::mark = TlsTest::mark_attempts($ENV{TEST_NGINX_TLS_PORT});
$main::storm = main::storm('/wrong-ca', 2);
--- request
GET /wrong-ca
--- error_code: 503
--- response_headers
Content-Type: application/json
!Set-Cookie
--- response_body_filters eval
sub { $main::storm . main::unavailable($_[0])
      . main::handful($ENV{TEST_NGINX_TLS_PORT}, $main::mark) }
--- response_body
storm: all 503, each within 1.5 s
503 body ok
connection attempts: a handful
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_TLS_PORT} /,
 qr/certificate verify (?:failed|error).*(?:self-signed certificate in certificate chain|unable to get local issuer certificate)/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 7: meanwhile a location with the right CA on the same Redis answers at once: the failing location's connection and backoff are its own
--- init
FaultTest::http(GET => '/wrong-ca');
--- request
GET /good
--- response_body_like: "new":true
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 8: a certificate for another name (DNS:other.test) while the server name is redis.test: 503, "does not match" logged
--- request
GET /wrong-name
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body
503 body ok
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_WRONGNAME_PORT} /,
 qr/certificate does not match "redis\.test"/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 9: the good certificate, but a server name it does not carry (elsewhere.test): 503, "does not match" logged
--- request
GET /other-name
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body
503 body ok
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_TLS_PORT} /,
 qr/certificate does not match "elsewhere\.test"/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 10: an expired certificate (2020-2021) from the right CA, for the right name: 503, "certificate has expired" logged
--- request
GET /expired
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body
503 body ok
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_EXPIRED_PORT} /,
 qr/certificate verify (?:failed|error).*certificate has expired/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 11: verify off: the wrong CA, the expired certificate and the wrong name are all accepted
--- init
TlsTest::flush($ENV{TEST_NGINX_EXPIRED_PORT});
TlsTest::flush($ENV{TEST_NGINX_WRONGNAME_PORT});
--- request eval
["GET /noverify-wrong-ca", "GET /noverify-expired", "GET /noverify-wrong-name"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/"new":true/, qr/"new":true/, qr/"new":true/]
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 12: Redis requires a client certificate (tls-auth-clients yes) and none is configured: 503, the refused handshake logged, no reconnect storm
With TLS 1.3 the client's handshake completes before the server checks
the certificate; the server's "certificate required" alert comes with the
first read, and nginx 1.22's ngx_ssl_connection_error() logs that alert
(reason 1116, which its list of handshake failures lacks) at [crit]
whoever calls it.  That one [crit] line is allowed here, no other.  When
Redis has reset the connection before nginx reads, a write fails instead.
--- init
FaultTest::log_mark();
$main::mark = TlsTest::mark_attempts($ENV{TEST_NGINX_MTLS_PORT});
$main::storm = main::storm('/mtls-nocert', 2);
--- request
GET /mtls-nocert
--- error_code: 503
--- response_body_filters eval
sub {
    my @crit = grep { /\[crit\]/ && !/SSL_read\(\) failed .*alert certificate required/ }
               split /^/, FaultTest::log_since_mark();
    $main::storm . main::unavailable($_[0])
    . main::handful($ENV{TEST_NGINX_MTLS_PORT}, $main::mark)
    . (@crit ? "other [crit] lines:\n@crit" : "no other [crit] line\n");
}
--- response_body
storm: all 503, each within 1.5 s
503 body ok
connection attempts: a handful
no other [crit] line
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_MTLS_PORT} /,
 qr/alert certificate required|TLS (?:read|write) failed|handshak/]
--- no_error_log
[alert]
exited on signal



=== TEST 13: a client certificate from a CA the Redis does not trust: 503
As in TEST 12, with TLS 1.3 Redis refuses the certificate after the
client's handshake is done: nginx sees its alert on the next read or, when
Redis has reset the connection by then, only a failed write.
--- request
GET /mtls-othercert
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body
503 body ok
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_MTLS_PORT} /,
 qr/alert (?:unknown ca|bad certificate)|TLS (?:read|write) failed|handshak/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 14: with the client certificate from the right CA: the session works
--- init
TlsTest::flush($ENV{TEST_NGINX_MTLS_PORT});
--- request
GET /mtls
--- response_body_filters eval
sub {
    my $n = SharedSessionTest::normalizer();
    $n->body($_[0]) . TlsTest::dump($ENV{TEST_NGINX_MTLS_PORT}, $n);
}
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(lastAccessedTime+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 15: AUTH after the handshake: requirepass with the password, and an ACL user with its password
--- init
TlsTest::flush($ENV{TEST_NGINX_TLS_AUTH_PORT});
--- request eval
["GET /tls-auth", "GET /tls-acl"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/"new":true/, qr/"new":true/]
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 16: a wrong password over TLS: 503, WRONGPASS logged (the password never), no reconnect storm over 2 s of requests
--- init
$main::mark = TlsTest::mark_attempts($ENV{TEST_NGINX_TLS_AUTH_PORT});
$main::storm = main::storm('/tls-wrongpass', 2);
--- request
GET /tls-wrongpass
--- error_code: 503
--- response_body_filters eval
sub { $main::storm . main::unavailable($_[0])
      . main::handful($ENV{TEST_NGINX_TLS_AUTH_PORT}, $main::mark) }
--- response_body
storm: all 503, each within 1.5 s
503 body ok
connection attempts: a handful
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_TLS_AUTH_PORT} .*(?:WRONGPASS|invalid (?:username-)?password)/
--- no_error_log
[alert]
[crit]
exited on signal
Wr0ngPa55



=== TEST 17: the TLS Redis restarted while the worker is idle: the lost connection is replaced by a new handshake and AUTH, no 503
--- init
FaultTest::http(GET => '/tls-auth');
FaultTest::http(GET => '/tls-acl');
TlsTest::restart_redis($ENV{TEST_NGINX_TLS_AUTH_PORT});
Time::HiRes::sleep(0.05);
--- request eval
["GET /tls-auth", "GET /tls-acl", "GET /tls-auth"]
--- error_code eval
[200, 200, 200]
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 18: TLS off, pointed at the TLS port: 503 within the 1 s timeout, no crash
--- init
SharedSessionTest::mark();
--- request
GET /plain-to-tls
--- error_code: 503
--- response_body_filters eval
sub { main::timing(1.5) . main::unavailable($_[0]) }
--- response_body
answered in time
503 body ok
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_TLS_PORT} /
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 19: TLS on, pointed at a plain Redis: 503 within the 1 s timeout, the cause logged, no crash
Redis reads the ClientHello as an inline command: it waits for a newline
(the handshake then times out) or, when the random bytes hold one, answers
an error that is no TLS record.  Which one is chance: the next two blocks
take each path for sure.
--- init
SharedSessionTest::mark();
--- request
GET /tls-to-plain
--- error_code: 503
--- response_body_filters eval
sub { main::timing(1.5) . main::unavailable($_[0]) }
--- response_body
answered in time
503 body ok
--- error_log eval
qr/\[error\].*shared session: redis \Q$ENV{TEST_NGINX_REDIS_HOST}:$ENV{TEST_NGINX_REDIS_PORT}\E /
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 20: TLS on, pointed at a plain server that answers a Redis error line at once: 503 at once, the failed handshake logged
--- init
SharedSessionTest::mark();
--- request
GET /tls-to-plain-err
--- error_code: 503
--- response_body_filters eval
sub { main::timing(0.5) . main::unavailable($_[0]) }
--- response_body
answered in time
503 body ok
--- error_log eval
[qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_PLAIN_ERR_PORT} [^,]*(?:TLS|SSL|handshake)/,
 qr/wrong version number|TLS handshake failed/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 21: TLS on, pointed at a plain server that never answers: 503 after the 1 s timeout, logged as the TLS handshake timing out
--- init
SharedSessionTest::mark();
--- request
GET /tls-to-silent
--- error_code: 503
--- response_body_filters eval
sub { main::timing(1.5) . main::unavailable($_[0]) }
--- response_body
answered in time
503 body ok
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_SILENT_PORT} [^,]*(?:(?:TLS|SSL|handshake)[^,]*timed out|timed out[^,]*(?:TLS|SSL|handshake))/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 22: the server name goes out as SNI: a server that picks its certificate by SNI presents the redis.test one, which verifies (that server is no Redis: 503 after the handshake)
--- request
GET /sni
--- error_code: 503
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_SNI_PORT} [^,]*(?:timed out|connection lost)/
--- no_error_log
does not match
verify failed
[alert]
[crit]
exited on signal



=== TEST 23: no server name, an IP address: no SNI (RFC 6066), so the same server presents its default certificate, for other.test: "does not match"
--- request
GET /sni-none
--- error_code: 503
--- error_log eval
qr/\[error\].*shared session: redis 127\.0\.0\.1:$ENV{TEST_NGINX_SNI_PORT} [^,]*certificate does not match "127\.0\.0\.1"/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 24: after all of that the good location still works
--- request
GET /good
--- response_body_like: "new":true
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 25: Redis Cluster over TLS with AUTH (3 primaries, tls-cluster yes): a session created through two seed nodes and reused through the third, its keys spread over the nodes as Spring lays them out
--- config eval
$main::cluster_config
--- init
TlsTest::cli($_, 'FLUSHALL') for @main::cluster;
--- request
GET /cluster
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub {
    my $n = SharedSessionTest::normalizer();
    my $out = $n->body($_[0]);
    my $res = SharedSessionTest::http_request(GET => '/cluster-b',
        Cookie => 'SESSION=' . SharedSessionTest::b64($n->primary_id // ''));
    $out . "-> GET /cluster-b\n" . $n->response($res)
    . "-> redis cluster (redis-cli --tls)\n" . TlsTest::dump(\@main::cluster, $n);
}
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
-> GET /cluster-b
status: 200
set-cookie: none
body: {"sessionId":"<new>","host":"hostB","lastUpdatedAt":<now2>,"previousHost":"hostA","creationTime":<now>,"new":false}
-> redis cluster (redis-cli --tls)
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now2>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostB","lastUpdatedAt":["java.util.Date",<now2>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(lastAccessedTime+1800s)> ttl=2100s
  "expires:<new>"
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 26: Redis Cluster over TLS with the wrong CA: 503, the verification failure logged
--- config eval
$main::cluster_wrong_ca_config
--- request
GET /cluster-wrong-ca
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body
503 body ok
--- error_log eval
[qr/\[error\].*shared session: redis/,
 qr/certificate verify (?:failed|error).*(?:self-signed certificate in certificate chain|unable to get local issuer certificate)/]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 27: Redis Cluster over TLS, no server name, seeds given by address: each node verified against its own address
--- config eval
$main::cluster_no_name_config
--- init
TlsTest::cli($_, 'FLUSHALL') for @main::cluster;
--- request eval
["GET /cluster-ip", "GET /cluster-ip", "GET /cluster-ip"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/"new":true/, qr/"new":true/, qr/"new":true/]
--- no_error_log
[error]
[alert]
[crit]
exited on signal



=== TEST 28: Redis Cluster over TLS, no server name, the seed given by name: nodes are verified against that name (not in the certificate): 503
--- config eval
$main::cluster_named_seed_config
--- request
GET /cluster-named
--- error_code: 503
--- response_body_filters eval
sub { main::unavailable($_[0]) }
--- response_body
503 body ok
--- error_log eval
qr/certificate does not match "localhost"/
--- no_error_log
[alert]
[crit]
exited on signal
