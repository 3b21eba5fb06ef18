package PromText;

# A strict reader of the Prometheus text exposition format 0.0.4, for the
# status page's tests (t/060-status.t):
#
#   my $m = PromText::parse($text);     # dies with "line N: why" on the
#                                       # first thing that is not allowed
#   $m->{families}{$name}{type}         # counter, gauge, histogram, ...
#   $m->{families}{$name}{help}
#   $m->{samples}                       # [ { name, labels => {..},
#                                       #     value, family }, ... ]
#   PromText::value($m, $name, %labels) # the one sample that matches
#                                       # (dies if none or several)
#   PromText::sum($m, $name, %labels)   # the sum of those that match
#
# What it refuses, beyond the grammar (names [a-zA-Z_:][a-zA-Z0-9_:]*,
# label names [a-zA-Z_][a-zA-Z0-9_]* and not "__" reserved, label values
# with only \\ \" \n escapes, float values with +Inf/-Inf/NaN):
#   - HELP or TYPE given twice for a name, TYPE after the family's first
#     sample, a family whose samples are not together, a sample without
#     a TYPE (this exporter always writes one);
#   - the same series (name and label set) twice, a label twice in one set;
#   - a counter not named *_total, a histogram not named *_seconds;
#   - histogram series without le="+Inf", buckets not in increasing le
#     order or not cumulative, +Inf different from _count, a bucket
#     without _sum/_count or the reverse;
#   - a negative counter.
#
# Pure Perl, core modules only.

use strict;
use warnings;

my $NAME  = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $FLOAT = qr/[+-]?(?:Inf|NaN|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/;

sub _num {
    my ($v) = @_;
    return 9**9**9 if $v eq '+Inf' || $v eq 'Inf';
    return -9**9**9 if $v eq '-Inf';
    return 'NaN' if $v =~ /NaN/;
    return $v + 0;
}

# the family a sample belongs to: a histogram's _bucket/_sum/_count go to
# the histogram's name when it was declared
sub _family_of {
    my ($fam, $name) = @_;
    return $name if $fam->{$name};
    my ($base) = $name =~ /\A(.+)_(?:bucket|sum|count)\z/;
    return $base if defined $base && $fam->{$base}
                    && ($fam->{$base}{type} // '') =~ /\A(?:histogram|summary)\z/;
    return $name;
}

sub _labels {
    my ($text, $line) = @_;
    my %l;
    my @order;
    my $s = $text;
    while (length $s) {
        $s =~ s/\A($LABEL)="((?:[^"\\\n]|\\[\\"n])*)"//
            or die "line $line: bad label syntax at '$s'\n";
        my ($k, $v) = ($1, $2);
        die "line $line: reserved label name $k\n" if $k =~ /\A__/;
        die "line $line: label $k twice\n" if exists $l{$k};
        $v =~ s/\\(["\\n])/$1 eq 'n' ? "\n" : $1/ge;
        $l{$k} = $v;
        push @order, $k;
        last unless length $s;
        $s =~ s/\A,// or die "line $line: expected ',' at '$s'\n";
        # a trailing comma is allowed by the format
    }
    return \%l;
}

sub parse {
    my ($text) = @_;
    my %fam;           # name => { type, help, closed, seen }
    my @samples;
    my %series;
    my $current = '';  # family of the previous sample
    my $n = 0;

    die "line 0: the text does not end with a line feed\n"
        if length $text && $text !~ /\n\z/;

    for my $line (split /\n/, $text) {
        $n++;
        next if $line eq '';

        if ($line =~ /\A#/) {
            if ($line =~ /\A# (HELP|TYPE) (\S+)(?: (.*))?\z/) {
                my ($kw, $name, $rest) = ($1, $2, $3 // '');
                die "line $n: bad metric name '$name'\n"
                    unless $name =~ /\A$NAME\z/;
                my $f = $fam{$name} //= { name => $name };
                die "line $n: $kw $name given twice\n" if $f->{lc $kw}++;
                if ($kw eq 'TYPE') {
                    die "line $n: TYPE of $name after its samples\n"
                        if $f->{seen};
                    die "line $n: unknown type '$rest'\n"
                        unless $rest =~ /\A(?:counter|gauge|histogram|summary|untyped)\z/;
                    $f->{type} = $rest;
                } else {
                    die "line $n: bad escape in HELP\n"
                        if $rest =~ /\\(?![\\n])/;
                    $f->{help} = $rest;
                }
                next;
            }
            next;    # another comment
        }

        $line =~ /\A($NAME)(?:\{(.*)\})?[ \t]+($FLOAT)(?:[ \t]+(-?\d+))?[ \t]*\z/
            or die "line $n: not a sample: '$line'\n";
        my ($name, $ltext, $value) = ($1, $2 // '', $3);
        my $labels = _labels($ltext, $n);
        my $family = _family_of(\%fam, $name);
        my $f = $fam{$family}
            or die "line $n: $name has no TYPE\n";
        die "line $n: $name has no TYPE\n" unless $f->{type};
        die "line $n: samples of $family are not together\n"
            if $f->{closed};
        if ($current ne $family) {
            $fam{$current}{closed} = 1 if $current ne '';
            $current = $family;
        }
        $f->{seen}++;

        my $key = $name . '{'
            . join(',', map { "$_=\"$labels->{$_}\"" } sort keys %$labels)
            . '}';
        die "line $n: series $key twice\n" if $series{$key}++;

        my $t = $f->{type};
        if ($t eq 'counter') {
            die "line $n: counter $name is not named *_total\n"
                unless $name =~ /_total\z/;
            die "line $n: counter $name is negative\n" if _num($value) < 0;
        }
        if ($t eq 'histogram') {
            die "line $n: histogram $family is not named *_seconds\n"
                unless $family =~ /_seconds\z/;
            die "line $n: $name is not _bucket, _sum or _count of $family\n"
                unless $name =~ /\A\Q$family\E_(?:bucket|sum|count)\z/;
            die "line $n: a bucket without le\n"
                if $name =~ /_bucket\z/ && !defined $labels->{le};
            die "line $n: le on $name\n"
                if $name !~ /_bucket\z/ && defined $labels->{le};
        }

        push @samples, { name => $name, labels => $labels, value => _num($value),
                         raw => $value, family => $family, line => $n };
    }

    _check_histograms(\%fam, \@samples);

    return { families => \%fam, samples => \@samples };
}

sub _check_histograms {
    my ($fam, $samples) = @_;
    my %h;    # family => series key without le => { buckets => [[le, v]], sum, count }
    for my $s (@$samples) {
        my $f = $fam->{ $s->{family} };
        next unless $f->{type} eq 'histogram';
        my %l = %{ $s->{labels} };
        my $le = delete $l{le};
        my $key = join ',', map { "$_=$l{$_}" } sort keys %l;
        my $e = $h{ $s->{family} }{$key} //= { buckets => [] };
        if ($s->{name} =~ /_bucket\z/) {
            die "line $s->{line}: bad le '$le'\n" unless $le =~ /\A$FLOAT\z/;
            push @{ $e->{buckets} }, [ _num($le), $s->{value}, $s->{line} ];
        } elsif ($s->{name} =~ /_sum\z/) {
            $e->{sum} = $s->{value};
        } else {
            $e->{count} = $s->{value};
        }
    }
    for my $family (sort keys %h) {
        for my $key (sort keys %{ $h{$family} }) {
            my $e = $h{$family}{$key};
            my $b = $e->{buckets};
            die "histogram $family {$key}: no buckets\n" unless @$b;
            die "histogram $family {$key}: no _sum\n" unless defined $e->{sum};
            die "histogram $family {$key}: no _count\n"
                unless defined $e->{count};
            for my $i (1 .. $#$b) {
                die "line $b->[$i][2]: le not increasing\n"
                    unless $b->[$i][0] > $b->[$i - 1][0];
                die "line $b->[$i][2]: buckets not cumulative\n"
                    unless $b->[$i][1] >= $b->[$i - 1][1];
            }
            die "histogram $family {$key}: the last bucket is not +Inf\n"
                unless $b->[-1][0] == 9**9**9;
            die "histogram $family {$key}: +Inf $b->[-1][1] != count "
                . "$e->{count}\n" unless $b->[-1][1] == $e->{count};
        }
    }
}

# the samples of $name whose labels include %want
sub find {
    my ($m, $name, %want) = @_;
    return grep {
        my $s = $_;
        $s->{name} eq $name
            && !grep { ($s->{labels}{$_} // "\0") ne $want{$_} } keys %want
    } @{ $m->{samples} };
}

sub value {
    my ($m, $name, %want) = @_;
    my @s = find($m, $name, %want);
    die "no sample $name " . join(',', %want) . "\n" unless @s;
    die scalar(@s) . " samples $name " . join(',', %want) . "\n" if @s > 1;
    return $s[0]{value};
}

sub sum {
    my ($m, $name, %want) = @_;
    my $t = 0;
    $t += $_->{value} for find($m, $name, %want);
    return $t;
}

1;
