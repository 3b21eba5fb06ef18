package SpringTest;

# The real Spring Boot application (t/spring, built by "make spring") beside
# the module in tests: start a configuration's jar against a Redis, wait
# until it serves and listens to Redis, talk to it and to nginx through one
# cookie jar, read what it wrote (every byte, JDK serialization decoded),
# and watch what it sends to Redis (MONITOR, PSUBSCRIBE).  And the interop
# tests built on that: the module's configuration for each Spring setup
# (%NGINX, probed with nginx -t), the scenarios (SpringTest::Scenario) and
# the Test::Nginx blocks that run them (SpringTest::Blocks).
#
#     use lib 't/inc';
#     use SharedSessionTest;
#     use SpringTest;
#
#     SpringTest::skip_all_unless_built('seed');   # plan skip_all otherwise
#     my $app = SpringTest->start(config => 'seed', host => 'spring-1',
#                                 redis_port => $port);
#     my $c = SpringTest::Client->new;
#     my $r = $c->get($app->port, '/1');          # { status, json, ... }
#     $c->get(SharedSessionTest::server_port(), '/a');   # same cookies
#     print SpringTest::dump_redis(port => $port);
#     $app->stop;                                  # also done at exit
#
# Pure Perl, core modules only.  See the POD at the end.

use strict;
use warnings;

use Config ();
use Cwd ();
use File::Basename ();
use File::Path ();
use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 ();
use POSIX ();
use Time::HiRes ();

use SharedSessionTest;

my $OWNER_PID = $$;
my $IO_TIMEOUT = 10;

our $TOP = Cwd::abs_path(File::Basename::dirname(__FILE__) . '/../..');
our $JAR_DIR = $ENV{SPRING_JAR_DIR} // "$TOP/build/spring";

# The configurations of issue 13 (scripts/spring.sh has the same table):
# the jar, the Spring profiles, whether the repository is the indexed one
# (shadow keys, events), the serializer of the values, and where the indexed
# repository keeps expirations (minute buckets or Spring Session 3.4+'s
# sorted set; none for the default repository).
our %CONFIG = (
    'seed' => { jar => 'boot2', profiles => 'json',
                indexed => 1, serializer => 'json', store => 'buckets' },
    'boot2-default' => { jar => 'boot2', profiles => '',
                         indexed => 1, serializer => 'jdk',
                         store => 'buckets' },
    'boot3-indexed' => { jar => 'boot3', profiles => 'indexed,json',
                         indexed => 1, serializer => 'json',
                         store => 'buckets' },
    'boot3-default' => { jar => 'boot3', profiles => '',
                         indexed => 0, serializer => 'jdk', store => '' },
    # not one of the four: Spring Session 3.4+'s sorted set of expirations
    'boot3-indexed-zset' => { jar => 'boot3', profiles => 'indexed,json,zset',
                              indexed => 1, serializer => 'json',
                              store => 'zset' },
);

# Small and quick to start: a test peer on 2 shared cores.
our @JVM_FLAGS = qw(-Xmx256m -Xss512k -XX:TieredStopAtLevel=1
                    -XX:+UseSerialGC);

my @Apps;    # every app started, for the cleanup at exit


############################################################################
# Jars

sub config {
    my ($name) = @_;
    my $c = $CONFIG{$name} or die "SpringTest: unknown configuration '$name'\n";
    return $c;
}

sub jar {
    my ($name) = @_;
    return "$JAR_DIR/" . config($name)->{jar} . '.jar';
}

# The jars that the configurations need and that are not built.
sub missing_jars {
    my (@names) = @_;
    my %seen;
    return grep { !-f $_ && !$seen{$_}++ } map { jar($_) } @names;
}

# For the top of a .t file: skips the whole file, saying why, when a jar is
# missing or there is no java.
sub skip_all_unless_built {
    my (@names) = @_;
    my @missing = missing_jars(@names);
    my $why;
    if (@missing) {
        $why = "Spring jars not built (@missing): run \"make spring\"";
    } elsif (system('java -version >/dev/null 2>&1') != 0) {
        $why = 'no java: run "make spring" (it installs '
               . 'openjdk-17-jdk-headless)';
    }
    return unless $why;
    print "1..0 # SKIP $why\n";
    exit 0;
}


############################################################################
# Apps

# SpringTest->start(config => NAME, redis_port => P [, redis_host => H],
#                   or cluster => [ 'host:port', ... ] (the seeds) and
#                   nodes => [ 'host:port', ... ] (all nodes, where its
#                   subscription may land; default: the seeds),
#                   host => HOSTNAME, port => P, timeout => seconds,
#                   session_timeout => seconds, env => { NAME => value })
# Starts the jar on 127.0.0.1 and waits until it is ready: "Started" in its
# log, GET /events answers 200 and, for an indexed repository, its
# subscriptions are registered (on a cluster: on one of the seeds).
sub start {
    my ($class, %opt) = @_;
    my $name = $opt{config} // 'seed';
    my $conf = config($name);
    my $jar = jar($name);
    die "SpringTest: $jar is not built: run \"make spring\"\n" unless -f $jar;

    my $port = $opt{port} // SharedSessionTest::free_port();
    my $dir = File::Temp::tempdir('ss-spring-XXXXXX', TMPDIR => 1);
    my $self = bless {
        config => $name, port => $port, dir => $dir, log => "$dir/app.log",
        host => $opt{host} // "spring-$port",
        redis => { host => $opt{redis_host} // '127.0.0.1',
                   port => $opt{redis_port} // $ENV{TEST_NGINX_REDIS_PORT} },
        cluster => $opt{cluster},
        nodes => $opt{nodes} // $opt{cluster},
    }, $class;

    my %env = (
        HOSTNAME => $self->{host},
        SERVER_PORT => $port,
        SERVER_ADDRESS => '127.0.0.1',
        SPRING_PROFILES_ACTIVE => $conf->{profiles},
    );
    if ($opt{cluster}) {
        my ($h, $p) = split /:/, $opt{cluster}[0];
        %env = (%env, REDIS_CLUSTER => 'true',
                REDIS_CLUSTER_NODES => join(',', @{ $opt{cluster} }),
                REDIS_CLUSTER_ENDPOINT => $h, REDIS_CLUSTER_PORT => $p);
    } else {
        %env = (%env, REDIS_CLUSTER_ENDPOINT => $self->{redis}{host},
                REDIS_CLUSTER_PORT => $self->{redis}{port});
    }
    $env{APP_SESSION_TIMEOUT} = $opt{session_timeout}
        if defined $opt{session_timeout};
    %env = (%env, %{ $opt{env} // {} });

    my $subs = $conf->{indexed} ? $self->_subscribers : 0;

    my $t0 = Time::HiRes::time();
    my $pid = fork();
    die "SpringTest: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        _die_with_parent();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $self->{log} or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        delete $ENV{REDIS_CLUSTER};
        delete $ENV{REDIS_CLUSTER_NODES};
        @ENV{ keys %env } = values %env;
        exec('java', @JVM_FLAGS, '-jar', $jar) or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    push @Apps, $self;

    my $deadline = $t0 + ($opt{timeout} // 120);
    my ($started, $served, $subscribed) = (0, 0, 0);
    while (Time::HiRes::time() < $deadline) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            delete $self->{pid};
            die "SpringTest: $name exited before it was ready:\n"
                . $self->log_tail(40);
        }
        $started ||= $self->log =~ /Started Application in/;
        $served ||= $started && eval {
            _http('GET', '127.0.0.1', $port, '/events')->{status} == 200;
        };
        $subscribed = !$conf->{indexed} || $self->_subscribers > $subs
            if $served;
        if ($served && $subscribed) {
            $self->{startup} = Time::HiRes::time() - $t0;
            return $self;
        }
        Time::HiRes::sleep(0.1);
    }
    my $log = $self->log_tail(40);
    $self->stop;
    die "SpringTest: $name not ready after " . ($opt{timeout} // 120)
        . " s (started=$started served=$served):\n$log";
}

# Connections subscribed to the key-event channel of deletions, which every
# indexed repository listens to (on a cluster: on all its nodes; the app
# subscribes on one of them, see subscribed_nodes).
sub _subscribers {
    my ($self) = @_;
    my $n = 0;
    $n += $_ for values %{ $self->subscribed_nodes(1) };
    return $n;
}

# { 'host:port' => subscribers } of the deletion key-event channel, for the
# Redis (or the cluster's nodes: the start option nodes, by default the
# seeds) the app was given; with $all, the nodes with none too.
sub subscribed_nodes {
    my ($self, $all) = @_;
    my @nodes = $self->{nodes}
        ? @{ $self->{nodes} }
        : ("$self->{redis}{host}:$self->{redis}{port}");
    my %n;
    for my $node (@nodes) {
        my ($h, $p) = split /:/, $node;
        my $r = redis({ host => $h, port => $p },
                      'PUBSUB', 'NUMSUB', '__keyevent@0__:del');
        $n{$node} = $r->[1] if $all || $r->[1];
    }
    return \%n;
}

# prctl(PR_SET_PDEATHSIG, SIGKILL): the app dies with the test process.
my %PRCTL = (x86_64 => 157, aarch64 => 167, i386 => 172, i686 => 172);

sub _die_with_parent {
    my ($arch) = split /-/, $Config::Config{archname};
    my $nr = $PRCTL{$arch} or return;
    syscall($nr, 1, 9);
}

sub port    { $_[0]{port} }
sub pid     { $_[0]{pid} }
sub host    { $_[0]{host} }
sub name    { $_[0]{config} }
sub startup { $_[0]{startup} }
sub indexed { config($_[0]{config})->{indexed} }

sub log {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return '';
    local $/;
    return scalar(<$fh>) // '';
}

sub log_tail {
    my ($self, $n) = @_;
    my @l = split /\n/, $self->log;
    splice @l, 0, @l - $n if @l > $n;
    return join '', map { "    $_\n" } @l;
}

# Resident memory of the JVM, in KiB.
sub rss_kb {
    my ($self) = @_;
    open my $fh, '<', "/proc/$self->{pid}/status" or return undef;
    while (<$fh>) {
        return $1 if /^VmRSS:\s+(\d+)/;
    }
    return undef;
}

# The session events the app received: [ { type, sessionId, time }, ... ]
sub events {
    my ($self) = @_;
    my $r = _http('GET', '127.0.0.1', $self->{port}, '/events');
    die "SpringTest: GET /events: $r->{status}\n" unless $r->{status} == 200;
    return JSON::PP::decode_json($r->{body});
}

# Waits (at most $timeout s) until the app has received an event of this
# type for this id; returns it, or undef.
sub wait_event {
    my ($self, $type, $id, $timeout) = @_;
    my $deadline = Time::HiRes::time() + ($timeout // 5);
    while (1) {
        my ($e) = grep { $_->{type} eq $type && $_->{sessionId} eq $id }
                  @{ $self->events };
        return $e if $e;
        return undef if Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep(0.05);
    }
}

# SIGSTOP / SIGCONT: a frozen app reads nothing, its keyspace events wait
# in Redis, so that what the module wrote alone can be looked at.
sub pause {
    my ($self) = @_;
    kill 'STOP', $self->{pid} if $self->{pid};
    return;
}

sub resume {
    my ($self) = @_;
    kill 'CONT', $self->{pid} if $self->{pid};
    return;
}

sub alive {
    my ($self) = @_;
    return 0 unless $self->{pid};
    if (waitpid($self->{pid}, POSIX::WNOHANG()) == $self->{pid}) {
        delete $self->{pid};
        return 0;
    }
    return 1;
}

# SIGTERM (Spring shuts down gracefully), SIGKILL after 5 s; reaped.
sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    SharedSessionTest::stop_pid($pid);
    return;
}

END {
    if ($$ == $OWNER_PID) {
        local $?;
        for my $app (@Apps) {
            $app->stop;
            File::Path::remove_tree($app->{dir}) if $app->{dir};
        }
    }
}


############################################################################
# HTTP: HTTP/1.0, so that the answer ends when the server closes, after
# whatever it does once the body is written (Spring saves the session
# after its JSON has been flushed).

sub _http {
    my ($method, $host, $port, $path, @hdr) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                     Proto => 'tcp', Timeout => $IO_TIMEOUT)
        or die "SpringTest: connect $host:$port: $!\n";
    binmode $sock;
    my $req = "$method $path HTTP/1.0\r\nHost: $host:$port\r\n";
    while (my ($k, $v) = splice @hdr, 0, 2) {
        $req .= "$k: $v\r\n";
    }
    print $sock "$req\r\n";
    my $raw = '';
    my $sel = IO::Select->new($sock);
    while (1) {
        $sel->can_read($IO_TIMEOUT)
            or die "SpringTest: $method $host:$port$path: no answer in "
                   . "$IO_TIMEOUT s\n";
        my $n = sysread($sock, my $chunk, 65536);
        die "SpringTest: read: $!\n" unless defined $n;
        last unless $n;
        $raw .= $chunk;
    }
    close $sock;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my @lines = split /\r\n/, $head // '';
    my ($status) = (shift(@lines) // '') =~ m{^HTTP/\S+\s+(\d+)};
    my %headers;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        push @{ $headers{ lc $k } }, $v;
    }
    my $r = { status => $status // 0, headers => \%headers,
              body => $body // '' };
    if (($headers{'content-type'}[0] // '') =~ m{application/json}) {
        $r->{json} = eval { JSON::PP::decode_json($r->{body}) };
    }
    return $r;
}


package SpringTest::Client;

# A browser's cookie jar over several servers on 127.0.0.1 (cookies do not
# depend on the port): nginx and the Spring app share the SESSION cookie.

sub new {
    my ($class) = @_;
    return bless { jar => {} }, $class;
}

# get($port, $path, Header => value ...) -> { status, headers, body, json }
sub get {
    my ($self, $port, $path, @hdr) = @_;
    my %jar = %{ $self->{jar} };
    push @hdr, Cookie => join '; ', map { "$_=$jar{$_}" } sort keys %jar
        if %jar;
    my $r = SpringTest::_http('GET', '127.0.0.1', $port, $path, @hdr);
    for my $sc (@{ $r->{headers}{'set-cookie'} // [] }) {
        my ($nv, @attrs) = split /;\s*/, $sc;
        my ($n, $v) = split /=/, $nv, 2;
        if (!defined $v || $v eq '' || grep { /^max-age=0$/i } @attrs) {
            delete $self->{jar}{$n};
        } else {
            $self->{jar}{$n} = $v;
        }
    }
    return $r;
}

sub cookie {
    my ($self, $name) = @_;
    return $self->{jar}{ $name // 'SESSION' };
}

sub set_cookie {
    my ($self, $name, $value) = @_;
    if (defined $value) {
        $self->{jar}{$name} = $value;
    } else {
        delete $self->{jar}{$name};
    }
}

# The session id the SESSION cookie names (Base64-decoded).
sub session_id {
    my ($self) = @_;
    my $v = $self->{jar}{SESSION} // return undef;
    return MIME::Base64::decode_base64($v);
}


package SpringTest;

############################################################################
# JDK serialization (java.io.ObjectOutputStream), enough for what Spring
# Session stores: Long, Integer, String, Date, HashMap and beans made of
# them.  Encoders for the values the module writes, and a decoder.

my $STREAM = "\xac\xed\x00\x05";
my $NUMBER_DESC = "\x72\x00\x10java.lang.Number\x86\xac\x95\x1d\x0b\x94\xe0\x8b"
                  . "\x02\x00\x00\x78\x70";

sub jdk_long {
    my ($n) = @_;
    return $STREAM . "\x73\x72\x00\x0ejava.lang.Long\x3b\x8b\xe4\x90\xcc\x8f"
           . "\x23\xdf\x02\x00\x01\x4a\x00\x05value\x78" . $NUMBER_DESC
           . pack('q>', $n);
}

sub jdk_integer {
    my ($n) = @_;
    return $STREAM . "\x73\x72\x00\x11java.lang.Integer\x12\xe2\xa0\xa4\xf7"
           . "\x81\x87\x38\x02\x00\x01\x49\x00\x05value\x78" . $NUMBER_DESC
           . pack('l>', $n);
}

# Java's modified UTF-8 of a Perl string (characters, not bytes).
sub _mutf8 {
    my ($s) = @_;
    my $out = '';
    for my $c (map { ord } split //, $s) {
        if ($c >= 0x10000) {    # a surrogate pair, each in 3 bytes
            my $v = $c - 0x10000;
            $out .= _mutf8(chr(0xd800 + ($v >> 10)) . chr(0xdc00 + ($v & 0x3ff)));
        } elsif ($c >= 1 && $c < 0x80) {
            $out .= chr $c;
        } elsif ($c < 0x800) {
            $out .= chr(0xc0 | ($c >> 6)) . chr(0x80 | ($c & 0x3f));
        } else {
            $out .= chr(0xe0 | ($c >> 12)) . chr(0x80 | (($c >> 6) & 0x3f))
                    . chr(0x80 | ($c & 0x3f));
        }
    }
    return $out;
}

sub _utf {
    my ($s) = @_;
    my $b = _mutf8($s);
    return pack('n', length $b) . $b;
}

sub jdk_string {
    my ($s) = @_;
    return $STREAM . "\x74" . _utf($s);
}

# The seed's SampleSession { String host; Date lastUpdatedAt } as
# ObjectOutputStream writes it; $suid is the class's serialVersionUID (the
# seed declares none: the JVM computes 2326897810215790710 for it).
our $SAMPLE_SESSION_SUID = '2326897810215790710';

sub jdk_sample_session {
    my ($host, $ms, $suid, $class) = @_;
    $class //= $SharedSessionTest::DEFAULT_CLASS;
    $suid //= $SAMPLE_SESSION_SUID;
    return $STREAM . "\x73\x72" . _utf($class) . pack('q>', $suid)
           . "\x02\x00\x02"
           . "\x4c" . _utf('host') . "\x74" . _utf('Ljava/lang/String;')
           . "\x4c" . _utf('lastUpdatedAt') . "\x74" . _utf('Ljava/util/Date;')
           . "\x78\x70"
           . (defined $host ? "\x74" . _utf($host) : "\x70")
           . (defined $ms
              ? "\x73\x72" . _utf('java.util.Date')
                . "\x68\x6a\x81\x01\x4b\x59\x74\x19\x03\x00\x00\x78\x70"
                . "\x77\x08" . pack('q>', $ms) . "\x78"
              : "\x70");
}

# jdk_decode($bytes) -> the value, or dies with the offset it stopped at.
# Strings come back as { string => '...' }, objects as { class, suid,
# fields => { name => value }, block => [ byte strings and objects written
# by writeObject ] }, null as undef.
sub jdk_decode {
    my ($bytes) = @_;
    die "not a Java serialization stream\n"
        unless substr($bytes, 0, 4) eq $STREAM;
    my $st = { b => $bytes, o => 4, handles => [] };
    my $v = _content($st);
    die "trailing bytes at $st->{o}\n" if $st->{o} != length $bytes;
    return $v;
}

sub _take {
    my ($st, $n) = @_;
    die "truncated at $st->{o}\n" if $st->{o} + $n > length $st->{b};
    my $s = substr($st->{b}, $st->{o}, $n);
    $st->{o} += $n;
    return $s;
}

sub _u8  { ord _take($_[0], 1) }
sub _u16 { unpack 'n', _take($_[0], 2) }
sub _utf_in {
    my ($st, $long) = @_;
    my $b = _take($st, $long ? unpack('Q>', _take($st, 8)) : _u16($st));
    # modified UTF-8 decodes as UTF-8 for everything a session holds
    my $s = $b;
    utf8::decode($s);
    return $s;
}

sub _content {
    my ($st) = @_;
    my $tc = _u8($st);
    return undef if $tc == 0x70;
    if ($tc == 0x71) {
        my $h = unpack('N', _take($st, 4)) - 0x7e0000;
        return $st->{handles}[$h];
    }
    if ($tc == 0x74 || $tc == 0x7c) {
        my $s = { string => _utf_in($st, $tc == 0x7c) };
        push @{ $st->{handles} }, $s;
        return $s;
    }
    if ($tc == 0x72) {
        $st->{o}--;
        return _classdesc($st);
    }
    if ($tc == 0x73) {
        my $desc = _classdesc($st);
        my $obj = { class => $desc->{name}, suid => $desc->{suid},
                    fields => {}, block => [] };
        push @{ $st->{handles} }, $obj;
        my @chain;
        for (my $d = $desc; $d; $d = $d->{super}) {
            unshift @chain, $d;
        }
        for my $d (@chain) {
            for my $f (@{ $d->{fields} }) {
                $obj->{fields}{ $f->{name} } = _field($st, $f->{type});
            }
            push @{ $obj->{block} }, _annotation($st) if $d->{flags} & 0x01;
        }
        return $obj;
    }
    if ($tc == 0x77) {
        return { blockdata => _take($st, _u8($st)) };
    }
    if ($tc == 0x7a) {
        return { blockdata => _take($st, unpack('N', _take($st, 4))) };
    }
    if ($tc == 0x7e) {
        my $desc = _classdesc($st);
        my $e = { class => $desc->{name}, enum => undef };
        push @{ $st->{handles} }, $e;
        $e->{enum} = _content($st)->{string};
        return $e;
    }
    if ($tc == 0x75) {
        my $desc = _classdesc($st);
        my $a = { class => $desc->{name}, array => [] };
        push @{ $st->{handles} }, $a;
        my $n = unpack('N', _take($st, 4));
        my $type = substr($desc->{name}, 1, 1);
        push @{ $a->{array} }, _field($st, $type) for 1 .. $n;
        return $a;
    }
    die sprintf("type code 0x%02x not handled at %d\n", $tc, $st->{o} - 1);
}

sub _annotation {
    my ($st) = @_;
    my @a;
    while (1) {
        if (ord(substr($st->{b}, $st->{o}, 1)) == 0x78) {
            $st->{o}++;
            return @a;
        }
        push @a, _content($st);
    }
}

sub _classdesc {
    my ($st) = @_;
    my $tc = _u8($st);
    return undef if $tc == 0x70;
    if ($tc == 0x71) {
        return $st->{handles}[unpack('N', _take($st, 4)) - 0x7e0000];
    }
    die sprintf("class descriptor expected, 0x%02x at %d\n", $tc, $st->{o} - 1)
        unless $tc == 0x72;
    my $d = { name => _utf_in($st),
              suid => unpack('q>', _take($st, 8)), fields => [] };
    push @{ $st->{handles} }, $d;
    $d->{flags} = _u8($st);
    for (1 .. _u16($st)) {
        my $type = chr _u8($st);
        my $f = { type => $type, name => _utf_in($st) };
        $f->{class} = _content($st)->{string} if $type eq 'L' || $type eq '[';
        push @{ $d->{fields} }, $f;
    }
    _annotation($st);
    $d->{super} = _classdesc($st);
    return $d;
}

my %PRIM = (B => ['c', 1], C => ['n', 2], D => ['d>', 8], F => ['f>', 4],
            I => ['l>', 4], J => ['q>', 8], S => ['s>', 2], Z => ['C', 1]);

sub _field {
    my ($st, $type) = @_;
    if (my $p = $PRIM{$type}) {
        return unpack($p->[0], _take($st, $p->[1]));
    }
    return _content($st);
}

# A short text for a decoded value: Long(1), Integer(1800), "text",
# Date(ms), Class#suid{field=value, ...}, HashMap{k=v, ...}.
sub jdk_text {
    my ($v) = @_;
    return 'null' unless defined $v;
    return $v unless ref $v;
    return JSON::PP->new->ascii->allow_nonref->encode($v->{string})
        if exists $v->{string};
    return 'block(' . unpack('H*', $v->{blockdata}) . ')'
        if exists $v->{blockdata};
    return "$v->{class}.$v->{enum}" if exists $v->{enum};
    return "$v->{class}\[" . join(', ', map { jdk_text($_) } @{ $v->{array} })
           . ']' if exists $v->{array};
    my $c = $v->{class} // '?';
    my %f = %{ $v->{fields} // {} };
    if ($c =~ /^java\.lang\.(Long|Integer|Short|Byte|Boolean|Double|Float)$/) {
        return "$1($f{value})";
    }
    if ($c eq 'java.util.Date') {
        my ($b) = grep { ref $_ && exists $_->{blockdata} } @{ $v->{block} };
        return 'Date(' . unpack('q>', $b->{blockdata}) . ')';
    }
    if ($c eq 'java.util.HashMap' || $c eq 'java.util.LinkedHashMap') {
        my @kv = grep { !(ref $_ && exists $_->{blockdata}) } @{ $v->{block} };
        my @pairs;
        while (my ($k, $val) = splice @kv, 0, 2) {
            push @pairs, jdk_text($k) . '=' . jdk_text($val);
        }
        (my $short = $c) =~ s/.*\.//;
        return "$short\{" . join(', ', @pairs) . '}';
    }
    return "$c#$v->{suid}\{"
           . join(', ', map { "$_=" . jdk_text($f{$_}) } sort keys %f) . '}';
}

# A stored value as text: JDK serialization decoded, else the bytes with
# non-printable ones as \xNN.
sub value_text {
    my ($bytes) = @_;
    return '(nil)' unless defined $bytes;
    if (substr($bytes, 0, 4) eq $STREAM) {
        my $v = eval { jdk_decode($bytes) };
        return 'jdk:' . jdk_text($v) if !$@;
    }
    return escape($bytes);
}

sub escape {
    my ($v) = @_;
    return '(nil)' unless defined $v;
    $v =~ s/([\\])/\\\\/g;
    $v =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    return $v;
}

# A stored number: decimal text (JSON), ["java.lang.Long",n], or a
# JDK-serialized Long/Integer.  Undef if none of these.
sub number {
    my ($bytes) = @_;
    return undef unless defined $bytes;
    return $1 + 0 if $bytes =~ /^\[?(?:"java\.lang\.(?:Long|Integer)",)?(-?\d+)\]?\z/;
    if (substr($bytes, 0, 4) eq $STREAM) {
        my $v = eval { jdk_decode($bytes) } or return undef;
        return $v->{fields}{value}
            if ref $v && ($v->{class} // '') =~ /^java\.lang\.(Long|Integer)$/;
    }
    return undef;
}

# The host recorded in a stored SampleSession attribute, JSON or JDK.
sub attr_host {
    my ($bytes) = @_;
    return undef unless defined $bytes && length $bytes;
    if (substr($bytes, 0, 4) eq $STREAM) {
        my $v = eval { jdk_decode($bytes) } or return undef;
        my $h = $v->{fields}{host};
        return ref $h ? $h->{string} : undef;
    }
    my $j = eval { JSON::PP::decode_json($bytes) } or return undef;
    return ref $j eq 'HASH' ? $j->{host} : undef;
}

sub hex_dump {
    my ($bytes) = @_;
    my $out = '';
    for (my $o = 0; $o < length $bytes; $o += 16) {
        my $row = substr($bytes, $o, 16);
        (my $asc = $row) =~ s/[^\x20-\x7e]/./g;
        $out .= sprintf("%04x  %-47s  %s\n", $o,
                        join(' ', map { sprintf '%02x', ord } split //, $row),
                        $asc);
    }
    return $out;
}


############################################################################
# Redis state, whole: every key with its type, TTL and content.

# One connection kept for dumps, so that watch() can leave its commands
# out of a MONITOR transcript.
my %Tool;

sub _tool {
    my (%t) = @_;
    my $key = join ':', map { $_ // '' } @t{qw(host port)};
    my $c = $Tool{$key};
    if (!$c || !eval { $c->cmd('PING') }) {
        $c = $Tool{$key} = SharedSessionTest::connect_redis(%t);
    }
    return $c;
}

sub _tool_addrs {
    return map { '127.0.0.1:' . $_->{sock}->sockport } values %Tool;
}

# redis(%target, @command): a command on the dump connection.
sub redis {
    my ($t, @cmd) = @_;
    return _tool(%$t)->cmd(@cmd);
}

# dump_redis(port => P [, host => H] | conn => $c) -> text, keys sorted
# ($c: anything with cmd(), e.g. a ClusterTest router):
#   hash spring:session:sessions:<id> pttl=2099990
#     creationTime = jdk:Long(1796392795024)
#   string spring:session:sessions:expires:<id> pttl=1799990 ""
#   set spring:session:expirations:1796394600000 pttl=2099990
#     "expires:<id>"
#   zset spring:session:sessions:expirations pttl=-1
#     <member> score=<score>
# Values print as value_text() shows them; raw => 1 prints every value as
# escaped bytes instead, hex => 1 adds a hex dump of each JDK value.
sub dump_redis {
    my (%opt) = @_;
    my %t = (host => $opt{host} // '127.0.0.1',
             port => $opt{port} // $ENV{TEST_NGINX_REDIS_PORT});
    my $c = $opt{conn} // _tool(%t);
    my $show = sub {
        my ($v) = @_;
        my $s = $opt{raw} ? escape($v) : value_text($v);
        $s .= "\n" . join '', map { "        $_\n" } split /\n/, hex_dump($v)
            if $opt{hex} && defined $v && substr($v, 0, 4) eq $STREAM;
        return $s;
    };
    my $out = '';
    for my $k (sort @{ $c->cmd('KEYS', '*') }) {
        my $type = $c->cmd('TYPE', $k);
        my $pttl = $c->cmd('PTTL', $k);
        $out .= "$type " . escape($k) . " pttl=$pttl";
        if ($type eq 'hash') {
            my %h = @{ $c->cmd('HGETALL', $k) };
            $out .= "\n";
            $out .= "  $_ = " . $show->($h{$_}) . "\n" for sort keys %h;
        } elsif ($type eq 'string') {
            my $v = $c->cmd('GET', $k);
            $out .= ' ' . (length $v ? $show->($v) : '""') . "\n";
        } elsif ($type eq 'set') {
            $out .= "\n";
            $out .= '  ' . $show->($_) . "\n"
                for sort @{ $c->cmd('SMEMBERS', $k) };
        } elsif ($type eq 'zset') {
            my @z = @{ $c->cmd('ZRANGE', $k, 0, -1, 'WITHSCORES') };
            $out .= "\n";
            while (my ($m, $s) = splice @z, 0, 2) {
                $out .= '  ' . $show->($m) . " score=$s\n";
            }
        } else {
            $out .= "\n";
        }
    }
    return $out eq '' ? "(no keys)\n" : $out;
}

# The ids of the session hashes in Redis (namespace spring:session).
sub session_ids {
    my (%opt) = @_;
    my %t = (host => $opt{host} // '127.0.0.1',
             port => $opt{port} // $ENV{TEST_NGINX_REDIS_PORT});
    my $ns = $opt{namespace} // $SharedSessionTest::DEFAULT_NS;
    return sort map { /^\Q$ns\E:sessions:([^:]+)\z/ ? $1 : () }
                @{ _tool(%t)->cmd('KEYS', "$ns:sessions:*") };
}

# The session hash as { field => bytes }.
sub session_hash {
    my ($id, %opt) = @_;
    my %t = (host => $opt{host} // '127.0.0.1',
             port => $opt{port} // $ENV{TEST_NGINX_REDIS_PORT});
    my $ns = $opt{namespace} // $SharedSessionTest::DEFAULT_NS;
    return { @{ _tool(%t)->cmd('HGETALL', "$ns:sessions:$id") } };
}


############################################################################
# Watching Redis: MONITOR (every command, from every client but the dump
# connection) and PSUBSCRIBE * (every PUBLISH and keyspace notification).

package SpringTest::Watch;

# SpringTest::Watch->new(port => P [, host => H], kind => 'monitor' |
# 'psubscribe')
sub new {
    my ($class, %opt) = @_;
    my %t = (host => $opt{host} // '127.0.0.1',
             port => $opt{port} // $ENV{TEST_NGINX_REDIS_PORT});
    my $c = SharedSessionTest::connect_redis(%t);
    my $kind = $opt{kind} // 'monitor';
    if ($kind eq 'monitor') {
        $c->cmd('MONITOR');
    } else {
        $c->cmd('PSUBSCRIBE', '*');
    }
    return bless { conn => $c, kind => $kind }, $class;
}

# Everything seen since the last call, one line each: MONITOR lines without
# their timestamp and client ("HMSET" "key" ...), or "channel payload"
# with the payload escaped.  Waits until nothing came for $quiet seconds.
sub lines {
    my ($self, $quiet) = @_;
    my $c = $self->{conn};
    my $sel = IO::Select->new($c->{sock});
    my %skip = map { $_ => 1 } SpringTest::_tool_addrs();
    my @out;
    while (length $c->{buf} || $sel->can_read($quiet // 0.3)) {
        my $r = $c->_reply;
        if ($self->{kind} eq 'monitor') {
            my ($addr, $cmd) = $r =~ /^\S+ \[\d+ (\S+)\] (.*)$/ or next;
            next if $skip{$addr};
            push @out, $cmd;
        } elsif (ref $r eq 'ARRAY' && $r->[0] eq 'pmessage') {
            push @out, "$r->[2] " . SpringTest::value_text($r->[3]);
        }
    }
    return @out;
}

sub close {
    my ($self) = @_;
    close $self->{conn}{sock} if $self->{conn};
    delete $self->{conn};
}


package SpringTest;

############################################################################
# The module's side of each configuration (issue 13): the location
# directives that a user of that Spring setup writes, in one place for
# every interop test file (t/050, t/052, t/053).  The names are provisional:
# the module's support for them is written in parallel, and whoever merges
# it aligns the names here.

our %NGINX = (
    'seed' => [
        'shared_session_serializer json',
        'shared_session_repository indexed',
        'shared_session_expiration_store buckets',
    ],
    'boot2-default' => [
        'shared_session_serializer jdk',
        'shared_session_jdk_serial_version_uid 2326897810215790710',
        'shared_session_repository indexed',
        'shared_session_expiration_store buckets',
    ],
    'boot3-indexed' => [
        'shared_session_serializer json',
        'shared_session_repository indexed',
        'shared_session_expiration_store buckets',
    ],
    'boot3-default' => [
        'shared_session_serializer jdk',
        'shared_session_jdk_serial_version_uid 2326897810215790710',
        'shared_session_repository default',
    ],
    'boot3-indexed-zset' => [
        'shared_session_serializer json',
        'shared_session_repository indexed',
        'shared_session_expiration_store sorted_set',
    ],
);

# Directives that ask for what the module already does without them: while
# nginx -t does not know one, it is left out and the configuration runs.
our %AS_TODAY = map { $_ => 1 } (
    'shared_session_serializer json',
    'shared_session_repository indexed',
    'shared_session_expiration_store buckets',
);

# What Spring expects from a writer beyond the directives above, each with
# the directive whose acceptance by nginx -t says the module claims to do
# it: until then its tests are TODO tests, after that real ones (a TODO
# test that passes shows as "TODO passed" in prove's summary).
our %FEATURE = (
    created_event => {
        probe => 'shared_session_repository indexed',
        what => 'the PUBLISH of Spring\'s created event '
                . '(<ns>:event:0:created:<id>) for a session nginx creates',
    },
    principal_index => {
        probe => 'shared_session_repository indexed',
        what => 'the SREM of an invalidated session from Spring\'s '
                . 'principal index',
    },
    invalidation_bucket => {
        probe => 'shared_session_repository indexed',
        what => 'the SADD of an invalidated session to the bucket of '
                . 'lastAccessedTime + 0, as Spring\'s save does',
    },
);

my %Probe;    # directive lines => { ok, message }

# nginx_t(@directive_lines) -> { ok, message }: does "nginx -t" (the
# TEST_NGINX_BINARY with TEST_NGINX_LOAD_MODULES, as the tests run it)
# accept these directives in the locations of the interop tests?  message
# is nginx's [emerg] line when it does not.  Cached.
sub nginx_t {
    my (@lines) = @_;
    my $key = join "\n", @lines;
    return $Probe{$key} //= _nginx_t(@lines);
}

sub _nginx_t {
    my (@lines) = @_;
    my $dir = File::Temp::tempdir('ss-nginx-t-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    File::Path::make_path("$dir/logs");
    my $load = join '', map { "load_module $_;\n" }
               grep { length } split /\s+/, $ENV{TEST_NGINX_LOAD_MODULES} // '';
    my $set = join '', map { "            $_;\n" } @lines;
    open my $fh, '>', "$dir/nginx.conf" or die "SpringTest: $dir: $!\n";
    print $fh <<"CONF";
${load}pid logs/nginx.pid;
error_log logs/error.log;
events {
    worker_connections 16;
}
http {
    access_log off;
    shared_session_redis 127.0.0.1:6379;
    server {
        listen 127.0.0.1:1;
        location ~ ^/[0-9]+\$ {
            shared_session;
$set        }
        location = /invalidateSession {
            shared_session_invalidate;
$set        }
    }
}
CONF
    close $fh;
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $cmd = join ' ', map { quotemeta } $bin, '-t', '-q', '-p', "$dir/",
                                          '-c', "$dir/nginx.conf",
                                          '-e', "$dir/logs/error.log";
    my $out = `$cmd 2>&1`;
    my $ok = $? == 0;
    my ($msg) = $out =~ /\[emerg\]\s*(.*?)(?: in \Q$dir\E\S*)?\s*$/m;
    return { ok => $ok, message => $ok ? '' : $msg // $out };
}

# Is this rejection nginx's "unknown directive" for the directive of the
# line?  Anything else (a value, a context, a combination it refuses) means
# the module has the directive under the provisional name but disagrees
# with %NGINX: the tests must then fail, not skip.
sub _unknown_directive {
    my ($line, $p) = @_;
    my ($name) = split ' ', $line;
    return $p->{message} =~ /^unknown directive "\Q$name\E"/;
}

# nginx_support(CONFIG) -> { ok, lines => [ directives to write ],
#                            dropped => [ ... ], reason, misaligned }
# The directives of %NGINX that nginx accepts (those of %AS_TODAY it does
# not know yet left out); ok is false, with the reason, when it does not
# know another one (the blocks are skipped), and misaligned is set, with
# the reason, when it knows it but rejects the line (the blocks fail).
# Dies when nginx -t fails even without them (a broken build must fail
# the tests, not skip them).
sub nginx_support {
    my ($name) = @_;
    my $lines = $NGINX{$name}
        or die "SpringTest: no nginx configuration for '$name'\n";
    my $base = nginx_t();
    die "SpringTest: nginx -t fails without any Spring directive: "
        . "$base->{message}\n" unless $base->{ok};
    my (@use, @dropped, @unknown, @refused);
    for my $line (@$lines) {
        my $p = nginx_t($line);
        if ($p->{ok}) {
            push @use, $line;
        } elsif (!_unknown_directive($line, $p)) {
            push @refused, "\"$line\": $p->{message}";
        } elsif ($AS_TODAY{$line}) {
            push @dropped, $line;
        } else {
            push @unknown, $p->{message};
        }
    }
    if (!@unknown && !@refused && @use) {
        my $p = nginx_t(@use);
        push @refused, "the directives together: $p->{message}"
            unless $p->{ok};
    }
    return { ok => !@unknown && !@refused, lines => \@use,
             dropped => \@dropped, misaligned => scalar @refused,
             reason => @refused
                 ? 'nginx -t knows the directives but refuses '
                   . join('; ', @refused) . ': align %SpringTest::NGINX '
                   . 'with the module'
                 : @unknown ? 'nginx -t: ' . join('; ', @unknown) : undef };
}

# The location directives of CONFIG as nginx configuration text.
sub nginx_directives {
    my ($name, $indent) = @_;
    $indent //= '        ';
    return join '', map { "$indent$_;\n" } @{ nginx_support($name)->{lines} };
}

# feature(NAME) -> { ok, reason }
sub feature {
    my ($name) = @_;
    my $f = $FEATURE{$name} or die "SpringTest: unknown feature '$name'\n";
    my $p = nginx_t($f->{probe});
    # a directive nginx knows but refuses: the tests run (and show it)
    return { ok => 1 } if $p->{ok} || !_unknown_directive($f->{probe}, $p);
    return { ok => 0, reason => "not in the module yet: $f->{what} "
                                . "(nginx -t rejects \"$f->{probe}\")" };
}

# An ok() that is a TODO test while the module lacks the feature.
sub feature_ok {
    my ($name, $ok, $test) = @_;
    require Test::More;
    my $f = feature($name);
    my $tb = Test::More->builder;
    $tb->todo_start($f->{reason}) unless $f->{ok};
    my $r = Test::More::ok($ok, $test);
    $tb->todo_end unless $f->{ok};
    return $r;
}


############################################################################
# One app at a time for a test file: the app of the configuration asked
# for, started once and kept while the blocks ask for the same one.

my $Shared;    # [ key, app ]

sub shared_app {
    my (%opt) = @_;
    my $key = join ';', map {
        my $v = $opt{$_};
        "$_=" . (ref $v eq 'ARRAY' ? join(',', @$v)
                 : ref $v eq 'HASH' ? join(',', map { "$_:$v->{$_}" }
                                                sort keys %$v)
                 : $v // '');
    } sort keys %opt;
    return $Shared->[1]
        if $Shared && $Shared->[0] eq $key && $Shared->[1]->alive;
    $Shared->[1]->stop if $Shared;
    undef $Shared;
    my $app = SpringTest->start(%opt);
    if ($ENV{TEST_VERBOSE}) {
        require Test::More;
        Test::More::diag(sprintf('%s app ready in %.1f s, RSS %d MiB',
                                 $app->name, $app->startup,
                                 ($app->rss_kb // 0) / 1024));
    }
    $Shared = [ $key, $app ];
    return $app;
}


############################################################################
# Interop scenarios: requests to nginx and to the Spring app through one
# browser's cookie jar (or several), a transcript line for each, and after
# each answer with a session the Redis checks of its configuration.

package SpringTest::Scenario;

use strict;
use warnings;

our $ATTR = 'sessionAttr:scopedTarget.sampleSession';
our $PRINCIPAL = 'org.springframework.session.FindByIndexNameSessionRepository'
                 . '.PRINCIPAL_NAME_INDEX_NAME';

# SpringTest::Scenario->new(config => NAME, app => $app,
#     redis_port => P | conn => $router (anything with ->cmd: a cluster)
#     and cluster => $cluster (ClusterTest, for the app's node),
#     nginx_port => P (Test::Nginx's), namespace => 'spring:session')
# nginx is expected to record host nginx-1, the app spring-1 (the
# transcripts say so).  FLUSHALLs the Redis (keep => 1: not).
sub new {
    my ($class, %o) = @_;
    my $conf = SpringTest::config($o{config});
    my $self = bless {
        config => $o{config}, conf => $conf, app => $o{app},
        redis => $o{conn} // SpringTest::_tool(
            host => $o{redis_host} // '127.0.0.1',
            port => $o{redis_port} // $ENV{TEST_NGINX_REDIS_PORT}),
        cluster => $o{cluster},
        nginx_port => $o{nginx_port} // SharedSessionTest::server_port(),
        ns => $o{namespace} // $SharedSessionTest::DEFAULT_NS,
        path => { nginx => '/1', spring => '/2' },
        clients => { main => SpringTest::Client->new }, client => 'main',
        ids => {}, next_id => 0, times => {}, lines => [], problems => [],
        n => 0, last => {}, answered => {}, ignore => {},
    }, $class;
    $self->cmd('FLUSHALL') unless $o{keep};
    return $self;
}

sub cmd {
    my ($self, @cmd) = @_;
    return $self->{redis}->cmd(@cmd);
}

sub key        { "$_[0]{ns}:$_[1]" }
sub serializer { $_[0]{conf}{serializer} }
sub indexed    { $_[0]{conf}{indexed} }
sub store      { $_[0]{conf}{store} }
sub app        { $_[0]{app} }

# A string as the configuration's serializer stores it: hash values,
# bucket, index and zset members.
sub ser_string {
    my ($self, $s) = @_;
    return SpringTest::jdk_string($s) if $self->serializer eq 'jdk';
    return JSON::PP->new->allow_nonref->encode($s);
}

sub id_label {
    my ($self, $id) = @_;
    return 'none' unless defined $id;
    return $self->{ids}{$id} //= '<' . chr(ord('A') + $self->{next_id}++) . '>';
}

sub time_label {
    my ($self, $ms) = @_;
    return 'none' unless defined $ms;
    my $n = keys %{ $self->{times} };
    return $self->{times}{$ms} //= '<C' . ($n + 1) . '>';
}

sub id_of {
    my ($self, $label) = @_;
    my %by = reverse %{ $self->{ids} };
    return $by{$label};
}

sub port {
    my ($self, $side) = @_;
    return $side eq 'nginx' ? $self->{nginx_port} : $self->{app}->port;
}

# use_client(NAME): the next requests go through this browser's cookie
# jar (created empty); their lines start with "[NAME] ".
sub use_client {
    my ($self, $name) = @_;
    $self->{clients}{$name} //= SpringTest::Client->new;
    $self->{client} = $name;
    return $self;
}

sub client { $_[0]{clients}{ $_[0]{client} } }

# request('nginx' | 'spring' [, $path]) -> the answer
sub request {
    my ($self, $side, $path) = @_;
    $path //= $self->{path}{$side};
    $self->{n}++;
    my $r = $self->client->get($self->port($side), $path);
    my $line = ($self->{client} eq 'main' ? '' : "[$self->{client}] ")
               . "$side $path: $r->{status}";
    my $j = $r->{json};
    if ($j && ref $j eq 'HASH' && exists $j->{principal}) {
        $line .= ' id=' . $self->id_label($j->{sessionId})
                 . " principal=$j->{principal}";
    } elsif ($j && ref $j eq 'HASH' && exists $j->{sessionId}) {
        $line .= ' ' . join ' ',
            'id=' . $self->id_label($j->{sessionId}),
            'new=' . ($j->{new} ? 'true' : 'false'),
            "host=$j->{host}",
            'previousHost=' . ($j->{previousHost} // 'null'),
            'creationTime=' . $self->time_label($j->{creationTime});
    } elsif (my ($loc) = @{ $r->{headers}{location} // [] }) {
        $loc =~ s{^https?://[^/]+}{};
        $line .= " location=$loc";
    } elsif ($r->{status} != 200) {
        (my $b = $r->{body}) =~ s/\s+\z//;
        $line .= ' ' . SpringTest::escape(substr($b, 0, 200));
    }
    for my $sc (@{ $r->{headers}{'set-cookie'} // [] }) {
        (my $v = $sc) =~ s{^SESSION=([A-Za-z0-9+/=]+)}{
            'SESSION=<b64 ' . $self->id_label(
                MIME::Base64::decode_base64($1)) . '>'}e;
        $line .= "\n  set-cookie: $v";
    }
    push @{ $self->{lines} }, $line;
    if ($r->{status} == 200 && $j && ref $j eq 'HASH' && exists $j->{host}) {
        $self->{answered}{ $j->{sessionId} } = 1;
        $self->check_redis($side, $j);
    }
    return $r;
}

# create($side): request() for a new session.  On a Redis Cluster the
# app hears keyspace events only from the node it subscribed on (FORMAT.md
# 3.6): a session whose shadow key lives elsewhere is forgotten (its keys
# deleted) and a fresh browser asks again, so that the scenario's events
# can be expected.
sub create {
    my ($self, $side, $path) = @_;
    for (1 .. 40) {
        my $mark = { lines => scalar @{ $self->{lines} }, n => $self->{n},
                     next_id => $self->{next_id},
                     times => { %{ $self->{times} } } };
        my $r = $self->request($side, $path);
        my $id = $r->{json} && $r->{json}{sessionId};
        return $r unless $self->{cluster} && $id && $r->{json}{new};
        return $r if $self->notified($id);
        splice @{ $self->{lines} }, $mark->{lines};
        $self->{$_} = $mark->{$_} for qw(n next_id times);
        delete $self->{ids}{$id};
        delete $self->{answered}{$id};
        delete $self->{last}{$id};
        $self->cmd('DEL', $self->key("sessions:$id"));
        $self->cmd('DEL', $self->key("sessions:expires:$id"));
        $self->{clients}{ $self->{client} } = SpringTest::Client->new;
    }
    die "SpringTest::Scenario: no new session on the node the app listens "
        . "to in 40 tries\n";
}

# Does the app hear the keyspace events of this session's shadow key?
# Always on one Redis ('primary'); on a cluster when the key lives on the
# node the app subscribed on ('primary'), or on that replica's primary
# ('replica': it replays the primary's writes, and so notifies them), else
# not ('').
sub notified {
    my ($self, $id) = @_;
    my $c = $self->{cluster} or return 'primary';
    my $owner = $c->node_for_key($self->key("sessions:expires:$id"));
    for my $node (keys %{ $self->{app}->subscribed_nodes }) {
        my ($port) = $node =~ /:(\d+)\z/;
        return 'primary' if $port == $owner;
        return 'replica' if grep { $_ == $port } $c->replica_of($owner);
    }
    return '';
}

sub problem {
    my ($self, $text) = @_;
    push @{ $self->{problems} }, "request $self->{n}: $text";
}

sub note {
    my ($self, $line) = @_;
    push @{ $self->{lines} }, $line;
}

# Sends the cookie of an id that was ended, as a browser that missed the
# expiring cookie would.
sub send_old_cookie {
    my ($self, $id) = @_;
    $self->client->set_cookie(SESSION => SharedSessionTest::b64($id));
    $self->note(($self->{client} eq 'main' ? '' : "[$self->{client}] ")
                . 'old cookie: SESSION=<b64 ' . $self->id_label($id) . '>');
}

# The session ids of the hashes in Redis.
sub session_ids {
    my ($self) = @_;
    my $ns = $self->{ns};
    return sort grep { $_ ne 'expirations' }
                map { /^\Q$ns\E:sessions:([A-Za-z0-9_-]+)\z/ ? $1 : () }
                @{ $self->cmd('KEYS', "$ns:sessions:*") };
}

sub hash {
    my ($self, $id) = @_;
    return { @{ $self->cmd('HGETALL', $self->key("sessions:$id")) } };
}

# Live as every reader judges it: a hash with maxInactiveInterval not 0
# whose lastAccessedTime + interval has not passed.
sub live {
    my ($self, $id) = @_;
    my $h = $self->hash($id);
    my $n = SpringTest::number($h->{maxInactiveInterval});
    my $last = SpringTest::number($h->{lastAccessedTime});
    return 0 unless defined $n && defined $last && $n != 0;
    return $n < 0 || $last + $n * 1000 > SharedSessionTest::now_ms();
}

# After an answer with a session: no live session hash that no answer
# named (the alternation's "no second session"), its creationTime the
# answer's, its lastAccessedTime grown since the previous answer for it,
# its attribute naming the answering host, every field in the
# configuration's format, and the keys around it as the configuration's
# repository keeps them.
sub check_redis {
    my ($self, $side, $j) = @_;
    my $id = $j->{sessionId};
    my @other = grep {
        !$self->{answered}{$_} && !$self->{ignore}{$_} && $self->live($_)
    } $self->session_ids;
    $self->problem('live session hashes that no answer named: '
                   . join(' ', map { $self->id_label($_) } @other))
        if @other;

    my $h = $self->hash($id);
    if (!%$h) {
        $self->problem('no hash for ' . $self->id_label($id));
        return;
    }
    my $created = SpringTest::number($h->{creationTime});
    $self->problem('creationTime in redis '
                   . SpringTest::escape($h->{creationTime})
                   . ", answer $j->{creationTime}")
        unless defined $created && $created == $j->{creationTime};
    my $last = SpringTest::number($h->{lastAccessedTime});
    my $prev = $self->{last}{$id};
    if (!defined $last) {
        $self->problem('lastAccessedTime '
                       . SpringTest::escape($h->{lastAccessedTime}));
    } elsif (defined $prev && $last <= $prev) {
        $self->problem("lastAccessedTime $prev -> $last");
    }
    $self->{last}{$id} = $last;
    my $host = SpringTest::attr_host($h->{$ATTR});
    $self->problem('attribute host ' . ($host // 'none')
                   . ", answer $j->{host}")
        unless defined $host && $host eq $j->{host};
    $self->problem($self->id_label($id) . ": $_")
        for $self->format_problems($h), $self->layout_problems($id, $h);
}

my $NUMBER_FIELD = qr/^(?:creationTime|lastAccessedTime|maxInactiveInterval)\z/;

my %JDK_CLASS = (
    creationTime => 'java.lang.Long',
    lastAccessedTime => 'java.lang.Long',
    maxInactiveInterval => 'java.lang.Integer',
    $ATTR => $SharedSessionTest::DEFAULT_CLASS,
);

# Every field of a hash in the configuration's format, as Spring writes
# it: a mixed hash (one field in the other format) is a problem.
sub format_problems {
    my ($self, $h) = @_;
    my @p;
    for my $f (qw(creationTime lastAccessedTime maxInactiveInterval)) {
        push @p, "no $f" unless exists $h->{$f};
    }
    for my $f (sort keys %$h) {
        my $v = $h->{$f};
        my $is_jdk = substr($v, 0, 4) eq "\xac\xed\x00\x05";
        if ($self->serializer eq 'jdk') {
            my $d = $is_jdk ? eval { SpringTest::jdk_decode($v) } : undef;
            if (!ref $d) {
                push @p, "$f is not JDK-serialized: "
                         . SpringTest::escape(substr($v, 0, 60));
                next;
            }
            my $class = exists $d->{string} ? 'java.lang.String'
                                            : $d->{class} // '?';
            my $want = $JDK_CLASS{$f} // '';
            push @p, "$f is a $class, not a $want"
                if $want && $class ne $want;
            push @p, "$f: serialVersionUID $d->{suid}, not "
                     . $SpringTest::SAMPLE_SESSION_SUID
                if $f eq $ATTR && ($d->{suid} // '')
                                  ne $SpringTest::SAMPLE_SESSION_SUID;
        } else {
            if ($is_jdk) {
                push @p, "$f is JDK-serialized: " . SpringTest::value_text($v);
                next;
            }
            my $d = eval { JSON::PP->new->allow_nonref->decode($v) };
            if ($@) {
                push @p, "$f is not JSON: "
                         . SpringTest::escape(substr($v, 0, 60));
                next;
            }
            if ($f =~ $NUMBER_FIELD) {
                push @p, "$f is not decimal text: " . SpringTest::escape($v)
                    unless $v =~ /^-?[0-9]+\z/;
            } elsif ($f eq $ATTR) {
                push @p, "$f: not the SampleSession JSON: "
                         . SpringTest::escape(substr($v, 0, 100))
                    unless ref $d eq 'HASH'
                           && ($d->{'@class'} // '')
                              eq $SharedSessionTest::DEFAULT_CLASS
                           && ref $d->{lastUpdatedAt} eq 'ARRAY'
                           && ($d->{lastUpdatedAt}[0] // '')
                              eq 'java.util.Date';
            }
        }
    }
    return @p;
}

# The keys around a live session as the configuration's repository keeps
# them (t/spring/FORMAT.md section 1).
sub layout_problems {
    my ($self, $id, $h) = @_;
    my $n = SpringTest::number($h->{maxInactiveInterval});
    my $last = SpringTest::number($h->{lastAccessedTime});
    return unless defined $n && defined $last && $n > 0;
    my @p;
    my $hash = $self->key("sessions:$id");
    my $shadow = $self->key("sessions:expires:$id");
    my $zset = $self->key('sessions:expirations');
    my @buckets = sort grep { /:expirations:[0-9]+\z/ }
                       @{ $self->cmd('KEYS', $self->key('expirations:*')) };
    if (!$self->indexed) {
        push @p, 'a shadow key' if $self->cmd('EXISTS', $shadow);
        push @p, "expiration buckets: @buckets" if @buckets;
        push @p, 'a sorted set of expirations' if $self->cmd('EXISTS', $zset);
        my $at = $self->cmd('PEXPIRETIME', $hash);
        push @p, "hash expires at $at, not lastAccessedTime + $n s = "
                 . ($last + $n * 1000)
            unless $at == $last + $n * 1000;
        return @p;
    }
    my $spttl = $self->cmd('PTTL', $shadow);
    push @p, "shadow key PTTL $spttl, not in (0, ${n}000]"
        unless $spttl > 0 && $spttl <= $n * 1000;
    my $hpttl = $self->cmd('PTTL', $hash);
    push @p, "hash PTTL $hpttl, not in (${n}000, " . ($n + 300) . '000]'
        unless $hpttl > $n * 1000 && $hpttl <= ($n + 300) * 1000;
    if ($self->store eq 'zset') {
        push @p, "expiration buckets with the sorted set: @buckets"
            if @buckets;
        my $score = $self->cmd('ZSCORE', $zset, $self->ser_string($id));
        push @p, 'sorted set score ' . ($score // 'none')
                 . ', not lastAccessedTime + maxInactiveInterval = '
                 . ($last + $n * 1000)
            unless defined $score && $score == $last + $n * 1000;
    } else {
        my $want = $self->key('expirations:'
                              . SharedSessionTest::bucket_ms($last, $n));
        my $member = $self->ser_string("expires:$id");
        my @in = grep { $self->cmd('SISMEMBER', $_, $member) } @buckets;
        push @p, 'bucket member in ' . (@in ? "@in" : 'no bucket')
                 . ", not in $want only"
            unless @in == 1 && $in[0] eq $want;
        push @p, 'a sorted set of expirations with buckets'
            if $self->cmd('EXISTS', $zset);
    }
    return @p;
}

# What is left of an ended session, for the transcript: "gone", or
# "maxInactiveInterval 0, expires within 300 s" (indexed), or what was
# found instead.
sub ended_text {
    my ($self, $id) = @_;
    my $h = $self->hash($id);
    return 'gone' unless %$h;
    $self->problem($self->id_label($id) . " after its end: $_")
        for $self->format_problems($h);
    my $n = SpringTest::number($h->{maxInactiveInterval});
    my $pttl = $self->cmd('PTTL', $self->key("sessions:$id"));
    my $t = 'maxInactiveInterval ' . ($n // SpringTest::value_text(
                                             $h->{maxInactiveInterval}));
    $t .= $pttl > 0 && $pttl <= 300000 ? ', expires within 300 s'
                                       : ", PTTL $pttl";
    return $t;
}

sub members_text {
    my ($self, $key) = @_;
    my @m = @{ $self->cmd('SMEMBERS', $key) };
    return 'none' unless @m;
    return join ' ', sort map {
        my $m = $_;
        my ($id) = grep { $self->ser_string($_) eq $m } keys %{ $self->{ids} };
        $id ? $self->id_label($id) : SpringTest::value_text($m);
    } @m;
}

# Spring's SessionCreatedEvent, once, for a session nginx created (an
# indexed repository's app hears of a new session only through the
# PUBLISH its writer sends).
sub created_event_ok {
    my ($self, $label, $what) = @_;
    return unless $self->indexed;
    my $id = $self->id_of($label);
    # it comes in ~100 ms; not worth seconds while the module lacks it
    my $wait = SpringTest::feature('created_event')->{ok} ? 3 : 0.5;
    my $ev = $id && $self->{app}->wait_event('created', $id, $wait);
    Time::HiRes::sleep(0.2) if $ev;    # a second one would come with it
    my $n = $id ? grep { $_->{type} eq 'created' && $_->{sessionId} eq $id }
                       @{ $self->{app}->events }
                : 0;
    SpringTest::feature_ok('created_event', $n == 1,
        "$self->{config}: Spring's SessionCreatedEvent, once, for $label, "
        . ($what // 'the session nginx created') . " (received $n)");
}

# Waits (at most $timeout s) for an event of the app; the line for the
# transcript: "yes" or "no".
sub event_text {
    my ($self, $type, $id, $timeout) = @_;
    return $self->{app}->wait_event($type, $id, $timeout // 5) ? 'yes' : 'no';
}

# The transcript, and the Redis state it ends with as a diag.
sub text {
    my ($self) = @_;
    require Test::More;
    Test::More::diag("$self->{config}: redis at the end:\n"
                     . SpringTest::dump_redis(conn => $self->{redis}));
    my @p = @{ $self->{problems} };
    return join("\n", @{ $self->{lines} },
                @p ? map({ "PROBLEM $_" } @p)
                   : 'redis after each answer: as expected') . "\n";
}


############################################################################
# The scenarios, each with the transcript it must give.

sub _answer {
    my ($side, $id, $new, $prev, $created, %o) = @_;
    my $host = $side eq 'nginx' ? 'nginx-1' : 'spring-1';
    my $line = ($o{client} ? "[$o{client}] " : '')
               . "$side " . ($side eq 'nginx' ? '/1' : '/2')
               . ": 200 id=$id new=" . ($new ? 'true' : 'false')
               . " host=$host previousHost="
               . ($prev ? ($prev eq 'nginx' ? 'nginx-1' : 'spring-1')
                        : 'null')
               . " creationTime=$created";
    $line .= "\n  set-cookie: SESSION=<b64 $id>; Path=/; HttpOnly; "
             . 'SameSite=Lax' if $new;
    return $line;
}

my $EXPIRING = 'SESSION=; Max-Age=0; Expires=Thu, 1 Jan 1970 00:00:00 GMT; '
               . 'Path=/; HttpOnly; SameSite=Lax';

# $first creates the session, then $rounds rounds of the other side and
# $first again: one session throughout.
sub alternation {
    my ($self, $first, $rounds) = @_;
    my $other = $first eq 'nginx' ? 'spring' : 'nginx';
    $self->create($first);
    $self->request($_) for ($other, $first) x $rounds;
    $self->created_event_ok('<A>') if $first eq 'nginx';
}

sub expected_alternation {
    my ($class, $config, $opt, $first, $rounds) = @_;
    my $other = $first eq 'nginx' ? 'spring' : 'nginx';
    my ($prev, @l);
    for my $side ($first, ($other, $first) x $rounds) {
        push @l, _answer($side, '<A>', !$prev, $prev, '<C1>');
        $prev = $side;
    }
    return join("\n", @l, 'redis after each answer: as expected') . "\n";
}

# Spring creates a session and names its principal, nginx takes it over
# and ends it, with the app frozen (SIGSTOP) meanwhile so that what nginx
# wrote alone is seen: the shadow key deleted, the session out of the
# principal index, in the bucket of lastAccessedTime + 0, out of the
# sorted set.  Thawed, the app gets its SessionDeletedEvent and the old
# cookie gets a new session from Spring.
sub invalidate_by_nginx {
    my ($self) = @_;
    my $index = $self->key("index:$PRINCIPAL:alice");
    $self->create('spring');
    $self->request('spring', '/principal/alice');
    $self->request('nginx');
    my $id = $self->id_of('<A>');
    $self->note('principal index of alice: ' . $self->members_text($index));
    my $app = $self->{app};
    $app->pause;
    my $ok = eval {
        $self->request('nginx', '/invalidateSession');
        $self->_ended_by_nginx($id, $index);
        1;
    };
    my $err = $@;
    $app->resume;
    die $err unless $ok;
    if ($self->indexed) {
        $self->note("Spring's SessionDeletedEvent for <A>: "
                    . $self->event_text('deleted', $id));
        # the app's listener empties the index after the event
        for (1 .. 60) {
            last unless $self->cmd('EXISTS', $index);
            Time::HiRes::sleep(0.05);
        }
    }
    $self->note('principal index of alice: ' . $self->members_text($index));
    $self->note('hash of <A>: ' . $self->ended_text($id));
    $self->send_old_cookie($id);
    $self->request('spring');
}

# What nginx's invalidation left, the app frozen.
sub _ended_by_nginx {
    my ($self, $id, $index) = @_;
    return unless $self->indexed;
    $self->note('shadow key of <A>: '
                . ($self->cmd('EXISTS', $self->key("sessions:expires:$id"))
                   ? 'still there' : 'gone'));
    if ($self->store eq 'zset') {
        my $score = $self->cmd('ZSCORE', $self->key('sessions:expirations'),
                               $self->ser_string($id));
        $self->note('sorted set member of <A>: '
                    . (defined $score ? "still there (score $score)"
                                      : 'gone'));
    }
    SpringTest::feature_ok('principal_index',
        !$self->cmd('SISMEMBER', $index, $self->ser_string($id)),
        "$self->{config}: nginx's invalidation takes <A> out of Spring's "
        . 'principal index itself (app frozen)');
    if ($self->store eq 'buckets') {
        my $h = $self->hash($id);
        my $last = SpringTest::number($h->{lastAccessedTime}) // 0;
        my $bucket = $self->key('expirations:'
                                . SharedSessionTest::bucket_ms($last, 0));
        SpringTest::feature_ok('invalidation_bucket',
            $self->cmd('SISMEMBER', $bucket,
                       $self->ser_string("expires:$id")),
            "$self->{config}: nginx's invalidation puts <A> in the bucket "
            . 'of lastAccessedTime + 0, as Spring does (app frozen)');
    }
}

sub expected_invalidate_by_nginx {
    my ($class, $config, $opt) = @_;
    my $c = SpringTest::config($config);
    my @l = (
        _answer('spring', '<A>', 1, undef, '<C1>'),
        'spring /principal/alice: 200 id=<A> principal=alice',
        _answer('nginx', '<A>', 0, 'spring', '<C1>'),
        'principal index of alice: ' . ($c->{indexed} ? '<A>' : 'none'),
        "nginx /invalidateSession: 302 location=/index.html\n"
        . "  set-cookie: $EXPIRING",
    );
    if ($c->{indexed}) {
        push @l, 'shadow key of <A>: gone';
        push @l, 'sorted set member of <A>: gone' if $c->{store} eq 'zset';
        push @l, "Spring's SessionDeletedEvent for <A>: yes";
    }
    push @l, 'principal index of alice: none',
             'hash of <A>: ' . ($c->{indexed}
                 ? 'maxInactiveInterval 0, expires within 300 s' : 'gone'),
             'old cookie: SESSION=<b64 <A>>',
             _answer('spring', '<B>', 1, undef, '<C2>');
    return join("\n", @l, 'redis after each answer: as expected') . "\n";
}

# Spring creates a session and names its principal, as a login does:
# nginx's shared_session_require lets the session through and reads whose
# it is (the principal index attribute, in the configuration's
# serializer); another browser, without the session, gets the 401.
sub principal_at_edge {
    my ($self) = @_;
    $self->create('spring');
    $self->request('spring', '/principal/alice');
    $self->request('nginx', '/edge/whoami');
    $self->use_client('other');
    $self->request('nginx', '/edge/whoami');
}

sub expected_principal_at_edge {
    my ($class, $config, $opt) = @_;
    return join("\n",
                _answer('spring', '<A>', 1, undef, '<C1>'),
                'spring /principal/alice: 200 id=<A> principal=alice',
                'nginx /edge/whoami: 200 id=<A> principal=alice',
                '[other] nginx /edge/whoami: 401 {"error":"session required"}',
                'redis after each answer: as expected') . "\n";
}

# nginx creates a session, Spring takes it over and ends it: nginx does not
# revive it, the old cookie gets a new session from nginx, which Spring
# then takes over (and heard of when nginx created it).
sub invalidate_by_spring {
    my ($self) = @_;
    $self->create('nginx');
    $self->request('spring');
    my $id = $self->id_of('<A>');
    $self->request('spring', '/invalidateSession');
    $self->note("Spring's SessionDeletedEvent for <A>: "
                . $self->event_text('deleted', $id))
        if $self->indexed;
    $self->note('hash of <A>: ' . $self->ended_text($id));
    $self->send_old_cookie($id);
    $self->request('nginx');
    $self->request('spring');
    $self->created_event_ok('<B>', 'the session nginx created after '
                                   . "Spring's invalidation");
}

sub expected_invalidate_by_spring {
    my ($class, $config, $opt) = @_;
    my $c = SpringTest::config($config);
    my @l = (
        _answer('nginx', '<A>', 1, undef, '<C1>'),
        _answer('spring', '<A>', 0, 'nginx', '<C1>'),
        "spring /invalidateSession: 302 location=/index.html\n"
        . "  set-cookie: $EXPIRING",
    );
    push @l, "Spring's SessionDeletedEvent for <A>: yes" if $c->{indexed};
    push @l, 'hash of <A>: ' . ($c->{indexed}
                 ? 'maxInactiveInterval 0, expires within 300 s' : 'gone'),
             'old cookie: SESSION=<b64 <A>>',
             _answer('nginx', '<B>', 1, undef, '<C2>'),
             _answer('spring', '<B>', 0, 'nginx', '<C2>');
    return join("\n", @l, 'redis after each answer: as expected') . "\n";
}

# Spring alone, no nginx: the checks of check_redis and the transcripts
# of the other scenarios hold for what Spring itself writes (runs whether
# or not the module supports the configuration yet).
sub spring_only {
    my ($self) = @_;
    my $index = $self->key("index:$PRINCIPAL:alice");
    $self->create('spring');
    my $id = $self->id_of('<A>');
    $self->note("Spring's SessionCreatedEvent for <A>: "
                . $self->event_text('created', $id))
        if $self->indexed;
    $self->request('spring') for 1 .. 3;
    $self->request('spring', '/principal/alice');
    $self->note('principal index of alice: ' . $self->members_text($index));
    $self->request('spring', '/invalidateSession');
    if ($self->indexed) {
        $self->note("Spring's SessionDeletedEvent for <A>: "
                    . $self->event_text('deleted', $id));
        for (1 .. 60) {
            last unless $self->cmd('EXISTS', $index);
            Time::HiRes::sleep(0.05);
        }
    }
    $self->note('principal index of alice: ' . $self->members_text($index));
    $self->note('hash of <A>: ' . $self->ended_text($id));
    $self->send_old_cookie($id);
    $self->request('spring');
}

sub expected_spring_only {
    my ($class, $config, $opt) = @_;
    my $c = SpringTest::config($config);
    my @l = (_answer('spring', '<A>', 1, undef, '<C1>'));
    push @l, "Spring's SessionCreatedEvent for <A>: yes" if $c->{indexed};
    push @l, (_answer('spring', '<A>', 0, 'spring', '<C1>')) x 3,
        'spring /principal/alice: 200 id=<A> principal=alice',
        'principal index of alice: ' . ($c->{indexed} ? '<A>' : 'none'),
        "spring /invalidateSession: 302 location=/index.html\n"
        . "  set-cookie: $EXPIRING";
    push @l, "Spring's SessionDeletedEvent for <A>: yes" if $c->{indexed};
    push @l, 'principal index of alice: none',
             'hash of <A>: ' . ($c->{indexed}
                 ? 'maxInactiveInterval 0, expires within 300 s' : 'gone'),
             'old cookie: SESSION=<b64 <A>>',
             _answer('spring', '<B>', 1, undef, '<C2>');
    return join("\n", @l, 'redis after each answer: as expected') . "\n";
}

our $FOREIGN_ID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

# A live session hash as the other serializer writes it: Spring's JSON
# (GenericJackson2JsonRedisSerializer) or Spring's default (JDK).
sub foreign_hash {
    my ($serializer, %o) = @_;
    my ($created, $last, $n, $host) = @o{qw(created last n host)};
    if ($serializer eq 'jdk') {
        return (lastAccessedTime => SpringTest::jdk_long($last),
                maxInactiveInterval => SpringTest::jdk_integer($n),
                creationTime => SpringTest::jdk_long($created),
                $ATTR => SpringTest::jdk_sample_session($host, $last));
    }
    return (lastAccessedTime => $last, maxInactiveInterval => $n,
            creationTime => $created,
            $ATTR => SharedSessionTest::spring_attr($host, $last));
}

# A live session hash written by the other serializer, its cookie sent to
# nginx: a 503 or a new session (the README says which), the hash left as
# it was, byte for byte (never a mixed hash); the new session, if any, is
# Spring's to take over.  The log names the id (the block checks it).
sub other_serializer {
    my ($self) = @_;
    my $x = $FOREIGN_ID;
    my $other = $self->serializer eq 'jdk' ? 'json' : 'jdk';
    my $now = SharedSessionTest::now_ms();
    my %h = foreign_hash($other, created => $now - 60000, last => $now - 1000,
                         n => 1800, host => 'spring-9');
    $self->cmd('HSET', $self->key("sessions:$x"), %h);
    $self->cmd('PEXPIRE', $self->key("sessions:$x"), 2100000);
    $self->cmd('SET', $self->key("sessions:expires:$x"), '', 'PX', 1799000)
        if $self->indexed;
    $self->{ids}{$x} = '<X>';
    $self->{ignore}{$x} = 1;
    $self->note('seeded <X>: a live session written by the '
                . ($other eq 'jdk' ? 'JDK' : 'JSON') . ' serializer');
    $self->client->set_cookie(SESSION => SharedSessionTest::b64($x));
    my $r = $self->request('nginx');
    my $after = $self->hash($x);
    my @changed = grep { !exists $after->{$_} || $after->{$_} ne $h{$_} }
                  sort keys %h;
    push @changed, grep { !exists $h{$_} } sort keys %$after;
    $self->note('hash of <X>: ' . (@changed ? 'changed: ' . join(', ', map {
        "$_ = " . SpringTest::value_text($after->{$_}) } @changed)
        : 'as seeded, byte for byte'));
    $self->request('spring') if $r->{status} == 200;
}

# Either transcript, as a pattern for response_body_like.
sub expected_other_serializer {
    my ($class, $config, $opt) = @_;
    my $c = SpringTest::config($config);
    my $seeded = 'seeded <X>: a live session written by the '
                 . ($c->{serializer} eq 'jdk' ? 'JSON' : 'JDK')
                 . ' serializer';
    my $kept = 'hash of <X>: as seeded, byte for byte';
    my $end = 'redis after each answer: as expected';
    my $refused = join "\n", $seeded,
        'nginx /1: 503 {"error":"session store unavailable"}', $kept, $end;
    my $new = join "\n", $seeded, _answer('nginx', '<A>', 1, undef, '<C1>'),
        $kept, _answer('spring', '<A>', 0, 'nginx', '<C1>'), $end;
    return '^(?:' . quotemeta($refused) . '|' . quotemeta($new) . ')\n\z';
}

# Sessions nginx created with maxInactiveInterval 2 s (the block's
# shared_session_max_inactive_interval), in two browsers: Spring still
# takes A over before its time, B's time passes and Spring hears of it
# (SessionExpiredEvent from the shadow key's expiry: indexed) or Redis
# deletes it (default repository) at that time, Spring then gives B's
# browser a new session; A expires 2 s after Spring's touch (Spring kept
# nginx's interval) and nginx then gives A's browser a new session.
sub expiry {
    my ($self, $n) = @_;
    $n //= 2;
    $self->use_client('a')->create('nginx');
    $self->use_client('b')->create('nginx');
    my ($id_a, $id_b) = map { $self->id_of($_) } '<A>', '<B>';
    my $last_b = $self->{last}{$id_b};
    _sleep_until($self->{last}{$id_a} + $n * 1000 * 0.65);
    $self->use_client('a')->request('spring');
    my $last_a = $self->{last}{$id_a};
    $self->note($self->expired_text('<B>', $id_b, $last_b + $n * 1000));
    $self->use_client('b')->request('spring');
    $self->note($self->expired_text('<A>', $id_a, $last_a + $n * 1000));
    $self->use_client('a')->request('nginx');
}

sub _sleep_until {
    my ($ms) = @_;
    my $d = $ms / 1000 - Time::HiRes::time();
    Time::HiRes::sleep($d) if $d > 0;
}

# How late an expiry may be seen: Redis's active expiry cycle (10 per
# second), the keyspace notification, the app's listener.
our $EXPIRY_SLACK_MS = 1500;

# "Spring's SessionExpiredEvent for <B>: at its time" (indexed) or
# "hash of <B>: deleted by Redis: at its time" (default repository), or
# when it came instead.
sub expired_text {
    my ($self, $label, $id, $due) = @_;
    my $wait = ($due - SharedSessionTest::now_ms()) / 1000 + 5;
    my ($what, $at);
    if ($self->indexed && $self->{cluster}) {
        # a replica hears an expiry as the DEL its primary sends it, and
        # Spring then publishes SessionDeletedEvent
        my $type = $self->notified($id) eq 'replica' ? 'deleted' : 'expired';
        $what = "Spring's event for ${label}'s expiry";
        my $ev = $self->{app}->wait_event($type, $id, $wait);
        $at = $ev && $ev->{time};
        if ($ENV{TEST_VERBOSE}) {
            require Test::More;
            Test::More::diag("$self->{config}: the app listens on "
                . ($type eq 'deleted' ? 'a replica: SessionDeletedEvent'
                                      : 'the primary: SessionExpiredEvent')
                . " for ${label}'s expiry");
        }
    } elsif ($self->indexed) {
        $what = "Spring's SessionExpiredEvent for $label";
        my $ev = $self->{app}->wait_event('expired', $id, $wait);
        $at = $ev && $ev->{time};
    } else {
        $what = "hash of $label: deleted by Redis";
        my $end = Time::HiRes::time() + $wait;
        while (Time::HiRes::time() < $end) {
            if (!$self->cmd('EXISTS', $self->key("sessions:$id"))) {
                $at = SharedSessionTest::now_ms();
                last;
            }
            Time::HiRes::sleep(0.01);
        }
    }
    return "$what: never (due at lastAccessedTime + interval)" unless $at;
    my $late = $at - $due;
    if ($ENV{TEST_VERBOSE}) {
        require Test::More;
        Test::More::diag("$self->{config}: $what: $late ms after "
                         . 'lastAccessedTime + interval');
    }
    return "$what: at its time"
        if $late >= 0 && $late <= $EXPIRY_SLACK_MS;
    return "$what: ${late} ms after its time (lastAccessedTime + interval)";
}

sub expected_expiry {
    my ($class, $config, $opt) = @_;
    my $c = SpringTest::config($config);
    my $at = sub {
        !$c->{indexed} ? "hash of $_[0]: deleted by Redis: at its time"
        : $opt->{cluster} ? "Spring's event for $_[0]'s expiry: at its time"
        : "Spring's SessionExpiredEvent for $_[0]: at its time";
    };
    return join("\n",
        _answer('nginx', '<A>', 1, undef, '<C1>', client => 'a'),
        _answer('nginx', '<B>', 1, undef, '<C2>', client => 'b'),
        _answer('spring', '<A>', 0, 'nginx', '<C1>', client => 'a'),
        $at->('<B>'),
        _answer('spring', '<C>', 1, undef, '<C3>', client => 'b'),
        $at->('<A>'),
        _answer('nginx', '<D>', 1, undef, '<C4>', client => 'a'),
        'redis after each answer: as expected') . "\n";
}


############################################################################
# Test::Nginx blocks of interop scenarios.  In a test file:
#
#     add_block_preprocessor(sub {
#         SpringTest::Blocks::fill($_[0], redis => [ "127.0.0.1:$port" ],
#                                  app => { redis_port => $port }, ...);
#     });
#     run_tests();
#     __DATA__
#     === TEST 1: seed: nginx creates, Spring takes over, 10 rounds
#     --- scenario: seed alternation nginx 10
#
# fill() gives a block with a "scenario: CONFIG NAME ARGS" section its
# nginx configuration (CONFIG's directives of %SpringTest::NGINX in both
# locations), a GET /ping whose body filter runs SpringTest::Scenario's
# NAME(ARGS) against CONFIG's app (SpringTest::shared_app) and prints the
# transcript, the transcript expected (expected_NAME), and the error-log
# checks.  When nginx -t rejects CONFIG's directives the block is skipped,
# nginx's reason in its name.

package SpringTest::Blocks;

use strict;
use warnings;

# fill($block, redis => [ 'host:port', ... ] (shared_session_redis lines),
#      cluster => 0 | 1, directives => [ more location directives ],
#      app => { SpringTest->start options but config },
#      scenario => { SpringTest::Scenario->new options but config, app })
sub fill {
    my ($block, %o) = @_;
    my $spec = $block->scenario or return;
    my ($config, $name, @args) = split ' ', $spec;
    SpringTest::config($config);
    # Spring alone needs no directive of the module
    my $support = $name eq 'spring_only' ? { ok => 1, lines => [] }
                                         : SpringTest::nginx_support($config);
    # the expiry scenario's sessions live 2 s
    my @set = (@{ $support->{lines} }, @{ $o{directives} // [] },
               $name eq 'expiry' ? 'shared_session_max_inactive_interval 2s'
                                 : ());
    my $set = join '', map { "        $_;\n" } @set;
    my $redis = join '', map { "    shared_session_redis $_;\n" }
                         @{ $o{redis} };
    $redis = "    shared_session_redis_cluster on;\n$redis" if $o{cluster};
    $block->set_value(config => <<"CONF");
$redis    shared_session_host nginx-1;
    location ~ ^/[0-9]+\$ {
        shared_session;
$set    }
    location = /invalidateSession {
        shared_session_invalidate;
$set    }
    location = /ping {
        return 200 "ping\\n";
    }
    location /edge/ {
        shared_session_require on;
        default_type application/json;
        return 200 '{"sessionId":"\$shared_session_id","principal":"\$shared_session_principal"}';
$set    }
CONF
    $block->set_value(request => 'GET /ping');
    my $expect = "expected_$name";
    if ($name eq 'other_serializer') {
        $block->set_value(response_body_like =>
            SpringTest::Scenario->$expect($config, \%o, @args));
        my $x = $SpringTest::Scenario::FOREIGN_ID;
        $block->set_value(error_log => qr/\[(?:warn|error)\][^\n]*\Q$x\E/);
        $block->set_value(no_error_log => "[alert]\n[crit]");
    } else {
        $block->set_value(response_body =>
            SpringTest::Scenario->$expect($config, \%o, @args));
        $block->set_value(no_error_log => "[error]\n[alert]\n[crit]");
    }
    $block->set_value(response_body_filters => sub {
        # a misalignment fails the block (nginx runs without the directives)
        return "DIED: $support->{reason}\n" if $support->{misaligned};
        run($config, $name, \@args, %o);
    });
    if (!$support->{ok} && !$support->{misaligned}) {
        $block->set_value(skip_eval => '1: 1');
        $block->set_value(name => $block->name
                          . " (skipped: $support->{reason})");
    }
    return;
}

# Runs one scenario; an exception (the app not starting too) ends the
# transcript with "DIED: ...".
sub run {
    my ($config, $name, $args, %o) = @_;
    my $app = eval {
        SpringTest::shared_app(%{ $o{app} // {} }, config => $config,
                               host => 'spring-1');
    };
    return "DIED: $@" unless $app;
    my $s = SpringTest::Scenario->new(%{ $o{scenario} // {} },
                                      config => $config, app => $app);
    $s->note("DIED: $@") unless eval { $s->$name(@$args); 1 };
    return $s->text;
}


package SpringTest;

1;

__END__

=head1 NAME

SpringTest - the real Spring Boot application (t/spring) in tests

=head1 CONFIGURATIONS

C<seed> (Boot 2.7, indexed, JSON), C<boot2-default> (Boot 2.7, indexed,
JDK serialization), C<boot3-indexed> (Boot 3.5, indexed, JSON),
C<boot3-default> (Boot 3.5, RedisSessionRepository, JDK), and
C<boot3-indexed-zset> (boot3-indexed with the sorted set of expirations).
C<%SpringTest::CONFIG> has the jar and profiles of each,
C<%SpringTest::NGINX> the module's location directives for each (the one
place for them; provisional names), C<%SpringTest::AS_TODAY> those that
ask for what the module does without them, C<%SpringTest::FEATURE> what
Spring expects from a writer that has no directive of its own (each keyed
on a directive whose acceptance by C<nginx -t> says the module claims it).

=head1 FUNCTIONS

=over

=item skip_all_unless_built(@configs), missing_jars(@configs), jar($config)

Skip a test file (C<1..0 # SKIP ...>) unless the jars are built and java
runs; the jars missing; the jar of a configuration.

=item SpringTest->start(config => ..., redis_port => ..., host => ..., ...)

Starts the app and waits (C<timeout>, 120 s) until it serves and, for an
indexed repository, listens to Redis.  Methods:
C<port>, C<pid>, C<host>, C<startup> (seconds to ready), C<rss_kb>,
C<events>, C<wait_event($type, $id, $timeout)>, C<log>, C<log_tail($n)>,
C<subscribed_nodes>, C<pause> / C<resume> (SIGSTOP / SIGCONT), C<alive>,
C<stop> (also at exit).  Options: C<cluster =E<gt> [seeds]>,
C<nodes =E<gt> [all the cluster's nodes]>,
C<session_timeout> (seconds), C<env>, C<port>.

=item SpringTest::Client->new, ->get($port, $path, @headers), ->cookie, ->set_cookie, ->session_id

An HTTP/1.0 client with one cookie jar for every port of 127.0.0.1.
Answers: C<{ status, headers =E<gt> { lc name =E<gt> [values] }, body, json }>.

=item dump_redis(port => $p, raw => 0, hex => 0), session_ids(port => $p), session_hash($id, port => $p), redis(\%target, @cmd)

The whole Redis as text (types, PTTLs, every value: JDK serialization
decoded, other bytes escaped as C<\xNN>), the session ids, one hash's raw
bytes, a command on the dump connection.

=item jdk_long($n), jdk_integer($n), jdk_string($s), jdk_sample_session($host, $ms [, $suid, $class]), jdk_decode($bytes), jdk_text($value), value_text($bytes), number($bytes), attr_host($bytes), hex_dump($bytes), escape($bytes)

Java serialization as Spring's default serializer writes it, a decoder for
it, and readers for a stored number or SampleSession host in either format.

=item SpringTest::Watch->new(port => $p, kind => 'monitor' | 'psubscribe'), ->lines($quiet), ->close

MONITOR or PSUBSCRIBE * on a Redis; C<lines> returns what was seen since
the last call (without the dump connection's commands).

=item nginx_t(@directives), nginx_support($config), nginx_directives($config), feature($name), feature_ok($name, $ok, $test_name)

C<nginx -t> (C<TEST_NGINX_BINARY>, C<TEST_NGINX_LOAD_MODULES>) on the
directives in the interop tests' locations: C<{ ok, message }>; what of a
configuration's directives nginx accepts (C<{ ok, lines, dropped, reason,
misaligned }>: unknown directives skip its blocks, known but refused ones
fail them); whether a feature is claimed; an C<ok> that is a TODO test
while it is not.

=item shared_app(%start_options)

The app of these options, started once and kept while asked for again
(another one is stopped first).

=item SpringTest::Scenario->new(config => ..., app => ..., redis_port => $p | conn => $router, cluster => $cluster)

Requests to nginx (C</1>, host nginx-1) and Spring (C</2>) through one
browser's cookie jar (C<use_client> for more), a transcript line each,
and after each answer with a session the Redis checks of the
configuration (C<check_redis>: no second live session, creationTime,
lastAccessedTime growing, the attribute's host, C<format_problems> (every
field in the configuration's serializer), C<layout_problems> (shadow key,
bucket or sorted-set member, TTLs, or the default repository's single key
with PEXPIREAT)).  The scenarios C<alternation($first, $rounds)>,
C<invalidate_by_nginx>, C<invalidate_by_spring>, C<other_serializer>,
C<expiry>, C<spring_only>, each with C<expected_NAME($config)>; C<text>
returns the transcript and diags the Redis state.

=item SpringTest::Blocks::fill($block, redis => [...], cluster => 0|1, app => {...}, scenario => {...})

For C<add_block_preprocessor>: a block with C<--- scenario: CONFIG NAME
ARGS> gets its nginx configuration, request, body filter (the scenario),
expected transcript and error-log checks; skipped while C<nginx -t> does
not know CONFIG's directives, its reason in the block's name.

=back

=cut
