#!/usr/bin/env bash
#
# Fetches nginx 1.22.1's upstream source from Debian's source archive into
# build/nginx-1.22.1 (apt's own client, a private source list: the system's
# apt configuration is not touched) and checks the tarball's checksum.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dest=$top/build
version=1.22.1
debian_revision=1.22.1-9+deb12u9
sha256=9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31

if [ -f "$dest/nginx-$version/configure" ]; then
    echo "$dest/nginx-$version"
    exit 0
fi

d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/lists/partial" "$d/parts" "$dest"

sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
    > "$d/parts/src.sources"
o=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$d/parts"
   -o Dir::State::Lists="$d/lists")

apt-get "${o[@]}" update >/dev/null
(cd "$d" && apt-get "${o[@]}" source --download-only "nginx=$debian_revision" \
    >/dev/null)

echo "$sha256  $d/nginx_$version.orig.tar.gz" | sha256sum -c --quiet -
tar -xzf "$d/nginx_$version.orig.tar.gz" -C "$dest"
echo "$dest/nginx-$version"
