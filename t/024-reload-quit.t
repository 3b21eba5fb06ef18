# "nginx -s reload", "nginx -s quit" and "nginx -s stop" with requests
# pending on a paused Redis (a plain Test::More script: it runs its own
# nginx, master and two workers, from the TEST_NGINX_* variables).
#
#   reload, Redis resumed soon:  the old workers answer their pending
#                                requests (200) and exit; new workers serve
#   reload, Redis stays paused:  the pending requests get 503 when their
#                                timeout expires, the old workers exit
#                                right after, nothing hangs
#   quit with pending requests:  answered (503 at the timeout), then nginx
#                                exits with status 0
#   stop with pending requests:  nginx exits at once, the clients see the
#                                connection closed, nothing crashes
# In all cases: no [alert], [crit], [emerg] or "exited on signal".

use strict;
use warnings;

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use Test::More;
use Time::HiRes ();

my $redis = SharedSessionTest::start_redis();
$ENV{TEST_NGINX_PRIVATE_REDIS_PORT} = $redis;

my $HTTP = <<'EOF';
    server {
        listen 127.0.0.1:$PORT;
        shared_session_host hostA;
        shared_session_redis 127.0.0.1:$TEST_NGINX_PRIVATE_REDIS_PORT;
        location = /s1 {
            shared_session;
            shared_session_redis_timeout 1s;
        }
        location = /s2 {
            shared_session;
            shared_session_redis_timeout 2s;
        }
        location = /static {
            return 200 "static\n";
        }
    }
EOF

sub warm {
    my ($ng) = @_;
    # enough requests for both workers to hold a working connection
    for (1 .. 20) {
        my $r = FaultTest::http(GET => '/s2', port => $ng->port);
        die "warm-up: $r->{status}\n" unless $r->{status} eq '200';
    }
}

sub pending {
    my ($ng, $path, $n) = @_;
    return [ map { FaultTest::http_start(GET => $path, port => $ng->port) }
             1 .. $n ];
}

sub wait_gone {
    my ($pids, $max) = @_;
    my $t0 = Time::HiRes::time();
    while (Time::HiRes::time() - $t0 < $max) {
        return Time::HiRes::time() - $t0
            unless grep { FaultTest::Nginx::alive($_) } @$pids;
        Time::HiRes::sleep(0.02);
    }
    return undef;
}

sub wait_new_workers {
    my ($ng, $old, $max) = @_;
    my %old = map { $_ => 1 } @$old;
    my $t0 = Time::HiRes::time();
    while (Time::HiRes::time() - $t0 < $max) {
        my @new = grep { !$old{$_} } $ng->workers;
        return @new if @new >= 2;
        Time::HiRes::sleep(0.02);
    }
    return ();
}

sub summary {
    my (@res) = @_;
    my %n;
    $n{ $_->{status} }++ for @res;
    return join ', ', map { "$_ x$n{$_}" } sort keys %n;
}

sub max_elapsed {
    my $m = 0;
    $_->{elapsed} > $m and $m = $_->{elapsed} for @_;
    return $m;
}

sub log_clean {
    my ($ng, $what) = @_;
    my $log = $ng->error_log(1);
    is(FaultTest::fatal_lines($log), '',
       "$what: no [alert], [crit], [emerg] or crash in the error log");
    diag("$what:\n", grep { /\[(?:warn|error|alert|crit|emerg)\]/ } split /^/, $log)
        if $ENV{TEST_VERBOSE};
}

# --- reload while Redis is paused, then resumed -------------------------------

{
    my $ng = FaultTest::Nginx->start(workers => 2, http => $HTTP);
    warm($ng);
    my @old = $ng->workers;
    SharedSessionTest::pause_redis($redis);
    my $p = pending($ng, '/s2', 6);
    Time::HiRes::sleep(0.2);
    $ng->signal('reload');
    my @new = wait_new_workers($ng, \@old, 5);
    is(scalar @new, 2, 'reload: two new workers');
    Time::HiRes::sleep(0.1);
    SharedSessionTest::resume_redis($redis);
    my @res = FaultTest::http_finish_all($p, 10);
    is(summary(@res), '200 x6', 'reload: requests pending in the old workers are answered (200) once Redis resumes');
    cmp_ok(max_elapsed(@res), '<', 2, 'reload: ... within their 2 s timeout');
    my $gone = wait_gone(\@old, 5);
    ok(defined $gone, 'reload: the old workers exit' . (defined $gone ? sprintf(' (%.2f s after the answers)', $gone) : ''));
    my $r = FaultTest::http(GET => '/s2', port => $ng->port);
    is($r->{status}, '200', 'reload: the new workers serve');
    log_clean($ng, 'reload');
    $ng->stop;
}

# --- reload while Redis stays paused ------------------------------------------

{
    my $ng = FaultTest::Nginx->start(workers => 2, http => $HTTP);
    warm($ng);
    my @old = $ng->workers;
    SharedSessionTest::pause_redis($redis);
    my $t0 = Time::HiRes::time();
    my $p = pending($ng, '/s1', 6);
    Time::HiRes::sleep(0.2);
    $ng->signal('reload');
    my @new = wait_new_workers($ng, \@old, 5);
    is(scalar @new, 2, 'reload (Redis paused): two new workers');
    my $static = FaultTest::http(GET => '/static', port => $ng->port);
    ok($static->{status} eq '200' && $static->{elapsed} < 0.5,
       'reload (Redis paused): the new workers answer other locations at once');
    my @res = FaultTest::http_finish_all($p, 10);
    is(summary(@res), '503 x6', 'reload (Redis paused): the pending requests get 503');
    my $max = max_elapsed(@res);
    ok($max >= 0.9 && $max < 1.6,
       sprintf('reload (Redis paused): ... when their 1 s timeout expires (%.2f s)', $max));
    my $gone = wait_gone(\@old, 3);
    ok(defined $gone, 'reload (Redis paused): the old workers exit right after'
       . (defined $gone ? sprintf(' (%.2f s)', $gone) : ''));
    SharedSessionTest::resume_redis($redis);
    log_clean($ng, 'reload (Redis paused)');
    $ng->stop;
}

# --- quit with requests pending ---------------------------------------------------

{
    my $ng = FaultTest::Nginx->start(workers => 2, http => $HTTP);
    warm($ng);
    my @workers = $ng->workers;
    SharedSessionTest::pause_redis($redis);
    my $p = pending($ng, '/s1', 6);
    Time::HiRes::sleep(0.2);
    my $t0 = Time::HiRes::time();
    $ng->signal('quit');
    my @res = FaultTest::http_finish_all($p, 10);
    is(summary(@res), '503 x6', 'quit: the pending requests are answered (503, Redis is paused)');
    my $st = $ng->wait_exit(5);
    my $took = Time::HiRes::time() - $t0;
    is($st, 0, 'quit: nginx exits with status 0');
    cmp_ok($took, '<', 2, sprintf('quit: ... without waiting past the timeout (%.2f s)', $took));
    ok(!grep({ FaultTest::Nginx::alive($_) } @workers), 'quit: no worker left');
    SharedSessionTest::resume_redis($redis);
    log_clean($ng, 'quit');
}

# --- stop (fast shutdown) with requests pending -----------------------------------

{
    my $ng = FaultTest::Nginx->start(workers => 2, http => $HTTP);
    warm($ng);
    my @workers = $ng->workers;
    SharedSessionTest::pause_redis($redis);
    my $p = pending($ng, '/s2', 6);
    Time::HiRes::sleep(0.2);
    my $t0 = Time::HiRes::time();
    $ng->signal('stop');
    my $st = $ng->wait_exit(5);
    my $took = Time::HiRes::time() - $t0;
    is($st, 0, 'stop: nginx exits with status 0');
    cmp_ok($took, '<', 1, sprintf('stop: ... at once (%.2f s)', $took));
    my @res = FaultTest::http_finish_all($p, 5);
    ok(!grep({ $_->{status} eq 'timeout' } @res),
       'stop: no client is left hanging (' . summary(@res) . ')');
    ok(!grep({ FaultTest::Nginx::alive($_) } @workers), 'stop: no worker left');
    SharedSessionTest::resume_redis($redis);
    log_clean($ng, 'stop');
}

# --- quit while many requests are in flight on a healthy Redis ------------------

{
    my $ng = FaultTest::Nginx->start(workers => 2, http => $HTTP);
    warm($ng);
    my $p = pending($ng, '/s2', 50);
    $ng->signal('quit');
    my @res = FaultTest::http_finish_all($p, 10);
    is(summary(@res), '200 x50', 'quit under load: every request in flight is answered');
    is($ng->wait_exit(5), 0, 'quit under load: nginx exits with status 0');
    log_clean($ng, 'quit under load');
}

done_testing();
