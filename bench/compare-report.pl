#!/usr/bin/perl
#
# compare-report.pl BEFORE AFTER [TOP]: the before/after tables of
# bench/compare.sh, in Markdown.  BEFORE and AFTER are results directories
# of "bench/run.sh memory profile" (build/bench/results, copied).  Prints:
#
#   1. per target: nginx instructions per request, Redis instructions per
#      request inside EVALSHA, heap blocks and bytes per request;
#   2. for the reused session: self cost by library; the TOP functions by
#      self cost (the union of both runs' top lists); the module's,
#      hiredis's and cJSON's functions by inclusive cost; malloc family
#      calls per request.
#
# Per-function numbers come from bench/callgrind-report.pl --tsv; a
# function found in one run only shows "-" on the other side.  Core Perl.

use strict;
use warnings;
use File::Basename qw(dirname);

my ($before, $after, $top) = @ARGV;
die "usage: $0 BEFORE_RESULTS AFTER_RESULTS [TOP]\n"
    unless defined $after && -d $before && -d $after;
$top //= 20;
my $report = dirname(__FILE__) . '/callgrind-report.pl';

# kv DIR NAME: the k=v pairs of a results file
sub kv {
    my ($dir, $name) = @_;
    my %h;
    open my $fh, '<', "$dir/$name" or return \%h;
    local $/;
    my $text = <$fh>;
    close $fh;
    $h{$1} = $2 while $text =~ /(\w+)=(\S*)/g;
    return \%h;
}

# tsv DIR TARGET: callgrind-report.pl --tsv of the target's nginx profile
sub tsv {
    my ($dir, $t) = @_;
    my $n = kv($dir, "prof-$t")->{requests};
    my $file = "$dir/prof-$t.callgrind";
    my %d = (self => {}, lib => {}, incl => {}, malloc => {}, fnlib => {});
    return \%d unless $n && -f $file;
    open my $fh, '-|', 'perl', $report, '--tsv', $file, $n
        or die "$report: $!\n";
    while (<$fh>) {
        chomp;
        my @f = split /\t/;
        if ($f[0] eq 'total') {
            $d{total} = $f[1];
        } elsif ($f[0] eq 'self') {
            $d{self}{ $f[1] } = $f[3];
            $d{fnlib}{ $f[1] } = $f[2];
        } elsif ($f[0] =~ /^(lib|incl|malloc)$/) {
            $d{ $f[0] }{ $f[1] } = $f[2];
        }
    }
    close $fh;
    return \%d;
}

# redis_calls DIR TARGET: redis.call()s per request, from the Redis report
sub redis_calls {
    my ($dir, $t) = @_;
    open my $fh, '<', "$dir/prof-redis-$t.report" or return undef;
    while (<$fh>) {
        return $1 if /\(\s*([\d.]+)\)\s+scriptCall\b/;
    }
    return undef;
}

# num VALUE [DECIMALS]: with thousands separators; "-" if none
sub num {
    my ($v, $dec) = @_;
    return '-' unless defined $v && $v ne '';
    my $s = sprintf "%.${\ ($dec // 0)}f", $v;
    1 while $s =~ s/^(-?\d+)(\d{3})/$1,$2/;
    return $s;
}

# change BEFORE AFTER [DECIMALS]: "+1,234 (+5%)"
sub change {
    my ($x, $y, $dec) = @_;
    return '-' unless defined $x && defined $y && $x ne '' && $y ne '';
    my $d = $y - $x;
    my $s = num($d, $dec);
    $s =~ s/^-(?=[0.,]+$)//;        # no "-0"
    $s = "+$s" if $s !~ /^-/ && $s =~ /[1-9]/;
    if ($x > 0) {
        (my $pc = sprintf '%+.0f', 100 * $d / $x) =~ s/^[-+]0$/0/;
        $s .= " ($pc%)";
    }
    return $s;
}

my @targets = grep { -f "$before/prof-$_" || -f "$after/prof-$_" }
              qw(plain reused new require);

print "| target | nginx Ir/req before | after | change | Redis Ir/req"
    . " in EVALSHA before | after | change | heap blocks/req before | after"
    . " | heap bytes/req before | after | requests profiled |\n";
print "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
my @few;
for my $t (@targets) {
    my ($pb, $pa) = (kv($before, "prof-$t"), kv($after, "prof-$t"));
    my ($mb, $ma) = (kv($before, "mem-$t"), kv($after, "mem-$t"));
    my @r = ($pb->{redis_ir_per_request}, $pa->{redis_ir_per_request});
    @r = (undef, undef) if $t eq 'plain';
    for ([before => $pb], [after => $pa]) {
        my ($side, $p) = @$_;
        push @few, "$t $side: $p->{requests}"
            if defined $p->{requests} && $p->{requests} < 300;
    }
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $t,
        num($pb->{ir_per_request}), num($pa->{ir_per_request}),
        change($pb->{ir_per_request}, $pa->{ir_per_request}),
        num($r[0]), num($r[1]), change($r[0], $r[1]),
        num($mb->{allocs}, 2), num($ma->{allocs}, 2),
        num($mb->{bytes}), num($ma->{bytes}),
        join('/', map { $_->{requests} // '-' } $pb, $pa);
}
# wrk's 4 connections (accept, the first request's buffers) and a run's
# timers are counted too: over a few hundred requests they are noise,
# over a few dozen (a machine busy enough to starve valgrind) they are not
printf "\nWARNING: few requests profiled (%s): the per-request numbers"
    . " carry the connections' and timers' fixed cost; run again on a"
    . " quieter machine or with a longer BENCH_PROFILE_DURATION.\n",
    join(', ', @few) if @few;

my $t = 'reused';
my ($bef, $aft) = (tsv($before, $t), tsv($after, $t));
unless (defined $bef->{total} && defined $aft->{total}) {
    print "\n(no callgrind profile of the reused target on both sides)\n";
    exit 0;
}
my ($cb, $ca) = (redis_calls($before, $t), redis_calls($after, $t));
printf "\nReused session: redis.call()s per request %s -> %s.\n",
    num($cb, 2), num($ca, 2) if defined $cb || defined $ca;

# larger KIND NAME: the larger of the two runs' numbers
sub larger {
    my ($kind, $name) = @_;
    my $x = $bef->{$kind}{$name} // 0;
    my $y = $aft->{$kind}{$name} // 0;
    return $x > $y ? $x : $y;
}

print "\nReused session, nginx instructions per request by library"
    . " (self cost):\n\n";
print "| library | before | after | change |\n|---|---|---|---|\n";
my %libs = map { $_ => 1 } keys %{ $bef->{lib} }, keys %{ $aft->{lib} };
for my $l (sort { larger('lib', $b) <=> larger('lib', $a) } keys %libs) {
    printf "| %s | %s | %s | %s |\n", $l, num($bef->{lib}{$l}),
        num($aft->{lib}{$l}),
        change($bef->{lib}{$l} // 0, $aft->{lib}{$l} // 0);
}
printf "| total | %s | %s | %s |\n", num($bef->{total}), num($aft->{total}),
    change($bef->{total}, $aft->{total});

# the N largest of a run's KIND
sub top_of {
    my ($h, $n) = @_;
    my @k = sort { $h->{$b} <=> $h->{$a} || $a cmp $b } keys %$h;
    return @k[0 .. ($n < @k ? $n : @k) - 1];
}

# table KIND N WITH_LIB: the union of both runs' top N, by the larger
sub table {
    my ($kind, $n, $with_lib) = @_;
    my %u = map { $_ => 1 } top_of($bef->{$kind}, $n),
                            top_of($aft->{$kind}, $n);
    for my $f (sort { larger($kind, $b) <=> larger($kind, $a) || $a cmp $b }
               keys %u) {
        my ($x, $y) = ($bef->{$kind}{$f}, $aft->{$kind}{$f});
        my $lib = $aft->{fnlib}{$f} // $bef->{fnlib}{$f} // '';
        printf "| `%s` |%s %s | %s | %s |\n", $f,
            $with_lib ? " $lib |" : '', num($x), num($y),
            change($x // 0, $y // 0);
    }
}

print "\nReused session, the top $top functions by self cost (before or"
    . " after), nginx instructions per request:\n\n";
print "| function | library | before | after | change |\n";
print "|---|---|---|---|---|\n";
table('self', $top, 1);

print "\nReused session, the module's, hiredis's and cJSON's functions by"
    . " inclusive cost (top $top before or after), instructions per"
    . " request:\n\n";
print "| function | before | after | change |\n|---|---|---|---|\n";
table('incl', $top, 0);

print "\nmalloc family calls per reused request (callgrind's call graph):";
for my $f (qw(malloc calloc realloc posix_memalign free)) {
    my ($x, $y) = ($bef->{malloc}{$f} // 0, $aft->{malloc}{$f} // 0);
    next unless $x || $y;
    printf " %s %s -> %s;", $f, num($x, 2), num($y, 2);
}
print "\n";
