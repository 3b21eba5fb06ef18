package Test::Nginx::Util;

# Stand-in for openresty/test-nginx's Test::Nginx::Util, written for this
# project (see t/lib/README.md).  It only exists so that the project's
# t/*.t files run where the real Test::Nginx cannot be installed; it
# implements a subset of the real module with the same names and meanings.
#
# This file holds the nginx side: settings, nginx.conf generation, starting,
# reloading and stopping nginx, reading the error log, valgrind reports, the
# embedded TCP server, and the per-block driver loop (run_tests/run_test).
# The HTTP client and the response checks live in Test::Nginx::Socket.
#
# Process model (differs from the real module, same observable meaning):
# nginx always runs with "daemon off" as a direct child of the test process,
# in its own process group, so that it is reaped at once when it exits
# (a daemonized nginx is reparented to PID 1, which may reap it slowly).
# nginx is started once per .t file and kept while the generated nginx.conf
# of the next block is byte-identical; otherwise it is restarted (a restart
# costs ~10 ms this way), or, with TEST_NGINX_USE_HUP, reloaded with HUP.

use strict;
use warnings;

our $VERSION = '0.29';

use base 'Exporter';

use POSIX qw(SIGQUIT SIGKILL SIGTERM SIGHUP WNOHANG);
use File::Spec ();
use File::Basename ();
use File::Path qw(make_path remove_tree);
use File::Temp ();
use Time::HiRes qw(sleep time);
use IO::Socket::INET ();
use Scalar::Util qw(looks_like_number);
use Carp qw(croak);
use Config ();
use Test::More ();
require Test::Nginx::Blocks;

#-----------------------------------------------------------------------------
# Settings (same variables and environment as the real Test::Nginx::Util)

our $Verbose          = $ENV{TEST_NGINX_VERBOSE};
our $UseHup           = $ENV{TEST_NGINX_USE_HUP};
our $NoNginxManager   = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $RepeatEach       = 1;
our $LoadModules      = $ENV{TEST_NGINX_LOAD_MODULES};
our $NoShuffle        = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;  # we never shuffle
our $UseValgrind      = $ENV{TEST_NGINX_USE_VALGRIND};
our $EventType        = $ENV{TEST_NGINX_EVENT_TYPE};
our $PostponeOutput   = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $Timeout          = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $Randomize        = $ENV{TEST_NGINX_RANDOMIZE};
our $ServerAddr       = '127.0.0.1';
our $ServerName       = 'localhost';
our $NoLongString;
our $FirstTime        = 1;
our $InSubprocess;

our $WorkerUser = $ENV{TEST_NGINX_WORKER_USER};
if (defined $WorkerUser && $WorkerUser !~ /^\w+(?:\s+\w+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Workers              = 1;
our $WorkerConnections    = 64;
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled        = 'on';   # informative only: we always run "daemon off"
our $ServerPort           = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                            || 1984;
our $ServerPortForClient  = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort || 1984;
our $NoRootLocation       = 0;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $BuildSlaveName       = $ENV{TEST_NGINX_BUILDSLAVE};

# The real default is 1 (restart nginx for every block).  Here nginx is kept
# when the generated nginx.conf did not change; set the variable to 1 to get
# a fresh nginx for every block.
our $ForceRestartOnTest   = $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} || 0;

our $ConfigPreamble = '';
our $FilterHttpConfig;
our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;
our ($RunTestHelper, $CheckErrorLog, $CheckShutdownErrorLog);
our ($NginxVersion, $NginxRawVersion, $OpenSSLVersion);
our $PrevBlock;
our $PrevConfig;
our $ErrLogFilePos = 0;
our $TcpServerPid;
our $ChildPid;     # the nginx process we started (master or single process)

srand $$;

for my $v (qw(TEST_NGINX_CHECK_LEAK TEST_NGINX_BENCHMARK TEST_NGINX_USE_STAP
              TEST_NGINX_USE_RR TEST_NGINX_USE_HTTP2 TEST_NGINX_USE_HTTP3))
{
    if ($ENV{$v}) {
        warn "WARNING: $v is not supported by the t/lib Test::Nginx "
             . "stand-in; ignored.\n";
    }
}

sub bail_out (@);
sub gen_rand_port (;$$);

if ($Randomize) {
    $ServerPort = gen_rand_port(1000);
    if (!defined $ServerPort) {
        bail_out "Cannot find an available listening port number.\n";
    }
    $ServerPortForClient = $ServerPort;
}

our $ServRoot;
if ($Randomize) {
    $ServRoot = File::Spec->rel2abs("t/servroot_" . $ServerPort);
} else {
    $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
}
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');

# State of the nginx we manage
our $RunningConfig;         # nginx.conf text the running nginx has loaded
our $RunningMaster;         # whether it runs with master_process on
our $BlockErrLogStart = 0;  # error.log offset where the current block began
our $AccLogFilePos = 0;     # access.log offset where the current block began
our %IgnoreLogPids;         # pids of old workers after a HUP reload
our %ValgrindLogPos;        # valgrind report file => offset already checked
our $ChildUnderValgrind;    # the running nginx was started under valgrind

# valgrind suppressions for stock nginx (shipped next to this file)
our $CoreSuppressions = File::Spec->catfile(
    File::Basename::dirname(File::Spec->rel2abs(__FILE__)),
    'nginx-core.valgrind.suppress');

if ($UseValgrind) {
    $DaemonEnabled = 'off';
}

our @EXPORT = qw(
    env_to_nginx
    is_str
    check_accum_error_log
    is_running
    $NoLongString
    no_long_string
    $ServerAddr
    server_addr
    $ServerName
    server_name
    parse_time
    verbose
    sleep_time
    bail_out
    add_cleanup_handler
    access_log_data
    error_log_data
    setup_server_root
    write_config_file
    get_canon_version
    get_nginx_version
    trim
    show_all_chars
    parse_headers
    run_tests
    run_test
    get_pid_from_pidfile
    $ServerPortForClient
    $ServerPort
    $NginxVersion
    $PidFile
    $ServRoot
    $ConfFile
    $RunTestHelper
    $CheckErrorLog
    $CheckShutdownErrorLog
    $FilterHttpConfig
    $NoNginxManager
    $RepeatEach
    add_block_preprocessor
    timeout
    worker_connections
    workers
    master_on
    master_off
    config_preamble
    repeat_each
    master_process_enabled
    log_level
    no_shuffle
    no_root_location
    html_dir
    server_root
    server_port
    server_port_for_client
    no_nginx_manager
    use_hup
);

#-----------------------------------------------------------------------------
# Small public helpers (same names and meanings as the real module)

sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid && kill(0, $pid);
    # a zombie still answers kill 0: treat it as gone
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in>;
        close $in;
        return 0 if defined $stat && $stat =~ /^\d+ \(.*\) Z /s;
    }
    return 1;
}

sub gen_rand_port (;$$) {
    my ($tries, $used_ports) = @_;
    $tries //= 1000;
    $used_ports //= {};
    for (1 .. $tries) {
        my $port = int(rand 63550) + 1985;
        next if $used_ports->{$port};
        my $sock = IO::Socket::INET->new(
            LocalAddr => $ServerAddr,
            LocalPort => $port,
            Proto     => 'tcp',
            Listen    => 1,
            ReuseAddr => 1,
        );
        if ($sock) {
            close $sock;
            return $port;
        }
    }
    return undef;
}

sub no_long_string () { $NoLongString = 1 }

# is_string() of Test::LongString (not installed here): same pass/fail
# result as is(), with a diagnostic pointing at the first difference.
sub _is_long_string {
    my ($got, $expected, $desc) = @_;
    my $tb = Test::More->builder;
    if (!defined $got || !defined $expected) {
        local $Test::Builder::Level = $Test::Builder::Level + 2;
        return Test::More::is($got, $expected, $desc);
    }
    my $ok = $tb->ok($got eq $expected, $desc);
    if (!$ok) {
        my $pos = 0;
        my $max = length($got) < length($expected) ? length($got)
                                                    : length($expected);
        $pos++ while $pos < $max
                     && substr($got, $pos, 1) eq substr($expected, $pos, 1);
        my $before = substr($got, 0, $pos);
        my $line = ($before =~ tr/\n//) + 1;
        my $col = $pos - (rindex($before, "\n") + 1) + 1;
        my $show = sub {
            my $s = substr($_[0], $pos > 10 ? $pos - 10 : 0, 70);
            $s =~ s/([\0-\037\177-\377])/sprintf('\\x{%02x}', ord $1)/ge;
            return '"' . ($pos > 10 ? '...' : '') . $s
                   . (length($_[0]) > ($pos > 10 ? $pos - 10 : 0) + 70
                      ? '...' : '') . '"';
        };
        $tb->diag(sprintf("         got: %s\n      length: %d\n"
                          . "    expected: %s\n      length: %d\n"
                          . "    strings begin to differ at char %d "
                          . "(line %d column %d)",
                          $show->($got), length $got,
                          $show->($expected), length $expected,
                          $pos + 1, $line, $col));
    }
    return $ok;
}

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    if ($NoLongString) {
        return Test::More::is($got, $expected, $desc);
    }
    return _is_long_string($got, $expected, $desc);
}

sub server_addr (@) {
    if (@_) { $ServerAddr = shift } else { return $ServerAddr }
}

sub server_name (@) {
    if (@_) { $ServerName = shift } else { return $ServerName }
}

sub timeout (@) {
    if (@_) { $Timeout = shift } else { return $Timeout }
}

sub no_shuffle () { $NoShuffle = 1 }

sub no_nginx_manager () { $NoNginxManager = 1 }

sub use_hup () { $UseHup = 1 }

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        if ($v !~ /^[A-Za-z_]/ || $v =~ /\n/) {
            croak "env_to_nginx: bad argument value: $v\n";
        }
        push @EnvToNginx, $v;
    }
}

sub sleep_time { return $TestNginxSleep }

sub verbose { return $Verbose }

sub server_port (@) {
    if (@_) { $ServerPort = shift } else { return $ServerPort }
}

sub server_port_for_client (@) {
    if (@_) { $ServerPortForClient = shift } else { return $ServerPortForClient }
}

sub repeat_each (@) {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub worker_connections (@) {
    if (@_) { $WorkerConnections = shift } else { return $WorkerConnections }
}

sub no_root_location () { $NoRootLocation = 1 }

sub workers (@) {
    if (@_) { $Workers = shift } else { return $Workers }
}

sub log_level (@) {
    if (@_) { $LogLevel = shift } else { return $LogLevel }
}

sub check_accum_error_log () { $CheckAccumErrLog = 1 }

sub master_on ()  { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }

sub master_process_enabled (@) {
    if (@_) {
        $MasterProcessEnabled = shift() ? 'on' : 'off';
    } else {
        return $MasterProcessEnabled;
    }
}

sub config_preamble ($) { $ConfigPreamble = shift }

sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }

sub add_cleanup_handler ($) { unshift @CleanupHandlers, shift }

sub parse_time ($) {
    my $tm = shift;
    if (defined $tm) {
        if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
            $tm = $tm / 1000;
        } elsif ($tm =~ s/([^_a-zA-Z])s$/$1/) {
            # seconds
        }
    }
    return $tm;
}

sub html_dir ()    { return $HtmlDir }
sub server_root () { return $ServRoot }

sub trim ($) {
    my $s = shift;
    return undef if !defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/gs;
    $s =~ s/\r/\\r/gs;
    $s =~ s/\t/\\t/gs;
    return $s;
}

# "--- response_headers" parser: "Name: value" lines, "!Name" = absent
# (undef value).  Returns the hash like the real one does (the last line for
# a name wins) and, in list context, also the names in file order (the real
# module walks the hash in random order; the tests are the same).
sub parse_headers ($) {
    my $s = shift;
    my %headers;
    my @order;
    for my $line (split /\n/, $s) {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        my $neg = ($line =~ s/^!\s*//);
        my ($key, $val);
        if ($neg) {
            $key = $line;
        } else {
            ($key, $val) = split /\s*:\s*/, $line, 2;
        }
        push @order, $key unless exists $headers{$key};
        $headers{$key} = $val;
    }
    return wantarray ? (\%headers, \@order) : \%headers;
}

sub get_canon_version (@) {
    sprintf "%d.%03d%03d", $_[0], $_[1], $_[2];
}

sub get_canon_version_for_OpenSSL (@) {
    if (defined $_[3]) {
        return sprintf "%d.%03d%03d%03d", $_[0], $_[1], $_[2],
                       ord($_[3]) - ord('a');
    }
    return get_canon_version(@_);
}

sub can_run {
    my ($cmd) = @_;
    if ($cmd =~ m{[/\\]}) {
        return (-f $cmd && -x $cmd) ? $cmd : undef;
    }
    for my $dir ((split /$Config::Config{path_sep}/, $ENV{PATH} || ''), '.') {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x $abs;
    }
    return undef;
}

sub get_nginx_version () {
    my $out = `$NginxBinary -V 2>&1`;
    if (!defined $out || $? != 0) {
        $out //= '';
        bail_out("Failed to get the version of the Nginx in PATH: $out");
    }
    if ($out =~ m{built with OpenSSL (\d+)\.(\d+)\.(\d+)([a-z])?}s) {
        $OpenSSLVersion = get_canon_version_for_OpenSSL($1, $2, $3, $4);
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

sub get_pid_from_pidfile ($) {
    my ($name) = @_;
    open my $in, '<', $PidFile
        or bail_out("$name - Failed to open the pid file $PidFile for "
                    . "reading: $!");
    my $pid = do { local $/; <$in> };
    close $in;
    $pid = '' unless defined $pid;
    chomp $pid;
    return $pid;
}

# Replaces $TEST_NGINX_FOO by the environment variable of that name (bails
# out when it is not set) and $TEST_NGINX_RAND_PORT_N by a free port number
# (the same number for the same N within a block).
sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;

    my $used_ports = { $ServerPort => 1, map { $_ => 1 } values %$rand_ports };

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            if (!defined $rand_ports->{$var}) {
                my $port = gen_rand_port(1000, $used_ports);
                defined $port or bail_out("$name - Cannot find an available "
                                          . "listening port number for $var.\n");
                $rand_ports->{$var} = $port;
                $used_ports->{$port} = 1;
            }
            $val = $rand_ports->{$var};
        } else {
            defined $ENV{$var}
                or bail_out("$name - No environment $var defined.\n");
            $val = $ENV{$var};
        }
        $val;
    }eg;

    return $text;
}

#-----------------------------------------------------------------------------
# Aborting and cleaning up

sub bail_out (@) {
    cleanup();
    stop_nginx('bail_out') unless $ENV{TEST_NGINX_NO_CLEAN};
    # TAP wants a one-line reason: the other lines go to the diagnostics
    my ($reason, $details) = split /\n/, join('', @_), 2;
    Test::More::diag($details) if defined $details && $details =~ /\S/;
    Test::More::BAIL_OUT($reason);
}

# Waits for a child process of ours to exit; escalates QUIT/TERM -> KILL.
sub kill_process ($$$) {
    my ($pid, $wait, $name) = @_;
    return unless $pid;

    my $deadline = time + ($wait ? $Timeout : 0);
    kill(SIGQUIT, $pid) if $wait;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        return if $r == $pid || $r == -1 && !is_running($pid);
        last if time >= $deadline;
        sleep 0.005;
    }

    kill(SIGTERM, $pid);
    $deadline = time + 1;
    while (time < $deadline) {
        my $r = waitpid($pid, WNOHANG);
        return if $r == $pid || $r == -1 && !is_running($pid);
        sleep 0.005;
    }

    warn "$name - WARNING: killing the child process $pid with force...\n";
    kill(SIGKILL, $pid);
    waitpid($pid, 0);
}

sub cleanup () {
    for my $hdl (@CleanupHandlers) {
        $hdl->();
    }
    if (defined $TcpServerPid) {
        kill(SIGKILL, $TcpServerPid);
        waitpid($TcpServerPid, 0);
        undef $TcpServerPid;
    }
}

#-----------------------------------------------------------------------------
# Server root, user files, nginx.conf

sub setup_server_root ($) {
    my $first_time = shift;

    # Only remove what we create, in case TEST_NGINX_SERVROOT is mis-set.
    if (-d $ServRoot) {
        remove_tree($ConfDir, $HtmlDir, $LogDir, glob("$ServRoot/*_temp"),
                    glob("$ServRoot/*_cache"));
    }
    for my $dir ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $dir;
        make_path($dir) or bail_out("Failed to do mkdir $dir: $!\n");
    }

    my $index_file = "$HtmlDir/index.html";
    open my $out, '>', $index_file
        or bail_out("Can't open $index_file for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;

    # start every file with an empty error log
    open $out, '>', $ErrLogFile or bail_out("Can't create $ErrLogFile: $!\n");
    close $out;
    $ErrLogFilePos = $BlockErrLogStart = $AccLogFilePos = 0;
}

# "--- user_files": ">>> name [date]" headers followed by the content, or an
# eval'd array of [name, content, date]; relative names go under html/.
sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;

    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);
        for my $line (split /^/, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if $fname;
                ($fname, $date) = ($1, $2);
                undef $body;
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if $fname;
        $files = \@list;

    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body = '' unless defined $body;

        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - Cannot create directory $1");
        }

        $body = expand_env_in_text($body, $name, $rand_ports);

        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;

        if ($date) {
            my $cmd = "TZ=GMT touch -t '$date' '$path'";
            system($cmd) == 0
                or bail_out("Failed to run shell command: $cmd\n");
        }
    }
}

# http{}-level paths that Debian's nginx would otherwise take from its
# compiled-in defaults (/var/lib/nginx/...): keep everything in servroot.
my @TempPathDirectives = qw(client_body_temp_path proxy_temp_path
                            fastcgi_temp_path uwsgi_temp_path scgi_temp_path);

sub effective_master ($) {
    my $block = shift;
    return 1 if $UseHup;   # HUP reloads need the master process
    return $MasterProcessEnabled eq 'on' ? 1 : 0;
}

# Builds the text of nginx.conf for a block (layout of the real module).
sub gen_config_text ($$$) {
    my ($block, $config, $rand_ports) = @_;

    my $name = $block->name;
    my $http_config      = expand_env_in_text($block->http_config, $name,
                                              $rand_ports);
    my $main_config      = expand_env_in_text($block->main_config, $name,
                                              $rand_ports);
    my $post_main_config = expand_env_in_text($block->post_main_config, $name,
                                              $rand_ports);
    my $err_log_file = $block->error_log_file || $ErrLogFile;
    my $server_name  = $block->server_name;
    $server_name = $ServerName unless defined $server_name;

    $config           = '' unless defined $config;
    $http_config      = '' unless defined $http_config;
    $main_config      = '' unless defined $main_config;
    $post_main_config = '' unless defined $post_main_config;

    if ($FilterHttpConfig) {
        $http_config = $FilterHttpConfig->($http_config);
    }

    my $extra_http_config = '';
    if (defined $PostponeOutput && $http_config !~ /\bpostpone_output\b/) {
        if ($PostponeOutput !~ /^\d+$/) {
            bail_out("Bad TEST_NGINX_POSTPONE_OUTPUT value: $PostponeOutput\n");
        }
        $extra_http_config .= "    postpone_output $PostponeOutput;\n";
    }
    for my $d (@TempPathDirectives) {
        next if $http_config =~ /\b$d\b/;
        (my $dir = $d) =~ s/_path$//;
        $extra_http_config .= "    $d $ServRoot/$dir;\n";
    }

    my $load_modules = '';
    if ($LoadModules) {
        $load_modules = join '', map { "load_module $_;\n" }
                                 grep { $_ } split /\s+/, $LoadModules;
    }

    my $master = effective_master($block) ? 'on' : 'off';

    my $conf = <<_EOC_;
${load_modules}worker_processes  $Workers;
daemon off;
master_process $master;
error_log $err_log_file $LogLevel;
pid       $PidFile;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
_EOC_

    for my $v (@EnvToNginx) {
        $conf .= $v =~ /\s/ ? "env '$v';\n" : "env $v;\n";
    }

    $conf .= <<_EOC_;

$main_config

http {
    access_log $AccLogFile;
    #access_log off;

    default_type text/plain;
    keepalive_timeout  68;

$extra_http_config
$http_config

    server {
        listen          $ServerPort;
        server_name     '$server_name';

        client_max_body_size 30M;
        #client_body_buffer_size 4k;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

_EOC_

    if (!$NoRootLocation) {
        $conf .= <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    }

    $conf .= "    }\n}\n\n$post_main_config\n\nevents {\n"
             . "    accept_mutex off;\n\n"
             . "    worker_connections  $WorkerConnections;\n";
    $conf .= "    use $EventType;\n" if $EventType;
    $conf .= "}\n";
    $conf .= "env ASAN_OPTIONS;\nenv MOCKNOEAGAIN_VERBOSE;\nenv MOCKNOEAGAIN;\n";

    if (defined $WorkerUser) {
        $conf .= "user $WorkerUser;\n";
    } elsif ($> == 0) {
        $conf .= "user root;\n";
    }

    return $conf;
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $text = gen_config_text($block, $config, $rand_ports);
    _write_file($ConfFile, $text);
    return $text;
}

sub _write_file {
    my ($path, $text) = @_;
    open my $out, '>', $path or bail_out("Can't open $path for writing: $!\n");
    print $out $text;
    close $out;
}

#-----------------------------------------------------------------------------
# Log files

sub _file_size { my $s = -s $_[0]; return defined $s ? $s : 0 }

sub _read_from {
    my ($file, $pos) = @_;
    open my $in, '<', $file or return ('', $pos);
    seek $in, $pos, 0 if $pos;
    my $data = do { local $/; <$in> };
    my $end = tell $in;
    close $in;
    $data = '' unless defined $data;
    return ($data, $end);
}

# error.log lines written since the last call within the current block
# (since the start of the block with check_accum_error_log()).  Like the
# real one, waits a little first for lines logged after the response.
# Lines of old worker processes still shutting down after a HUP reload are
# left out (the real HUP mode writes them to the previous, deleted log).
sub error_log_data () {
    sleep $TestNginxSleep * 3;

    my $start = $CheckAccumErrLog ? $BlockErrLogStart : $ErrLogFilePos;
    my ($data, $end) = _read_from($ErrLogFile, $start);
    # keep a trailing partial line for the next read
    if ($data ne '' && substr($data, -1) ne "\n") {
        my $nl = rindex($data, "\n");
        my $partial = length($data) - ($nl + 1);
        $end -= $partial;
        $data = $nl >= 0 ? substr($data, 0, $nl + 1) : '';
    }
    $ErrLogFilePos = $end unless $CheckAccumErrLog;

    my @lines = split /^/, $data;
    if (%IgnoreLogPids) {
        my $skip = 0;
        @lines = grep {
            if (m{^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\w+\] (\d+)#}) {
                $skip = $IgnoreLogPids{$1} ? 1 : 0;
            }
            !$skip;
        } @lines;
    }
    return \@lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    my ($data) = _read_from($AccLogFile, $AccLogFilePos);
    return [split /^/, $data];
}

sub _log_tail {
    my ($from) = @_;
    my ($data) = _read_from($ErrLogFile, $from || 0);
    my @lines = split /^/, $data;
    @lines = @lines[-20 .. -1] if @lines > 20;
    return join '', @lines;
}

#-----------------------------------------------------------------------------
# valgrind

sub _valgrind_cmd {
    my @opts;
    if ($UseValgrind =~ /^\d+$/) {
        @opts = qw(--tool=memcheck --leak-check=full --show-possibly-lost=no
                   --num-callers=100 --gen-suppressions=all);
    } else {
        @opts = split ' ', $UseValgrind;
    }
    # nginx core's own exit-time allocations, then the project's files
    for my $supp ($CoreSuppressions, 'valgrind.suppress', 't/valgrind.suppress') {
        push @opts, "--suppressions=$supp" if -f $supp;
    }
    return ('valgrind', '-q', @opts, "--log-file=$LogDir/valgrind.%p.log");
}

# Turns any new valgrind error report into a failed test (the real module
# only prints valgrind's output on stderr).
sub check_valgrind_log ($) {
    my ($name) = @_;

    for my $file (sort glob("$LogDir/valgrind.*.log")) {
        my ($data, $end) = _read_from($file, $ValgrindLogPos{$file} || 0);
        $ValgrindLogPos{$file} = $end;
        next unless $data =~ /\S/;
        if ($data =~ /Invalid\ (?:read|write|free)|Conditional\ jump
                      |uninitialised|Syscall\ param|Mismatched\ free
                      |overlap|(?:definitely|indirectly|possibly)\ lost
                      |Process\ terminating|Jump\ to\ the\ invalid/x)
        {
            my $tb = Test::More->builder;
            $tb->ok(0, "$name - valgrind reported errors ($file)");
            $tb->diag($data);
        } else {
            warn "$name - valgrind: $data";
        }
    }
}

#-----------------------------------------------------------------------------
# nginx processes

sub nginx_alive () {
    return 0 unless $ChildPid;
    my $r = waitpid($ChildPid, WNOHANG);
    if ($r == $ChildPid || ($r == -1 && !is_running($ChildPid))) {
        my $status = $?;
        warn "WARNING: the nginx process $ChildPid exited unexpectedly "
             . "(status $status)\n" . _log_tail($BlockErrLogStart);
        _forget_nginx($ChildPid);
        return 0;
    }
    return 1;
}

sub _forget_nginx {
    my $pid = shift;
    # leftovers of the process group (workers of a crashed master)
    kill(SIGKILL, -$pid) if $pid && kill(0, -$pid);
    undef $ChildPid;
    undef $RunningConfig;
    %IgnoreLogPids = ();
}

# Children of a process (nginx workers of the master).
sub _children {
    my $pid = shift;
    my @kids;
    if (open my $in, '<', "/proc/$pid/task/$pid/children") {
        my $s = <$in>;
        close $in;
        @kids = split ' ', ($s // '');
    } else {
        for my $stat (glob '/proc/[0-9]*/stat') {
            open my $in, '<', $stat or next;
            my $s = <$in>;
            close $in;
            push @kids, $1 if defined $s && $s =~ /^(\d+) \(.*\) \S+ (\d+) /s
                              && $2 == $pid;
        }
    }
    return @kids;
}

sub _cmdline {
    my $pid = shift;
    open my $in, '<', "/proc/$pid/cmdline" or return '';
    my $s = do { local $/; <$in> };
    close $in;
    $s = '' unless defined $s;
    $s =~ s/\0/ /g;
    return $s;
}

# Worker processes of a master: the children titled "worker process" (not
# "worker process is shutting down").  Under valgrind the process titles are
# not visible in /proc, so all children are returned.
sub _worker_pids {
    my $master = shift;
    my @kids = _children($master);
    my %title = map { $_ => _cmdline($_) } @kids;
    return @kids unless grep { $title{$_} =~ /^nginx: / } @kids;
    return grep { $title{$_} =~ /worker process\s*$/ } @kids;
}

# Starts nginx with the current nginx.conf as our child.  Returns
# (1) once it has written its pid file (configuration loaded, sockets
# bound), or (0, $status) if it exited first (undef status: timed out).
sub _spawn_nginx ($) {
    my ($name) = @_;

    can_run($NginxBinary)
        or bail_out("$name - Cannot find the nginx executable in the PATH "
                    . "environment");

    my @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile);
    unshift @cmd, _valgrind_cmd() if $UseValgrind;

    unlink $PidFile;

    my $pid = fork();
    bail_out("$name - fork() failed: $!") unless defined $pid;

    if ($pid == 0) {
        # child: own process group; stderr (where nginx reports problems
        # before it has opened its error_log) goes to error.log
        $InSubprocess = 1;
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', $ErrLogFile;
        { exec { $cmd[0] } @cmd }
        warn "cannot exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }

    $ChildPid = $pid;
    $ChildUnderValgrind = $UseValgrind;
    if ($Verbose) {
        warn "started nginx (pid $pid): @cmd\n";
    }

    my $deadline = time + ($UseValgrind ? 120 : 10);  # valgrind starts slowly
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) {
            my $status = $?;
            undef $ChildPid;
            return (0, $status);
        }
        if (-s $PidFile) {
            my $p = get_pid_from_pidfile($name);
            return (1) if $p eq $pid;
        }
        if (time > $deadline) {
            kill_process($pid, 1, $name);
            undef $ChildPid;
            return (0, undef);
        }
        sleep 0.002;
    }
}

# Starts nginx; retries a little while the port is still busy; bails out
# when nginx cannot start (as the real module does).  Returns the dry-run
# reason when TEST_NGINX_IGNORE_MISSING_DIRECTIVES applies, else ''.
sub start_nginx ($) {
    my ($name) = @_;

    my $from = _file_size($ErrLogFile);
    my $waited = 0;
    while (1) {
        my ($ok, $status) = _spawn_nginx($name);
        if ($ok) {
            $RunningMaster = undef;
            return '';
        }

        my ($log) = _read_from($ErrLogFile, $from);
        if ($ENV{TEST_NGINX_IGNORE_MISSING_DIRECTIVES}
            && $log =~ /\[emerg\] \S+?: unknown directive "([^"]+)"/)
        {
            return "the lack of directive $1";
        }
        if ($log =~ /Address already in use/ && $waited < 5) {
            sleep 0.1;
            $waited += 0.1;
            next;
        }
        for my $file (sort glob("$LogDir/valgrind.*.log")) {
            my ($v) = _read_from($file, $ValgrindLogPos{$file} || 0);
            $log .= $v;
        }
        my $cmd = "$NginxBinary -p $ServRoot/ -c $ConfFile";
        my $how = !defined $status ? 'timed out'
                : $status & 127 ? "killed by signal " . ($status & 127)
                                  . ($status & 128 ? ', core dumped' : '')
                : "status code " . ($status >> 8);
        bail_out("$name - Cannot start nginx using command \"$cmd\" ($how)."
                 . "\n" . $log);
    }
}

# Stops our nginx: QUIT, then TERM/KILL after a bounded wait.
sub stop_nginx ($) {
    my ($name) = @_;
    my $pid = $ChildPid;
    return unless $pid;

    my $wait = $ChildUnderValgrind ? 60 : $Timeout;
    kill(SIGQUIT, $pid);
    my $deadline = time + $wait;
    my $done;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid || ($r == -1 && !is_running($pid))) { $done = 1; last }
        last if time >= $deadline;
        sleep 0.002;
    }
    if (!$done) {
        warn "$name - timeout when waiting for the nginx process $pid "
             . "to exit\n";
        kill(SIGTERM, $pid);
        sleep 0.5;
        kill(SIGKILL, -$pid);
        waitpid($pid, 0);
    }
    _forget_nginx($pid);
    unlink $PidFile;
    check_valgrind_log($name);
}

# Kills an nginx left running by an earlier run (TEST_NGINX_NO_CLEAN or a
# killed test process), found through our pid file.
sub _kill_stale_nginx () {
    return unless -f $PidFile;
    my $pid = get_pid_from_pidfile('setup');
    return unless $pid =~ /^\d+$/ && is_running($pid);
    return unless _cmdline($pid) =~ /nginx/;
    kill(SIGQUIT, $pid);
    my $deadline = time + $Timeout;
    sleep 0.005 while is_running($pid) && time < $deadline;
    if (is_running($pid)) {
        # we started it in its own process group: take its workers too
        my $pgrp = getpgrp($pid);
        kill(SIGKILL, defined $pgrp && $pgrp == $pid ? -$pid : $pid);
    }
    unlink $PidFile;
}

# HUP reload (TEST_NGINX_USE_HUP): waits until new workers run and the old
# ones are gone or shutting down (they stop listening first).  Returns
# (1) or (0, $reason).
sub reload_nginx ($) {
    my ($name) = @_;
    my $master = $ChildPid;

    my %old = map { $_ => 1 } _children($master);
    my $from = _file_size($ErrLogFile);

    kill(SIGHUP, $master) or return (0, "cannot send HUP to $master: $!");

    my $deadline = time + ($ChildUnderValgrind ? 60 : 10);
    while (time < $deadline) {
        sleep 0.005;
        return (0, "nginx exited") unless nginx_alive();

        my ($log) = _read_from($ErrLogFile, $from);
        if ($log =~ /\[emerg\]/) {
            return (0, $log);
        }

        my @workers = _worker_pids($master);
        my @new = grep { !$old{$_} } @workers;
        next unless @new;
        next if grep { $old{$_} } @workers;   # old ones still serving

        sleep 0.01;   # old workers close their listeners right after
        $IgnoreLogPids{$_} = 1 for keys %old;
        delete $IgnoreLogPids{$_} for @new;
        return (1);
    }
    return (0, "timed out waiting for new worker processes");
}

# Makes the right nginx run for a block: keep, restart or reload.
# Returns a dry-run reason or ''.
sub ensure_nginx ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    my $text = gen_config_text($block, $config, $rand_ports);
    my $alive = nginx_alive();

    my $prev_shutdown_check = defined $PrevBlock
        && (defined $PrevBlock->shutdown_error_log
            || defined $PrevBlock->no_shutdown_error_log);

    if ($alive && !$ForceRestartOnTest && !$prev_shutdown_check
        && defined $RunningConfig && $RunningConfig eq $text)
    {
        # same configuration: keep this nginx
        $ErrLogFilePos = _file_size($ErrLogFile);
        return '';
    }

    if ($alive && $UseHup && $RunningMaster) {
        $ErrLogFilePos = _file_size($ErrLogFile);
        _write_file($ConfFile, $text);
        my ($ok, $why) = reload_nginx($name);
        if ($ok) {
            $RunningConfig = $text;
            check_prev_block_shutdown_error_log(1);
            return '';
        }
        if (!defined $block->reload_fails) {
            my $tb = Test::More->builder;
            $tb->no_ending(1);
            $tb->ok(0, "$name - failed to reload configuration");
            $tb->diag($why);
        }
        return '' if nginx_alive();
        # fall through: start from scratch
    }

    stop_nginx($PrevBlock ? $PrevBlock->name : $name) if $ChildPid;
    check_prev_block_shutdown_error_log(0);

    _write_file($ConfFile, $text);
    $ErrLogFilePos = _file_size($ErrLogFile);
    my $dry_run = start_nginx($name);
    if (!$dry_run) {
        $RunningConfig = $text;
        $RunningMaster = effective_master($block);
    }
    return $dry_run;
}

sub check_prev_block_shutdown_error_log ($) {
    my ($dry_run) = @_;
    my $block = $PrevBlock;
    return unless defined $block;
    return if $block->{_shutdown_checked}++;
    if (defined $block->shutdown_error_log
        || defined $block->no_shutdown_error_log)
    {
        $dry_run = 1 if $UseHup || $ENV{TEST_NGINX_NO_CLEAN};
        $CheckShutdownErrorLog->($block, $dry_run ? 'the HUP reload mode' : 0);
    }
}

#-----------------------------------------------------------------------------
# Embedded TCP server ("--- tcp_listen" and friends)

sub start_tcp_server ($) {
    my ($block) = @_;
    my $name = $block->name;
    my $target = $block->tcp_listen;

    my $reply = $block->tcp_reply;
    if (!defined $reply && !defined $block->tcp_shutdown) {
        bail_out("$name - no --- tcp_reply specified but --- tcp_listen is "
                 . "specified");
    }

    my $req_len = $block->tcp_query_len;
    my $query_file;
    if (defined $block->tcp_query || defined $req_len) {
        $req_len = length($block->tcp_query) unless defined $req_len;
        (undef, $query_file) = File::Temp::tempfile("tcp_query_XXXXXX",
                                                    DIR => $LogDir);
    }

    my ($sock, $err);
    for my $try (1 .. 30) {
        if ($target =~ /^\d+$/) {
            $sock = IO::Socket::INET->new(
                LocalHost => '127.0.0.1',
                LocalPort => $target,
                Proto     => 'tcp',
                ReuseAddr => 1,
                Listen    => 5,
            );
        } elsif ($target =~ m{\S+\.sock$}) {
            require IO::Socket::UNIX;
            unlink $target if -e $target;
            $sock = IO::Socket::UNIX->new(
                Local  => $target,
                Type   => Socket::SOCK_STREAM(),
                Listen => 5,
            );
        } else {
            bail_out("$name - bad tcp_listen target: $target");
        }
        last if $sock;
        $err = $!;
        last unless $err =~ /address already in use/i;
        sleep 0.1;
    }
    bail_out("$name - failed to create the tcp listening socket: $err")
        unless $sock;

    my $pid = fork();
    bail_out("$name - fork() failed: $!") unless defined $pid;

    if ($pid == 0) {
        $InSubprocess = 1;
        Test::More->builder->no_ending(1);
        local $SIG{PIPE} = 'IGNORE';

        my $client;
        while (!($client = $sock->accept())) {
            sleep $TestNginxSleep;
        }

        my ($no_read, $no_write);
        if (defined $block->tcp_shutdown) {
            my $how = $block->tcp_shutdown;
            sleep parse_time($block->tcp_shutdown_delay)
                if $block->tcp_shutdown_delay;
            $client->shutdown($how);
            if ($how == 0 || $how == 2) { $no_read = 1 } else { $no_write = 1 }
        }

        my $buf = '';
        unless ($no_read) {
            while (1) {
                my $b;
                my $n = sysread($client, $b, 4096);
                last unless $n;
                $buf .= $b;
                if ($query_file) {
                    if (open my $out, '>', $query_file) {
                        print $out $buf;
                        close $out;
                    }
                }
                last if !$req_len || length($buf) >= $req_len;
            }
        }

        my $delay = parse_time($block->tcp_reply_delay);
        sleep $delay if $delay;

        if (!$no_write && defined $reply) {
            if (ref $reply eq 'CODE') {
                $reply = $reply->($buf);
            }
            for my $r (ref $reply eq 'ARRAY' ? @$reply : ($reply)) {
                syswrite($client, $r);
            }
        }

        if (defined $block->tcp_no_close) {
            sleep 1 while 1;
        }
        close $client;
        POSIX::_exit(0);
    }

    $TcpServerPid = $pid;
    return ($sock, $query_file);
}

sub stop_tcp_server ($$) {
    my ($sock, $query_file) = @_;
    if (defined $TcpServerPid) {
        kill(SIGKILL, $TcpServerPid);
        waitpid($TcpServerPid, 0);
        undef $TcpServerPid;
    }
    close $sock if $sock;
    unlink $query_file if $query_file;
}

sub run_tcp_server_tests ($$$) {
    my ($block, $tcp_socket, $tcp_query_file) = @_;
    my $name = $block->name;
    return unless defined $tcp_socket;

    # give the server child a moment to flush what it received
    my $buf = '';
    if ($tcp_query_file) {
        for (1 .. 20) {
            my ($data) = _read_from($tcp_query_file, 0);
            $buf = $data;
            last if length($buf) >= ($block->tcp_query_len
                                     // length($block->tcp_query // ''));
            sleep 0.005;
        }
    }

    if (defined $block->tcp_query) {
        is_str($buf, $block->tcp_query, "$name - tcp_query ok");
    }
    if (defined $block->tcp_query_len) {
        Test::More::is(length($buf), $block->tcp_query_len,
                       "$name - TCP query length ok");
    }
}

#-----------------------------------------------------------------------------
# The driver loop

sub run_tests () {
    $NginxVersion = get_nginx_version();

    if (!defined $ENV{TEST_NGINX_SERVER_PORT}) {
        $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
    }

    my @blocks = Test::Nginx::Blocks::blocks();   # filters run here

    for my $block (@blocks) {
        for my $hdl (@BlockPreprocessors) {
            $hdl->($block);
        }
        $block->set_value("name", $0 . " " . $block->name);
        run_test($block);
        $PrevBlock = $block;
    }

    cleanup();
}

sub run_test ($) {
    my $block = shift;

    return if defined $block->SKIP;

    my $name = $block->name;

    if ($FirstTime) {
        undef $FirstTime;
        if (!$NoNginxManager) {
            _kill_stale_nginx();
            setup_server_root(1);
        }
    }

    my $rand_ports = {};
    my $config = expand_env_in_text($block->config, $name, $rand_ports);

    local $LogLevel = $LogLevel;
    $LogLevel = $block->log_level if $block->log_level;

    my $must_die = $block->must_die;
    local $UseValgrind = $UseValgrind;
    local $UseHup = $UseHup;
    if (defined $must_die) {
        undef $UseValgrind;
        undef $UseHup;
    }

    my $dry_run = 0;

    if (!defined $config && !$NoNginxManager && !defined $PrevConfig) {
        bail_out("$name - No '--- config' section specified and could not "
                 . "get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?");
    }

    #--- conditional skipping (skip_eval, skip_nginx, skip_nginx2,
    #--- skip_openssl, todo, todo_nginx)
    my ($tests_to_skip, $should_skip, $skip_reason);

    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ m{^\s*(\d+)\s*:\s*(.*)}s) {
            $tests_to_skip = $1;
            $skip_reason = "skip_eval";
            my $code = $2;
            $should_skip = eval $code;
            bail_out("$name - skip_eval - failed to eval the Perl code "
                     . "\"$code\": $@") if $@;
        }
    }

    if (defined(my $spec = $block->skip_nginx)) {
        if ($spec =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                       (?:\s*:\s*(.*))?\s*$}x)
        {
            $tests_to_skip = $1;
            my ($op, $ver) = ($2, get_canon_version($3, $4, $5));
            $skip_reason = $6 || "nginx version $op $3.$4.$5";
            $should_skip = 1 if eval "$NginxVersion $op $ver";
        } else {
            bail_out("$name - Invalid --- skip_nginx spec: $spec");
        }

    } elsif (defined(my $spec2 = $block->skip_nginx2)) {
        if ($spec2 =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                        \s*(or|and)\s*
                        ([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                        (?:\s*:\s*(.*))?\s*$}x)
        {
            $tests_to_skip = $1;
            my ($opa, $vera) = ($2, get_canon_version($3, $4, $5));
            my $opx = $6;
            my ($opb, $verb) = ($7, get_canon_version($8, $9, $10));
            $skip_reason = $11;
            my $ra = eval "$NginxVersion $opa $vera";
            my $rb = eval "$NginxVersion $opb $verb";
            $should_skip = 1 if $opx eq 'or' ? ($ra || $rb) : ($ra && $rb);
        } else {
            bail_out("$name - Invalid --- skip_nginx2 spec: $spec2");
        }

    } elsif (defined(my $slave = $block->skip_slave) && defined $BuildSlaveName) {
        if ($slave =~ m{^\s*(\d+)\s*:\s*(\w+)\s*(?:(\w+)\s*)?(?:(\w+)\s*)?
                        (?:\s*:\s*(.*))?\s*$}x)
        {
            $tests_to_skip = $1;
            $skip_reason = $5;
            for my $s (grep { defined } $2, $3, $4) {
                $should_skip = 1 if $s eq 'all' || $s eq $BuildSlaveName;
            }
        } else {
            bail_out("$name - Invalid --- skip_slave spec: $slave");
        }
    }

    if (defined(my $spec = $block->skip_openssl)) {
        if ($spec =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)([a-z])?
                       (?:\s*:\s*(.*))?\s*$}x)
        {
            $tests_to_skip = $1;
            my ($op, @v) = ($2, $3, $4, $5, $6);
            $skip_reason = $7;
            if (!$skip_reason) {
                $skip_reason = !defined $OpenSSLVersion
                    ? "Not built with OpenSSL"
                    : "OpenSSL version $op $v[0].$v[1].$v[2]"
                      . (defined $v[3] ? $v[3] : '');
            }
            my $ver = get_canon_version_for_OpenSSL(@v);
            $should_skip = 1 if !defined $OpenSSLVersion
                                || eval "$OpenSSLVersion $op $ver";
        } else {
            bail_out("$name - Invalid --- skip_openssl spec: $spec");
        }
    }

    $skip_reason = "various reasons" unless defined $skip_reason;

    my ($should_todo, $todo_reason);
    if (defined(my $spec = $block->todo_nginx)) {
        if ($spec =~ m{^\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$}x) {
            my ($op, $ver) = ($1, get_canon_version($2, $3, $4));
            $todo_reason = $5;
            $should_todo = 1 if eval "$NginxVersion $op $ver";
        } else {
            bail_out("$name - Invalid --- todo_nginx spec: $spec");
        }
    }
    if (defined(my $spec = $block->todo)) {
        if ($spec =~ m{^\s*(\d+)\s*:\s*(.*)}s) {
            $should_todo = 1;
            $tests_to_skip = $1;
            $todo_reason = $2;
        } else {
            bail_out("$name - Invalid --- todo spec: $spec");
        }
    }
    $todo_reason = "various reasons" unless defined $todo_reason;

    #--- nginx
    if (!$NoNginxManager && !$should_skip) {
        if (defined $must_die) {
            run_must_die($block, $config, $rand_ports, $must_die);
            return;
        }
        if (defined $config) {
            $PrevConfig = $config;
            $dry_run = ensure_nginx($block, $config, $rand_ports);
        } else {
            # no --- config: keep the running nginx as it is
            $ErrLogFilePos = _file_size($ErrLogFile);
        }
    } else {
        $ErrLogFilePos = _file_size($ErrLogFile);
    }
    $BlockErrLogStart = $ErrLogFilePos;
    $AccLogFilePos = _file_size($AccLogFile);

    write_user_files($block, $rand_ports) unless $NoNginxManager;

    #--- requests
    if ($block->init) {
        eval $block->init;
        bail_out("$name - init failed: $@") if $@;
    }

    my $i = 0;
    while ($i++ < $RepeatEach) {
        my ($tcp_socket, $tcp_query_file);
        if (defined $block->tcp_listen) {
            ($tcp_socket, $tcp_query_file) = start_tcp_server($block);
        }

        write_user_files($block, $rand_ports) if $i > 1;

        if ($should_skip && defined $tests_to_skip) {
            SKIP: {
                Test::More::skip("$name - $skip_reason", $tests_to_skip);
            }

        } elsif ($should_todo) {
            TODO: {
                Test::More::todo_skip("$name - $todo_reason", $tests_to_skip);
            }

        } else {
            $RunTestHelper->($block, $dry_run, $i - 1);
            run_tcp_server_tests($block, $tcp_socket, $tcp_query_file);
        }

        stop_tcp_server($tcp_socket, $tcp_query_file) if $tcp_socket;
    }

    if (!$NoNginxManager && $ChildPid) {
        nginx_alive();
        check_valgrind_log($name);
    }
}

# "--- must_die": nginx must fail to start with this configuration.
sub run_must_die ($$$$) {
    my ($block, $config, $rand_ports, $must_die) = @_;
    my $name = $block->name;

    stop_nginx($PrevBlock ? $PrevBlock->name : $name) if $ChildPid;
    check_prev_block_shutdown_error_log(0);

    $PrevConfig = $config if defined $config;
    write_config_file($block, $PrevConfig, $rand_ports);
    write_user_files($block, $rand_ports);

    for my $i (0 .. $RepeatEach - 1) {
        $ErrLogFilePos = $BlockErrLogStart = _file_size($ErrLogFile);

        my ($started, $status) = _spawn_nginx($name);
        $status = 0 if $started;   # it did not die

        if (!defined $status) {
            Test::More::fail("$name - failed to execute the nginx command line");
        } elsif ($status & 127) {
            Test::More::fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            Test::More::is($must_die, $status >> 8,
                           "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        $CheckErrorLog->($block, undef, 0, $i, 0);

        if ($started) {
            warn "WARNING: $name - nginx must die but it does not; killing "
                 . "it (req $i)\n";
            stop_nginx($name);
        }
    }
    undef $RunningConfig;
}

#-----------------------------------------------------------------------------
# Stop nginx on interrupt and at exit

for my $sig (qw(INT TERM HUP PIPE)) {
    $SIG{$sig} = sub {
        return if $InSubprocess;
        cleanup();
        stop_nginx('interrupted');
        POSIX::_exit(130);
    };
}

END {
    if (!$InSubprocess) {
        local $?;   # do not clobber the test script's exit status
        cleanup();
        if ($UseValgrind || !$ENV{TEST_NGINX_NO_CLEAN}) {
            stop_nginx($PrevBlock ? $PrevBlock->name : 'END');
            check_prev_block_shutdown_error_log(0);
        }
        if ($Randomize && !$ChildPid && defined $ServRoot
            && $ServRoot =~ m{/t/servroot_\d+$} && -d $ServRoot)
        {
            remove_tree($ServRoot);
        }
    }
}

1;
