# Which session a request selects from its SESSION cookies: strict standard
# Base64, id validation, several cookies, the 8-candidate limit, fresh ids,
# and the raw (cookie_base64 off) mode.  "seeds untouched" means every key
# written in --- init still has its content and TTL.

use lib 't/inc';
use SharedSessionTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(5);

SharedSessionTest::flush();

run_tests();

__DATA__

=== TEST 1: a cookie naming an unknown session gets a new session, never the client's id
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::known_id('33fdd1b6-b496-4b33-9f7d-df96679d32fe', 'A');
--- request
GET /a
--- more_headers
Cookie: SESSION=MzNmZGQxYjYtYjQ5Ni00YjMzLTlmN2QtZGY5NjY3OWQzMmZl
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
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



=== TEST 2: fresh ids are lowercase UUID v4, all different
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
--- request
GET /a
--- response_body_filters eval
sub {
    my @ids = $_[0] =~ /"sessionId":"([^"]*)"/;
    for (1 .. 24) {
        my $r = SharedSessionTest::http_request(GET => '/a');
        push @ids, $r->{body} =~ /"sessionId":"([^"]*)"/ ? $1 : 'none';
    }
    my %seen;
    my @v4 = grep {
        /\A[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\z/
    } @ids;
    my @distinct = grep { !$seen{$_}++ } @ids;
    my @hashes = grep { !/:expires:/ }
        @{ SharedSessionTest::redis_cmd('KEYS', 'spring:session:sessions:*') };
    scalar(@ids) . " ids, " . scalar(@v4) . " UUID v4, "
        . scalar(@distinct) . " distinct, " . scalar(@hashes) . " hashes\n";
}
--- response_body
25 ids, 25 UUID v4, 25 distinct, 25 hashes
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a value that is not Base64 is ignored
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
--- request eval
["GET /a", "GET /a", "GET /a", "GET /a"]
--- more_headers eval
["Cookie: SESSION=!!!notbase64!!!",
 "Cookie: SESSION=%2F%2F%2F",
 "Cookie: SESSION=Y",
 "Cookie: SESSION=YW=Jj"]
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body eval
[(<<'EOT') x 4]
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
EOT
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a raw (unencoded) UUID is ignored even though that session exists
Spring's decoder rejects the '-' characters, and so must we.
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => '33fdd1b6-b496-4b33-9f7d-df96679d32fe', label => 'A');
--- request
GET /a
--- more_headers
Cookie: SESSION=33fdd1b6-b496-4b33-9f7d-df96679d32fe
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: URL-safe Base64 (- and _) is rejected
The id "~~~???>>>" encodes to fn5+Pz8/Pj4+ in standard Base64.
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => '~~~???>>>', label => 'U');
--- request
GET /a
--- more_headers
Cookie: SESSION=fn5-Pz8_Pj4-
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: standard Base64 (+ and /) decodes, but the id "~~~???>>>" is ignored though that session exists; A-Z a-z 0-9 - _ ids that are no UUID are found
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => '~~~???>>>', label => 'U');
SharedSessionTest::seed_session(id => 'Legacy_ID-42', label => 'L',
                                creationTime => 1552128921707);
--- request eval
["GET /a", "GET /a"]
--- more_headers eval
["Cookie: SESSION=fn5+Pz8/Pj4+", "Cookie: SESSION=TGVnYWN5X0lELTQy"]
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body eval
['body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}' . "\n",
 'body: {"sessionId":"<L>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}' . "\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: Base64 padding is optional
"abcd" is YWJjZA== with padding.
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => 'abcd', label => 'P',
                                creationTime => 1552128921707);
--- request eval
["GET /a", "GET /a"]
--- more_headers eval
["Cookie: SESSION=YWJjZA", "Cookie: SESSION=YWJjZA=="]
--- response_headers eval
["!Set-Cookie", "!Set-Cookie"]
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body eval
my $rest = <<'EOT';
hash spring:session:sessions:<P> ttl=2100s
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<P> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<P>"
EOT
['body: {"sessionId":"<P>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}' . "\n" . $rest,
 'body: {"sessionId":"<P>","host":"hostA","lastUpdatedAt":<now>,"previousHost":"hostA","creationTime":1552128921707,"new":false}' . "\n" . $rest]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: whitespace inside the Base64 value is rejected
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => 'abcd', label => 'P');
--- request
GET /a
--- more_headers
Cookie: SESSION=YWJj ZA==
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: a decoded id of 128 bytes is accepted
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => 'L' . ('x' x 127), label => 'L128',
                                creationTime => 1552128921707);
--- request
GET /a
--- more_headers eval
"Cookie: SESSION=" . SharedSessionTest::b64('L' . ('x' x 127))
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<L128>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
hash spring:session:sessions:<L128> ttl=2100s
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<L128> ttl=1800s value=""
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<L128>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: a decoded id of 129 bytes is ignored even though that session exists
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => 'L' . ('x' x 128), label => 'L129');
--- request
GET /a
--- more_headers eval
"Cookie: SESSION=" . SharedSessionTest::b64('L' . ('x' x 128))
--- response_headers_like
Set-Cookie: SESSION=[A-Za-z0-9+/]{48}; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: decoded ids with space, ; , " \, control bytes, DEL or non-ASCII are ignored, as is an empty one
Every one of these sessions exists in Redis; none may be used.
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
my $i = 0;
SharedSessionTest::seed_session(id => $_, label => 'bad' . ++$i)
    for "bad id", "bad;id", "bad,id", "bad\"id", "bad\\id", "bad\x01id",
        "bad\tid", "bad\x7fid", "caf\xc3\xa9", "";
--- request eval
[("GET /a") x 10]
--- more_headers eval
[map { "Cookie: SESSION=" . SharedSessionTest::b64($_) }
     "bad id", "bad;id", "bad,id", "bad\"id", "bad\\id", "bad\x01id",
     "bad\tid", "bad\x7fid", "caf\xc3\xa9", ""]
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body eval
[(<<'EOT') x 10]
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
EOT
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: of two SESSION cookies the second names the session: it is found and its cookie is set
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::known_id('33fdd1b6-b496-4b33-9f7d-df96679d32fe', 'A');
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
GET /a
--- more_headers
Cookie: SESSION=MzNmZGQxYjYtYjQ5Ni00YjMzLTlmN2QtZGY5NjY3OWQzMmZl; SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_headers
Set-Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
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
--- no_error_log
[error]
[alert]
[crit]



=== TEST 13: SESSION cookies in separate Cookie headers are all considered, in order
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::known_id('33fdd1b6-b496-4b33-9f7d-df96679d32fe', 'A');
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
GET /a
--- more_headers
Cookie: theme=dark; SESSION=MzNmZGQxYjYtYjQ5Ni00YjMzLTlmN2QtZGY5NjY3OWQzMmZl
Cookie: lang=en; SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3; x=y
--- response_headers
Set-Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { my $n = SharedSessionTest::normalizer(); $n->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 14: when the first cookie names the session, no Set-Cookie is sent
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::known_id('33fdd1b6-b496-4b33-9f7d-df96679d32fe', 'A');
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
GET /a
--- more_headers
Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3; SESSION=MzNmZGQxYjYtYjQ5Ni00YjMzLTlmN2QtZGY5NjY3OWQzMmZl
--- response_headers
!Set-Cookie
--- response_body_filters eval
sub { my $n = SharedSessionTest::normalizer(); $n->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 15: an undecodable first cookie is no candidate: the second is the first one, no Set-Cookie
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
GET /a
--- more_headers
Cookie: SESSION=***; SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_headers
!Set-Cookie
--- response_body_filters eval
sub { my $n = SharedSessionTest::normalizer(); $n->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 16: an expired session in the first cookie is skipped for the valid second one, untouched
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => '33fdd1b6-b496-4b33-9f7d-df96679d32fe', label => 'A',
    lastAccessedTime => SharedSessionTest::now_ms() - 1_900_000,
    creationTime => SharedSessionTest::now_ms() - 2_000_000);
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
GET /a
--- more_headers
Cookie: SESSION=MzNmZGQxYjYtYjQ5Ni00YjMzLTlmN2QtZGY5NjY3OWQzMmZl; SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_headers
Set-Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { SharedSessionTest::dump_db($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
hash spring:session:sessions:<A> ttl=seeded
  creationTime=<A.created>
  maxInactiveInterval=1800
  lastAccessedTime=<A.last>
hash spring:session:sessions:<B> ttl=2100s
  creationTime=1552128921707
  maxInactiveInterval=1800
  lastAccessedTime=<now>
  sessionAttr:scopedTarget.sampleSession={"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession","host":"hostA","lastUpdatedAt":["java.util.Date",<now>]}
string spring:session:sessions:expires:<B> ttl=1800s value=""
set spring:session:expirations:<bucket(A.last+1800s)> ttl=seeded
  "expires:<A>"
set spring:session:expirations:<bucket(now+1800s)> ttl=2100s
  "expires:<B>"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 17: cookies whose names merely contain SESSION are not considered
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B');
--- request
GET /a
--- more_headers
Cookie: XSESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3; SESSIONX=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
--- no_error_log
[error]
[alert]
[crit]



=== TEST 18: only the first 8 distinct valid ids are considered: a 9th is not looked up
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B');
--- request
GET /a
--- more_headers eval
SharedSessionTest::session_cookies((map { "unknown-$_" } 1 .. 8),
                                   'e1237df7-5646-4382-aa12-41435ed09dc7')
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
--- no_error_log
[error]
[alert]
[crit]



=== TEST 19: the 8th distinct valid id is still considered
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
GET /a
--- more_headers eval
SharedSessionTest::session_cookies((map { "unknown-$_" } 1 .. 7),
                                   'e1237df7-5646-4382-aa12-41435ed09dc7')
--- response_headers
Set-Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { my $n = SharedSessionTest::normalizer(); $n->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 20: repeated ids and invalid values do not use up the 8 candidates
Twelve cookies: one unknown id repeated, then undecodable values, then B.
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
GET /a
--- more_headers eval
SharedSessionTest::session_cookies(('unknown') x 6, (\'!!') x 5,
                                   'e1237df7-5646-4382-aa12-41435ed09dc7')
--- response_headers
Set-Cookie: SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3; Path=/; HttpOnly; SameSite=Lax
--- response_body_filters eval
sub { my $n = SharedSessionTest::normalizer(); $n->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 21: with cookie_base64 off the cookie is the raw id: found without Set-Cookie
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
    creationTime => 1552128921707);
--- request
GET /raw
--- more_headers
Cookie: SESSION=e1237df7-5646-4382-aa12-41435ed09dc7
--- response_headers
!Set-Cookie
--- response_body_filters eval
sub { my $n = SharedSessionTest::normalizer(); $n->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":1552128921707,"new":false}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 22: with cookie_base64 off a Base64 value is just an unknown id; the new cookie is raw
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(
    id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B');
--- request
GET /index.html
--- response_body_filters eval
sub {
    my $n = SharedSessionTest::normalizer();
    $n->response(SharedSessionTest::http_request(GET => '/raw',
        Cookie => 'SESSION=ZTEyMzdkZjctNTY0Ni00MzgyLWFhMTItNDE0MzVlZDA5ZGM3'))
    . SharedSessionTest::seeds_status();
}
--- response_body
status: 200
set-cookie: SESSION=<new>; Path=/; HttpOnly; SameSite=Lax
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
--- no_error_log
[error]
[alert]
[crit]



=== TEST 23: ids with characters a UUID never has ({ } : * ? [ ] . ~ / @ %, space) are ignored even though those sessions exist; no key is made from them
Hash tags ({...}) would pick a cluster slot, ":" and glob characters
would blur what a key means; such ids never reach a key name.
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
--- init
SharedSessionTest::flush();
@main::ODD = ('a{b}c', '{x}', 'p:q', 'expires:x', 'glob*?[a]', 'dot.ted',
              'tilde~', 'sl/ash', 'at@host', 'pct%41', 'sp ace', 'x+y=');
my ($i, $now) = (0, SharedSessionTest::now_ms());
# the hash alone: a touch would add the shadow key, which the scan shows
SharedSessionTest::seed_session(id => $_, label => 'S' . $i++,
    fields => [creationTime => $now - 120000, lastAccessedTime => $now - 60000,
               maxInactiveInterval => 1800])
    for @main::ODD;
%main::BEFORE = map { ($_ => 1) } split /\n/,
    `redis-cli -h $ENV{TEST_NGINX_REDIS_HOST} -p $ENV{TEST_NGINX_REDIS_PORT} --scan`;
--- request eval
[("GET /a") x 12, ("GET /raw") x 6]
--- more_headers eval
[(map { "Cookie: SESSION=" . SharedSessionTest::b64($_) }
      ('a{b}c', '{x}', 'p:q', 'expires:x', 'glob*?[a]', 'dot.ted',
       'tilde~', 'sl/ash', 'at@host', 'pct%41', 'sp ace', 'x+y=')),
 (map { "Cookie: SESSION=$_" }
      ('a{b}c', '{x}', 'p:q', 'glob*?[a]', 'dot.ted', 'at@host'))]
--- response_body_filters eval
sub {
    my @new = grep { !$main::BEFORE{$_} } split /\n/,
        `redis-cli -h $ENV{TEST_NGINX_REDIS_HOST} -p $ENV{TEST_NGINX_REDIS_PORT} --scan`;
    my @odd = grep {
        !/\Aspring:session:(?:sessions:(?:expires:)?[0-9a-f-]{36}|expirations:\d+)\z/
    } @new;
    my $odd = CORE::join(' ', sort @odd);
    SharedSessionTest::body_and_seeds($_[0])
    . "keys not made of a UUID: " . ($odd || 'none') . "\n";
}
--- response_body eval
[(<<'EOT') x 18]
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
keys not made of a UUID: none
EOT
--- no_error_log
[error]
[alert]
[crit]
