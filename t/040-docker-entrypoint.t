# The image's entrypoint (scripts/docker-entrypoint.sh, issue 10 part 4):
# it writes nginx's "resolver" from the container's resolv.conf into the
# snippet that conf/nginx.conf.example includes at http level, so that the
# module resolves the Redis name (REDIS_CLUSTER_ENDPOINT) on every reconnect
# and an ElastiCache failover is followed without a reload.
#
# Without Docker: the script runs with /bin/sh (dash, as in
# debian:bookworm-slim) against sample resolv.conf files
# (SHARED_SESSION_RESOLV_CONF) and writes into a temporary folder
# (SHARED_SESSION_RESOLVER_FILE); the written line is compared, then the
# real conf/nginx.conf.example, with its paths moved into that folder, must
# pass "nginx -t" with the module loaded, and "nginx -T" must show the
# resolver.  A name that does not resolve (a label of 64 characters, which
# the C library refuses without asking any server) proves that the module
# defers it to the resolver: "nginx -t" passes with the resolver and fails
# without one.
#
# Last, the image's configuration runs: nginx started on the example, with
# the resolver the entrypoint wrote (SHARED_SESSION_RESOLVER pointing at
# the test DNS server of t/inc/DnsTest.pm, since resolv.conf cannot name a
# port), serves a session from the private Redis of scripts/test.sh
# through a name, and follows that name when it moves while the
# connection is lost (a failover), then back.
#
# Plain Test::More: runs the same under t/lib's driver and the real
# Test::Nginx.  Uses TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES as
# scripts/test.sh sets them.

use strict;
use warnings;

use lib 't/inc';

use Cwd ();
use File::Basename ();
use File::Path ();
use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Test::More;
use Time::HiRes ();

use DnsTest;
use SharedSessionTest;

my $top = Cwd::abs_path(File::Basename::dirname(__FILE__) . '/..');
my $script = "$top/scripts/docker-entrypoint.sh";
my $example = "$top/conf/nginx.conf.example";
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES}
                          // "$top/build/ngx_http_shared_session_module.so");

# the caller's settings must not leak into the cases
delete $ENV{$_} for grep { /^SHARED_SESSION_/ } keys %ENV;

my $tmp = File::Temp::tempdir('shared-session-entrypoint-XXXXXX',
                              TMPDIR => 1, CLEANUP => 1);
my $case = 0;

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return undef;
    local $/;
    return scalar <$fh>;
}

sub spew {
    my ($file, $text) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh or die "$file: $!";
}

# runs @cmd with %env added, stdout and stderr to files; returns
# (exit code, stdout, stderr)
sub run {
    my ($env, @cmd) = @_;
    my ($out, $err) = ("$tmp/stdout", "$tmp/stderr");
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        @ENV{keys %$env} = values %$env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        exec @cmd or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $rc = $? & 127 ? 128 + ($? & 127) : $? >> 8;
    return ($rc, slurp($out), slurp($err));
}

# runs the entrypoint in a new folder of its own: resolv.conf there holds
# $resolv (none when undef); returns a hash of what happened
sub entrypoint {
    my (%o) = @_;
    my $dir = "$tmp/" . ++$case;
    mkdir $dir or die "$dir: $!";
    spew("$dir/resolv.conf", $o{resolv}) if defined $o{resolv};
    my $file = $o{file} // "$dir/conf.d/resolver.conf";
    my ($rc, $out, $err) = run({
        SHARED_SESSION_RESOLV_CONF   => "$dir/resolv.conf",
        SHARED_SESSION_RESOLVER_FILE => $file,
        %{ $o{env} // {} },
    }, '/bin/sh', $script, @{ $o{args} // [] });
    my $conf = slurp($file);
    my @lines = grep { !/^\s*(#|$)/ } split /\n/, $conf // '';
    return { rc => $rc, out => $out, err => $err, dir => $dir,
             file => $file, conf => $conf, lines => \@lines };
}

# conf/nginx.conf.example, its paths moved into $dir; returns its path.
# With $port, for running: it listens on 127.0.0.1:$port, logs to
# $dir/error.log at info, has one worker, and runs it as root when run as
# root (as Test::Nginx does: the temporary folder is private)
sub example_conf {
    my ($dir, $port) = @_;
    my $conf = slurp($example) // die "$example: $!";
    my $load = join '', map { "load_module $_;\n" } @modules;
    $conf =~ s{^load_module [^\n]*;\n}{$load}m
        or die "no load_module in $example";
    $conf =~ s{^pid [^\n]*;}{pid $dir/nginx.pid;}m;
    # the include of the snippet (absent from an old example: then the
    # resolver is missing, which the cases below see)
    $conf =~ s{include /etc/nginx/conf\.d/}{include $dir/conf.d/}g;
    # Debian's nginx keeps its temporary files in /var/lib/nginx, which an
    # ordinary user cannot create
    my $temp = join '', map { "    ${_}_temp_path $dir/$_;\n" }
                            qw(client_body proxy fastcgi uwsgi scgi);
    $conf =~ s/^http \{\n/http {\n$temp/m or die "no http in $example";
    if ($port) {
        $conf =~ s{^(\s*listen) 80\b}{$1 127.0.0.1:$port}m
            or die "no listen 80 in $example";
        $conf =~ s{^user [^\n]*;\n}{$> == 0 ? "user root;\n" : ''}me;
        $conf =~ s{^worker_processes [^\n]*;}{worker_processes 1;}m;
        $conf =~ s{^error_log [^\n]*;}{error_log $dir/error.log info;}m;
        $conf =~ s{^(\s*access_log) /dev/stdout;}{$1 $dir/access.log;}m;
    }
    spew("$dir/nginx.conf", $conf);
    return "$dir/nginx.conf";
}

# nginx -t (or -T) on the example in $dir, with $endpoint as
# REDIS_CLUSTER_ENDPOINT; returns (exit code, output)
sub nginx_test {
    my ($dir, $flag, $endpoint) = @_;
    my $conf = example_conf($dir);
    my ($rc, $out, $err) = run({ REDIS_CLUSTER_ENDPOINT => $endpoint,
                                 REDIS_CLUSTER_PORT => 6379 },
                               $nginx, $flag, '-p', "$dir/", '-c', $conf);
    return ($rc, ($out // '') . ($err // ''));
}

# a name that no resolver, nginx's or the C library's, will give an address
# for: the C library refuses a label longer than 63 characters at once,
# without asking a server, so nginx -t never waits for DNS
my $unresolvable = ('a' x 64) . '.shared-session.invalid';

# checks the resolver that the entrypoint wrote in $r: the line (or its
# absence), nginx -t and -T with the real example configuration, and that
# the Redis name is (or is not) left to the resolver
sub check_nginx {
    my ($name, $r, $line) = @_;

    my ($rc, $out) = nginx_test($r->{dir}, '-T', '127.0.0.1');
    is($rc, 0, "$name: nginx -t with the example configuration")
        or diag($out);
    my @seen = $out =~ /^\s*(resolver\s[^\n]*;)/mg;
    is_deeply(\@seen, $line ? [$line] : [],
              "$name: nginx -T shows " . ($line ? "\"$line\"" : 'no resolver'));

    ($rc, $out) = nginx_test($r->{dir}, '-t', $unresolvable);
    if ($line) {
        is($rc, 0, "$name: the Redis name is left to the resolver")
            or diag($out);
    } else {
        isnt($rc, 0, "$name: the Redis name is resolved at start");
        like($out, qr/host not found in redis address/,
             "$name: nginx -t says why");
    }
}

# one case: the entrypoint succeeds and writes $line (undef: no resolver)
sub writes {
    my ($name, $line, %o) = @_;
    my $r = entrypoint(%o);
    is($r->{rc}, 0, "$name: exit code") or diag($r->{err});
    ok(defined $r->{conf}, "$name: $r->{file} written");
    is_deeply($r->{lines}, $line ? [$line] : [],
              "$name: " . ($line ? "\"$line\"" : 'no resolver'));
    like($r->{err}, $line ? qr/\Q$line\E/ : qr/no resolver/,
         "$name: the log says what was written");
    check_nginx($name, $r, $line) unless $o{no_nginx};
    return $r;
}

# one case: the entrypoint refuses (exit code 1, a message), writes nothing
# and does not run the command
sub refuses {
    my ($name, $message, %o) = @_;
    my $r = entrypoint(%o, args => ['/bin/echo', 'ran']);
    is($r->{rc}, 1, "$name: exit code 1");
    like($r->{err}, $message, "$name: message");
    ok(!defined $r->{conf}, "$name: nothing written");
    is($r->{out}, '', "$name: the command did not run");
}


plan skip_all => "no $nginx" unless -x $nginx;

############################################################################
# The script and the image agree

{
    my $head = slurp($script) // '';
    like($head, qr{\A#!/bin/sh\n}, 'the entrypoint is a /bin/sh script');
    ok(-x $script, 'the entrypoint is executable (Docker runs it as is)');

    # the default output is what the example includes
    my ($default) = $head =~ /SHARED_SESSION_RESOLVER_FILE:-([^}]+)\}/;
    ok($default, 'the entrypoint has a default output file');
    my $conf = slurp($example);
    my ($include) = $conf =~ /^    include (\/etc\/nginx\/conf\.d\/[^;]*);/m;
    ok($include, 'conf/nginx.conf.example includes /etc/nginx/conf.d/ at'
                 . ' http level');
    my $glob = $include // '';
    $glob =~ s/([.])/\\$1/g;
    $glob =~ s/\*/[^\/]*/g;
    like($default // '', qr/^$glob$/,
         "the entrypoint's default ($default) is in that include");

    # the image runs the script as its entrypoint
    my $docker = slurp("$top/Dockerfile");
    my ($entry) = $docker =~ /^ENTRYPOINT \["([^"]+)"\]/m;
    ok($entry, 'the Dockerfile has an ENTRYPOINT');
    like($docker, qr{^COPY scripts/docker-entrypoint\.sh \Q$entry\E$}m,
         'the Dockerfile copies scripts/docker-entrypoint.sh there');
    like(slurp("$top/.dockerignore"), qr{^!scripts/docker-entrypoint\.sh$}m,
         '.dockerignore lets it into the build context');
}

############################################################################
# resolv.conf as containers have it

# ECS awsvpc (Fargate): the VPC's resolver
writes('one nameserver', 'resolver 10.0.0.2 valid=5s;',
       resolv => "nameserver 10.0.0.2\n");

# Docker's embedded DNS on a user-defined network
writes('Docker embedded DNS', 'resolver 127.0.0.11 valid=5s;',
       resolv => "# Generated by Docker Engine.\nnameserver 127.0.0.11\n"
                 . "search .\noptions edns0 trust-ad ndots:0\n");

writes('several, with comments and options',
       'resolver 10.0.0.2 169.254.169.253 valid=5s;',
       resolv => <<'EOF');
# comment
; another kind of comment
#nameserver 8.8.8.8
;nameserver 8.8.4.4
domain ap-northeast-1.compute.internal
search ap-northeast-1.compute.internal
options timeout:2 attempts:5 ndots:1
nameserver 10.0.0.2
   nameserver	169.254.169.253    # a trailing comment
EOF

# as the C library does, the first three only
{
    my $r = writes('more than three', 'resolver 10.0.0.2 10.0.0.3 10.0.0.4'
                                      . ' valid=5s;',
                   resolv => join '', map { "nameserver 10.0.0.$_\n" } 2 .. 5);
    like($r->{err}, qr/nameserver 10\.0\.0\.5 skipped/,
         'more than three: the fourth is named as skipped');
}

writes('IPv6, in brackets', 'resolver [fd00:ec2::253] 10.0.0.2'
                            . ' [2001:db8::53] valid=5s;',
       resolv => "nameserver fd00:ec2::253\nnameserver 10.0.0.2\n"
                 . "nameserver 2001:db8::53\n");

# nginx has no syntax for an IPv6 zone: such a server is skipped, and so is
# a line that is not an address; neither counts towards the three
{
    my $r = writes('a zone, a name', 'resolver 10.0.0.2 [::1] 10.0.0.3'
                                     . ' valid=5s;',
                   resolv => "nameserver fe80::1%eth0\nnameserver 10.0.0.2\n"
                             . "nameserver dns.example\nnameserver ::1\n"
                             . "nameserver 10.0.0.3\n");
    like($r->{err}, qr/fe80::1%eth0 skipped/, 'a zone: named as skipped');
    like($r->{err}, qr/"dns\.example" skipped/, 'a name: named as skipped');
}

# no nameserver: the name is resolved once, at start, as before; a warning
for my $c (['no nameserver', "search example.com\noptions ndots:2\n"],
           ['empty resolv.conf', ''],
           ['no resolv.conf', undef])
{
    my $r = writes($c->[0], undef, resolv => $c->[1]);
    like($r->{err}, qr/warning: .*no resolver/, "$c->[0]: a warning");
}

############################################################################
# The settings

writes('SHARED_SESSION_RESOLVER_VALID', 'resolver 10.0.0.2 valid=30s;',
       resolv => "nameserver 10.0.0.2\n",
       env => { SHARED_SESSION_RESOLVER_VALID => '30s' });

writes('SHARED_SESSION_RESOLVER_VALID in minutes',
       'resolver 10.0.0.2 valid=1m;', no_nginx => 1,
       resolv => "nameserver 10.0.0.2\n",
       env => { SHARED_SESSION_RESOLVER_VALID => '1m' });

writes('SHARED_SESSION_RESOLVER: explicit servers, resolv.conf not read',
       'resolver 10.1.2.3 [fd00::53] [fd00::54]:5353 10.1.2.4:53 ipv6=off'
       . ' valid=10s;',
       resolv => "nameserver 10.0.0.2\n",
       env => { SHARED_SESSION_RESOLVER
                    => ' 10.1.2.3  fd00::53 [fd00::54]:5353 10.1.2.4:53'
                       . ' ipv6=off ',
                SHARED_SESSION_RESOLVER_VALID => '10s' });

{
    my $r = writes('SHARED_SESSION_RESOLVER=off', undef,
                   resolv => "nameserver 10.0.0.2\n",
                   env => { SHARED_SESSION_RESOLVER => 'off' });
    unlike($r->{err}, qr/warning/, 'off: no warning');
}

for my $v ('5 s', 'abc', '5ms', 's', "5s;\nresolver 1.2.3.4", '-1') {
    (my $shown = $v) =~ s/\n/\\n/g;
    refuses("SHARED_SESSION_RESOLVER_VALID=\"$shown\"",
            qr/SHARED_SESSION_RESOLVER_VALID=.*not a time/s,
            resolv => "nameserver 10.0.0.2\n",
            env => { SHARED_SESSION_RESOLVER_VALID => $v });
}

for my $v ('10.0.0.2; include /etc/passwd', "10.0.0.2\n", '10.0.0.2 {',
           '$foo')
{
    (my $shown = $v) =~ s/\n/\\n/g;
    refuses("SHARED_SESSION_RESOLVER=\"$shown\"", qr/only addresses/,
            resolv => "nameserver 10.0.0.2\n",
            env => { SHARED_SESSION_RESOLVER => $v });
}

refuses('SHARED_SESSION_RESOLVER without an address', qr/no address/,
        resolv => "nameserver 10.0.0.2\n",
        env => { SHARED_SESSION_RESOLVER => 'ipv6=off valid=1s' });

############################################################################
# Running the command

{
    my $r = entrypoint(resolv => "nameserver 10.0.0.2\n",
                       args => ['/bin/sh', '-c',
                                'cat "$0"; echo "ran $*"; exit 7',
                                "$tmp/" . ($case + 1) . '/conf.d/resolver.conf',
                                'a', 'b c']);
    is($r->{rc}, 7, 'the command runs in its place (its exit code)');
    like($r->{out}, qr/^resolver 10\.0\.0\.2 valid=5s;\n.*^ran a b c$/ms,
         'the command runs after the file is written, with its arguments');
}

# a container that restarts writes the file again, in one piece
{
    my $dir = "$tmp/restart";
    File::Path::make_path("$dir/conf.d");
    spew("$dir/conf.d/resolver.conf", "resolver 192.0.2.1 valid=5s;\n");
    my $r = entrypoint(resolv => "nameserver 10.0.0.9\n",
                       file => "$dir/conf.d/resolver.conf");
    is_deeply($r->{lines}, ['resolver 10.0.0.9 valid=5s;'],
              'a restart replaces the old resolver');
    opendir my $dh, "$dir/conf.d" or die "$dir/conf.d: $!";
    is_deeply([sort grep { !/^\./ } readdir $dh], ['resolver.conf'],
              'a restart leaves no temporary file behind');
}

{
    my $file = "$tmp/a-file";
    spew($file, '');
    my $r = entrypoint(resolv => "nameserver 10.0.0.2\n",
                       file => "$file/resolver.conf",
                       args => ['/bin/echo', 'ran']);
    is($r->{rc}, 1, 'an output file that cannot be written: exit code 1');
    like($r->{err}, qr/cannot create .*a-file/,
         'an output file that cannot be written: message');
    is($r->{out}, '',
       'an output file that cannot be written: the command did not run');
}

############################################################################
# The image's configuration running: the name followed through the resolver

# GET $path from 127.0.0.1:$port; returns the status (0: no answer in 5 s)
sub http_get {
    my ($port, $path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 2)
        or return 0;
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
    my ($buf, $sel) = ('', IO::Select->new($s));
    my $deadline = Time::HiRes::time() + 5;
    while (Time::HiRes::time() < $deadline && $sel->can_read(0.5)) {
        my $n = sysread $s, $buf, 65536, length $buf;
        last unless $n;
    }
    close $s;
    return $buf =~ m{\AHTTP/1\.\d (\d{3})} ? $1 : 0;
}

# GET until $want comes or $seconds pass; returns the last status
sub http_until {
    my ($port, $want, $seconds) = @_;
    my $deadline = Time::HiRes::time() + $seconds;
    my $status;
    do {
        $status = http_get($port, '/1');
        return $status if $status == $want;
        Time::HiRes::sleep(0.1);
    } while (Time::HiRes::time() < $deadline);
    return $status;
}

SKIP: {
    my $redis_port = $ENV{TEST_NGINX_REDIS_PORT};
    skip 'no TEST_NGINX_REDIS_PORT on 127.0.0.1 (scripts/test.sh sets it)', 1
        unless $redis_port
               && ($ENV{TEST_NGINX_REDIS_HOST} // '127.0.0.1') eq '127.0.0.1';

    my $name = 'redis.image.test';
    # a long TTL: only valid= makes nginx ask again soon
    my $dns = DnsTest->start(ttl => 300, records => { $name => '127.0.0.1' });
    my $r = entrypoint(env => { SHARED_SESSION_RESOLVER => $dns->address,
                                SHARED_SESSION_RESOLVER_VALID => '1s' });
    my $line = 'resolver ' . $dns->address . ' valid=1s;';
    is_deeply($r->{lines}, [$line], "running: \"$line\"");

    my $port = $ENV{TEST_NGINX_PORT} || 1984;
    ok(!SharedSessionTest::port_in_use($port),
       "running: 127.0.0.1:$port is free before nginx starts");
    my $dir = $r->{dir};
    my $conf = example_conf($dir, $port);
    # an nginx built from source opens <prefix>/logs/error.log before it
    # reads the configuration
    mkdir "$dir/logs";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $ENV{REDIS_CLUSTER_ENDPOINT} = $name;
        $ENV{REDIS_CLUSTER_PORT} = $redis_port;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/stdout" or POSIX::_exit(126);
        open STDERR, '>', "$dir/stderr" or POSIX::_exit(126);
        exec $nginx, '-p', "$dir/", '-c', $conf, '-g', 'daemon off;'
            or POSIX::_exit(127);
    }
    my $log = sub { (slurp("$dir/error.log") // '') . (slurp("$dir/stderr") // '') };

    my $up = 0;
    for (1 .. 50) {
        last if waitpid($pid, POSIX::WNOHANG()) == $pid;
        $up = SharedSessionTest::port_in_use($port) and last;
        Time::HiRes::sleep(0.1);
    }
    ok($up, "running: nginx listens on 127.0.0.1:$port") or diag($log->());

    SKIP: {
        skip 'nginx did not start', 7 unless $up;

        is(http_get($port, '/1'), 200,
           "running: a session through $name (resolved by the resolver)");
        like($log->(), qr/redis \Q$name:$redis_port\E resolved to 127\.0\.0\.1:/,
             'running: the module resolved the name with the resolver');
        ok($dns->queries($name, 'A') >= 1, 'running: the DNS server was asked');

        # a failover: the name moves (nothing listens on 127.0.0.2), and
        # the old primary keeps dropping the connection; each reconnect
        # resolves the name again, the new address once nginx's cached
        # answer is older than valid=1s (+ 1 s: nginx counts whole seconds)
        $dns->set($name => '127.0.0.2');
        my $t0 = Time::HiRes::time();
        my $moved = 0;
        while (!$moved && Time::HiRes::time() < $t0 + 6) {
            SharedSessionTest::redis_cmd('CLIENT', 'KILL', 'TYPE', 'normal');
            http_get($port, '/1');
            $moved = $log->() =~ /resolved to 127\.0\.0\.2:/;
            Time::HiRes::sleep(0.1) unless $moved;
        }
        ok($moved, 'running: the moved name is followed on a reconnect');
        my $took = Time::HiRes::time() - $t0;
        # up to 2 s of cache, and the reconnects' back-off
        ok($took < 4, sprintf 'running: within valid=1s + 1 s, not the TTL'
                              . ' of 300 s (%.1f s)', $took);

        # and back: the sessions are served again
        $dns->set($name => '127.0.0.1');
        is(http_until($port, 200, 8), 200,
           'running: served again once the name is back');
        unlike($log->(), qr/\[(?:alert|crit|emerg)\]|exited on signal/,
               'running: no alert, crit, emerg or crash in the log');
    }

    if (waitpid($pid, POSIX::WNOHANG()) == 0) {
        SharedSessionTest::stop_pid($pid);
    }
    $dns->stop;
}

done_testing();
