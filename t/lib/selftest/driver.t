# Self-test of the t/lib stand-in for Test::Nginx::Socket (t/lib/README.md).
# Only stock nginx features are used.  It is skipped when the real
# Test::Nginx is the one loaded (the last checks are about this driver).
#
#   prove -I t/lib t/lib/selftest/
#   TEST_NGINX_USE_VALGRIND=1 prove -I t/lib t/lib/selftest/
#   TEST_NGINX_USE_HUP=1 prove -I t/lib t/lib/selftest/

use Test::Nginx::Socket;

if ($INC{'Test/Nginx/Socket.pm'} !~ m{(?:^|/)t/lib/Test/Nginx/Socket\.pm\z}) {
    plan skip_all => 'self-test of the t/lib Test::Nginx stand-in';
}

repeat_each(2);

# per repeat: 10 + 3 + 2 + 6 + 9 + 2 + 3 + 9 + 3 + 4 + 1 + 4 + 2 + 3 + 2
# at the end: 1 shutdown_error_log test and 2 driver checks
plan tests => repeat_each() * 63 + 1 + 2;

env_to_nginx('SELFTEST_ENV=1');

our %Pid;

sub record_pid {
    my $key = shift;
    $Pid{$key} = Test::Nginx::Util::get_pid_from_pidfile($key);
}

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->request && !defined $block->raw_request
        && !defined $block->pipelined_requests)
    {
        $block->set_value("request", "GET /t\n");
    }
});

run_tests();

# driver-specific: nginx is kept while nginx.conf does not change, and is
# restarted (or reloaded with HUP, same master) when it does
SKIP: {
    skip "TEST_NGINX_FORCE_RESTART_ON_TEST is set", 1
        if $Test::Nginx::Util::ForceRestartOnTest;
    is($Pid{t3}, $Pid{t1}, "selftest - nginx kept while nginx.conf is unchanged");
}
if ($Test::Nginx::Util::UseHup) {
    is($Pid{t4}, $Pid{t3}, "selftest - HUP reload keeps the master process");
} else {
    isnt($Pid{t4}, $Pid{t3}, "selftest - nginx restarted for a new nginx.conf");
}

__DATA__

=== TEST 1: return, add_header, repeated and absent headers
--- init
main::record_pid('t1');
--- config
    location = /t {
        add_header X-Foo bar;
        add_header Set-Cookie a=1;
        add_header Set-Cookie b=2;
        return 200 "hello\n";
    }
--- response_body
hello
--- response_headers
X-Foo: bar
Set-Cookie: a=1, b=2
Content-Type: text/plain
!X-Missing
--- raw_response_headers_like: ^HTTP/1\.1 200 OK\r\n
--- raw_response_headers_unlike: Transfer-Encoding
--- no_error_log
[error]
[alert]



=== TEST 2: no config section: same nginx; body filters
--- response_headers_like
X-Foo: b.r
--- response_body_filters
uc
--- response_body_like: ^HELLO$



=== TEST 3: same nginx.conf again; filter list with a code ref
--- init
main::record_pid('t3');
--- config
    location = /t {
        add_header X-Foo bar;
        add_header Set-Cookie a=1;
        add_header Set-Cookie b=2;
        return 200 "hello\n";
    }
--- response_body_filters eval
[sub { my $s = shift; $s =~ s/l/L/g; $s }, 'length']
--- response_body: 6



=== TEST 4: new config; error log of a missing file; grep_error_log
--- init
main::record_pid('t4');
--- config
    location /files/ {
        root html;
        log_not_found on;
    }
--- request
GET /files/missing.txt
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log eval
["(2: No such file or directory)", qr/open\(\) "[^"]*missing\.txt" failed/]
--- grep_error_log chop
No such file or directory
--- grep_error_log_out
No such file or directory
--- no_error_log
[alert]



=== TEST 5: several requests, user_files, more_headers per request
--- config
    location /files/ {
        root html;
    }
    location = /echo {
        return 200 "foo=$http_x_foo bar=$http_x_bar host=$host conn=$http_connection\n";
    }
--- user_files
>>> files/a.txt
file A
>>> files/sub/b.txt
file B
--- request eval
["GET /files/a.txt", "GET /files/sub/b.txt", "GET /echo"]
--- more_headers eval
["", "X-Foo: ignored", "X-Foo: bar\n# a comment line\nX-Bar: 1"]
--- error_code eval
[200, 200, 200]
--- response_body eval
["file A\n", "file B\n", "foo=bar bar=1 host=localhost conn=close\n"]
--- no_error_log
[error]



=== TEST 6: comments before the request line; body gets Content-Length
--- config
    location = /t {
        return 200 "len=$content_length method=$request_method uri=$uri args=$args\n";
    }
--- request
# a comment before the request line
    POST /t?a=1
  hello world  
--- response_body
len=11 method=POST uri=/t args=a=1



=== TEST 7: raw_request sent in packets, HTTP/1.0
--- raw_request eval
["GET /t HTTP/1.0\r\n", "Host: localhost\r\n", "\r\n"]
--- raw_request_middle_delay: 0.005
--- response_body
len= method=GET uri=/t args=
--- raw_response_headers_like: ^HTTP/1\.1 200 OK\r\n



=== TEST 8: chunked, close-delimited and HEAD responses
--- config
    location /files/ {
        root html;
        sub_filter 'world' 'nginx';
        sub_filter_once off;
        sub_filter_types text/plain;
    }
--- user_files
>>> files/w.txt
hello world, world
--- request eval
["GET /files/w.txt", "GET /files/w.txt HTTP/1.0", "HEAD /files/w.txt"]
--- response_headers eval
["Transfer-Encoding: chunked", "!Transfer-Encoding", "!Content-Length"]
--- response_body eval
["hello nginx, nginx\n", "hello nginx, nginx\n", ""]



=== TEST 9: $TEST_NGINX_* variables in config, $ServerPort in expected values
--- config
    location = /t {
        add_header X-Port $TEST_NGINX_SERVER_PORT;
        return 200 "port=$server_port\n";
    }
--- response_headers
X-Port: $ServerPort
--- response_body
port=$ServerPort



=== TEST 10: embedded TCP server as an upstream
--- config
    location = /up {
        proxy_pass http://127.0.0.1:19841;
    }
--- request
GET /up
--- tcp_listen: 19841
--- tcp_query eval
"GET /up HTTP/1.0\r\nHost: 127.0.0.1:19841\r\nConnection: close\r\n\r\n"
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nX-Up: yes\r\n\r\nfrom upstream"
--- response_headers
X-Up: yes
--- response_body: from upstream



=== TEST 11: a client timeout with --- abort is not a failure
--- request
GET /up
--- tcp_listen: 19841
--- tcp_reply:
--- tcp_no_close
--- timeout: 200ms
--- abort
--- ignore_response
--- no_error_log
[alert]



=== TEST 12: pipelined requests
--- config
    location = /t {
        return 200 "uri=$request_uri\n";
    }
--- pipelined_requests eval
["GET /t", "GET /t?a=2"]
--- response_body eval
["uri=/t\n", "uri=/t?a=2\n"]



=== TEST 13: skip_nginx
--- skip_nginx: 2: > 0.1.0
--- config
    location = /t {
        return 500;
    }
--- response_body
never checked



=== TEST 14: skipped with SKIP
--- SKIP
--- config
    location = /t {
        return 500;
    }
--- response_body
never checked



=== TEST 15: must_die
--- config
    location = /t {
        bogus_directive_xyz on;
    }
--- must_die
--- error_log eval
["[emerg]", 'unknown directive "bogus_directive_xyz"']



=== TEST 16: shutdown_error_log (checked when nginx stops at the end)
--- config
    location = /t {
        return 200 "bye\n";
    }
--- response_body
bye
--- shutdown_error_log
exit
