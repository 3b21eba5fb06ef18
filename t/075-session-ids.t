# New session ids (id.c): version 4 UUIDs in lowercase text, never twice.
#
# The ids come from a per-process buffer of getrandom() bytes, 256 ids a
# read, handed out from its end and wiped once used: these blocks draw more
# than one buffer in each of two workers and across a reload (new workers,
# forked from a master that never drew one), and check that every id is
# well formed and that none repeats.

use lib 't/inc';
use SharedSessionTest;
use FaultTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
no_long_string();
master_on();
workers(2);
timeout(60);
worker_connections(1024);

my $config = <<'EOF';
    location = /s {
        shared_session;
        shared_session_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
        add_header X-Worker $pid;
    }
EOF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $config) unless defined $block->config;
    $block->set_value(request => "GET /s\n") unless defined $block->request;
    $block->set_value(no_error_log => "[error]\n[alert]\n[crit]\n")
        unless defined $block->no_error_log;
});

our (%seen, %workers);

# $n new sessions, 16 requests in flight at a time (the workers share
# them); "<n> new: <bad> malformed, <dup> repeated"
sub main::draw {
    my ($n) = @_;
    my ($bad, $dup) = (0, 0);
    my $v4 = qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (my $done = 0; $done < $n; $done += 16) {
        my @h = map { FaultTest::http_start(GET => '/s') } 1 .. 16;
        for my $res (FaultTest::http_finish_all(\@h, 30)) {
            my ($id) = $res->{body} =~ /"sessionId":"([^"]*)"/;
            $id //= '';
            $bad++ unless $id =~ $v4 && $res->{body} =~ /"new":true/;
            $dup++ if $seen{$id}++;
            $workers{$_}++ for @{ $res->{headers}{'x-worker'} // [] };
        }
    }
    return "$n new: $bad malformed, $dup repeated\n";
}

run_tests();

__DATA__

=== TEST 1: 1024 new sessions in two workers: each is a version 4 UUID, none repeats
--- request
GET /s
--- response_body_filters eval
sub { main::draw(1024) }
--- response_body
1024 new: 0 malformed, 0 repeated



=== TEST 2: other workers (a new nginx, or the same one reloaded) draw ids of their own: none repeats the 1024 before
--- init
# under a driver that keeps nginx between two blocks of one configuration,
# a reload: new workers either way
my $pid = FaultTest::nginx_pid();
kill 'HUP', $pid if $pid && kill 0, $pid;
Time::HiRes::sleep(1);
--- request
GET /s
--- response_body_filters eval
sub { main::draw(512) . (keys %main::workers > 1 ? "workers: several\n" : "workers: one\n") }
--- response_body
512 new: 0 malformed, 0 repeated
workers: several
