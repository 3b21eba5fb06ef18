# Concurrency (a plain Test::More script: it starts its own nginx with a
# master and two workers, using the TEST_NGINX_* variables of the suite).
#
# 200 parallel keep-alive clients hammer 30 sessions through two server
# blocks with different hosts ("containers"), while
#   - another client invalidates 5 of the sessions, one after the other,
#   - a third one deletes 5 other sessions' hashes behind the module's
#     back, as an expiry would, again and again,
#   - 5 more sessions expire logically (maxInactiveInterval 1 s) during the
#     run unless touched in time.
# Every answer must be 200 (or the invalidate redirect, 302) and say what
# it must (the same session for untouched ids, the right host); afterwards
# no hash in Redis lacks creationTime, lastAccessedTime or
# maxInactiveInterval, no invalidated session got its shadow key back, and
# the error log is clean.  Bounded in time.

use strict;
use warnings;

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use Errno ();
use Test::More;
use Time::HiRes ();

my $CLIENTS = 200;
my $PER_CLIENT = 25;
my $DEADLINE = 60;

SharedSessionTest::flush();

my $ng = FaultTest::Nginx->start(workers => 2, http => <<'EOF');
    shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    keepalive_requests 1000;
    server {
        listen 127.0.0.1:$PORT;
        server_name hosta.test;
        location = /shared {
            shared_session;
            shared_session_host container-1;
        }
        location = /invalidateSession {
            shared_session_invalidate;
        }
    }
    server {
        listen 127.0.0.1:$PORT;
        server_name hostb.test;
        location = /shared {
            shared_session;
            shared_session_host container-2;
        }
        location = /invalidateSession {
            shared_session_invalidate;
        }
    }
EOF

my $port = $ng->port;
my %host_of = ('hosta.test' => 'container-1', 'hostb.test' => 'container-2');
my @hosts = sort keys %host_of;

# --- the sessions -----------------------------------------------------------

my (%created, %kind);

# 20 made by the module itself, alternately through both servers
for my $i (1 .. 20) {
    my $res = FaultTest::http(GET => '/shared', Host => $hosts[$i % 2],
                              port => $port);
    my $j = eval { JSON::PP->new->decode($res->{body}) } || {};
    die "could not create session $i: $res->{status} $res->{body}\n"
        unless $res->{status} eq '200' && $j->{sessionId};
    $created{ $j->{sessionId} } = $j->{creationTime};
    $kind{ $j->{sessionId} } = $i <= 5 ? 'invalidated' : 'stable';
}

# 5 whose hashes a "reaper" deletes during the run, 5 that expire logically
my $now = SharedSessionTest::now_ms();
for my $i (1 .. 5) {
    my $id = "volatile-$i-" . int(rand(1e9));
    SharedSessionTest::seed_session(id => $id);
    $kind{$id} = 'reaped';
    $id = "expiring-$i-" . int(rand(1e9));
    SharedSessionTest::seed_session(id => $id, maxInactiveInterval => 1,
                                    lastAccessedTime => $now - 600 + 100 * $i,
                                    creationTime => $now - 5000);
    $kind{$id} = 'expiring';
}
my @ids = sort keys %kind;
my @invalidate = grep { $kind{$_} eq 'invalidated' } @ids;
my @reap = grep { $kind{$_} eq 'reaped' } @ids;
is(scalar @ids, 30, '30 sessions to hammer');

# --- the event loop -----------------------------------------------------------

my $sel = IO::Select->new;
my %conn;           # fileno => state
my (@bad, %status, $answers);
my %invalidated_at; # id => ms of the 302
my $t0 = Time::HiRes::time();

sub open_conn {
    my ($role) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Blocking => 0)
        or die "connect: $!\n";
    my $c = { sock => $s, role => $role, left => $PER_CLIENT, out => '',
              in => '', connecting => 1 };
    $conn{ fileno $s } = $c;
    $sel->add($s);
    return $c;
}

sub next_request {
    my ($c) = @_;
    my ($path, $id, $host);
    if ($c->{role} eq 'invalidator') {
        $id = shift @{ $c->{todo} };
        $path = '/invalidateSession';
    } else {
        $id = $ids[ int rand @ids ];
        $path = '/shared';
    }
    $host = $hosts[ int rand 2 ];
    $c->{req} = { id => $id, host => $host, path => $path,
                  sent => SharedSessionTest::now_ms() };
    $c->{out} = "GET $path HTTP/1.1\r\nHost: $host\r\n"
              . 'Cookie: SESSION=' . SharedSessionTest::b64($id) . "\r\n\r\n";
}

sub check_answer {
    my ($c, $status, $head, $body) = @_;
    my $r = $c->{req};
    $status{$status}++;
    $answers++;
    my $what = "$r->{path} $r->{host} $r->{id}";
    if ($r->{path} eq '/invalidateSession') {
        push @bad, "$what: $status" unless $status eq '302';
        $invalidated_at{ $r->{id} } = SharedSessionTest::now_ms();
        return;
    }
    if ($status ne '200') {
        push @bad, "$what: $status $body";
        return;
    }
    my $j = eval { JSON::PP->new->decode($body) };
    if (!$j) {
        push @bad, "$what: not JSON: $body";
        return;
    }
    push @bad, "$what: host $j->{host}"
        unless $j->{host} eq $host_of{ $r->{host} };
    my $kind = $kind{ $r->{id} };
    if ($kind eq 'stable') {
        push @bad, "$what: got $j->{sessionId} new=$j->{new}"
            unless $j->{sessionId} eq $r->{id} && !$j->{new}
                   && $j->{creationTime} == $created{ $r->{id} };
        push @bad, "$what: previousHost $j->{previousHost}"
            unless grep { ($j->{previousHost} // '') eq $_ } values %host_of;
    } elsif ($kind eq 'invalidated') {
        # after the 302 the id must never be reused
        if ($invalidated_at{ $r->{id} } && $r->{sent} > $invalidated_at{ $r->{id} }
            && $j->{sessionId} eq $r->{id})
        {
            push @bad, "$what: reused after it was invalidated";
        }
    }
    if ($j->{sessionId} ne $r->{id}) {
        push @bad, "$what: a new session reused the client's id"
            if $j->{sessionId} !~ /\A[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\z/
               || !$j->{new} || exists $kind{ $j->{sessionId} };
    }
}

sub drop {
    my ($c) = @_;
    $c->{gone} = 1;
    $sel->remove($c->{sock});
    delete $conn{ fileno $c->{sock} };
    close $c->{sock};
}

open_conn('client') for 1 .. $CLIENTS;
my $inv = open_conn('invalidator');
$inv->{todo} = [@invalidate];
$inv->{left} = scalar @invalidate;
$inv->{wait_until} = Time::HiRes::time() + 0.1;

# the reaper: a plain Redis connection deleting whole sessions
my $reaper = SharedSessionTest::connect_redis();
my ($reaped, $next_reap) = (0, Time::HiRes::time() + 0.05);

while (%conn) {
    if (Time::HiRes::time() - $t0 > $DEADLINE) {
        push @bad, scalar(keys %conn) . " connections still open after $DEADLINE s";
        drop($_) for values %conn;
        last;
    }
    if (Time::HiRes::time() >= $next_reap) {
        my $id = $reap[ $reaped++ % @reap ];
        $reaper->cmd('DEL', "spring:session:sessions:$id",
                     "spring:session:sessions:expires:$id");
        $next_reap = Time::HiRes::time() + 0.02;
    }

    my @w = grep { length $_->{out} || $_->{connecting} } values %conn;
    my @writable;
    if (@w) {
        my $ws = IO::Select->new(map { $_->{sock} } @w);
        @writable = $ws->can_write(0);
    }
    for my $fh (@writable) {
        my $c = $conn{ fileno $fh } or next;
        if ($c->{connecting}) {
            $c->{connecting} = 0;
            if ($c->{role} eq 'invalidator' && Time::HiRes::time() < $c->{wait_until}) {
                next;
            }
            next_request($c);
        }
        my $n = syswrite($fh, $c->{out});
        if (!defined $n) {
            next if $! == Errno::EAGAIN();
            push @bad, "write: $!";
            drop($c);
            next;
        }
        substr($c->{out}, 0, $n) = '';
    }

    # the invalidator paces itself: one every 150 ms
    if (!$inv->{gone} && !$inv->{connecting}
        && !length $inv->{out} && !$inv->{req} && @{ $inv->{todo} }
        && Time::HiRes::time() >= $inv->{wait_until})
    {
        next_request($inv);
    }

    for my $fh ($sel->can_read(0.01)) {
        my $c = $conn{ fileno $fh } or next;
        my $n = sysread($fh, my $chunk, 65536);
        if (!defined $n) {
            next if $! == Errno::EAGAIN();
            push @bad, "read: $!";
            drop($c);
            next;
        }
        if ($n == 0) {
            push @bad, "connection closed by nginx with "
                       . ($c->{left}) . " requests left";
            drop($c);
            next;
        }
        $c->{in} .= $chunk;
        while ((my $i = index($c->{in}, "\r\n\r\n")) >= 0) {
            my $head = substr($c->{in}, 0, $i);
            my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
            $len //= 0;
            last if length($c->{in}) < $i + 4 + $len;
            my $body = substr($c->{in}, $i + 4, $len);
            substr($c->{in}, 0, $i + 4 + $len) = '';
            my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
            check_answer($c, $status // 'none', $head, $body);
            delete $c->{req};
            if (--$c->{left} <= 0) {
                drop($c);
                last;
            }
            if ($c->{role} eq 'invalidator') {
                $c->{wait_until} = Time::HiRes::time() + 0.15;
            } else {
                next_request($c);
            }
        }
    }
}
my $took = Time::HiRes::time() - $t0;

is($answers, $CLIENTS * $PER_CLIENT + @invalidate,
   "every request was answered ($CLIENTS clients x $PER_CLIENT + "
   . scalar(@invalidate) . ' invalidations)');
is_deeply(\@bad, [], 'every answer is 200 (or the 302 of invalidate) and says what it must')
    or diag(join "\n", splice(@bad, 0, 20));
cmp_ok($took, '<', $DEADLINE, sprintf('done in %.1f s', $took));
diag(sprintf('%d answers in %.2f s (%s), %d deletions behind the module',
             $answers // 0, $took,
             join(', ', map { "$_: $status{$_}" } sort keys %status), $reaped))
    if $ENV{TEST_VERBOSE};
ok($reaped > 5, "the reaper deleted sessions during the run ($reaped times)");

# --- Redis afterwards -----------------------------------------------------------

my $c = SharedSessionTest::connect_redis();
my @keys = @{ $c->cmd('KEYS', 'spring:session:sessions:*') };
my (@partial, @orphans, $hashes);
for my $k (@keys) {
    if ($k =~ /\Aspring:session:sessions:expires:(.*)\z/s) {
        push @orphans, $k unless $c->cmd('EXISTS', "spring:session:sessions:$1");
        next;
    }
    $hashes++;
    my $f = $c->cmd('HMGET', $k, qw(creationTime lastAccessedTime maxInactiveInterval));
    push @partial, $k if grep { !defined } @$f;
}
ok($hashes > 30, "hashes in Redis afterwards: $hashes");
is_deeply(\@partial, [], 'no hash lacks creationTime, lastAccessedTime or maxInactiveInterval');
is_deeply(\@orphans, [], 'no shadow key without its hash');

my @revived;
for my $id (@invalidate) {
    my $mii = $c->cmd('HGET', "spring:session:sessions:$id", 'maxInactiveInterval');
    push @revived, "$id: maxInactiveInterval " . ($mii // '(none)')
        unless defined $mii && $mii eq '0';
    push @revived, "$id: shadow key back"
        if $c->cmd('EXISTS', "spring:session:sessions:expires:$id");
}
is_deeply(\@revived, [], 'invalidated sessions stay invalidated (interval 0, no shadow key)');

# --- nginx afterwards -------------------------------------------------------------

my $log = $ng->error_log(1);
is(FaultTest::fatal_lines($log), '', 'no [alert], [crit], [emerg] or crash in the error log');
my @errors = grep { /\[error\]/ } split /^/, $log;
is_deeply(\@errors, [], 'no [error] line');

$ng->signal('quit');
my $st = $ng->wait_exit(10);
is($st, 0, 'nginx quits cleanly afterwards');

done_testing();
