package Test::Nginx::Blocks;

# Private helper of the t/lib Test::Nginx::Socket stand-in.
#
# A small reimplementation of the part of Test::Base that Test::Nginx relies
# on: splitting the __DATA__ section of the test script into blocks
# ("=== TEST n: title") and sections ("--- name [filters]" or
# "--- name: inline value"), the "ONLY", "SKIP" and "LAST" markers, and the
# section filters (the default "norm trim" plus per-section filters such as
# "eval", "chomp", "chop", or a main::NAME function defined by the script).
#
# The parsing rules follow Test::Base 0.89 on purpose, quirks included, so
# that a .t file behaves the same with this driver and with the real
# Test::Nginx (which inherits from Test::Base).  In particular there is no
# comment syntax between blocks: text after the last section of a block
# (for example "# ..." lines) belongs to that section, exactly as with
# Test::Base.

use strict;
use warnings;

use Carp qw(croak);

our @DefaultFilters = qw(norm trim);   # Test::Base's default filters
our %FiltersMap;                       # section name => [filters] (filters({...}))

my $SpecText;      # the raw __DATA__ text
my $BlockList;     # arrayref of Test::Nginx::Blocks::Block once parsed
my $NextList;      # for next_block()

# Section names that would clash with the block object's own methods.
my %Reserved = map { $_ => 1 } qw(
    new DESTROY AUTOLOAD BEGIN END ISA EXPORT import can isa DOES VERSION
    name description seq_num is_filtered blocks_object original_values
    set_value run_filters block_accessor
);

sub spec_text {
    return $SpecText if defined $SpecText;
    no warnings 'once';
    my $fh = \*main::DATA;
    if (defined fileno($fh)) {
        local $/;
        $SpecText = <$fh>;
    }
    $SpecText = '' unless defined $SpecText;
    return $SpecText;
}

# Test::Base's "<<< perl code >>>" prelude at the very top of the data.
sub _pre_eval {
    my $spec = shift;
    return $spec unless $spec =~ s/\A\s*<<<(.*?)>>>\s*$//sm;
    my $code = $1;
    eval "package main; $code";
    croak $@ if $@;
    return $spec;
}

sub block_list {
    return $BlockList if $BlockList;

    my $spec = _pre_eval(spec_text());
    my @hunks = ($spec =~ /^(===.*?(?=^===|\z))/msg);

    my @blocks;
    for my $hunk (@hunks) {
        my $block = _make_block($hunk);
        if (exists $block->{ONLY}) {
            Test::More::diag("I found ONLY: maybe you're debugging?");
            @blocks = ($block);
            last;
        }
        next if exists $block->{SKIP};
        push @blocks, $block;
        last if exists $block->{LAST};
    }

    my $seq = 1;
    $_->seq_num($seq++) for @blocks;

    $BlockList = \@blocks;
    return $BlockList;
}

sub _make_block {
    my $hunk = shift;

    my $block = Test::Nginx::Blocks::Block->new;

    $hunk =~ s/\A===[ \t]*(.*)\s+// or die "bad block: $hunk";
    my $name = $1;

    my @parts = split /^--- +\(?(\w+)\)? *(.*)?\n/m, $hunk;

    my $description = shift @parts;
    $description = '' unless defined $description;
    $description = $name unless $description =~ /\S/;
    $description =~ s/\s*\z//;
    $block->set_value(description => $description);

    my (%section_map, @section_order);
    while (@parts) {
        my ($type, $filters, $value) = splice(@parts, 0, 3);

        croak "'$type' is a reserved name. Use something else.\n"
            if $Reserved{$type} || $type =~ /^_/;

        $value   = '' unless defined $value;
        $filters = '' unless defined $filters;

        # "--- name: value" (inline value, no filters applied but the defaults)
        if ($filters =~ /:(\s|\z)/) {
            croak "Extra lines not allowed in '$type' section"
                if $value =~ /\S/;
            ($filters, $value) = split /\s*:(?:\s+|\z)/, $filters, 2;
            $value = '' unless defined $value;
            $value =~ s/^\s*(.*?)\s*$/$1/;
        }

        $section_map{$type} = { filters => $filters };
        push @section_order, $type;
        $block->set_value($type, $value);
    }

    $block->set_value(name => $name);
    $block->{_section_map}   = \%section_map;
    $block->{_section_order} = \@section_order;

    return $block;
}

# blocks(): in scalar context the number of blocks (filters are not run, as
# with Test::Base, so "plan tests => 3 * blocks()" is cheap); in list
# context the blocks, filtered.  An optional section name restricts the
# result to the blocks having that section.
sub blocks {
    croak "Invalid arguments passed to 'blocks'" if @_ > 1;
    my $section = shift;
    croak "'$section' is invalid argument to blocks()"
        if defined $section && $section !~ /^[a-zA-Z]\w*$/;

    my @blocks = @{ block_list() };
    @blocks = grep { exists $_->{$section} } @blocks if $section;

    return scalar(@blocks) unless wantarray;

    for my $block (@blocks) {
        $block->run_filters unless $block->is_filtered;
    }
    return @blocks;
}

sub next_block {
    if (!$NextList || !@$NextList) {
        $NextList = [@{ block_list() }, undef];
    }
    my $block = shift @$NextList;
    $block->run_filters if defined $block && !$block->is_filtered;
    return $block;
}

sub first_block {
    $NextList = [];
    return next_block();
}

# filters('a', 'b') adds default filters; filters({ section => [...] })
# sets per-section filters, as in Test::Base.
sub filters {
    if (ref $_[0] eq 'HASH') {
        %FiltersMap = %{ $_[0] };
    } else {
        push @DefaultFilters, @_;
    }
    return;
}

#-----------------------------------------------------------------------------
package Test::Nginx::Blocks::Block;

use strict;
use warnings;
use Carp ();

sub new { return bless { original_values => {} }, shift }

# Unknown sections read as undef (empty list in list context).
sub AUTOLOAD { return }
sub DESTROY { }

sub block_accessor {
    my $accessor = shift;
    no strict 'refs';
    return if defined &{"Test::Nginx::Blocks::Block::$accessor"};
    *{"Test::Nginx::Blocks::Block::$accessor"} = sub {
        my $self = shift;
        Carp::croak("Not allowed to set values for '$accessor'") if @_;
        my @list = @{ $self->{$accessor} || [] };
        return wantarray ? @list : $list[0];
    };
}

block_accessor('name');
block_accessor('description');

# simple read/write fields
for my $field (qw(seq_num is_filtered blocks_object)) {
    no strict 'refs';
    *{"Test::Nginx::Blocks::Block::$field"} = sub {
        my $self = shift;
        $self->{"_$field"} = shift if @_;
        return $self->{"_$field"};
    };
}

sub original_values { return $_[0]->{original_values} }

sub set_value {
    my $self = shift;
    my $accessor = shift;
    block_accessor($accessor);
    $self->{$accessor} = [@_];
    return;
}

sub _get_filters {
    my ($self, $type, $string) = @_;
    $string = '' unless defined $string;
    $string =~ s/\s*(.*?)\s*/$1/;

    my $map = $Test::Nginx::Blocks::FiltersMap{$type} || [];
    $map = [$map] unless ref $map;

    my (@filters, @append);
    for my $filter (@Test::Nginx::Blocks::DefaultFilters, @$map,
                    split(/\s+/, $string))
    {
        last unless length $filter;
        if ($filter =~ s/^-//) {
            @filters = grep { $_ ne $filter } @filters;
        } elsif ($filter =~ s/^\+//) {
            push @append, $filter;
        } else {
            push @filters, $filter;
        }
    }
    return (@filters, @append);
}

sub run_filters {
    my $self = shift;
    Carp::croak("Attempt to filter a block twice") if $self->is_filtered;

    my $map = $self->{_section_map} || {};
    for my $type (@{ $self->{_section_order} || [] }) {
        my @value = @{ $self->{$type} || [] };
        $self->{original_values}{$type} = $value[0];

        for my $filter ($self->_get_filters($type, $map->{$type}{filters})) {
            $Test::Nginx::Blocks::Filter::arguments =
                $filter =~ s/=(.*)$// ? $1 : undef;

            my $function = "main::$filter";
            no strict 'refs';
            if (defined &$function) {
                # a filter function defined by the test script
                local $_ = (@value == 1 && !defined $value[0])
                           ? undef : join '', @value;
                my $old = $_;
                @value = &$function(@value);
                if (!@value
                    || (@value == 1 && defined $value[0]
                        && $value[0] =~ /\A(\d+|)\z/))
                {
                    @value = ($_);
                }
            } else {
                my $obj = Test::Nginx::Blocks::Filter->new($self);
                die "Can't find a function or method for '$filter' filter\n"
                    unless $obj->can($filter);
                @value = $obj->$filter(@value);
            }
            $self->set_value($type, @value);
        }
    }
    $self->is_filtered(1);
    return;
}

#-----------------------------------------------------------------------------
# The stock Test::Base filters that make sense for Test::Nginx files.
package Test::Nginx::Blocks::Filter;

use strict;
use warnings;

our $arguments;

sub new { my ($class, $block) = @_; return bless { block => $block }, $class }

sub current_block { return $_[0]->{block} }

sub current_arguments {
    return undef unless defined $arguments;
    my $args = $arguments;
    $args =~ s/(\\s)/ /g;
    $args =~ s/(\\[a-z])/'"' . $1 . '"'/gee;
    return $args;
}

sub _scalar {
    my ($self, $filter, @args) = @_;
    Carp::croak("Input to the '$filter' filter must be a scalar, not a list")
        unless @args == 1;
    return $args[0];
}

sub norm {
    my $self = shift;
    my $text = $self->_scalar('norm', @_);
    $text = '' unless defined $text;
    $text =~ s/\015\012/\n/g;
    $text =~ s/\r/\n/g;
    return $text;
}

sub trim {
    my $self = shift;
    return map {
        s/\A([ \t]*\n)+//;
        s/(?<=\n)\s*\z//g;
        $_;
    } @_;
}

sub chomp { my $self = shift; return map { CORE::chomp; $_ } @_ }
sub chop  { my $self = shift; return map { CORE::chop;  $_ } @_ }
sub unchomp { my $self = shift; return map { $_ . "\n" } @_ }

# "--- section eval": the value is Perl code; its value(s) become the section
# value.  Like Test::Base, an error message becomes the value on failure (a
# warning is printed as well, which Test::Base does not do).
sub eval {
    my $self = shift;
    my $code = $self->_scalar('eval', @_);
    my @return = CORE::eval($code);
    if ($@) {
        my $name = $self->current_block ? $self->current_block->name : '?';
        warn "$name - eval filter failed: $@";
        return $@;
    }
    return @return;
}

sub escape {
    my $self = shift;
    my $text = $self->_scalar('escape', @_);
    $text =~ s/(\\.)/CORE::eval "qq{$1}"/ge;
    return $text;
}

sub lines {
    my $self = shift;
    my $text = $self->_scalar('lines', @_);
    return () unless length $text;
    return ($text =~ /^(.*\n?)/gm);
}

sub join {
    my $self = shift;
    my $string = $self->current_arguments;
    $string = '' unless defined $string;
    return CORE::join($string, @_);
}

sub split {
    my $self = shift;
    my $text = $self->_scalar('split', @_);
    my $sep = $self->current_arguments;
    if (defined $sep && $sep =~ s{^/(.*)/$}{$1}) {
        $sep = qr{$sep};
    }
    $sep = qr/\s+/ unless $sep;
    return CORE::split($sep, $text);
}

sub array { my $self = shift; return [@_] }
sub hash  { my $self = shift; return +{@_} }
sub reverse { my $self = shift; return CORE::reverse(@_) }
sub sort    { my $self = shift; return CORE::sort(@_) }

sub head {
    my $self = shift;
    my $size = $self->current_arguments || 1;
    return splice(@_, 0, $size);
}

sub tail {
    my $self = shift;
    my $size = $self->current_arguments || 1;
    return splice(@_, @_ - $size, $size);
}

sub append {
    my $self = shift;
    my $suffix = $self->current_arguments;
    return map { $_ . $suffix } @_;
}

sub prepend {
    my $self = shift;
    my $prefix = $self->current_arguments;
    return map { $prefix . $_ } @_;
}

sub regexp {
    my $self = shift;
    my $text = $self->_scalar('regexp', @_);
    my $flags = $self->current_arguments;
    if ($text =~ /\n.*?\n/s) {
        $flags = 'xism' unless defined $flags;
    } else {
        CORE::chomp($text);
    }
    $flags ||= '';
    my $re = CORE::eval "qr{$text}$flags";
    die $@ if $@;
    return $re;
}

sub base64_decode {
    my $self = shift;
    require MIME::Base64;
    return MIME::Base64::decode_base64($self->_scalar('base64_decode', @_));
}

sub base64_encode {
    my $self = shift;
    require MIME::Base64;
    return MIME::Base64::encode_base64($self->_scalar('base64_encode', @_));
}

sub strict {
    my $self = shift;
    return "use strict;\nuse warnings;\n" . $self->_scalar('strict', @_);
}

1;
