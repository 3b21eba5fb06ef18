#!/usr/bin/env bash
#
# Writes the golden streams of Golden.java into DIR (default: the seeds in
# fuzz/corpus/fuzz_jdk/) and their manifest into DIR/../golden.txt or
# MANIFEST: compiles each version of SampleSession and Golden with javac
# (JDK 17) in a temporary directory.
#
#   fuzz/jdk/golden.sh                      regenerate the committed files
#   fuzz/jdk/golden.sh DIR MANIFEST         elsewhere (t/055-jdk-codec.t)

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/../corpus/fuzz_jdk}
manifest=${2:-$here/golden.txt}

command -v javac > /dev/null || {
    echo "golden.sh: no javac (Debian: openjdk-17-jdk-headless)" >&2
    exit 2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$dir"
rm -f "$dir"/golden-*
: > "$work/manifest"

for set in seed suid1 extra; do
    mkdir -p "$work/$set"
    javac -d "$work/$set" "$here/$set/SampleSession.java"
done

javac -cp "$work/seed" -d "$work/golden" "$here/Golden.java"

for set in seed suid1 extra; do
    java -cp "$work/golden:$work/$set" Golden "$dir" "$set" >> "$work/manifest"
done

LC_ALL=C sort "$work/manifest" > "$manifest"
