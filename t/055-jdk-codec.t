# The Java serialization codec (src/ngx_http_shared_session_jdk.c) against
# the bytes Java 17 itself writes (fuzz/corpus/fuzz_jdk/golden-*, listed in
# fuzz/jdk/golden.txt):
#
#   - fuzz/jdk/check.c, built here with nginx's headers and the codec alone
#     (under ASan and UBSan when the compiler has them): decode(Java's
#     bytes) == the value, encode(value) == Java's bytes, no prefix decodes;
#   - with a JDK (javac; Debian: openjdk-17-jdk-headless), the committed
#     golden files are written again by fuzz/jdk/golden.sh and must be the
#     same bytes, so they are Java's and not ours; skipped without one;
#   - the Lua of NGX_HTTP_SHARED_SESSION_JDK_LUA, run by the test Redis
#     (EVAL), reads every golden Long and Integer (nil beyond +-2^53) and
#     nothing else.
#
# Plain Test::More: no nginx is started.

use strict;
use warnings;

use File::Basename ();
use File::Temp ();
use Test::More;

use lib 't/inc';
use SharedSessionTest;

my $top = File::Basename::dirname(__FILE__) . '/..';
my $golden = "$top/fuzz/corpus/fuzz_jdk";
my $manifest = "$top/fuzz/jdk/golden.txt";
my $build = $ENV{BUILD_DIR} // "$top/build";
my $work = File::Temp::tempdir(CLEANUP => 1);

sub slurp {
    my ($path) = @_;
    open my $f, '<:raw', $path or die "$path: $!\n";
    local $/;
    return scalar <$f>;
}

# file => [kind, args]
my %cases;
my @order;
for (split /\n/, slurp($manifest)) {
    my ($file, $kind, $args) = split / /, $_, 3;
    $cases{$file} = [$kind, $args];
    push @order, $file;
}

cmp_ok(scalar @order, '>=', 50, 'the manifest lists the golden files');

############################################################################
# the checker

# nginx's configured tree that scripts/build.sh leaves (headers and
# objs/ngx_auto_config.h); Debian's nginx-dev first, then NGINX_SRC's
my ($tree) = grep { -f "$_/objs/ngx_auto_config.h" }
             "$build/nginx-dev", sort glob("$build/nginx-*");

my $check = "$work/check";

SKIP: {
    skip "no configured nginx tree in $build (scripts/build.sh makes it;"
         . " scripts/test.sh runs it first)", 1 unless $tree;

    my @inc = map { ('-I', "$tree/$_") }
              qw(src/core src/event src/event/modules src/os/unix objs);
    my @cc = ('cc', '-g', '-O1', '-Wall', '-Wextra', '-Werror', @inc,
              '-I', "$top/src", '-o', $check, "$top/fuzz/jdk/check.c",
              "$top/src/ngx_http_shared_session_jdk.c");
    my @san = ('-fsanitize=address,undefined', '-fno-omit-frame-pointer',
               '-fno-sanitize-recover=all');

    my $log = "$work/cc.log";
    my $built = system("@cc @san > $log 2>&1") == 0;
    if (!$built) {
        diag('no sanitizers: ' . slurp($log));
        $built = system("@cc > $log 2>&1") == 0;
    }

    ok($built, 'fuzz/jdk/check.c builds with the codec alone')
        or diag(slurp($log));
}

sub run_check {
    my ($what, $dir) = @_;
    local $ENV{ASAN_OPTIONS} = 'detect_leaks=0:abort_on_error=0';
    my @out = `$check $manifest $dir 2>&1`;
    my $rc = $?;
    my %seen;
    for (@out) {
        if (/^(not )?ok - (\S+) (\S+)(?:: (.*))?$/) {
            $seen{$2} = 1;
            ok(!$1, "$what: $2 ($3)") or diag($4);
        }
    }
    is($rc, 0, "$what: the checker exits 0") or diag(@out);
    is(scalar(keys %seen), scalar(@order), "$what: every file checked");
}

SKIP: {
    skip 'the checker was not built', 3 unless -x $check;
    run_check('golden', $golden);
}

############################################################################
# the committed files are Java's

SKIP: {
    my $javac = grep { -x "$_/javac" } split /:/, $ENV{PATH} // '';
    skip 'no javac: the committed golden files are not re-made here'
         . ' (Debian: openjdk-17-jdk-headless)', 2 unless $javac;

    my $dir = "$work/java";
    my $out = `$top/fuzz/jdk/golden.sh $dir $work/golden.txt 2>&1`;
    is($?, 0, 'fuzz/jdk/golden.sh runs') or diag($out);

    my @diff;
    push @diff, 'golden.txt' if slurp("$work/golden.txt") ne slurp($manifest);
    for my $f (@order) {
        push @diff, $f
            if !-f "$dir/$f" || slurp("$dir/$f") ne slurp("$golden/$f");
    }
    my @extra = grep { !exists $cases{File::Basename::basename($_)} }
                glob("$dir/golden-*");
    ok(!@diff && !@extra, 'Java 17 writes exactly the committed golden files')
        or diag("differ: @diff @extra");
}

############################################################################
# the Lua the session scripts can take, in Redis

SKIP: {
    skip 'no TEST_NGINX_REDIS_PORT (scripts/test.sh starts a Redis)', 1
        unless $ENV{TEST_NGINX_REDIS_PORT};
    skip 'the checker was not built', 1 unless -x $check;

    my $lua = `$check --lua`;
    my $r = SharedSessionTest::connect_redis();

    my $eval = sub {
        my ($fn, $bytes) = @_;
        return $r->cmd('EVAL', "$lua\nreturn $fn(ARGV[1])", 0, $bytes);
    };

    my $max = 9007199254740992;
    my $numbers = 0;

    for my $f (@order) {
        my ($kind, $arg) = @{ $cases{$f} };
        my $bytes = slurp("$golden/$f");

        for my $fn (qw(jdk_long jdk_integer)) {
            my $want;
            if ($fn eq "jdk_$kind") {
                $want = $arg;
                $want = undef
                    if $kind eq 'long' && ($arg > $max || $arg < -$max);
            }
            my $got = $eval->($fn, $bytes);
            is($got, $want, "Lua $fn($f) is " . ($want // 'nil'));
        }

        next unless $kind eq 'long' || $kind eq 'integer';
        $numbers++;

        # the exact bytes only: shorter, longer, one bit off in the prefix
        my $fn = "jdk_$kind";
        my @bad = (substr($bytes, 0, -1), $bytes . "\0",
                   substr($bytes, 1), "x" . substr($bytes, 1));
        for my $i (4, 20, length($bytes) - 10) {
            my $b = $bytes;
            substr($b, $i, 1) = chr(ord(substr($b, $i, 1)) ^ 1);
            push @bad, $b;
        }
        my @taken = grep { defined $eval->($fn, $_) } @bad;
        ok(!@taken, "Lua $fn refuses altered copies of $f");
    }

    cmp_ok($numbers, '>=', 20, 'Lua: every golden Long and Integer read');

    # a field HMGET did not find is false in Lua
    for my $fn (qw(jdk_long jdk_integer)) {
        is($r->cmd('EVAL', "$lua\nreturn $fn(false)", 0), undef,
           "Lua $fn(false) is nil");
    }
}

done_testing();
