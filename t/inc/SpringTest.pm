package SpringTest;

# The real Spring Boot application (t/spring, built by "make spring") beside
# the module in tests: start a configuration's jar against a Redis, wait
# until it serves and listens to Redis, talk to it and to nginx through one
# cookie jar, read what it wrote (every byte, JDK serialization decoded),
# and watch what it sends to Redis (MONITOR, PSUBSCRIBE).
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
# (shadow keys, buckets, events), and the serializer of the values.
our %CONFIG = (
    'seed' => { jar => 'boot2', profiles => 'json',
                indexed => 1, serializer => 'json' },
    'boot2-default' => { jar => 'boot2', profiles => '',
                         indexed => 1, serializer => 'jdk' },
    'boot3-indexed' => { jar => 'boot3', profiles => 'indexed,json',
                         indexed => 1, serializer => 'json' },
    'boot3-default' => { jar => 'boot3', profiles => '',
                         indexed => 0, serializer => 'jdk' },
    # not one of the four: Spring Session 3.4+'s sorted set of expirations
    'boot3-indexed-zset' => { jar => 'boot3', profiles => 'indexed,json,zset',
                              indexed => 1, serializer => 'json' },
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
#                   or cluster => [ 'host:port', ... ],
#                   host => HOSTNAME, port => P, timeout => seconds,
#                   session_timeout => seconds, env => { NAME => value })
# Starts the jar on 127.0.0.1 and waits until it is ready: "Started" in its
# log, GET /events answers 200 and, for an indexed repository on a
# standalone Redis, its subscriptions are registered there.
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

    my $subs = $conf->{indexed} && !$opt{cluster} ? $self->_subscribers : 0;

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
        $subscribed = !$conf->{indexed} || $opt{cluster}
                      || $self->_subscribers > $subs
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
# indexed repository listens to.
sub _subscribers {
    my ($self) = @_;
    my $r = redis({ host => $self->{redis}{host}, port => $self->{redis}{port} },
                  'PUBSUB', 'NUMSUB', '__keyevent@0__:del');
    return $r->[1];
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

# dump_redis(port => P [, host => H]) -> text, keys sorted:
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
    my $c = _tool(%t);
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

1;

__END__

=head1 NAME

SpringTest - the real Spring Boot application (t/spring) in tests

=head1 CONFIGURATIONS

C<seed> (Boot 2.7, indexed, JSON), C<boot2-default> (Boot 2.7, indexed,
JDK serialization), C<boot3-indexed> (Boot 3.5, indexed, JSON),
C<boot3-default> (Boot 3.5, RedisSessionRepository, JDK), and
C<boot3-indexed-zset> (boot3-indexed with the sorted set of expirations).
C<%SpringTest::CONFIG> has the jar and profiles of each.

=head1 FUNCTIONS

=over

=item skip_all_unless_built(@configs), missing_jars(@configs), jar($config)

Skip a test file (C<1..0 # SKIP ...>) unless the jars are built and java
runs; the jars missing; the jar of a configuration.

=item SpringTest->start(config => ..., redis_port => ..., host => ..., ...)

Starts the app and waits (C<timeout>, 120 s) until it serves and, for an
indexed repository on a standalone Redis, listens to Redis.  Methods:
C<port>, C<pid>, C<host>, C<startup> (seconds to ready), C<rss_kb>,
C<events>, C<wait_event($type, $id, $timeout)>, C<log>, C<log_tail($n)>,
C<stop> (also at exit).  Options: C<cluster =E<gt> [seeds]>,
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

=back

=cut
