# Hostile input: what a client can put in the request, and what a hostile
# or broken writer can put in a session hash.
#
#   - cookies of 8 KB and 60 KB, thousands of cookies in one header and
#     thousands of Cookie headers, SESSION= empty, padded, unpadded,
#     URL-safe, with control bytes, non-ASCII, NUL or CRLF after decoding;
#     ids with the glob and hash-tag characters * ? [ : { } (binary-safe
#     arguments: the exact key only, never a pattern);
#   - shared_session_host from a request header or from the decoded URI
#     with quotes, backslashes, control characters, CR LF, valid and
#     invalid UTF-8: the answer and the stored attribute stay valid JSON in
#     valid UTF-8, invalid bytes become U+FFFD, nothing reaches a header;
#   - session hashes whose fields hold garbage or huge values.
#
# Every case gets a defined answer (usually a new session) and leaves what
# it must not touch untouched.

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(10);

our $B = 'e1237df7-5646-4382-aa12-41435ed09dc7';
our $B64 = SharedSessionTest::b64($B);

my $config = <<'EOF';
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    large_client_header_buffers 8 64k;
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
    location = /raw {
        shared_session;
        shared_session_host hostA;
        shared_session_cookie_base64 off;
    }
    location = /hdr {
        shared_session;
        shared_session_host $http_x_host;
    }
    location ~ "(?s)^/uri/(?<hh>.*)$" {
        shared_session;
        shared_session_host $hh;
    }
    location = /logout {
        shared_session_invalidate;
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
});

# What a JSON string of these bytes must decode to: valid UTF-8 kept, every
# byte of an invalid sequence replaced by U+FFFD (bytes in, bytes out).
sub main::sanitized {
    my ($b) = @_;
    my $out = '';
    while (length $b) {
        if ($b =~ s/\A([\x00-\x7f])//) {
            $out .= $1 eq "\0" ? '?' : $1;
        } elsif ($b =~ s/\A([\xc2-\xdf][\x80-\xbf]
                           |\xe0[\xa0-\xbf][\x80-\xbf]
                           |[\xe1-\xec\xee\xef][\x80-\xbf]{2}
                           |\xed[\x80-\x9f][\x80-\xbf]
                           |\xf0[\x90-\xbf][\x80-\xbf]{2}
                           |[\xf1-\xf3][\x80-\xbf]{3}
                           |\xf4[\x80-\x8f][\x80-\xbf]{2})//x)
        {
            $out .= $1;
        } else {
            substr($b, 0, 1) = '';
            $out .= "\xef\xbf\xbd";
        }
    }
    return $out;
}

sub main::enc {
    my ($chars) = @_;
    utf8::encode($chars);
    return $chars;
}

sub main::esc {
    my ($s) = @_;
    $s =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    return $s;
}

# "valid JSON" when $bytes is strict UTF-8 and a JSON document; the decoded
# document (character strings) or undef.
sub main::strict_json {
    my ($bytes) = @_;
    # well-formed UTF-8 (Unicode 3.9, table 3-7): nothing to replace
    return (undef, 'not valid UTF-8')
        unless main::sanitized($bytes) eq $bytes && $bytes !~ /\0/;
    my $chars = "$bytes";
    utf8::decode($chars);    # noncharacters (U+FFFF, U+10FFFF) are valid
    my $doc = eval { JSON::PP->new->decode($chars) };
    return (undef, 'not JSON') unless ref $doc;
    return ($doc, 'valid');
}

# Checks an answer whose host came from $host_bytes: the body and the stored
# attribute are valid JSON in valid UTF-8, and both hosts are the sanitized
# bytes.  Then a second request with the session's cookie must show the
# same string as previousHost.
sub main::check_host {
    my ($body, $host_bytes, @second) = @_;
    my $want = main::sanitized($host_bytes);
    my ($doc, $how) = main::strict_json($body);
    my $out = "body: $how JSON\n";
    return $out . 'got: ' . main::esc($body) . "\n" unless $doc;
    my $got = main::enc($doc->{host});
    $out .= 'body host: ' . ($got eq $want ? 'sanitized as expected'
            : 'got "' . main::esc($got) . '" want "' . main::esc($want) . '"')
            . "\n";
    my $attr = SharedSessionTest::redis_cmd('HGET',
        "spring:session:sessions:$doc->{sessionId}",
        'sessionAttr:scopedTarget.sampleSession');
    my ($adoc, $ahow) = main::strict_json($attr // '');
    $out .= "stored attribute: $ahow JSON\n";
    if ($adoc) {
        my $ag = main::enc($adoc->{host});
        $out .= 'stored host: ' . ($ag eq $want ? 'sanitized as expected'
                : 'got "' . main::esc($ag) . '"') . "\n";
    } else {
        $out .= 'stored: ' . main::esc($attr // '(nil)') . "\n";
    }
    if (@second) {
        my $res = FaultTest::http(@second, Cookie => 'SESSION='
                                  . SharedSessionTest::b64($doc->{sessionId}));
        my ($d2, $h2) = main::strict_json($res->{body});
        my $p = $d2 ? main::enc($d2->{previousHost} // '(null)')
                    : '';
        $out .= "second answer: $res->{status}, $h2 JSON, previousHost "
              . ($d2 && $p eq $want ? 'as expected'
                 : '"' . main::esc($p) . '"') . "\n";
    }
    return $out;
}

run_tests();

__DATA__

=== TEST 1: an 8 KB SESSION cookie is ignored (not an id): a new session, the seeded one untouched
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::B, label => 'B');
--- request
GET /a
--- more_headers eval
"Cookie: SESSION=" . ('QUJD' x 2048)
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a 60 KB junk cookie, then the session's cookie in the same header: the session is found
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::B, label => 'B');
--- request
GET /a
--- more_headers eval
"Cookie: junk=" . ('x' x 60000) . "; SESSION=$main::B64"
--- response_headers
!Set-Cookie
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<B.created>,"new":false}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: 5000 other cookies in one header before SESSION: found
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::B, label => 'B');
--- request
GET /a
--- more_headers eval
"Cookie: " . CORE::join('; ', map { "c$_=v$_" } 1 .. 5000) . "; SESSION=$main::B64"
--- response_headers
!Set-Cookie
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<B.created>,"new":false}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: 3500 undecodable SESSION cookies do not use up the candidates: the valid one after them is found
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::B, label => 'B');
--- request
GET /a
--- more_headers eval
"Cookie: " . CORE::join('; ', map { "SESSION=!$_" } 1 .. 3500) . "; SESSION=$main::B64"
--- response_headers
!Set-Cookie
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<B.created>,"new":false}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: 3000 distinct valid ids: only the first 8 are looked up; the session after them is not used and not touched
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::B, label => 'B');
--- request
GET /a
--- more_headers eval
"Cookie: " . CORE::join('; ', map { 'SESSION=' . SharedSessionTest::b64("u$_") } 1 .. 3000)
. "; SESSION=$main::B64"
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) . SharedSessionTest::dbsize() . " keys\n" }
--- response_body
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
6 keys
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: 900 Cookie header lines (Debian's nginx refuses more than about 1000 header lines), the session in the last one: found
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::B, label => 'B');
--- request
GET /a
--- more_headers eval
CORE::join('', map { "Cookie: c$_=v\n" } 1 .. 900) . "Cookie: SESSION=$main::B64"
--- response_headers
!Set-Cookie
--- response_body_filters eval
sub { SharedSessionTest::normalizer()->body($_[0]) }
--- response_body
body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<B.created>,"new":false}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: invalidate with thousands of cookies: 302, the session (after 4000 junk cookies) is ended
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::B, label => 'B');
--- request
GET /logout
--- more_headers eval
"Cookie: " . CORE::join('; ', map { "SESSION=!$_; c$_=x" } 1 .. 2000) . "; SESSION=$main::B64"
--- error_code: 302
--- response_body_filters eval
sub { SharedSessionTest::redis_cmd('HGET', "spring:session:sessions:$main::B", 'maxInactiveInterval') . "\n" }
--- response_body
0
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: SESSION values: padded and unpadded Base64 find the session, URL-safe, empty, blank and stray "=" do not
The id "id-10-x" encodes to "aWQtMTAteA==" (padding); "aWQtMTA_eA" would
be "id-10?x" in URL-safe Base64.
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => 'id-10-x', label => 'P');
--- request eval
[("GET /a") x 8]
--- more_headers eval
["Cookie: SESSION=aWQtMTAteA==",
 "Cookie: SESSION=aWQtMTAteA",
 "Cookie: SESSION=aWQtMTA_eA==",
 "Cookie: SESSION=aWQtMTA_eA",
 "Cookie: SESSION=",
 "Cookie: SESSION=   ; SESSION=\t",
 "Cookie: SESSION==; SESSION====; SESSION=aWQtMTAteA=",
 "Cookie: SESSION=aWQtMTAteA===; SESSION=aWQt MTAteA=="]
--- response_body_filters eval
sub { my $j = JSON::PP->new->decode($_[0]); ($j->{new} ? 'new' : 'found') . "\n" }
--- response_body eval
["found\n", "found\n", "new\n", "new\n", "new\n", "new\n", "new\n", "new\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: control bytes, DEL and non-ASCII in the raw cookie value: ignored, a new session
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::B, label => 'B');
--- request eval
[("GET /a") x 5]
--- more_headers eval
["Cookie: SESSION=\x01$main::B64",
 "Cookie: SESSION=$main::B64\x7f",
 "Cookie: SESSION=\x1b[31m$main::B64",
 "Cookie: SESSION=\xc3\xa9$main::B64",
 "Cookie: SESSION=$main::B64\xff\xfe"]
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body eval
[(<<'EOT') x 5]
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
EOT
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: a NUL byte or a bare CR in the Cookie header: nginx itself answers 400, the worker lives
--- init
SharedSessionTest::flush();
--- raw_request eval
"GET /a HTTP/1.0\r\nHost: localhost\r\nCookie: SESSION=abc\0def\r\n\r\n"
--- error_code: 400
--- response_body_filters eval
sub { SharedSessionTest::dbsize() . " keys\n" }
--- response_body
0 keys
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 11: ids that decode to CRLF, NUL, a RESP command or non-ASCII are ignored; no other key appears
--- init
SharedSessionTest::flush();
--- request eval
[("GET /a") x 5]
--- more_headers eval
[map { "Cookie: SESSION=" . SharedSessionTest::b64($_) }
     "abc\r\nFLUSHALL\r\n",
     "x\r\n*1\r\n\$8\r\nFLUSHALL",
     "abc\0def",
     "\r\n",
     "caf\xc3\xa9\xff"]
--- response_body_filters eval
sub {
    my @keys = @{ SharedSessionTest::redis_cmd('KEYS', '*') };
    my @odd = grep { !/\Aspring:session:(?:sessions:(?:expires:)?[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|expirations:[0-9]{13})\z/ } @keys;
    SharedSessionTest::normalizer()->body($_[0])
    . (@odd ? 'other keys: ' . CORE::join(' ', map { main::esc($_) } @odd) . "\n"
            : "only session keys\n");
}
--- response_body eval
[(<<'EOT') x 5]
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
only session keys
EOT
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: ids made of glob and hash-tag characters are exact keys, never patterns: "*", "?", "[a-z]*" find nothing
Sessions exist whose ids a pattern would match; none may be used or touched.
--- init
SharedSessionTest::flush();
my $n = 0;
SharedSessionTest::seed_session(id => $_, label => 'S' . ++$n)
    for qw(abc-glob-target x:y:glob {t}z-glob);
SharedSessionTest::seed_session(id => $main::B, label => 'B');
--- request eval
[("GET /a") x 4]
--- more_headers eval
[map { "Cookie: SESSION=" . SharedSessionTest::b64($_) } '*', '?', '[a-z]*', '*:*']
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



=== TEST 13: ids with "*", ":", "{" and "}" are ignored even though those sessions exist (Base64 and raw cookies)
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => 'a*b:c{d}e', label => 'G');
SharedSessionTest::seed_session(id => '{x}:*', label => 'H');
--- request eval
["GET /a", "GET /raw"]
--- more_headers eval
["Cookie: SESSION=" . SharedSessionTest::b64('a*b:c{d}e'), "Cookie: SESSION={x}:*"]
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body eval
[(<<'EOT') x 2]
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
EOT
--- no_error_log
[error]
[alert]
[crit]



=== TEST 14: raw cookies (base64 off) with glob characters, CR-free control bytes and non-ASCII: nothing but exact, valid ids
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::B, label => 'B');
--- request eval
[("GET /raw") x 4]
--- more_headers eval
["Cookie: SESSION=*", "Cookie: SESSION=e1237df7*", "Cookie: SESSION=e1237df7-5646-4382-aa12-41435ed09dc7\x01",
 "Cookie: SESSION=e1237df7-5646-4382-aa12-41435ed09dc\xc3\xa9"]
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



=== TEST 15: shared_session_host from a header with quotes, backslashes, tabs and control characters: valid JSON, exact string
--- init
SharedSessionTest::flush();
--- request
GET /hdr
--- more_headers eval
"X-Host: a\"b\\c\td\x01e\x1ff\x7fg\"}],\"injected\":\"1"
--- response_body_filters eval
sub { main::check_host($_[0], "a\"b\\c\td\x01e\x1ff\x7fg\"}],\"injected\":\"1",
                       GET => '/hdr', 'X-Host' => 'next') }
--- response_body
body: valid JSON
body host: sanitized as expected
stored attribute: valid JSON
stored host: sanitized as expected
second answer: 200, valid JSON, previousHost as expected
--- no_error_log
[error]
[alert]
[crit]



=== TEST 16: shared_session_host with valid non-ASCII UTF-8 (2, 3 and 4 bytes): kept as it is
--- init
SharedSessionTest::flush();
--- request
GET /hdr
--- more_headers eval
"X-Host: caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x98\x80-\xef\xbf\xbf-\xf4\x8f\xbf\xbf"
--- response_body_filters eval
sub { main::check_host($_[0], "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x98\x80-\xef\xbf\xbf-\xf4\x8f\xbf\xbf",
                       GET => '/hdr', 'X-Host' => 'next') }
--- response_body
body: valid JSON
body host: sanitized as expected
stored attribute: valid JSON
stored host: sanitized as expected
second answer: 200, valid JSON, previousHost as expected
--- no_error_log
[error]
[alert]
[crit]



=== TEST 17: shared_session_host with invalid UTF-8 (stray bytes, overlong, surrogate, past U+10FFFF, truncated): each bad byte becomes U+FFFD
--- init
SharedSessionTest::flush();
--- request eval
[("GET /hdr") x 6]
--- more_headers eval
["X-Host: a\xffb\xfe",
 "X-Host: \xc0\xaf\xe0\x80\xaf\xf0\x80\x80\xaf",
 "X-Host: \xed\xa0\x80\xed\xbf\xbf",
 "X-Host: \xf4\x90\x80\x80\xf5\x80\x80\x80",
 "X-Host: ok\xe2\x82",
 "X-Host: \x80\xbf\x80"]
--- response_body_filters eval
[map { my $h = $_; [sub { main::check_host($_[0], $h) }] }
     "a\xffb\xfe",
     "\xc0\xaf\xe0\x80\xaf\xf0\x80\x80\xaf",
     "\xed\xa0\x80\xed\xbf\xbf",
     "\xf4\x90\x80\x80\xf5\x80\x80\x80",
     "ok\xe2\x82",
     "\x80\xbf\x80"]
--- response_body eval
[("body: valid JSON\nbody host: sanitized as expected\nstored attribute: valid JSON\nstored host: sanitized as expected\n") x 6]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 18: shared_session_host with lead bytes followed by non-continuation bytes (0xC0-0xFF where 0x80-0xBF must be): replaced, not copied
A lead byte must be followed by continuation bytes 10xxxxxx; "\xc3\xc3",
"\xe2\xff\xff" and "\xf8\x90\x80\x80" are not UTF-8.
--- init
SharedSessionTest::flush();
--- request eval
[("GET /hdr") x 4]
--- more_headers eval
["X-Host: a\xc3\xc3b",
 "X-Host: a\xe2\xff\xffb",
 "X-Host: a\xf8\x90\x80\x80b",
 "X-Host: a\xe4\xb8\xc3\x80b"]
--- response_body_filters eval
[map { my $h = $_; [sub { main::check_host($_[0], $h) }] }
     "a\xc3\xc3b",
     "a\xe2\xff\xffb",
     "a\xf8\x90\x80\x80b",
     "a\xe4\xb8\xc3\x80b"]
--- response_body eval
[("body: valid JSON\nbody host: sanitized as expected\nstored attribute: valid JSON\nstored host: sanitized as expected\n") x 4]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 19: shared_session_host from the decoded URI with CR LF, quotes, NUL-free control bytes and invalid UTF-8: valid JSON, no header injected
--- init
SharedSessionTest::flush();
--- request
GET /uri/a%0D%0AX-Injected:%201%0D%0A%0D%0A%22%5C%01%FF%C3%A9
--- response_headers
!X-Injected
Content-Type: application/json
--- response_body_filters eval
sub { main::check_host($_[0], "a\r\nX-Injected: 1\r\n\r\n\"\\\x01\xff\xc3\xa9") }
--- response_body
body: valid JSON
body host: sanitized as expected
stored attribute: valid JSON
stored host: sanitized as expected
--- no_error_log
[error]
[alert]
[crit]



=== TEST 20: a 24 KB shared_session_host full of characters that need escaping (a 60 KB attribute): valid JSON, exact string
--- init
SharedSessionTest::flush();
--- request
GET /hdr
--- more_headers eval
"X-Host: " . ("\"\\\x01\xc3\xa9\xff" x 4000)
--- response_body_filters eval
sub { main::check_host($_[0], "\"\\\x01\xc3\xa9\xff" x 4000,
                       GET => '/hdr', 'X-Host' => 'next') }
--- response_body
body: valid JSON
body host: sanitized as expected
stored attribute: valid JSON
stored host: sanitized as expected
second answer: 200, valid JSON, previousHost as expected
--- no_error_log
[error]
[alert]
[crit]



=== TEST 21: an empty shared_session_host (no X-Host header): an empty string, valid JSON
--- init
SharedSessionTest::flush();
--- request
GET /hdr
--- response_body_filters eval
sub { main::check_host($_[0], '') }
--- response_body
body: valid JSON
body host: sanitized as expected
stored attribute: valid JSON
stored host: sanitized as expected
--- no_error_log
[error]
[alert]
[crit]



=== TEST 22: hash fields with garbage numbers are not sessions: warned about, left untouched, a new session each time
--- init
SharedSessionTest::flush();
my $now = SharedSessionTest::now_ms();
my @bad = (
    [creationTime => '1' x (1 << 20)],
    [creationTime => ' 123'],
    [creationTime => '123 '],
    [creationTime => '1e3'],
    [creationTime => '0x1F'],
    [creationTime => '+5'],
    [creationTime => '12.5'],
    [creationTime => "\xd9\xa1\xd9\xa2"],
    [creationTime => "123\n"],
    [creationTime => '9007199254740993'],
    [creationTime => '["java.lang.Long","5"]'],
    [lastAccessedTime => 'NaN'],
    [lastAccessedTime => 'inf'],
    [lastAccessedTime => "\0"],
    [maxInactiveInterval => '2147483648'],
    [maxInactiveInterval => '-2147483649'],
    [maxInactiveInterval => ''],
);
@main::bad_ids = ();
my $i = 0;
for my $b (@bad) {
    my %f = (creationTime => $now - 1000, lastAccessedTime => $now - 1000,
             maxInactiveInterval => 1800, @$b);
    my $id = 'bad-' . ++$i;
    push @main::bad_ids, $id;
    SharedSessionTest::seed_session(id => $id, label => "bad$i",
                                    fields => [ %f ]);
}
--- request eval
[("GET /a") x 17]
--- more_headers eval
[map { "Cookie: SESSION=" . SharedSessionTest::b64("bad-$_") } 1 .. 17]
--- response_body_filters eval
sub { SharedSessionTest::body_and_seeds($_[0]) }
--- response_body eval
[(<<'EOT') x 17]
body: {"sessionId":"<new>","host":"hostA","lastUpdatedAt":<now>,"previousHost":null,"creationTime":<now>,"new":true}
seeds untouched
EOT
--- error_log eval
qr/\[warn\].*invalid session "bad-\d+"/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 23: extreme but valid numbers are read: creationTime -0 and 17 digits, never-expiring -2147483648
--- init
SharedSessionTest::flush();
my $now = SharedSessionTest::now_ms();
SharedSessionTest::seed_session(id => 'n1', label => 'N1',
    fields => [creationTime => '-0', lastAccessedTime => $now - 1000,
               maxInactiveInterval => 1800]);
SharedSessionTest::seed_session(id => 'n2', label => 'N2',
    fields => [creationTime => '-9007199254740991', lastAccessedTime => '000' . ($now - 1000),
               maxInactiveInterval => '-2147483648']);
--- request eval
["GET /a", "GET /a"]
--- more_headers eval
["Cookie: SESSION=" . SharedSessionTest::b64('n1'), "Cookie: SESSION=" . SharedSessionTest::b64('n2')]
--- response_body_filters eval
sub { my $j = JSON::PP->new->decode($_[0]); "$j->{sessionId} $j->{creationTime} " . ($j->{new} ? 'new' : 'found') . "\n" }
--- response_body eval
["n1 0 found\n", "n2 -9007199254740991 found\n"]
--- no_error_log
[warn]
[error]
[alert]
[crit]



=== TEST 24: huge and garbage attribute values: previousHost null, the attribute replaced, other huge fields kept byte for byte
A 5 MB attribute, one nested 12000 levels deep (60 KB), a JSON string with
NUL escapes, one with a lone surrogate escape, JDK serialization bytes,
and a 1 MB binary field of another name.
--- init
SharedSessionTest::flush();
my $now = SharedSessionTest::now_ms();
my $other = CORE::join('', map { chr($_ % 256) } 1 .. (1 << 20));
my @attrs = (
    '{"host":"' . ('h' x (5 << 20)) . '"}',
    ('{"a":' x 12000) . '1' . ('}' x 12000),
    '{"host":"\ud800"}',
    '{"host":"\udc00x"}',
    "\xac\xed\x00\x05sr\x00\x0eorg.example.X",
    '{"host":123}',
    '{"host":null}',
    '{"host":["a"]}',
    '{"host":"a"',
);
my $i = 0;
for my $a (@attrs) {
    $i++;
    SharedSessionTest::seed_session(id => "att-$i", label => "A$i",
        fields => [creationTime => $now - 1000, lastAccessedTime => $now - 1000,
                   maxInactiveInterval => 1800,
                   'sessionAttr:scopedTarget.sampleSession' => $a,
                   'sessionAttr:other' => $other]);
}
$main::other_sha = Digest::SHA::sha1_hex($other);
--- request eval
[map { "GET /a" } 1 .. 9]
--- more_headers eval
[map { "Cookie: SESSION=" . SharedSessionTest::b64("att-$_") } 1 .. 9]
--- response_body_filters eval
[map { my $n = $_; [sub {
    my ($j, $how) = main::strict_json($_[0]);
    return "body: $how\n" unless $j;
    my $h = SharedSessionTest::redis_cmd('HGETALL', "spring:session:sessions:att-$n");
    my %h = @$h;
    my ($a) = main::strict_json($h{'sessionAttr:scopedTarget.sampleSession'});
    "$j->{sessionId} " . ($j->{new} ? 'new' : 'found')
    . ' previousHost=' . ($j->{previousHost} // 'null')
    . ' attribute=' . ($a && $a->{host} eq 'hostA' ? 'ours' : 'not ours')
    . ' other=' . (Digest::SHA::sha1_hex($h{'sessionAttr:other'}) eq $main::other_sha ? 'kept' : 'changed')
    . "\n";
}] } 1 .. 9]
--- response_body eval
[map { "att-$_ found previousHost=null attribute=ours other=kept\n" } 1 .. 9]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 25: previousHost read from a stored attribute with escapes, raw invalid UTF-8 and a NUL escape: valid JSON
--- init
SharedSessionTest::flush();
my $now = SharedSessionTest::now_ms();
my @attrs = (
    '{"host":"a\"b\\\\c\u0001\u00e9\ud83d\ude00"}',
    qq({"host":"raw\xff\xfe\xc3\xc3end"}),
    '{"host":"before\u0000after"}',
    '{"host":"' . ('\u00e9' x 10000) . '"}',
);
my $i = 0;
for my $a (@attrs) {
    $i++;
    SharedSessionTest::seed_session(id => "ph-$i", label => "P$i",
        fields => [creationTime => $now - 1000, lastAccessedTime => $now - 1000,
                   maxInactiveInterval => 1800,
                   'sessionAttr:scopedTarget.sampleSession' => $a]);
}
--- request eval
[map { "GET /a" } 1 .. 4]
--- more_headers eval
[map { "Cookie: SESSION=" . SharedSessionTest::b64("ph-$_") } 1 .. 4]
--- response_body_filters eval
[map { my $want = $_; [sub {
    my ($j, $how) = main::strict_json($_[0]);
    return "body: $how JSON: " . main::esc($_[0]) . "\n" unless $j;
    my $p = main::enc($j->{previousHost} // '(null)');
    "body: $how JSON, previousHost "
    . ($p eq $want ? "as expected\n" : '"' . main::esc($p) . '" want "' . main::esc($want) . "\"\n");
}] } "a\"b\\c\x01\xc3\xa9\xf0\x9f\x98\x80",
    "raw\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdend",
    "before",
    "\xc3\xa9" x 10000]
--- response_body eval
[("body: valid JSON, previousHost as expected\n") x 4]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 26: a hash with 100000 other fields is a session like any other: found, the other fields kept
--- init
SharedSessionTest::flush();
my $now = SharedSessionTest::now_ms();
my $c = SharedSessionTest::connect_redis();
my $key = "spring:session:sessions:$main::B";
$c->cmd('HSET', $key, creationTime => $now - 1000, lastAccessedTime => $now - 1000,
        maxInactiveInterval => 1800);
for my $chunk (0 .. 99) {
    $c->cmd('HSET', $key, map { ("f$_", "v$_") } $chunk * 1000 + 1 .. $chunk * 1000 + 1000);
}
--- request
GET /a
--- more_headers eval
"Cookie: SESSION=$main::B64"
--- response_body_filters eval
sub {
    my $j = JSON::PP->new->decode($_[0]);
    ($j->{new} ? 'new' : 'found') . ' fields: '
    . SharedSessionTest::redis_cmd('HLEN', "spring:session:sessions:$main::B") . "\n";
}
--- response_body
found fields: 100004
--- no_error_log
[error]
[alert]
[crit]



=== TEST 27: pipelined HTTP requests on one connection, each waiting on Redis: all answered, in order
--- init
SharedSessionTest::flush();
SharedSessionTest::seed_session(id => $main::B, label => 'B');
--- pipelined_requests eval
["GET /a", "GET /hdr", "GET /logout", "GET /a"]
--- more_headers eval
"Cookie: SESSION=$main::B64\nX-Host: piped"
--- error_code eval
[200, 200, 302, 200]
--- response_body_like eval
['"sessionId":"e1237df7-5646-4382-aa12-41435ed09dc7","host":"hostA".*"new":false',
 '"sessionId":"e1237df7-5646-4382-aa12-41435ed09dc7","host":"piped","lastUpdatedAt":\d+,"previousHost":"hostA".*"new":false',
 '302 Found',
 '"host":"hostA".*"new":true']
--- no_error_log
[error]
[alert]
[crit]
