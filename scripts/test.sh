#!/usr/bin/env bash
#
# make test: builds the module, starts a private redis-server on a free
# port, runs the whole Test::Nginx suite with prove, stops what it started.
#
# With the real Test::Nginx installed (perl -MTest::Nginx::Socket), prove
# uses it; otherwise our driver in t/lib.  TEST_NGINX_DRIVER chooses (see
# below).  Extra arguments go to prove (e.g. scripts/test.sh t/001-session.t).

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# shellcheck source=scripts/common.sh
. scripts/common.sh

need_packages redis-server redis-tools nginx-core perl procps openssl
scripts/build.sh

# The Spring interop tests (t/05*-spring*.t) run the real Spring Boot app:
# its jars are built with Maven the first time (about a minute from an empty
# Maven repository), then only when t/spring changes; up to date, this costs
# nothing.  Not for a run of other test files only.
if [ $# -eq 0 ] || printf '%s\n' "$@" | grep -q 'spring'; then
    scripts/spring.sh
fi

work=$(mktemp -d /tmp/shared-session-test.XXXXXX)
redis_pid=

cleanup() {
    if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
        kill "$redis_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$redis_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(free_port)

redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!

for _ in $(seq 100); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
done
redis-cli -p "$port" ping | grep -q PONG || {
    echo "redis-server did not start:" >&2
    cat "$work/redis.log" >&2
    exit 1
}

export TEST_NGINX_REDIS_HOST=127.0.0.1
export TEST_NGINX_REDIS_PORT=$port
# an nginx with the module compiled in (make asan) sets this to ""
export TEST_NGINX_LOAD_MODULES=${TEST_NGINX_LOAD_MODULES-$top/build/ngx_http_shared_session_module.so}
export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}

# The driver: TEST_NGINX_DRIVER=lib forces ours in t/lib; a directory
# (e.g. ../shared/test-nginx/lib) forces the real Test::Nginx found there,
# with t/lib kept off @INC; unset, the system's Test::Nginx when installed,
# ours otherwise.
driver=${TEST_NGINX_DRIVER:-}
inc=()
case $driver in
'')
    perl -MTest::Nginx::Socket -e 1 2>/dev/null || inc=(-I "$top/t/lib")
    ;;
lib)
    inc=(-I "$top/t/lib")
    ;;
*)
    [ -f "$driver/Test/Nginx/Socket.pm" ] || {
        echo "TEST_NGINX_DRIVER=$driver: no Test/Nginx/Socket.pm there" >&2
        exit 1
    }
    need_packages libtest-base-perl libtest-longstring-perl \
        liblist-moreutils-perl libwww-perl libhttp-message-perl \
        liburi-perl libipc-run-perl
    inc=(-I "$(cd "$driver" && pwd)")
    ;;
esac
perl "${inc[@]}" -MTest::Nginx::Socket -e \
    'print STDERR "Test::Nginx::Socket: $INC{q(Test/Nginx/Socket.pm)}\n"'

if [ $# -eq 0 ]; then
    # not "-r t": t/e2e holds node_modules
    set -- t/*.t t/lib/selftest/*.t
fi

# nginx daemonizes; the subreaper reaps its masters at once (see there)
scripts/subreaper.pl prove "${inc[@]}" "$@"
