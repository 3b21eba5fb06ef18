# A bad value in any directive must fail "nginx -t" with an [emerg] line
# naming the directive and the value (DESIGN.md section 2).
#
# A plain Test::More file rather than Test::Nginx "--- must_die" blocks:
# nginx reports configuration errors on stderr before it opens its
# error_log, and the real Test::Nginx does not capture stderr, so the message
# could not be checked there.  Each case is the known-good configuration
# below with one directive line added; the good configuration itself must
# pass, so every failure is caused by that one line.

use strict;
use warnings;

use File::Temp ();
use Test::More;

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = grep { length } split /\s+/, ($ENV{TEST_NGINX_LOAD_MODULES} // '');

my $dir = File::Temp::tempdir('ss-conf-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/logs";

# Every directive with a valid value, in its contexts.
my %good = (
    http => <<'EOT',
        shared_session_redis 127.0.0.1:6379;
        shared_session_redis_timeout 1s;
        shared_session_max_inactive_interval 30m;
        shared_session_cookie_secure auto;
        shared_session_serializer json;
        shared_session_expiration_store buckets;
EOT
    server => <<'EOT',
        shared_session_host $hostname;
        shared_session_namespace spring:session;
        shared_session_cookie_httponly on;
        shared_session_cookie_samesite Lax;
        shared_session_cookie_base64 on;
        shared_session_invalidate_methods GET POST;
        shared_session_invalidate_check_origin on;
        shared_session_repository indexed;
        shared_session_jdk_serial_version_uid -9223372036854775808;
EOT
    location => <<'EOT',
        shared_session_redis_password secret;
        shared_session_redis_username alice;
        shared_session_attribute scopedTarget.sampleSession;
        shared_session_attribute_class com.example.Session;
        shared_session_cookie_name SESSION;
        shared_session_cookie_path /;
        shared_session_cookie_domain example.com;
        shared_session_invalidate_redirect /index.html;
EOT
);

sub config_text {
    my (%extra) = @_;
    my %c = map { ($_, $good{$_} . ($extra{$_} // '')) } keys %good;
    my $load = join '', map { "load_module $_;\n" } @modules;
    return <<"EOT";
${load}error_log $dir/logs/error.log;
pid $dir/logs/nginx.pid;
events {
    worker_connections 16;
}
http {
    access_log off;
$c{http}
    server {
        listen 127.0.0.1:1;
$c{server}
        location = /s {
            shared_session;
$c{location}
        }
        location = /logout {
            shared_session_invalidate;
        }
    }
}
EOT
}

# Runs nginx -t; returns (wait status, stderr text).
sub nginx_t {
    my ($conf) = @_;
    open my $fh, '>', "$dir/nginx.conf" or die "$dir/nginx.conf: $!";
    print $fh $conf;
    close $fh;
    my $out = `timeout 30 $nginx -t -q -e stderr -p $dir/ -c $dir/nginx.conf 2>&1`;
    return ($?, $out);
}

sub status_text {
    my ($st) = @_;
    return $st & 127 ? 'killed by signal ' . ($st & 127) : 'exit ' . ($st >> 8);
}

my ($status, $out) = nginx_t(config_text());
is(status_text($status), 'exit 0', 'the reference configuration passes nginx -t')
    or diag($out);

# (shared_session_redis_database is checked on its own so that a problem
# with it does not hide everything else.)
for my $ctx (qw(http server location)) {
    my ($st, $text) = nginx_t(config_text(
        $ctx => "        shared_session_redis_database 3;\n"));
    is(status_text($st), 'exit 0',
       "shared_session_redis_database 3 at $ctx level passes nginx -t")
        or diag($text);
}

# [context, directive, value as written in the file, value as nginx prints it]
# The context is one where the reference configuration does not set the
# directive already (that would fail as "duplicate").
my @cases = (
    [ location => 'shared_session_redis_timeout', 'abc' ],
    [ server   => 'shared_session_redis_timeout', '10x' ],
    [ location => 'shared_session_redis_database', 'abc' ],
    [ server   => 'shared_session_redis_database', '-1' ],
    [ location => 'shared_session_redis', '127.0.0.1:notaport' ],
    [ location => 'shared_session_redis', '127.0.0.1:70000' ],
    [ location => 'shared_session_redis', 'unix:' ],
    [ location => 'shared_session_redis', 'no-such-host.invalid:6379' ],
    [ location => 'shared_session_max_inactive_interval', 'abc' ],
    [ server   => 'shared_session_max_inactive_interval', '-5m' ],
    [ location => 'shared_session_cookie_secure', 'maybe' ],
    [ location => 'shared_session_cookie_httponly', 'maybe' ],
    [ location => 'shared_session_cookie_samesite', 'Sometimes' ],
    [ http     => 'shared_session_cookie_samesite', 'lax-ish' ],
    [ location => 'shared_session_cookie_base64', 'yes' ],
    [ server   => 'shared_session_cookie_name', '"BAD;NAME"', 'BAD;NAME' ],
    [ http     => 'shared_session_cookie_name', '"BAD NAME"', 'BAD NAME' ],
    [ location => 'shared_session_redis_timeout', '0' ],
    [ location => 'shared_session_max_inactive_interval', '0' ],
    [ server   => 'shared_session_cookie_path', '"/a b"', '/a b' ],
    [ server   => 'shared_session_cookie_domain', '"a;b"', 'a;b' ],
    [ location => 'shared_session_namespace', '""' ],
    [ http     => 'shared_session_redis_password', 'env:SS_TEST_UNSET_VARIABLE' ],
    [ location => 'shared_session_invalidate_methods', 'PUT' ],
    [ location => 'shared_session_invalidate_methods', 'POST DELETE', 'DELETE' ],
    [ http     => 'shared_session_invalidate_methods', 'GET POST HEAD', 'HEAD' ],
    [ location => 'shared_session_invalidate_check_origin', 'maybe' ],
    [ location => 'shared_session_serializer', 'yaml' ],
    [ server   => 'shared_session_serializer', 'JDK' ],
    [ location => 'shared_session_repository', 'plain' ],
    [ location => 'shared_session_expiration_store', 'zset' ],
    [ location => 'shared_session_jdk_serial_version_uid', 'abc' ],
    [ location => 'shared_session_jdk_serial_version_uid', '""', '""' ],
    [ location => 'shared_session_jdk_serial_version_uid',
      '9223372036854775808' ],
    [ http     => 'shared_session_jdk_serial_version_uid',
      '-9223372036854775809' ],
    [ location => 'shared_session_jdk_serial_version_uid', '1e3' ],
);

for my $case (@cases) {
    my ($ctx, $directive, $written, $printed) = @$case;
    $printed //= $written;
    my ($st, $text) = nginx_t(config_text($ctx => "        $directive $written;\n"));
    my @emerg = grep { /\[emerg\]/ } split /\n/, $text;
    is(status_text($st), 'exit 1', "$directive $written: nginx -t fails");
    ok((grep { /"\Q$directive\E"/ && /\Q$printed\E/ } @emerg),
       "$directive $written: an [emerg] line names the directive and the value")
        or diag($text);
}

# A password is never printed, not even the one refused for a control
# character; an env: password is named by its variable, never by its value.
$ENV{SS_TEST_CONTROL_SECRET} = "env\tS3cret-v4lue";
for my $case ([ '"lit\tS3cret-l1teral"', 'S3cret-l1teral', undef ],
              [ 'env:SS_TEST_CONTROL_SECRET', 'S3cret-v4lue',
                'env:SS_TEST_CONTROL_SECRET' ])
{
    my ($written, $secret, $named) = @$case;
    ($status, $out) = nginx_t(config_text(
        http => "        shared_session_redis_password $written;\n"));
    is(status_text($status), 'exit 1',
       "shared_session_redis_password $written: nginx -t fails");
    like($out, qr/\[emerg\].*"shared_session_redis_password".*control/,
         '... naming the directive and the reason');
    unlike($out, qr/\Q$secret\E/, '... without the password') or diag($out);
    like($out, qr/\Q$named\E/, '... naming the variable') if $named;
}

# The image's configuration, with its limit_req and invalidation settings
# (README, Security), passes as it is, but for the module's path.
{
    open my $fh, '<', 'conf/nginx.conf.example' or die "nginx.conf.example: $!";
    my $example = do { local $/; <$fh> };
    close $fh;
    my $load = join '', map { "load_module $_;\n" } @modules;
    $example =~ s/^load_module [^;]*;\n/$load/m;
    like($example, qr/^\s*limit_req zone=sessions /m,
         'nginx.conf.example limits the session endpoint');
    like($example, qr/^\s*shared_session_invalidate_methods POST;/m,
         'nginx.conf.example invalidates by POST');
    local $ENV{REDIS_CLUSTER_ENDPOINT} = '127.0.0.1';
    ($status, $out) = nginx_t($example);
    is(status_text($status), 'exit 0', 'conf/nginx.conf.example passes nginx -t')
        or diag($out);
}

# The default repository keeps no expirations: a sorted set for it is an
# error, named with both directives.
($status, $out) = nginx_t(config_text(
    location => "        shared_session_repository default;\n"
                . "        shared_session_expiration_store sorted_set;\n"));
is(status_text($status), 'exit 1',
   'shared_session_expiration_store sorted_set with the default repository '
   . 'fails');
like($out, qr/\[emerg\].*"shared_session_expiration_store sorted_set" requires "shared_session_repository indexed"/,
     '... naming both directives') or diag($out);

# Spring keeps maxInactiveInterval in a java.lang.Integer.
($status, $out) = nginx_t(config_text(
    location => "        shared_session_max_inactive_interval 2147483648s;\n"));
is(status_text($status), 'exit 1',
   'shared_session_max_inactive_interval past 2^31 - 1 seconds fails');
like($out, qr/\[emerg\].*"shared_session_max_inactive_interval" 2147483648: must be at most 2147483647/,
     '... naming the directive and the value') or diag($out);
($status, $out) = nginx_t(config_text(
    location => "        shared_session_max_inactive_interval 2147483647s;\n"));
is(status_text($status), 'exit 0', '... and 2147483647 seconds passes')
    or diag($out);

# Handlers take no argument and belong in a location.
($status, $out) = nginx_t(config_text(
    server => "        location = /x {\n            shared_session on;\n        }\n"));
is(status_text($status), 'exit 1', 'shared_session with an argument fails');
like($out, qr/\[emerg\].*"shared_session"/, '... naming the directive');

($status, $out) = nginx_t(config_text(server => "        shared_session_invalidate;\n"));
is(status_text($status), 'exit 1',
   'shared_session_invalidate at server level fails');
like($out, qr/\[emerg\].*"shared_session_invalidate"/, '... naming the directive');

done_testing();
