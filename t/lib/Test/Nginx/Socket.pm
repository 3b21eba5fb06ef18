package Test::Nginx::Socket;

# Stand-in for openresty/test-nginx's Test::Nginx::Socket, written for this
# project: it runs the project's unmodified t/*.t files where the real
# module (CPAN: Test::Nginx) cannot be installed.  scripts/test.sh puts t/lib
# on @INC only when the real module is missing.  See t/lib/README.md for
# what is implemented and the deliberate differences.
#
# This file holds the test-file interface (import/exports), the HTTP client
# and the per-request checks; nginx management is in Test::Nginx::Util and
# the __DATA__ parser (Test::Base's format) in Test::Nginx::Blocks.

use strict;
use warnings;

our $VERSION = '0.29';

use Test::More ();
use Time::HiRes qw(sleep time);
use IO::Socket::INET ();
use POSIX qw(EAGAIN EWOULDBLOCK EINTR WNOHANG);
use List::Util qw(min);
use Digest::MD5 ();
use Digest::SHA ();
use Encode ();
use Carp ();

use Test::Nginx::Util;
use Test::Nginx::Blocks ();

# Exactly the functions the real Test::Nginx::Socket exports ...
our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test
    repeat_each config_preamble worker_connections
    master_process_enabled
    no_long_string workers master_on master_off
    log_level no_shuffle no_root_location use_hup
    server_name
    server_addr server_root html_dir server_port server_port_for_client
    timeout no_nginx_manager check_accum_error_log
    add_block_preprocessor bail_out add_cleanup_handler
    add_response_body_check
);

# ... plus what it inherits from Test::Base (a fixed subset of Test::More;
# note that done_testing, note, explain, subtest and BAIL_OUT are NOT
# exported by the real module either).
our @TestBaseExports = qw(
    ok isnt like unlike is_deeply cmp_ok skip todo_skip pass fail
    eq_array eq_hash eq_set plan can_ok isa_ok diag use_ok is
    no_diff blocks next_block first_block filters
    croak carp cluck confess
);

{
    no strict 'refs';
    for my $f (qw(ok isnt like unlike is_deeply cmp_ok skip todo_skip pass
                  fail eq_array eq_hash eq_set plan can_ok isa_ok diag
                  use_ok is))
    {
        *{"Test::Nginx::Socket::$f"} = \&{"Test::More::$f"};
    }
    for my $f (qw(blocks next_block first_block filters)) {
        *{"Test::Nginx::Socket::$f"} = \&{"Test::Nginx::Blocks::$f"};
    }
    for my $f (qw(croak carp cluck confess)) {
        *{"Test::Nginx::Socket::$f"} = \&{"Carp::$f"};
    }
}

sub no_diff { $ENV{TEST_SHOW_NO_DIFFS} = 1 }

# use Test::Nginx::Socket 'no_plan';
# use Test::Nginx::Socket tests => 3;
# use Test::Nginx::Socket;               (then plan tests => ...)
# use Test::Nginx::Socket -Base;         (in a t::MyTester subclass)
#
# Like Test::Base, turns on strict and warnings in the importing file.
sub import {
    my $class = shift;
    my $caller = caller;

    my ($base, @args);
    for (my $i = 0; $i < @_; $i++) {
        if ($_[$i] =~ /^-base$/i) {
            $base = 1;
        } elsif ($_[$i] eq '-package') {
            $caller = $_[++$i];
        } else {
            push @args, $_[$i];
        }
    }

    no strict 'refs';

    if ($base) {
        push @{"${caller}::ISA"}, $class unless $caller->isa($class);
    } elsif (@args) {
        Test::More::plan(@args);
    }

    # the export lists of $class and of its bases up to this package
    my @names;
    my %seen_class;
    my @queue = ($class);
    while (my $c = shift @queue) {
        next if $seen_class{$c}++;
        next unless $c->isa(__PACKAGE__);
        push @names, map { [$c, $_] } @{"${c}::EXPORT"};
        push @queue, @{"${c}::ISA"};
    }
    push @names, map { [__PACKAGE__, $_] } @TestBaseExports;

    my %done;
    for my $pair (@names) {
        my ($from, $name) = @$pair;
        next if $done{$name}++;
        if ($name =~ s/^\$//) {
            *{"${caller}::$name"} = \${"${from}::$name"};
            next;
        }
        next if defined &{"${caller}::$name"};
        my $code = $from->can($name) or next;
        *{"${caller}::$name"} = $code;
    }

    strict->import;
    warnings->import;
}

$RunTestHelper         = \&run_test_helper;
$CheckErrorLog         = \&check_error_log;
$CheckShutdownErrorLog = \&check_shutdown_error_log;

sub set_http_config_filter ($) {
    $FilterHttpConfig = shift;
}

our @ResponseBodyChecks;

sub add_response_body_check ($) {
    push @ResponseBodyChecks, shift;
}

#-----------------------------------------------------------------------------
# Building requests

# "--- more_headers": one "Name: value" per line, "#" lines ignored.
sub parse_more_headers ($) {
    my ($in) = @_;
    my $out = '';
    my $is_chunked;
    for my $header (split /\n+/, $in) {
        next if $header =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $header, 2;
        $val = '' unless defined $val;
        $is_chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

# Turns "METHOD [URI [VERSION]]\nbody" (possibly split into packets) into a
# full HTTP request: adds the version (HTTP/1.1), "Host: localhost" and
# "Connection: $conn_header" unless given in more_headers, the more_headers
# lines, and Content-Length for a body (the body is then trimmed of leading
# and trailing whitespace, like the real module does).  Packet boundaries
# are kept; the added headers go with the packet holding the request line.
sub build_request_from_packets ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn_header, $packets) = @_;

    my $orig = join '', @$packets;
    my ($first) = $orig =~ /\A([^\n]*\n?)/;
    if (!$first) {
        bail_out("$name - Request line should be non-empty");
    }

    my ($meth, $url, $ver);
    if ($first =~ /^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/) {
        ($meth, $url, $ver) = ($2, $5, $8);
    } else {
        bail_out("$name - Request line is not valid. Should be 'meth [url "
                 . "[version]]' but got \"$first\".");
    }
    $url = '/' unless defined $url;
    $ver = 'HTTP/1.1' unless defined $ver;

    my $content = substr($orig, length $first);
    my $content_skip = 0;
    my $len_header = '';
    if (!$is_chunked && $content ne ''
        && $more_headers !~ /(?:^|\n)Content-Length:/)
    {
        (my $trimmed = $content) =~ s/^\s+//s;
        $content_skip = length($content) - length($trimmed);
        $trimmed =~ s/\s+$//s;
        $content = $trimmed;
        $len_header = "Content-Length: " . length($content) . "\r\n";
    }

    $more_headers =~ s/(?<!\r)\n/\r\n/gs;

    my $headers = '';
    $headers .= "Host: $ServerName\r\n"
        if $more_headers !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: $conn_header\r\n"
        if $more_headers !~ /(?:^|\n)Connection/msi;
    $headers .= "$more_headers$len_header\r\n";

    my $line = "$meth $url $ver\r\n";
    my $head = $line . $headers;
    my $new = $head . $content;

    # map the original packet boundaries onto the new request
    my @out;
    my ($orig_off, $prev) = (0, 0);
    for my $i (0 .. $#$packets) {
        $orig_off += length $packets->[$i];
        my $off;
        if ($i == $#$packets) {
            $off = length $new;
        } elsif ($orig_off < length $first) {
            $off = min($orig_off, length($line) - 2);
        } else {
            my $c = $orig_off - length($first) - $content_skip;
            $c = 0 if $c < 0;
            $c = length $content if $c > length $content;
            $off = length($head) + $c;
        }
        $off = $prev if $off < $prev;
        push @out, substr($new, $prev, $off - $prev);
        $prev = $off;
    }
    return \@out;
}

# Returns a list of requests; each request is a list of packets
# ({ value => bytes, delay_before => seconds }).
sub get_req_from_block ($) {
    my ($block) = @_;
    my $name = $block->name;

    my @req_list;

    if (defined $block->raw_request) {
        my $raw = $block->raw_request;
        if (ref $raw && ref $raw eq 'ARRAY') {
            push @req_list, [map { { value => $_ } } @$raw];
        } else {
            push @req_list, [{ value => $raw }];
        }
        return \@req_list;
    }

    my $request;
    if (defined $block->request_eval) {
        Test::More::diag("$name - request_eval DEPRECATED. Use request eval "
                         . "instead.");
        $request = eval $block->request_eval;
        warn $@ if $@;
    } else {
        $request = $block->request;
        if (defined $request && !ref $request) {
            # leading comment lines and blank space
            while ($request =~ s/^\s*\#[^\n]+\s+|^\s+//gs) { }
        }
    }

    my $more_headers = $block->more_headers || '';

    my $hdr_for = sub {
        my ($i, $what) = @_;
        if (ref $more_headers eq 'ARRAY') {
            my $h = $more_headers->[$i];
            bail_out("--- more_headers lacks data for the $what")
                unless defined $h;
            return parse_more_headers($h);
        }
        return parse_more_headers($more_headers);
    };

    if ($block->pipelined_requests) {
        my $reqs = $block->pipelined_requests;
        if (!ref $reqs || ref $reqs ne 'ARRAY') {
            bail_out("$name - invalid entries in --- pipelined_requests");
        }
        my $all = '';
        for my $i (0 .. $#$reqs) {
            my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
            my ($hdr, $is_chunked) = $hdr_for->($i, "$i pipelined request");
            my $r = build_request_from_packets($name, $hdr, $is_chunked,
                                               $conn, [$reqs->[$i]]);
            $all .= $r->[0];
        }
        push @req_list, [{ value => $all }];
        return \@req_list;
    }

    if (!defined $request) {
        return \@req_list;
    }

    if (!ref $request) {
        my ($hdr, $is_chunked) = $hdr_for->(0, 'request');
        my $r = build_request_from_packets($name, $hdr, $is_chunked, 'close',
                                           [$request]);
        push @req_list, [{ value => $r->[0] }];

    } elsif (ref $request eq 'ARRAY') {
        for my $i (0 .. $#$request) {
            my $one = $request->[$i];
            my ($hdr, $is_chunked) = $hdr_for->($i, "${i}th request");

            if (!ref $one) {
                my $r = build_request_from_packets($name, $hdr, $is_chunked,
                                                   'close', [$one]);
                push @req_list, [{ value => $r->[0] }];

            } elsif (ref $one eq 'ARRAY') {
                # a request given as a series of packets
                my @packets;
                for my $p (@$one) {
                    if (!ref $p) {
                        push @packets, $p;
                    } elsif (ref $p eq 'HASH') {
                        push @packets, $p->{value};
                    } else {
                        bail_out("$name - Invalid syntax. $p should be a "
                                 . "string or hash with value.");
                    }
                }
                my $built = build_request_from_packets($name, $hdr,
                                                       $is_chunked, 'close',
                                                       \@packets);
                my @req;
                for my $j (0 .. $#$built) {
                    my %bit = ref $one->[$j] ? %{ $one->[$j] } : ();
                    $bit{value} = $built->[$j];
                    push @req, \%bit;
                }
                push @req_list, \@req;

            } else {
                bail_out("$name - Invalid syntax. $one should be a string or "
                         . "an array of packets.");
            }
        }

    } else {
        bail_out("$name - invalid ---request : MUST be string or array of "
                 . "requests");
    }

    return \@req_list;
}

#-----------------------------------------------------------------------------
# Response filters ("--- response_body_filters")

sub run_filter_helper ($$$) {
    my ($block, $filter, $content) = @_;
    my $name = $block->name;

    if (ref $filter && ref $filter eq 'CODE') {
        return $filter->($content);
    }
    if (ref $filter) {
        bail_out("$name - the --- response_body_filters section only supports "
                 . "subroutine reference values and string values");
    }

    return Digest::MD5::md5_hex($content)  if $filter eq 'md5_hex';
    return Digest::SHA::sha1_hex($content) if $filter eq 'sha1_hex';
    return uc($content)      if $filter eq 'uc';
    return lc($content)      if $filter eq 'lc';
    return ucfirst($content) if $filter eq 'ucfirst';
    return lcfirst($content) if $filter eq 'lcfirst';
    return length($content)  if $filter eq 'length';

    bail_out("$name - unknown filter, \"$filter\", specified in the --- "
             . "response_body_filters section");
}

# Applied to the actual body before response_body / response_body_like /
# response_body_unlike are checked (and after the header checks).
sub transform_response_body ($$$) {
    my ($block, $res, $req_idx) = @_;
    return unless defined $res;
    my $content = $res->content;
    return unless defined $content;

    my $filters = $block->response_body_filters;
    return unless defined $filters;
    my $name = $block->name;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//gs;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }

    my $filter = $filters;
    if (@$filters && ref $filters->[0] eq 'ARRAY') {
        for my $elem (@$filters) {
            bail_out("$name - the --- response_body_filters two-dimensional "
                     . "array only be like [[uc], [lc]] not [[uc], lc]")
                if ref $elem ne 'ARRAY';
        }
        $filter = $filters->[$req_idx];
        bail_out("$name - the ---response_body_filters two-dimensional array "
                 . "unmatch the specified request($req_idx)")
            unless defined $filter;
    }

    my $new = $content;
    for my $f (ref $filter eq 'ARRAY' ? @$filter : ($filter)) {
        $new = run_filter_helper($block, $f, $new);
    }
    $res->content($new);
}

#-----------------------------------------------------------------------------
# The per-block request loop

sub run_test_helper ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;

    my $name = $block->name;

    my $r_req_list = get_req_from_block($block);
    if (!@$r_req_list) {
        bail_out("$name - request empty");
    }

    my $timeout = parse_time($block->timeout);
    $timeout = timeout() unless defined $timeout;

    my $res;
    my $req_idx = 0;
    my ($n, $need_array);

    for my $one_req (@$r_req_list) {
        my ($raw_resp, $head_req);

        if ($dry_run) {
            $raw_resp = "200 OK HTTP/1.0\r\nContent-Length: 0\r\n\r\n";
        } else {
            ($raw_resp, $head_req) = send_request($one_req, scalar
                                                  $block->raw_request_middle_delay,
                                                  $timeout, $block);
        }

        if ($block->pipelined_requests) {
            $n = @{ $block->pipelined_requests };
            $need_array = 1;
        } else {
            $need_array = $#$r_req_list > 0;
        }

        while (1) {
            $raw_resp = '' unless defined $raw_resp;

            my ($raw_headers, $left);
            if (!defined $block->ignore_response) {
                if (defined $block->http09) {
                    $res = Test::Nginx::Socket::Response->new(200, 'OK', [],
                                                              $raw_resp);
                    $raw_headers = '';
                } else {
                    ($res, $raw_headers, $left) = parse_response($name,
                                                                 $raw_resp,
                                                                 $head_req);
                }
            }

            if (!$n) {
                if (defined $left && length $left) {
                    (my $l = $left) =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after last "
                         . "chunk in response: \"$l\"\n";
                }
            } else {
                $raw_resp = $left;
                $n--;
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $dry_run, $req_idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $dry_run,
                                           $req_idx, $need_array);
                check_response_headers($block, $res, $raw_headers, $dry_run,
                                       $req_idx, $need_array);
                transform_response_body($block, $res, $req_idx);
                check_response_body($block, $res, $dry_run, $req_idx,
                                    $repeated_req_idx, $need_array);
            }

            if ($n || $req_idx < @$r_req_list - 1) {
                sleep($block->wait) if $block->wait;
                check_error_log($block, $res, $dry_run, $repeated_req_idx,
                                $need_array);
                if (!defined $block->ignore_response) {
                    check_access_log($block, $dry_run, $repeated_req_idx);
                }
            }

            $req_idx++;
            last unless $n;
        }
    }

    sleep($block->wait) if $block->wait;

    check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);

    if (!defined $block->ignore_response) {
        check_access_log($block, $dry_run, $repeated_req_idx);
    }
}

# For checks with one expected value per request when several are sent.
sub get_indexed_value ($$$$) {
    my ($name, $value, $req_idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$req_idx] if ref $value && ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }
    if (ref $value && ref $value eq 'ARRAY') {
        bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need array.")
            if $req_idx != 0;
        return $value->[0];
    }
    return $value;
}

#-----------------------------------------------------------------------------
# Checks (one Test::More test each, named as in the real module)

sub check_error_code ($$$$$) {
    my ($block, $res, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    SKIP: {
        Test::More::skip("$name - tests skipped due to $dry_run", 1) if $dry_run;

        my $code = ($res && $res->code) || '';
        if (defined $block->error_code_like) {
            my $val = get_indexed_value($name, $block->error_code_like,
                                        $req_idx, $need_array);
            Test::More::like($code, qr/$val/sm, "$name - status code ok");
        } elsif (defined $block->error_code) {
            Test::More::is($code,
                           get_indexed_value($name, $block->error_code,
                                             $req_idx, $need_array),
                           "$name - status code ok");
        } else {
            Test::More::is($code, 200, "$name - status code ok");
        }
    }
}

sub check_raw_response_headers ($$$$$) {
    my ($block, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->raw_response_headers_like) {
        SKIP: {
            Test::More::skip("$name - raw_response_headers_like - tests "
                             . "skipped due to $dry_run", 1) if $dry_run;
            my $expected = get_indexed_value($name,
                                             $block->raw_response_headers_like,
                                             $req_idx, $need_array);
            Test::More::like($raw_headers, qr/$expected/s,
                             "$name - raw resp headers like");
        }
    }

    if (defined $block->raw_response_headers_unlike) {
        SKIP: {
            Test::More::skip("$name - raw_response_headers_unlike - tests "
                             . "skipped due to $dry_run", 1) if $dry_run;
            my $expected = get_indexed_value($name,
                                             $block->raw_response_headers_unlike,
                                             $req_idx, $need_array);
            Test::More::unlike($raw_headers, qr/$expected/s,
                               "$name - raw resp headers unlike");
        }
    }
}

# Note: a header received several times (Set-Cookie...) reads as its values
# joined with ", ", as HTTP::Headers does for the real module.
sub check_response_headers ($$$$$$) {
    my ($block, $res, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_headers) {
        my ($headers, $order) = parse_headers(
            get_indexed_value($name, $block->response_headers, $req_idx,
                              $need_array));
        for my $key (@$order) {
            my $val = $headers->{$key};
            if (!defined $val) {
                SKIP: {
                    Test::More::skip("$name - response_headers - tests skipped "
                                     . "due to $dry_run", 1) if $dry_run;
                    Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                        "$name - header $key not present in the raw headers");
                }
                next;
            }

            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;

            my $actual = $res ? $res->header($key) : undef;
            $actual = '' unless defined $actual;

            SKIP: {
                Test::More::skip("$name - response_headers - tests skipped due "
                                 . "to $dry_run", 1) if $dry_run;
                Test::More::is($actual, $val, "$name - header $key ok");
            }
        }

    } elsif (defined $block->response_headers_like) {
        my ($headers, $order) = parse_headers(
            get_indexed_value($name, $block->response_headers_like, $req_idx,
                              $need_array));
        for my $key (@$order) {
            my $val = $headers->{$key};
            $val = '' unless defined $val;
            my $actual = $res ? $res->header($key) : undef;
            $actual = '' unless defined $actual;
            SKIP: {
                Test::More::skip("$name - response_headers_like - tests skipped "
                                 . "due to $dry_run", 1) if $dry_run;
                Test::More::like($actual, qr/^$val$/,
                                 "$name - header $key like ok");
            }
        }
    }
}

sub check_response_body ($$$$$$) {
    my ($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $content = $res ? $res->content : undef;
        if (defined $content) {
            $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
            $content =~ s/^Connection: TE, close\r\n//gms;
        }

        my $expected;
        if ($block->response_body_eval) {
            Test::More::diag("$name - response_body_eval is DEPRECATED. Use "
                             . "response_body eval instead.");
            $expected = eval get_indexed_value($name,
                                               $block->response_body_eval,
                                               $req_idx, $need_array);
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body,
                                          $req_idx, $need_array);
        }

        if ($block->charset) {
            Encode::from_to($expected, 'UTF-8', $block->charset);
        }

        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }

        SKIP: {
            Test::More::skip("$name - response_body - tests skipped due to "
                             . "$dry_run", 1) if $dry_run;
            if (ref $expected) {
                Test::More::like($content, $expected,
                    "$name - response_body - like (repeated req "
                    . "$repeated_req_idx, req $req_idx)");
            } else {
                is_str($content, $expected,
                    "$name - response_body - response is expected (repeated "
                    . "req $repeated_req_idx, req $req_idx)");
            }
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my ($patterns, $type);
        if (defined $block->response_body_like) {
            ($patterns, $type) = ($block->response_body_like, 'like');
        } else {
            ($patterns, $type) = ($block->response_body_unlike, 'unlike');
        }

        my $content = $res ? $res->content : undef;
        if (defined $content) {
            $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
            $content =~ s/^Connection: TE, close\r\n//gms;
        }

        my $pat = get_indexed_value($name, $patterns, $req_idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        my $summary = trim($content);
        $summary = '' unless defined $summary;

        SKIP: {
            Test::More::skip("$name - response_body_$type - tests skipped due "
                             . "to $dry_run", 1) if $dry_run;
            my $desc = "$name - response_body_$type - response is expected "
                       . "($summary)";
            if ($type eq 'like') {
                Test::More::like($content, qr/$pat/s, $desc);
            } else {
                Test::More::unlike($content, qr/$pat/s, $desc);
            }
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $req_idx,
                 $repeated_req_idx, $dry_run);
    }
}

sub fmt_str ($) {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    return $str;
}

# A section value for error_log & co: lines of text, one regex, or an
# array of strings and regexes.
sub _patterns {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub _value_contains {
    my ($val, $pat) = @_;
    if (!ref $val || ref $val eq 'Regexp') {
        return $val =~ /\Q$pat\E/;
    }
    if (ref $val eq 'ARRAY') {
        for my $v (@$val) {
            return 1 if _value_contains($v, $pat);
        }
    }
    return undef;
}

sub _line_matches {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ /$pat/ : $line =~ /\Q$pat\E/;
}

# Lines matching each "must" pattern pass once; patterns never matched fail.
sub _check_must_match {
    my ($name, $what, $file, $pats, $lines, $dry_run, $suffix) = @_;
    for my $line (@$lines) {
        for my $pat (@$pats) {
            next unless defined $pat;
            if (_line_matches($line, $pat)) {
                SKIP: {
                    Test::More::skip("$name - $what - tests skipped due to "
                                     . "$dry_run", 1) if $dry_run;
                    Test::More::pass("$name - pattern \"$pat\" matches a line "
                                     . "in $file$suffix");
                }
                undef $pat;
            }
        }
    }
    for my $pat (@$pats) {
        next unless defined $pat;
        SKIP: {
            Test::More::skip("$name - $what - tests skipped due to $dry_run", 1)
                if $dry_run;
            Test::More::fail("$name - pattern \"$pat\" should match a line in "
                             . "$file$suffix");
        }
    }
}

# Every matching line of a "must not" pattern fails; a pattern that matches
# nothing passes once.
sub _check_must_not_match {
    my ($name, $what, $file, $pats, $lines, $dry_run, $suffix,
        $with_context) = @_;
    my %found;
    for my $i (0 .. $#$lines) {
        my $line = $lines->[$i];
        for my $pat (@$pats) {
            next unless defined $pat;
            next unless _line_matches($line, $pat);
            if ($found{$pat}++) {
                Test::More->builder->no_ending(1);
            }
            SKIP: {
                Test::More::skip("$name - $what - tests skipped due to "
                                 . "$dry_run ($line)", 1) if $dry_run;
                my $ln = fmt_str($line);
                my $p = fmt_str($pat);
                my $more = '';
                if ($with_context) {
                    for (my $j = $i + 1; $j < min($i + 10, @$lines - 1); $j++) {
                        $more .= $lines->[$j];
                    }
                    $more = "\n$more";
                }
                Test::More::fail("$name - pattern \"$p\" should not match any "
                                 . "line in $file but matches line \"$ln\""
                                 . "$suffix$more");
            }
        }
    }
    for my $pat (@$pats) {
        next if !defined $pat || $found{$pat};
        SKIP: {
            Test::More::skip("$name - $what - tests skipped due to $dry_run", 1)
                if $dry_run;
            my $p = fmt_str($pat);
            Test::More::pass("$name - pattern \"$p\" does not match a line in "
                             . "$file$suffix");
        }
    }
}

sub check_access_log ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    my $name = $block->name;
    my $lines;

    if (defined $block->access_log) {
        $lines ||= access_log_data();
        _check_must_match($name, 'access_log', 'access.log',
                          _patterns($block->access_log), $lines, $dry_run,
                          " (req $repeated_req_idx)");
    }
    if (defined $block->no_access_log) {
        $lines ||= access_log_data();
        _check_must_not_match($name, 'no_access_log', 'access.log',
                              _patterns($block->no_access_log), $lines,
                              $dry_run, " (req $repeated_req_idx)", 1);
    }
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;

    my ($check_alert, $check_crit, $check_emerg) = (1, 1, 1);

    my $grep_pat;
    my $grep_pats = $block->grep_error_log;
    if (defined $grep_pats) {
        $grep_pat = ref $grep_pats && ref $grep_pats eq 'ARRAY'
                    ? $grep_pats->[$repeated_req_idx] : $grep_pats;
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but --- "
                 . "grep_error_log_out is defined");
    }

    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        if (!defined $expected) {
            bail_out("$name - No --- grep_error_log_out defined but --- "
                     . "grep_error_log is defined");
        }
        if (ref $expected && ref $expected eq 'ARRAY') {
            $expected = $expected->[$repeated_req_idx];
        }

        SKIP: {
            Test::More::skip("$name - error_log - tests skipped due to "
                             . "$dry_run", 1) if $dry_run;

            $lines ||= error_log_data();

            my $matched_lines = '';
            for my $line (@$lines) {
                if (ref $grep_pat ? $line =~ /$grep_pat/
                                  : $line =~ /\Q$grep_pat\E/)
                {
                    my $matched = $&;
                    $matched_lines .= "$matched\n" if $matched !~ /\n/;
                }
            }

            if (ref $expected eq 'Regexp') {
                Test::More::like($matched_lines, $expected,
                    "$name - grep_error_log_out (req $repeated_req_idx)");
            } else {
                is_str($matched_lines, $expected,
                       "$name - grep_error_log_out (req $repeated_req_idx)");
            }
        }
    }

    for my $section (qw(error_log no_error_log)) {
        my $pats = $block->$section;
        next unless defined $pats;
        undef $check_alert if _value_contains($pats, "[alert");
        undef $check_crit  if _value_contains($pats, "[crit");
        undef $check_emerg if _value_contains($pats, "[emerg");
    }

    if (defined $block->error_log) {
        $lines ||= error_log_data();
        _check_must_match($name, 'error_log', 'error.log',
                          _patterns($block->error_log), $lines, $dry_run,
                          " (req $repeated_req_idx)");
    }

    if (defined $block->no_error_log) {
        $lines ||= error_log_data();
        _check_must_not_match($name, 'no_error_log', 'error.log',
                              _patterns($block->no_error_log), $lines,
                              $dry_run, " (req $repeated_req_idx)", 1);
    }

    if (!$dry_run) {
        $lines ||= error_log_data();
        for my $line (@$lines) {
            if (($check_alert && $line =~ /\[alert\]/)
                || ($check_crit && $line =~ /\[crit\]/)
                || ($check_emerg && $line =~ /\[emerg\]/))
            {
                warn "WARNING: $name - " . fmt_str($line) . "\n";
            }
        }
    }

    for my $line (@{ $lines || [] }) {
        if ($line =~ /\bAssertion .*?failed\b/) {
            Test::More->builder->no_ending(1);
            chomp(my $l = $line);
            Test::More::fail("$name - $l\n");
        }
    }
}

# "--- shutdown_error_log" / "--- no_shutdown_error_log": checked against
# the lines logged while nginx stopped after the block (skipped in the HUP
# reload mode, as in the real module).
sub check_shutdown_error_log ($$) {
    my ($block, $dry_run) = @_;
    my $name = $block->name;

    my $lines = error_log_data();

    if (defined $block->no_shutdown_error_log) {
        _check_must_not_match($name, 'no_shutdown_error_log', 'error.log',
                              _patterns($block->no_shutdown_error_log), $lines,
                              $dry_run, '', 0);
    }

    if (defined $block->shutdown_error_log) {
        _check_must_match($name, 'shutdown_error_log', 'error.log',
                          _patterns($block->shutdown_error_log), $lines,
                          $dry_run, '');
    }

    for my $line (@$lines) {
        if ($line =~ /\bAssertion .*? failed\.$/) {
            Test::More->builder->no_ending(1);
            chomp(my $l = $line);
            Test::More::fail("$name - $l");
        }
    }
}

#-----------------------------------------------------------------------------
# Response parsing

# Parses a raw HTTP response like HTTP::Response->parse does, then decodes
# a chunked body or applies Content-Length.  Returns ($res, $raw_headers,
# $left) where $raw_headers is the status line and headers up to the blank
# line (each line with its CRLF) and $left the bytes after the message.
sub parse_response ($$$) {
    my ($name, $raw_resp, $head_req) = @_;

    my $left;
    my $raw_headers = '';
    if ($raw_resp =~ /(.*?\r\n)\r\n/s) {
        $raw_headers = $1;
    }

    my $res = Test::Nginx::Socket::Response->parse($raw_resp);
    my $code = $res->code;

    if (defined $code && $code !~ /^\d+$/) {
        undef $code;
        $res->code(undef);
    }

    if ($code && ($code == 304 || $code == 101)) {
        return ($res, $raw_headers);
    }

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');

    if (defined $enc && $enc eq 'chunked') {
        my $raw = $res->content;
        $raw = '' unless defined $raw;

        my $decoded = '';
        my $tb = Test::More->builder;
        while (1) {
            if ($raw =~ /\G 0 [\ \t]* \r\n \r\n /gcsx) {
                if ($raw =~ /\G (.+) /gcsx) {
                    $left = $1;
                }
                last;
            }
            if ($raw =~ m{\G [\ \t]* ( [A-Fa-f0-9]+ ) [\ \t]* \r\n }gcsx) {
                my $size = hex($1);
                if (length($raw) - pos($raw) < $size) {
                    $tb->no_ending(1);
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(not enought octets for the data "
                                     . "section)");
                    return;
                }
                $decoded .= substr($raw, pos($raw), $size);
                pos($raw) += $size;
                if ($raw !~ /\G\r\n/gcs) {
                    $tb->no_ending(1);
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(expected CRLF).");
                    return;
                }
            } elsif ($raw =~ /\G.+/gcs) {
                $tb->no_ending(1);
                Test::More::fail("$name - invalid chunked body received: $&");
                return;
            } else {
                $tb->no_ending(1);
                Test::More::fail("$name - no last chunk found - $raw");
                return;
            }
        }
        $res->content($decoded);

    } elsif (defined $len && $len ne '' && $len =~ /^\d+$/) {
        my $raw = $res->content;
        $raw = '' unless defined $raw;
        if (length $raw < $len) {
            if (!$head_req) {
                warn "WARNING: $name - response body truncated: $len "
                     . "expected, but got " . length($raw) . "\n";
            }
        } elsif (length $raw > $len) {
            $left = substr $raw, $len;
            $res->content(substr $raw, 0, $len);
        }
    }

    return ($res, $raw_headers, $left);
}

#-----------------------------------------------------------------------------
# The HTTP client: one fresh TCP connection per request; sends the packets
# (with their delays), reads until the server closes the connection.  The
# timeout applies between two I/O events, as in the real module; when it
# expires the test fails ("ERROR: client socket timed out") unless the
# block has "--- abort".

sub send_request ($$$$@) {
    my ($req, $middle_delay, $timeout, $block) = @_;

    my $name = $block->name;
    my @bits = ref $req ? @$req : ({ value => $req });

    my $head_req = (join '', map { $_->{value} } @bits) =~ /^\s*HEAD\s+/ ? 1 : 0;

    my $addr = $block->server_addr_for_client;
    $addr = $ServerAddr unless defined $addr;
    my $port = $ServerPortForClient;

    my $sock;
    for (my $tries = 1; ; $tries++) {
        $sock = IO::Socket::INET->new(
            PeerAddr => $addr,
            PeerPort => $port,
            Proto    => 'tcp',
            Timeout  => $timeout,
        );
        last if $sock;
        my $err = $!;

        my $gone = !$NoNginxManager && !Test::Nginx::Util::nginx_alive();
        if ($gone || $tries >= 50) {
            my $tb = Test::More->builder;
            $tb->no_ending(1);
            Test::More::fail("$name - Can't connect to $addr:$port: $err "
                             . "(aborted)\n");
            return ('', $head_req);
        }

        my $wait = (sleep_time() + sleep_time() * $tries) * $tries / 2;
        $wait = 1 if $wait > 1;
        if ($wait >= 0.6) {
            warn "$name - Can't connect to $addr:$port: $err\n"
                 . "\tRetry connecting after $wait sec\n";
        }
        sleep $wait;
    }

    $sock->blocking(0);
    my $fd = fileno $sock;

    local $SIG{PIPE} = 'IGNORE';

    my $resp = '';
    my $wbuf = (shift @bits)->{value};
    $wbuf = '' unless defined $wbuf;
    my $woff = 0;
    my ($reading, $writing) = (1, 1);

    while ($reading || $writing) {
        my ($rin, $win) = ('', '');
        vec($rin, $fd, 1) = 1 if $reading;
        vec($win, $fd, 1) = 1 if $writing;

        my $nfound = select(my $rout = $rin, my $wout = $win, undef, $timeout);
        if ($nfound < 0) {
            next if $! == EINTR;
            warn "WARNING: $name - select failed: $!\n";
            last;
        }
        if ($nfound == 0) {
            # timed out
            close $sock;
            if (!defined $block->abort) {
                Test::More->builder->no_ending(1);
                Test::More::fail("ERROR: client socket timed out - $name\n");
            } else {
                sleep 0.005;
            }
            return ($resp, $head_req);
        }

        if ($reading && vec($rout, $fd, 1)) {
            while (1) {
                my $n = sysread($sock, my $buf, 65536);
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                    warn "WARNING: $name - HTTP response read failure: $!\n";
                    $reading = $writing = 0;
                    last;
                }
                if ($n == 0) {   # the server closed the connection
                    $reading = $writing = 0;
                    last;
                }
                $resp .= $buf;
            }
        }

        if ($writing && vec($wout, $fd, 1)) {
            while (1) {
                if ($woff < length $wbuf) {
                    my $n = syswrite($sock, $wbuf, length($wbuf) - $woff, $woff);
                    if (!defined $n) {
                        last if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                        # the server may have answered and closed already:
                        # stop writing, keep reading
                        warn "write failed: $!\n" if $resp eq '';
                        $writing = 0;
                        last;
                    }
                    $woff += $n;
                    next;
                }

                my $next = shift @bits;
                if (!defined $next) {
                    $writing = 0;
                    my $shutdown = $block->shutdown;
                    if (defined $shutdown) {
                        $shutdown = 1 if $shutdown =~ /^$/s;
                        shutdown($sock, $shutdown);
                    }
                    last;
                }

                my $delay = defined $next->{delay_before}
                            ? $next->{delay_before} : $middle_delay;
                sleep $delay if $delay;

                $wbuf = defined $next->{value} ? $next->{value} : '';
                $woff = 0;
            }
        }
    }

    close $sock;
    return ($resp, $head_req);
}

#-----------------------------------------------------------------------------
# A minimal HTTP::Response replacement (HTTP::Message is not a core module).

package Test::Nginx::Socket::Response;

use strict;
use warnings;

sub new {
    my ($class, $code, $message, $headers, $content) = @_;
    return bless {
        code     => $code,
        message  => $message,
        headers  => $headers || [],
        content  => $content,
        protocol => undef,
    }, $class;
}

# Same rules as HTTP::Response->parse / HTTP::Message->parse.
sub parse {
    my ($class, $str) = @_;
    $str = '' unless defined $str;

    my $status_line;
    if ($str =~ s/^(.*)\n//) {
        $status_line = $1;
    } else {
        $status_line = $str;
        $str = '';
    }
    $status_line =~ s/\r\z//;

    my @hdr;
    while (1) {
        if ($str =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
            push @hdr, [$1, $2];
            $hdr[-1][1] =~ s/\r\z//;
        } elsif (@hdr && $str =~ s/^([ \t].*)\n?//) {
            $hdr[-1][1] .= "\n$1";
            $hdr[-1][1] =~ s/\r\z//;
        } else {
            $str =~ s/^\r?\n//;
            last;
        }
    }

    my ($protocol, $code, $message);
    if ($status_line =~ /^\d{3} /) {
        ($code, $message) = split ' ', $status_line, 2;
    } else {
        ($protocol, $code, $message) = split ' ', $status_line, 3;
    }

    my $self = $class->new($code, $message, \@hdr, $str);
    $self->{protocol} = $protocol;
    return $self;
}

sub code {
    my $self = shift;
    $self->{code} = shift if @_;
    return $self->{code};
}

sub message  { return $_[0]->{message} }
sub protocol { return $_[0]->{protocol} }

sub content {
    my $self = shift;
    $self->{content} = shift if @_;
    return $self->{content};
}

# In scalar context the values of all headers of that name joined by ", ",
# in list context the values.
sub header {
    my ($self, $name) = @_;
    my @vals = map { $_->[1] } grep { lc $_->[0] eq lc $name }
               @{ $self->{headers} };
    return @vals if wantarray;
    return @vals ? join(', ', @vals) : undef;
}

sub headers { return [@{ $_[0]->{headers} }] }

1;
