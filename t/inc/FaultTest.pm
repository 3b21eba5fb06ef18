package FaultTest;

# Helpers for the fault, hostile-input and concurrency tests (t/02x-*.t):
#
#   FaultTest::FakeRedis   a scripted fake Redis server (forked Perl child)
#                          for what a real redis-server will not do on
#                          demand: split, late, broken, garbage or huge
#                          replies, connections closed mid-reply.
#   http_start/http_finish non-blocking HTTP/1.0 requests to the nginx under
#                          test, so that several can be pending at once,
#                          with the time each took.
#   FaultTest::Nginx       starts and stops an nginx (master + workers) for
#                          the plain Test::More scripts (reload/quit with
#                          pending requests, many parallel clients), with
#                          the same TEST_NGINX_* variables as Test::Nginx.
#   redis_pid, kill_redis  SIGKILL a private redis-server of
#                          SharedSessionTest (for "killed while requests are
#                          in flight").
#
# Pure Perl, core modules only.  Loaded with
#
#     use lib 't/inc';
#     use FaultTest;
#
# and called fully qualified, like SharedSessionTest.

use strict;
use warnings;

use Digest::SHA ();
use Errno ();
use Cwd ();
use File::Path ();
use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use SharedSessionTest ();
use POSIX ();
use Socket ();
use Time::HiRes ();

my $OWNER_PID = $$;

# the ports helpers are SharedSessionTest's
sub free_port { return SharedSessionTest::free_port() }

sub server_port { return SharedSessionTest::server_port() }


############################################################################
# RESP encoders, for the fake's replies

sub bulk   { defined $_[0] ? '$' . length($_[0]) . "\r\n$_[0]\r\n" : "\$-1\r\n" }
sub nil    { "\$-1\r\n" }
sub integer { ":" . $_[0] . "\r\n" }
sub status { '+' . $_[0] . "\r\n" }
sub err    { '-' . $_[0] . "\r\n" }
sub arr    { '*' . scalar(@_) . "\r\n" . join('', @_) }

sub sha1_hex { Digest::SHA::sha1_hex($_[0]) }


############################################################################
# What the module sends, decoded (see src/ngx_http_shared_session_store_
# script.c):
#
#   touch:      EVALSHA sha numkeys <hash keys of ids...> <hash key of new>
#               prefix now serializer layout mii_serialized mii ttl
#               shadow_ttl lo expiry now_serialized field value, then per
#               key (the ids, then new_id) but in the default repository:
#               shadow key and member
#   invalidate: EVALSHA sha numkeys <hash keys of ids...> prefix now
#               serializer repository store zero_serialized principal_field
#               index_prefix, then per id: id, "expires:<id>" and "<id>"
#               serialized
#
# Returns { cmd, sha_or_script, keys => [...], script => 'touch'|
# 'invalidate', prefix, now, ser, field, value, mii, new_id, ids => [...]
# } or undef for anything else.  The ids are read from the hash keys.

sub decode_eval {
    my ($argv) = @_;
    my $name = uc($argv->[0] // '');
    return undef unless $name eq 'EVALSHA' || $name eq 'EVAL';
    my $nkeys = $argv->[2];
    my @keys = @$argv[3 .. 2 + $nkeys];
    my @args = @$argv[3 + $nkeys .. $#$argv];
    my %e = (cmd => $name, sha => $argv->[1], keys => \@keys,
             prefix => $args[0], now => $args[1], ser => $args[2]);
    my $layout = $args[3] // '';
    if ($layout eq 'buckets' || $layout eq 'zset'
        || ($layout eq 'default' && @args == 13))
    {
        @e{qw(script layout s_mii mii ttl shadow_ttl lo expiry s_now field
              value)} = ('touch', @args[3 .. 12]);
    } else {
        @e{qw(script repository store s_zero principal index)} =
            ('invalidate', @args[3 .. 7]);
    }
    my $hash = quotemeta(($e{prefix} // '') . 'sessions:');
    $e{ids} = [ map { s/\A$hash//r } @keys ];
    $e{new_id} = pop @{ $e{ids} } if $e{script} eq 'touch';
    return \%e;
}

# The reply a real Redis would give to the module's commands when nothing
# is stored: SCRIPT LOAD -> the sha1, AUTH/SELECT -> +OK, touch -> a new
# session {0, now, nil}, invalidate -> {0}, PUBLISH (the created event of a
# new session) -> 0.
sub standard_reply {
    my ($argv) = @_;
    my $name = uc($argv->[0] // '');
    if ($name eq 'SCRIPT' && uc($argv->[1] // '') eq 'LOAD') {
        return bulk(sha1_hex($argv->[2]));
    }
    return status('OK') if $name eq 'AUTH' || $name eq 'SELECT';
    return status('PONG') if $name eq 'PING';
    return integer(0) if $name eq 'PUBLISH';    # no subscriber
    if (my $e = decode_eval($argv)) {
        return arr(integer(0), bulk($e->{now}), nil()) if $e->{script} eq 'touch';
        return arr(integer(0));
    }
    return err("ERR unknown command '$argv->[0]'");
}


############################################################################
# The fake Redis
#
#   my $fake = FaultTest::FakeRedis->start(
#       port => $port,                      # default: a free port
#       on_command => sub {
#           my ($argv, $ctx) = @_;          # $ctx->{conn}: 1, 2, ... per
#                                           # accepted connection;
#                                           # $ctx->{n}: commands so far on
#                                           # it; $ctx->{total}: overall;
#                                           # $ctx->{state}: a hash for the
#                                           # handler's own use
#           return (ACTION, ...);
#       },
#       on_connect => sub { my ($ctx) = @_; return (ACTION, ...) },
#   );
#
# ACTION is a string (written at once), or a hash:
#   { write => $bytes, chunk => 1, gap => 0.002 }   in pieces, each its own
#                                                   TCP segment (NODELAY)
#   { sleep => $seconds }
#   { close => 1 }      close this connection now
#   { hang => 1 }       never answer anything on this connection again
#                       (it stays open; input is read and dropped)
#   { hold => 1 }       keep the reply of this command for later: returned
#                       by { flush => 1 } of a later command, all at once
#   { flush => 1 }      write every held reply, and this one, in one write
#
# Without on_command every command gets standard_reply().  Every command
# received is logged; $fake->commands returns them in order as
# { conn => n, argv => [...] }.  $fake->connections: how many were
# accepted.  The fake stops at $fake->stop, when another fake starts on its
# port, or at END.

package FaultTest::FakeRedis;

my %Running;    # port => object
my @Logs;       # command logs, removed at END

sub start {
    my ($class, %o) = @_;
    my $port = $o{port} // FaultTest::free_port();
    $Running{$port}->stop if $Running{$port};

    my $listen;
    for (1 .. 50) {
        $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                        LocalPort => $port, Proto => 'tcp',
                                        Listen => 64, ReuseAddr => 1);
        last if $listen;
        Time::HiRes::sleep(0.05);
    }
    die "FakeRedis: cannot listen on 127.0.0.1:$port: $!\n" unless $listen;

    my ($fh, $log) = File::Temp::tempfile('fake-redis-XXXXXX', TMPDIR => 1,
                                          UNLINK => 0);
    close $fh;
    push @Logs, $log, "$log.err";

    my $pid = fork();
    die "FakeRedis: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        my $ok = eval { _serve($listen, $log, \%o); 1 };
        if (!$ok) {
            if (open my $l, '>>', "$log.err") { print $l $@; close $l }
        }
        POSIX::_exit(0);
    }
    close $listen;
    my $self = bless { port => $port, pid => $pid, log => $log }, $class;
    $Running{$port} = $self;
    return $self;
}

sub port { $_[0]{port} }

# The fake currently running on $port (started by an earlier --- init).
sub running {
    my ($class, $port) = @_;
    return $Running{$port} // die "FakeRedis: none running on port $port\n";
}

sub stop {
    my ($self) = @_;
    if (my $pid = delete $self->{pid}) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    delete $Running{ $self->{port} }
        if $Running{ $self->{port} } && $Running{ $self->{port} } == $self;
    return;
}

sub stop_all {
    $_->stop for values %Running;
}

sub remove_logs {
    unlink grep { -e } @Logs;
    @Logs = ();
}

sub _events {
    my ($self) = @_;
    open my $in, '<', $self->{log} or return ();
    my $j = JSON::PP->new->latin1;
    my @e;
    while (my $line = <$in>) {
        chomp $line;
        # a line still being written is left for the next call
        my $e = eval { $j->decode($line) } or next;
        push @e, $e;
    }
    return @e;
}

sub commands {
    my ($self) = @_;
    return grep { $_->{argv} } $self->_events;
}

sub connections {
    my ($self) = @_;
    return scalar grep { $_->{accept} } $self->_events;
}

# The names of the commands received, e.g. "SCRIPT SCRIPT EVALSHA".
sub command_names {
    my ($self) = @_;
    return join ' ', map { uc $_->{argv}[0] } $self->commands;
}

sub error_text {
    my ($self) = @_;
    open my $in, '<', "$self->{log}.err" or return '';
    local $/;
    return scalar <$in>;
}

sub DESTROY {
    my ($self) = @_;
    return unless $$ == $OWNER_PID;
    $self->stop;
}

# --- the child ------------------------------------------------------------

sub _serve {
    my ($listen, $log, $o) = @_;
    $SIG{PIPE} = 'IGNORE';
    $SIG{TERM} = sub { POSIX::_exit(0) };
    my $j = JSON::PP->new->latin1->canonical;
    open my $logfh, '>>', $log or die "log $log: $!\n";
    $logfh->autoflush(1);

    my $sel = IO::Select->new($listen);
    my (%conn, $nconn, $total);
    my %state;

    my $drop = sub {
        my ($c) = @_;
        $sel->remove($c->{sock});
        delete $conn{ fileno $c->{sock} };
        close $c->{sock};
    };

    my $run = sub {
        my ($c, @actions) = @_;
        for my $a (@actions) {
            next unless defined $a;
            my %a = ref $a ? %$a : (write => $a);
            if ($a{sleep}) {
                Time::HiRes::sleep($a{sleep});
            }
            if ($a{hold}) {
                push @{ $c->{held} }, $a{write} // '';
                next;
            }
            if ($a{flush}) {
                $a{write} = join '', @{ delete $c->{held} // [] },
                                     $a{write} // '';
            }
            if (defined $a{write} && length $a{write}) {
                _write($c->{sock}, $a{write}, $a{chunk}, $a{gap})
                    or do { $drop->($c); return 0 };
            }
            if ($a{close}) {
                $drop->($c);
                return 0;
            }
            if ($a{hang}) {
                $c->{hang} = 1;
                return 1;
            }
        }
        return 1;
    };

    while (1) {
        for my $fh ($sel->can_read(1)) {
            if ($fh == $listen) {
                my $s = $listen->accept or next;
                binmode $s;
                setsockopt($s, Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(),
                           1);
                my $c = { sock => $s, buf => '', n => 0, conn => ++$nconn };
                $conn{ fileno $s } = $c;
                $sel->add($s);
                print $logfh $j->encode({ accept => $nconn }), "\n";
                if ($o->{on_connect}) {
                    $run->($c, $o->{on_connect}->({ conn => $nconn,
                                                    state => \%state }));
                }
                next;
            }
            my $c = $conn{ fileno $fh } or next;
            my $n = sysread($fh, my $chunk, 1 << 20);
            if (!$n) {
                print $logfh $j->encode({ eof => $c->{conn} }), "\n";
                $drop->($c);
                next;
            }
            next if $c->{hang};
            $c->{buf} .= $chunk;
            while (defined(my $argv = _parse(\$c->{buf}))) {
                $c->{n}++;
                $total++;
                print $logfh $j->encode({ conn => $c->{conn},
                                          argv => $argv }), "\n";
                my @actions = $o->{on_command}
                    ? $o->{on_command}->($argv, { conn => $c->{conn},
                                                  n => $c->{n},
                                                  total => $total,
                                                  state => \%state })
                    : (FaultTest::standard_reply($argv));
                $run->($c, @actions) or last;
                last if $c->{hang};
            }
        }
    }
}

sub _write {
    my ($sock, $data, $chunk, $gap) = @_;
    $chunk ||= length $data;
    my $off = 0;
    while ($off < length $data) {
        my $len = $chunk < length($data) - $off ? $chunk : length($data) - $off;
        my $n = syswrite($sock, $data, $len, $off);
        return 0 unless defined $n;
        $off += $n;
        Time::HiRes::sleep($gap) if $gap && $off < length $data;
    }
    return 1;
}

# One RESP command (an array of bulk strings, or an inline command) off the
# front of $$buf, or undef if it is not complete yet.
sub _parse {
    my ($buf) = @_;
    return undef unless length $$buf;
    if (substr($$buf, 0, 1) ne '*') {
        my $i = index($$buf, "\r\n");
        return undef if $i < 0;
        my $line = substr($$buf, 0, $i);
        substr($$buf, 0, $i + 2) = '';
        return [ split ' ', $line ];
    }
    my $pos = 0;
    my $line = sub {
        my $i = index($$buf, "\r\n", $pos);
        return undef if $i < 0;
        my $l = substr($$buf, $pos, $i - $pos);
        $pos = $i + 2;
        return $l;
    };
    my $head = $line->() // return undef;
    my $count = substr($head, 1);
    my @argv;
    for (1 .. $count) {
        my $h = $line->() // return undef;
        die "FakeRedis: bad bulk header '$h'\n" unless $h =~ /^\$(\d+)$/;
        my $len = $1;
        return undef if length($$buf) < $pos + $len + 2;
        push @argv, substr($$buf, $pos, $len);
        $pos += $len + 2;
    }
    substr($$buf, 0, $pos) = '';
    return \@argv;
}


############################################################################
# Non-blocking HTTP client: several requests pending at once.
#
#   my $h = FaultTest::http_start(GET => '/path', Cookie => '...');
#   my $h = FaultTest::http_start(raw => "GET / HTTP/1.0\r\n...\r\n\r\n");
#   my $res = FaultTest::http_finish($h [, $timeout]);
#   my @res = FaultTest::http_finish_all([$h1, $h2, ...] [, $timeout]);
#
# A response is { status (or 'none' when the connection closed without an
# answer, 'timeout' when nothing complete came in time), headers => { lc
# name => [values] }, body, raw, elapsed (seconds since http_start) }.

package FaultTest;

sub http_start {
    my (@a) = @_;
    my %o;
    my $req;
    if ($a[0] eq 'raw') {
        (undef, $req, %o) = @a;
    } else {
        my ($method, $path, @hdr) = @a;
        my @h;
        while (my ($k, $v) = splice @hdr, 0, 2) {
            if ($k eq 'port') { $o{port} = $v; next }
            push @h, $k, $v;
        }
        $req = "$method $path HTTP/1.0\r\n";
        $req .= "Host: localhost\r\n" unless grep { lc $_ eq 'host' } @h;
        while (my ($k, $v) = splice @h, 0, 2) {
            $req .= "$k: $v\r\n";
        }
        $req .= "\r\n";
    }
    my $t0 = Time::HiRes::time();
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $o{port} // server_port(),
                                     Proto => 'tcp', Timeout => 5)
        or die "http_start: connect: $!\n";
    binmode $sock;
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($sock, $req, length($req) - $off, $off);
        last unless defined $n;    # the server may answer and close early
        $off += $n;
    }
    $sock->blocking(0);
    return { sock => $sock, t0 => $t0, buf => '' };
}

sub _http_done {
    my ($h) = @_;
    my $i = index($h->{buf}, "\r\n\r\n");
    return 0 if $i < 0;
    my $head = substr($h->{buf}, 0, $i);
    if ($head =~ /^Content-Length:\s*(\d+)/mi) {
        return length($h->{buf}) >= $i + 4 + $1;
    }
    return 0;    # read until close
}

sub _http_parse {
    my ($h, $why) = @_;
    my $raw = $h->{buf};
    my %res = (raw => $raw, elapsed => ($h->{t1} // Time::HiRes::time())
                                       - $h->{t0});
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my @lines = split /\r\n/, $head // '';
    my ($status) = (shift(@lines) // '') =~ m{^HTTP/\S+\s+(\d+)};
    my %headers;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        push @{ $headers{ lc $k } }, $v;
    }
    $res{status} = $status // $why;
    $res{headers} = \%headers;
    $res{body} = $body // '';
    return \%res;
}

sub http_finish_all {
    my ($hs, $timeout) = @_;
    $timeout //= 10;
    my $deadline = Time::HiRes::time() + $timeout;
    my %open = map { $_ => $_ } @$hs;
    while (%open) {
        my $left = $deadline - Time::HiRes::time();
        last if $left <= 0;
        my $sel = IO::Select->new(map { $_->{sock} } values %open);
        my @ready = $sel->can_read($left);
        for my $fh (@ready) {
            my ($h) = grep { $_->{sock} == $fh } values %open;
            my $n = sysread($fh, my $chunk, 1 << 20);
            if (defined $n && $n > 0) {
                $h->{buf} .= $chunk;
                next unless _http_done($h);
            } elsif (!defined $n && $! == Errno::EAGAIN()) {
                next;
            }
            $h->{t1} = Time::HiRes::time();
            $h->{closed} = 1;
            close $fh;
            delete $open{$h};
        }
    }
    for my $h (values %open) {
        close $h->{sock};
        $h->{timed_out} = 1;
    }
    return map {
        _http_parse($_, $_->{timed_out} ? 'timeout' : 'none')
    } @$hs;
}

sub http_finish {
    my ($h, $timeout) = @_;
    return (http_finish_all([$h], $timeout))[0];
}

# A blocking request: http_start + http_finish.
sub http {
    my (@a) = @_;
    return http_finish(http_start(@a), 10);
}

# Repeats GET $path every $gap seconds until it answers $status, for at most
# $max seconds: returns the seconds it took, or undef.
sub poll_until {
    my ($path, $status, $max, $gap, @hdr) = @_;
    $gap //= 0.02;
    my $t0 = Time::HiRes::time();
    while (1) {
        my $res = http(GET => $path, @hdr);
        my $t = Time::HiRes::time() - $t0;
        return $t if $res->{status} eq $status;
        return undef if $t > $max;
        Time::HiRes::sleep($gap);
    }
}


############################################################################
# Private redis-servers of SharedSessionTest: its pid, from the server
# itself, and SIGKILL.

sub redis_pid {
    my ($port) = @_;
    my $info = SharedSessionTest::redis_cmd({ port => $port }, 'INFO',
                                            'server');
    my ($pid) = $info =~ /^process_id:(\d+)/m;
    return $pid;
}

sub kill_redis {
    my ($pid) = @_;
    kill 'KILL', $pid;
    return;
}

# Lines of a file from byte $pos on, and the new end position.
sub read_from {
    my ($file, $pos) = @_;
    open my $in, '<', $file or return ('', $pos // 0);
    binmode $in;
    seek $in, $pos, 0 if $pos;
    local $/;
    my $data = <$in> // '';
    my $end = tell $in;
    close $in;
    return ($data, $end);
}

# The error log of the nginx under Test::Nginx, from the position of the
# last log_mark() on (for counting lines that requests sent from --- init
# wrote as well).
my $LogMark = 0;

sub log_mark {
    no warnings 'once';
    $LogMark = -s $Test::Nginx::Util::ErrLogFile // 0;
    return;
}

sub log_since_mark {
    no warnings 'once';
    my ($data) = read_from($Test::Nginx::Util::ErrLogFile, $LogMark);
    return $data;
}

# Lines of an error log that no test should ever see.
sub fatal_lines {
    my ($log) = @_;
    return join '', grep { /\[alert\]|\[crit\]|\[emerg\]|exited on signal|core dumped/ }
                    split /^/, $log;
}


############################################################################
# An nginx for plain Test::More scripts
#
#   my $ng = FaultTest::Nginx->start(http => $text, workers => 2);
#
# writes $TEST_NGINX_SERVROOT/conf/nginx.conf (load_module lines from
# TEST_NGINX_LOAD_MODULES, error_log logs/error.log at info, master on,
# daemon off, pid logs/nginx.pid) with $text inside http { }, and runs
# $TEST_NGINX_BINARY as a child of this script.  $text may use
# $TEST_NGINX_* variables (replaced from %ENV) and $PORT (the server port).
#
# Methods: master_pid, workers (pids of the master's worker processes),
# error_log (text from the start, or since ->mark), signal('reload'|'quit'|
# 'stop') through "nginx -s", wait_exit($seconds), stop.

package FaultTest::Nginx;

sub start {
    my ($class, %o) = @_;
    my $root = $ENV{TEST_NGINX_SERVROOT} // Cwd::getcwd() . '/t/servroot';
    $root =~ s{/+\z}{};
    my $port = $ENV{TEST_NGINX_SERVER_PORT} // $ENV{TEST_NGINX_PORT} // 1984;
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    $ENV{TEST_NGINX_SERVER_PORT} //= $port;

    File::Path::remove_tree($root) if -d $root;
    # Only what Test::Nginx itself removes when it next sets up the same
    # servroot (conf, html, logs, *_temp): a directory of another name
    # would make its rmdir fail and bail out the next test file.
    File::Path::make_path("$root/conf", "$root/logs", "$root/html");

    my $text = $o{http} // '';
    $text =~ s/\$PORT\b/$port/g;
    $text =~ s/\$(TEST_NGINX_[A-Z0-9_]+)/
        defined $ENV{$1} ? $ENV{$1} : die "FaultTest::Nginx: \$$1 is not set\n"/ge;

    my $load = join '', map { "load_module $_;\n" }
                        split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '';
    my $workers = $o{workers} // 2;
    # As Test::Nginx: a root master keeps its workers as root, for a
    # checkout that "nobody" cannot enter (a clone under a 0700 directory).
    my $user = $> == 0 ? "user root;\n" : '';
    my $conf = <<"EOF";
${load}${user}daemon off;
master_process on;
worker_processes $workers;
pid logs/nginx.pid;
error_log logs/error.log info;
worker_rlimit_core 500m;
working_directory $root/logs;
events {
    worker_connections ${\($o{worker_connections} // 1024)};
}
http {
    access_log off;
    client_body_temp_path $root/client_body_temp;
    proxy_temp_path $root/proxy_temp;
    fastcgi_temp_path $root/fastcgi_temp;
    uwsgi_temp_path $root/uwsgi_temp;
    scgi_temp_path $root/scgi_temp;
$text
}
EOF
    open my $fh, '>', "$root/conf/nginx.conf" or die "$root/conf: $!\n";
    print $fh $conf;
    close $fh;

    my $self = bless { root => $root, port => $port, bin => $bin,
                       log => "$root/logs/error.log", mark => 0 }, $class;

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', "$root/logs/error.log";
        { exec $bin, '-p', "$root/", '-c', "$root/conf/nginx.conf"; }
        POSIX::_exit(127);
    }
    $self->{pid} = $pid;

    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            delete $self->{pid};
            my ($log) = FaultTest::read_from($self->{log}, 0);
            die "nginx did not start:\n$log";
        }
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        if ($s && $self->workers >= $workers) {
            close $s;
            return $self;
        }
        Time::HiRes::sleep(0.02);
    }
    $self->stop;
    die "nginx did not listen on $port\n";
}

sub master_pid { $_[0]{pid} }
sub port { $_[0]{port} }
sub log_file { $_[0]{log} }

sub workers {
    my ($self) = @_;
    my $m = $self->{pid} or return ();
    open my $fh, '<', "/proc/$m/task/$m/children" or return ();
    my @kids = split ' ', scalar(<$fh>) // '';
    return grep {
        open my $c, '<', "/proc/$_/cmdline";
        my $cmd = $c ? scalar(<$c>) // '' : '';
        $cmd =~ /^nginx: worker process/;
    } @kids;
}

sub alive {
    my ($pid) = @_;
    return 0 unless kill 0, $pid;
    # a zombie is gone for our purpose
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh> // '';
    return $stat !~ /^\d+ \(.*\) Z/;
}

sub mark {
    my ($self) = @_;
    $self->{mark} = -s $self->{log} // 0;
}

sub error_log {
    my ($self, $all) = @_;
    my ($data) = FaultTest::read_from($self->{log},
                                      $all ? 0 : $self->{mark});
    return $data;
}

# "nginx -s reload|quit|stop" as an operator would type it.
sub signal {
    my ($self, $sig) = @_;
    my $out = `$self->{bin} -p $self->{root}/ -c $self->{root}/conf/nginx.conf -s $sig 2>&1`;
    die "nginx -s $sig failed: $out" if $?;
    return;
}

# Waits for the master to exit: its wait status, or undef on timeout.
sub wait_exit {
    my ($self, $max) = @_;
    my $pid = $self->{pid} or return 0;
    my $deadline = Time::HiRes::time() + $max;
    while (Time::HiRes::time() < $deadline) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            delete $self->{pid};
            return $?;
        }
        Time::HiRes::sleep(0.01);
    }
    return undef;
}

sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    kill 'QUIT', $pid;
    return if defined $self->wait_exit(5);
    kill 'TERM', $pid;
    return if defined $self->wait_exit(3);
    kill 'KILL', -$pid;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    delete $self->{pid};
}

sub DESTROY {
    my ($self) = @_;
    return unless $$ == $OWNER_PID;
    $self->stop;
}



############################################################################
# For the connection limits (t/025-connection-limits.t): clients that leave,
# and the memory of the nginx under Test::Nginx.
#
#   http_abort($h)          closes a request of http_start with a reset
#                           (SO_LINGER 0): nginx sees the client leave, and
#                           no TIME_WAIT is left behind
#   writing($status)        "Writing" of the stub_status location $status,
#                           less the status request itself: the requests
#                           nginx has read and not finished
#   abort_many($n, $batch, $status, @request)
#                           $n requests of http_start(@request), $batch at
#                           a time: each batch is reset once nginx has read
#                           every request of it (they are "writing", or
#                           answered), and the next one sent once nginx saw
#                           them leave; returns the seconds it took
#   nginx_pid()             the pid in Test::Nginx's pid file (master off:
#                           the process that serves)
#   reset_peak_rss($pid), peak_rss($pid)
#                           VmHWM in kB, reset through clear_refs
#   wait_log($re, $max)     seconds until a line matching $re is in the
#                           error log after log_mark(), polled every 10 ms;
#                           undef after $max seconds

package FaultTest;

sub http_abort {
    my ($h) = @_;
    setsockopt($h->{sock}, Socket::SOL_SOCKET(), Socket::SO_LINGER(),
               pack('ii', 1, 0));
    close $h->{sock};
    return;
}

sub writing {
    my ($status) = @_;
    my $res = http(GET => $status);
    return $res->{body} =~ /Writing: (\d+)/ ? $1 - 1 : 0;
}

sub abort_many {
    my ($n, $batch, $status, @request) = @_;
    my $t0 = Time::HiRes::time();
    my $base = writing($status);
    my $sent = 0;
    while ($sent < $n) {
        my $k = $n - $sent < $batch ? $n - $sent : $batch;
        my @h = map { http_start(@request) } 1 .. $k;
        $sent += $k;
        my $deadline = Time::HiRes::time() + 5;
        while (Time::HiRes::time() < $deadline) {
            my $answered = grep { IO::Select->new($_->{sock})->can_read(0) }
                           @h;
            last if writing($status) - $base + $answered >= $k;
            Time::HiRes::sleep(0.002);
        }
        http_abort($_) for @h;
        $deadline = Time::HiRes::time() + 5;
        while (Time::HiRes::time() < $deadline) {
            last if writing($status) <= $base;
            Time::HiRes::sleep(0.002);
        }
    }
    return Time::HiRes::time() - $t0;
}

sub nginx_pid {
    no warnings 'once';
    open my $p, '<', $Test::Nginx::Util::PidFile or return undef;
    chomp(my $pid = <$p> // '');
    return $pid;
}

sub reset_peak_rss {
    my ($pid) = @_;
    open my $c, '>', "/proc/$pid/clear_refs" or return 0;
    print $c "5";
    return close $c;
}

sub peak_rss {
    my ($pid) = @_;
    open my $s, '<', "/proc/$pid/status" or return 0;
    while (<$s>) {
        return $1 if /^VmHWM:\s+(\d+)/;
    }
    return 0;
}

sub wait_log {
    my ($re, $max) = @_;
    my $t0 = Time::HiRes::time();
    while (1) {
        my $t = Time::HiRes::time() - $t0;
        return $t if log_since_mark() =~ $re;
        return undef if $t > $max;
        Time::HiRes::sleep(0.01);
    }
}

package FaultTest;

END {
    if ($$ == $OWNER_PID) {
        local $?;
        FaultTest::FakeRedis::stop_all();
        FaultTest::FakeRedis::remove_logs();
    }
}

1;
