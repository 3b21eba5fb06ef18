# shared_session_require (and shared_session_load where it shows the same
# lookup): a location answers only requests with a live session.  Against
# the suite's standalone Redis (the scripted back end), with every status
# for each kind of location: a proxied upstream that echoes the headers it
# got (a server in http_config), a static file, a "return".
#
# Sessions seeded in Redis as Spring writes them:
#   <V> live, with Spring's principal index attribute "alice" and tenantId
#   <E> expired (lastAccessedTime an hour ago, the hash still there)
#   <I> invalidated (maxInactiveInterval 0, as Spring 3.4 leaves it)
#   <B> a hash that is not a session (no numbers)
#   <U> never existed
# Statuses: valid <V>; missing: no cookie; expired <E> <I> <U>; invalid <B>
# or a cookie whose value does not decode; error: Redis unreachable.
#
# Redis commands are counted as bench/run.sh counts them (INFO
# commandstats, after CONFIG RESETSTAT: what a client sends is EVALSHA,
# the rest is what scripts call): a lookup is one EVALSHA, a location
# without the directives sends nothing at all.

use lib 't/inc';
use SharedSessionTest;
use EdgeTest;
use POSIX ();
use Time::HiRes ();
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(10);

$ENV{TEST_NGINX_ECHO_PORT} = SharedSessionTest::free_port();
$ENV{TEST_NGINX_DEAD_PORT} = SharedSessionTest::free_port();

our $V = 'e1237df7-5646-4382-aa12-41435ed09dc7';
our $E = '7ce8a3c5-56a4-4a9b-9c55-0aa6c7f2a0e1';
our $I = '2f1c9d1e-0b7a-4d7e-8e3c-5b1a9f3d6c42';
our $B = 'b0b0b0b0-0000-4000-8000-00000000000b';
our $U = '9d9d9d9d-1111-4111-8111-111111111111';

our $PRINCIPAL =
    'org.springframework.session.FindByIndexNameSessionRepository.'
    . 'PRINCIPAL_NAME_INDEX_NAME';

my $http_config = <<'EOF';
    log_format session '$request_uri $status sid=$shared_session_id '
                       'st=$shared_session_status p=$shared_session_principal';
    access_log logs/access.log session;

    # the upstream: echoes what nginx sent it
    server {
        listen 127.0.0.1:$TEST_NGINX_ECHO_PORT;
        location / {
            return 200 "upstream: principal=[$http_x_session_principal] id=[$http_x_session_id] status=[$http_x_session_status] tenant=[$http_x_tenant]\n";
        }
    }
EOF

my $config = <<'EOF';
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_host hostA;

    location = /session {
        shared_session;
    }
    location = /logout {
        shared_session_invalidate;
    }

    location /app/ {
        shared_session_require on;
        proxy_set_header X-Session-Principal $shared_session_principal;
        proxy_set_header X-Session-Id $shared_session_id;
        proxy_set_header X-Session-Status $shared_session_status;
        proxy_set_header X-Tenant $shared_session_attr_tenantid;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
    location /static/ {
        shared_session_require on;
    }
    location = /ret {
        shared_session_require on;
        return 200 "ret: principal=[$shared_session_principal] status=[$shared_session_status]\n";
    }

    location /go/ {
        shared_session_require on;
        shared_session_require_redirect /login?next=$request_uri;
        return 200 "in\n";
    }

    location = /page {
        shared_session_load on;
        if ($shared_session_status != valid) {
            return 200 "log in ($shared_session_status)\n";
        }
        return 200 "log out, $shared_session_principal\n";
    }
    location = /vars {
        shared_session_load on;
        return 200 "id=[$shared_session_id] status=[$shared_session_status] created=[$shared_session_creation_time] last=[$shared_session_last_accessed_time] principal=[$shared_session_principal] tenant=[$shared_session_attr_tenantid] TENANT=[$shared_session_attr_TenantId] none=[$shared_session_attr_nosuch]\n";
    }

    location /quiet/ {
        proxy_set_header X-Session-Principal $shared_session_principal;
        proxy_set_header X-Session-Id $shared_session_id;
        proxy_set_header X-Session-Status $shared_session_status;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
    location = /quiet-ret {
        return 200 "quiet: id=[$shared_session_id] status=[$shared_session_status]\n";
    }

    location /notouch/ {
        shared_session_require on;
        shared_session_touch off;
        return 200 "notouch: $shared_session_status\n";
    }

    location /down/ {
        shared_session_require on;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
        shared_session_redis_timeout 300ms;
        proxy_set_header X-Session-Status $shared_session_status;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
    location /down-static/ {
        shared_session_require on;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
        shared_session_redis_timeout 300ms;
        alias html/static/;
    }
    location = /down-ret {
        shared_session_require on;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
        shared_session_redis_timeout 300ms;
        return 200 "down-ret\n";
    }
    location /pass/ {
        shared_session_require on;
        shared_session_on_error pass;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
        shared_session_redis_timeout 300ms;
        proxy_set_header X-Session-Status $shared_session_status;
        proxy_set_header X-Session-Principal $shared_session_principal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }

    location /err/ {
        shared_session_require on;
        log_not_found off;
        error_page 404 = /fallback$uri;
    }
    location /fallback/ {
        shared_session_require on;
        return 200 "fallback: principal=[$shared_session_principal] status=[$shared_session_status]\n";
    }
    location /try/ {
        shared_session_require on;
        log_not_found off;
        try_files $uri @named;
    }
    location @named {
        shared_session_require on;
        proxy_set_header X-Session-Principal $shared_session_principal;
        proxy_set_header X-Session-Status $shared_session_status;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
    location /ep/ {
        shared_session_require on;
        error_page 401 = @login;
        return 200 "ep in\n";
    }
    location @login {
        return 200 "login page (status $shared_session_status)\n";
    }

    location /sub/ {
        auth_request /auth;
        proxy_set_header X-Session-Principal $shared_session_principal;
        proxy_set_header X-Session-Status $shared_session_status;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
    location /both/ {
        shared_session_require on;
        auth_request /auth;
        proxy_set_header X-Session-Principal $shared_session_principal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
    location = /auth {
        internal;
        shared_session_require on;
        shared_session_require_redirect /not-for-subrequests;
        return 204;
    }

    location /deny/ {
        shared_session_require on;
        deny all;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
    location /any/ {
        satisfy any;
        allow 127.0.0.1;
        deny all;
        shared_session_require on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
    $block->set_value(http_config => $http_config)
        unless defined $block->http_config;
});


# The five sessions (and the static file, written by the blocks that need it)
sub main::seed {
    my $now = SharedSessionTest::now_ms();
    SharedSessionTest::flush();
    SharedSessionTest::seed_session(id => $V, label => 'V',
        attrs => [ $PRINCIPAL => '"alice"', tenantId => '"acme"',
                   'scopedTarget.sampleSession' =>
                       SharedSessionTest::spring_attr('c95883d5424d',
                                                      $now - 60_000) ]);
    SharedSessionTest::seed_session(id => $E, label => 'E',
        lastAccessedTime => $now - 3_600_000, hash_ttl_ms => 600_000,
        attrs => [ $PRINCIPAL => '"eve"' ]);
    SharedSessionTest::seed_session(id => $I, label => 'I',
        maxInactiveInterval => 0, hash_ttl_ms => 300_000,
        attrs => [ $PRINCIPAL => '"ivan"' ]);
    SharedSessionTest::seed_session(id => $B, label => 'B',
        fields => [ creationTime => 'yesterday', foo => 'bar' ]);
    SharedSessionTest::known_id($U, 'U');
    EdgeTest::label($V, 'V');
    EdgeTest::label($E, 'E');
    EdgeTest::label($I, 'I');
    EdgeTest::label($B, 'B');
    EdgeTest::label($U, 'U');
}

sub main::hash {
    my ($id, $field) = @_;
    return SharedSessionTest::redis_cmd('HGET', "spring:session:sessions:$id",
                                        $field);
}

# Clients that request /app/ with a fresh session while it is ended: by
# the invalidate endpoint (how = "/logout") or by deleting its keys
# ("DEL").  Each child prints "<start ms> <end ms> <status>" per request.
sub main::race {
    my ($how) = @_;
    my $id = SharedSessionTest::seed_session(id => 'race-' . int(rand(1e9)));
    my @pipes;
    for my $k (1 .. 4) {
        pipe(my $r, my $w) or die "pipe: $!";
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            close $r;
            my $deadline = Time::HiRes::time() + 1.0;
            for (1 .. 5000) {
                last if Time::HiRes::time() > $deadline;
                my $t0 = SharedSessionTest::now_ms();
                my $res = SharedSessionTest::http_request(GET => '/app/race',
                                                          EdgeTest::cookie($id));
                printf $w "%d %d %s\n", $t0, SharedSessionTest::now_ms(),
                       $res->{status};
            }
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @pipes, [$pid, $r];
    }
    Time::HiRes::sleep(0.3);
    my $t_begin = SharedSessionTest::now_ms();
    my $t_end;
    if ($how eq 'DEL') {
        my $c = SharedSessionTest::connect_redis();
        my $buckets = $c->cmd('KEYS', 'spring:session:expirations:*');
        $c->cmd('MULTI');
        $c->cmd('DEL', "spring:session:sessions:$id",
                "spring:session:sessions:expires:$id");
        $c->cmd('SREM', $_, qq("expires:$id")) for @$buckets;
        $c->cmd('EXEC');
    } else {
        my $res = SharedSessionTest::http_request(GET => $how,
                                                  EdgeTest::cookie($id));
        die "invalidate: $res->{status}\n" unless $res->{status} == 302;
    }
    $t_end = SharedSessionTest::now_ms();
    my (%before, %after);
    for my $p (@pipes) {
        my $fh = $p->[1];
        while (my $line = <$fh>) {
            my ($t0, $t1, $status) = split ' ', $line;
            if ($t1 < $t_begin) { $before{$status}++ }
            elsif ($t0 > $t_end) { $after{$status}++ }
        }
        waitpid($p->[0], 0);
    }
    my $out = 'before: ' . join(' ', map { "$_" } sort keys %before)
              . " only\nafter the invalidation: "
              . join(' ', sort keys %after) . " only\n";
    my $mii = SharedSessionTest::redis_cmd('HGET',
                  "spring:session:sessions:$id", 'maxInactiveInterval');
    $out .= 'hash: ' . (defined $mii ? "maxInactiveInterval=$mii" : 'absent')
            . "\n";
    $out .= 'shadow key: ' . (SharedSessionTest::redis_cmd('EXISTS',
                "spring:session:sessions:expires:$id") ? 'present' : 'absent')
            . "\n";
    # the bucket of lastAccessedTime + 0 (TTL 300 s) is the invalidation's
    # own, as Spring's: a touch would add the member to a live one's
    my $in = 0;
    for my $b (@{ SharedSessionTest::redis_cmd('KEYS',
                                               'spring:session:expirations:*') })
    {
        next if SharedSessionTest::redis_cmd('PTTL', $b) <= 300_000;
        $in ||= SharedSessionTest::redis_cmd('SISMEMBER', $b,
                                             qq("expires:$id"));
    }
    return $out . 'in a live bucket: ' . ($in ? 'yes' : 'no') . "\n";
}

run_tests();

__DATA__

=== TEST 1: every status, for each kind of location: a proxied upstream, a static file, a return
--- init
main::seed();
--- user_files
>>> static/page.txt
static page
--- request
GET /static/page.txt
--- response_body_filters eval
sub {
    my $out = "first: " . ($_[0] =~ /401 Authorization/ ? '(html)' : $_[0]);
    for my $path ('/app/x', '/static/page.txt', '/ret') {
        $out .= "$path\n";
        for my $c ([valid => $main::V], [missing => undef], [expired => $main::E],
                   [invalidated => $main::I], [unknown => $main::U], [unreadable => $main::B],
                   [undecodable => \'%%%'])
        {
            $out .= "  $c->[0]: " . EdgeTest::get($path, $c->[1]) . "\n";
        }
    }
    $out;
}
--- response_body
first: {"error":"session required"}/app/x
  valid: 200 upstream: principal=[alice] id=[<V>] status=[valid] tenant=[acme]
  missing: 401 {"error":"session required"}
  expired: 401 {"error":"session required"}
  invalidated: 401 {"error":"session required"}
  unknown: 401 {"error":"session required"}
  unreadable: 401 {"error":"session required"}
  undecodable: 401 {"error":"session required"}
/static/page.txt
  valid: 200 static page
  missing: 401 {"error":"session required"}
  expired: 401 {"error":"session required"}
  invalidated: 401 {"error":"session required"}
  unknown: 401 {"error":"session required"}
  unreadable: 401 {"error":"session required"}
  undecodable: 401 {"error":"session required"}
/ret
  valid: 200 ret: principal=[alice] status=[valid]
  missing: 401 {"error":"session required"}
  expired: 401 {"error":"session required"}
  invalidated: 401 {"error":"session required"}
  unknown: 401 {"error":"session required"}
  unreadable: 401 {"error":"session required"}
  undecodable: 401 {"error":"session required"}
--- error_code: 401
--- response_headers
Content-Type: application/json
Cache-Control: no-store
!Set-Cookie
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: the status of each case, as a location with shared_session_load sees it (and branches on it with "if")
--- init
main::seed();
--- request
GET /page
--- response_body_filters eval
sub {
    my $out = "first: $_[0]";
    for my $c ([valid => $main::V], [missing => undef], [expired => $main::E],
               [invalidated => $main::I], [unknown => $main::U], [unreadable => $main::B],
               [undecodable => \'%%%'])
    {
        $out .= "$c->[0]: " . EdgeTest::get('/page', $c->[1]) . "\n";
    }
    $out;
}
--- response_body
first: log in (missing)
valid: 200 log out, alice
missing: 200 log in (missing)
expired: 200 log in (expired)
invalidated: 200 log in (expired)
unknown: 200 log in (expired)
unreadable: 200 log in (invalid)
undecodable: 200 log in (invalid)
--- error_log
invalid session "b0b0b0b0-0000-4000-8000-00000000000b"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: the variables of a live session: id, times as stored before this request, principal, attributes by name without case; empty without a session
--- init
main::seed();
--- request
GET /vars
--- response_body_filters eval
sub {
    my $last = main::hash($main::V, 'lastAccessedTime');
    my $created = main::hash($main::V, 'creationTime');
    my $out = "first: $_[0]";
    my $r = EdgeTest::get('/vars', $main::V);
    $r =~ s/created=\[\Q$created\E\]/created=[<V.created>]/;
    $r =~ s/last=\[\Q$last\E\]/last=[<V.last>]/;
    $out . "valid: $r\nexpired: " . EdgeTest::get('/vars', $main::E) . "\n";
}
--- response_body
first: id=[] status=[missing] created=[] last=[] principal=[] tenant=[] TENANT=[] none=[]
valid: 200 id=[<V>] status=[valid] created=[<V.created>] last=[<V.last>] principal=[alice] tenant=[acme] TENANT=[acme] none=[]
expired: 200 id=[] status=[expired] created=[] last=[] principal=[] tenant=[] TENANT=[] none=[]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: the touch: lastAccessedTime, the TTLs, the shadow key and the bucket, as the endpoint's, without the module's attribute; touch off leaves all as it was
--- init
main::seed();
--- request
GET /index.html
--- response_body_filters eval
sub {
    my $before = main::hash($main::V, 'lastAccessedTime');
    my $attr = main::hash($main::V, 'sessionAttr:scopedTarget.sampleSession');
    my $d0 = SharedSessionTest::normalizer()->db;
    my $out = "notouch: " . EdgeTest::get('/notouch/x', $main::V) . "\n";
    my $d1 = SharedSessionTest::normalizer()->db;
    $out .= $d0 eq $d1 ? "redis unchanged\n" : "changed:\n$d0---\n$d1";
    my $t0 = SharedSessionTest::now_ms();
    $out .= "app: " . EdgeTest::get('/app/x', $main::V) . "\n";
    my $t1 = SharedSessionTest::now_ms();
    my $last = main::hash($main::V, 'lastAccessedTime');
    $out .= "lastAccessedTime: "
            . ($last >= $t0 - 5 && $last <= $t1 + 5 ? 'this request'
               : "$last (before $before, request $t0..$t1)") . "\n";
    $out .= "attribute: " . (main::hash($main::V, 'sessionAttr:scopedTarget.sampleSession') eq $attr
                             ? 'unchanged' : 'changed') . "\n";
    my $n = SharedSessionTest::normalizer();
    $n->_see_now($last);
    $out . $n->db;
}
--- response_body_like eval
qr{\Anotouch: 200 notouch: valid
redis unchanged
app: 200 upstream: principal=\[alice\] id=\[<V>\] status=\[valid\] tenant=\[acme\]
lastAccessedTime: this request
attribute: unchanged
hash spring:session:sessions:<B> ttl=seeded
  creationTime=yesterday
  foo=bar
hash spring:session:sessions:<E> ttl=seeded
  creationTime=<E.created>
  maxInactiveInterval=1800
  lastAccessedTime=<E.last>
  sessionAttr:org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME="eve"
hash spring:session:sessions:<I> ttl=seeded
  creationTime=<I.created>
  maxInactiveInterval=0
  lastAccessedTime=<I.last>
  sessionAttr:org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME="ivan"
hash spring:session:sessions:<V> ttl=2100s
  creationTime=<V.created>
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME="alice"
  sessionAttr:scopedTarget.sampleSession=\{.*\}
  sessionAttr:tenantId="acme"
string spring:session:sessions:expires:<V> ttl=1800s value=""
set spring:session:expirations:<bucket\(I.last\+0s\)> ttl=seeded
  "expires:<I>"
set spring:session:expirations:<bucket\(now\+1800s\)> ttl=2100s
  "expires:<V>"
\z}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: one Redis round trip (one EVALSHA) per request with require or load; none without a cookie, none for a location without the directives
--- init
main::seed();
--- user_files
>>> static/page.txt
static page
--- request
GET /app/warm
--- more_headers eval
"Cookie: SESSION=" . SharedSessionTest::b64($main::V)
--- response_body_filters eval
sub {
    my $out = '';
    for my $c (['/app/x', $main::V], ['/ret', $main::V], ['/static/page.txt', $main::V],
               ['/vars', $main::V], ['/page', $main::E], ['/notouch/x', $main::V],
               ['/app/x', undef], ['/app/x', \'%%%'],
               ['/quiet/x', $main::V], ['/quiet-ret', $main::V])
    {
        my $r;
        my $n = EdgeTest::commands(sub { $r = EdgeTest::get($c->[0], $c->[1]) });
        $r =~ s/ .*//;
        $out .= "$c->[0]: $r, redis: $n\n";
    }
    $out;
}
--- response_body
/app/x: 200, redis: evalsha=1
/ret: 200, redis: evalsha=1
/static/page.txt: 200, redis: evalsha=1
/vars: 200, redis: evalsha=1
/page: 200, redis: evalsha=1
/notouch/x: 200, redis: evalsha=1
/app/x: 401, redis: none
/app/x: 401, redis: none
/quiet/x: 200, redis: none
/quiet-ret: 200, redis: none
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: a client's X-Session-Principal and a forged principal cookie reach nothing: the upstream gets the session's, or no header at all
--- init
main::seed();
--- request
GET /app/x
--- more_headers eval
"Cookie: SESSION=" . SharedSessionTest::b64($main::V) . "; principal=mallory\r\nX-Session-Principal: mallory\r\nX-Session-Id: $main::E\r\nX-Tenant: evil"
--- response_body_filters eval
sub {
    my $out = "with the session: " . EdgeTest::show({ status => 200, body => $_[0], headers => {} }) . "\n";
    $out .= "no directives: " . EdgeTest::get('/quiet/x', $main::V,
        'X-Session-Principal' => 'mallory', 'X-Session-Status' => 'valid') . "\n";
    $out .= "return: " . EdgeTest::get('/quiet-ret', undef,
        'X-Session-Principal' => 'mallory', 'Cookie' => 'shared_session_id=x') . "\n";
    $out;
}
--- response_body
with the session: 200 upstream: principal=[alice] id=[<V>] status=[valid] tenant=[acme]
no directives: 200 upstream: principal=[] id=[] status=[] tenant=[]
return: 200 quiet: id=[] status=[]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: 401 and 302 create nothing in Redis and set no cookie; the redirect takes variables
--- init
main::seed();
--- request
GET /go/deep/page?x=1
--- response_headers
Location: http://localhost:$ServerPort/login?next=/go/deep/page?x=1
Cache-Control: no-store
!Set-Cookie
--- error_code: 302
--- response_body_filters eval
sub {
    my $out = "";
    for my $c (['/go/x', $main::E], ['/go/x', $main::U], ['/app/x', $main::I],
               ['/app/x', undef], ['/ret', $main::B], ['/ret', \'%%%'])
    {
        my $res = SharedSessionTest::http_request(GET => $c->[0], EdgeTest::cookie($c->[1]));
        $out .= EdgeTest::show($res) . " set-cookie: "
                . ($res->{headers}{'set-cookie'} ? 'yes' : 'none') . "\n";
    }
    $out . SharedSessionTest::seeds_status()
    . "keys: " . SharedSessionTest::dbsize() . "\n";
}
--- response_body_like eval
qr{\A302 \[http://localhost:\d+/login\?next=/go/x\] \(html\) set-cookie: none
302 \[http://localhost:\d+/login\?next=/go/x\] \(html\) set-cookie: none
401 \{"error":"session required"\} set-cookie: none
401 \{"error":"session required"\} set-cookie: none
401 \{"error":"session required"\} set-cookie: none
401 \{"error":"session required"\} set-cookie: none
seeds untouched
keys: 7
\z}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: Redis unreachable: 503 for each kind of location; with on_error pass the upstream gets the request with status "error"
--- user_files
>>> static/page.txt
static page
--- request
GET /down/x
--- more_headers eval
"Cookie: SESSION=" . SharedSessionTest::b64($main::V)
--- response_body_filters eval
sub {
    my $out = "first: $_[0]\n";
    for my $path ('/down-static/page.txt', '/down-ret', '/pass/x') {
        $out .= "$path: " . EdgeTest::get($path, $main::V, 'X-Session-Status' => 'valid') . "\n";
    }
    $out . "no cookie: " . EdgeTest::get('/down-ret') . "\n";
}
--- response_body
first: {"error":"session store unavailable"}
/down-static/page.txt: 503 {"error":"session store unavailable"}
/down-ret: 503 {"error":"session store unavailable"}
/pass/x: 200 upstream: principal=[] id=[] status=[error] tenant=[]
no cookie: 401 {"error":"session required"}
--- error_code: 503
--- error_log eval
qr/\[error\] .*shared session: redis 127\.0\.0\.1:\d+ .*(refused|connect)/
--- no_error_log
[alert]
[crit]



=== TEST 9: internal redirects reuse the lookup: error_page and try_files' fallback (one EVALSHA, one touch)
--- init
main::seed();
--- request
GET /index.html
--- response_body_filters eval
sub {
    # a fresh nginx (the real Test::Nginx starts one per block) opens its
    # Redis connection, with its SCRIPT LOADs, on the first lookup: made
    # here, uncounted, with an id Redis does not have (nothing touched)
    my $out = "unknown id: " . EdgeTest::get('/err/nofile', $main::U) . "\n";
    for my $c (['/err/nofile', $main::V], ['/try/nofile', $main::V], ['/err/nofile', $main::E],
               ['/try/nofile', undef])
    {
        my $r;
        my $n = EdgeTest::commands(sub { $r = EdgeTest::get($c->[0], $c->[1]) });
        $out .= "$c->[0]: $r, redis: $n\n";
    }
    $out;
}
--- response_body
unknown id: 401 {"error":"session required"}
/err/nofile: 200 fallback: principal=[alice] status=[valid], redis: evalsha=1
/try/nofile: 200 upstream: principal=[alice] id=[] status=[valid] tenant=[], redis: evalsha=1
/err/nofile: 401 {"error":"session required"}, redis: evalsha=1
/try/nofile: 401 {"error":"session required"}, redis: none
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: an auth_request subrequest with require: 401 passes through, a session is looked up once for the main request and its subrequest
--- init
main::seed();
--- request
GET /sub/x
--- response_body_filters eval
sub {
    my $out = "first: $_[0]";
    # the Redis connection opened, uncounted (see TEST 9)
    $out .= "unknown id: " . EdgeTest::get('/sub/x', $main::U) . "\n";
    for my $c (['/sub/x', $main::V], ['/sub/x', $main::E], ['/both/x', $main::V], ['/both/x', $main::I])
    {
        my $r;
        my $n = EdgeTest::commands(sub { $r = EdgeTest::get($c->[0], $c->[1]) });
        $out .= "$c->[0]: $r, redis: $n\n";
    }
    $out;
}
--- response_body_like eval
qr{\Afirst: <html>.*401 Authorization Required.*
unknown id: 401 \(html\)
/sub/x: 200 upstream: principal=\[alice\] id=\[\] status=\[valid\] tenant=\[\], redis: evalsha=1
/sub/x: 401 \(html\), redis: evalsha=1
/both/x: 200 upstream: principal=\[alice\] id=\[\] status=\[\] tenant=\[\], redis: evalsha=1
/both/x: 401 \{"error":"session required"\}, redis: evalsha=1
\z}s
--- error_code: 401
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: the order with the access modules: require is decided first (before deny), and "satisfy any" does not waive it; error_page 401 takes over the answer
--- init
main::seed();
--- request
GET /deny/x
--- response_body_filters eval
sub {
    my $out = "first: " . ($_[0] =~ /session required/ ? 'json 401' : $_[0]) . "\n";
    $out .= "deny, session: " . EdgeTest::get('/deny/x', $main::V) . "\n";
    $out .= "any, no session: " . EdgeTest::get('/any/x') . "\n";
    $out .= "any, session: " . EdgeTest::get('/any/x', $main::V) . "\n";
    $out .= "error_page: " . EdgeTest::get('/ep/x', $main::E) . "\n";
    $out .= "error_page, session: " . EdgeTest::get('/ep/x', $main::V) . "\n";
    $out;
}
--- response_body
first: json 401
deny, session: 403 (html)
any, no session: 401 {"error":"session required"}
any, session: 200 upstream: principal=[] id=[] status=[] tenant=[]
error_page: 200 login page (status expired)
error_page, session: 200 ep in
--- error_code: 401
--- error_log
access forbidden by rule
--- no_error_log
shared session
[alert]
[crit]



=== TEST 12: the access log shows the session id, status and principal
--- init
main::seed();
--- request
GET /app/logged
--- more_headers eval
"Cookie: SESSION=" . SharedSessionTest::b64($main::V)
--- response_body
upstream: principal=[alice] id=[e1237df7-5646-4382-aa12-41435ed09dc7] status=[valid] tenant=[acme]
--- access_log
/app/logged 200 sid=e1237df7-5646-4382-aa12-41435ed09dc7 st=valid p=alice
--- no_error_log
[error]
[alert]
[crit]



=== TEST 13: a touch never recreates an invalidated session: 4 clients hammer a session while it is invalidated (Spring 3.4: maxInactiveInterval 0); after the 302, every answer is 401, and the shadow key and the bucket member stay gone
--- init
main::seed();
--- request
GET /index.html
--- response_body_filters eval
sub { main::race('/logout') }
--- response_body
before: 200 only
after the invalidation: 401 only
hash: maxInactiveInterval=0
shadow key: absent
in a live bucket: no
--- no_error_log
[error]
[alert]
[crit]



=== TEST 14: nor a deleted one (as a Spring Boot 3 app deletes it, or an expiry): after the DEL, every answer is 401 and no key of the session comes back
--- init
main::seed();
--- request
GET /index.html
--- response_body_filters eval
sub { main::race('DEL') }
--- response_body
before: 200 only
after the invalidation: 401 only
hash: absent
shadow key: absent
in a live bucket: no
--- no_error_log
[error]
[alert]
[crit]
