# cJSON allocates from the request's pool (src/ngx_http_shared_session_json.c,
# issue 16): documents and values that stretch it, with both serializers.
#
#  1  json: a previous host and a host of characters JSON escapes (quotes,
#     backslashes, control characters): the answer and the attribute are
#     longer than the first buffer tried for them, and come out whole
#  2  json: non-ASCII text (2, 3 and 4 byte UTF-8, an escaped surrogate
#     pair) and bytes that are not UTF-8 (U+FFFD in their place)
#  3  jdk: the same escapes, the previous host read from a Java-serialized
#     bean, the attribute written by the JDK codec, the answer by cJSON
#  4  json: a previous host of 30000 quotes (60 KB of JSON): cJSON's large
#     blocks, given back to the pool as soon as they are freed
#  5  a new session whose host (4000 quotes) makes both documents overflow
#  6  shared_session_load: 24 String attributes and the principal, read by
#     cJSON one after another in the same request (escapes, non-ASCII)
#  7  a security context of 500 authorities (50 KB): a tree larger than the
#     worker's scratch pool keeps (freed whole, made again), three times
#
# Every block: no [alert] (a cJSON block that outlived its pool stretch
# logs one), no [error].

use lib 't/inc';
use SharedSessionTest;
use SpringTest;
use JSON::PP ();
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(10);

our $ATTR = 'scopedTarget.sampleSession';
our $CLASS = $SharedSessionTest::DEFAULT_CLASS;
our $PRINCIPAL = 'org.springframework.session.FindByIndexNameSessionRepository'
                 . '.PRINCIPAL_NAME_INDEX_NAME';

our $ID = '0a0b0c0d-1111-4222-8333-444455556666';

# what JSON escapes, as bytes: 3 characters, 9 bytes of JSON
our $NASTY = qq("\\\x01);

our @NAMES = map { sprintf 'a%02d', $_ } 1 .. 24;

our $config = <<'EOF';
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /json { shared_session; shared_session_host $http_x_host; }
    location = /jdk {
        shared_session;
        shared_session_serializer jdk;
        shared_session_host $http_x_host;
    }
EOF

$config .= "    location = /who {\n        shared_session_load on;\n"
           . "        return 200 \"principal=[\$shared_session_principal]\\n\";\n"
           . "    }\n";

$config .= "    location = /load {\n        shared_session_load on;\n"
           . "        return 200 \"principal=[\$shared_session_principal]\\n"
           . join('', map { "$_=[\$shared_session_attr_$_]\\n" } @NAMES)
           . "\";\n    }\n";

# a JSON attribute as Jackson writes it, with any host (Perl characters)
sub json_attr {
    my ($host, $ms) = @_;
    return JSON::PP->new->utf8->canonical->encode({ host => $host })
           =~ s/^\{/{"\@class":"$CLASS",/r
           =~ s/\}$/,"lastUpdatedAt":["java.util.Date",$ms]}/r;
}

sub cookie { 'Cookie: SESSION=' . SharedSessionTest::b64($ID) }

# a session as a JDK-serializing Spring app leaves it
sub seed_jdk {
    my ($id, $host) = @_;
    my $la = SharedSessionTest::now_ms() - 60_000;
    my $ns = 'spring:session';
    my $r = \&SharedSessionTest::redis_cmd;
    $r->('HSET', "$ns:sessions:$id",
         creationTime => SpringTest::jdk_long($la - 1000),
         lastAccessedTime => SpringTest::jdk_long($la),
         maxInactiveInterval => SpringTest::jdk_integer(1800),
         "sessionAttr:$ATTR" => SpringTest::jdk_sample_session($host, $la));
    $r->('PEXPIRE', "$ns:sessions:$id", 2100 * 1000);
    $r->('SET', "$ns:sessions:expires:$id", '', 'PX', 1800 * 1000);
    my $b = "$ns:expirations:" . SharedSessionTest::bucket_ms($la, 1800);
    $r->('SADD', $b, SpringTest::jdk_string("expires:$id"));
    $r->('PEXPIRE', $b, 2100 * 1000);
}

# a value against what was expected, in a line
sub same {
    my ($got, $want) = @_;
    return "null\n" if !defined $got && !defined $want;
    return "null, not the expected value\n" unless defined $got;
    return "not null\n" unless defined $want;
    return ($got ? "true\n" : "false\n") if JSON::PP::is_bool($want);
    return 'as expected (' . length($got) . " characters)\n"
        if $got eq $want;
    my $g = JSON::PP->new->ascii->encode([$got]);
    return 'DIFFERENT: ' . length($got) . ' characters, '
           . substr($g, 0, 60) . "...\n";
}

# the answer, checked against what was expected (Perl characters)
sub answer {
    my ($raw, %want) = @_;
    my $j = eval { JSON::PP->new->utf8->decode($raw) };
    return "answer is not JSON: $@" unless ref $j eq 'HASH';
    my $out = 'answer: ' . length($raw) . " bytes of valid JSON\n";
    $out .= "$_: " . same($j->{$_}, $want{$_}) for sort keys %want;
    return $out;
}

# the stored attribute's host, read back with the serializer's decoder
sub stored_host {
    my ($id, $want) = @_;
    my $v = SharedSessionTest::redis_cmd('HGET',
        "spring:session:sessions:$id", "sessionAttr:$ATTR");
    return "stored attribute: none\n" unless defined $v;
    my $host;
    if (substr($v, 0, 2) eq "\xac\xed") {
        $host = eval { SpringTest::jdk_decode($v)->{fields}{host}{string} };
    } else {
        my $j = eval { JSON::PP->new->utf8->decode($v) };
        $host = $j->{host} if ref $j eq 'HASH';
    }
    return 'stored host: ' . same($host, $want);
}

run_tests();

__DATA__

=== TEST 1: json: a previous host and a host made of what JSON escapes: both documents longer than the first buffer, whole
--- config eval: $main::config
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::ID, attrs => [
    $main::ATTR => main::json_attr($main::NASTY x 1000 . "\t\n",
                                   1700000000000) ]);
--- more_headers eval
main::cookie() . "\nX-Host: " . ('"\\' x 1500) . 'end'
--- request
GET /json
--- response_body_filters eval
sub {
    main::answer($_[0], sessionId => $main::ID,
                 previousHost => $main::NASTY x 1000 . "\t\n",
                 host => ('"\\' x 1500) . 'end', new => JSON::PP::false)
    . main::stored_host($main::ID, ('"\\' x 1500) . 'end');
}
--- response_body
answer: 16158 bytes of valid JSON
host: as expected (3003 characters)
new: false
previousHost: as expected (3002 characters)
sessionId: as expected (36 characters)
stored host: as expected (3003 characters)
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: json: 2, 3 and 4 byte UTF-8 and an escaped surrogate pair pass through; bytes that are not UTF-8 become U+FFFD
--- config eval: $main::config
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::ID, attrs => [
    $main::ATTR => qq({"\@class":"$main::CLASS","host":"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \\ud83d\\ude00 \\u00e9","lastUpdatedAt":["java.util.Date",1700000000000]}) ]);
--- more_headers eval
main::cookie() . "\nX-Host: h\xc3\xa9\xff\xfe\xe2\x82 \xf0\x9f\x98\x80 \xed\xa0\x80z"
--- request
GET /json
--- response_body_filters eval
sub {
    my $want = "h\x{e9}\x{fffd}\x{fffd}\x{fffd}\x{fffd} \x{1f600} "
               . "\x{fffd}\x{fffd}\x{fffd}z";
    main::answer($_[0], previousHost => "caf\x{e9} \x{65e5}\x{672c} "
                                        . "\x{1f600} \x{1f600} \x{e9}",
                 host => $want)
    . main::stored_host($main::ID, $want);
}
--- response_body
answer: 207 bytes of valid JSON
host: as expected (13 characters)
previousHost: as expected (13 characters)
stored host: as expected (13 characters)
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: jdk: the previous host from a Java-serialized bean, the host written by the JDK codec; the answer's escapes overflow the first buffer
--- config eval: $main::config
--- init
SharedSessionTest::flush();
main::seed_jdk($main::ID, $main::NASTY x 1000);
--- more_headers eval
main::cookie() . "\nX-Host: " . ('"\\' x 1500) . "\xc3\xa9"
--- request
GET /jdk
--- response_body_filters eval
sub {
    main::answer($_[0], previousHost => $main::NASTY x 1000,
                 host => ('"\\' x 1500) . "\x{e9}", new => JSON::PP::false)
    . main::stored_host($main::ID, ('"\\' x 1500) . "\x{e9}");
}
--- response_body
answer: 16153 bytes of valid JSON
host: as expected (3001 characters)
new: false
previousHost: as expected (3000 characters)
stored host: as expected (3001 characters)
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: json: a previous host of 30000 quotes (60 KB of JSON, cJSON's blocks from the pool's large ones)
--- config eval: $main::config
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::ID, attrs => [
    $main::ATTR => main::json_attr('"' x 30000, 1700000000000) ]);
--- more_headers eval
main::cookie() . "\nX-Host: h"
--- request
GET /json
--- response_body_filters eval
sub {
    main::answer($_[0], previousHost => '"' x 30000, host => 'h');
}
--- response_body
answer: 60152 bytes of valid JSON
host: as expected (1 characters)
previousHost: as expected (30000 characters)
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: a new session whose host is 4000 quotes: the attribute and the answer both overflow their first buffer
--- config eval: $main::config
--- init
SharedSessionTest::flush();
--- more_headers eval
"X-Host: " . ('"' x 4000)
--- request
GET /json
--- response_body_filters eval
sub {
    my $j = eval { JSON::PP->new->utf8->decode($_[0]) } // {};
    main::answer($_[0], previousHost => undef, host => '"' x 4000,
                 new => JSON::PP::true)
    . main::stored_host($j->{sessionId} // 'none', '"' x 4000);
}
--- response_body
answer: 8152 bytes of valid JSON
host: as expected (4000 characters)
new: true
previousHost: null
stored host: as expected (4000 characters)
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: shared_session_load: 24 String attributes and the principal, each read by cJSON in the same request
--- config eval: $main::config
--- init
SharedSessionTest::flush();
my $i = 0;
SharedSessionTest::seed_session(id => $main::ID, attrs => [
    $main::PRINCIPAL => '"J\u00fcrgen \"the\" \\\\ admin"',
    map { $_ => '"' . ($i++ % 2 ? "v$i caf\xc3\xa9 \xf0\x9f\x98\x80 \\u00e9"
                                : "v$i \\\"q\\\" " . ('x' x (1000 * $i)))
                . '"' } @main::NAMES ]);
--- more_headers eval
main::cookie()
--- request
GET /load
--- response_body_filters eval
sub {
    my $out = '';
    for (split /\n/, $_[0]) {
        my ($k, $v) = /^(\w+)=\[(.*)\]$/ or next;
        $v =~ s/x{1000,}/'x' . length($&)/e;
        $out .= "$k: $v\n";
    }
    $out;
}
--- response_body
principal: Jürgen "the" \ admin
a01: v1 "q" x1000
a02: v2 café 😀 é
a03: v3 "q" x3000
a04: v4 café 😀 é
a05: v5 "q" x5000
a06: v6 café 😀 é
a07: v7 "q" x7000
a08: v8 café 😀 é
a09: v9 "q" x9000
a10: v10 café 😀 é
a11: v11 "q" x11000
a12: v12 café 😀 é
a13: v13 "q" x13000
a14: v14 café 😀 é
a15: v15 "q" x15000
a16: v16 café 😀 é
a17: v17 "q" x17000
a18: v18 café 😀 é
a19: v19 "q" x19000
a20: v20 café 😀 é
a21: v21 "q" x21000
a22: v22 café 😀 é
a23: v23 "q" x23000
a24: v24 café 😀 é
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: a security context of 500 authorities: its tree outgrows the worker's scratch pool, which is freed whole and made again, request after request
--- config eval: $main::config
--- init
SharedSessionTest::flush();
my $auth = join ',', map {
    qq({"\@class":"org.springframework.security.core.authority.SimpleGrantedAuthority","authority":"ROLE_$_"})
} 1 .. 500;
SharedSessionTest::seed_session(id => $main::ID, attrs => [
    SPRING_SECURITY_CONTEXT => qq({"\@class":"org.springframework.security.core.context.SecurityContextImpl","authentication":{"\@class":"org.springframework.security.authentication.UsernamePasswordAuthenticationToken","authorities":["java.util.Collections\$UnmodifiableRandomAccessList",[$auth]],"authenticated":true,"name":"zed \\u00e9"}}) ]);
--- more_headers eval
main::cookie()
--- request
GET /who
--- response_body_filters eval
sub {
    my $out = $_[0];
    for (1 .. 2) {
        $out .= SharedSessionTest::http_request(GET => '/who',
                    Cookie => 'SESSION=' . SharedSessionTest::b64($main::ID))
                ->{body};
    }
    $out . main::answer(SharedSessionTest::http_request(GET => '/json',
                        Cookie => 'SESSION=' . SharedSessionTest::b64($main::ID),
                        'X-Host' => 'h')->{body}, host => 'h');
}
--- response_body
principal=[zed é]
principal=[zed é]
principal=[zed é]
answer: 154 bytes of valid JSON
host: as expected (1 characters)
--- no_error_log
[error]
[alert]
[crit]
