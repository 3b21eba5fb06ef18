package SharedSessionTest;

# Redis-side helpers for the ngx_http_shared_session_module test suite.
#
# The .t files load it with
#
#     use lib 't/inc';
#     use SharedSessionTest;
#
# and call it fully qualified (SharedSessionTest::...) from "--- init" code
# and from "eval" sections, which Test::Nginx evaluates in its own packages.
#
# Pure Perl, core modules only.  See the POD at the end of the file.

use strict;
use warnings;

use File::Path ();
use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use JSON::PP ();
use MIME::Base64 ();
use POSIX ();
use Socket ();
use Time::HiRes ();

our $DEFAULT_NS    = 'spring:session';
our $DEFAULT_CLASS =
    'org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession';

# The Redis every test file shares; "make test" starts it.
$ENV{TEST_NGINX_REDIS_HOST} //= '127.0.0.1';
$ENV{TEST_NGINX_REDIS_PORT} //= 6379;

my $OWNER_PID = $$;
my $IO_TIMEOUT = 5;

my $UUID_RE = qr/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
my $UUID4_RE =
    qr/\A[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\z/;


############################################################################
# Small pure helpers

sub now_ms {
    return int(Time::HiRes::time() * 1000);
}

# Waits (at most 1.6 s) while the clock is in the last 1.5 s of a minute:
# a test whose requests must fall in one minute's expiry bucket.
sub clear_of_minute {
    Time::HiRes::sleep(0.05) while now_ms() % 60_000 > 58_500;
    return;
}

# Cookie value as Spring Session 2.0+ writes it: standard Base64 of the id.
sub b64 {
    my ($id) = @_;
    return MIME::Base64::encode_base64($id, '');
}

# The expiration bucket of FORMAT section 2: expiry rounded up to the next
# whole minute, a value on a minute boundary still moving one minute on.
sub bucket_ms {
    my ($last_ms, $max_inactive_s) = @_;
    my $expiry = $last_ms + $max_inactive_s * 1000;
    return (POSIX::floor($expiry / 60000) + 1) * 60000;
}

# The attribute JSON the seed application (and the module) writes.
sub spring_attr {
    my ($host, $ms, $class) = @_;
    $class //= $DEFAULT_CLASS;
    return qq({"\@class":"$class","host":"$host",)
           . qq("lastUpdatedAt":["java.util.Date",$ms]});
}

# Reads a number stored as decimal text or as ["java.lang.Long",n] /
# ["java.lang.Integer",n]; undef when it is neither.
sub parse_number {
    my ($v) = @_;
    return undef unless defined $v;
    return $1 if $v =~ /\A(-?\d+)\z/;
    return $1
        if $v =~ /\A\["java\.lang\.(?:Long|Integer)",(-?\d+)\]\z/;
    return undef;
}

# A port free now and below the kernel's ephemeral range (and below "top",
# when given).  Tests pick ports at a file's start and listen on them
# blocks later; a port of the ephemeral range (which port 0 gives) may by
# then be the local port of one of the many connections a test makes
# (t/025 TEST 3 once met it after 400 aborted clients: "Address already in
# use").  The kernel never picks one below the range on its own.
sub free_port {
    my ($top) = @_;
    my $ceiling = ephemeral_low() - 1;
    $top = $ceiling if !defined $top || $top > $ceiling;
    for (1 .. 200) {
        last if $top <= 10000;
        my $port = 10000 + int(rand($top - 10000));
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $port, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 1)
            or next;
        close $s;
        return $port;
    }
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or die "free_port: $!\n";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# The first port of the kernel's ephemeral range (32768 when unknown, or
# when the range starts too low to leave room beneath it).
sub ephemeral_low {
    my $low = 32768;
    if (open my $fh, '<', '/proc/sys/net/ipv4/ip_local_port_range') {
        ($low) = split ' ', scalar <$fh>;
        close $fh;
    }
    return $low > 20000 ? $low : 32768;
}

sub port_in_use {
    my ($port, $host) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $host // '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp',
                                  Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}


############################################################################
# A tiny binary-safe RESP2 client.  One connection per call site; the test
# Redis is local, connections are cheap, and nothing stale survives a
# restarted server.

my %Redis;    # private servers by port: pid, dir, conf, auth, path, host

# Where a command goes: the shared Redis unless told otherwise.
#   port => n, host => h, path => '/unix/socket', auth => [pw] or [user, pw],
#   db => n
sub target {
    my (%opt) = @_;
    my $port = $opt{port} // $ENV{TEST_NGINX_REDIS_PORT};
    my $auth = $opt{auth};
    if (!$auth && $Redis{$port} && $Redis{$port}{auth}) {
        $auth = $Redis{$port}{auth};
    }
    my $host = $opt{host};
    $host //= $opt{port} ? ($Redis{$port} ? $Redis{$port}{host} : '127.0.0.1')
                         : $ENV{TEST_NGINX_REDIS_HOST};
    return {
        host => $host,
        port => $port,
        path => $opt{path},
        auth => $auth,
        db   => $opt{db} // 0,
    };
}

sub _target_opts {
    my ($opt) = @_;
    my %t;
    for my $k (qw(host port path auth db)) {
        $t{$k} = $opt->{$k} if exists $opt->{$k};
    }
    return %t;
}

package SharedSessionTest::Conn;

sub new {
    my ($class, $t) = @_;
    my $sock;
    if ($t->{path}) {
        $sock = IO::Socket::UNIX->new(Peer => $t->{path},
                                      Type => Socket::SOCK_STREAM());
    } else {
        $sock = IO::Socket::INET->new(PeerAddr => $t->{host},
                                      PeerPort => $t->{port},
                                      Proto => 'tcp', Timeout => $IO_TIMEOUT);
    }
    my $where = $t->{path} // "$t->{host}:$t->{port}";
    die "redis $where: cannot connect: $!\n" unless $sock;
    binmode $sock;
    my $self = bless { sock => $sock, buf => '', where => $where }, $class;
    $self->cmd('AUTH', @{ $t->{auth} }) if $t->{auth};
    $self->cmd('SELECT', $t->{db}) if $t->{db};
    return $self;
}

# Sends one command; returns the reply as Perl data (integer, string, undef
# for a nil bulk, array ref).  An error reply dies with its text.
sub cmd {
    my ($self, @args) = @_;
    my $req = '*' . scalar(@args) . "\r\n";
    for my $a (@args) {
        my $b = defined $a ? "$a" : '';
        utf8::encode($b) if utf8::is_utf8($b);
        $req .= '$' . length($b) . "\r\n" . $b . "\r\n";
    }
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($self->{sock}, $req, length($req) - $off, $off);
        die "redis $self->{where}: write: $!\n" unless defined $n;
        $off += $n;
    }
    my $reply = $self->_reply;
    die "redis $self->{where}: $args[0]: $$reply\n"
        if ref $reply eq 'SharedSessionTest::Error';
    return $reply;
}

sub _fill {
    my ($self) = @_;
    my $sel = IO::Select->new($self->{sock});
    $sel->can_read($IO_TIMEOUT)
        or die "redis $self->{where}: reply timed out\n";
    my $n = sysread($self->{sock}, my $chunk, 65536);
    die "redis $self->{where}: read: "
        . (defined $n ? 'connection closed' : $!) . "\n" unless $n;
    $self->{buf} .= $chunk;
}

sub _line {
    my ($self) = @_;
    my $i;
    $self->_fill while ($i = index($self->{buf}, "\r\n")) < 0;
    my $line = substr($self->{buf}, 0, $i);
    substr($self->{buf}, 0, $i + 2) = '';
    return $line;
}

sub _bytes {
    my ($self, $n) = @_;
    $self->_fill while length($self->{buf}) < $n + 2;
    my $data = substr($self->{buf}, 0, $n);
    substr($self->{buf}, 0, $n + 2) = '';
    return $data;
}

sub _reply {
    my ($self) = @_;
    my $line = $self->_line;
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $type eq '+';
    return $rest + 0 if $type eq ':';
    return bless \$rest, 'SharedSessionTest::Error' if $type eq '-';
    if ($type eq '$') {
        return undef if $rest < 0;
        return $self->_bytes($rest);
    }
    if ($type eq '*') {
        return undef if $rest < 0;
        return [ map { $self->_reply } 1 .. $rest ];
    }
    die "redis $self->{where}: bad reply line: $line\n";
}

package SharedSessionTest;

sub connect_redis {
    my (%opt) = @_;
    return SharedSessionTest::Conn->new(target(%opt));
}

# redis_cmd('HGETALL', $key) on the shared Redis;
# redis_cmd({ port => $p, db => 3 }, 'DBSIZE') elsewhere.
sub redis_cmd {
    my %opt = ref $_[0] eq 'HASH' ? %{ shift() } : ();
    return connect_redis(%opt)->cmd(@_);
}

sub dbsize {
    my (%opt) = @_;
    return redis_cmd({ _target_opts(\%opt) }, 'DBSIZE');
}


############################################################################
# Seeding and the record of what was seeded

# Everything below is reset by flush(): the names under which dumps show
# seeded ids and timestamps, and the state each seeded key was left in.
my %IdLabel;       # id => label
my %TimeLabel;     # label => ms
my @MaxInactive;   # maxInactiveInterval values seeded (for bucket names)
my %SeededKey;     # key => { value (type and content), expiry (ms or undef) }
my $Mark;          # Time::HiRes::time() of mark()

# FLUSHALL on the target and forget the previous block's seeds.
sub flush {
    my (%opt) = @_;
    redis_cmd({ _target_opts(\%opt) }, 'FLUSHALL');
    %IdLabel = ();
    %TimeLabel = ();
    @MaxInactive = ();
    %SeededKey = ();
    return;
}

# Lets dumps print <label> for an id that a test uses without seeding it
# (e.g. the unknown id a client sends), so that a module reusing it shows.
sub known_id {
    my ($id, $label) = @_;
    $IdLabel{$id} = $label;
    return $id;
}

sub _remember_key {
    my ($c, $key) = @_;
    my $pttl = $c->cmd('PTTL', $key);
    return if $pttl == -2;
    $SeededKey{$key} = {
        expiry => $pttl >= 0 ? now_ms() + $pttl : undef,
        value  => _raw_value($c, $key),
    };
}

# Writes a session the way Spring Session's indexed repository does
# (FORMAT 3.1/3.2 with the JSON serializer), as if last saved at
# lastAccessedTime: keys whose TTL has run out by now are not created.
#
#   id                  the session id (required)
#   label               name for dumps: the id prints as <label>, recent
#                       timestamps as <label.created> and <label.last>
#   creationTime, lastAccessedTime, maxInactiveInterval
#                       stored verbatim (decimal text or a typed form);
#                       defaults: now - 120 s, now - 60 s, 1800
#   attrs               [ name => value, ... ] -> sessionAttr:<name> fields
#   fields              [ field => value, ... ] replaces the whole field list
#                       (for malformed hashes); TTL then from hash_ttl_ms
#   hash_ttl_ms         explicit hash TTL (default as Spring computes it)
#   ns                  namespace (default spring:session)
#   plus target options: port, host, path, auth, db
# Default timestamps are distinct across seeds: two sessions seeded in the
# same millisecond would otherwise share a value, and the normalizer could
# name either label for it.
my %UsedTime;

sub _unused_time {
    my ($t) = @_;
    $t-- while $UsedTime{$t};
    $UsedTime{$t} = 1;
    return $t;
}

sub seed_session {
    my (%o) = @_;
    my $id = $o{id} // die "seed_session: id required\n";
    my $ns = $o{ns} // $DEFAULT_NS;
    my $now = now_ms();
    my $created = $o{creationTime} // _unused_time($now - 120_000);
    my $last = $o{lastAccessedTime} // _unused_time($now - 60_000);
    my $mii = $o{maxInactiveInterval} // 1800;
    my $c = connect_redis(_target_opts(\%o));

    my $hash = "$ns:sessions:$id";
    my $shadow = "$ns:sessions:expires:$id";

    my @fields;
    if ($o{fields}) {
        @fields = @{ $o{fields} };
    } else {
        @fields = (creationTime => $created, maxInactiveInterval => $mii,
                   lastAccessedTime => $last);
        my @attrs = @{ $o{attrs} // [] };
        while (my ($name, $value) = splice @attrs, 0, 2) {
            push @fields, "sessionAttr:$name" => $value;
        }
    }

    if (defined $o{label}) {
        $IdLabel{$id} = $o{label};
        my %f = @fields;
        for my $pair ([created => 'creationTime'],
                      [last => 'lastAccessedTime'])
        {
            my $v = parse_number($f{ $pair->[1] });
            # Historical constants (the seed's 2019 values) stay literal.
            $TimeLabel{"$o{label}.$pair->[0]"} = $v
                if defined $v && abs($v - $now) < 2 * 86_400_000;
        }
    }

    $c->cmd('HSET', $hash, @fields);

    my $n = parse_number({ @fields }->{maxInactiveInterval});
    my $l = parse_number({ @fields }->{lastAccessedTime});

    if ($o{fields} || !defined $n || !defined $l) {
        $c->cmd('PEXPIRE', $hash, $o{hash_ttl_ms} // 600_000);
        _remember_key($c, $hash);
        return $id;
    }

    push @MaxInactive, $n;

    if ($n < 0) {
        # Never expires: APPEND + PERSIST, no bucket (FORMAT 3.1 step 5).
        $c->cmd('APPEND', $shadow, '');
        $c->cmd('PERSIST', $shadow);
        $c->cmd('PERSIST', $hash);
    } else {
        my $bucket = "$ns:expirations:" . bucket_ms($l, $n);
        my $left = $l + ($n + 300) * 1000 - $now;
        if ($left > 0) {
            $c->cmd('SADD', $bucket, qq("expires:$id"));
            $c->cmd('PEXPIRE', $bucket, $left);
        }
        $left = $l + $n * 1000 - $now;
        if ($n > 0 && $left > 0) {
            $c->cmd('APPEND', $shadow, '');
            $c->cmd('PEXPIRE', $shadow, $left);
        }
        $left = $o{hash_ttl_ms} // ($l + ($n + 300) * 1000 - $now);
        if ($left > 0) {
            $c->cmd('PEXPIRE', $hash, $left);
        } else {
            $c->cmd('DEL', $hash);
        }
        _remember_key($c, $bucket);
    }

    _remember_key($c, $_) for $hash, $shadow;
    return $id;
}

# Writes any key as given, remembered like a seeded session's keys:
# seed_key(string => $key, $value) / seed_key(hash => $key, f => v, ...).
sub seed_key {
    my ($type, $key, @data) = @_;
    my %opt = ref $data[-1] eq 'HASH' ? %{ pop @data } : ();
    my $c = connect_redis(_target_opts(\%opt));
    if ($type eq 'string') {
        $c->cmd('SET', $key, $data[0]);
    } elsif ($type eq 'hash') {
        $c->cmd('HSET', $key, @data);
    } elsif ($type eq 'set') {
        $c->cmd('SADD', $key, @data);
    } else {
        die "seed_key: unsupported type $type\n";
    }
    $c->cmd('PEXPIRE', $key, $opt{ttl_ms}) if $opt{ttl_ms};
    _remember_key($c, $key);
    return $key;
}

sub _raw_value {
    my ($c, $key) = @_;
    my $type = $c->cmd('TYPE', $key);
    my $v;
    if ($type eq 'hash') {
        $v = join "\0", @{ $c->cmd('HGETALL', $key) };
    } elsif ($type eq 'string') {
        $v = $c->cmd('GET', $key);
    } elsif ($type eq 'set') {
        $v = join "\0", sort @{ $c->cmd('SMEMBERS', $key) };
    } else {
        $v = '';
    }
    return "$type\0$v";
}

# "untouched" when every seeded key still has its seeded type, content and
# expiry (within 1.5 s); otherwise one line per difference.
sub seeds_status {
    my (%opt) = @_;
    my $c = connect_redis(_target_opts(\%opt));
    my @diff;
    for my $key (sort keys %SeededKey) {
        my $s = $SeededKey{$key};
        my $pttl = $c->cmd('PTTL', $key);
        if ($pttl == -2) {
            push @diff, "deleted $key";
            next;
        }
        push @diff, "modified $key" if _raw_value($c, $key) ne $s->{value};
        my $exp = $pttl >= 0 ? now_ms() + $pttl : undef;
        if (defined($exp) != defined($s->{expiry})
            || (defined $exp && abs($exp - $s->{expiry}) > 1500))
        {
            push @diff, "ttl changed $key";
        }
    }
    return "seeds untouched\n" unless @diff;
    return join '', map { "$_\n" } @diff;
}

# Wall-clock stopwatch for timing assertions: mark() in --- init,
# elapsed() in a response_body_filters code ref.
sub mark { $Mark = Time::HiRes::time(); return }
sub elapsed { return Time::HiRes::time() - $Mark }


############################################################################
# Normalized views of responses and of Redis, for exact comparison with
# --- response_body.  One normalizer per filter call keeps names stable
# across the parts it prints.

package SharedSessionTest::Norm;

sub new {
    my ($class, %opt) = @_;
    my %ids = map { $_ => "<$IdLabel{$_}>" } grep { length } keys %IdLabel;
    return bless { opt => \%opt, ids => \%ids, fresh => 0, times => [],
                   primary => undef }, $class;
}

# Names an id: a seeded/known id by its label, a fresh UUID v4 as <new>,
# <new2>, ... in order of appearance.  Anything else keeps its text (and
# so fails an exact comparison).
sub _see_id {
    my ($self, $id) = @_;
    return undef unless length $id;
    return $self->{ids}{$id} if exists $self->{ids}{$id};
    return undef unless $id =~ $UUID4_RE;
    my $n = ++$self->{fresh};
    return $self->{ids}{$id} = $n == 1 ? '<new>' : "<new$n>";
}

# Registers a timestamp the module wrote "now" under <now>, <now2>, ...
sub _see_now {
    my ($self, $ms) = @_;
    for my $t (@{ $self->{times} }) {
        return if $t->[1] == $ms;
    }
    my $n = @{ $self->{times} } + 1;
    push @{ $self->{times} }, [ $n == 1 ? 'now' : "now$n", $ms ];
}

sub _time_labels {
    my ($self) = @_;
    return (@{ $self->{times} },
            map { [ $_, $TimeLabel{$_} ] } sort keys %TimeLabel);
}

# Replaces ids, their Base64 forms, and labelled timestamps in $text.
sub subst {
    my ($self, $text) = @_;
    return $text unless defined $text;
    for my $id (sort { length $b <=> length $a } keys %{ $self->{ids} }) {
        my $name = $self->{ids}{$id};
        my $b = SharedSessionTest::b64($id);
        (my $inner = $name) =~ s/^<|>$//g;
        $text =~ s/\Q$b\E/<b64 $inner>/g;
        $text =~ s/\Q$id\E/$name/g;
    }
    my %by_value;
    for my $l ($self->_time_labels) {
        $by_value{ $l->[1] } //= "<$l->[0]>";
    }
    $text =~ s{(?<![0-9])([0-9]{13})(?![0-9])}
              {$by_value{$1} // $1}ge;
    return $text;
}

sub _escape {
    my ($v) = @_;
    return '(nil)' unless defined $v;
    $v =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    return $v;
}

sub _discover_ids {
    my ($self, $text) = @_;
    $self->_see_id($1) while $text =~ /($UUID_RE)/g;
}

# The module's JSON answer: registers its sessionId and lastUpdatedAt and
# returns "body: <json>" with names substituted (a final newline is not
# significant).  Other bodies print as they are, nginx's HTML pages as
# "(html)".
sub body {
    my ($self, $body) = @_;
    $body //= '';
    return "body: (empty)\n" if $body eq '';
    (my $b = $body) =~ s/\r?\n\z//;
    my $json = eval { JSON::PP->new->decode($b) };
    if (ref $json eq 'HASH' && defined $json->{sessionId}) {
        $self->_see_id($json->{sessionId});
        $self->{primary} //= $json->{sessionId};
        if (defined $json->{lastUpdatedAt}
            && $json->{lastUpdatedAt} =~ /^\d+$/)
        {
            $self->_see_now($json->{lastUpdatedAt});
        }
    } elsif ($b =~ /<html>/i) {
        return "body: (html)\n";
    }
    my $out = 'body: ' . $self->subst(_escape($b)) . "\n";
    return $out . $self->_clock_check;
}

# A line only when a timestamp labelled "now" is far from this machine's
# clock (the module must write the current time in ms).
sub _clock_check {
    my ($self) = @_;
    my $out = '';
    my $now = SharedSessionTest::now_ms();
    for my $t (@{ $self->{times} }) {
        next if $t->[2]++;
        my $skew = $t->[1] - $now;
        $out .= "clock: <$t->[0]> is ${skew} ms from now\n"
            if abs($skew) > 10_000;
    }
    return $out;
}

sub primary_id { return $_[0]{primary} }

# A response fetched with http_request(): status, Set-Cookie, Location,
# and the body.
sub response {
    my ($self, $res) = @_;
    my $out = "status: $res->{status}\n";
    my @sc = @{ $res->{headers}{'set-cookie'} // [] };
    for my $sc (@sc) {
        if ($sc =~ /^[^=]+=([A-Za-z0-9+\/]+=*);/) {
            $self->_see_id(MIME::Base64::decode_base64($1));
        }
    }
    my $body_line = $self->body($res->{body});
    $out .= 'set-cookie: ' . (@sc ? $self->subst(join ' | ', @sc) : 'none')
            . "\n";
    if (my $loc = $res->{headers}{location}) {
        $out .= "location: $loc->[0]\n";
    }
    return $out . $body_line;
}

my %TYPE_RANK = (hash => 0, string => 1, set => 2, zset => 3, list => 4);

# Redis keeps no field order once a hash outgrows a listpack (the sample
# attribute alone does), so fields print in Spring's HMSET order for the
# three numbers and by name for the rest.
my %FIELD_RANK = (creationTime => 0, maxInactiveInterval => 1,
                  lastAccessedTime => 2);

# Every key of the target database, normalized:
#   hash <name> ttl=<t>        then "  field=value", see %FIELD_RANK
#   string <name> ttl=<t> value="<value>"
#   set <name> ttl=<t>         then "  member", sorted
# ttl is "none" (no expiry), "seeded" (as seed_session left it), or the
# remaining seconds rounded up.  Expiration buckets are named after the
# formula, e.g. spring:session:expirations:<bucket(now+1800s)>.
sub db {
    my ($self, %opt) = @_;
    %opt = (%{ $self->{opt} }, %opt);
    my $c = SharedSessionTest::connect_redis(
        SharedSessionTest::_target_opts(\%opt));
    my @keys = @{ $c->cmd('KEYS', '*') };

    my (%type, %pttl, %content, @mii);
    for my $key (@keys) {
        $type{$key} = $c->cmd('TYPE', $key);
        $pttl{$key} = $c->cmd('PTTL', $key);
        if ($type{$key} eq 'hash') {
            my @kv = @{ $c->cmd('HGETALL', $key) };
            $content{$key} = \@kv;
            my %h = @kv;
            my $n = SharedSessionTest::parse_number($h{maxInactiveInterval});
            push @mii, $n if defined $n;
            my $l = SharedSessionTest::parse_number($h{lastAccessedTime});
            # A session written just now by a response we did not see
            # (HEAD): its lastAccessedTime is "now".
            $self->_see_now($l)
                if defined $l && abs($l - SharedSessionTest::now_ms()) < 10_000
                   && !@{ $self->{times} };
        } elsif ($type{$key} eq 'string') {
            $content{$key} = $c->cmd('GET', $key);
        } elsif ($type{$key} eq 'set') {
            $content{$key} = [ sort @{ $c->cmd('SMEMBERS', $key) } ];
        }
        $self->_discover_ids($key);
    }
    my $dump_time = SharedSessionTest::now_ms();

    my %n_seen;
    my @ns = sort { $a <=> $b } grep { !$n_seen{$_}++ } @mii, @MaxInactive;

    my @lines;
    for my $key (@keys) {
        next if $pttl{$key} == -2;
        my $name = $self->_key_name($key, \@ns);
        my $ttl = $self->_ttl($key, $pttl{$key}, $dump_time);
        my $t = $type{$key};
        my $text;
        if ($t eq 'hash') {
            my %h = @{ $content{$key} };
            $text = "hash $name ttl=$ttl\n";
            for my $f (sort { ($FIELD_RANK{$a} // 9) <=> ($FIELD_RANK{$b} // 9)
                              or $a cmp $b } keys %h)
            {
                $text .= '  ' . $self->subst(_escape($f)) . '='
                         . $self->subst(_escape($h{$f})) . "\n";
            }
        } elsif ($t eq 'string') {
            $text = "string $name ttl=$ttl value=\""
                    . $self->subst(_escape($content{$key})) . "\"\n";
        } elsif ($t eq 'set') {
            $text = "set $name ttl=$ttl\n";
            $text .= '  ' . $self->subst(_escape($_)) . "\n"
                for @{ $content{$key} };
        } else {
            $text = "$t $name ttl=$ttl\n";
        }
        push @lines, [ $TYPE_RANK{$t} // 9, $name, $text ];
    }

    my $out = join '', map { $_->[2] }
              sort { $a->[0] <=> $b->[0] or $a->[1] cmp $b->[1] } @lines;
    $out = "(no keys)\n" if $out eq '';
    return $out . $self->_clock_check;
}

sub _key_name {
    my ($self, $key, $ns) = @_;
    if ($key =~ /\A(.*:expirations:)([0-9]{13})\z/) {
        my ($prefix, $ms) = ($1, $2);
        # The latest write first: a bucket that several of this block's
        # requests share is named after the last of them.
        for my $l (reverse(@{ $self->{times} }),
                   map { [ $_, $TimeLabel{$_} ] } sort keys %TimeLabel)
        {
            for my $n (@$ns) {
                if (SharedSessionTest::bucket_ms($l->[1], $n) == $ms) {
                    return $self->subst(_escape($prefix))
                           . "<bucket($l->[0]+${n}s)>";
                }
            }
        }
    }
    return $self->subst(_escape($key));
}

sub _ttl {
    my ($self, $key, $pttl, $dump_time) = @_;
    return 'none' if $pttl == -1;
    my $s = $SeededKey{$key};
    if ($s && defined $s->{expiry}
        && abs($dump_time + $pttl - $s->{expiry}) <= 1500)
    {
        return 'seeded';
    }
    return POSIX::ceil($pttl / 1000) . 's';
}

package SharedSessionTest;

sub normalizer {
    my (%opt) = @_;
    return SharedSessionTest::Norm->new(%opt);
}

# The usual response_body_filters code ref:
#     sub { SharedSessionTest::dump_db($_[0]) }
# Options: no_body => 1 (the answer is not the module's JSON), and the
# target options port, host, path, auth, db.
sub dump_db {
    my ($body, %opt) = @_;
    my $n = normalizer(_target_opts(\%opt));
    my $out = $opt{no_body} ? '' : $n->body($body);
    return $out . $n->db;
}


# For tests about which session a request selects: the module's answer and
# whether everything seeded is as it was.
sub body_and_seeds {
    my ($body, %opt) = @_;
    return normalizer(_target_opts(\%opt))->body($body)
           . seeds_status(_target_opts(\%opt));
}


# "Cookie: SESSION=<b64 id1>; SESSION=<b64 id2>; ..." for a more_headers
# eval section; a value given as \'text' is sent as it is.
sub session_cookies {
    my (@ids) = @_;
    return 'Cookie: ' . join '; ',
        map { 'SESSION=' . (ref $_ ? $$_ : b64($_)) } @ids;
}


############################################################################
# Plain HTTP client, for requests that depend on an earlier answer (the
# cookie of a session created by the block's own request).

sub server_port {
    no warnings 'once';
    return $Test::Nginx::Util::ServerPortForClient
        // $ENV{TEST_NGINX_CLIENT_PORT}
        // $ENV{TEST_NGINX_SERVER_PORT}
        // $ENV{TEST_NGINX_PORT}
        // 1984;
}

# http_request(GET => '/path', Header => value, ...) -> { status,
# headers => { lc name => [values] }, body }
sub http_request {
    my ($method, $path, @hdr) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => server_port(),
                                     Proto => 'tcp', Timeout => $IO_TIMEOUT)
        or die "http_request: connect: $!\n";
    binmode $sock;
    my %h = @hdr;
    my $req = "$method $path HTTP/1.0\r\n";
    $req .= "Host: localhost\r\n" unless grep { lc $_ eq 'host' } keys %h;
    while (my ($k, $v) = splice @hdr, 0, 2) {
        $req .= "$k: $v\r\n";
    }
    $req .= "Connection: close\r\n\r\n";
    print $sock $req;
    my $raw = '';
    my $sel = IO::Select->new($sock);
    while ($sel->can_read($IO_TIMEOUT)) {
        my $n = sysread($sock, my $chunk, 65536);
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
    return { status => $status // 'none', headers => \%headers,
             body => $body // '' };
}

# A response_body_filters helper for a session that travels: prints the
# block's own answer, then requests each step with the session's cookie and
# prints that answer, then the whole database.  A step is
#   [ path, Host => ..., Header => ... ]
# and sends "Cookie: SESSION=<b64 id of the first answer>" unless it has
# its own Cookie header (cookie_name => NAME changes the name; method => M
# the method).
sub follow {
    my ($body, @steps) = @_;
    my %opt = ref $steps[-1] eq 'HASH' ? %{ pop @steps } : ();
    my $n = normalizer(_target_opts(\%opt));
    my $out = $n->body($body);
    my $id = $n->primary_id;
    for my $step (@steps) {
        my ($path, @pairs) = @$step;
        my ($name, $method, $has_cookie, @send) = ('SESSION', 'GET');
        while (my ($k, $v) = splice @pairs, 0, 2) {
            if ($k eq 'cookie_name') { $name = $v; next }
            if ($k eq 'method') { $method = $v; next }
            $has_cookie = 1 if lc $k eq 'cookie';
            push @send, $k, $v;
        }
        push @send, Cookie => "$name=" . b64($id // '') unless $has_cookie;
        # Distinct milliseconds for distinct writes, so <now>, <now2>, ...
        # name them unambiguously.
        Time::HiRes::sleep(0.005);
        $out .= "-> $method $path\n"
                . $n->response(http_request($method, $path, @send));
    }
    return $out . "-> redis\n" . $n->db;
}


############################################################################
# Reloading the nginx under test (needs master_process on)

sub _workers_of {
    my ($master) = @_;
    open my $fh, '<', "/proc/$master/task/$master/children" or return ();
    my @kids = split ' ', scalar(<$fh>) // '';
    return grep { _cmdline($_) =~ /^nginx: worker process/ } @kids;
}

sub _cmdline {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/cmdline" or return '';
    return scalar(<$fh>) // '';
}

# Sends SIGHUP to the nginx master (as "nginx -s reload" does) and waits
# until new workers run and the old ones are gone.  Without a master (e.g.
# under valgrind) the single process reloads in place: wait a little.
sub hup_nginx {
    no warnings 'once';
    my $pidfile = $Test::Nginx::Util::PidFile;
    open my $fh, '<', $pidfile or die "hup_nginx: $pidfile: $!\n";
    chomp(my $master = <$fh>);
    my %old = map { $_ => 1 } _workers_of($master);
    kill 'HUP', $master or die "hup_nginx: kill $master: $!\n";
    if (!%old) {
        Time::HiRes::sleep(1);
        return;
    }
    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        Time::HiRes::sleep(0.02);
        my @now = _workers_of($master);
        return if @now && !grep { $old{$_} } @now;
    }
    die "hup_nginx: no new workers after SIGHUP\n";
}


############################################################################
# Private redis-server instances (requirepass, ACL users, unix sockets,
# servers to stop, restart or pause).  All are stopped at END.

# start_redis(conf => [ 'requirepass x', ... ], auth => [ 'x' ],
#             unixsocket => 1, port => n, bind => '127.0.0.2') -> port
# auth is what this helper itself sends to the server (for seeding and
# dumps); unixsocket adds a socket, see redis_socket(); bind replaces the
# default addresses (127.0.0.1 and, where there is one, ::1).
sub start_redis {
    my (%opt) = @_;
    my $port = $opt{port} // free_port();
    my $bind = $opt{bind} // '127.0.0.1 -::1';
    my ($host) = split / /, $bind;
    my $dir = File::Temp::tempdir('ss-redis-XXXXXX', TMPDIR => 1);
    chmod 0755, $dir;
    my @conf = (
        "port $port",
        "bind $bind",
        'save ""',
        'appendonly no',
        "dir $dir",
        'daemonize no',
        "logfile $dir/redis.log",
    );
    my $path;
    if ($opt{unixsocket}) {
        $path = "$dir/redis.sock";
        push @conf, "unixsocket $path", 'unixsocketperm 777';
    }
    push @conf, @{ $opt{conf} // [] };
    my $conf = "$dir/redis.conf";
    open my $fh, '>', $conf or die "start_redis: $conf: $!\n";
    print $fh map { "$_\n" } @conf;
    close $fh;

    $Redis{$port} = { dir => $dir, conf => $conf, auth => $opt{auth},
                      path => $path, host => $host };
    _spawn_redis($port);
    return $port;
}

sub _spawn_redis {
    my ($port) = @_;
    my $r = $Redis{$port};
    my $pid = fork();
    die "start_redis: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec('redis-server', $r->{conf}) or POSIX::_exit(127);
    }
    $r->{pid} = $pid;

    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        my $ok = eval {
            my $c = SharedSessionTest::Conn->new(target(port => $port));
            $c->cmd('PING') eq 'PONG';
        };
        return $port if $ok;
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            delete $r->{pid};
            die "start_redis: redis-server on port $port exited; see "
                . "$r->{dir}/redis.log\n";
        }
        Time::HiRes::sleep(0.02);
    }
    die "start_redis: redis-server on port $port did not answer\n";
}

sub redis_socket {
    my ($port) = @_;
    return $Redis{$port}{path};
}

sub stop_redis {
    my ($port) = @_;
    my $r = $Redis{$port} or return;
    my $pid = delete $r->{pid} or return;
    stop_pid($pid);
}

# A child server of ours, paused or not: SIGTERM (as a service manager stops
# it), then SIGKILL if it lingers 5 s; reaped either way.
sub stop_pid {
    my ($pid) = @_;
    kill 'CONT', $pid;
    kill 'TERM', $pid;
    my $deadline = Time::HiRes::time() + 5;
    while (Time::HiRes::time() < $deadline) {
        return if waitpid($pid, POSIX::WNOHANG()) == $pid;
        Time::HiRes::sleep(0.01);
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return;
}

# Starts a stopped private server again on the same port and config.
sub restart_redis {
    my ($port) = @_;
    stop_redis($port);
    _spawn_redis($port);
    return $port;
}

sub pause_redis {
    my ($port) = @_;
    kill 'STOP', $Redis{$port}{pid};
}

sub resume_redis {
    my ($port) = @_;
    kill 'CONT', $Redis{$port}{pid};
}

END {
    if ($$ == $OWNER_PID) {
        local $?;
        for my $port (keys %Redis) {
            stop_redis($port);
            File::Path::remove_tree($Redis{$port}{dir});
        }
    }
}

1;

__END__

=head1 NAME

SharedSessionTest - Redis helpers for the shared-session Test::Nginx suite

=head1 SYNOPSIS

    use lib 't/inc';
    use SharedSessionTest;
    use Test::Nginx::Socket 'no_plan';

    __DATA__

    === TEST 1: a Spring session is reused
    --- init
    SharedSessionTest::flush();
    SharedSessionTest::seed_session(
        id => 'e1237df7-5646-4382-aa12-41435ed09dc7', label => 'B',
        creationTime => 1552128921707,
        attrs => [ 'scopedTarget.sampleSession' =>
                       SharedSessionTest::spring_attr('c95883d5424d',
                                                      1552129074569) ]);
    --- response_body_filters eval
    sub { SharedSessionTest::dump_db($_[0]) }
    --- response_body
    body: {"sessionId":"<B>","host":"hostA","lastUpdatedAt":<now>,...}
    hash spring:session:sessions:<B> ttl=2100s
      creationTime=1552128921707
      ...

Nothing is exported: Test::Nginx evaluates C<--- init> and C<eval> sections
in its own packages, so the tests call everything fully qualified.

=head1 NORMALIZED TEXT

C<dump_db>, C<follow> and the normalizer print what they see with names
instead of values that change from run to run:

=over

=item C<< <B> >>, C<< <b64 B> >>

an id given a label by C<seed_session> or C<known_id>, and its Base64 form
(the cookie value);

=item C<< <new> >>, C<< <new2> >>

fresh lowercase UUID v4 ids, in order of appearance (any other unknown id
prints as it is, and so fails the comparison);

=item C<< <now> >>, C<< <now2> >>

the C<lastUpdatedAt> of the answers (or, for HEAD, the lastAccessedTime the
module just wrote); C<< <B.last> >>, C<< <B.created> >>: recent seeded
timestamps;

=item C<< <bucket(now+1800s)> >>

an expiration bucket whose name is C<bucket_ms(now, 1800)>;

=item C<ttl=2100s>, C<ttl=seeded>, C<ttl=none>

remaining time to live rounded up to seconds, the TTL C<seed_session> gave
(within 1.5 s), or no expiry.

=back

Hash fields print as creationTime, maxInactiveInterval, lastAccessedTime,
then the others by name; bytes outside printable ASCII as C<\xNN>.

=head1 FUNCTIONS

Target options, accepted wherever Redis is used: C<port> (a private server
started here is found by its port, with its auth), C<host>, C<path> (unix
socket), C<auth> (C<[password]> or C<[user, password]>), C<db>.  Without
them: the shared Redis at C<$TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT>.

=over

=item redis_cmd([\%target,] @command), connect_redis(%target)->cmd(@command), dbsize(%target)

A binary-safe RESP2 client: integers, strings, undef (nil) and array refs;
an error reply dies with its text.

=item b64($id), bucket_ms($last_ms, $seconds), spring_attr($host, $ms [, $class]), now_ms(), parse_number($text)

Spring Session's cookie value, expiration bucket, sample attribute JSON,
the time in ms, and a stored number (decimal text or the typed
C<["java.lang.Long",n]> form).

=item flush(%target)

FLUSHALL, and forget what earlier blocks seeded.  First thing in every
block's C<--- init>.

=item seed_session(%opts), seed_key($type, $key, @data [, \%opts]), known_id($id, $label)

Write a session as Spring Session's indexed repository would have when it
last saved it (keys already expired by now are left out), or any key; both
are remembered for C<ttl=seeded> and C<seeds_status>.  C<known_id> only
names an id.

=item dump_db($body [, no_body => 1, %target]), body_and_seeds($body), seeds_status(%target), normalizer()

The normalized database (with the answer), the answer and whether the
seeded keys are untouched, or a normalizer object (C<body>, C<response>,
C<db>) for combinations.

=item follow($body, [$path, Header => value, ...], ...)

For a session that travels: requests each path with the first answer's
session cookie and prints every answer, then the database.

=item http_request($method, $path, Header => value, ...), server_port(), session_cookies(@ids)

A plain HTTP/1.0 client to the nginx under test, and a Cookie header with
several SESSION cookies.

=item start_redis(conf => [...], auth => [...], unixsocket => 1, port => $n, bind => $addr)

A private redis-server in a temporary directory, returning its port;
C<redis_socket($port)>, C<stop_redis($port)>, C<restart_redis($port)>,
C<pause_redis($port)> (SIGSTOP), C<resume_redis($port)> (SIGCONT).  All are
stopped at END.

=item hup_nginx()

Reloads the nginx under test (SIGHUP to its master; needs master_on()) and
waits for the new workers.

=item mark(), elapsed(), free_port(), port_in_use($port [, $host])

A stopwatch for timing assertions, and port helpers.

=back

=cut
