# Named Redis blocks: "shared_session_redis_upstream name { ... }" at http
# level holds a Redis's address(es) and every connection setting, and
# "shared_session_redis name" points a level at it, as nginx names its
# upstreams.  The "host:port" shorthand with location-level settings, and
# REDIS_CLUSTER_ENDPOINT as its default, work beside it.
#
# First, plain Test::More checks of "nginx -t" (nginx reports configuration
# errors on stderr before it opens its error_log, as t/006 explains): what
# passes, every refusal with its [emerg] line and, where nginx can know it,
# the line of the file that is wrong.  Then the blocks: sessions through a
# named block laid out as Spring's, the block's settings applied
# (password, database), a name inherited, the shorthand and the
# environment's default beside blocks, one connection per worker for all
# the locations of a block, a named cluster (t/inc/ClusterTest.pm) and a
# named TLS Redis (t/inc/TlsTest.pm).

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use ClusterTest;
use TlsTest;
use File::Temp ();
use Test::Nginx::Socket 'no_plan';
no warnings 'once';

no_shuffle();
no_long_string();
log_level('info');
timeout(10);

# behind requirepass: the block's password and database are applied
$ENV{TEST_NGINX_AUTH_PORT} = SharedSessionTest::start_redis(
    conf => ['requirepass s3cret'], auth => ['s3cret']);
# nobody else talks to it: its CLIENT LIST is nginx's connections
$ENV{TEST_NGINX_COUNT_PORT} = SharedSessionTest::start_redis();
# the implicit block's default, from the environment
$ENV{TEST_NGINX_ENV_PORT} = SharedSessionTest::start_redis();
$ENV{REDIS_CLUSTER_ENDPOINT} = '127.0.0.1';
$ENV{REDIS_CLUSTER_PORT} = $ENV{TEST_NGINX_ENV_PORT};

$main::cluster = ClusterTest->start(nodes => 3, replicas => 0);
($ENV{TEST_NGINX_SEED1}, $ENV{TEST_NGINX_SEED2}) = ($main::cluster->ports)[0, 1];

my $D = $ENV{TEST_NGINX_TLS_DIR} = TlsTest::dir();
$ENV{TEST_NGINX_TLS_PORT} = TlsTest::start_redis();


############################################################################
# nginx -t

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = grep { length } split /\s+/, ($ENV{TEST_NGINX_LOAD_MODULES} // '');
my $dir = File::Temp::tempdir('ss-upsconf-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/logs";

# nginx -t on a file with $http inside http{}: (status text, output, the
# file's text)
sub nginx_t {
    my ($http) = @_;
    my $load = join '', map { "load_module $_;\n" } @modules;
    my $conf = <<"EOT";
${load}error_log $dir/logs/error.log;
pid $dir/logs/nginx.pid;
events {
    worker_connections 16;
}
http {
    access_log off;
$http}
EOT
    open my $fh, '>', "$dir/nginx.conf" or die "$dir/nginx.conf: $!";
    print $fh $conf;
    close $fh;
    my $out = `timeout 30 $nginx -t -q -e stderr -p $dir/ -c $dir/nginx.conf 2>&1`;
    my $st = $?;
    return ($st & 127 ? 'killed by signal ' . ($st & 127) : 'exit ' . ($st >> 8),
            $out, $conf);
}

# the number of the first line of $conf that matches $re
sub line_of {
    my ($conf, $re) = @_;
    my $n = 0;
    for (split /\n/, $conf) {
        $n++;
        return $n if /$re/;
    }
    return 0;
}

# A block "sessions" and a location that uses it, with lines added:
#   block => the block's body (default: one server), use => the value of
#   the location's shared_session_redis (default "sessions"), location,
#   server, http => more lines there (http: before the block).
sub conf_text {
    my (%o) = @_;
    my $block = $o{block} // "server 127.0.0.1:6379;\n";
    my $use = $o{use} // 'sessions';
    my %add = map { ($_ => $o{$_} // '') } qw(http server location);
    $block =~ s/^/        /mg;
    $add{$_} =~ s/^/            /mg for qw(location);
    $add{$_} =~ s/^/        /mg for qw(server);
    $add{$_} =~ s/^/    /mg for qw(http);
    return <<"EOT";
$add{http}    shared_session_redis_upstream sessions {
$block    }
    server {
        listen 127.0.0.1:1;
$add{server}        location = /s {
            shared_session;
            shared_session_redis $use;
$add{location}        }
    }
EOT
}

my ($st, $out, $conf);

# what passes

for my $case (
    [ 'a block and a location that uses it', conf_text() ],
    [ 'the block after its use', <<'EOT' ],
    server {
        listen 127.0.0.1:1;
        location = /l {
            shared_session;
            shared_session_redis later;
        }
    }
    shared_session_redis_upstream later {
        server 127.0.0.1:6380;
    }
EOT
    [ 'a block that no location uses', conf_text(use => '127.0.0.1:6379') ],
    [ 'every setting in a block',
      conf_text(block => <<"EOT") ],
server 127.0.0.1:6379;
timeout 2s;
password env:HOME;
username alice;
database 2;
scripts off;
tls on;
tls_verify on;
tls_trusted_certificate $D/ca.pem;
tls_server_name redis.test;
tls_certificate $D/client.pem;
tls_certificate_key $D/client.key;
EOT
    [ 'a cluster block with several seeds',
      conf_text(block => "server 127.0.0.1:7000;\nserver 127.0.0.1:7001;\n"
                         . "cluster on;\n") ],
    [ 'a unix socket in a block, an IPv4 address without a port beside it',
      conf_text(block => "server unix:/tmp/redis.sock;\n",
                server => "location = /h {\n    shared_session;\n"
                          . "    shared_session_redis 127.0.0.2;\n}\n") ],
    [ 'a name inherited from the server level, replaced by the shorthand',
      conf_text(server => "shared_session_redis sessions;\n"
                          . "location = /own {\n    shared_session;\n"
                          . "    shared_session_redis 127.0.0.1:6380;\n"
                          . "    shared_session_redis_timeout 2s;\n}\n") ],
    [ 'a name replacing the shorthand inherited',
      conf_text(server => "shared_session_redis 127.0.0.1:6380;\n") ],
    [ 'with a resolver at http level, a name in a block is resolved later',
      conf_text(http => "resolver 127.0.0.1:1;\n",
                block => "server no-such-host.invalid:6379;\n") ],
) {
    my ($what, $text) = @$case;
    ($st, $out) = nginx_t($text);
    is($st, 'exit 0', "nginx -t passes: $what") or diag($out);
}

# what is refused: [ what, http text, the [emerg] line, the line it names
# (a regex for the line of the file, or undef) ]
my @refused = (
    [ 'a name without its block',
      conf_text(use => 'nosuch'),
      qr/no shared_session_redis_upstream "nosuch"/,
      qr/shared_session_redis nosuch;/ ],
    [ 'a host name without its port is a name',
      conf_text(use => 'localhost'),
      qr/no shared_session_redis_upstream "localhost" \(an address needs its port: "localhost:6379"\)/,
      qr/shared_session_redis localhost;/ ],
    [ 'two blocks of the same name',
      conf_text(server => "}\nshared_session_redis_upstream sessions { # again\n"
                          . "    server 127.0.0.1:6380;\n}\nserver {\n"
                          . "listen 127.0.0.1:2;\n"),
      qr/duplicate shared_session_redis_upstream "sessions"/,
      qr/# again/ ],
    [ 'a block without a server',
      conf_text(block => "timeout 1s;\n"),
      qr/no "server" in shared_session_redis_upstream "sessions"/, undef ],
    [ 'a block in a server',
      conf_text(server => "shared_session_redis_upstream s2 {\n"
                          . "    server 127.0.0.1:6379;\n}\n"),
      qr/"shared_session_redis_upstream" directive is not allowed here/,
      qr/shared_session_redis_upstream s2/ ],
    [ 'a block name that is not a word',
      conf_text(http => "shared_session_redis_upstream a.b {\n"
                        . "    server 127.0.0.1:6379;\n}\n"),
      qr/invalid name "a\.b" in "shared_session_redis_upstream" directive/,
      qr/shared_session_redis_upstream a\.b/ ],
    [ 'a name and an address at one level',
      conf_text(location => "shared_session_redis 127.0.0.1:6380;\n"),
      qr/"shared_session_redis" directive is duplicate/,
      qr/shared_session_redis 127\.0\.0\.1:6380;/ ],
    [ 'an address and a name at one level',
      conf_text(use => "127.0.0.1:6380;\n            shared_session_redis sessions"),
      qr/"shared_session_redis" directive is duplicate/,
      qr/shared_session_redis sessions;/ ],
    [ 'an unknown directive in a block',
      conf_text(block => "server 127.0.0.1:6379;\nbogus 1;\n"),
      qr/unknown directive "bogus" in shared_session_redis_upstream "sessions"/,
      qr/bogus 1;/ ],
    [ 'a location-level directive in a block',
      conf_text(block => "server 127.0.0.1:6379;\nshared_session_redis_timeout 1s;\n"),
      qr/unknown directive "shared_session_redis_timeout" in shared_session_redis_upstream/,
      qr/shared_session_redis_timeout 1s;/ ],
    [ 'two values for a setting of one value',
      conf_text(block => "server 127.0.0.1:6379 127.0.0.1:6380;\n"),
      qr/invalid number of arguments in "server" directive/, undef ],
    [ 'a setting twice',
      conf_text(block => "server 127.0.0.1:6379;\ntimeout 1s;\ntimeout 2s;\n"),
      qr/"timeout" directive is duplicate/, qr/timeout 2s;/ ],
    [ 'a block inside a block',
      conf_text(block => "server 127.0.0.1:6379;\ntls {\n}\n"),
      qr/unexpected "\{"/, undef ],
    [ 'timeout 0',
      conf_text(block => "server 127.0.0.1:6379;\ntimeout 0;\n"),
      qr/invalid value "0" in "timeout" directive: must be positive/,
      qr/timeout 0;/ ],
    [ 'timeout abc',
      conf_text(block => "server 127.0.0.1:6379;\ntimeout abc;\n"),
      qr/invalid value "abc" in "timeout" directive/, qr/timeout abc;/ ],
    [ 'database -1',
      conf_text(block => "server 127.0.0.1:6379;\ndatabase -1;\n"),
      qr/invalid value "-1" in "database" directive/, qr/database -1;/ ],
    [ 'cluster maybe',
      conf_text(block => "server 127.0.0.1:6379;\ncluster maybe;\n"),
      qr/invalid value "maybe" in "cluster" directive/, qr/cluster maybe;/ ],
    [ 'scripts maybe',
      conf_text(block => "server 127.0.0.1:6379;\nscripts maybe;\n"),
      qr/invalid value "maybe" in "scripts" directive/, undef ],
    [ 'tls maybe',
      conf_text(block => "server 127.0.0.1:6379;\ntls maybe;\n"),
      qr/invalid value "maybe" in "tls" directive/, undef ],
    [ 'tls_verify maybe',
      conf_text(block => "server 127.0.0.1:6379;\ntls_verify maybe;\n"),
      qr/invalid value "maybe" in "tls_verify" directive/, undef ],
    [ 'an empty tls_server_name',
      conf_text(block => "server 127.0.0.1:6379;\ntls_server_name \"\";\n"),
      qr/invalid value "" in "tls_server_name" directive: must not be empty/,
      undef ],
    [ 'a username with a control character',
      conf_text(block => "server 127.0.0.1:6379;\nusername \"a\\tb\";\n"
                         . "password pw;\n"),
      qr/in "username" directive: must not contain control characters/,
      undef ],
    [ 'a password from an unset variable',
      conf_text(block => "server 127.0.0.1:6379;\n"
                         . "password env:SS_TEST_UNSET_VARIABLE;\n"),
      qr/invalid value "env:SS_TEST_UNSET_VARIABLE" in "password" directive/,
      undef ],
    [ 'a port that is not a number',
      conf_text(block => "server 127.0.0.1:notaport;\n"),
      qr/invalid value "127\.0\.0\.1:notaport" in "server" directive/,
      qr/server 127\.0\.0\.1:notaport;/ ],
    [ 'unix: without a path',
      conf_text(block => "server unix:;\n"),
      qr/invalid value "unix:" in "server" directive/, undef ],
    [ 'a host name that does not resolve',
      conf_text(block => "server no-such-host.invalid:6379;\n"),
      qr/invalid "server" address "no-such-host\.invalid:6379"/,
      qr/^\s*shared_session_redis_upstream sessions \{/ ],
    [ 'a resolver in a server only: a block resolves its names when loaded',
      conf_text(server => "resolver 127.0.0.1:1;\n",
                block => "server no-such-host.invalid:6379;\n"),
      qr/invalid "server" address "no-such-host\.invalid:6379"/,
      qr/^\s*shared_session_redis_upstream sessions \{/ ],
    [ 'several servers without cluster on',
      conf_text(block => "server 127.0.0.1:7000;\nserver 127.0.0.1:7001;\n"),
      qr/"server" "127\.0\.0\.1:7001" is duplicate: several seed nodes need "cluster on"/,
      undef ],
    [ 'a cluster with database 1',
      conf_text(block => "server 127.0.0.1:7000;\ncluster on;\ndatabase 1;\n"),
      qr/"database" 1: a Redis Cluster has only database 0/, undef ],
    [ 'a username without a password',
      conf_text(block => "server 127.0.0.1:6379;\nusername alice;\n"),
      qr/"username" "alice" requires "password"/, undef ],
    [ 'tls with verify on and no trusted certificate',
      conf_text(block => "server 127.0.0.1:6379;\ntls on;\n"),
      qr/no "shared_session_redis_tls_trusted_certificate"/,
      qr/^\s*shared_session_redis_upstream sessions \{/ ],
    [ 'a certificate file that does not exist',
      conf_text(block => "server 127.0.0.1:6379;\ntls on;\n"
                         . "tls_trusted_certificate $D/missing-ca.pem;\n"),
      qr/\Q$D\E\/missing-ca\.pem/, undef ],
);

# Every location-level connection setting beside a name: at the same
# level, and inherited from the server and from http.
my %setting = (
    cluster => 'off', timeout => '2s', password => 'pw', username => 'alice',
    database => 1, scripts => 'off', tls => 'on',
    tls_trusted_certificate => "$D/ca.pem", tls_verify => 'off',
    tls_server_name => 'redis.test', tls_certificate => "$D/client.pem",
    tls_certificate_key => "$D/client.key",
);
for my $name (sort keys %setting) {
    my $d = "shared_session_redis_$name";
    push @refused, [ "$d beside a name",
        conf_text(location => "$d $setting{$name};\n"),
        qr/"$d" cannot be used with "shared_session_redis sessions" in location "\/s": the settings of a shared_session_redis_upstream are inside its block/,
        undef ];
}
push @refused,
    [ 'a setting inherited from the server level beside a name',
      conf_text(server => "shared_session_redis_timeout 2s;\n"),
      qr/"shared_session_redis_timeout" cannot be used with "shared_session_redis sessions" in location "\/s"/,
      undef ],
    [ 'a setting inherited from the http level beside a name',
      conf_text(http => "shared_session_redis_tls on;\n"),
      qr/"shared_session_redis_tls" cannot be used with "shared_session_redis sessions"/,
      undef ],
    [ 'a name inherited from the server level beside a setting',
      conf_text(use => '127.0.0.1:6380',
                server => "shared_session_redis sessions;\n"
                          . "location = /t {\n    shared_session;\n"
                          . "    shared_session_redis_database 1;\n}\n"),
      qr/"shared_session_redis_database" cannot be used with "shared_session_redis sessions" in location "\/t"/,
      undef ];

for my $case (@refused) {
    my ($what, $text, $re, $line_re) = @$case;
    ($st, $out, $conf) = nginx_t($text);
    my @emerg = grep { /\[emerg\]/ } split /\n/, $out;
    is($st, 'exit 1', "nginx -t fails: $what");
    ok((grep { /$re/ } @emerg), "... with the [emerg] line: $what")
        or diag("$out\n$conf");
    next unless $line_re;
    my $line = line_of($conf, $line_re);
    ok($line && (grep { /$re/ && / in \Q$dir\E\/nginx\.conf:$line\z/ } @emerg),
       "... naming the line $line: $what") or diag("$out\n$conf");
}

# a literal password refused for a control character is not printed
($st, $out) = nginx_t(conf_text(
    block => "server 127.0.0.1:6379;\npassword \"lit\\tS3cret-l1teral\";\n"));
is($st, 'exit 1', 'nginx -t fails: a password with a control character');
like($out, qr/\[emerg\].*"password" directive: must not contain control/,
     '... naming the directive and the reason') or diag($out);
unlike($out, qr/S3cret-l1teral/, '... without the password');


############################################################################
# The blocks

$main::config_http = <<'EOF';
    shared_session_redis_upstream sessions {
        server $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    }
    shared_session_redis_upstream private {
        server 127.0.0.1:$TEST_NGINX_AUTH_PORT;
        password s3cret;
        database 3;
        timeout 2s;
    }
EOF

$main::config = <<'EOF';
    location = /a {
        shared_session;
        shared_session_redis sessions;
        shared_session_host hostA;
    }
    location = /b {
        shared_session;
        shared_session_redis sessions;
        shared_session_host hostB;
    }
    location = /private {
        shared_session;
        shared_session_redis private;
        shared_session_host hostP;
    }
    location /inherit/ {
        shared_session_redis private;
        location = /inherit/s {
            shared_session;
            shared_session_host hostI;
        }
    }
    location = /short {
        shared_session;
        shared_session_host hostS;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_PORT;
        shared_session_redis_password s3cret;
        shared_session_redis_database 5;
    }
    location = /default {
        shared_session;
        shared_session_host hostD;
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    return if defined $block->config;
    $block->set_value(http_config => $main::config_http);
    $block->set_value(config => $main::config);
});

# nginx's connections to the Redis on $port: CLIENT LIST but for our own
sub main::nginx_connections {
    my ($port) = @_;
    my $list = SharedSessionTest::redis_cmd({ port => $port }, 'CLIENT', 'LIST');
    return scalar grep { !/\bcmd=client\b/ } split /\n/, $list;
}

sub main::keys_in {
    my (%opt) = @_;
    return scalar @{ SharedSessionTest::redis_cmd({ %opt }, 'KEYS', '*') };
}

run_tests();

__DATA__

=== TEST 1: two locations with a named block: a session is created, then reused, laid out as Spring's in the block's Redis
--- init
SharedSessionTest::flush();
--- request
GET /a
--- response_headers_like
Content-Type: application/json
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::follow($_[0], ['/b']) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
-> GET /b
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



=== TEST 2: the block's password and database are used: the session is in database 3 of the Redis behind requirepass, database 0 stays empty
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_AUTH_PORT});
--- request
GET /private
--- response_body_filters eval
sub {
    SharedSessionTest::dump_db($_[0], port => $ENV{TEST_NGINX_AUTH_PORT}, db => 3)
    . 'keys in database 0: ' . main::keys_in(port => $ENV{TEST_NGINX_AUTH_PORT})
    . "\n";
}
--- response_body
body: {"sessionId":"<new>","host":"hostP","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostP","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
keys in database 0: 0
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a name set on an outer location is inherited by a nested one
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_AUTH_PORT});
--- request
GET /inherit/s
--- response_body_filters eval
sub {
    ($_[0] =~ /"host":"hostI"/ ? "answered\n" : "body: $_[0]\n")
    . 'session hashes in database 3: '
    . scalar(grep { !/:expires:/ } @{ SharedSessionTest::redis_cmd(
          { port => $ENV{TEST_NGINX_AUTH_PORT}, db => 3 },
          'KEYS', 'spring:session:sessions:*') })
    . "\n";
}
--- response_body
answered
session hashes in database 3: 1
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: the shorthand beside the blocks: host:port and location-level settings (password, database 5) still make their own Redis
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_AUTH_PORT});
--- request
GET /short
--- response_body_filters eval
sub {
    SharedSessionTest::dump_db($_[0], port => $ENV{TEST_NGINX_AUTH_PORT}, db => 5)
    . 'keys in database 3: '
    . main::keys_in(port => $ENV{TEST_NGINX_AUTH_PORT}, db => 3) . "\n";
}
--- response_body
body: {"sessionId":"<new>","host":"hostS","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostS","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
keys in database 3: 0
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: a location with no shared_session_redis beside the blocks: the Redis of REDIS_CLUSTER_ENDPOINT and REDIS_CLUSTER_PORT
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_ENV_PORT});
SharedSessionTest::flush();
--- request
GET /default
--- response_body_filters eval
sub {
    SharedSessionTest::dump_db($_[0], port => $ENV{TEST_NGINX_ENV_PORT})
    . 'keys in the blocks\' Redis: ' . main::keys_in() . "\n";
}
--- response_body
body: {"sessionId":"<new>","host":"hostD","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
hash spring:session:sessions:<new> ttl=2100s
  creationTime=<now>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostD","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<new> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<new>"
keys in the blocks' Redis: 0
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: one connection per worker for all the locations of a block (and for the shorthand with the same settings); a block with other settings has its own
--- http_config
    shared_session_redis_upstream sessions {
        server 127.0.0.1:$TEST_NGINX_COUNT_PORT;
    }
    shared_session_redis_upstream other {
        server 127.0.0.1:$TEST_NGINX_COUNT_PORT;
        database 1;
    }
--- config
    location = /a {
        shared_session;
        shared_session_redis sessions;
    }
    location = /b {
        shared_session;
        shared_session_redis sessions;
    }
    location = /invalidate {
        shared_session_invalidate;
        shared_session_redis sessions;
    }
    location = /short {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_COUNT_PORT;
    }
    location = /other {
        shared_session;
        shared_session_redis other;
    }
--- init
my @st;
push @st, FaultTest::http(GET => '/a')->{status};
push @st, FaultTest::http(GET => '/b')->{status};
push @st, FaultTest::http(GET => '/invalidate')->{status};
push @st, FaultTest::http(GET => '/short')->{status};
$main::statuses = "@st";
$main::before_other = main::nginx_connections($ENV{TEST_NGINX_COUNT_PORT});
--- request
GET /other
--- response_body_filters eval
sub {
    "answers: $main::statuses\n"
    . "connections after /a, /b, /invalidate, /short: $main::before_other\n"
    . 'connections after /other: '
    . main::nginx_connections($ENV{TEST_NGINX_COUNT_PORT}) . "\n";
}
--- response_body
answers: 200 200 302 200
connections after /a, /b, /invalidate, /short: 1
connections after /other: 2
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: a named cluster block (two seeds, cluster on): the slot map is fetched from the seeds, each key lands on the shard serving it
--- http_config
    shared_session_redis_upstream cluster {
        server 127.0.0.1:$TEST_NGINX_SEED1;
        server 127.0.0.1:$TEST_NGINX_SEED2;
        cluster on;
    }
--- config
    location = /a {
        shared_session;
        shared_session_redis cluster;
        shared_session_host hostA;
    }
--- init
ClusterTest::flush();
--- request
GET /a
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
--- error_log eval
qr/\[info\].*shared session: redis cluster 127\.0\.0\.1:$ENV{TEST_NGINX_SEED1}: slot map from .*: \d+ ranges, 3 primaries/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: a named TLS block (trusted CA, server name redis.test): the session is written over TLS, laid out as Spring's
--- http_config
    shared_session_redis_upstream secure {
        server 127.0.0.1:$TEST_NGINX_TLS_PORT;
        tls on;
        tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        tls_server_name redis.test;
    }
--- config
    location = /a {
        shared_session;
        shared_session_redis secure;
        shared_session_host hostA;
    }
--- init
TlsTest::flush($ENV{TEST_NGINX_TLS_PORT});
--- request
GET /a
--- response_body_filters eval
sub {
    my $n = SharedSessionTest::normalizer();
    $n->body($_[0]) . TlsTest::dump($ENV{TEST_NGINX_TLS_PORT}, $n);
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
