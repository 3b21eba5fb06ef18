package DnsTest;

# A tiny authoritative DNS server for the tests that make nginx's resolver
# follow a name (t/032-dns.t): a forked Perl child on UDP
# 127.0.0.1:<free port> that answers from a table the test changes while it
# runs.  Pure Perl, core modules only.
#
#   use lib 't/inc';
#   use DnsTest;
#
#   my $dns = DnsTest->start(ttl => 1,
#                            records => { 'redis.test' => '127.0.0.1' });
#   $dns->port;                               # for "resolver 127.0.0.1:<port>"
#   $dns->set('redis.test' => '127.0.0.2');   # answers change at once
#   $dns->set('redis.test' => ['10.0.0.1', '10.0.0.2'], ttl => 30);
#   $dns->set('slow.test' => 'drop');         # queries for it get no answer
#   $dns->set('bad.test' => 'servfail');      # SERVFAIL
#   $dns->remove('redis.test');               # NXDOMAIN from now on
#   $dns->silent(1);                          # no answer to anything
#   $dns->queries('redis.test', 'A');         # how many were received
#   $dns->stop;                               # also done at END
#
# The table lives in a file that the child reads again for every query, so
# a change is seen by the very next query (the file is replaced with
# rename(), never seen half-written).  Every well-formed query is appended
# to a log file, which queries() and query_log() read.
#
# Answers: A -> one A record per address (the name as a compression pointer
# to the question, 0xC00C); AAAA or any other type of a known name -> an
# empty NOERROR answer; an unknown name -> NXDOMAIN; a class other than IN
# -> REFUSED.  Every answer is authoritative (AA) and echoes the question.
# Malformed packets (short, a response, not a standard query, not exactly
# one question, a bad or compressed question name, a truncated question)
# are ignored: logged as "malformed", never answered.
#
# Names are case-insensitive; a trailing dot does not matter.

use strict;
use warnings;

use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Socket ();
use Time::HiRes ();

my $OWNER_PID = $$;
my %Running;    # pid => object, for END

my %QTYPE = (1 => 'A', 2 => 'NS', 5 => 'CNAME', 6 => 'SOA', 12 => 'PTR',
             15 => 'MX', 16 => 'TXT', 28 => 'AAAA', 33 => 'SRV',
             255 => 'ANY');
my %QTYPE_NUM = reverse %QTYPE;

use constant {
    NOERROR  => 0,
    FORMERR  => 1,
    SERVFAIL => 2,
    NXDOMAIN => 3,
    REFUSED  => 5,
};


############################################################################
# The parent's side

sub start {
    my ($class, %o) = @_;
    my $sock = IO::Socket::INET->new(LocalAddr => $o{addr} // '127.0.0.1',
                                     LocalPort => $o{port} // 0,
                                     Proto => 'udp')
        or die "DnsTest: cannot bind UDP: $!\n";
    my $dir = File::Temp::tempdir('dns-test-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 0);
    my $self = bless {
        port    => $sock->sockport,
        addr    => $sock->sockhost,
        dir     => $dir,
        table   => "$dir/table",
        log     => "$dir/queries",
        ttl     => $o{ttl} // 1,
        silent  => 0,
        records => {},
    }, $class;
    while (my ($name, $value) = each %{ $o{records} // {} }) {
        $self->{records}{ _canon($name) } = _record($value, $self->{ttl});
    }
    $self->_write_table;
    open my $lf, '>', $self->{log} or die "DnsTest: $self->{log}: $!\n";
    close $lf;

    my $pid = fork();
    die "DnsTest: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        my $ok = eval { _serve($sock, $self->{table}, $self->{log}, $OWNER_PID); 1 };
        if (!$ok && open my $e, '>>', "$self->{log}.err") {
            print $e $@;
            close $e;
        }
        POSIX::_exit(0);
    }
    close $sock;
    $self->{pid} = $pid;
    $Running{$pid} = $self;
    return $self;
}

sub port { $_[0]{port} }
sub addr { $_[0]{addr} }
sub pid  { $_[0]{pid} }

# "127.0.0.1:<port>", for the resolver directive
sub address { "$_[0]{addr}:$_[0]{port}" }

# set($name => $addr | [$addr, ...] | 'drop' | 'servfail' | 'nxdomain',
#     ttl => $seconds)
sub set {
    my ($self, $name, $value, %o) = @_;
    $self->{records}{ _canon($name) } = _record($value, $o{ttl} // $self->{ttl});
    $self->_write_table;
    return $self;
}

sub remove {
    my ($self, @names) = @_;
    delete $self->{records}{ _canon($_) } for @names;
    $self->_write_table;
    return $self;
}

# The TTL of records set from now on without their own ttl (and, with
# all => 1, of every record already in the table).
sub ttl {
    my ($self, $ttl, %o) = @_;
    $self->{ttl} = $ttl;
    if ($o{all}) {
        $_->{ttl} = $ttl for values %{ $self->{records} };
        $self->_write_table;
    }
    return $self;
}

# Stops (1) or resumes (0) answering any query at all.
sub silent {
    my ($self, $on) = @_;
    $self->{silent} = $on ? 1 : 0;
    $self->_write_table;
    return $self;
}

# The queries received so far, oldest first:
# { time, name, type ('A', 'AAAA', ... or the number), answer ('A 1.2.3.4,...',
#   'NOERROR', 'NXDOMAIN', 'SERVFAIL', 'REFUSED', 'drop', 'silent',
#   'malformed'), peer ('127.0.0.1:port') }
sub query_log {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return ();
    my @q;
    while (my $line = <$fh>) {
        chomp $line;
        my ($time, $peer, $name, $type, $answer) = split /\t/, $line, 5;
        push @q, { time => $time, peer => $peer, name => $name,
                   type => $type, answer => $answer };
    }
    close $fh;
    return @q;
}

# How many queries arrived, for a name and type if given (malformed
# packets count only without a name).
sub queries {
    my ($self, $name, $type) = @_;
    my @q = $self->query_log;
    @q = grep { $_->{answer} ne 'malformed' } @q if defined $name;
    @q = grep { $_->{name} eq _canon($name) } @q if defined $name;
    @q = grep { $_->{type} eq uc $type } @q if defined $type;
    return scalar @q;
}

# Whatever the child died of, if it did.
sub child_error {
    my ($self) = @_;
    open my $fh, '<', "$self->{log}.err" or return '';
    local $/;
    return scalar <$fh>;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    delete $Running{$pid};
    kill 'TERM', $pid;
    my $deadline = Time::HiRes::time() + 3;
    while (Time::HiRes::time() < $deadline) {
        last if waitpid($pid, POSIX::WNOHANG()) == $pid;
        Time::HiRes::sleep(0.01);
    }
    if (kill 0, $pid) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    unlink $self->{table}, $self->{log}, "$self->{log}.err";
    rmdir $self->{dir};
    return;
}

sub _canon {
    my ($name) = @_;
    $name = lc $name;
    $name =~ s/\.\z//;
    return $name;
}

sub _record {
    my ($value, $ttl) = @_;
    if (!ref $value && $value =~ /\A(?:drop|servfail|nxdomain)\z/) {
        return { action => $value, ttl => $ttl };
    }
    my @addrs = ref $value ? @$value : ($value);
    for (@addrs) {
        die "DnsTest: not an IPv4 address: $_\n"
            unless /\A\d{1,3}(?:\.\d{1,3}){3}\z/;
    }
    return { a => \@addrs, ttl => $ttl };
}

# One line per record: "name<TAB>ttl<TAB>a,b,c" or "name<TAB>ttl<TAB>!drop".
sub _write_table {
    my ($self) = @_;
    my $tmp = "$self->{table}.tmp.$$";
    open my $fh, '>', $tmp or die "DnsTest: $tmp: $!\n";
    print $fh "!silent\n" if $self->{silent};
    for my $name (sort keys %{ $self->{records} }) {
        my $r = $self->{records}{$name};
        my $v = $r->{action} ? "!$r->{action}" : join ',', @{ $r->{a} };
        print $fh "$name\t$r->{ttl}\t$v\n";
    }
    close $fh or die "DnsTest: $tmp: $!\n";
    rename $tmp, $self->{table} or die "DnsTest: rename $tmp: $!\n";
}


############################################################################
# The child: one query at a time

sub _read_table {
    my ($file) = @_;
    my %t = (records => {});
    open my $fh, '<', $file or return \%t;
    while (my $line = <$fh>) {
        chomp $line;
        if ($line eq '!silent') { $t{silent} = 1; next }
        my ($name, $ttl, $v) = split /\t/, $line;
        next unless defined $v;
        $t{records}{$name} = $v =~ /\A!(.*)\z/
            ? { action => $1, ttl => $ttl }
            : { a => [ split /,/, $v ], ttl => $ttl };
    }
    close $fh;
    return \%t;
}

sub _serve {
    my ($sock, $table_file, $log_file, $parent) = @_;
    $SIG{TERM} = sub { POSIX::_exit(0) };
    open my $log, '>>', $log_file or die "DnsTest: $log_file: $!\n";
    select((select($log), $| = 1)[0]);
    my $sel = IO::Select->new($sock);
    while (1) {
        # the test died without stopping us: so do we
        POSIX::_exit(0) if getppid() != $parent;
        next unless $sel->can_read(0.5);
        my $from = recv($sock, my $pkt, 4096, 0);
        next unless defined $from && length $from;
        my ($pport, $paddr) = eval { Socket::unpack_sockaddr_in($from) };
        my $peer = $paddr ? Socket::inet_ntoa($paddr) . ":$pport" : '?';
        my $t = _read_table($table_file);
        my ($reply, $name, $type, $what) = _answer($pkt, $t);
        printf $log "%.3f\t%s\t%s\t%s\t%s\n", Time::HiRes::time(), $peer,
               $name // '', $type // '', $what;
        send($sock, $reply, 0, $from) if defined $reply;
    }
}

# Parses a question name (no compression allowed there) from $pkt at $off:
# (name, offset after it) or () if malformed.
sub _qname {
    my ($pkt, $off) = @_;
    my @labels;
    my $len = 0;
    while (1) {
        return () if $off >= length $pkt;
        my $n = ord substr($pkt, $off, 1);
        $off++;
        last if $n == 0;
        return () if $n > 63;                 # a pointer or a reserved type
        return () if $off + $n > length $pkt;
        push @labels, substr($pkt, $off, $n);
        $off += $n;
        $len += $n + 1;
        return () if $len > 254;
    }
    return (join('.', @labels), $off);
}

# (reply or undef, name, type, what was done) for one packet.
sub _answer {
    my ($pkt, $t) = @_;
    return (undef, undef, undef, 'malformed') if length($pkt) < 12;
    my ($id, $flags, $qd, $an, $ns, $ar) = unpack 'n6', $pkt;
    my $qr = $flags >> 15;
    my $opcode = ($flags >> 11) & 0xf;
    return (undef, undef, undef, 'malformed')
        if $qr || $opcode != 0 || $qd != 1 || $an != 0 || $ns != 0;
    my ($name, $off) = _qname($pkt, 12);
    return (undef, undef, undef, 'malformed') unless defined $off;
    return (undef, $name, undef, 'malformed') if $off + 4 > length $pkt;
    my ($qtype, $qclass) = unpack 'n2', substr($pkt, $off, 4);
    my $question = substr($pkt, 12, $off + 4 - 12);
    my $cname = _canon($name);
    my $tname = $QTYPE{$qtype} // $qtype;

    return (undef, $cname, $tname, 'silent') if $t->{silent};

    my $rd = $flags & 0x0100;
    my $reply = sub {
        my ($rcode, @answers) = @_;
        # QR, AA, RD as asked, RA
        my $f = 0x8000 | 0x0400 | $rd | 0x0080 | $rcode;
        return pack('n6', $id, $f, 1, scalar @answers, 0, 0)
               . $question . join '', @answers;
    };

    if ($qclass != 1) {
        return ($reply->(REFUSED), $cname, $tname, 'REFUSED');
    }
    my $r = $t->{records}{$cname};
    if (!$r || ($r->{action} // '') eq 'nxdomain') {
        return ($reply->(NXDOMAIN), $cname, $tname, 'NXDOMAIN');
    }
    if ($r->{action}) {
        return (undef, $cname, $tname, 'drop') if $r->{action} eq 'drop';
        return ($reply->(SERVFAIL), $cname, $tname, 'SERVFAIL');
    }
    if ($qtype != 1) {
        return ($reply->(NOERROR), $cname, $tname, 'NOERROR');
    }
    my @rr = map {
        pack('n n n N n', 0xC00C, 1, 1, $r->{ttl}, 4)
        . Socket::inet_aton($_)
    } @{ $r->{a} };
    return ($reply->(NOERROR, @rr), $cname, $tname,
            'A ' . join(',', @{ $r->{a} }) . " ttl=$r->{ttl}");
}


############################################################################
# A small client, to check the server (and for debugging tests):
#
#   my $res = DnsTest::query($port, 'redis.test', 'A' [, timeout => 1,
#                            id => n, raw => $bytes]);
#
# returns undef on timeout, otherwise { id, rcode, aa, qname, qtype,
# answers => [ { name, type, class, ttl, addr (A) or rdata } ] }.  With
# raw, those bytes are sent instead of a query built from name and type.

sub query {
    my ($port, $name, $type, %o) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => $o{addr} // '127.0.0.1',
                                     PeerPort => $port, Proto => 'udp')
        or die "DnsTest::query: $!\n";
    my $id = $o{id} // int rand 65536;
    my $pkt = $o{raw};
    if (!defined $pkt) {
        my $qt = $type =~ /^\d+$/ ? $type : $QTYPE_NUM{ uc $type }
            // die "DnsTest::query: unknown type $type\n";
        $pkt = pack('n6', $id, 0x0100, 1, 0, 0, 0)
               . join('', map { chr(length $_) . $_ } split /\./, $name)
               . "\0" . pack('n2', $qt, 1);
    }
    defined send($sock, $pkt, 0) or die "DnsTest::query: send: $!\n";
    IO::Select->new($sock)->can_read($o{timeout} // 1) or return undef;
    recv($sock, my $res, 4096, 0);
    close $sock;
    return parse_reply($res);
}

# Reads a name at $off, following compression pointers: (name, offset
# after the name where it started).
sub _read_name {
    my ($pkt, $off) = @_;
    my @labels;
    my $end;
    my $hops = 0;
    while (1) {
        die "name runs past the packet\n" if $off >= length $pkt;
        my $n = ord substr($pkt, $off, 1);
        if (($n & 0xc0) == 0xc0) {
            die "pointer loop\n" if ++$hops > 20;
            $end //= $off + 2;
            $off = unpack('n', substr($pkt, $off, 2)) & 0x3fff;
            next;
        }
        $off++;
        if ($n == 0) {
            $end //= $off;
            last;
        }
        push @labels, substr($pkt, $off, $n);
        $off += $n;
    }
    return (join('.', @labels), $end);
}

sub parse_reply {
    my ($pkt) = @_;
    return undef unless defined $pkt && length $pkt >= 12;
    my ($id, $flags, $qd, $an) = unpack 'n4', $pkt;
    my %r = (id => $id, qr => $flags >> 15, aa => ($flags >> 10) & 1,
             rcode => $flags & 0xf, answers => []);
    my $off = 12;
    for (1 .. $qd) {
        my ($name, $o) = _read_name($pkt, $off);
        @r{qw(qname qtype)} = ($name, unpack('n', substr($pkt, $o, 2)));
        $off = $o + 4;
    }
    for (1 .. $an) {
        my ($name, $o) = _read_name($pkt, $off);
        my ($type, $class, $ttl, $len) = unpack 'n n N n', substr($pkt, $o, 10);
        my $rdata = substr($pkt, $o + 10, $len);
        push @{ $r{answers} }, {
            name => $name, type => $type, class => $class, ttl => $ttl,
            ($type == 1 && $len == 4 ? (addr => Socket::inet_ntoa($rdata))
                                     : (rdata => $rdata)),
        };
        $off = $o + 10 + $len;
    }
    return \%r;
}


END {
    if ($$ == $OWNER_PID) {
        local $?;
        $_->stop for values %Running;
    }
}

1;
