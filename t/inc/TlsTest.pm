package TlsTest;

# TLS helpers for the ngx_http_shared_session_module test suite (t/031-tls.t):
#
#   pki()            a CA, an unrelated second CA and certificates signed by
#                    them, made with the openssl command line in a temporary
#                    directory (once per test process)
#   start_redis()    a private redis-server with TLS only (port 0,
#                    tls-port P), stopped at END; start_cluster(): a Redis
#                    Cluster of such servers
#   start_sni_server()  openssl s_server choosing its certificate by SNI
#   cli(), dump()    redis-cli --tls against such a server, for seeding and
#                    checks (Perl has no TLS in core, so no in-process client)
#   attempts()       how many TCP connections the server accepted since a
#                    mark, whatever became of their handshakes
#   nginx_t()        "nginx -t" on a configuration text, for config errors
#
# Pure Perl (core modules only) plus the openssl, redis-server and
# redis-cli programs.  Loaded with
#
#     use lib 't/inc';
#     use TlsTest;
#
# and called fully qualified (TlsTest::...), like SharedSessionTest.  See
# the POD at the end of the file.

use strict;
use warnings;

use File::Path ();
use File::Temp ();
use POSIX ();
use SharedSessionTest ();
use Time::HiRes ();

my $OWNER_PID = $$;

my %Redis;    # TLS servers by port: pid, dir, conf, cert, auth, insecure
my $Pki;      # { dir => ..., files ... } once made


############################################################################
# Running programs

# Runs a program (list form, no shell); returns (exit status, stdout and
# stderr together).  Never waits longer than $TIMEOUT seconds.
my $TIMEOUT = 20;

sub run {
    my (@cmd) = @_;
    my $pid = open(my $out, '-|');
    die "TlsTest::run: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        open STDIN, '<', '/dev/null';
        exec('timeout', $TIMEOUT, @cmd) or POSIX::_exit(127);
    }
    local $/;
    my $text = <$out> // '';
    close $out;
    return ($?, $text);
}

sub run_ok {
    my (@cmd) = @_;
    my ($st, $text) = run(@cmd);
    die "TlsTest: @cmd: exit " . ($st >> 8) . "\n$text" if $st != 0;
    return $text;
}


############################################################################
# The certificates

# Leaf certificates: name => [ issuer, subject CN, extensions, dates ]
#   dates: [ startdate, enddate ] for "openssl ca", undef = valid 10 years
my @LEAVES = (
    # the good server certificate: the name the tests verify and the
    # address they connect to
    [ redis => 'ca', 'redis.test',
      [ 'subjectAltName = DNS:redis.test, IP:127.0.0.1',
        'extendedKeyUsage = serverAuth, clientAuth' ] ],
    # signed by the right CA, for another name only
    [ wrongname => 'ca', 'other.test',
      [ 'subjectAltName = DNS:other.test',
        'extendedKeyUsage = serverAuth, clientAuth' ] ],
    # right CA and names, valid 2020-01-01 .. 2021-01-01
    [ expired => 'ca', 'redis.test',
      [ 'subjectAltName = DNS:redis.test, IP:127.0.0.1',
        'extendedKeyUsage = serverAuth, clientAuth' ],
      [ '20200101000000Z', '20210101000000Z' ] ],
    # what a Redis with the other CA's certificate would present
    [ othercaserver => 'otherca', 'redis.test',
      [ 'subjectAltName = DNS:redis.test, IP:127.0.0.1',
        'extendedKeyUsage = serverAuth, clientAuth' ] ],
    # client certificates: one the servers' CA signed, one it did not
    [ client => 'ca', 'nginx client',
      [ 'extendedKeyUsage = clientAuth' ] ],
    [ otherclient => 'otherca', 'nginx client',
      [ 'extendedKeyUsage = clientAuth' ] ],
);

# pki() -> { dir => $dir }: the files are "$dir/<name>.pem" and
# "$dir/<name>.key" for the CAs "ca" and "otherca" and the leaves above.
# Made once per process; removed at END.
sub pki {
    return $Pki if $Pki;
    my $dir = File::Temp::tempdir('ss-tls-XXXXXX', TMPDIR => 1);
    chmod 0755, $dir;

    my @key = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
               '-nodes');

    for my $ca ([ ca => 'Shared Session Test CA' ],
                [ otherca => 'Unrelated Test CA' ])
    {
        my ($name, $cn) = @$ca;
        run_ok('openssl', 'req', '-x509', @key,
               '-keyout', "$dir/$name.key", '-out', "$dir/$name.pem",
               '-days', 3650, '-subj', "/CN=$cn",
               '-addext', 'basicConstraints = critical, CA:TRUE',
               '-addext', 'keyUsage = critical, keyCertSign, cRLSign');
        my $db = "$dir/$name.db";
        mkdir $db or die "TlsTest: $db: $!\n";
        _write("$db/index.txt", '');
        _write("$db/serial", $name eq 'ca' ? "1000\n" : "2000\n");
        # "openssl ca" because it alone, on OpenSSL 3.0, can give a
        # certificate dates in the past (x509 -days cannot be negative;
        # -not_before/-not_after are 3.4+)
        _write("$dir/$name.cnf", <<"EOT");
[ ca ]
default_ca = this_ca

[ this_ca ]
database = $db/index.txt
serial = $db/serial
new_certs_dir = $db
certificate = $dir/$name.pem
private_key = $dir/$name.key
default_md = sha256
default_days = 3650
policy = any
unique_subject = no
copy_extensions = none

[ any ]
commonName = supplied
EOT
    }

    for my $leaf (@LEAVES) {
        my ($name, $ca, $cn, $ext, $dates) = @$leaf;
        my $extfile = "$dir/$name.ext";
        _write($extfile, "[ leaf ]\nbasicConstraints = CA:FALSE\n"
                         . join('', map { "$_\n" } @$ext));
        run_ok('openssl', 'req', @key, '-keyout', "$dir/$name.key",
               '-out', "$dir/$name.csr", '-subj', "/CN=$cn");
        run_ok('openssl', 'ca', '-batch', '-notext',
               '-config', "$dir/$ca.cnf", '-extfile', $extfile,
               '-extensions', 'leaf', '-in', "$dir/$name.csr",
               '-out', "$dir/$name.pem",
               $dates ? ('-startdate', $dates->[0], '-enddate', $dates->[1])
                      : ());
        unlink "$dir/$name.csr";
    }
    chmod 0644, glob("$dir/*.key");

    # a client certificate and a key that do not belong together
    _write("$dir/mismatch.pem", _read("$dir/client.pem"));
    _write("$dir/mismatch.key", _read("$dir/otherclient.key"));

    $Pki = { dir => $dir };
    return $Pki;
}

sub dir { return pki()->{dir} }

sub file {
    my ($name) = @_;
    return dir() . "/$name";
}

# The subject alternative names and dates of a certificate, for a check
# that the PKI is what the tests think it is.
sub describe {
    my ($name) = @_;
    my $text = run_ok('openssl', 'x509', '-in', file("$name.pem"), '-noout',
                      '-subject', '-issuer', '-dates',
                      '-ext', 'subjectAltName');
    return $text;
}

# openssl verify of a certificate against a CA file: "OK" or the reason.
sub verify {
    my ($name, $ca) = @_;
    my ($st, $text) = run('openssl', 'verify', '-CAfile', file("$ca.pem"),
                          file("$name.pem"));
    return 'OK' if $st == 0;
    my ($reason) = $text =~ /error \d+ at \d+ depth lookup: (.*)/;
    return $reason // $text;
}

sub _write {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "TlsTest: $path: $!\n";
    print $fh $text;
    close $fh or die "TlsTest: $path: $!\n";
}

sub _read {
    my ($path) = @_;
    open my $fh, '<', $path or die "TlsTest: $path: $!\n";
    local $/;
    return scalar <$fh>;
}


############################################################################
# redis-server with TLS

# start_redis(cert => 'redis', auth_clients => 'no', conf => [...],
#             auth => [pw] or [user, pw], port => n, cluster => 1) -> port
#
# A redis-server that listens with TLS only, on 127.0.0.1:port, presenting
# cert (a leaf of pki(), default "redis"), trusting "ca" for client
# certificates (tls-auth-clients: "no", the default here, "yes" or
# "optional").  conf adds redis.conf lines; auth is what this helper sends
# (AUTH) for its own commands.
sub start_redis {
    my (%opt) = @_;
    my $dir_pki = dir();
    my $port = $opt{port} // SharedSessionTest::free_port();
    my $cert = $opt{cert} // 'redis';
    my $dir = File::Temp::tempdir('ss-tlsredis-XXXXXX', TMPDIR => 1);
    chmod 0755, $dir;
    my @conf = (
        'port 0',
        "tls-port $port",
        "tls-cert-file $dir_pki/$cert.pem",
        "tls-key-file $dir_pki/$cert.key",
        "tls-ca-cert-file $dir_pki/ca.pem",
        'tls-auth-clients ' . ($opt{auth_clients} // 'no'),
        'bind 127.0.0.1',
        'save ""',
        'appendonly no',
        "dir $dir",
        'daemonize no',
        "logfile $dir/redis.log",
        # "Accepted ..." for every connection: see attempts()
        'loglevel verbose',
        @{ $opt{conf} // [] },
    );
    my $conf = "$dir/redis.conf";
    _write($conf, join '', map { "$_\n" } @conf);

    $Redis{$port} = {
        dir => $dir, conf => $conf, cert => $cert, auth => $opt{auth},
        # the helper's own checks verify the good certificate only
        insecure => $cert ne 'redis',
    };
    _spawn($port);
    return $port;
}

sub _spawn {
    my ($port) = @_;
    my $r = $Redis{$port};
    my $pid = fork();
    die "TlsTest::start_redis: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec('redis-server', $r->{conf}) or POSIX::_exit(127);
    }
    $r->{pid} = $pid;

    my $deadline = Time::HiRes::time() + 10;
    my $last = '';
    while (Time::HiRes::time() < $deadline) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            delete $r->{pid};
            die "TlsTest::start_redis: redis-server on port $port exited:\n"
                . (eval { _read("$r->{dir}/redis.log") } // '');
        }
        # the port first: redis-cli on a closed port costs a process
        if (SharedSessionTest::port_in_use($port)) {
            $last = cli($port, 'PING');
            return $port if $last =~ /\APONG\s*\z/;
        }
        Time::HiRes::sleep(0.05);
    }
    die "TlsTest::start_redis: redis-server on port $port did not answer"
        . " PING over TLS: $last\n";
}

# start_cluster(nodes => 3, cert => 'redis', conf => [...], auth => [...])
#     -> ports
#
# A Redis Cluster of "nodes" primaries without replicas, TLS everywhere
# (clients, the cluster bus: tls-cluster yes, tls-replication yes), created
# with "redis-cli --tls --cluster create" and waited for until every node
# says cluster_state:ok.  The nodes are ordinary servers of this helper
# (cli, stop_redis, ... work on each port).
sub start_cluster {
    my (%opt) = @_;
    my $nodes = $opt{nodes} // 3;
    my @ports;
    my %seen;
    while (@ports < $nodes) {
        my $p = SharedSessionTest::free_port();
        my $bus = SharedSessionTest::free_port();
        next if $seen{$p}++ || $seen{$bus}++;
        push @ports, start_redis(
            port => $p, cert => $opt{cert}, auth => $opt{auth},
            conf => [ 'cluster-enabled yes',
                      "cluster-port $bus",
                      'cluster-node-timeout 2000',
                      'tls-cluster yes',
                      'tls-replication yes',
                      # the config file goes to the node's own dir
                      'cluster-config-file nodes.conf',
                      @{ $opt{conf} // [] } ]);
    }
    my $out = run_ok(cli_args($ports[0]), '--cluster', 'create',
                     (map { "127.0.0.1:$_" } @ports),
                     '--cluster-replicas', 0, '--cluster-yes');
    my $deadline = Time::HiRes::time() + 20;
    while (1) {
        my $ok = grep { cli($_, 'CLUSTER', 'INFO') =~ /^cluster_state:ok/m }
                 @ports;
        last if $ok == @ports;
        die "TlsTest::start_cluster: not ok after 20 s:\n$out"
            if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.1);
    }
    return @ports;
}

sub stop_redis {
    my ($port) = @_;
    my $r = $Redis{$port} or return;
    my $pid = delete $r->{pid} or return;
    SharedSessionTest::stop_pid($pid);
}

sub restart_redis {
    my ($port) = @_;
    stop_redis($port);
    _spawn($port);
    return $port;
}

sub redis_pid {
    my ($port) = @_;
    return $Redis{$port} ? $Redis{$port}{pid} : undef;
}

sub redis_log_file {
    my ($port) = @_;
    return "$Redis{$port}{dir}/redis.log";
}


############################################################################
# openssl s_server: a TLS server that is not Redis

my %SServer;    # port => pid

# start_sni_server(cert => 'wrongname', sni => 'redis.test',
#                  sni_cert => 'redis') -> port
#
# "openssl s_server" on 127.0.0.1 that presents sni_cert to a client whose
# ClientHello names sni, and cert to any other (or none).  It answers
# nothing useful after the handshake (it may close the connection).
sub start_sni_server {
    my (%opt) = @_;
    my $d = dir();
    my $port = SharedSessionTest::free_port();
    my $cert = $opt{cert} // 'wrongname';
    my $sni_cert = $opt{sni_cert} // 'redis';
    my @cmd = ('openssl', 's_server', '-accept', "127.0.0.1:$port", '-quiet',
               '-cert', "$d/$cert.pem", '-key', "$d/$cert.key",
               '-servername', $opt{sni} // 'redis.test',
               '-cert2', "$d/$sni_cert.pem", '-key2', "$d/$sni_cert.key");
    my $pid = fork();
    die "TlsTest::start_sni_server: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec(@cmd) or POSIX::_exit(127);
    }
    $SServer{$port} = $pid;
    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        # the helper's own probe is a failed handshake: s_server goes on
        return $port if SharedSessionTest::port_in_use($port);
        die "TlsTest::start_sni_server: openssl s_server exited\n"
            if waitpid($pid, POSIX::WNOHANG()) == $pid;
        Time::HiRes::sleep(0.05);
    }
    die "TlsTest::start_sni_server: nothing listens on $port\n";
}

sub _stop_sni_servers {
    for my $port (keys %SServer) {
        my $pid = delete $SServer{$port};
        kill 'TERM', $pid;
        waitpid($pid, 0);
    }
}


############################################################################
# redis-cli --tls

# The redis-cli options that reach the TLS server on $port: the CA, a
# client certificate (so that tls-auth-clients yes servers answer too),
# SNI redis.test, and the server's auth unless %opt has its own
# (auth => [] for none).
sub cli_args {
    my ($port, %opt) = @_;
    my $r = $Redis{$port} // {};
    my $d = dir();
    my @a = ('redis-cli', '--tls', '--cacert', "$d/ca.pem",
             '--cert', "$d/client.pem", '--key', "$d/client.key",
             '--sni', 'redis.test', '-h', '127.0.0.1', '-p', $port,
             '--no-auth-warning');
    push @a, '--insecure' if $r->{insecure};
    my $auth = exists $opt{auth} ? $opt{auth} : $r->{auth};
    if ($auth && @$auth == 1) {
        push @a, '-a', $auth->[0];
    } elsif ($auth && @$auth == 2) {
        push @a, '--user', $auth->[0], '--pass', $auth->[1];
    }
    return @a;
}

# cli($port, @command) -> redis-cli's output (raw: one line per value);
# cli({ port => $p, auth => [...] }, @command).  Dies when redis-cli fails
# (cannot connect); an error reply is returned as its text.
sub cli {
    my ($port, @cmd) = @_;
    my %opt;
    if (ref $port eq 'HASH') {
        %opt = %$port;
        $port = delete $opt{port};
    }
    my ($st, $text) = run(cli_args($port, %opt), @cmd);
    die "TlsTest::cli: redis-cli -p $port @cmd: exit " . ($st >> 8)
        . ": $text\n" if $st != 0;
    return $text;
}

sub flush {
    my ($port) = @_;
    my $out = cli($port, 'FLUSHALL');
    die "TlsTest::flush: $out" unless $out =~ /\AOK\s*\z/;
    return;
}

# INFO field, e.g. info($port, 'stats', 'total_connections_received')
sub info {
    my ($port, $section, $field) = @_;
    my $text = cli($port, 'INFO', $section);
    my ($v) = $text =~ /^\Q$field\E:(\S*)/m;
    die "TlsTest::info: no $field in INFO $section\n" unless defined $v;
    return $v;
}

# Connection attempts a server saw: the "Accepted <addr>:<port>" lines that
# its log (loglevel verbose) has for every TCP connection it accepts,
# before any TLS handshake.  (Its INFO counters will not do: a connection
# that the client closes after the handshake, when it refuses the server's
# certificate, is often in neither total_connections_received nor an
# "Error accepting" line.)  mark_attempts() returns a mark, attempts($mark)
# the connections since; neither connects to the server itself.
sub _attempt_count {
    my ($port) = @_;
    return scalar(() = _read(redis_log_file($port))
                       =~ /^\d+:M [^\n]* - Accepted [^\n]*:\d+$/mg);
}

sub mark_attempts {
    my ($port) = @_;
    return _attempt_count($port);
}

sub attempts {
    my ($port, $mark) = @_;
    return _attempt_count($port) - $mark;
}

# The redis-server log from byte $pos on (log_mark() gives the position).
sub redis_log_mark {
    my ($port) = @_;
    return -s redis_log_file($port) // 0;
}

sub redis_log_since {
    my ($port, $pos) = @_;
    my $text = _read(redis_log_file($port));
    return substr($text, $pos // 0);
}

# Every key of the server (or of the servers, the nodes of a cluster, for
# an array of ports), read back over TLS with redis-cli, in the format of
# SharedSessionTest's dumps:
#
#   hash spring:session:sessions:<new> ttl=2100s
#     creationTime=<now>
#     ...
#   string spring:session:sessions:expires:<new> ttl=1800s value=""
#   set spring:session:expirations:<bucket(lastAccessedTime+1800s)> ttl=2100s
#     "expires:<new>"
#
# Ids and times are named by the SharedSessionTest normalizer $n (which has
# seen the module's answers); an expiration bucket is named after the
# session hash whose lastAccessedTime and maxInactiveInterval give it.
# ttl: the remaining time rounded up to 10 seconds (the TTLs Spring sets
# are multiples of 10 s; every key is read by a redis-cli process of its
# own, which on a busy machine can take over a second in all), or "none".
sub dump {
    my ($ports, $n) = @_;
    my (%node, @keys);
    for my $port (ref $ports ? @$ports : $ports) {
        for my $key (grep { length } split /\n/, cli($port, 'KEYS', '*')) {
            push @keys, $key unless exists $node{$key};
            $node{$key} = $port;
        }
    }
    @keys = sort @keys;
    my (%type, %ttl, %content, @buckets);
    for my $key (@keys) {
        my $port = $node{$key};
        ($type{$key} = cli($port, 'TYPE', $key)) =~ s/\s+\z//;
        (my $pttl = cli($port, 'PTTL', $key)) =~ s/\s+\z//;
        $ttl{$key} = $pttl == -1 ? 'none' : POSIX::ceil($pttl / 10000) * 10 . 's';
        if ($type{$key} eq 'hash') {
            my @kv = split /\n/, cli($port, 'HGETALL', $key), -1;
            pop @kv if @kv % 2;    # the final newline
            $content{$key} = {@kv};
            my $last = SharedSessionTest::parse_number(
                $content{$key}{lastAccessedTime});
            my $mii = SharedSessionTest::parse_number(
                $content{$key}{maxInactiveInterval});
            push @buckets, [ SharedSessionTest::bucket_ms($last, $mii), $mii ]
                if defined $last && defined $mii;
        } elsif ($type{$key} eq 'string') {
            ($content{$key} = cli($port, 'GET', $key)) =~ s/\n\z//;
        } elsif ($type{$key} eq 'set') {
            $content{$key} =
                [ sort grep { length } split /\n/, cli($port, 'SMEMBERS', $key) ];
        }
    }

    my %rank = (hash => 0, string => 1, set => 2);
    my %frank = (creationTime => 0, maxInactiveInterval => 1,
                 lastAccessedTime => 2);
    my @out;
    for my $key (@keys) {
        my $name = $n->subst($key);
        if ($key =~ /\A(.*:expirations:)([0-9]{13})\z/) {
            my ($prefix, $ms) = ($1, $2);
            for my $b (@buckets) {
                if ($b->[0] == $ms) {
                    $name = $n->subst($prefix)
                            . "<bucket(lastAccessedTime+$b->[1]s)>";
                    last;
                }
            }
        }
        my $t = $type{$key};
        my $text = "$t $name ttl=$ttl{$key}";
        if ($t eq 'hash') {
            my $h = $content{$key};
            $text .= "\n" . join '', map { "  $_=" . $n->subst($h->{$_}) . "\n" }
                sort { ($frank{$a} // 9) <=> ($frank{$b} // 9) or $a cmp $b }
                keys %$h;
        } elsif ($t eq 'string') {
            $text .= ' value="' . $n->subst($content{$key}) . "\"\n";
        } elsif ($t eq 'set') {
            $text .= "\n" . join '', map { '  ' . $n->subst($_) . "\n" }
                @{ $content{$key} };
        } else {
            $text .= "\n";
        }
        push @out, [ $rank{$t} // 9, $name, $text ];
    }
    my $out = join '', map { $_->[2] }
              sort { $a->[0] <=> $b->[0] or $a->[1] cmp $b->[1] } @out;
    return $out eq '' ? "(no keys)\n" : $out;
}


############################################################################
# nginx -t

# nginx_t($http_text) -> (exit status text, output): writes a configuration
# with the modules of TEST_NGINX_LOAD_MODULES and $http_text inside http {}
# and runs "nginx -t" on it, as t/006-config-errors.t does.
my $ConfDir;

sub nginx_t {
    my ($http) = @_;
    $ConfDir //= File::Temp::tempdir('ss-tlsconf-XXXXXX', TMPDIR => 1,
                                     CLEANUP => 1);
    mkdir "$ConfDir/logs";
    my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $load = join '', map { "load_module $_;\n" }
                        grep { length }
                        split /\s+/, ($ENV{TEST_NGINX_LOAD_MODULES} // '');
    _write("$ConfDir/nginx.conf", <<"EOT");
${load}error_log $ConfDir/logs/error.log;
pid $ConfDir/logs/nginx.pid;
events {
    worker_connections 16;
}
http {
    access_log off;
$http
}
EOT
    my ($st, $out) = run($nginx, '-t', '-q', '-e', 'stderr',
                         '-p', "$ConfDir/", '-c', "$ConfDir/nginx.conf");
    my $status = $st & 127 ? 'killed by signal ' . ($st & 127)
                           : 'exit ' . ($st >> 8);
    return ($status, $out);
}


END {
    if ($$ == $OWNER_PID) {
        local $?;
        _stop_sni_servers();
        for my $port (keys %Redis) {
            stop_redis($port);
            File::Path::remove_tree($Redis{$port}{dir})
                unless $ENV{TEST_NGINX_NO_CLEAN};
        }
        File::Path::remove_tree($Pki->{dir})
            if $Pki && !$ENV{TEST_NGINX_NO_CLEAN};
    }
}

1;

__END__

=head1 NAME

TlsTest - certificates and TLS redis-servers for the shared-session tests

=head1 SYNOPSIS

    use lib 't/inc';
    use SharedSessionTest;
    use TlsTest;
    use Test::Nginx::Socket 'no_plan';

    $ENV{TEST_NGINX_TLS_DIR} = TlsTest::dir();
    $ENV{TEST_NGINX_TLS_PORT} = TlsTest::start_redis();

    __DATA__

    === TEST 1: a session over TLS
    --- config
        location = /s {
            shared_session;
            shared_session_redis 127.0.0.1:$TEST_NGINX_TLS_PORT;
            shared_session_redis_tls on;
            shared_session_redis_tls_trusted_certificate $TEST_NGINX_TLS_DIR/ca.pem;
            shared_session_redis_tls_server_name redis.test;
        }
    --- init
    TlsTest::flush($ENV{TEST_NGINX_TLS_PORT});
    --- request
    GET /s
    --- response_body_filters eval
    sub {
        my $n = SharedSessionTest::normalizer();
        $n->body($_[0]) . TlsTest::dump($ENV{TEST_NGINX_TLS_PORT}, $n);
    }

=head1 FILES

C<pki()> makes, in one temporary directory (C<dir()>), C<< <name>.pem >>
and C<< <name>.key >> for:

=over

=item C<ca>, C<otherca>

two self-signed CAs that know nothing of each other;

=item C<redis>

signed by C<ca>, DNS:redis.test and IP:127.0.0.1 (serverAuth and
clientAuth, so that cluster nodes can use it both ways);

=item C<wrongname>

signed by C<ca>, DNS:other.test only;

=item C<expired>

signed by C<ca>, the names of C<redis>, valid from 2020-01-01 to
2021-01-01 (C<openssl ca -startdate/-enddate>);

=item C<othercaserver>

the names of C<redis>, signed by C<otherca>;

=item C<client>, C<otherclient>

client certificates signed by C<ca> and by C<otherca>;

=item C<mismatch>

C<client.pem> with C<otherclient.key>: a certificate and a key that do not
belong together.

=back

=head1 FUNCTIONS

=over

=item start_redis(cert => NAME, auth_clients => no|yes|optional, conf => [...], auth => [...], port => N)

A redis-server with C<port 0> and C<tls-port N>, its log in a temporary
directory; returns the port.  C<stop_redis>, C<restart_redis>,
C<redis_pid>, C<redis_log_file>.  All are stopped at END.

=item start_sni_server(cert => NAME, sni => HOST, sni_cert => NAME)

C<openssl s_server>: C<sni_cert> for a ClientHello that names C<sni>,
C<cert> otherwise; no Redis behind it.  Stopped at END.

=item cli($port | {port => P, auth => [...]}, @command), flush($port), info($port, $section, $field)

redis-cli --tls (CA, client certificate, SNI redis.test; C<--insecure>
for servers whose certificate is not C<redis>).

=item mark_attempts($port), attempts($port, $mark)

TCP connections the server accepted since the mark (its verbose log's
C<Accepted> lines), whatever became of their TLS handshakes.

=item dump($port | [@ports], $normalizer)

Every key in the server, read with redis-cli --tls, printed as
SharedSessionTest's dumps print them (names from the normalizer; buckets
as C<< <bucket(lastAccessedTime+1800s)> >>).

=item start_cluster(nodes => 3, cert => NAME, conf => [...], auth => [...])

A Redis Cluster of TLS-only primaries (no replicas; tls-cluster and
tls-replication on), created with C<redis-cli --tls --cluster create>;
returns the ports once every node reports C<cluster_state:ok>.

=item nginx_t($http_text)

C<nginx -t> on a configuration: C<("exit N", output)>.

=item describe($name), verify($name, $ca), file($name), dir()

Certificate details, C<openssl verify>, paths.

=back

=cut
