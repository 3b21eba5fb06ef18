#!/usr/bin/env bash
#
# Builds build/ngx_http_shared_session_module.so: the one build script,
# used by "make", "make test" and the Dockerfile.
#
#   scripts/build.sh                  against Debian's nginx-dev
#   NGINX_SRC=/path/to/nginx-x.y.z scripts/build.sh
#                                     against an upstream source tree
#                                     (NGINX_CONFIGURE_ARGS adds flags; the
#                                     .so must match the nginx that loads it)
#
# Missing Debian packages are installed when run as root, named otherwise.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
nginx_src=${NGINX_SRC:-/usr/share/nginx/src}

# shellcheck source=scripts/common.sh
. "$top/scripts/common.sh"

pkgs=(gcc make libc6-dev libhiredis-dev libcjson-dev libpcre2-dev
      libssl-dev zlib1g-dev)
[ -z "${NGINX_SRC:-}" ] && pkgs+=(nginx-dev)
need_packages "${pkgs[@]}"

mkdir -p "$build"

# configure writes into the tree: work on a copy, never on the system's
if [ -z "${NGINX_SRC:-}" ]; then
    tree=$build/nginx-dev
    # shellcheck disable=SC1091
    . "$nginx_src/conf_flags"
    flags=("${NGX_CONF_FLAGS[@]}")
else
    tree=$build/nginx-$(basename "$nginx_src")
    read -r -a flags <<< "--with-compat ${NGINX_CONFIGURE_ARGS:-}"
fi

if [ ! -f "$tree/configure" ] || [ "$nginx_src/configure" -nt "$tree/configure" ]
then
    rm -rf "$tree"
    mkdir -p "$tree"
    cp -a "$nginx_src/." "$tree/"
fi

cd "$tree"

stamp=$top/config:${flags[*]}:${NGINX_CC_OPT:-}:${NGINX_LD_OPT:-}
if [ ! -f objs/Makefile ] || [ "$(cat objs/.ss-stamp 2>/dev/null)" != "$stamp" ] \
   || [ "$top/config" -nt objs/Makefile ]
then
    ./configure "${flags[@]}" \
        ${NGINX_CC_OPT:+--with-cc-opt="$NGINX_CC_OPT"} \
        ${NGINX_LD_OPT:+--with-ld-opt="$NGINX_LD_OPT"} \
        --add-dynamic-module="$top" > "$build/configure.log" 2>&1 \
        || { tail -30 "$build/configure.log"; exit 1; }
    echo "$stamp" > objs/.ss-stamp
fi

make -f objs/Makefile modules > "$build/make.log" 2>&1 \
    || { cat "$build/make.log"; exit 1; }

if grep -q 'warning:' "$build/make.log"; then
    grep -B2 -A4 'warning:' "$build/make.log"
    exit 1
fi

# a running nginx maps the old file: replace it, never rewrite it in place
cp objs/ngx_http_shared_session_module.so "$build/.module.so.tmp"
mv -f "$build/.module.so.tmp" "$build/ngx_http_shared_session_module.so"
echo "built $build/ngx_http_shared_session_module.so"
