package ClusterTest;

# A real local Redis Cluster for the ngx_http_shared_session_module tests:
# redis-server processes with cluster-enabled on free ports of 127.0.0.1,
# joined with "redis-cli --cluster create", and the faults the tests need
# (kill, stop, pause, restart a node; resharding with redis-cli; a slot
# migrated by hand to get ASK answers).  Everything started here is stopped
# and its directory removed at exit, also when the test dies; the servers
# also get SIGKILL from the kernel if the test process itself is killed
# (PR_SET_PDEATHSIG), so none outlives a run.
#
#     use lib 't/inc';
#     use SharedSessionTest;
#     use ClusterTest;
#
#     my $c = ClusterTest->start(nodes => 6, replicas => 1);
#     $c->seeds;                  # ("127.0.0.1:P1", "127.0.0.1:P2", ...)
#     $c->primaries;              # ports, in slot order
#     $c->node_for_key($key);     # port of the primary serving $key
#     $c->kill_node($port);       # SIGKILL; restart_node($port) later
#     $c->wait_ok(10);            # cluster_state:ok everywhere, one slot map
#
# SharedSessionTest's helpers (flush, seed_session, dump_db, follow, ...)
# work on the whole cluster through ClusterTest::flush, ::seed_session,
# ::dump_db, ::follow: their Redis commands are routed to the node that
# serves each key, KEYS and FLUSHALL go to every primary.  See the POD at
# the end.  Pure Perl, core modules only.

use strict;
use warnings;

use Config ();
use Errno ();
use File::Path ();
use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Socket ();
use Time::HiRes ();

use SharedSessionTest;

my $OWNER_PID = $$;
my $SLOTS = 16384;
my @Clusters;       # every cluster started, for the cleanup at exit
our $Current;       # the cluster the package functions (dump_db, ...) use


############################################################################
# Hash slots: CRC16 (XMODEM) of the key, or of its {hash tag}, mod 16384

my @CRC_TABLE = map {
    my $crc = $_ << 8;
    for (1 .. 8) {
        $crc = $crc & 0x8000 ? (($crc << 1) ^ 0x1021) : ($crc << 1);
    }
    $crc & 0xffff;
} 0 .. 255;

sub crc16 {
    my ($data) = @_;
    my $crc = 0;
    for my $byte (unpack 'C*', $data) {
        $crc = (($crc << 8) & 0xff00) ^ $CRC_TABLE[(($crc >> 8) ^ $byte) & 0xff];
    }
    return $crc;
}

sub key_slot {
    my ($key) = @_;
    my $s = index($key, '{');
    if ($s >= 0) {
        my $e = index($key, '}', $s + 1);
        $key = substr($key, $s + 1, $e - $s - 1) if $e > $s + 1;
    }
    return crc16($key) % $SLOTS;
}


############################################################################
# Starting the cluster

# ClusterTest->start(
#     nodes        => 6,        # redis-server processes
#     replicas     => 1,        # --cluster-replicas of "redis-cli --cluster create"
#     node_timeout => 1000,     # cluster-node-timeout, ms
#     password     => 'pw',     # requirepass and masterauth on every node
#     conf         => [ '--user', 'alice on >pw ~* &* +@all', ... ],
#                               # more redis-server arguments
#     ports        => [ ... ],  # ports chosen beforehand (default: free ones)
# )
sub start {
    my ($class, %o) = @_;
    my $n = $o{nodes} // 6;
    my @ports = @{ $o{ports} // [] };
    push @ports, _free_ports($n - @ports, \@ports) if @ports < $n;
    my $dir = File::Temp::tempdir('ss-cluster-XXXXXX', TMPDIR => 1);
    my $self = bless {
        ports        => \@ports,
        dir          => $dir,
        replicas     => $o{replicas} // 1,
        node_timeout => $o{node_timeout} // 1000,
        password     => $o{password},
        conf         => $o{conf} // [],
        pid          => {},
        id           => {},
    }, $class;
    push @Clusters, $self;
    $Current //= $self;
    _cleanup_on_signals();

    my $t0 = Time::HiRes::time();
    $self->_spawn($_) for @ports;
    $self->_wait_ping($_, 10) for @ports;
    $self->{id}{$_} = $self->cmd($_, 'CLUSTER', 'MYID') for @ports;

    my @cli = ($self->_cli_auth, '--cluster', 'create',
               (map { "127.0.0.1:$_" } @ports),
               '--cluster-replicas', $self->{replicas}, '--cluster-yes');
    my $out = $self->_run_cli(60, @cli);
    die "ClusterTest: redis-cli --cluster create failed:\n$out"
        unless $out =~ /\[OK\] All 16384 slots covered/;
    $self->wait_ok(30);
    # the Perl CRC16 agrees with the server's
    for my $key ('spring:session:sessions:e1237df7-5646-4382-aa12-41435ed09dc7',
                 'a{tag}b', '{}x', 'x{') {
        my $s = $self->cmd($ports[0], 'CLUSTER', 'KEYSLOT', $key);
        die "ClusterTest: key_slot('$key') is " . key_slot($key)
            . ", CLUSTER KEYSLOT says $s\n" unless $s == key_slot($key);
    }
    $self->{started_in} = Time::HiRes::time() - $t0;
    return $self;
}

# INT, TERM, HUP: stop the clusters, then whatever handler was there
# (Test::Nginx's stops nginx and exits without running END blocks).
my $SignalsHooked;

sub _cleanup_on_signals {
    return if $SignalsHooked++;
    for my $sig (qw(INT TERM HUP)) {
        my $prev = $SIG{$sig};
        $SIG{$sig} = sub {
            if ($$ == $OWNER_PID) {
                my @all = @Clusters;
                $_->destroy for @all;
            }
            return $prev->(@_) if ref $prev eq 'CODE';
            return if defined $prev && $prev eq 'IGNORE';
            $SIG{$sig} = 'DEFAULT';
            kill $sig, $$;
        };
    }
}

sub _free_ports {
    my ($n, $taken) = @_;
    my %seen = map { $_ => 1 } @$taken;
    my @p;
    while (@p < $n) {
        # the cluster bus listens on port + 10000: both below the
        # ephemeral range (see SharedSessionTest::free_port())
        my $port = SharedSessionTest::free_port(
                       SharedSessionTest::ephemeral_low() - 10001);
        next if $seen{$port}++ || $port + 10000 > 65535
                || SharedSessionTest::port_in_use($port + 10000);
        push @p, $port;
    }
    return @p;
}

sub _server_args {
    my ($self, $port) = @_;
    my $d = $self->{dir};
    my @a = ('--port', $port, '--bind', '127.0.0.1',
             '--cluster-enabled', 'yes',
             '--cluster-node-timeout', $self->{node_timeout},
             '--cluster-config-file', "$d/nodes-$port.conf",
             '--save', '', '--appendonly', 'no',
             '--dir', $d, '--logfile', "$d/redis-$port.log",
             '--daemonize', 'no',
             # replicas sync at once, not after the default 5 s
             '--repl-diskless-sync-delay', 0);
    if (defined $self->{password}) {
        push @a, '--requirepass', $self->{password},
                 '--masterauth', $self->{password};
    }
    return (@a, @{ $self->{conf} });
}

# prctl(PR_SET_PDEATHSIG, SIGKILL): the child dies with the test process.
my %PRCTL = (x86_64 => 157, aarch64 => 167, i386 => 172, i686 => 172);

sub _die_with_parent {
    my ($arch) = split /-/, $Config::Config{archname};
    my $nr = $PRCTL{$arch} or return;
    syscall($nr, 1, 9);
}

sub _spawn {
    my ($self, $port) = @_;
    my @args = $self->_server_args($port);
    my $parent = $$;
    my $pid = fork();
    die "ClusterTest: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        _die_with_parent();
        POSIX::_exit(0) if getppid() != $parent;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{dir}/redis-$port.out";
        open STDERR, '>&', \*STDOUT;
        { exec 'redis-server', @args; }
        POSIX::_exit(127);
    }
    $self->{pid}{$port} = $pid;
    return $pid;
}

sub _wait_ping {
    my ($self, $port, $max) = @_;
    my $deadline = Time::HiRes::time() + $max;
    while (Time::HiRes::time() < $deadline) {
        my $ok = eval { $self->cmd($port, 'PING') eq 'PONG' };
        return 1 if $ok;
        my $pid = $self->{pid}{$port};
        if (!$pid || waitpid($pid, POSIX::WNOHANG()) == $pid) {
            delete $self->{pid}{$port};
            die "ClusterTest: redis-server on port $port exited:\n"
                . $self->log_tail($port);
        }
        Time::HiRes::sleep(0.02);
    }
    die "ClusterTest: redis-server on port $port does not answer\n";
}

sub _cli_auth {
    my ($self) = @_;
    return defined $self->{password}
           ? ('-a', $self->{password}, '--no-auth-warning') : ();
}

# Runs redis-cli with the arguments, waits at most $max seconds; its output.
sub _run_cli {
    my ($self, $max, @args) = @_;
    my $h = $self->_start_cli(@args);
    $self->cli_wait($h, $max);
    return $h->{output};
}

my $CliSeq = 0;

sub _start_cli {
    my ($self, @args) = @_;
    my $out = "$self->{dir}/cli-" . ++$CliSeq . '.out';
    my $parent = $$;
    my $pid = fork();
    die "ClusterTest: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        _die_with_parent();
        POSIX::_exit(0) if getppid() != $parent;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>&', \*STDOUT;
        { exec 'redis-cli', @args; }
        POSIX::_exit(127);
    }
    return { pid => $pid, out => $out, args => \@args,
             t0 => Time::HiRes::time() };
}

# Non-blocking: true (and ->{status}, ->{output}, ->{took} set) once the
# redis-cli of $h has exited.
sub cli_done {
    my ($self, $h) = @_;
    return 1 if exists $h->{status};
    return 0 unless waitpid($h->{pid}, POSIX::WNOHANG()) == $h->{pid};
    $h->{status} = $?;
    $h->{took} = Time::HiRes::time() - $h->{t0};
    local $/;
    open my $fh, '<', $h->{out} or die "ClusterTest: $h->{out}: $!\n";
    $h->{output} = <$fh> // '';
    close $fh;
    return 1;
}

sub cli_wait {
    my ($self, $h, $max) = @_;
    my $deadline = Time::HiRes::time() + ($max // 60);
    while (!$self->cli_done($h)) {
        if (Time::HiRes::time() > $deadline) {
            kill 'KILL', $h->{pid};
            waitpid($h->{pid}, 0);
            die "ClusterTest: redis-cli @{ $h->{args} } still running after "
                . "$max s\n";
        }
        Time::HiRes::sleep(0.02);
    }
    return $h;
}


############################################################################
# Talking to the nodes

sub ports { return @{ $_[0]{ports} } }
sub seeds { return map { "127.0.0.1:$_" } @{ $_[0]{ports} } }
sub dir { return $_[0]{dir} }
sub password { return $_[0]{password} }
sub node_id { my ($self, $port) = @_; return $self->{id}{$port} }
sub started_in { return $_[0]{started_in} }

sub port_of_id {
    my ($self, $id) = @_;
    my ($port) = grep { $self->{id}{$_} eq $id } keys %{ $self->{id} };
    return $port;
}

# A SharedSessionTest connection to one node, authenticated when the
# cluster has a password (auth => [...] overrides, auth => undef: none).
sub conn {
    my ($self, $port, %o) = @_;
    my $auth = exists $o{auth} ? $o{auth}
             : defined $self->{password} ? [ $self->{password} ] : undef;
    # not connect_redis: routed() replaces that one
    return SharedSessionTest::Conn->new(
        SharedSessionTest::target(host => '127.0.0.1', port => $port,
                                  auth => $auth));
}

# One command on one node (not routed): $c->cmd($port, 'CLUSTER', 'INFO').
sub cmd {
    my ($self, $port, @cmd) = @_;
    return $self->conn($port)->cmd(@cmd);
}

sub alive {
    my ($self, $port) = @_;
    my $pid = $self->{pid}{$port} or return 0;
    return 0 if waitpid($pid, POSIX::WNOHANG()) == $pid;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh> // '';
    # a stopped (SIGSTOP) node is there but does not answer
    return $stat !~ /^\d+ \(.*\) [ZT]/;
}

sub live_ports {
    my ($self) = @_;
    return grep { $self->alive($_) } @{ $self->{ports} };
}

sub info_field {
    my ($self, $port, $section, $field) = @_;
    my $info = $self->cmd($port, 'INFO', $section);
    return $info =~ /^\Q$field\E:(\S*)/m ? $1 : undef;
}

sub cluster_info {
    my ($self, $port, $field) = @_;
    my $info = $self->cmd($port, 'CLUSTER', 'INFO');
    return $info =~ /^\Q$field\E:(\S*)/m ? $1 : undef;
}

# The slot map as node $port sees it: [ [start, end, primary port,
# [replica ports]], ... ] sorted by start.
sub slot_ranges {
    my ($self, $port) = @_;
    $port //= ($self->live_ports)[0] // die "ClusterTest: no node alive\n";
    my $slots = $self->cmd($port, 'CLUSTER', 'SLOTS');
    my @r = map {
        my ($s, $e, $m, @reps) = @$_;
        [ $s, $e, $m->[1], [ map { $_->[1] } @reps ] ]
    } @$slots;
    return [ sort { $a->[0] <=> $b->[0] } @r ];
}

# "start-end:port ..." : equal strings mean the same slot owners.
sub _map_signature {
    my ($ranges) = @_;
    return join ' ', map { "$_->[0]-$_->[1]:$_->[2]" } @$ranges;
}

# slot => primary port, as $port sees it.
sub slot_owners {
    my ($self, $port) = @_;
    my @owner;
    for my $r (@{ $self->slot_ranges($port) }) {
        $owner[$_] = $r->[2] for $r->[0] .. $r->[1];
    }
    return \@owner;
}

# Ports of the primaries that serve slots, in slot order.
sub primaries {
    my ($self, $port) = @_;
    my %seen;
    return grep { !$seen{$_}++ } map { $_->[2] } @{ $self->slot_ranges($port) };
}

sub slots_of {
    my ($self, $primary) = @_;
    my $owner = $self->slot_owners;
    return grep { ($owner->[$_] // 0) == $primary } 0 .. $SLOTS - 1;
}

# Ports of the replicas of $primary (CLUSTER NODES of a live node; failed
# ones left out).
sub replica_of {
    my ($self, $primary, $port) = @_;
    $port //= ($self->live_ports)[0];
    my $id = $self->{id}{$primary};
    my @r;
    for my $line (split /\n/, $self->cmd($port, 'CLUSTER', 'NODES')) {
        my ($nid, $addr, $flags, $master) = split ' ', $line;
        next unless $master eq $id && $flags =~ /slave/ && $flags !~ /fail/;
        my ($p) = $addr =~ /:(\d+)/;
        push @r, $p;
    }
    return sort { $a <=> $b } @r;
}

sub node_for_slot {
    my ($self, $slot) = @_;
    for my $r (@{ $self->slot_ranges }) {
        return $r->[2] if $slot >= $r->[0] && $slot <= $r->[1];
    }
    return undef;
}

sub node_for_key {
    my ($self, $key) = @_;
    return $self->node_for_slot(key_slot($key));
}

# Waits until every running node answers cluster_state:ok, sees all 16384
# slots served by the same primaries, and every replica's link to its
# primary is up.  Dies after $max seconds with what is missing.
sub wait_ok {
    my ($self, $max) = @_;
    $max //= 20;
    my $deadline = Time::HiRes::time() + $max;
    my $why;
    while (1) {
        $why = $self->not_ok_reason;
        return 1 unless $why;
        last if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
    die "ClusterTest: cluster not ok after $max s: $why\n";
}

# Without waiting: '' when the cluster is as wait_ok wants it, else why not.
sub not_ok_reason {
    my ($self) = @_;
    return eval { $self->_not_ok } // "$@";
}

sub _not_ok {
    my ($self) = @_;
    my @live = $self->live_ports or return 'no node running';
    my %sig;
    for my $p (@live) {
        my $state = $self->cluster_info($p, 'cluster_state') // '?';
        return "127.0.0.1:$p: cluster_state $state" unless $state eq 'ok';
        my $ranges = $self->slot_ranges($p);
        my $n = 0;
        $n += $_->[1] - $_->[0] + 1 for @$ranges;
        return "127.0.0.1:$p: $n slots served" unless $n == $SLOTS;
        $sig{ _map_signature($ranges) }{$p} = 1;
        my $role = $self->info_field($p, 'replication', 'role') // '?';
        # a restarted primary that was failed over is a primary without
        # slots until it learns it is now a replica
        return "127.0.0.1:$p: primary without slots"
            if $role eq 'master' && !grep { $_->[2] == $p } @$ranges;
        if ($role eq 'slave') {
            my $link = $self->info_field($p, 'replication',
                                         'master_link_status') // '?';
            return "127.0.0.1:$p: master link $link" unless $link eq 'up';
        }
    }
    return 'nodes disagree on the slot map: '
           . join(' / ', map { join(',', sort keys %{ $sig{$_} }) . ": $_" }
                         sort keys %sig)
        if keys %sig > 1;
    # a primary the map names must be running (not only believed alive)
    for my $p ($self->primaries($live[0])) {
        return "primary 127.0.0.1:$p is not running" unless $self->alive($p);
    }
    return '';
}

# Waits until every replica has acknowledged its primary's whole
# replication stream (so that a primary killed now loses nothing).
sub wait_replicated {
    my ($self, $max) = @_;
    my $deadline = Time::HiRes::time() + ($max // 5);
    my $why;
    while (1) {
        $why = '';
        for my $p ($self->primaries) {
            my $info = $self->cmd($p, 'INFO', 'replication');
            my ($off) = $info =~ /^master_repl_offset:(\d+)/m;
            my @acks = $info =~ /^slave\d+:.*?offset=(\d+)/mg;
            if (!@acks) {
                $why .= "127.0.0.1:$p has no replica; ";
            } elsif (grep { $_ < $off } @acks) {
                $why .= "127.0.0.1:$p: replica at @acks of $off; ";
            }
        }
        return 1 unless $why;
        last if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.02);
    }
    die "ClusterTest: not replicated: $why\n";
}


############################################################################
# Faults

sub pid {
    my ($self, $port) = @_;
    return $self->{pid}{$port};
}

# SIGKILL: gone at once, nothing written.
sub kill_node {
    my ($self, $port) = @_;
    my $pid = delete $self->{pid}{$port} or return;
    kill 'CONT', $pid;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return;
}

# SIGTERM (as a service manager stops it), then SIGKILL if it lingers.
sub stop_node {
    my ($self, $port) = @_;
    my $pid = delete $self->{pid}{$port} or return;
    SharedSessionTest::stop_pid($pid);
    return;
}

# SIGSTOP / SIGCONT
sub pause_node {
    my ($self, $port) = @_;
    kill 'STOP', $self->{pid}{$port} if $self->{pid}{$port};
}

sub resume_node {
    my ($self, $port) = @_;
    kill 'CONT', $self->{pid}{$port} if $self->{pid}{$port};
}

# Starts a stopped or killed node again: same port, same nodes.conf (so it
# rejoins the cluster with its identity; without persistence its data is
# gone).  Does not wait for the cluster to settle: see wait_ok.
sub restart_node {
    my ($self, $port) = @_;
    $self->stop_node($port) if $self->{pid}{$port};
    $self->_spawn($port);
    $self->_wait_ping($port, 10);
    return $port;
}

sub stop_all {
    my ($self) = @_;
    $self->stop_node($_) for @{ $self->{ports} };
}

sub kill_all {
    my ($self) = @_;
    $self->kill_node($_) for @{ $self->{ports} };
}

sub restart_all {
    my ($self) = @_;
    my @down = grep { !$self->{pid}{$_} } @{ $self->{ports} };
    $self->_spawn($_) for @down;
    $self->_wait_ping($_, 10) for @down;
}

# Resharding with redis-cli, as an operator does it:
#   $c->reshard(from => $port, to => $port, slots => n)
# blocks until it is done (die on failure) and returns its handle;
#   $c->reshard(..., background => 1)
# returns at once: poll $c->cli_done($h), then $h->{status}/{output}/{took}.
sub reshard {
    my ($self, %o) = @_;
    my @args = ($self->_cli_auth, '--cluster', 'reshard',
                "127.0.0.1:$o{to}",
                '--cluster-from', $self->{id}{ $o{from} },
                '--cluster-to', $self->{id}{ $o{to} },
                '--cluster-slots', $o{slots}, '--cluster-yes',
                @{ $o{args} // [] });
    my $h = $self->_start_cli(@args);
    return $h if $o{background};
    $self->cli_wait($h, $o{max} // 60);
    die "ClusterTest: reshard failed ($h->{status}):\n$h->{output}"
        if $h->{status};
    return $h;
}

# The slots "redis-cli --cluster reshard" takes from one source: the
# lowest-numbered $n slots it serves.
sub reshard_slots {
    my ($self, $from, $n) = @_;
    my @s = $self->slots_of($from);
    return @s[0 .. $n - 1];
}

# A slot migrated by hand, one step at a time (what redis-cli does for each
# slot), so that a test sees ASK (key already moved, slot still migrating)
# and then MOVED (slot assigned) deterministically:
#   $c->migrate_begin($slot, $from, $to);
#   $c->migrate_keys($slot, $from, $to, @keys);   # only those keys
#   $c->migrate_keys($slot, $from, $to);          # every key left
#   $c->migrate_end($slot, $to);                  # SETSLOT NODE everywhere
sub migrate_begin {
    my ($self, $slot, $from, $to) = @_;
    $self->cmd($to, 'CLUSTER', 'SETSLOT', $slot, 'IMPORTING',
               $self->{id}{$from});
    $self->cmd($from, 'CLUSTER', 'SETSLOT', $slot, 'MIGRATING',
               $self->{id}{$to});
}

sub migrate_keys {
    my ($self, $slot, $from, $to, @keys) = @_;
    my $c = $self->conn($from);
    @keys = @{ $c->cmd('CLUSTER', 'GETKEYSINSLOT', $slot, 1000) } unless @keys;
    return 0 unless @keys;
    my @auth = defined $self->{password} ? ('AUTH', $self->{password}) : ();
    my $r = $c->cmd('MIGRATE', '127.0.0.1', $to, '', 0, 5000, @auth,
                    'KEYS', @keys);
    die "ClusterTest: MIGRATE: $r\n" unless $r eq 'OK' || $r eq 'NOKEY';
    return scalar @keys;
}

sub migrate_end {
    my ($self, $slot, $to) = @_;
    my $id = $self->{id}{$to};
    my @order = ($to, grep { $_ != $to } $self->primaries);
    $self->cmd($_, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $id) for @order;
}

sub log_file {
    my ($self, $port) = @_;
    return "$self->{dir}/redis-$port.log";
}

sub log_tail {
    my ($self, $port, $lines) = @_;
    open my $fh, '<', $self->log_file($port) or return '';
    my @l = <$fh>;
    close $fh;
    $lines //= 20;
    splice @l, 0, @l - $lines if @l > $lines;
    return join '', @l;
}

# Connections each node has accepted since it started, summed: for
# counting a module's connection attempts.
sub connections_received {
    my ($self) = @_;
    my $sum = 0;
    for my $p ($self->live_ports) {
        $sum += $self->info_field($p, 'stats', 'total_connections_received')
                // 0;
    }
    return $sum;
}

sub destroy {
    my ($self) = @_;
    for my $port (@{ $self->{ports} }) {
        my $pid = delete $self->{pid}{$port} or next;
        kill 'CONT', $pid;
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    File::Path::remove_tree($self->{dir})
        if $self->{dir} && -d $self->{dir} && !$ENV{CLUSTER_TEST_KEEP};
    @Clusters = grep { $_ != $self } @Clusters;
    $Current = $Clusters[0] if $Current && $Current == $self;
}


############################################################################
# SharedSessionTest's helpers on the cluster.  While $c->routed(sub {...})
# runs, SharedSessionTest::connect_redis returns a router whose cmd()
# sends each command to the node serving its key (following MOVED and
# ASK), KEYS, FLUSHALL and DBSIZE to every primary.

sub router {
    my ($self) = @_;
    return ClusterTest::Router->new($self);
}

sub routed {
    my ($self, $code, @args) = @_;
    my $router = $self->router;
    no warnings 'redefine';
    local *SharedSessionTest::connect_redis = sub { $router };
    return $code->(@args);
}

sub use_cluster { $Current = $_[0] }

sub current {
    return $Current // die "ClusterTest: no cluster started\n";
}

# Package functions for Test::Nginx sections, on the current cluster.
sub flush { current()->routed(\&SharedSessionTest::flush) }
sub seed_session { current()->routed(\&SharedSessionTest::seed_session, @_) }
sub seed_key { current()->routed(\&SharedSessionTest::seed_key, @_) }
sub seeds_status { current()->routed(\&SharedSessionTest::seeds_status, @_) }
sub dump_db { current()->routed(\&SharedSessionTest::dump_db, @_) }
sub follow { current()->routed(\&SharedSessionTest::follow, @_) }
sub redis_cmd { current()->router->cmd(@_) }


package ClusterTest::Router;

sub new {
    my ($class, $cluster) = @_;
    return bless { c => $cluster, conns => {}, owner => undef }, $class;
}

sub _conn {
    my ($self, $port) = @_;
    return $self->{conns}{$port} //= $self->{c}->conn($port);
}

sub _owner {
    my ($self, $key) = @_;
    $self->{owner} //= $self->{c}->slot_owners;
    return $self->{owner}[ ClusterTest::key_slot($key) ];
}

my %ALL_PRIMARIES = map { $_ => 1 } qw(KEYS FLUSHALL FLUSHDB DBSIZE);

sub cmd {
    my ($self, @cmd) = @_;
    my $name = uc $cmd[0];
    if ($ALL_PRIMARIES{$name}) {
        my @r = map { $self->_conn($_)->cmd(@cmd) } $self->{c}->primaries;
        return [ map { @$_ } @r ] if $name eq 'KEYS';
        if ($name eq 'DBSIZE') {
            my $n = 0;
            $n += $_ for @r;
            return $n;
        }
        return 'OK';
    }
    die "ClusterTest::Router: $name needs a key\n" unless @cmd > 1;
    my $port = $self->_owner($cmd[1]);
    for (1 .. 5) {
        my $r;
        return $r if eval { $r = $self->_conn($port)->cmd(@cmd); 1 };
        my $err = $@;
        if ($err =~ /: MOVED \d+ [^:\s]+:(\d+)/) {
            $port = $1;
            $self->{owner} = undef;
            next;
        }
        if ($err =~ /: ASK \d+ [^:\s]+:(\d+)/) {
            my $c = $self->_conn($1);
            $c->cmd('ASKING');
            return $c->cmd(@cmd);
        }
        die $err;
    }
    die "ClusterTest::Router: @cmd[0, 1]: too many redirections\n";
}


package ClusterTest;

############################################################################
# A load of parallel HTTP requests against the nginx under test, with
# actions in between:
#
#   my @res = ClusterTest::load(
#       requests    => sub { ... },   # the next request: [ path, id, hdr... ]
#                                     # (id is only carried along)
#       concurrency => 8,             # requests in flight
#       gap         => 0.01,          # pause of each client between requests
#       max         => 20,            # seconds, at most
#       until       => sub { ... },   # stop starting new requests when true
#       tick        => sub { ... },   # called about every 10 ms
#       timeout     => 5,             # per request: status 'timeout'
#   );
#
# Each result: { path, id, sent, done (absolute times), status ('none' if
# closed without an answer), body, headers (lc name => value) }.

sub load {
    my (%o) = @_;
    my $port = $o{port} // SharedSessionTest::server_port();
    my $conc = $o{concurrency} // 8;
    my $gap = $o{gap} // 0.01;
    my $timeout = $o{timeout} // 5;
    my $t_end = Time::HiRes::time() + ($o{max} // 20);
    my (@done, @slots);
    my $stopping = 0;
    my $sel = IO::Select->new;
    my %by_fd;

    my $begin = sub {
        my ($slot) = @_;
        my ($path, $id, @hdr) = @{ $o{requests}->() };
        my $req = "GET $path HTTP/1.0\r\nHost: localhost\r\n";
        while (my ($k, $v) = splice @hdr, 0, 2) {
            $req .= "$k: $v\r\n";
        }
        $req .= "\r\n";
        my $now = Time::HiRes::time();
        my $r = { path => $path, id => $id, sent => $now, buf => '' };
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp',
                                      Timeout => 5);
        if (!$s) {
            $r->{status} = 'connect failed';
            $r->{done} = Time::HiRes::time();
            push @done, $r;
            $slots[$slot] = { next_at => Time::HiRes::time() + $gap };
            return;
        }
        binmode $s;
        syswrite($s, $req);
        $s->blocking(0);
        $r->{sock} = $s;
        $slots[$slot] = $r;
        $by_fd{ fileno $s } = $slot;
        $sel->add($s);
    };

    my $finish = sub {
        my ($slot, $why) = @_;
        my $r = $slots[$slot];
        $sel->remove($r->{sock});
        delete $by_fd{ fileno $r->{sock} };
        close $r->{sock};
        delete $r->{sock};
        $r->{done} = Time::HiRes::time();
        my ($head, $body) = split /\r\n\r\n/, delete $r->{buf}, 2;
        my @lines = split /\r\n/, $head // '';
        my ($status) = (shift(@lines) // '') =~ m{^HTTP/\S+\s+(\d+)};
        $r->{status} = $status // $why;
        $r->{body} = $body // '';
        for (@lines) {
            my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
            $r->{headers}{ lc $k } = $v;
        }
        push @done, $r;
        $slots[$slot] = { next_at => Time::HiRes::time() + $gap };
    };

    $slots[$_] = { next_at => 0 } for 0 .. $conc - 1;
    while (1) {
        my $now = Time::HiRes::time();
        $o{tick}->() if $o{tick};
        $stopping ||= $now > $t_end || ($o{until} && $o{until}->());
        my $busy = 0;
        for my $i (0 .. $conc - 1) {
            my $s = $slots[$i];
            if ($s->{sock}) {
                $busy++;
                $finish->($i, 'timeout') if $now - $s->{sent} > $timeout;
                next;
            }
            next if $stopping || $now < $s->{next_at};
            $begin->($i);
            $busy++ if $slots[$i]{sock};
        }
        last if $stopping && !$busy;
        for my $fh ($sel->can_read(0.01)) {
            my $slot = $by_fd{ fileno $fh } // next;
            my $n = sysread($fh, my $chunk, 65536);
            next if !defined $n && $! == Errno::EAGAIN();
            if ($n) {
                $slots[$slot]{buf} .= $chunk;
                next;
            }
            $finish->($slot, 'none');
        }
    }
    return @done;
}

END {
    if ($$ == $OWNER_PID) {
        local $?;
        my @all = @Clusters;
        $_->destroy for @all;
    }
}

1;

__END__

=head1 NAME

ClusterTest - a real local Redis Cluster for the shared-session tests

=head1 METHODS

=over

=item ClusterTest->start(nodes => 6, replicas => 1, node_timeout => 1000, password => $pw, conf => [@args], ports => [@ports])

Starts the nodes (cluster-enabled, no persistence, 127.0.0.1, each with its
nodes-PORT.conf and log in a temporary directory), creates the cluster with
C<redis-cli --cluster create ... --cluster-replicas N --cluster-yes>, and
waits until C<wait_ok>.  With a password: C<requirepass> and C<masterauth>
on every node, and every helper authenticates.

=item ports, seeds, primaries, replica_of($primary), slots_of($primary), slot_ranges, slot_owners, node_for_slot($slot), node_for_key($key), key_slot($key) (function), node_id($port), port_of_id($id)

What the cluster looks like now (asked of a running node).

=item cmd($port, @command), conn($port), info_field($port, $section, $field), cluster_info($port, $field), connections_received

One node, not routed.

=item wait_ok($max), wait_replicated($max), not_ok_reason

Wait until every running node says cluster_state:ok with one slot map and
up replica links; until every replica has acknowledged its primary's
stream.  Both die with the reason after C<$max> seconds.

=item kill_node, stop_node, pause_node, resume_node, restart_node, stop_all, kill_all, restart_all, alive, live_ports

Faults.  A restarted node keeps its port and nodes.conf.

=item reshard(from => $p, to => $q, slots => $n [, background => 1]), reshard_slots($from, $n), cli_done($h), cli_wait($h, $max)

C<redis-cli --cluster reshard>; which slots it takes.

=item migrate_begin($slot, $from, $to), migrate_keys($slot, $from, $to [, @keys]), migrate_end($slot, $to)

A slot migrated by hand (ASK, then MOVED).

=item routed($code), router; ClusterTest::flush, seed_session, seed_key, seeds_status, dump_db, follow, redis_cmd

SharedSessionTest's helpers with every command routed by key.

=item ClusterTest::load(%options)

Parallel HTTP requests against nginx with actions in between.

=back
