#!/usr/bin/env bash
#
# bench/soak.sh ("make soak"): at least 100k requests, with reused
# sessions and without cookies at the same time, while redis-server is
# restarted twice; prints the nginx worker's RSS and open descriptors
# before and after, which must stay flat.
#
# Environment: SOAK_SECONDS [15] of load, SOAK_CONNECTIONS [32] per wrk.
# Everything listens on 127.0.0.1 on free ports, lives under build/soak/
# and is stopped on exit.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# shellcheck source=scripts/common.sh
. scripts/common.sh

SECONDS_OF_LOAD=${SOAK_SECONDS:-15}
CONNS=${SOAK_CONNECTIONS:-32}
NGINX=${NGINX:-/usr/sbin/nginx}

need_packages wrk redis-server redis-tools nginx-core curl procps
scripts/build.sh > /dev/null

work=$top/build/soak
rm -rf "$work"
mkdir -p "$work"/{redis,nginx/conf,nginx/logs,nginx/tmp}

redis_port=$(free_port)
nginx_port=$(free_port)
base=http://127.0.0.1:$nginx_port
redis_pid=
nginx_master=

cleanup() {
    if [ -n "$nginx_master" ]; then
        kill -QUIT "$nginx_master" 2>/dev/null || true
    fi
    if [ -n "$redis_pid" ]; then
        kill "$redis_pid" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
}
trap cleanup EXIT

start_redis() {
    redis-server --bind 127.0.0.1 --port "$redis_port" --save '' \
        --appendonly no --dir "$work/redis" \
        --logfile "$work/redis/redis.log" > /dev/null 2>&1 &
    redis_pid=$!
    for _ in $(seq 100); do
        redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && return
        sleep 0.05
    done
    echo "redis-server did not start" >&2
    exit 1
}

stop_redis() {
    kill "$redis_pid"
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=
}

cat > "$work/nginx/conf/nginx.conf" <<EOF
load_module $top/build/ngx_http_shared_session_module.so;
$(nginx_user)
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    shared_session_redis 127.0.0.1:$redis_port;
    shared_session_redis_timeout 1s;
    server {
        listen 127.0.0.1:$nginx_port;
        location = /s { shared_session; }
    }
}
EOF

start_redis
"$NGINX" -e logs/error.log -p "$work/nginx/" -c conf/nginx.conf \
    -g 'daemon off;' > /dev/null 2>&1 &
nginx_master=$!
for _ in $(seq 100); do
    curl -sf -o /dev/null "$base/s" && break
    sleep 0.05
done
worker=$(pgrep -P "$nginx_master" | head -n 1)

cookies=$work/cookies
for ((i = 0; i < CONNS; i++)); do
    curl -sf -D - -o /dev/null "$base/s" | tr -d '\r' \
        | sed -n 's/^[Ss]et-[Cc]ookie: \(SESSION=[^;]*\).*/\1/p'
done > "$cookies"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$worker/status"; }
fds() { find "/proc/$worker/fd" -mindepth 1 | wc -l; }

load() {   # NAME COOKIE_FILE SECONDS
    wrk -c "$CONNS" -t 1 -d "$3s" --timeout 5s -s bench/session.lua \
        "$base/s" -- /s "$2" 1 > "$work/$1.wrk" 2>&1
}

requests() { awk '/requests in/ {print $1}' "$work/$1.wrk"; }
non2xx() { awk '/Non-2xx/ {print $NF}' "$work/$1.wrk"; }

# warm up: pools, buffers and the connection reach their steady size
load warm-reused "$cookies" 2
load warm-new "" 2
sleep 0.5
rss0=$(rss)
fds0=$(fds)

load reused "$cookies" "$SECONDS_OF_LOAD" &
l1=$!
load new "" "$SECONDS_OF_LOAD" &
l2=$!

for part in 1 2; do
    sleep "$(echo "$SECONDS_OF_LOAD / 3" | bc -l)"
    stop_redis
    sleep 0.3
    start_redis
    echo "redis-server restarted ($part of 2)"
done

wait "$l1" "$l2"
sleep 1
rss1=$(rss)
fds1=$(fds)

total=$(( $(requests reused) + $(requests new) ))
f1=$(non2xx reused)
f2=$(non2xx new)
failed=$(( ${f1:-0} + ${f2:-0} ))
alerts=$(grep -c '\[alert\]\|\[crit\]\|exited on signal' \
         "$work/nginx/logs/error.log" || true)

echo
echo "soak: $(date -u '+%Y-%m-%d %H:%M UTC'), ${SECONDS_OF_LOAD}s," \
     "2 x $CONNS connections (reused sessions, no cookie)," \
     "redis-server restarted twice"
printf '%-28s %12s %12s\n' "" before after
printf '%-28s %12s %12s\n' "nginx worker RSS (kB)" "$rss0" "$rss1"
printf '%-28s %12s %12s\n' "nginx worker open fds" "$fds0" "$fds1"
echo "requests: $total ($(requests reused) reused, $(requests new) new)," \
     "503 during the restarts: $failed," \
     "alert/crit/crash lines: $alerts"

ok=1
[ "$total" -ge 100000 ] || { echo "FAIL fewer than 100k requests"; ok=0; }
[ "$fds1" -le "$fds0" ] || { echo "FAIL descriptors grew"; ok=0; }
[ $((rss1 - rss0)) -le 1024 ] || { echo "FAIL RSS grew by more than 1 MB"; ok=0; }
[ "$alerts" -eq 0 ] || { echo "FAIL alert/crit/crash in the error log"; ok=0; }
[ $ok -eq 1 ] && echo "PASS RSS and descriptors flat"
exit $((1 - ok))
