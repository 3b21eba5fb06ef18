#!/usr/bin/env bash
#
# make asan: builds nginx 1.22.1 from upstream source with the module
# compiled in (--add-module) under AddressSanitizer and UBSan, into
# build/asan/, and runs the whole suite with it.  Extra arguments go to
# prove, as with scripts/test.sh.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# shellcheck source=scripts/common.sh
. scripts/common.sh

need_packages gcc make libc6-dev libhiredis-dev libcjson-dev libpcre2-dev \
    libssl-dev zlib1g-dev

src=$(scripts/nginx-src.sh | tail -1)
tree=$top/build/asan/nginx
bin=$tree/objs/nginx

if [ ! -f "$tree/configure" ]; then
    rm -rf "$tree"
    mkdir -p "$tree"
    cp -a "$src/." "$tree/"
fi

cd "$tree"

san="-fsanitize=address,undefined -fno-omit-frame-pointer"
flags=(--with-compat --with-debug --with-http_ssl_module
       --with-http_sub_module --with-http_realip_module
       --with-http_auth_request_module --with-http_stub_status_module
       --with-cc-opt="$san -g -O1" --with-ld-opt="$san"
       --add-module="$top")

if [ ! -f objs/Makefile ] || [ "$top/config" -nt objs/Makefile ] \
   || [ "$(cat objs/.ss-stamp 2>/dev/null)" != "${flags[*]}" ]
then
    ./configure "${flags[@]}" > "$top/build/asan/configure.log" 2>&1 \
        || { tail -30 "$top/build/asan/configure.log"; exit 1; }
    echo "${flags[*]}" > objs/.ss-stamp
fi

make -j"$(nproc)" > "$top/build/asan/make.log" 2>&1 \
    || { tail -50 "$top/build/asan/make.log"; exit 1; }

cd "$top"

# nginx's own exit-time allocations are not reported: leaks are checked
# with valgrind (TEST_NGINX_USE_VALGRIND=1), which has per-frame suppressions
report=$top/build/asan/report
rm -f "$report".*
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:log_path=$report}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:log_path=$report:suppressions=$top/t/ubsan.supp}
export TEST_NGINX_BINARY=$bin
export TEST_NGINX_LOAD_MODULES=

rc=0
scripts/test.sh "$@" || rc=$?

if compgen -G "$report.*" > /dev/null; then
    echo "AddressSanitizer/UBSan reports:" >&2
    cat "$report".* >&2
    exit 1
fi

exit $rc
