# shared_session_load and the variables: what a lookup reads from the
# session (principal, attributes) in the serializers the module knows (the
# JSON of GenericJackson2JsonRedisSerializer, Java serialization for
# Strings), what it never takes (a value that could split a header), the
# touch with the session's own interval, several cookies, requests with a
# body, a client that leaves while Redis is slow, a Redis that times out;
# then the same lookup through TLS, a Redis Cluster and the plain commands
# (shared_session_redis_scripts off).

use lib 't/inc';
use SharedSessionTest;
use EdgeTest;
use TlsTest;
use ClusterTest;
use JSON::PP ();
use Time::HiRes ();
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(10);

$ENV{TEST_NGINX_ECHO_PORT} = SharedSessionTest::free_port();
$ENV{TEST_NGINX_SLOW_PORT} = SharedSessionTest::start_redis();
$ENV{TEST_NGINX_TLS_DIR} = TlsTest::dir();
$ENV{TEST_NGINX_TLS_PORT} = TlsTest::start_redis();
$main::cluster = ClusterTest->start(nodes => 3, replicas => 0);
ClusterTest::use_cluster($main::cluster);
$ENV{TEST_NGINX_SEED1} = ($main::cluster->ports)[0];

our $PRINCIPAL =
    'org.springframework.session.FindByIndexNameSessionRepository.'
    . 'PRINCIPAL_NAME_INDEX_NAME';

# Spring Security's context as GenericJackson2JsonRedisSerializer writes it
# with Jackson's defaults (a "name" property from getName()) ...
our $CONTEXT_NAME = '{"@class":"org.springframework.security.core.context.SecurityContextImpl","authentication":{"@class":"org.springframework.security.authentication.UsernamePasswordAuthenticationToken","authorities":["java.util.Collections$UnmodifiableRandomAccessList",[{"@class":"org.springframework.security.core.authority.SimpleGrantedAuthority","authority":"ROLE_USER"}]],"details":{"@class":"org.springframework.security.web.authentication.WebAuthenticationDetails","remoteAddress":"127.0.0.1","sessionId":null},"authenticated":true,"principal":{"@class":"org.springframework.security.core.userdetails.User","password":null,"username":"carol","authorities":["java.util.Collections$UnmodifiableSet",[{"@class":"org.springframework.security.core.authority.SimpleGrantedAuthority","authority":"ROLE_USER"}]],"accountNonExpired":true,"accountNonLocked":true,"credentialsNonExpired":true,"enabled":true},"credentials":null,"name":"carol"}}';

# ... and with Spring Security's Jackson modules (fields only, no "name")
our $CONTEXT_MIXIN = '{"@class":"org.springframework.security.core.context.SecurityContextImpl","authentication":{"@class":"org.springframework.security.authentication.UsernamePasswordAuthenticationToken","authorities":["java.util.Collections$UnmodifiableRandomAccessList",[]],"details":null,"authenticated":true,"principal":{"@class":"org.springframework.security.core.userdetails.User","password":null,"username":"dave","authorities":["java.util.Collections$UnmodifiableSet",[]],"accountNonExpired":true,"accountNonLocked":true,"credentialsNonExpired":true,"enabled":true},"credentials":null}}';

# a java.lang.String as ObjectOutputStream writes it (ASCII: modified UTF-8
# is UTF-8)
sub main::jdk {
    my ($s) = @_;
    return "\xac\xed\x00\x05\x74" . pack('n', length $s) . $s;
}

my $http_config = <<'EOF';
    map $shared_session_principal $greeting {
        ""       "hello, stranger";
        default  "hello, $shared_session_principal";
    }

    server {
        listen 127.0.0.1:$TEST_NGINX_ECHO_PORT;
        location / {
            return 200 "upstream: $request_method principal=[$http_x_session_principal] status=[$http_x_session_status] length=[$http_content_length]\n";
        }
    }
EOF

my $config = <<'EOF';
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;

    location = /who {
        shared_session_load on;
        return 200 "principal=[$shared_session_principal] tenant=[$shared_session_attr_tenantid] role=[$shared_session_attr_role] status=[$shared_session_status]\n";
    }
    location = /touch {
        shared_session_load on;
        return 200 "$shared_session_status $shared_session_id\n";
    }
    location /app/ {
        shared_session_require on;
        proxy_set_header X-Session-Principal $shared_session_principal;
        proxy_set_header X-Session-Status $shared_session_status;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
    location /slow/ {
        shared_session_require on;
        shared_session_redis 127.0.0.1:$TEST_NGINX_SLOW_PORT;
        shared_session_redis_timeout 500ms;
        return 200 "slow: $shared_session_status\n";
    }
    location /slow-pass/ {
        shared_session_require on;
        shared_session_on_error pass;
        shared_session_redis 127.0.0.1:$TEST_NGINX_SLOW_PORT;
        shared_session_redis_timeout 500ms;
        proxy_set_header X-Session-Status $shared_session_status;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
    location /map/ {
        shared_session_load on;
        return 200 "$greeting\n";
    }
    location = /session {
        shared_session;
        add_header X-Session-Id $shared_session_id;
        add_header X-Session-Created $shared_session_creation_time;
        add_header X-Session-Status $shared_session_status;
    }
    location /cl/ {
        shared_session_require on;
        shared_session_redis_cluster on;
        shared_session_redis 127.0.0.1:$TEST_NGINX_SEED1;
        return 200 "cluster: $shared_session_status $shared_session_principal $shared_session_attr_tenantid\n";
    }
    location /cl-plain/ {
        shared_session_require on;
        shared_session_redis_cluster on;
        shared_session_redis_scripts off;
        shared_session_redis 127.0.0.1:$TEST_NGINX_SEED1;
        return 200 "cluster, plain: $shared_session_status $shared_session_principal\n";
    }
    location /noscript/ {
        shared_session_require on;
        shared_session_redis_scripts off;
        return 200 "noscript: $shared_session_status $shared_session_principal $shared_session_attr_tenantid\n";
    }
    location /noscript-notouch/ {
        shared_session_require on;
        shared_session_redis_scripts off;
        shared_session_touch off;
        return 200 "noscript, notouch: $shared_session_status $shared_session_principal\n";
    }
    location /tls/ {
        shared_session_require on;
        shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
        shared_session_redis_tls on;
        shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
        shared_session_redis_tls_server_name redis.test;
        shared_session_redis_timeout 5s;
        return 200 "tls: $shared_session_status $shared_session_principal $shared_session_redis_node\n";
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
    $block->set_value(http_config => $http_config
                      . ($block->http_config // ''));
});

run_tests();

__DATA__

=== TEST 1: the principal: Spring's index attribute first (JSON or Java-serialized String), else the security context's authentication name or principal's username; attributes holding a String, by name without case
--- init
SharedSessionTest::flush();
my @s = (
    [ 'index-json' => [ $main::PRINCIPAL => '"alice"', tenantId => '"acme"', role => '"admin"' ] ],
    [ 'index-jdk' => [ $main::PRINCIPAL => main::jdk('bob'), TenantID => main::jdk('jdk corp') ] ],
    # the bytes the seed app (t/spring, boot2-default: Spring Boot 2.7,
    # JdkSerializationRedisSerializer) wrote after GET /principal/alice
    [ 'index-spring-jdk' => [ $main::PRINCIPAL => pack('H*', 'aced0005740005616c696365') ] ],
    [ 'context-name' => [ SPRING_SECURITY_CONTEXT => $main::CONTEXT_NAME ] ],
    [ 'context-mixin' => [ SPRING_SECURITY_CONTEXT => $main::CONTEXT_MIXIN ] ],
    [ 'index-wins' => [ $main::PRINCIPAL => '"erin"', SPRING_SECURITY_CONTEXT => $main::CONTEXT_NAME ] ],
    [ 'utf8' => [ $main::PRINCIPAL => qq("J\xc3\xbcrgen"), tenantId => '"caf\u00e9"' ] ],
    [ 'newline' => [ $main::PRINCIPAL => '"mallory\r\nX-Admin: 1"', tenantId => '"a\tb"' ] ],
    [ 'nul' => [ $main::PRINCIPAL => '"admin\u0000x"', tenantId => main::jdk("x\xc0\x80y") ] ],
    [ 'not-strings' => [ $main::PRINCIPAL => '["java.lang.Long",7]', tenantId => '42', role => '{"@class":"x"}' ] ],
    [ 'none' => [] ],
);
for my $s (@s) {
    SharedSessionTest::seed_session(id => "s-$s->[0]", attrs => $s->[1]);
}
--- request
GET /who
--- response_body_filters eval
sub {
    my $out = "no cookie: $_[0]";
    for my $name (qw(index-json index-jdk index-spring-jdk context-name context-mixin
                     index-wins utf8 newline nul not-strings none))
    {
        $out .= "$name: " . EdgeTest::get('/who', "s-$name") . "\n";
    }
    $out . "map: " . EdgeTest::get('/map/x', 's-index-json')
    . "\nmap, none: " . EdgeTest::get('/map/x', 's-none') . "\n";
}
--- response_body
no cookie: principal=[] tenant=[] role=[] status=[missing]
index-json: 200 principal=[alice] tenant=[acme] role=[admin] status=[valid]
index-jdk: 200 principal=[bob] tenant=[jdk corp] role=[] status=[valid]
index-spring-jdk: 200 principal=[alice] tenant=[] role=[] status=[valid]
context-name: 200 principal=[carol] tenant=[] role=[] status=[valid]
context-mixin: 200 principal=[dave] tenant=[] role=[] status=[valid]
index-wins: 200 principal=[erin] tenant=[] role=[] status=[valid]
utf8: 200 principal=[Jürgen] tenant=[café] role=[] status=[valid]
newline: 200 principal=[] tenant=[] role=[] status=[valid]
nul: 200 principal=[] tenant=[] role=[] status=[valid]
not-strings: 200 principal=[] tenant=[] role=[] status=[valid]
none: 200 principal=[] tenant=[] role=[] status=[valid]
map: 200 hello, alice
map, none: 200 hello, stranger
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: the touch keeps the session's own maxInactiveInterval (60 s here: TTLs and bucket from it), and a session that never expires (-1) stays without expiry and without bucket
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => 's-60', label => 'S60', maxInactiveInterval => 60,
                                lastAccessedTime => SharedSessionTest::now_ms() - 30_000);
SharedSessionTest::seed_session(id => 's-never', label => 'N', maxInactiveInterval => -1);
--- request
GET /touch
--- more_headers
Cookie: SESSION=cy02MA==
--- response_body_filters eval
sub {
    my $out = "s-60: $_[0]never: " . EdgeTest::get('/touch', 's-never') . "\n";
    my $n = SharedSessionTest::normalizer();
    for my $id ('s-60', 's-never') {
        $n->_see_now(SharedSessionTest::redis_cmd('HGET',
                         "spring:session:sessions:$id", 'lastAccessedTime'));
    }
    $out . $n->db;
}
--- response_body_like eval
qr{\As-60: valid s-60
never: 200 valid s-never
hash spring:session:sessions:<N> ttl=none
  creationTime=<N.created>
  maxInactiveInterval=-1
  lastAccessedTime=<now\d?>
hash spring:session:sessions:<S60> ttl=360s
  creationTime=<S60.created>
  maxInactiveInterval=60
  lastAccessedTime=<now\d?>
string spring:session:sessions:expires:<N> ttl=none value=""
string spring:session:sessions:expires:<S60> ttl=60s value=""
set spring:session:expirations:<bucket\(now\d?\+60s\)> ttl=(360s|seeded)
  "expires:<S60>"
\z}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: several SESSION cookies: the first live one is the session (an unknown and an unreadable one before it); only it is touched
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => 's-live', label => 'L',
                                attrs => [ $main::PRINCIPAL => '"lee"' ]);
SharedSessionTest::seed_session(id => 's-other', label => 'O',
                                attrs => [ $main::PRINCIPAL => '"otto"' ]);
SharedSessionTest::seed_session(id => 's-bad', fields => [ foo => 'bar' ]);
--- request
GET /touch
--- more_headers eval
SharedSessionTest::session_cookies('s-unknown', 's-bad', 's-live', 's-other')
--- response_body_filters eval
sub {
    my $other = SharedSessionTest::redis_cmd('HGET',
                    'spring:session:sessions:s-other', 'lastAccessedTime');
    my $n = SharedSessionTest::normalizer();
    $n->subst("$_[0]other: $other\n");
}
--- response_body
valid <L>
other: <O.last>
--- error_log
invalid session "s-bad"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a request body goes to the upstream after the lookup; without a session it is discarded with the 401 and the connection serves the next request
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => 's-post', attrs => [ $main::PRINCIPAL => '"pat"' ]);
--- request
GET /who
--- response_body_filters eval
sub {
    my $c = "Cookie: SESSION=" . SharedSessionTest::b64('s-post') . "\r\n";
    my $h = "Host: localhost\r\n";
    EdgeTest::pipelined(
        "POST /app/x HTTP/1.1\r\n$h${c}Content-Length: 5\r\n\r\nhello"
        . "POST /app/x HTTP/1.1\r\n${h}Content-Length: 5\r\n\r\nworld"
        . "POST /app/x HTTP/1.1\r\n$h${c}Content-Length: 3\r\n\r\nabc"
        . "GET /app/x HTTP/1.1\r\n$h${c}Connection: close\r\n\r\n");
}
--- response_body
200 upstream: POST principal=[pat] status=[valid] length=[5]
401 {"error":"session required"}
200 upstream: POST principal=[pat] status=[valid] length=[3]
200 upstream: GET principal=[pat] status=[valid] length=[]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: Redis that does not answer in time: 503 after the timeout; with on_error pass the upstream gets the request with status "error"
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_SLOW_PORT});
SharedSessionTest::seed_session(id => 's-slow', port => $ENV{TEST_NGINX_SLOW_PORT});
SharedSessionTest::pause_redis($ENV{TEST_NGINX_SLOW_PORT});
SharedSessionTest::mark();
--- request
GET /slow/x
--- more_headers
Cookie: SESSION=cy1zbG93
--- response_body_filters eval
sub {
    my $t = SharedSessionTest::elapsed();
    my $out = "$_[0]\n" . ($t >= 0.4 && $t < 3 ? "after the timeout\n" : "after $t s\n");
    $out .= "pass: " . EdgeTest::get('/slow-pass/x', 's-slow') . "\n";
    SharedSessionTest::resume_redis($ENV{TEST_NGINX_SLOW_PORT});
    # after a timeout, the connection is made again after a backoff (1 s)
    Time::HiRes::sleep(1.2);
    $out . "resumed: " . EdgeTest::get('/slow/x', 's-slow') . "\n";
}
--- response_body
{"error":"session store unavailable"}
after the timeout
pass: 200 upstream: GET principal=[] status=[error] length=[]
resumed: 200 slow: valid
--- error_code: 503
--- error_log eval
qr/\[error\] .*shared session: redis 127\.0\.0\.1:\d+ .*timed out/
--- no_error_log
[alert]
[crit]



=== TEST 6: a client that leaves while its lookup waits ends the request (the command is cancelled)
--- init
SharedSessionTest::flush(port => $ENV{TEST_NGINX_SLOW_PORT});
SharedSessionTest::seed_session(id => 's-slow', port => $ENV{TEST_NGINX_SLOW_PORT});
SharedSessionTest::pause_redis($ENV{TEST_NGINX_SLOW_PORT});
--- request
GET /slow/x
--- more_headers
Cookie: SESSION=cy1zbG93
--- timeout: 0.2
--- abort
--- ignore_response
--- wait: 0.1
--- error_log
client prematurely closed connection
--- no_error_log eval
# nothing of the module's but the cluster's slot map, which a fresh nginx
# logs at its start (the real Test::Nginx starts one for every block)
[qr/shared session: (?!redis cluster \S+: slot map from \S+: \d+ ranges)/,
 '[alert]', '[crit]']



=== TEST 7: ... and when Redis answers late, the reply touches nothing freed and the worker serves on
--- init
SharedSessionTest::resume_redis($ENV{TEST_NGINX_SLOW_PORT});
Time::HiRes::sleep(0.1);
--- request
GET /slow/x
--- more_headers
Cookie: SESSION=cy1zbG93
--- response_body
slow: valid
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: the endpoint fills $shared_session_id and _creation_time too (a new session, then the same one reused)
--- init
SharedSessionTest::flush();
--- request
GET /session
--- response_body_filters eval
sub {
    my $j = JSON::PP->new->decode($_[0]);
    my $res = SharedSessionTest::http_request(GET => '/session',
                  EdgeTest::cookie($j->{sessionId}));
    my $h = $res->{headers};
    "reused: " . ($h->{'x-session-id'}[0] eq $j->{sessionId} ? 'same id' : 'other id')
    . ", created " . ($h->{'x-session-created'}[0] == $j->{creationTime} ? 'same' : 'other')
    . ", status $h->{'x-session-status'}[0]\n";
}
--- response_headers_like
X-Session-Id: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}
X-Session-Created: \d{13}
X-Session-Status: new
--- response_body
reused: same id, created same, status valid
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: over TLS: the lookup, one EVALSHA per request, the principal, 401 without a session
--- init
my $p = $ENV{TEST_NGINX_TLS_PORT};
TlsTest::flush($p);
my $now = SharedSessionTest::now_ms();
TlsTest::cli($p, 'HSET', 'spring:session:sessions:s-tls',
             creationTime => $now - 5000, lastAccessedTime => $now - 1000,
             maxInactiveInterval => 1800, "sessionAttr:$main::PRINCIPAL" => '"tess"');
TlsTest::cli($p, 'PEXPIRE', 'spring:session:sessions:s-tls', 2_100_000);
--- request
GET /tls/x
--- more_headers
Cookie: SESSION=cy10bHM=
--- response_body_filters eval
sub {
    my $p = $ENV{TEST_NGINX_TLS_PORT};
    my $cmd = sub { my ($t, @c) = @_; TlsTest::cli($t->{port}, @c) };
    my $out = $_[0];
    $out =~ s/127\.0\.0\.1:$p/<tls node>/;
    for my $c (['s-tls'], [undef], ['s-unknown']) {
        my $r;
        my $n = EdgeTest::commands(sub { $r = EdgeTest::get('/tls/x', $c->[0]) },
                                   ports => [$p], cmd => $cmd);
        $r =~ s/127\.0\.0\.1:$p/<tls node>/;
        $out .= ($c->[0] // 'none') . ": $r, redis: $n\n";
    }
    my $last = TlsTest::cli($p, 'HGET', 'spring:session:sessions:s-tls',
                            'lastAccessedTime');
    $out . 'touched: ' . (SharedSessionTest::now_ms() - $last < 5000 ? 'yes' : "no ($last)")
    . "\nshadow key ttl: " . TlsTest::cli($p, 'TTL', 'spring:session:sessions:expires:s-tls');
}
--- response_body
tls: valid tess <tls node>
s-tls: 200 tls: valid tess <tls node>, redis: evalsha=1
none: 401 {"error":"session required"}, redis: none
s-unknown: 401 {"error":"session required"}, redis: evalsha=1
touched: yes
shadow key ttl: 1800
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: a Redis Cluster: the lookup across the shards (the hash script writes the hash only if the session is still live), the touch laid out as Spring's, 401 for an ended or unknown session; with plain commands too
--- init
ClusterTest::flush();
ClusterTest::seed_session(id => 's-cl', label => 'CL',
    attrs => [ $main::PRINCIPAL => '"clara"', tenantId => '"acme"' ]);
ClusterTest::seed_session(id => 's-cl2', label => 'CP',
    attrs => [ $main::PRINCIPAL => '"carl"' ]);
ClusterTest::seed_session(id => 's-cl-ended', label => 'CE',
    maxInactiveInterval => 0, hash_ttl_ms => 300_000);
--- request
GET /cl/x
--- more_headers
Cookie: SESSION=cy1jbA==
--- response_body_filters eval
sub {
    my $out = $_[0];
    $out .= "plain: " . EdgeTest::get('/cl-plain/x', 's-cl2') . "\n";
    for my $c (['ended', 's-cl-ended'], ['unknown', 's-cl-none'], ['none', undef]) {
        $out .= "$c->[0]: " . EdgeTest::get('/cl/x', $c->[1]) . "\n";
        $out .= "$c->[0], plain: " . EdgeTest::get('/cl-plain/x', $c->[1]) . "\n";
    }
    my @last = map { ClusterTest::redis_cmd('HGET', "spring:session:sessions:$_",
                                            'lastAccessedTime') } 's-cl', 's-cl2';
    $out . ClusterTest::current()->routed(sub {
        my $n = SharedSessionTest::normalizer();
        $n->_see_now($_) for @last;
        $n->db;
    });
}
--- response_body_like eval
qr{\Acluster: valid clara acme
plain: 200 cluster, plain: valid carl
ended: 401 \{"error":"session required"\}
ended, plain: 401 \{"error":"session required"\}
unknown: 401 \{"error":"session required"\}
unknown, plain: 401 \{"error":"session required"\}
none: 401 \{"error":"session required"\}
none, plain: 401 \{"error":"session required"\}
hash spring:session:sessions:<CE> ttl=seeded
  creationTime=<CE.created>
  maxInactiveInterval=0
  lastAccessedTime=<CE.last>
hash spring:session:sessions:<CL> ttl=2100s
  creationTime=<CL.created>
  maxInactiveInterval=1800
  lastAccessedTime=<now2?>
  sessionAttr:org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME="clara"
  sessionAttr:tenantId="acme"
hash spring:session:sessions:<CP> ttl=2100s
  creationTime=<CP.created>
  maxInactiveInterval=1800
  lastAccessedTime=<now2?>
  sessionAttr:org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME="carl"
string spring:session:sessions:expires:<CL> ttl=1800s value=""
string spring:session:sessions:expires:<CP> ttl=1800s value=""
(set spring:session:expirations:<bucket\(CE.last\+0s\)> ttl=seeded
  "expires:<CE>"
)?(set spring:session:expirations:<bucket\(now2?\+1800s\)> ttl=\d+s
(  "expires:<C[LP]>"
)+)+\z}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: without scripts (shared_session_redis_scripts off): the reads (HGETALL, TIME) then the writes, two round trips; none but the reads with touch off; nothing without a cookie
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => 's-ns', label => 'NS',
    attrs => [ $main::PRINCIPAL => '"nina"', tenantId => '"acme"' ]);
SharedSessionTest::seed_session(id => 'x-ended', maxInactiveInterval => 0,
                                hash_ttl_ms => 300_000);
--- request
GET /noscript/x
--- more_headers
Cookie: SESSION=cy1ucw==
--- response_body_filters eval
sub {
    my $out = $_[0];
    for my $c (['/noscript/x', 's-ns'], ['/noscript-notouch/x', 's-ns'],
               ['/noscript/x', 'x-ended'], ['/noscript/x', undef])
    {
        my $r;
        my $n = EdgeTest::commands(sub { $r = EdgeTest::get($c->[0], $c->[1]) });
        $out .= "$c->[0] " . ($c->[1] // 'none') . ": $r, redis: $n\n";
    }
    my $last = SharedSessionTest::redis_cmd('HGET', 'spring:session:sessions:s-ns',
                                            'lastAccessedTime');
    my $n = SharedSessionTest::normalizer();
    $n->_see_now($last);
    $out . $n->db;
}
--- response_body_like eval
qr{\Anoscript: valid nina acme
/noscript/x s-ns: 200 noscript: valid nina acme, redis: hgetall=1 hmset=1 hsetnx=1 pexpire=2 sadd=1 set=1 (srem=1 )?time=1
/noscript-notouch/x s-ns: 200 noscript, notouch: valid nina, redis: hgetall=1 time=1
/noscript/x x-ended: 401 \{"error":"session required"\}, redis: hgetall=1 time=1
/noscript/x none: 401 \{"error":"session required"\}, redis: none
hash spring:session:sessions:<NS> ttl=2100s
  creationTime=<NS.created>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME="nina"
  sessionAttr:tenantId="acme"
hash spring:session:sessions:x-ended ttl=seeded
  creationTime=\d+
  maxInactiveInterval=0
  lastAccessedTime=\d+
string spring:session:sessions:expires:<NS> ttl=1800s value=""
(set spring:session:expirations:<bucket\(\S+\)> ttl=seeded
  "expires:x-ended"
)?set spring:session:expirations:<bucket\(now\+1800s\)> ttl=2100s
  "expires:<NS>"
\z}
--- no_error_log
[error]
[alert]
[crit]
