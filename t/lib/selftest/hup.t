# Self-test of the t/lib Test::Nginx stand-in: the HUP reload mode
# (use_hup() / TEST_NGINX_USE_HUP=1).  Skipped with the real Test::Nginx.

use Test::Nginx::Socket;

if ($INC{'Test/Nginx/Socket.pm'} !~ m{(?:^|/)t/lib/Test/Nginx/Socket\.pm\z}) {
    plan skip_all => 'self-test of the t/lib Test::Nginx stand-in';
}

use_hup();

plan tests => 3 + 4 + 2 + 4 + 2 + 3;

our (%Master, %Worker);

sub record_pids {
    my $key = shift;
    my $master = Test::Nginx::Util::get_pid_from_pidfile($key);
    $Master{$key} = $master;
    $Worker{$key} = join ' ', sort(Test::Nginx::Util::_worker_pids($master));
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("request", "GET /t\n") unless defined $block->request;
    $block->set_value("init", "main::record_pids('" . $block->seq_num . "');");
});

run_tests();

is($Master{2}, $Master{1}, "hup - same master after reloads");
isnt($Worker{2}, $Worker{1}, "hup - new worker after a config change");
SKIP: {
    skip "TEST_NGINX_FORCE_RESTART_ON_TEST is set", 1
        if $Test::Nginx::Util::ForceRestartOnTest;
    is($Worker{3}, $Worker{2}, "hup - same worker while nginx.conf is unchanged");
}

__DATA__

=== TEST 1: first start (startup lines are in this block's log)
--- config
    location = /t {
        return 200 "a\n";
    }
--- response_body
a
--- error_log
start worker process



=== TEST 2: reload; the old worker's lines are not in the log window
--- config
    location = /t {
        return 200 "b\n";
    }
--- response_body
b
--- error_log
reconfiguring
--- no_error_log
gracefully shutting down



=== TEST 3: unchanged nginx.conf: no reload
--- config
    location = /t {
        return 200 "b\n";
    }
--- user_files
>>> x.txt
x
--- response_body
b



=== TEST 4: a failed reload with --- reload_fails keeps the old config
--- config
    location = /t {
        bogus_directive_xyz on;
    }
--- reload_fails
--- response_body
b
--- error_log eval
["[emerg]", 'unknown directive "bogus_directive_xyz"']



=== TEST 5: reloading works again afterwards
--- config
    location = /t {
        return 200 "c\n";
    }
--- response_body
c
