# The status page (shared_session_status): counters in a shared memory zone
# summed over two workers, the JSON and Prometheus text (0.0.4) outputs,
# the log variables $shared_session_status, $shared_session_redis_time and
# $shared_session_redis_node, and the readiness check ?check=ready.
#
#  1    a known sequence (new, reused, expired, unknown, invalid cookie,
#       invalidate, missing, then 503s during an outage): every counter
#       exact, the histogram's count equal to the round trips, JSON and
#       Prometheus agree, the access log's variables
#  2    a Redis that answers after 300 ms: that reply, and only it, in the
#       (0.25 s, 0.5 s] bucket; $shared_session_redis_time says so
#  3    faults counted on their node: AUTH refused, TLS to a plain server,
#       garbage, a command that times out, a TLS handshake that never
#       ends, NOSCRIPT
#  4    readiness: 200 with Redis up, 503 in an outage, 200 again after
#       Redis returns without a single session request; no Redis command
#       for a check while ready
#  5    nginx -s reload keeps the counters and the zone's start time
#  6    Redis Cluster: a full slot map and its primaries, ASK and MOVED
#       counted as the log shows them, a killed primary not up and the
#       check 503, reconnects counted after it returns
#  7    a zone too small for the configuration: one error line per worker,
#       nginx serves on
#  8    the page's own answers: 405, 400, HEAD, Accept: text/plain
#
# Blocks do not rely on counters left by others: each reports differences
# between two readings of the page.  Every Prometheus text goes through a
# strict parser (t/inc/PromText.pm), which is itself checked first against
# texts it must refuse.

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use ClusterTest;
use PromText;
use JSON::PP ();
use File::Temp ();
use Test::Nginx::Socket 'no_plan';
no warnings 'once';

no_shuffle();
no_long_string();
log_level('info');
master_on();
workers(2);
timeout(20);


############################################################################
# The parser refuses what it must (else its "ok" below would mean nothing)

{
    my $good = <<'EOT';
# HELP a_total A counter.
# TYPE a_total counter
a_total{x="1"} 3
# TYPE h_seconds histogram
h_seconds_bucket{le="0.1"} 1
h_seconds_bucket{le="+Inf"} 2
h_seconds_sum 0.3
h_seconds_count 2
EOT
    Test::More::ok(eval { PromText::parse($good); 1 },
                   'PromText: a valid text parses') or Test::More::diag($@);

    my %bad = (
        'bad name'        => "# TYPE 1a gauge\n1a 1\n",
        'no TYPE'         => "b 1\n",
        'TYPE late'       => "# TYPE b gauge\nb 1\n# TYPE b gauge\n",
        'split family'    => "# TYPE b gauge\n# TYPE c gauge\nb{x=\"1\"} 1\nc 1\nb{x=\"2\"} 1\n",
        'duplicate'       => "# TYPE b gauge\nb{x=\"1\"} 1\nb{x=\"1\"} 2\n",
        'bad escape'      => "# TYPE b gauge\nb{x=\"\\t\"} 1\n",
        'label syntax'    => "# TYPE b gauge\nb{x=1} 1\n",
        'counter name'    => "# TYPE b counter\nb 1\n",
        'not cumulative'  => "# TYPE h_seconds histogram\nh_seconds_bucket{le=\"0.1\"} 2\nh_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_sum 0\nh_seconds_count 1\n",
        '+Inf != count'   => "# TYPE h_seconds histogram\nh_seconds_bucket{le=\"+Inf\"} 2\nh_seconds_sum 0\nh_seconds_count 3\n",
        'no +Inf'         => "# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 2\nh_seconds_sum 0\nh_seconds_count 2\n",
        'le order'        => "# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"0.5\"} 1\nh_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_sum 0\nh_seconds_count 1\n",
        'reserved label'  => "# TYPE b gauge\nb{__x=\"1\"} 1\n",
        'no final LF'     => "# TYPE b gauge\nb 1",
    );
    for my $why (sort keys %bad) {
        Test::More::ok(!eval { PromText::parse($bad{$why}); 1 },
                       "PromText refuses: $why");
    }
}


############################################################################
# nginx -t on the page's directives

{
    my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $dir = File::Temp::tempdir('ss-status-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    mkdir "$dir/logs";
    my $load = join '', map { "load_module $_;\n" }
                        grep { length } split /\s+/,
                        $ENV{TEST_NGINX_LOAD_MODULES} // '';
    my $t = sub {
        my ($http, $location) = @_;
        open my $fh, '>', "$dir/nginx.conf" or die "$dir: $!\n";
        print $fh "${load}error_log $dir/logs/error.log;\n"
            . "pid $dir/logs/nginx.pid;\nevents {}\n"
            . "http {\n$http\nserver {\nlisten 127.0.0.1:1;\n"
            . "location = /status {\n$location\n}\n}\n}\n";
        close $fh;
        my $out = `timeout 30 $nginx -t -q -e stderr -p $dir/ -c $dir/nginx.conf 2>&1`;
        return ($? >> 8, join '', grep { /\[emerg\]/ } split /^/, $out);
    };
    my @cases = (
        [ 'shared_session_zone 1m;', 'shared_session_status;', 0, '' ],
        [ 'shared_session_zone 16k;', 'shared_session_status;', 1,
          qr/\[emerg\] \d+#\d+: zone size "16k" is too small: at least \d+ in / ],
        [ 'shared_session_zone ten;', 'shared_session_status;', 1,
          qr/\[emerg\] \d+#\d+: invalid zone size "ten" in / ],
        [ "shared_session_zone 1m;\nshared_session_zone 2m;",
          'shared_session_status;', 1,
          qr/\[emerg\] \d+#\d+: "shared_session_zone" directive is duplicate in / ],
        [ '', "shared_session_status;\nshared_session_status;", 1,
          qr/\[emerg\] \d+#\d+: "shared_session_status" directive is duplicate in / ],
        [ '', 'shared_session_zone 1m;', 1,
          qr/\[emerg\] \d+#\d+: "shared_session_zone" directive is not allowed here/ ],
        [ '', 'shared_session_status on;', 1,
          qr/\[emerg\] \d+#\d+: invalid number of arguments in "shared_session_status"/ ],
    );
    for my $c (@cases) {
        my ($http, $loc, $rc, $emerg) = @$c;
        my ($got, $text) = $t->($http, $loc);
        my $what = ($http =~ s/\n/ /gr) . ' / ' . ($loc =~ s/\n/ /gr);
        Test::More::is($got, $rc, "nginx -t: $what: exit $rc")
            or Test::More::diag($text);
        if (ref $emerg) {
            Test::More::like($text, $emerg, "nginx -t: $what: the message");
        }
    }
}


############################################################################
# Servers

$ENV{TEST_NGINX_PRIVATE_REDIS_PORT} = SharedSessionTest::start_redis();
$ENV{TEST_NGINX_AUTH_REDIS_PORT} = SharedSessionTest::start_redis(
    conf => [ 'requirepass s3cret' ], auth => [ 's3cret' ]);

{
    my %seen = map { $_ => 1 } @ENV{qw(TEST_NGINX_PRIVATE_REDIS_PORT
                                       TEST_NGINX_AUTH_REDIS_PORT)};
    for my $name (qw(SLOW GARBAGE HANG TLSHANG NOTTLS NOSCRIPT)) {
        my $p;
        do { $p = FaultTest::free_port() } while $seen{$p}++;
        $ENV{"TEST_NGINX_FAKE_$name"} = $p;
    }
}

$main::cluster = ClusterTest->start(nodes => 3, replicas => 0,
                                    node_timeout => 1000);
ClusterTest::use_cluster($main::cluster);
($ENV{TEST_NGINX_SEED1}, $ENV{TEST_NGINX_SEED2}) = ($main::cluster->ports)[0, 1];


############################################################################
# Helpers

our $P = $ENV{TEST_NGINX_PRIVATE_REDIS_PORT};
our $NODE = "127.0.0.1:$P";
our $JSON = JSON::PP->new->canonical;

sub main::get {
    my ($path, @hdr) = @_;
    return FaultTest::http(GET => $path, @hdr);
}

sub main::cookie {
    my ($id) = @_;
    return (Cookie => 'SESSION=' . SharedSessionTest::b64($id));
}

# the page as Prometheus text, parsed strictly (dies on any fault)
sub main::prom {
    my $r = main::get('/status?format=prometheus');
    die "status: $r->{status}\n" unless $r->{status} eq '200';
    return PromText::parse($r->{body});
}

sub main::json {
    my $r = main::get('/status');
    die "status: $r->{status}\n" unless $r->{status} eq '200';
    return $JSON->decode($r->{body});
}

# every sample, by its series
sub main::series {
    my ($m) = @_;
    my %s;
    for my $x (@{ $m->{samples} }) {
        my $l = $x->{labels};
        $s{ $x->{name} . '{' . join(',', map { "$_=$l->{$_}" } sort keys %$l)
            . '}' } = $x->{value};
    }
    return \%s;
}

sub main::node_value {
    my ($m, $name, $node) = @_;
    return PromText::sum($m, "nginx_shared_session_node_$name",
                         node => $node);
}

sub main::requests {
    my ($m, $redis, $endpoint, $outcome) = @_;
    return PromText::sum($m, 'nginx_shared_session_requests_total',
                         redis => $redis, endpoint => $endpoint,
                         outcome => $outcome);
}

sub main::lines { return join '', map { "$_\n" } @_ }

sub main::log_file { return "$Test::Nginx::Util::ServRoot/logs/$_[0]" }

sub main::log_size { return -s main::log_file($_[0]) // 0 }

sub main::log_since {
    my ($name, $pos) = @_;
    my ($data) = FaultTest::read_from(main::log_file($name), $pos);
    return $data;
}

# the access log's variables in the order of the requests' ?n= (two
# workers write their lines as they finish), with the times and this
# test's node names replaced by placeholders
sub main::normalized_log {
    my ($text) = @_;
    my @out;
    for my $line (split /\n/, $text) {
        my ($n, $uri, $code, $status, $time, $node) = split ' ', $line;
        $time = '<ms.us>' if $time =~ /\A\d+\.\d{3}\z/;
        $node = '<node>' if $node eq $NODE;
        push @out, [ $n, "$uri $code $status $time $node" ];
    }
    return main::lines(map { $_->[1] } sort { $a->[0] <=> $b->[0] } @out);
}

# GET $path?n=<the next number> (see normalized_log)
my $Seq = 0;

sub main::req {
    my ($path, @hdr) = @_;
    $Seq++;
    return main::get("$path?n=$Seq", @hdr)->{status};
}

# Test::Nginx's response_body_filters: report text compared exactly
sub main::report_sequence {
    my ($body) = @_;
    my $after = PromText::parse($body);
    my $before = $main::before;
    my $mid = $main::mid;
    my @out;
    for my $e ([shared_session => qw(reused new expired invalid unavailable)],
               [invalidate => qw(invalidated missing expired invalid unavailable)])
    {
        my ($ep, @o) = @$e;
        for my $o (@o) {
            push @out, sprintf('%s %s +%d', $ep, $o,
                               main::requests($after, $NODE, $ep, $o)
                               - main::requests($before, $NODE, $ep, $o));
        }
    }

    # before the outage: every reply is a round trip the histogram counts
    my %d;
    for my $n (qw(commands_total replies_total connects_total
                  round_trip_seconds_count))
    {
        $d{$n} = main::node_value($mid, $n, $NODE)
                 - main::node_value($before, $n, $NODE);
    }
    push @out, "histogram count = replies: "
               . ($d{round_trip_seconds_count} == $d{replies_total}
                  ? 'yes' : "no ($d{round_trip_seconds_count} != $d{replies_total})");
    push @out, "replies = commands: "
               . ($d{replies_total} == $d{commands_total}
                  ? 'yes' : "no ($d{replies_total} != $d{commands_total})");
    # each new session (new, or in place of an expired or invalid one):
    # Spring's created event, a PUBLISH after the script
    my $created = 0;
    for my $o (qw(new expired invalid)) {
        $created += main::requests($mid, $NODE, 'shared_session', $o)
                    - main::requests($before, $NODE, 'shared_session', $o);
    }
    my $trips = $main::redis_requests + 2 * $d{connects_total} + $created;
    push @out, "replies = $main::redis_requests requests + 2 SCRIPT LOAD "
               . "per connect + a PUBLISH per new session: "
               . ($d{replies_total} == $trips
                  ? 'yes' : "no ($d{replies_total} != $trips)");
    push @out, "queued commands now: "
               . main::node_value($after, 'queued_commands', $NODE);

    my $state = (map { $_->{labels}{state} } grep { $_->{value} == 1 }
                 PromText::find($main::after_prom,
                                'nginx_shared_session_node_state',
                                node => $NODE))[0] // 'none';
    push @out, "node state during the outage: $state";

    # the JSON says the same as the Prometheus text
    my $json = $main::after_json;
    my ($redis) = grep { $_->{name} eq $NODE } @{ $json->{redis} };
    my ($node) = @{ $redis->{nodes} };
    my $diff = 0;
    my $json_prom = main::prom_of_json($json);
    my $series = main::series($main::after_prom);
    for my $k (sort keys %$json_prom) {
        if (!exists $series->{$k} || $series->{$k} != $json_prom->{$k}) {
            $diff++;
            Test::More::diag("JSON/Prometheus: $k: $json_prom->{$k} vs "
                             . ($series->{$k} // 'none'));
        }
    }
    push @out, 'JSON and Prometheus agree: ' . ($diff ? "no, $diff differ"
                                                      : 'yes');
    return "statuses: $main::statuses\n" . main::lines(@out) . "access log:\n"
           . main::normalized_log(main::log_since('ss.log', $main::log_pos));
}

# The JSON's numbers under their Prometheus series names
sub main::prom_of_json {
    my ($json) = @_;
    my %s;
    for my $r (@{ $json->{redis} }) {
        my $rn = $r->{name};
        for my $ep (keys %{ $r->{requests} }) {
            for my $o (keys %{ $r->{requests}{$ep} }) {
                $s{"nginx_shared_session_requests_total{endpoint=$ep,"
                   . "outcome=$o,redis=$rn}"} = $r->{requests}{$ep}{$o};
            }
        }
        for my $n (@{ $r->{nodes} }) {
            my $l = "node=$n->{address},redis=$rn";
            my %names = (connects => 'connects_total',
                         reconnects => 'reconnects_total',
                         connect_timeouts => 'connect_timeouts_total',
                         read_timeouts => 'read_timeouts_total',
                         protocol_errors => 'protocol_errors_total',
                         auth_failures => 'auth_failures_total',
                         tls_failures => 'tls_failures_total',
                         moved => 'moved_total', ask => 'ask_total',
                         slot_map_refreshes => 'slot_map_refreshes_total',
                         noscript => 'noscript_total',
                         commands => 'commands_total',
                         replies => 'replies_total',
                         bytes_received => 'received_bytes_total',
                         bytes_sent => 'sent_bytes_total',
                         queued => 'queued_commands');
            for my $k (keys %names) {
                $s{"nginx_shared_session_node_$names{$k}\{$l}"} = $n->{$k};
            }
            $s{"nginx_shared_session_node_state{$l,state=$n->{state}}"} = 1;
            $s{"nginx_shared_session_node_round_trip_seconds_count{$l}"} =
                $n->{round_trips}{count};
            my %le = ('0.5' => '0.0005', 1 => '0.001', 2 => '0.002',
                      5 => '0.005', 10 => '0.01', 25 => '0.025',
                      50 => '0.05', 100 => '0.1', 250 => '0.25',
                      500 => '0.5', 1000 => '1', '+Inf' => '+Inf');
            for my $b (keys %{ $n->{round_trips}{le_ms} }) {
                $s{"nginx_shared_session_node_round_trip_seconds_bucket"
                   . "{le=$le{$b},$l}"} = $n->{round_trips}{le_ms}{$b};
            }
        }
    }
    return \%s;
}

# TEST 2
sub main::report_slow {
    my ($body) = @_;
    my $m = PromText::parse($body);
    my $node = "127.0.0.1:$ENV{TEST_NGINX_FAKE_SLOW}";
    my $b = sub {
        PromText::value($m, 'nginx_shared_session_node_round_trip_seconds_bucket',
                        node => $node, le => $_[0]);
    };
    my $count = PromText::value($m,
        'nginx_shared_session_node_round_trip_seconds_count', node => $node);
    my $sum = PromText::value($m,
        'nginx_shared_session_node_round_trip_seconds_sum', node => $node);
    my ($line) = split /\n/, main::log_since('ss.log', $main::log_pos);
    my (undef, undef, undef, undef, $time) = split ' ', $line // '';
    return main::lines(
        "status: $main::statuses",
        "replies: $count",
        'up to 0.25 s: ' . $b->('0.25')
            . ' (the SCRIPT LOADs, the created event)',
        'up to 0.5 s: ' . $b->('0.5'),
        '+Inf: ' . $b->('+Inf'),
        'sum at least 0.3 s: ' . ($sum >= 0.3 ? 'yes' : "no ($sum)"),
        '$shared_session_redis_time 300 to 500 ms: '
            . ($time =~ /\A\d+\.\d{3}\z/ && $time >= 300 && $time < 500
               ? 'yes' : "no ($time)"));
}

# TEST 3
sub main::report_faults {
    my ($body) = @_;
    my $m = PromText::parse($body);
    my @out;
    for my $c ([AUTH_REDIS_PORT => 'auth_failures_total'],
               [FAKE_NOTTLS => 'tls_failures_total'],
               [FAKE_GARBAGE => 'protocol_errors_total'],
               [FAKE_HANG => 'read_timeouts_total'],
               [FAKE_TLSHANG => 'connect_timeouts_total'],
               [FAKE_NOSCRIPT => 'noscript_total'])
    {
        my ($port, $name) = @$c;
        my $node = '127.0.0.1:' . $ENV{"TEST_NGINX_$port"};
        my @l = (node => $node, redis => $node);
        my $v = PromText::sum($m, "nginx_shared_session_node_$name", @l)
                - PromText::sum($main::before, "nginx_shared_session_node_$name", @l);
        push @out, "$name +$v";
    }
    return main::lines("statuses: $main::statuses", @out);
}

# TEST 5
sub main::report_reload {
    my ($body) = @_;
    my $after = PromText::parse($body);
    my ($a, $b) = (main::series($main::before), main::series($main::reloaded));
    my @changed = grep {
        /requests_total|connects_total|commands_total|replies_total|round_trip_seconds_count/
        && ($a->{$_} // -1) != ($b->{$_} // -1)
    } sort keys %$a;
    my $start = 'nginx_shared_session_start_time_seconds';
    return main::lines(
        'workers replaced: ' . ($main::workers_replaced ? 'yes' : 'no'),
        'counters after the reload: '
            . (@changed ? "changed: @changed" : 'unchanged'),
        'start time: ' . (PromText::value($main::before, $start)
                          == PromText::value($after, $start)
                          ? 'unchanged' : 'changed'),
        'one more request counted: +'
            . (main::requests($after, $NODE, 'shared_session', 'new')
               - main::requests($main::reloaded, $NODE, 'shared_session',
                                'new')));
}

# TEST 6: a cluster's state as the page shows it
sub main::cluster_view {
    my ($m) = @_;
    my $seed = "127.0.0.1:$ENV{TEST_NGINX_SEED1}";
    my @primaries = map { $_->{labels}{node} }
        grep { $_->{value} == 1 }
        PromText::find($m, 'nginx_shared_session_node_primary', redis => $seed);
    return {
        slots => PromText::value($m, 'nginx_shared_session_cluster_slots',
                                 redis => $seed),
        ready => PromText::value($m, 'nginx_shared_session_redis_ready',
                                 redis => $seed),
        primaries => [ sort @primaries ],
    };
}

sub main::wait_cluster_ready {
    my ($max) = @_;
    my $deadline = Time::HiRes::time() + $max;
    while (Time::HiRes::time() < $deadline) {
        return 1 if main::get('/status?check=ready')->{status} eq '200';
        Time::HiRes::sleep(0.1);
    }
    return 0;
}

sub main::count_log {
    my ($re, $text) = @_;
    my $n = () = $text =~ /$re/g;
    return $n;
}

# TEST 7: sixty locations, each with its own Redis, in a zone of 32k
$main::zone_config = CORE::join('', map {
    "    location = /n$_ { shared_session; "
    . "shared_session_redis 127.0.0.2:" . (20000 + $_) . "; }\n"
} 1 .. 60);

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'EOF') unless defined $block->http_config;
    log_format ss '$arg_n $uri $status $shared_session_status '
                  '$shared_session_redis_time $shared_session_redis_node';
EOF
});

run_tests();

__DATA__

=== TEST 1: a known sequence over two workers: each outcome counted once per request, the histogram counts the round trips, JSON and Prometheus agree, the log variables
--- config
    shared_session_host hostA;
    shared_session_redis 127.0.0.1:$TEST_NGINX_PRIVATE_REDIS_PORT;
    shared_session_redis_timeout 500ms;
    location = /s {
        shared_session;
        access_log logs/ss.log ss;
    }
    location = /logout {
        shared_session_invalidate;
        access_log logs/ss.log ss;
    }
    location = /status {
        shared_session_status;
    }
--- init
my $port = $ENV{TEST_NGINX_PRIVATE_REDIS_PORT};
SharedSessionTest::flush(port => $port);
my $live = SharedSessionTest::seed_session(
    port => $port, id => '11111111-1111-4111-8111-111111111111');
my $live2 = SharedSessionTest::seed_session(
    port => $port, id => '22222222-2222-4222-8222-222222222222');
my $expired = SharedSessionTest::seed_session(
    port => $port, id => '33333333-3333-4333-8333-333333333333',
    lastAccessedTime => SharedSessionTest::now_ms() - 1_900_000);
my $unknown = '44444444-4444-4444-8444-444444444444';
$main::before = main::prom();
$main::log_pos = main::log_size('ss.log');
my @got;
push @got, main::req('/s') for 1 .. 3;
push @got, main::req('/s', main::cookie($live)) for 1 .. 2;
push @got, main::req('/s', main::cookie($expired));
push @got, main::req('/s', main::cookie($unknown));
push @got, main::req('/s', Cookie => 'SESSION=!!!');
push @got, main::req('/logout', main::cookie($live));
push @got, main::req('/logout');
push @got, main::req('/logout', main::cookie($live));
$main::redis_requests = 10;
$main::mid = main::prom();
SharedSessionTest::stop_redis($port);
push @got, main::req('/s');
push @got, main::req('/s', main::cookie($live2));
push @got, main::req('/logout', main::cookie($live2));
$main::after_json = main::json();
$main::after_prom = main::prom();
SharedSessionTest::restart_redis($port);
$main::statuses = "@got";
--- request
GET /status?format=prometheus
--- response_body_filters eval
sub { main::report_sequence($_[0]) }
--- response_body
statuses: 200 200 200 200 200 200 200 200 302 302 302 503 503 503
shared_session reused +2
shared_session new +3
shared_session expired +2
shared_session invalid +1
shared_session unavailable +2
invalidate invalidated +1
invalidate missing +1
invalidate expired +1
invalidate invalid +0
invalidate unavailable +1
histogram count = replies: yes
replies = commands: yes
replies = 10 requests + 2 SCRIPT LOAD per connect + a PUBLISH per new session: yes
queued commands now: 0
node state during the outage: backing_off
JSON and Prometheus agree: yes
access log:
/s 200 new <ms.us> <node>
/s 200 new <ms.us> <node>
/s 200 new <ms.us> <node>
/s 200 valid <ms.us> <node>
/s 200 valid <ms.us> <node>
/s 200 expired <ms.us> <node>
/s 200 expired <ms.us> <node>
/s 200 invalid <ms.us> <node>
/logout 302 valid <ms.us> <node>
/logout 302 missing - -
/logout 302 expired <ms.us> <node>
/s 503 error <ms.us> -
/s 503 error <ms.us> -
/logout 503 error <ms.us> -
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 2: a reply 300 ms late lands in the (0.25 s, 0.5 s] bucket, the fast ones below it
--- config
    shared_session_host hostA;
    location = /slow {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_SLOW;
        shared_session_redis_timeout 2s;
        access_log logs/ss.log ss;
    }
    location = /status {
        shared_session_status;
    }
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_SLOW},
    on_command => sub {
        my ($argv) = @_;
        my $r = FaultTest::standard_reply($argv);
        return uc $argv->[0] eq 'EVALSHA' ? ({ sleep => 0.3 }, $r) : $r;
    });
$main::log_pos = main::log_size('ss.log');
$main::statuses = main::get('/slow')->{status};
--- request
GET /status?format=prometheus
--- response_body_filters eval
sub { main::report_slow($_[0]) }
--- response_body
status: 200
replies: 4
up to 0.25 s: 3 (the SCRIPT LOADs, the created event)
up to 0.5 s: 4
+Inf: 4
sum at least 0.3 s: yes
$shared_session_redis_time 300 to 500 ms: yes
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: faults counted on the node they happened with
--- config
    shared_session_host hostA;
    location = /auth {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_AUTH_REDIS_PORT;
        shared_session_redis_password wrong;
    }
    location = /tls {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_NOTTLS;
        shared_session_redis_tls on;
        shared_session_redis_tls_verify off;
    }
    location = /garbage {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_GARBAGE;
    }
    location = /hang {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_HANG;
        shared_session_redis_timeout 300ms;
    }
    location = /tlshang {
        # settings of its own: its connect timeout is not /tls's 1 s
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_TLSHANG;
        shared_session_redis_tls on;
        shared_session_redis_tls_verify off;
        shared_session_redis_tls_server_name hang.test;
        shared_session_redis_timeout 300ms;
    }
    location = /noscript {
        shared_session;
        shared_session_redis 127.0.0.1:$TEST_NGINX_FAKE_NOSCRIPT;
    }
    location = /status {
        shared_session_status;
    }
--- init
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_GARBAGE},
    on_command => sub { "garbage\r\n" });
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_HANG},
    on_command => sub {
        my ($argv) = @_;
        return uc $argv->[0] eq 'EVALSHA' ? { hang => 1 }
                                          : FaultTest::standard_reply($argv);
    });
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_NOTTLS},
    on_connect => sub { return "-ERR this is not TLS\r\n" });
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_TLSHANG},
    on_connect => sub { return { hang => 1 } });
FaultTest::FakeRedis->start(
    port => $ENV{TEST_NGINX_FAKE_NOSCRIPT},
    on_command => sub {
        my ($argv) = @_;
        return uc $argv->[0] eq 'EVALSHA'
               ? FaultTest::err('NOSCRIPT No matching script.')
               : FaultTest::standard_reply($argv);
    });
$main::before = main::prom();
$main::statuses = join ' ', map { main::get($_)->{status} }
                              qw(/auth /tls /garbage /hang /tlshang /noscript);
--- request
GET /status?format=prometheus
--- response_body_filters eval
sub { main::report_faults($_[0]) }
--- response_body
statuses: 503 503 503 503 503 200
auth_failures_total +1
tls_failures_total +1
protocol_errors_total +1
read_timeouts_total +1
connect_timeouts_total +1
noscript_total +1
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 4: readiness follows Redis: 200, 503 in an outage, 200 again by itself; no Redis command for a check while ready
--- config
    shared_session_host hostA;
    shared_session_redis 127.0.0.1:$TEST_NGINX_PRIVATE_REDIS_PORT;
    shared_session_redis_timeout 500ms;
    location = /s {
        shared_session;
    }
    location = /status {
        shared_session_status;
    }
--- init
my $port = $ENV{TEST_NGINX_PRIVATE_REDIS_PORT};
my @out;
my $r = main::get('/s');
push @out, "session: $r->{status}";
$r = main::get('/status?check=ready');
push @out, "ready: $r->{status} $r->{body}";
my $c = SharedSessionTest::connect_redis(port => $port);
my ($n1) = $c->cmd('INFO', 'stats') =~ /total_commands_processed:(\d+)/;
main::get('/status?check=ready') for 1 .. 10;
my ($n2) = $c->cmd('INFO', 'stats') =~ /total_commands_processed:(\d+)/;
push @out, 'commands for 10 checks: ' . ($n2 - $n1 - 1);
SharedSessionTest::stop_redis($port);
$r = main::get('/s');
push @out, "session in the outage: $r->{status}";
$r = main::get('/status?check=ready');
push @out, "ready in the outage: $r->{status} $r->{body}";
SharedSessionTest::restart_redis($port);
my $t = FaultTest::poll_until('/status?check=ready', 200, 5, 0.1);
push @out, 'ready again without a session request: '
           . (defined $t ? 'yes' : 'no');
$main::report = main::lines(@out);
s/127\.0\.0\.1:$port/<node>/g for $main::report;
--- request
GET /status?check=ready
--- response_body_filters eval
sub { $main::report . $_[0] }
--- response_body
session: 200
ready: 200 {"ready":true}

commands for 10 checks: 0
session in the outage: 503
ready in the outage: 503 {"ready":false,"not_ready":["<node>"]}

ready again without a session request: yes
{"ready":true}
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 5: nginx -s reload keeps the counters and the start time
--- config
    shared_session_host hostA;
    shared_session_redis 127.0.0.1:$TEST_NGINX_PRIVATE_REDIS_PORT;
    location = /s {
        shared_session;
    }
    location = /status {
        shared_session_status;
    }
--- init
main::get('/s') for 1 .. 3;
$main::before = main::prom();
my $pidfile = $Test::Nginx::Util::PidFile;
open my $fh, '<', $pidfile or die "$pidfile: $!\n";
chomp(my $master = <$fh>);
my %old = map { $_ => 1 } SharedSessionTest::_workers_of($master);
SharedSessionTest::hup_nginx();
my @new = SharedSessionTest::_workers_of($master);
# without process titles (valgrind) the workers cannot be told apart
$main::workers_replaced = !%old || (@new && !grep { $old{$_} } @new);
$main::reloaded = main::prom();
main::get('/s');
--- request
GET /status?format=prometheus
--- response_body_filters eval
sub { main::report_reload($_[0]) }
--- response_body
workers replaced: yes
counters after the reload: unchanged
start time: unchanged
one more request counted: +1
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 6: Redis Cluster: slot map and primaries, ASK and MOVED counted, a killed primary not up and the check 503, reconnects after it returns
--- config
    shared_session_host hostA;
    shared_session_redis_cluster on;
    shared_session_redis 127.0.0.1:$TEST_NGINX_SEED1;
    shared_session_redis 127.0.0.1:$TEST_NGINX_SEED2;
    shared_session_redis_timeout 1s;
    location = /c {
        shared_session;
        access_log logs/ss.log ss;
    }
    location = /status {
        shared_session_status;
    }
--- init
my $c = $main::cluster;
my @out;
ClusterTest::flush();
my $id = 'e1237df7-5646-4382-aa12-41435ed09dc7';
ClusterTest::seed_session(id => $id);
my $hash = "spring:session:sessions:$id";
my $slot = ClusterTest::key_slot($hash);
my $from = $c->node_for_slot($slot);
my ($to) = grep { $_ != $from } $c->primaries;
push @out, 'ready at start: ' . (main::wait_cluster_ready(10) ? 'yes' : 'no');
my $v = main::cluster_view(main::prom());
push @out, "slots: $v->{slots}, primaries: " . scalar @{ $v->{primaries} }
           . ', all of them the cluster\'s: '
           . (join(',', @{ $v->{primaries} }) eq
              join(',', sort map { "127.0.0.1:$_" } $c->primaries)
              ? 'yes' : "no (@{ $v->{primaries} })");

# ASK while the slot migrates, MOVED once it moved
my $m0 = main::prom();
my $log0 = -s $Test::Nginx::Util::ErrLogFile;
my $lpos = main::log_size('ss.log');
$c->migrate_begin($slot, $from, $to);
$c->migrate_keys($slot, $from, $to, $hash);
push @out, 'during the migration: ' . main::get('/c', main::cookie($id))->{status};
$c->migrate_keys($slot, $from, $to);
$c->migrate_end($slot, $to);
$c->wait_ok(10);
push @out, 'after it: ' . main::get('/c', main::cookie($id))->{status};
my $m1 = main::prom();
my ($log) = FaultTest::read_from($Test::Nginx::Util::ErrLogFile, $log0);
for my $kind (qw(ask moved)) {
    my $counted = PromText::sum($m1, "nginx_shared_session_node_${kind}_total")
                  - PromText::sum($m0, "nginx_shared_session_node_${kind}_total");
    my $logged = main::count_log(
        qr/shared session: redis cluster \S+: \U$kind\E slot $slot /, $log);
    push @out, "$kind counted as logged: "
               . ($counted == $logged && $counted > 0
                  ? 'yes' : "no ($counted counted, $logged logged)");
}
my @nodes = map { (split ' ')[5] } split /\n/, main::log_since('ss.log', $lpos);
my @foreign = grep {
    !(/\A127\.0\.0\.1:(\d+)\z/ && grep { $_ == $1 } $c->ports)
} @nodes;
push @out, '$shared_session_redis_node a node of the cluster: '
           . (@nodes == 2 && !@foreign ? 'yes' : "no (@nodes)");

# the node that now serves the session is killed, once both workers have
# talked to it (the kill must cut a connection a worker had, for its
# reconnect to count)
main::get('/c', main::cookie($id)) for 1 .. 20;
my $victim = $to;
$c->kill_node($victim);
my $r = main::get('/c', main::cookie($id));
push @out, "session with its primary killed: $r->{status}";
main::get('/c', main::cookie($id)) for 1 .. 3;
my $t = FaultTest::poll_until('/status?check=ready', 503, 5, 0.1);
push @out, 'check 503: ' . (defined $t ? 'yes' : 'no');
my $json = main::json();
my ($redis) = grep { $_->{cluster} } @{ $json->{redis} };
my ($node) = grep { $_->{address} eq "127.0.0.1:$victim" } @{ $redis->{nodes} };
push @out, 'killed node: ' . ($node->{state} =~ /\A(?:backing_off|down)\z/
                              ? 'not up' : "$node->{state}");
push @out, 'cluster ready: ' . ($redis->{ready} ? 'yes' : 'no');
my $before = $node->{reconnects};
$c->restart_node($victim);
$c->wait_ok(20);
my $ok = 0;
for (1 .. 100) {
    $ok++ if main::get('/c', main::cookie($id))->{status} eq '200';
    last if $ok >= 20;
    Time::HiRes::sleep(0.02);
}
push @out, 'served again: ' . ($ok >= 20 ? 'yes' : "no ($ok)");
$json = main::json();
($redis) = grep { $_->{cluster} } @{ $json->{redis} };
($node) = grep { $_->{address} eq "127.0.0.1:$victim" } @{ $redis->{nodes} };
push @out, 'reconnects counted: '
           . ($node->{reconnects} > $before ? 'yes' : "no ($node->{reconnects})");
push @out, 'ready again: ' . (main::wait_cluster_ready(10) ? 'yes' : 'no');
$main::report = main::lines(@out);
--- request
GET /status?format=prometheus
--- response_body_filters eval
sub { PromText::parse($_[0]); $main::report }
--- response_body
ready at start: yes
slots: 16384, primaries: 3, all of them the cluster's: yes
during the migration: 200
after it: 200
ask counted as logged: yes
moved counted as logged: yes
$shared_session_redis_node a node of the cluster: yes
session with its primary killed: 503
check 503: yes
killed node: not up
cluster ready: no
served again: yes
reconnects counted: yes
ready again: yes
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 7: a zone too small for every Redis: one error line per worker, the rest served and shown
--- config eval
"    shared_session_host hostA;
    location = /s {
        shared_session;
        shared_session_redis 127.0.0.1:\$TEST_NGINX_PRIVATE_REDIS_PORT;
    }
    location = /status {
        shared_session_status;
    }
$main::zone_config"
--- http_config
    shared_session_zone 32k;
--- init
$main::statuses = main::get('/s')->{status};
--- request
GET /status
--- response_body_filters eval
sub { "session: $main::statuses\n" . ($_[0] =~ /\A\{\n  "version": "[^"]+",\n/ ? "page: yes\n" : $_[0]) }
--- response_body
session: 200
page: yes
--- error_log eval
qr/\[error\].*shared session: zone "shared_session" is full, "127\.0\.0\.2:\d+" and what follows are not counted; increase "shared_session_zone"/
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 8: the page's own answers: 405, 400 for an unknown format or check, HEAD, Accept: text/plain, ?format=json first
--- config
    location = /status {
        shared_session_status;
    }
--- init
my @out;
my $r = FaultTest::http(POST => '/status');
push @out, "POST: $r->{status} allow=$r->{headers}{allow}[0]";
push @out, 'format=xml: ' . main::get('/status?format=xml')->{status};
push @out, 'check=live: ' . main::get('/status?check=live')->{status};
$r = FaultTest::http(HEAD => '/status');
push @out, "HEAD: $r->{status} body=" . length($r->{body});
$r = main::get('/status', Accept => 'text/plain;version=0.0.4;q=0.5,*/*;q=0.1');
push @out, "Accept text/plain: $r->{headers}{'content-type'}[0]";
$r = main::get('/status?format=json', Accept => 'text/plain');
push @out, "format=json: $r->{headers}{'content-type'}[0]";
push @out, "cache-control: $r->{headers}{'cache-control'}[0]";
$r = main::get('/status?check=ready');
push @out, "ready without Redis: $r->{status} $r->{body}";
$main::report = main::lines(@out);
--- request
GET /status
--- response_body_filters eval
sub { $main::report . ($_[0] =~ /"redis": \[\n  \]/ ? "no Redis listed\n" : $_[0]) }
--- response_body
POST: 405 allow=GET, HEAD
format=xml: 400
check=live: 400
HEAD: 200 body=0
Accept text/plain: text/plain; version=0.0.4; charset=utf-8
format=json: application/json
cache-control: no-store
ready without Redis: 200 {"ready":true}

no Redis listed
--- no_error_log
[error]
[alert]
[crit]
