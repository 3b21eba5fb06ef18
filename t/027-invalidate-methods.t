# Who may end a session: shared_session_invalidate_methods (which methods
# invalidate; 405 with Allow for the others) and
# shared_session_invalidate_check_origin (403 for a request another site
# made the browser send, by Sec-Fetch-Site, else by Origin against Host).
# A refused request touches nothing in Redis and is logged at info.
#
# Each request of a block carries its own session (S1 for the first request,
# S2 for the second, ...); after each answer the filter prints which of the
# block's sessions have been ended so far.

use lib 't/inc';
use SharedSessionTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
log_level('info');
timeout(5);

# Nothing listens here: a refused request must not even try Redis.
$ENV{TEST_NGINX_DEAD_PORT} = SharedSessionTest::free_port();

our @IDS = map { sprintf '%08x-0000-4000-8000-%012x', $_, $_ } 1 .. 12;

sub seed_all {
    SharedSessionTest::flush();
    SharedSessionTest::seed_session(id => $IDS[$_ - 1], label => "S$_")
        for 1 .. @IDS;
}

# "Cookie: SESSION=<S$n>" and any further header lines given
sub cookie {
    my ($n, @more) = @_;
    return join "\n", 'Cookie: SESSION=' . SharedSessionTest::b64($IDS[$n - 1]),
                      @more;
}

sub ended {
    my @ended = grep {
        (SharedSessionTest::redis_cmd('HGET',
            "spring:session:sessions:$IDS[$_ - 1]", 'maxInactiveInterval')
         // '') eq '0'
    } 1 .. @IDS;
    return 'ended: ' . (@ended ? join(' ', map { "S$_" } @ended) : 'none')
           . "\n";
}

SharedSessionTest::flush();

run_tests();

__DATA__

=== TEST 1: by default GET and HEAD end the session, also a GET another site's link sends (the risk of the default); POST gets 405
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /invalidateSession {
        shared_session_invalidate;
    }
--- init
main::seed_all();
--- request eval
["GET /invalidateSession", "HEAD /invalidateSession",
 "GET /invalidateSession", "POST /invalidateSession\nx=1"]
--- more_headers eval
[main::cookie(1), main::cookie(2),
 main::cookie(3, 'Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: navigate',
              'Referer: https://evil.example/'),
 main::cookie(4, 'Content-Type: application/x-www-form-urlencoded')]
--- error_code eval
[302, 302, 302, 405]
--- response_headers eval
["Location: http://localhost:\$ServerPort/index.html",
 "Location: http://localhost:\$ServerPort/index.html",
 "Location: http://localhost:\$ServerPort/index.html",
 "Allow: GET, HEAD\n!Set-Cookie"]
--- response_body_filters eval
sub { main::ended() }
--- response_body eval
["ended: S1\n", "ended: S1 S2\n", "ended: S1 S2 S3\n", "ended: S1 S2 S3\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: shared_session_invalidate_methods POST: a form POST ends the session; GET, HEAD and PUT get 405 with Allow: POST and end nothing
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /invalidateSession {
        shared_session_invalidate;
        shared_session_invalidate_methods POST;
    }
--- init
main::seed_all();
--- request eval
["POST /invalidateSession\nx=1", "GET /invalidateSession",
 "HEAD /invalidateSession", "PUT /invalidateSession\nx=1"]
--- more_headers eval
[main::cookie(1, 'Content-Type: application/x-www-form-urlencoded'),
 main::cookie(2), main::cookie(3), main::cookie(4)]
--- error_code eval
[302, 405, 405, 405]
--- response_headers eval
["Location: http://localhost:\$ServerPort/index.html\nSet-Cookie: SESSION=; Max-Age=0; Expires=Thu, 1 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax",
 "Allow: POST\n!Set-Cookie", "Allow: POST\n!Set-Cookie",
 "Allow: POST\n!Set-Cookie"]
--- response_body_filters eval
sub { main::ended() }
--- response_body eval
["ended: S1\n", "ended: S1\n", "ended: S1\n", "ended: S1\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a method refused is logged at info, naming the method
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /invalidateSession {
        shared_session_invalidate;
        shared_session_invalidate_methods POST;
    }
--- init
main::seed_all();
--- request
GET /invalidateSession
--- more_headers eval
main::cookie(1)
--- error_code: 405
--- response_body_filters eval
sub { main::ended() }
--- response_body
ended: none
--- error_log eval
qr/\[info\].*shared session: invalidation refused: method "GET" not allowed/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: shared_session_invalidate_methods GET POST: both end the session, HEAD too; DELETE gets 405 with Allow: GET, HEAD, POST
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /invalidateSession {
        shared_session_invalidate;
        shared_session_invalidate_methods GET POST;
    }
--- init
main::seed_all();
--- request eval
["GET /invalidateSession", "POST /invalidateSession\nx=1",
 "HEAD /invalidateSession", "DELETE /invalidateSession"]
--- more_headers eval
[main::cookie(1), main::cookie(2), main::cookie(3), main::cookie(4)]
--- error_code eval
[302, 302, 302, 405]
--- response_headers eval
["", "", "", "Allow: GET, HEAD, POST"]
--- response_body_filters eval
sub { main::ended() }
--- response_body eval
["ended: S1\n", "ended: S1 S2\n", "ended: S1 S2 S3\n", "ended: S1 S2 S3\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: check_origin on: Sec-Fetch-Site cross-site or an unknown value gets 403; same-origin, same-site and none end the session; Sec-Fetch-Site decides over Origin
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /invalidateSession {
        shared_session_invalidate;
        shared_session_invalidate_check_origin on;
    }
--- init
main::seed_all();
--- request eval
[("GET /invalidateSession") x 6]
--- more_headers eval
[main::cookie(1, 'Sec-Fetch-Site: cross-site'),
 main::cookie(2, 'Sec-Fetch-Site: same-origin'),
 main::cookie(3, 'Sec-Fetch-Site: same-site'),
 main::cookie(4, 'Sec-Fetch-Site: none'),
 main::cookie(5, 'Sec-Fetch-Site: sideways'),
 main::cookie(6, 'Sec-Fetch-Site: same-origin', 'Origin: http://proxy.example')]
--- error_code eval
[403, 302, 302, 302, 403, 302]
--- response_headers eval
["!Set-Cookie", "", "", "", "!Set-Cookie", ""]
--- response_body_filters eval
sub { main::ended() }
--- response_body eval
["ended: none\n", "ended: S2\n", "ended: S2 S3\n", "ended: S2 S3 S4\n",
 "ended: S2 S3 S4\n", "ended: S2 S3 S4 S6\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: check_origin on, no Sec-Fetch-Site: Origin must name the Host (either scheme; a default port may be left out); another host or port, "null" or junk gets 403; no Origin is let through
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /invalidateSession {
        shared_session_invalidate;
        shared_session_invalidate_check_origin on;
    }
--- init
main::seed_all();
--- request eval
[("GET /invalidateSession") x 12]
--- more_headers eval
[main::cookie(1, 'Origin: http://evil.example'),
 main::cookie(2, 'Origin: http://localhost'),
 main::cookie(3, 'Origin: null'),
 main::cookie(4, 'Origin: https://localhost'),
 main::cookie(5, 'Origin: http://localhost:8080'),
 main::cookie(6, 'Origin: HTTP://LocalHost'),
 main::cookie(7, 'Origin: http://localhost.evil.example'),
 main::cookie(8),
 main::cookie(9, 'Origin: http://localhost', 'Host: localhost:80'),
 main::cookie(10, 'Origin: https://localhost', 'Host: localhost:443'),
 main::cookie(11, 'Origin: http://localhost', 'Host: localhost:443'),
 main::cookie(12, 'Origin: localhost')]
--- error_code eval
[403, 302, 403, 302, 403, 302, 403, 302, 302, 302, 403, 403]
--- response_body_filters eval
sub { main::ended() }
--- response_body eval
["ended: none\n", "ended: S2\n", "ended: S2\n", "ended: S2 S4\n",
 "ended: S2 S4\n", "ended: S2 S4 S6\n", "ended: S2 S4 S6\n",
 "ended: S2 S4 S6 S8\n", "ended: S2 S4 S6 S8 S9\n",
 "ended: S2 S4 S6 S8 S9 S10\n", "ended: S2 S4 S6 S8 S9 S10\n",
 "ended: S2 S4 S6 S8 S9 S10\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: the README's recommendation (POST and check_origin on): the page's own form ends the session, another site's form gets 403
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /invalidateSession {
        shared_session_invalidate;
        shared_session_invalidate_methods POST;
        shared_session_invalidate_check_origin on;
    }
--- init
main::seed_all();
--- request eval
["POST /invalidateSession\nx=1", "POST /invalidateSession\nx=1",
 "POST /invalidateSession\nx=1", "GET /invalidateSession"]
--- more_headers eval
[main::cookie(1, 'Content-Type: application/x-www-form-urlencoded',
              'Sec-Fetch-Site: cross-site', 'Origin: https://evil.example'),
 main::cookie(2, 'Content-Type: application/x-www-form-urlencoded',
              'Origin: https://evil.example'),
 main::cookie(3, 'Content-Type: application/x-www-form-urlencoded',
              'Sec-Fetch-Site: same-origin', 'Origin: http://localhost'),
 main::cookie(4, 'Sec-Fetch-Site: same-origin')]
--- error_code eval
[403, 403, 302, 405]
--- response_body_filters eval
sub { main::ended() }
--- response_body eval
["ended: none\n", "ended: none\n", "ended: S3\n", "ended: S3\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: a cross-site request refused is logged at info, with what gave it away: Sec-Fetch-Site
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /invalidateSession {
        shared_session_invalidate;
        shared_session_invalidate_check_origin on;
    }
--- init
main::seed_all();
--- request
GET /invalidateSession
--- more_headers eval
main::cookie(1, 'Sec-Fetch-Site: cross-site')
--- error_code: 403
--- error_log eval
qr/\[info\].*shared session: invalidation refused: a cross-site request \(Sec-Fetch-Site: "cross-site"\)/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: a cross-site request refused is logged at info, with what gave it away: Origin and Host
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    location = /invalidateSession {
        shared_session_invalidate;
        shared_session_invalidate_check_origin on;
    }
--- init
main::seed_all();
--- request
GET /invalidateSession
--- more_headers eval
main::cookie(1, 'Origin: http://evil.example')
--- error_code: 403
--- error_log eval
qr/\[info\].*shared session: invalidation refused: Origin "http:\/\/evil\.example" is not Host "localhost"/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: refused requests do not contact Redis (nothing listens there): 405 and 403, never 503
--- config
    location = /invalidateSession {
        shared_session_invalidate;
        shared_session_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
        shared_session_invalidate_methods POST;
        shared_session_invalidate_check_origin on;
    }
--- request eval
["GET /invalidateSession", "POST /invalidateSession\nx=1"]
--- more_headers eval
[main::cookie(1), main::cookie(2, 'Sec-Fetch-Site: cross-site')]
--- error_code eval
[405, 403]
--- no_error_log
[error]
[alert]
[crit]
shared session: redis



=== TEST 11: both directives are inherited from http and server levels and overridden per location; shared_session itself keeps GET and HEAD
--- http_config
    shared_session_invalidate_methods POST;
--- config
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    shared_session_invalidate_check_origin on;
    location = /inherits {
        shared_session_invalidate;
    }
    location = /overrides {
        shared_session_invalidate;
        shared_session_invalidate_methods GET;
        shared_session_invalidate_check_origin off;
    }
    location = /a {
        shared_session;
        shared_session_host hostA;
    }
--- init
main::seed_all();
--- request eval
["GET /inherits", "POST /inherits\nx=1", "POST /inherits\nx=1",
 "GET /overrides", "POST /overrides\nx=1", "POST /a\nx=1"]
--- more_headers eval
[main::cookie(1), main::cookie(2, 'Sec-Fetch-Site: cross-site'),
 main::cookie(3, 'Sec-Fetch-Site: same-origin'),
 main::cookie(4, 'Sec-Fetch-Site: cross-site'),
 main::cookie(5), main::cookie(6)]
--- error_code eval
[405, 403, 302, 302, 405, 405]
--- response_headers eval
["Allow: POST", "", "", "", "Allow: GET, HEAD", "Allow: GET, HEAD"]
--- response_body_filters eval
sub { main::ended() }
--- response_body eval
["ended: none\n", "ended: none\n", "ended: S3\n", "ended: S3 S4\n",
 "ended: S3 S4\n", "ended: S3 S4\n"]
--- no_error_log
[error]
[alert]
[crit]
