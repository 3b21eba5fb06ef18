#!/usr/bin/perl
#
# callgrind-report.pl FILE REQUESTS [TOP]: a per-request summary of one
# callgrind profile taken by bench/run.sh profile (collection limited to
# ngx_process_events_and_timers, so configuration parsing is not in it).
#
# callgrind-report.pl --tsv FILE REQUESTS: the same numbers, all of them,
# as tab-separated lines for bench/compare-report.pl: "total Ir",
# "lib NAME Ir", "self FUNCTION LIB Ir", "incl FUNCTION Ir" (the module's,
# hiredis's, cJSON's, sds), "malloc FUNCTION calls"; Ir and calls per
# request.
#
# callgrind-report.pl --redis FILE REQUESTS [TOP]: the same for the
# redis-server profile (collection limited to evalShaCommand): what one
# request's script costs inside Redis, how many redis.call()s it makes and
# what they, number formatting (string.format, tostring: sprintf) and
# parsing (tonumber: strtod) cost.
#
#   1. instructions (Ir) per request by library (self cost)
#   2. the TOP functions by self cost, Ir per request and % of the total
#   3. the module's, hiredis's and cJSON's entry points by inclusive cost
#   4. calls per request to malloc/calloc/realloc/free, by calling function
#
# Uses callgrind_annotate for 1-3 and reads the call graph of FILE for 4.
# Core Perl only.

use strict;
use warnings;

my $redis = @ARGV && $ARGV[0] eq '--redis' ? shift @ARGV : undef;
my $tsv = @ARGV && $ARGV[0] eq '--tsv' ? shift @ARGV : undef;
my ($file, $requests, $top) = @ARGV;
die "usage: $0 callgrind.out requests [top]\n"
    unless defined $requests && $requests > 0;
$top //= 20;

sub annotate {
    my ($inclusive) = @_;
    my @rows;
    # --auto=no: no annotated source, whose lines look like rows
    open my $fh, '-|', "callgrind_annotate --threshold=100 --auto=no"
                       . " --inclusive=$inclusive '$file' 2>/dev/null"
        or die "callgrind_annotate: $!\n";
    while (<$fh>) {
        next unless /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.+?)\s*$/;
        my ($ir, $rest) = ($1, $2);
        next if $rest =~ /PROGRAM TOTALS/;
        $ir =~ tr/,//d;
        my $obj = $rest =~ s/\s+\[(.+)\]$// ? $1 : '';
        my ($src, $fn) = $rest =~ /^(.*):([^:]+)$/ ? ($1, $2) : ('', $rest);
        push @rows, { ir => $ir, fn => $fn, obj => $obj, src => $src };
    }
    close $fh;
    return @rows;
}

sub lib_of {
    my ($r) = @_;
    my $o = $r->{obj};
    return 'module' if $r->{fn} =~ /ngx_http_shared_session/;
    return 'module' if $o =~ /shared_session/ || $r->{src} =~ m{/src/ngx_http_shared_session|ngx_http_shared_session_module\.c}
                       || (!$o && $r->{fn} =~ /^ngx_http_shared_session/);
    return 'libhiredis' if $o =~ /hiredis/;
    return 'libcjson' if $o =~ /cjson/i;
    return 'nginx' if $o =~ m{/nginx$} || (!$o && $r->{fn} =~ /^ngx_/);
    if ($o =~ /libc\.so/ || $r->{src} =~ m{^\./malloc|sysdeps|^\./string}) {
        return 'libc malloc/free'
            if $r->{fn} =~ /^(_int_|malloc|free|calloc|realloc|tcache|
                             unlink_chunk|malloc_consolidate|cfree|
                             __libc_(malloc|free|calloc|realloc))/x;
        return 'libc other';
    }
    return 'kernel/vdso/other' unless $o;
    (my $short = $o) =~ s{.*/}{};
    return $short;
}

if ($redis) {
    redis_report();
    exit 0;
}

my @self = annotate('no');
my $total = 0;
$total += $_->{ir} for @self;

if ($tsv) {
    tsv_report();
    exit 0;
}

printf "total: %.0f Ir per request (%d requests)\n\n", $total / $requests,
    $requests;

my %lib;
$lib{ lib_of($_) } += $_->{ir} for @self;
print "self cost by library, Ir per request:\n";
for my $l (sort { $lib{$b} <=> $lib{$a} } keys %lib) {
    printf "  %-20s %8.0f  %5.1f%%\n", $l, $lib{$l} / $requests,
        100 * $lib{$l} / $total;
}

print "\ntop $top functions by self cost, Ir per request:\n";
my $n = 0;
for my $r (sort { $b->{ir} <=> $a->{ir} } @self) {
    last if $n++ >= $top;
    printf "  %8.0f  %5.1f%%  %-44s %s\n", $r->{ir} / $requests,
        100 * $r->{ir} / $total, $r->{fn}, lib_of($r);
}

# inclusive: one row per function name (callgrind_annotate may list a
# function twice, under its source file and under "???")
my %incl;
for my $r (annotate('yes')) {
    (my $fn = $r->{fn}) =~ s/'\d+$//;
    next unless $fn =~ /^(ngx_http_shared_session_|redis|cJSON_|sds)/;
    $incl{$fn} = $r->{ir} if !$incl{$fn} || $r->{ir} > $incl{$fn};
}
print "\nmodule, hiredis and cJSON functions by inclusive cost, Ir per request:\n";
$n = 0;
for my $fn (sort { $incl{$b} <=> $incl{$a} } keys %incl) {
    last if $n++ >= 2 * $top;
    printf "  %8.0f  %5.1f%%  %s\n", $incl{$fn} / $requests,
        100 * $incl{$fn} / $total, $fn;
}

# malloc family calls by caller, from the call graph
my (%names, %obnames, %calls, $fn, $cfn, $ob);
my %alloc = map { $_ => 1 } qw(malloc calloc realloc free posix_memalign
                               cfree __libc_malloc __libc_free);
open my $fh, '<', $file or die "$file: $!\n";
while (<$fh>) {
    if (/^ob=\((\d+)\)(?: (.*))?$/) {
        $obnames{$1} = $2 if defined $2;
        ($ob = $obnames{$1}) =~ s{.*/}{};
    } elsif (/^cob=\((\d+)\)(?: (.*))?$/) {
        # the callee's object: only its name (ids are shared with ob=)
        $obnames{$1} = $2 if defined $2;
    } elsif (/^fn=\((\d+)\)(?: (.*))?$/) {
        $names{$1} = $2 if defined $2;
        $fn = $names{$1} . ($names{$1} =~ /^0x/ ? " [$ob]" : '');
    } elsif (/^cfn=\((\d+)\)(?: (.*))?$/) {
        $names{$1} = $2 if defined $2;
        $cfn = $names{$1};
    } elsif (/^calls=(\d+)/ && defined $cfn && defined $fn) {
        $calls{$cfn}{$fn} += $1 if $alloc{$cfn};
    }
}
close $fh;

print "\nmalloc family calls per request, by caller:\n";
for my $f (sort keys %calls) {
    my $sum = 0;
    $sum += $_ for values %{ $calls{$f} };
    printf "  %-8s %6.2f\n", $f, $sum / $requests;
    my $k = 0;
    my $by = $calls{$f};
    for my $c (sort { $by->{$b} <=> $by->{$a} } keys %$by) {
        last if $k++ >= 8;
        my $per = $by->{$c} / $requests;
        last if $per < 0.05;
        printf "      %6.2f  %s\n", $per, $c;
    }
}

# tsv_report: everything of the report above, per request, one number a
# line (functions by name: the same static function in two builds of the
# module is one row)
sub tsv_report {
    printf "total\t%.1f\n", $total / $requests;
    my (%lib, %fn, %fnlib);
    for my $r (@self) {
        (my $f = $r->{fn}) =~ s/'\d+$//;
        $lib{ lib_of($r) } += $r->{ir};
        $fn{$f} += $r->{ir};
        $fnlib{$f} //= lib_of($r);
    }
    printf "lib\t%s\t%.1f\n", $_, $lib{$_} / $requests for sort keys %lib;
    printf "self\t%s\t%s\t%.1f\n", $_, $fnlib{$_}, $fn{$_} / $requests
        for sort keys %fn;
    my %incl;
    for my $r (annotate('yes')) {
        (my $f = $r->{fn}) =~ s/'\d+$//;
        next unless $f =~ /^(ngx_http_shared_session_|redis|cJSON_|sds)/;
        $incl{$f} = $r->{ir} if !$incl{$f} || $r->{ir} > $incl{$f};
    }
    printf "incl\t%s\t%.1f\n", $_, $incl{$_} / $requests for sort keys %incl;
    my $calls = call_counts();
    for my $f (qw(malloc calloc realloc free posix_memalign)) {
        my $c = 0;
        $c += $_ for values %{ $calls->{$f} || {} };
        printf "malloc\t%s\t%.2f\n", $f, $c / $requests;
    }
}

# calls per caller/callee from the call graph: {callee}{caller} = count
sub call_counts {
    my (%names, %calls, $fn, $cfn);
    open my $fh, '<', $file or die "$file: $!\n";
    while (<$fh>) {
        if (/^fn=\((\d+)\)(?: (.*))?$/) {
            $names{$1} = $2 if defined $2;
            $fn = $names{$1};
        } elsif (/^cfn=\((\d+)\)(?: (.*))?$/) {
            $names{$1} = $2 if defined $2;
            $cfn = $names{$1};
        } elsif (/^calls=(\d+)/ && defined $cfn && defined $fn) {
            $calls{$cfn}{$fn} += $1;
        }
    }
    close $fh;
    return \%calls;
}

sub redis_report {
    my @incl = annotate('yes');
    my %incl;
    for my $r (@incl) {
        (my $fn = $r->{fn}) =~ s/'\d+$//;
        $incl{$fn} = $r->{ir} if !$incl{$fn} || $r->{ir} > $incl{$fn};
    }
    my $calls = call_counts();
    my $count = sub {
        my $c = 0;
        $c += $_ for values %{ $calls->{ $_[0] } || {} };
        return $c / $requests;
    };
    my $total = $incl{evalShaCommand} || 0;
    $total = $incl{evalGenericCommand} if !$total && $incl{evalGenericCommand};

    printf "EVALSHA inside redis-server: %.0f Ir per request, %.2f EVALSHA"
           . " per request\n", $total / $requests, $count->('evalShaCommand')
           || $count->('evalGenericCommand');

    my @parts = (
        ['scriptCall', 'redis.call(): the commands and their dispatch'],
        ['parseReply', 'redis.call(): converting replies to Lua values'],
        ['lua_pushlstring', 'Lua strings made (KEYS, ARGV, replies, concatenation)'],
        ['__sprintf_chk', 'number formatting (string.format, number to string)'],
        ['strtod', 'number parsing (tonumber, arithmetic on strings)'],
    );
    print "  part of it, Ir per request (calls per request):\n";
    for my $p (@parts) {
        my ($fn, $what) = @$p;
        next unless $incl{$fn};
        printf "  %8.0f  %5.1f%%  (%5.2f)  %-16s %s\n", $incl{$fn} / $requests,
            100 * $incl{$fn} / $total, $count->($fn), $fn, $what;
    }

    print "  commands called by the script, Ir per request (calls per request):\n";
    my @cmds = grep { /^[a-z]+Command$/ && !/^(eval|process|lookup)/ } keys %incl;
    for my $fn (sort { $incl{$b} <=> $incl{$a} } @cmds) {
        my $c = $count->($fn);
        next unless $c >= 0.01;
        printf "  %8.0f  %5.1f%%  (%5.2f)  %s\n", $incl{$fn} / $requests,
            100 * $incl{$fn} / $total, $c, $fn;
    }
}
