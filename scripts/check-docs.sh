#!/usr/bin/env bash
# make check-docs: the documentation's links and the directive reference.
#
# Fails (exit 1, one line per problem) when, in any Markdown file of the
# checkout (git's tracked and untracked-but-not-ignored *.md: README.md,
# docs/, CONTRIBUTING.md, bench/, fuzz/, t/...):
#
#   * a relative link [text](path) or [ref]: path names a file or folder
#     that does not exist;
#   * a link's #anchor, in the same file or in another .md file, matches no
#     heading there.  Slugs follow GitHub's rules: the heading's text (code
#     spans and links reduced to their text), lowercased, every character
#     that is not a letter, digit, space, "-" or "_" dropped, spaces made
#     "-"; a repeated slug gets "-1", "-2", ...  <a name="x"> and
#     <a id="x"> also count.  Anchors into other kinds of files (a .c file's
#     #L10) are not checked;
#   * a directive of the module's command tables has no "Syntax:" block in
#     README.md.  The command tables are the ngx_command_t arrays of
#     ngx_http_shared_session_module.c and src/*.c (so $shared_session_*
#     variables, which share names with directives, do not count);
#   * a directive of a shared_session_redis_upstream block is not named
#     (as `name` or `name ...`) in README.md's section on the block, the
#     one under "### shared_session_redis_upstream".  Those are not
#     ngx_command_t entries: the block's handler reads them
#     from the table ngx_http_shared_session_upstream_directives[], each
#     the location-level directive of the same setting without its
#     "shared_session_redis_" prefix, whose Syntax block documents it.
#
# Links inside fenced code blocks and code spans are not links.  Needs bash
# and perl (core modules only).

set -euo pipefail
cd "$(dirname "$0")/.."

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files --cached --others --exclude-standard \
                             -- '*.md' | sort -u)
    mapfile -t known < <(git ls-files --cached --others --exclude-standard)
else
    mapfile -t files < <(find . -name '*.md' -not -path './build/*' \
                             -printf '%P\n' | sort)
    mapfile -t known < <(find . -type f -not -path './build/*' \
                             -printf '%P\n')
fi

sources=(ngx_http_shared_session_module.c src/*.c)

printf '%s\n' "${known[@]}" | CHECK_DOCS_SOURCES="${sources[*]}" perl -e '
use strict;
use warnings;

my @sources = split / /, $ENV{CHECK_DOCS_SOURCES};
my @md = @ARGV;
my (%known, %dirs);

while (my $f = <STDIN>) {
    chomp $f;
    next unless length $f && -e $f;      # deleted but still in the index
    $known{$f} = 1;
    my $d = $f;
    $dirs{$d} = 1 while $d =~ s{/[^/]*$}{};
}
$dirs{"."} = 1;

my $errors = 0;
sub problem { print STDERR "check-docs: @_\n"; $errors++; }

sub slug {
    my ($t) = @_;
    $t =~ s/`([^`]*)`/$1/g;                      # code spans
    $t =~ s/!?\[([^\]]*)\]\([^)]*\)/$1/g;        # links, images
    $t =~ s/<[^>]+>//g;                          # inline HTML
    $t =~ s/\s+$//;
    $t = lc $t;
    $t =~ s/[^\p{L}\p{N}\p{Mn}\p{Pc} \-]//g;     # keeps "_" (Pc) and "-"
    $t =~ tr/ /-/;
    return $t;
}

# the lines of a Markdown file outside fenced code blocks, with numbers
sub prose_lines {
    my ($file) = @_;
    open my $fh, "<:encoding(UTF-8)", $file or die "$file: $!\n";
    my ($fence, @out) = ("");
    while (my $l = <$fh>) {
        chomp $l;
        if ($fence eq "") {
            if ($l =~ /^ {0,3}(`{3,}|~{3,})/) { $fence = $1; next; }
            push @out, [$., $l];
        } elsif ($l =~ /^ {0,3}\Q$fence\E[`~]*\s*$/) {
            $fence = "";
        }
    }
    return @out;
}

my %anchors_of;
sub anchors {
    my ($file) = @_;
    return $anchors_of{$file} if $anchors_of{$file};
    my (%a, %seen);
    for my $pl (prose_lines($file)) {
        my $l = $pl->[1];
        if ($l =~ /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/) {
            my $s = slug($1);
            my $n = $seen{$s}++;
            $a{$n ? "$s-$n" : $s} = 1;
        }
        $a{lc $1} = 1 while $l =~ /<a\s+(?:name|id)="([^"]+)"/gi;
    }
    return $anchors_of{$file} = \%a;
}

sub normalize {
    my @out;
    for my $p (split m{/}, shift) {
        next if $p eq "" || $p eq ".";
        if ($p eq "..") { return undef unless @out; pop @out; next; }
        push @out, $p;
    }
    return @out ? join("/", @out) : ".";
}

for my $file (@md) {
    (my $dir = $file) =~ s{/?[^/]*$}{};
    $dir = "." if $dir eq "";
    for my $pl (prose_lines($file)) {
        my ($n, $l) = @$pl;
        next if $l =~ /^(?: {4}|\t)/ && $l !~ /^\s*[*\-+]|^\s*\d+\./;
        $l =~ s/(`+).*?\1//g;                    # code spans
        my @targets;
        push @targets, $1 while $l =~ /\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g;
        push @targets, $1 if $l =~ /^ {0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/;
        for my $t (@targets) {
            next if $t eq "" || $t =~ m{^[a-zA-Z][a-zA-Z0-9+.-]*:} || $t =~ m{^//};
            my ($path, $anchor) = $t =~ /^([^#?]*)(?:\?[^#]*)?(?:#(.*))?$/;
            $path =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
            my $target = $file;
            if ($path ne "") {
                $target = $path =~ m{^/} ? normalize(substr $path, 1)
                                         : normalize("$dir/$path");
                if (!defined $target
                    || !($known{$target} || $dirs{$target}))
                {
                    problem("$file:$n: link to a missing file: $t");
                    next;
                }
            }
            next unless defined $anchor && length $anchor;
            next unless $target =~ /\.md$/i && $known{$target};
            $anchor =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
            next if anchors($target)->{lc $anchor};
            problem("$file:$n: no heading for #$anchor"
                    . ($path ne "" ? " in $target" : "") . ": $t");
        }
    }
}

# the directives

my (@commands, @block);
for my $src (@sources) {
    open my $fh, "<", $src or die "$src: $!\n";
    my $text = do { local $/; <$fh> };
    while ($text =~ /ngx_command_t\s+\w+\s*\[\s*\]\s*=\s*\{(.*?)ngx_null_command/sg) {
        my $table = $1;
        push @commands, $1 while $table =~ /\{\s*ngx_string\("([^"]+)"\)/g;
    }
    while ($text =~ /ngx_http_shared_session_upstream_directive_t\s+\w+\s*\[\s*\]\s*=\s*\{(.*?)ngx_null_string/sg) {
        my $table = $1;
        push @block, [$1, $2]
            while $table =~ /\{\s*ngx_string\("([^"]+)"\)\s*,\s*ngx_string\("([^"]+)"\)/g;
    }
}
problem("no ngx_command_t table found in @sources") unless @commands;

my (%syntax, %named, $in_block);
for my $pl (prose_lines("README.md")) {
    my $l = $pl->[1];
    $syntax{$1} = 1 if $l =~ /^\s*Syntax:\s+([a-z0-9_]+)(?=[\s;]|$)/;
    $in_block = $1 eq "shared_session_redis_upstream"
        if $l =~ /^#{1,6}\s+(\S+)/;
    next unless $in_block;
    $named{$1} = 1 while $l =~ /`([a-z0-9_]+)[\s;`]/g;
}
for my $c (@commands) {
    problem("README.md: directive $c has no \"Syntax:\" block")
        unless $syntax{$c};
}
for my $b (@block) {
    my ($name, $loc) = @$b;
    problem("README.md: block directive \"$name\" is not named in the"
            . " section on shared_session_redis_upstream")
        unless $named{$name};
    problem("README.md: block directive \"$name\" stands for $loc,"
            . " which has no \"Syntax:\" block")
        unless $syntax{$loc};
}

printf "check-docs: %d Markdown files, %d directives, %d block directives: %s\n",
    scalar @md, scalar @commands, scalar @block,
    $errors ? "$errors problem(s)" : "ok";
exit($errors ? 1 : 0);
' "${files[@]}"
