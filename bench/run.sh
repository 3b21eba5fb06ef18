#!/usr/bin/env bash
#
# bench/run.sh: the benchmark of issue 5 ("make bench").
#
#   bench/run.sh [all|throughput|rtt|memory|profile]...
#
#   all (default)  all four below, then the tables and one PASS/FAIL line
#                  per target (about 4 minutes)
#   throughput     wrk against /plain (return 200, the ceiling), the module
#                  with 32 reused sessions, the module without cookies, and
#                  shared_session_require in front of the ceiling's return
#                  200 with the same 32 sessions (issue 14); the reused and
#                  require targets again with shared_session_touch_interval
#                  (issue 16, when the module has it); plain, reused and
#                  require with worker_processes 2, not pinned; then the
#                  Redis floor: the commands the script ran for one request
#                  per session (MONITOR), sent as plain pipelined commands
#   rtt            round trips per request through bench/delay-proxy.pl
#   memory         heap bytes and blocks allocated per request (valgrind
#                  memcheck's heap summary, two run lengths differenced)
#   profile        callgrind on nginx and on redis-server for each target:
#                  instructions per request and the hottest functions
#                  (printed in full when asked for by name; with "all",
#                  a summary, the full reports in build/bench/results)
#
# bench/compare.sh runs memory and profile for two module files and prints
# the before/after tables.
#
# Everything it starts (redis-server, nginx, the delay proxy, valgrind)
# listens on 127.0.0.1 on free ports, lives under build/bench/, and is
# stopped on exit.  nginx runs one worker pinned to one core; wrk, Redis and
# the proxy share the other (when there are two or more cores).
#
# Environment (defaults in brackets):
#   BENCH_DURATION [4]      seconds per measured wrk run (one round)
#   BENCH_ROUNDS [3]        rounds; each runs every target in turn
#   BENCH_WARMUP [1]        seconds of unmeasured wrk before each run
#   BENCH_CONNECTIONS [32]  wrk connections (and sessions reused)
#   BENCH_THREADS [2]       wrk threads
#   BENCH_DELAY_MS [5]      one-way delay of the proxy (round trip: twice)
#   BENCH_RTT_DURATION [3]  seconds per round-trip run (wrk -c1 -t1)
#   BENCH_MEM_SHORT [1]  BENCH_MEM_LONG [4]
#                           seconds of load in the two memcheck runs
#   BENCH_PROFILE_DURATION [3]  seconds of load per callgrind run
#   NGINX [/usr/sbin/nginx]
#   BENCH_SKIP_BUILD        set: use build/ngx_http_shared_session_module.so
#                           as it is
#   BENCH_MODULE            the module file to load instead (not built; e.g.
#                           an older commit's, to compare); one without
#                           shared_session_require skips the require target
#   BENCH_TOUCH_INTERVAL [1s]  shared_session_touch_interval of the
#                           reused-ti and require-ti targets
#   BENCH_WORKERS [2]       worker_processes of the second nginx (the
#                           plain-w2, reused-w2, require-w2 targets); 0: none
#   BENCH_WORKERS_REUSEPORT [1]  0: its listen without reuseport
#   BENCH_FLOOR_REQUESTS [128000]  requests the Redis floor emulates
#   BENCH_MAX_OTHERS [0.30] the share of nginx's cpu other processes may
#                           take before the run is called unreliable
#   BENCH_STRICT            set: exit 3 when a target fails (otherwise the
#                           exit status only says whether the run worked)

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# shellcheck source=scripts/common.sh
. scripts/common.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION=${BENCH_DURATION:-4}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
DELAY_MS=${BENCH_DELAY_MS:-5}
RTT_DURATION=${BENCH_RTT_DURATION:-3}
MEM_SHORT=${BENCH_MEM_SHORT:-1}
MEM_LONG=${BENCH_MEM_LONG:-4}
PROFILE_DURATION=${BENCH_PROFILE_DURATION:-3}
TOUCH_INTERVAL=${BENCH_TOUCH_INTERVAL:-1s}
WORKERS=${BENCH_WORKERS:-2}
FLOOR_REQUESTS=${BENCH_FLOOR_REQUESTS:-128000}
NGINX=${NGINX:-/usr/sbin/nginx}

modes=("$@")
[ ${#modes[@]} -eq 0 ] && modes=(all)
want() {
    local m
    for m in "${modes[@]}"; do
        [ "$m" = "$1" ] && return 0
        [ "$m" = all ] && return 0
    done
    return 1
}
for m in "${modes[@]}"; do
    case $m in
        all|throughput|rtt|memory|profile) ;;
        *) sed -n '3,27p' "$0" >&2; exit 2 ;;
    esac
done

start_time=$EPOCHREALTIME
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

pkgs=(wrk redis-server redis-tools nginx-core perl procps curl bc util-linux)
{ want memory || want profile; } && pkgs+=(valgrind)
need_packages "${pkgs[@]}"
if [ -n "${BENCH_MODULE:-}" ]; then
    module=$(realpath -e "$BENCH_MODULE")
else
    [ -n "${BENCH_SKIP_BUILD:-}" ] || scripts/build.sh >/dev/null
    module=$top/build/ngx_http_shared_session_module.so
fi

# the require target (issue 14) needs a module that has the directive
targets=(plain reused new)
rtt_cases=(reused new stale unknown)
if grep -qa shared_session_require "$module"; then
    has_require=1
    targets+=(require)
    rtt_cases+=(require)
else
    has_require=
fi
# callgrind and memcheck: the targets above (the touch_interval and
# worker targets below are throughput only)
prof_targets=("${targets[@]}")

work=$top/build/bench
mkdir -p "$top/build"
# one run at a time: a second one would clobber this one's files, and its
# load its measurements
exec 9> "$top/build/bench.lock"
flock -n 9 || { echo "bench/run.sh: another run holds build/bench.lock" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"/{redis,nginx/conf,nginx/logs,nginx/tmp,results}
res=$work/results

# issue 16's shared_session_touch_interval: does this module accept it in
# a location?  An older build (BENCH_MODULE) may not; its targets are
# skipped then, with nginx's reason in the report
ti_probe() {
    local d=$work/probe
    mkdir -p "$d/conf" "$d/logs"
    cat > "$d/conf/probe.conf" <<EOF
load_module $module;
events {
}
http {
    shared_session_redis 127.0.0.1:6379;
    server {
        listen 127.0.0.1:$(free_port);
        location = /ti {
            shared_session;
            shared_session_touch_interval $TOUCH_INTERVAL;
        }
    }
}
EOF
    local out msg
    out=$("$NGINX" -t -q -e stderr -p "$d/" -c conf/probe.conf 2>&1) \
        && return 0
    msg=$(sed -n 's/.*\[emerg\] [0-9#]*: //p' <<< "$out" | head -n 1)
    echo "${msg:-nginx -t failed: $(head -n 1 <<< "$out")}"
}
ti_targets=()
ti_note=$(ti_probe)
if [ -z "$ti_note" ]; then
    has_ti=1
    ti_targets=(reused-ti)
    [ -n "$has_require" ] && ti_targets+=(require-ti)
    targets+=("${ti_targets[@]}")
else
    has_ti=
fi

# worker_processes WORKERS (issue 16): a second nginx, not pinned
w2_targets=()
if [ "$WORKERS" -gt 0 ]; then
    w2_targets=(plain-w2 reused-w2)
    [ -n "$has_require" ] && w2_targets+=(require-w2)
fi

# ---------------------------------------------------------------- pinning

pin_cpus
if [ ${#cpus[@]} -ge 2 ]; then
    pinning="nginx on cpu $NGX_CPU; wrk, redis-server, delay proxy on cpu $LOAD_CPU"
else
    pinning="one cpu: no pinning, everything shares it"
fi

# ---------------------------------------------------------------- cleanup

cleanup() {
    stop_started
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

# cpu_busy CPU: "busy steal" of one cpu so far, in microseconds
cpu_busy() {
    awk -v c="cpu$1" -v hz="$clk_tck" '$1 == c {
        printf "%.0f %.0f\n", ($2 + $3 + $4 + $7 + $8) * 1000000 / hz,
                          $9 * 1000000 / hz }' /proc/stat
}

# cpu_user_us PID: utime only
cpu_user_us() {
    sed 's/^.*) //' "/proc/$1/stat" \
        | awk -v hz="$clk_tck" '{ printf "%.0f\n", $12 * 1000000 / hz }'
}

rss_kb() {
    awk '/^VmRSS/ {print $2}' "/proc/$1/status"
}

# cmdstats [FILE]: "total client scripts usec other_usec" command calls
# so far (INFO itself not counted); client: what a client sends (EVAL*,
# SCRIPT), total: also what scripts call; the raw INFO saved in FILE
cmdstats() {
    redis-cli -p "$redis_port" info commandstats | tr -d '\r' \
        | tee "${1:-/dev/null}" | awk -F'[:=,]' '
            /^cmdstat_/ {
                if ($1 == "cmdstat_info") next
                total += $3
                if ($1 ~ /^cmdstat_(evalsha|eval|evalsha_ro|eval_ro|script\|.*)$/)
                    client += $3
                if ($1 ~ /^cmdstat_eval/) { scripts += $3; usec += $5 }
                else if ($1 !~ /^cmdstat_(script|info)/) other_usec += $5
            }
            END { printf "%.0f %.0f %.0f %.0f %.0f\n", total, client, scripts, usec,
                         other_usec }'
}

redis_cmd() {
    redis-cli -p "$redis_port" "$@"
}

# served_requests URL: the "requests" counter of stub_status
served_requests() {
    curl -sf "$1" | awk 'NR == 3 {print $3}'
}

# ---------------------------------------------------------------- redis

redis_port=$(free_port)
"${pin_load[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" \
    --save '' --appendonly no --dir "$work/redis" \
    --logfile "$work/redis/redis.log" --daemonize no &
redis_pid=$!
pids+=("$redis_pid")
for _ in $(seq 100); do
    redis_cmd ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
done
redis_cmd ping | grep -q PONG || { cat "$work/redis/redis.log"; exit 1; }

# ---------------------------------------------------------------- proxy

proxy_port=$(free_port)
proxy_stats=$work/proxy.stats
"${pin_load[@]}" perl "$top/bench/delay-proxy.pl" \
    --listen "127.0.0.1:$proxy_port" --connect "127.0.0.1:$redis_port" \
    --delay-ms "$DELAY_MS" --stats "$proxy_stats" &
proxy_pid=$!
pids+=("$proxy_pid")

proxy_snapshot() {
    rm -f "$proxy_stats"
    kill -USR1 "$proxy_pid"
    for _ in $(seq 50); do
        [ -s "$proxy_stats" ] && break
        sleep 0.02
    done
    cat "$proxy_stats"
}

# ---------------------------------------------------------------- nginx

host=$(hostname)
# the ceiling answers a JSON body of the module's size and shape
plain_body="{\"sessionId\":\"00000000-0000-4000-8000-000000000000\",\"host\":\"$host\",\"lastUpdatedAt\":1700000000000,\"previousHost\":\"$host\",\"creationTime\":1700000000000,\"new\":false}"

# require_locations: the ceiling behind shared_session_require, direct
# and through the delaying proxy (nothing for a module without it)
require_locations() {
    [ -n "$has_require" ] || return 0
    cat <<EOF
        location = /r {
            shared_session_require on;
            default_type application/json;
            add_header Cache-Control no-store;
            return 200 '$plain_body';
        }

        location = /rd {
            shared_session_require on;
            shared_session_redis 127.0.0.1:$proxy_port;
            shared_session_redis_timeout 5s;
            default_type application/json;
            add_header Cache-Control no-store;
            return 200 '$plain_body';
        }
EOF
}

# ti_locations: the reused and require targets with
# shared_session_touch_interval (issue 16), when the module has it
ti_locations() {
    [ -n "$has_ti" ] || return 0
    cat <<EOF
        location = /ti {
            shared_session;
            shared_session_touch_interval $TOUCH_INTERVAL;
        }
EOF
    [ -n "$has_require" ] || return 0
    cat <<EOF

        location = /rti {
            shared_session_require on;
            shared_session_touch_interval $TOUCH_INTERVAL;
            default_type application/json;
            add_header Cache-Control no-store;
            return 200 '$plain_body';
        }
EOF
}

# write_conf FILE PORT EXTRA_MAIN [EXTRA_HTTP [WORKERS [LISTEN]]]: the one
# server every mode uses; LISTEN: parameters of its listen directive
write_conf() {
    cat > "$1" <<EOF
load_module $module;

$(nginx_user)
worker_processes ${5:-1};
pid logs/nginx.pid;
error_log logs/error.log warn;
$3

events {
    worker_connections 1024;
}

http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;

    shared_session_redis 127.0.0.1:$redis_port;
    ${4:-}

    server {
        listen 127.0.0.1:$2${6:+ $6};

        # the ceiling: no Redis, a fixed body like the module's
        location = /plain {
            default_type application/json;
            add_header Cache-Control no-store;
            return 200 '$plain_body';
        }

        location = /s {
            shared_session;
        }

        # the same, through the delaying proxy
        location = /d {
            shared_session;
            shared_session_redis 127.0.0.1:$proxy_port;
            shared_session_redis_timeout 5s;
        }

$(require_locations)

$(ti_locations)

        location = /status {
            stub_status;
        }
    }
}
EOF
}

nginx_port=$(free_port)
base=http://127.0.0.1:$nginx_port
write_conf "$work/nginx/conf/nginx.conf" "$nginx_port" ""

"$NGINX" -t -q -e logs/error.log -p "$work/nginx/" -c conf/nginx.conf -g 'daemon off;'

start_nginx() {
    "${pin_nginx[@]}" "$NGINX" -e logs/error.log -p "$work/nginx/" -c conf/nginx.conf \
        -g 'daemon off;' &
    nginx_master=$!
    wait_http "$base/status" 100 || {
        cat "$work/nginx/logs/error.log"; exit 1; }
    nginx_worker=$(pgrep -P "$nginx_master" | head -n 1)
    [ -n "$nginx_worker" ] || { echo "no nginx worker" >&2; exit 1; }
}

# the same server with WORKERS workers (issue 16), in its own prefix, on
# its own port, not pinned: its workers share the cpus with wrk and Redis
nginx2_master=
nginx2_workers=
if [ ${#w2_targets[@]} -gt 0 ]; then
    mkdir -p "$work"/nginx2/{conf,logs,tmp}
    nginx2_port=$(free_port)
    base2=http://127.0.0.1:$nginx2_port
    # without reuseport the kernel hands wrk's 32 connections, opened at
    # once, to whichever worker it wakes: splits of 100/0 to 70/30 in
    # trials here, a different one per target; reuseport spreads them by
    # address hash, about evenly (the report shows the split)
    w2_listen=
    [ "${BENCH_WORKERS_REUSEPORT:-1}" = 1 ] && w2_listen=reuseport
    write_conf "$work/nginx2/conf/nginx.conf" "$nginx2_port" "" "" \
        "$WORKERS" "$w2_listen"
fi

start_nginx2() {
    local w
    "$NGINX" -e logs/error.log -p "$work/nginx2/" -c conf/nginx.conf \
        -g 'daemon off;' &
    nginx2_master=$!
    pids+=("$nginx2_master")
    wait_http "$base2/status" 100 || {
        cat "$work/nginx2/logs/error.log"; exit 1; }
    for _ in $(seq 50); do
        w=$(pgrep -P "$nginx2_master" | tr '\n' ' ')
        [ "$(wc -w <<< "$w")" -ge "$WORKERS" ] && break
        sleep 0.1
    done
    read -r -a nginx2_workers <<< "$w"
    [ ${#nginx2_workers[@]} -eq "$WORKERS" ] \
        || { echo "nginx2: ${#nginx2_workers[@]} workers, not $WORKERS" >&2; exit 1; }
}

stop_nginx2() {
    [ -n "$nginx2_master" ] || return 0
    kill -QUIT "$nginx2_master" 2>/dev/null || true
    wait "$nginx2_master" 2>/dev/null || true
    forget_pid "$nginx2_master"
    nginx2_master=
}

stop_nginx() {
    [ -n "$nginx_master" ] || return 0
    kill -QUIT "$nginx_master" 2>/dev/null || true
    wait "$nginx_master" 2>/dev/null || true
    nginx_master=
}

# make_sessions N FILE: N live sessions written straight into Redis in
# Spring's layout (hash, shadow key, bucket), their cookies in FILE
make_sessions() {
    local i sid now bucket
    : > "$2"
    now=$(date +%s%3N)
    bucket=$(( (now + 1800000) / 60000 * 60000 + 60000 ))
    for ((i = 0; i < $1; i++)); do
        sid=$(cat /proc/sys/kernel/random/uuid)
        redis_cmd hset "spring:session:sessions:$sid" creationTime "$now" \
            lastAccessedTime "$now" maxInactiveInterval 1800 > /dev/null
        redis_cmd set "spring:session:sessions:expires:$sid" "" \
            px 1800000 > /dev/null
        redis_cmd sadd "spring:session:expirations:$bucket" \
            "\"expires:$sid\"" > /dev/null
        echo "SESSION=$(printf %s "$sid" | base64 -w0)" >> "$2"
    done
}

# new_session PATH: a fresh session's cookie ("SESSION=...")
new_session() {
    local c
    c=$(curl -sf -D - -o /dev/null "$base$1" | tr -d '\r' \
        | sed -n 's/^[Ss]et-[Cc]ookie: \(SESSION=[^;]*\).*/\1/p')
    [ -n "$c" ] || { echo "no Set-Cookie from $base$1" >&2; exit 1; }
    echo "$c"
}

# run_wrk NAME CONNS THREADS SECONDS PATH COOKIE_FILE [BASE]: wrk output
# in $res/NAME.wrk, the BENCH line echoed
run_wrk() {
    # through sh, which reports the CPU its child wrk used (cutime+cstime)
    # shellcheck disable=SC2016
    timeout $(($4 + 30)) "${pin_load[@]}" sh -c '
        "$@" || exit
        sed "s/^.*) //" /proc/$$/stat \
            | awk -v hz="$HZ" "{ printf \"WRKCPU %d\\n\", (\$14 + \$15) * 1000000 / hz }"
        ' sh wrk -c "$2" -t "$3" -d "$4s" \
        --timeout 5s -s "$top/bench/session.lua" "${7:-$base}$5" \
        -- "$5" "$6" "$3" > "$res/$1.wrk" 2>&1 || {
            cat "$res/$1.wrk" >&2; exit 1; }
    echo "$(grep '^BENCH ' "$res/$1.wrk" | sed 's/^BENCH //')" \
         "wrk_cpu=$(sed -n 's/^WRKCPU //p' "$res/$1.wrk")"
}

# ================================================================ throughput

# the target's URL, path, cookies and nginx workers: the "-w2" targets go
# to the second nginx; "-ti" to the touch_interval locations
base_of() { case $1 in *-w2) echo "$base2" ;; *) echo "$base" ;; esac; }
path_of() {
    case $1 in
        plain*) echo /plain ;;
        require-ti) echo /rti ;;
        require*) echo /r ;;
        reused-ti) echo /ti ;;
        *) echo /s ;;
    esac
}
cookies_of() { case $1 in new) echo "" ;; *) echo "$work/cookies" ;; esac; }
workers_of() {
    case $1 in
        *-w2) echo "${nginx2_workers[*]}" ;;
        *) echo "$nginx_worker" ;;
    esac
}

# sum_of FUNCTION PID...: FUNCTION's value summed over the processes
sum_of() {
    local f=$1 p t=0
    shift
    for p; do t=$((t + $("$f" "$p"))); done
    echo "$t"
}

# cmd_mix FILE0 FILE1: the calls per command between two INFO
# commandstats ("hset=N sadd=N ..."), INFO and DBSIZE (ours) left out
cmd_mix() {
    awk -F'[:=,]' '
        /^cmdstat_/ {
            c = substr($1, 9)
            if (c == "info" || c == "dbsize") next
            if (FILENAME == ARGV[1]) a[c] = $3; else b[c] = $3
        }
        END { for (c in b) if (b[c] - a[c] > 0) printf "%s=%d ", c, b[c] - a[c]
              print "" }' "$1" "$2"
}

# measure NAME ROUND: one measured wrk run; the raw deltas ("k=v ...") go
# to $res/NAME.roundROUND, the calls per command to $res/NAME.mixROUND
measure() {
    local name=$1 round=$2 out path cookies url
    local n0 nu0 r0 ru0 ct0 cc0 cs0 cu0 co0 rss0 keys0 b0 st0 lb0 lst0
    local n1 nu1 r1 ru1 ct1 cc1 cs1 cu1 co1 rss1 keys1 b1 st1 lb1 lst1
    local -a w w0 w1
    path=$(path_of "$name")
    cookies=$(cookies_of "$name")
    url=$(base_of "$name")
    read -r -a w <<< "$(workers_of "$name")"
    n0=$(sum_of cpu_us "${w[@]}")
    nu0=$(sum_of cpu_user_us "${w[@]}")
    read -r -a w0 <<< "$(for p in "${w[@]}"; do cpu_us "$p"; done | tr '\n' ' ')"
    r0=$(cpu_us "$redis_pid")
    ru0=$(cpu_user_us "$redis_pid")
    read -r ct0 cc0 cs0 cu0 co0 < <(cmdstats "$res/$name.cs0")
    rss0=$(sum_of rss_kb "${w[@]}")
    keys0=$(redis_cmd dbsize)
    read -r b0 st0 < <(cpu_busy "${NGX_CPU:-0}")
    read -r lb0 lst0 < <(cpu_busy "${LOAD_CPU:-0}")

    out=$(run_wrk "$name.$round" "$CONNS" "$THREADS" "$DURATION" "$path" \
                  "$cookies" "$url")

    read -r b1 st1 < <(cpu_busy "${NGX_CPU:-0}")
    read -r lb1 lst1 < <(cpu_busy "${LOAD_CPU:-0}")
    n1=$(sum_of cpu_us "${w[@]}")
    nu1=$(sum_of cpu_user_us "${w[@]}")
    read -r -a w1 <<< "$(for p in "${w[@]}"; do cpu_us "$p"; done | tr '\n' ' ')"
    r1=$(cpu_us "$redis_pid")
    ru1=$(cpu_user_us "$redis_pid")
    read -r ct1 cc1 cs1 cu1 co1 < <(cmdstats "$res/$name.cs1")
    rss1=$(sum_of rss_kb "${w[@]}")
    keys1=$(redis_cmd dbsize)

    [ "$(kv requests "$out")" -gt 0 ] || { cat "$res/$name.$round.wrk" >&2; exit 1; }

    # with several workers: how the nginx cpu split between them
    local split="" i
    for ((i = 0; i < ${#w[@]}; i++)); do
        split+="${split:+/}$((w1[i] - w0[i]))"
    done
    cmd_mix "$res/$name.cs0" "$res/$name.cs1" > "$res/$name.mix$round"

    echo "$out nginx_cpu=$((n1 - n0)) redis_cpu=$((r1 - r0))" \
         "nginx_user=$((nu1 - nu0)) redis_user=$((ru1 - ru0))" \
         "cmd_total=$((ct1 - ct0)) cmd_client=$((cc1 - cc0))" \
         "cmd_scripts=$((cs1 - cs0)) script_usec=$((cu1 - cu0))" \
         "other_usec=$((co1 - co0)) rss_kb_delta=$((rss1 - rss0))" \
         "rss_kb=$rss1 keys_delta=$((keys1 - keys0))" \
         "ngx_core_busy=$((b1 - b0)) ngx_core_steal=$((st1 - st0))" \
         "load_core_busy=$((lb1 - lb0)) load_core_steal=$((lst1 - lst0))" \
         "workers=${#w[@]} worker_split=$split" \
         > "$res/$name.round$round"
    say "$name round $round: $(kv requests "$out") requests," \
        "$(fmt 0 "$(calc "$(kv requests "$out") * 1000000 / $(kv duration_us "$out")")") req/s," \
        "p99 $(kv p99 "$out") us"
}

# aggregate NAME: sums over the rounds; p50 and p99 are the medians of the
# rounds' percentiles; writes "k=v ..." to $res/NAME
aggregate() {
    local name=$1 two=0
    [ "${NGX_CPU:-0}" != "${LOAD_CPU:-0}" ] && two=1
    cat "$res/$name".round* | awk -v two=$two '
        {
            for (i = 1; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == "worker_split") {
                    nw = split(kv[2], ws, "/")
                    for (j = 1; j <= nw; j++) wsum[j] += ws[j]
                    continue
                }
                v[kv[1]] += kv[2]
                if (kv[1] == "p50") p50[NR] = kv[2]
                if (kv[1] == "p99") p99[NR] = kv[2]
                if (kv[1] == "rss_kb") rss = kv[2]
            }
        }
        function median(a, n,   i, j, t) {
            for (i = 1; i <= n; i++)
                for (j = i + 1; j <= n; j++)
                    if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        END {
            r = v["requests"]
            printf "rounds=%d requests=%d rps=%.1f p50=%d p99=%d", NR, r,
                   r * 1000000 / v["duration_us"], median(p50, NR),
                   median(p99, NR)
            printf " nginx_us=%.3f redis_us=%.3f wrk_us=%.3f",
                   v["nginx_cpu"] / r, v["redis_cpu"] / r, v["wrk_cpu"] / r
            printf " nginx_user_us=%.3f redis_user_us=%.3f",
                   v["nginx_user"] / r, v["redis_user"] / r
            printf " cmds_total=%.3f cmds_client=%.3f scripts=%.3f",
                   v["cmd_total"] / r, v["cmd_client"] / r,
                   v["cmd_scripts"] / r
            printf " script_us=%.3f other_cmd_us=%.3f", v["script_usec"] / r,
                   v["other_usec"] / r
            printf " errors=%d", v["status_errors"] + v["connect_errors"] \
                   + v["read_errors"] + v["write_errors"] + v["timeouts"]
            printf " rss_kb_delta=%d rss_kb=%d keys_delta=%d",
                   v["rss_kb_delta"], rss, v["keys_delta"]
            d = v["duration_us"]
            printf " ngx_core_others=%.3f ngx_core_steal=%.3f",
                   (v["ngx_core_busy"] - v["nginx_cpu"]) / d,
                   v["ngx_core_steal"] / d
            printf " load_core_busy=%.3f load_core_steal=%.3f",
                   v["load_core_busy"] / d, v["load_core_steal"] / d
            # both cpus: what ran besides nginx, redis-server and wrk
            if (two)
                printf " all_others=%.3f", (v["ngx_core_busy"] \
                       + v["load_core_busy"] - v["nginx_cpu"] \
                       - v["redis_cpu"] - v["wrk_cpu"]) / (2 * d)
            printf " workers=%d worker_share=", v["workers"] / NR
            for (j = 1; j <= nw; j++) {
                sep = j > 1 ? "/" : ""
                share = v["nginx_cpu"] ? 100 * wsum[j] / v["nginx_cpu"] : 0
                printf "%s%.0f", sep, share
            }
            printf "\n"
        }' > "$res/$name"
    # the calls per command per request, most frequent first
    cat "$res/$name".mix* | tr ' ' '\n' | awk -F= -v r="$(get "$name" requests)" '
        NF == 2 { c[$1] += $2 }
        END { for (k in c) printf "%s %.2f\n", k, c[k] / r }' \
        | sort -k2,2nr -k1,1 | awk '{ s = s (NR > 1 ? " " : "") $1 "=" $2 }
                                     END { print s }' > "$res/$name.mix"
    echo "$name: $(cat "$res/$name")" >&2
}


# forget_pid PID: PID has been waited for; cleanup must not signal it
forget_pid() {
    local p keep=()
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=("${keep[@]}")
}

# floor TARGET (issue 16): what Redis needs for TARGET's session work
# without a script.  One request per session (the 32 cookies) under
# MONITOR gives the commands the script called and their arguments
# (bench/floor.pl keeps those, drops EVALSHA & co.); they are then sent
# FLOOR_REQUESTS / 32 times over as plain pipelined commands (redis-cli
# --pipe, on the load cpu), and redis-server's cpu (/proc) and INFO
# commandstats are read around that.  Writes $res/floor-TARGET.
floor() {
    local t=$1 mon mpid c n=0 passes out r0 r1 ru0 ru1 ct0 ct1 co0 co1 x
    local t0 t1
    mon=$res/floor-$t.monitor
    "${pin_load[@]}" timeout 60 redis-cli -p "$redis_port" monitor > "$mon" &
    mpid=$!
    pids+=("$mpid")
    for _ in $(seq 100); do
        grep -q '^OK' "$mon" && break
        sleep 0.05
    done
    while read -r c; do
        curl -sf -o /dev/null -H "Cookie: $c" "$base$(path_of "$t")" \
            || { echo "floor $t: a request failed" >&2; exit 1; }
        n=$((n + 1))
    done < "$work/cookies"
    # MONITOR's output is asynchronous: a marker after the last request
    redis_cmd echo bench-floor-end > /dev/null
    for _ in $(seq 100); do
        grep -q bench-floor-end "$mon" && break
        sleep 0.05
    done
    kill "$mpid" 2>/dev/null || true
    wait "$mpid" 2>/dev/null || true
    forget_pid "$mpid"
    perl "$top/bench/floor.pl" --mix "$mon" "$n" > "$res/floor-$t.mix" \
        || exit 1

    passes=$(( (FLOOR_REQUESTS + n - 1) / n ))
    r0=$(cpu_us "$redis_pid")
    ru0=$(cpu_user_us "$redis_pid")
    read -r ct0 x x x co0 < <(cmdstats "$res/floor-$t.cs0")
    t0=$EPOCHREALTIME
    out=$(perl "$top/bench/floor.pl" --resp "$mon" "$passes" \
          | "${pin_load[@]}" timeout 120 redis-cli -p "$redis_port" --pipe 2>&1) \
        || { echo "floor $t: redis-cli --pipe: $out" >&2; exit 1; }
    t1=$EPOCHREALTIME
    r1=$(cpu_us "$redis_pid")
    ru1=$(cpu_user_us "$redis_pid")
    read -r ct1 x x x co1 < <(cmdstats "$res/floor-$t.cs1")
    grep -q 'errors: 0,' <<< "$out" \
        || { echo "floor $t: redis-cli --pipe: $out" >&2; exit 1; }
    x=$((passes * n))
    # the marker ECHO of --pipe is one command in all: left in
    echo "requests=$x captured=$n" \
         "redis_us=$(calc "($r1 - $r0) / $x")" \
         "redis_user_us=$(calc "($ru1 - $ru0) / $x")" \
         "cmds=$(calc "($ct1 - $ct0) / $x")" \
         "cmd_us=$(calc "($co1 - $co0) / $x")" \
         "seconds=$(calc "$t1 - $t0")" > "$res/floor-$t"
    say "floor $t: $(cat "$res/floor-$t"); $(cat "$res/floor-$t.mix")"
}

if want throughput || want rtt; then
    start_nginx
    say "nginx worker $nginx_worker, redis-server $redis_pid; $pinning"
fi

if want throughput; then
    # 32 sessions, created before the run, split between wrk's threads
    : > "$work/cookies"
    for ((k = 0; k < CONNS; k++)); do
        new_session /s >> "$work/cookies"
    done
    curl -sf -H "Cookie: $(head -n 1 "$work/cookies")" "$base/s" \
        | grep -q '"new":false' \
        || { echo "a created session was not reused" >&2; exit 1; }
    if [ -n "$has_require" ]; then
        code=$(curl -s -o /dev/null -w '%{http_code}' "$base/r")
        [ "$code" = 401 ] \
            || { echo "/r without a session answered $code" >&2; exit 1; }
        curl -sf -o /dev/null -H "Cookie: $(head -n 1 "$work/cookies")" \
            "$base/r" \
            || { echo "/r refused a live session" >&2; exit 1; }
    fi

    [ ${#w2_targets[@]} -gt 0 ] && start_nginx2
    [ ${#w2_targets[@]} -gt 0 ] \
        && say "nginx with $WORKERS workers (${nginx2_workers[*]}), not pinned"

    # warm up each target once (the Redis connection, SCRIPT LOAD), then
    # ROUNDS interleaved rounds: drift of a shared machine hits all alike
    for t in "${targets[@]}" "${w2_targets[@]}"; do
        run_wrk "$t.warmup" "$CONNS" "$THREADS" "$WARMUP" "$(path_of "$t")" \
            "$(cookies_of "$t")" "$(base_of "$t")" > /dev/null
    done
    for ((round = 1; round <= ROUNDS; round++)); do
        for t in "${targets[@]}" "${w2_targets[@]}"; do
            measure "$t" $round
        done
    done
    for t in "${targets[@]}" "${w2_targets[@]}"; do
        aggregate "$t"
    done
    stop_nginx2
    echo "redis_mem=$(redis_cmd info memory | tr -d '\r' \
                      | sed -n 's/^used_memory_human://p')" > "$res/redis-mem"

    # the floor, for the targets whose sessions the rounds used
    floor_targets=(reused)
    [ -n "$has_require" ] && floor_targets+=(require)
    for t in "${floor_targets[@]}"; do
        floor "$t"
    done
    redis_cmd flushall > /dev/null     # the new sessions: keep Redis small
fi

# ================================================================ rtt

# rtt NAME COOKIE [PATH]: wrk -c1 -t1 through the delaying proxy (/d)
rtt() {
    local name=$1 cookie=$2 path=${3:-/d} cf="" out p0 p1 reqs
    if [ -n "$cookie" ]; then
        cf=$work/cookie-$name
        echo "$cookie" > "$cf"
    fi
    p0=$(proxy_snapshot)
    out=$(run_wrk "rtt-$name" 1 1 "$RTT_DURATION" "$path" "$cf")
    p1=$(proxy_snapshot)
    reqs=$(kv requests "$out")
    [ "$reqs" -gt 0 ] || { cat "$res/rtt-$name.wrk" >&2; exit 1; }
    {
        echo "$out"
        echo "rt=$(calc "$(kv p50 "$out") / $unit")"
        echo "rt_nominal=$(calc "$(kv p50 "$out") / ($DELAY_MS * 2000)")"
        echo "up_chunks=$(calc "($(kv up_chunks "$p1") - $(kv up_chunks "$p0")) / $reqs")"
    } | tr '\n' ' ' > "$res/rtt-$name"
    echo >> "$res/rtt-$name"
    say "rtt $name: $(cat "$res/rtt-$name")"
}

# rtt_unit: the median time of one Redis round trip through the proxy (a
# PING), in microseconds: the nominal 2 x delay plus the proxy's own cost
rtt_unit() {
    perl -MIO::Socket::INET -MTime::HiRes=time -e '
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ARGV[0]")
            or die "connect: $!\n";
        $s->autoflush(1);
        my @t;
        for (1 .. 41) {
            my $t0 = time;
            print $s "PING\r\n";
            my $r = "";
            sysread($s, $r, 64) or die "read: $!\n";
            push @t, (time - $t0) * 1e6 if $_ > 1;
        }
        @t = sort { $a <=> $b } @t;
        printf "%.0f\n", $t[@t / 2];' "$proxy_port"
}

if want rtt; then
    unit=$(rtt_unit)
    echo "unit=$unit" > "$res/rtt-unit"
    say "one Redis round trip through the proxy (PING, median): $unit us"
    # the proxied connection, its SCRIPT LOADs: before measuring
    new_session /d > /dev/null
    rtt reused "$(new_session /d)"
    rtt new ""

    # stale: a session that expired an hour ago (the hash is still there)
    sid=$(cat /proc/sys/kernel/random/uuid)
    old=$(( $(date +%s%3N) - 3600000 - 1800000 ))
    redis_cmd hset "spring:session:sessions:$sid" creationTime "$old" \
        lastAccessedTime "$old" maxInactiveInterval 1800 > /dev/null
    rtt stale "SESSION=$(printf %s "$sid" | base64 -w0)"

    # unknown: an id Redis has never seen (expired and gone)
    sid=$(cat /proc/sys/kernel/random/uuid)
    rtt unknown "SESSION=$(printf %s "$sid" | base64 -w0)"

    # require: a live session; one request first loads the lookup's
    # script (NOSCRIPT, then EVAL: two round trips, not measured)
    if [ -n "$has_require" ]; then
        cookie=$(new_session /d)
        curl -sf -o /dev/null -H "Cookie: $cookie" "$base/rd" \
            || { echo "/rd refused a live session" >&2; exit 1; }
        rtt require "$cookie" /rd
    fi
    redis_cmd flushall > /dev/null
fi

stop_nginx

# ================================================================ valgrind

# one nginx process (master_process off) under valgrind, on nginx's core
vg_port=$(free_port)
vg_base=http://127.0.0.1:$vg_port
# under valgrind everything is 20-100 times slower: a long Redis timeout
vg_http="shared_session_redis_timeout 60s;"
write_conf "$work/nginx/conf/vg.conf" "$vg_port" \
    "master_process off; daemon off;" "$vg_http"

vg_errors=0

# vg_run NAME SECONDS PATH COOKIE_FILE TOOL-ARGS...: nginx under valgrind,
# SECONDS of wrk -c4 -t1 on PATH; the requests served in $res/NAME.n
vg_run() {
    local name=$1 secs=$2 path=$3 cookies=$4 pid n
    shift 4
    redis_cmd flushall > /dev/null
    [ -n "$cookies" ] && make_sessions 4 "$cookies"
    "${pin_nginx[@]}" valgrind "$@" "$NGINX" -e logs/error.log -p "$work/nginx/" \
        -c conf/vg.conf 2> "$res/$name.vgerr" &
    pid=$!
    pids+=("$pid")
    wait_http "$vg_base/status" 300 || {
        cat "$res/$name.vgerr" "$work/nginx/logs/error.log" >&2; exit 1; }
    # one request first: the Redis connection and its SCRIPT LOADs
    curl -sf -o /dev/null --max-time 60 \
        ${cookies:+-H "Cookie: $(head -n 1 "$cookies")"} "$vg_base$path" \
        || { echo "$name: the warm-up request failed" >&2;
             tail -n 5 "$work/nginx/logs/error.log" >&2; exit 1; }
    n=$(served_requests "$vg_base/status")
    timeout $((secs + 60)) "${pin_load[@]}" wrk -c 4 -t 1 -d "${secs}s" \
        --timeout 30s -s "$top/bench/session.lua" "$vg_base$path" \
        -- "$path" "$cookies" 1 > "$res/$name.wrk" 2>&1
    echo $(( $(served_requests "$vg_base/status") - n - 1 )) > "$res/$name.n"
    # non-2xx answers or socket errors make the per-request numbers wrong
    sed -n 's/^BENCH //p' "$res/$name.wrk" | awk '{
        e = 0
        for (i = 1; i <= NF; i++)
            if ($i ~ /^(status_errors|connect_errors|read_errors|write_errors|timeouts)=/) {
                split($i, kv, "="); e += kv[2]
            }
        print e }' > "$res/$name.errors"
    if [ "$(cat "$res/$name.errors")" != 0 ]; then
        echo "$name: $(cat "$res/$name.errors") wrk errors under valgrind" >&2
        vg_errors=$((vg_errors + $(cat "$res/$name.errors")))
    fi
    kill -QUIT "$pid"
    wait "$pid" 2>/dev/null || true
}

# heap NAME: "allocs bytes in_use_bytes" from memcheck's summary
heap() {
    local log=$res/$1.vg
    echo "$(sed -n 's/.*total heap usage: \([0-9,]*\) allocs, [0-9,]* frees, \([0-9,]*\) bytes allocated.*/\1 \2/p' "$log" | tr -d ,)" \
         "$(sed -n 's/.*in use at exit: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d ,)"
}

if want memory; then
    for target in plain reused new; do
        case $target in
            plain)  path=/plain; cookies=$work/mem-cookies ;;
            reused) path=/s;     cookies=$work/mem-cookies ;;
            new)    path=/s;     cookies= ;;
        esac
        for len in short long; do
            secs=$MEM_SHORT
            [ $len = long ] && secs=$MEM_LONG
            vg_run "mem-$target-$len" "$secs" "$path" "$cookies" \
                --tool=memcheck --leak-check=summary \
                --suppressions="$top/t/valgrind.suppress" \
                --log-file="$res/mem-$target-$len.vg"
        done
        read -r a1 b1 u1 < <(heap "mem-$target-short")
        read -r a2 b2 u2 < <(heap "mem-$target-long")
        n1=$(cat "$res/mem-$target-short.n")
        n2=$(cat "$res/mem-$target-long.n")
        if [ "$n2" -le "$n1" ]; then
            echo "memory $target: the long run served no more requests" >&2
            exit 1
        fi
        {
            echo "requests_short=$n1 requests_long=$n2"
            echo "bytes=$(calc "($b2 - $b1) / ($n2 - $n1)")"
            echo "allocs=$(calc "($a2 - $a1) / ($n2 - $n1)")"
            echo "retained=$(calc "($u2 - $u1) / ($n2 - $n1)")"
            echo "in_use_short=$u1 in_use_long=$u2"
            echo "lost=$(grep -h 'definitely lost:' "$res/mem-$target-long.vg" \
                         | sed 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/' \
                         | tr -d ,)"
        } | tr '\n' ' ' > "$res/mem-$target"
        echo >> "$res/mem-$target"
        say "memory $target: $(cat "$res/mem-$target")"
    done
fi

# ================================================================ profile

# cg_total FILE: the instructions a callgrind file counted
cg_total() {
    local ir
    ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$1" | head -n 1)
    [ -n "$ir" ] || ir=$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$1" | head -n 1)
    echo "${ir:-0}"
}

if want profile; then
    command -v callgrind_annotate >/dev/null || need_packages valgrind
    main_redis_port=$redis_port
    for target in "${prof_targets[@]}"; do
        case $target in
            plain)   path=/plain; cookies=$work/mem-cookies ;;
            reused)  path=/s;     cookies=$work/mem-cookies ;;
            new)     path=/s;     cookies= ;;
            require) path=/r;     cookies=$work/mem-cookies ;;
        esac

        # for the module's targets, a second redis-server under callgrind,
        # counting only inside EVALSHA: Redis's instructions per request
        rout=
        if [ "$target" != plain ]; then
            rout=$res/prof-redis-$target.callgrind
            redis_port=$(free_port)
            mkdir -p "$work/redis-cg"
            "${pin_load[@]}" valgrind --tool=callgrind \
                --callgrind-out-file="$rout" --collect-atstart=no \
                --toggle-collect=evalShaCommand \
                --log-file="$res/prof-redis-$target.vg" \
                redis-server --bind 127.0.0.1 --port "$redis_port" \
                --save '' --appendonly no --dir "$work/redis-cg" \
                --logfile "$work/redis-cg/redis.log" --daemonize no &
            cg_redis=$!
            pids+=("$cg_redis")
            for _ in $(seq 300); do
                redis_cmd ping 2>/dev/null | grep -q PONG && break
                sleep 0.1
            done
            write_conf "$work/nginx/conf/vg.conf" "$vg_port" \
                "master_process off; daemon off;" "$vg_http"
        fi

        out=$res/prof-$target.callgrind
        vg_run "prof-$target" "$PROFILE_DURATION" "$path" "$cookies" \
            --tool=callgrind --callgrind-out-file="$out" \
            --collect-atstart=no \
            --toggle-collect=ngx_process_events_and_timers \
            --log-file="$res/prof-$target.vg"
        n=$(cat "$res/prof-$target.n")
        ir=$(cg_total "$out")
        rir=0
        if [ -n "$rout" ]; then
            redis_cmd shutdown nosave > /dev/null 2>&1 || true
            wait "$cg_redis" 2>/dev/null || true
            rir=$(cg_total "$rout")
            perl "$top/bench/callgrind-report.pl" --redis "$rout" "$n" 12 \
                > "$res/prof-redis-$target.report"
            redis_port=$main_redis_port
            write_conf "$work/nginx/conf/vg.conf" "$vg_port" \
                "master_process off; daemon off;" "$vg_http"
        fi
        echo "requests=$n ir=$ir ir_per_request=$(calc "$ir / $n")" \
             "redis_ir_per_request=$(calc "$rir / $n")" > "$res/prof-$target"
        perl "$top/bench/callgrind-report.pl" "$out" "$n" 15 \
            > "$res/prof-$target.report"
        say "profile $target: $(cat "$res/prof-$target")"
    done
fi

# ================================================================ report

# report_floor: the module's Redis cpu per request beside the floor's
report_floor() {
    local t
    echo
    echo "redis floor (issue 16): the commands the scripts called for one request" \
         "per session (MONITOR, $(get floor-reused captured) requests), without" \
         "EVALSHA, sent as plain pipelined commands (redis-cli --pipe, on cpu" \
         "${LOAD_CPU:-0}) for $(get floor-reused requests) emulated requests;" \
         "redis-server's cpu from /proc"
    echo "| target | module redis us/req | floor redis us/req | module / floor | module calls/req (commandstats, incl. script) | floor commands/req | floor commands |"
    echo "|---|---|---|---|---|---|---|"
    for t in "${floor_targets[@]}"; do
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" \
            "$(fmt 1 "$(get "$t" redis_us)")" "$(fmt 1 "$(get "floor-$t" redis_us)")" \
            "$(fmt 2 "$(calc "$(get "$t" redis_us) / $(get "floor-$t" redis_us)")")" \
            "$(fmt 2 "$(get "$t" cmds_total)")" \
            "$(fmt 2 "$(kv total "$(cat "$res/floor-$t.mix")")")" \
            "$(cut -d' ' -f2- "$res/floor-$t.mix")"
    done
    for t in "${floor_targets[@]}"; do
        echo "$t: calls per request in the rounds (commandstats): $(cat "$res/$t.mix");" \
             "floor: redis $(fmt 1 "$(get "floor-$t" redis_user_us)") us/req user," \
             "commandstats usec $(fmt 2 "$(get "floor-$t" cmd_us)")/req," \
             "$(fmt 1 "$(get "floor-$t" seconds)") s"
    done
}

# report_workers: worker_processes WORKERS against 1 (issue 16)
report_workers() {
    local t t1 two
    echo
    if [ ${#w2_targets[@]} -eq 0 ]; then
        echo "workers: not measured (BENCH_WORKERS=0)"
        return
    fi
    echo "workers: worker_processes $WORKERS, not pinned: its workers share the" \
         "$(nproc) cpus with wrk and redis-server (which stay on cpu ${LOAD_CPU:-0})," \
         "listen ${w2_listen:-without reuseport}," \
         "against 1 worker pinned to cpu ${NGX_CPU:-0} (the rows above), in the same rounds"
    echo "| target | workers | req/s | x 1 worker | x ceiling (same workers) | nginx us/req (all workers) | redis us/req | wrk us/req | nginx cpu per worker % | others on both cpus % |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for t1 in "${w2_targets[@]%-w2}"; do
        for t in "$t1" "$t1-w2"; do
            two=plain
            [ "$t" = "$t1-w2" ] && two=plain-w2
            printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t1" \
                "$(get "$t" workers)" "$(fmt 0 "$(get "$t" rps)")" \
                "$(fmt 2 "$(calc "$(get "$t" rps) / $(get "$t1" rps)")")" \
                "$(fmt 2 "$(calc "$(get "$t" rps) / $(get "$two" rps)")")" \
                "$(fmt 1 "$(get "$t" nginx_us)")" "$(fmt 1 "$(get "$t" redis_us)")" \
                "$(fmt 1 "$(get "$t" wrk_us)")" "$(get "$t" worker_share)" \
                "$(fmt 0 "$(calc "100 * $(get "$t" all_others)")")"
        done
    done
}

report=$work/report.txt
{
echo
echo "bench/run.sh ${modes[*]}: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cpu" \
     "($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)), $pinning"
echo "nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), Redis $(redis-server --version | awk '{print $3}' | sed 's/^v=//'), wrk ${CONNS} connections ${THREADS} threads, ${ROUNDS} rounds of ${DURATION}s per target"

if want throughput; then
    ceil_rps=$(get plain rps)
    ceil_cpu=$(get plain nginx_us)
    ceil_p99=$(get plain p99)
    rt_of() { [ -s "$res/rtt-$1" ] && fmt 2 "$(get "rtt-$1" rt)" || echo -; }
    echo
    echo "| target | req/s | x ceiling | p50 ms | p99 ms | nginx us/req | redis us/req | redis cmds/req client | redis cmds/req incl. script | round trips |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for t in "${targets[@]}"; do
        case $t in
            plain)  label="plain return 200 (ceiling)" ;;
            reused) label="module, 32 reused sessions" ;;
            new)    label="module, no cookie (new session)" ;;
            require) label="require + return 200, 32 reused sessions" ;;
            reused-ti) label="module, 32 reused sessions, touch_interval $TOUCH_INTERVAL" ;;
            require-ti) label="require + return 200, touch_interval $TOUCH_INTERVAL" ;;
        esac
        rt=-
        [ "$t" != plain ] && rt=$(rt_of "$t")
        [ "$t" = plain ] && rt=0
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
            "$label" "$(fmt 0 "$(get "$t" rps)")" \
            "$(fmt 2 "$(calc "$(get "$t" rps) / $ceil_rps")")" \
            "$(fmt 2 "$(calc "$(get "$t" p50) / 1000")")" \
            "$(fmt 2 "$(calc "$(get "$t" p99) / 1000")")" \
            "$(fmt 1 "$(get "$t" nginx_us)")" "$(fmt 1 "$(get "$t" redis_us)")" \
            "$(fmt 2 "$(get "$t" cmds_client)")" \
            "$(fmt 2 "$(get "$t" cmds_total)")" "$rt"
    done
    echo
    if [ -n "$has_require" ]; then
        echo "require: $(fmt 2 "$(calc "$(get require rps) / $(get reused rps)")")x" \
             "the reused sessions' req/s, nginx CPU" \
             "$(fmt 2 "$(calc "$(get require nginx_us) / $(get reused nginx_us)")")x" \
             "theirs and $(fmt 2 "$(calc "$(get require nginx_us) / $ceil_cpu")")x the ceiling's"
    else
        echo "require: not measured ($module has no shared_session_require)"
    fi
    if [ -n "$has_ti" ]; then
        for t in "${ti_targets[@]}"; do
            echo "$t: $(fmt 2 "$(calc "$(get "$t" rps) / $(get "${t%-ti}" rps)")")x" \
                 "${t%-ti}'s req/s; redis $(fmt 1 "$(get "$t" redis_us)") us/req against" \
                 "$(fmt 1 "$(get "${t%-ti}" redis_us)"), nginx $(fmt 1 "$(get "$t" nginx_us)")" \
                 "against $(fmt 1 "$(get "${t%-ti}" nginx_us)"); redis calls per request: $(cat "$res/$t.mix")"
        done
    else
        echo "touch_interval: not measured (nginx -t: $ti_note)"
    fi
    report_floor
    report_workers
    echo
    for t in "${targets[@]}" "${w2_targets[@]}"; do
        echo "$t: wrk errors $(get "$t" errors), nginx worker RSS $(get "$t" rss_kb) kB" \
             "(change during the runs $(get "$t" rss_kb_delta) kB), redis keys +$(get "$t" keys_delta)"
    done
    for t in "${targets[@]:1}"; do
        echo "$t: of redis-server's $(fmt 1 "$(get "$t" redis_us)") us/req CPU," \
             "$(fmt 1 "$(get "$t" script_us)") us/req is EVALSHA execution" \
             "(commandstats usec, wall clock, inner commands included)"
    done
    echo "redis used_memory after the runs: $(kv redis_mem "$(cat "$res/redis-mem")")"
    for t in "${targets[@]}"; do
        echo "$t: nginx $(fmt 1 "$(get "$t" nginx_user_us)") us/req user +" \
             "$(fmt 1 "$(calc "$(get "$t" nginx_us) - $(get "$t" nginx_user_us)")") us/req system;" \
             "redis-server $(fmt 1 "$(get "$t" redis_user_us)") us/req user +" \
             "$(fmt 1 "$(calc "$(get "$t" redis_us) - $(get "$t" redis_user_us)")") us/req system"
    done
    for t in "${targets[@]}"; do
        echo "$t: wrk used $(fmt 1 "$(get "$t" wrk_us)") us/req; wrk and redis-server kept" \
             "cpu ${LOAD_CPU:-0} $(fmt 0 "$(calc "100 * ($(get "$t" wrk_us) + $(get "$t" redis_us)) * $(get "$t" rps) / 1000000")")% busy," \
             "nginx kept cpu ${NGX_CPU:-0} $(fmt 0 "$(calc "100 * $(get "$t" nginx_us) * $(get "$t" rps) / 1000000")")% busy"
    done
    # where the bound is if the two cpus were ours alone: nginx's cpu
    # carries nginx, the other one wrk and redis-server
    proj() {  # proj TARGET: the projected req/s
        local a b
        a=$(get "$1" nginx_us)
        b=$(calc "$(get "$1" wrk_us) + $(get "$1" redis_us)")
        [ "$(echo "$a > $b" | bc -l)" = 1 ] || a=$b
        calc "1000000 / $a"
    }
    for t in "${targets[@]}"; do
        a=$(get "$t" nginx_us)
        b=$(calc "$(get "$t" wrk_us) + $(get "$t" redis_us)")
        if [ "$(echo "$a > $b" | bc -l)" = 1 ]; then
            bound="nginx's cpu (nginx $(fmt 1 "$a") us/req)"
        else
            bound="the wrk+redis cpu ($(fmt 1 "$b") us/req)"
        fi
        echo "$t: if cpu-bound, bounded by $bound: $(fmt 0 "$(proj "$t")") req/s" \
             "= $(fmt 2 "$(calc "$(proj "$t") / $(proj plain)")")x the ceiling's projection"
    done
    for t in "${targets[@]}"; do
        echo "$t: nginx's cpu ${NGX_CPU:-0} also ran other processes" \
             "$(fmt 0 "$(calc "100 * $(get "$t" ngx_core_others)")")% of the time" \
             "(steal $(fmt 0 "$(calc "100 * $(get "$t" ngx_core_steal)")")%);" \
             "cpu ${LOAD_CPU:-0} (wrk, redis) busy $(fmt 0 "$(calc "100 * $(get "$t" load_core_busy)")")%" \
             "(steal $(fmt 0 "$(calc "100 * $(get "$t" load_core_steal)")")%)"
    done
    echo "load average at the start: $load_start"
fi

if want rtt; then
    echo
    echo "round trips: wrk -c1 -t1 ${RTT_DURATION}s on the module through" \
         "bench/delay-proxy.pl, one-way delay ${DELAY_MS} ms; one round trip" \
         "(a PING through the proxy, median) took $(fmt 2 "$(calc "$(get rtt-unit unit) / 1000")") ms"
    echo "| request | requests | p50 ms | p99 ms | round trips = p50 / PING round trip | p50 / $((DELAY_MS * 2)) ms | proxied writes nginx->redis per request |"
    echo "|---|---|---|---|---|---|---|"
    for t in "${rtt_cases[@]}"; do
        case $t in
            reused)  label="reused session" ;;
            new)     label="no cookie" ;;
            stale)   label="stale cookie (session expired, hash still there)" ;;
            unknown) label="stale cookie (id unknown to Redis)" ;;
            require) label="require + return 200, reused session" ;;
        esac
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" \
            "$(get "rtt-$t" requests)" \
            "$(fmt 2 "$(calc "$(get "rtt-$t" p50) / 1000")")" \
            "$(fmt 2 "$(calc "$(get "rtt-$t" p99) / 1000")")" \
            "$(fmt 2 "$(get "rtt-$t" rt)")" "$(fmt 2 "$(get "rtt-$t" rt_nominal)")" \
            "$(fmt 2 "$(get "rtt-$t" up_chunks)")"
    done
fi

if want memory; then
    echo
    echo "memory: valgrind memcheck heap summary of one nginx process" \
         "(master_process off), runs of ${MEM_SHORT}s and ${MEM_LONG}s of" \
         "wrk -c4, differenced: per request = (long - short) / (requests long - short)"
    echo "| target | requests short/long | heap bytes allocated per request | heap blocks per request | in use at exit short/long (bytes) | growth per request | definitely lost |"
    echo "|---|---|---|---|---|---|---|"
    for t in plain reused new; do
        printf '| %s | %s/%s | %s | %s | %s/%s | %s | %s |\n' "$t" \
            "$(get mem-$t requests_short)" "$(get mem-$t requests_long)" \
            "$(fmt 0 "$(get mem-$t bytes)")" "$(fmt 2 "$(get mem-$t allocs)")" \
            "$(get mem-$t in_use_short)" "$(get mem-$t in_use_long)" \
            "$(fmt 2 "$(get mem-$t retained)")" "$(get mem-$t lost)"
    done
    echo "(heap: malloc, calloc, realloc, posix_memalign, as valgrind counts them; nginx's pools are"
    echo " malloc'ed blocks too, so the plain location's blocks are its request and connection pools)"
fi

if want profile; then
    echo
    echo "profile: callgrind on one nginx process (master_process off), ${PROFILE_DURATION}s of wrk -c4," \
         "instructions (Ir) counted inside ngx_process_events_and_timers"
    for t in "${prof_targets[@]}"; do
        echo "$t: nginx $(fmt 0 "$(get "prof-$t" ir_per_request)") Ir/request" \
             "= $(fmt 2 "$(calc "$(get "prof-$t" ir_per_request) / $(get prof-plain ir_per_request)")")x plain" \
             "($(get "prof-$t" requests) requests)$([ "$t" = plain ] || echo ";" \
             "redis-server inside EVALSHA $(fmt 0 "$(get "prof-$t" redis_ir_per_request)") Ir/request")"
    done
    verbose=
    for m in "${modes[@]}"; do [ "$m" = profile ] && verbose=1; done
    for t in "${prof_targets[@]:1}"; do
        echo
        echo "---- nginx, $t (bench/callgrind-report.pl)"
        if [ -n "$verbose" ]; then
            cat "$res/prof-$t.report"
        else
            sed -n '/^self cost by library/,/^$/p' "$res/prof-$t.report"
            sed -n '/^module, hiredis and cJSON/,/^$/p' "$res/prof-$t.report" \
                | head -n 13
            sed -n '/^malloc family/,$p' "$res/prof-$t.report" \
                | grep -E '^  [a-z_]+ ' | tr -s ' ' | tr '\n' ';' \
                | sed 's/^/malloc family calls per request:/; s/;$/\n/'
        fi
        echo
        echo "---- redis-server inside EVALSHA, $t"
        cat "$res/prof-redis-$t.report"
    done
    [ -n "$verbose" ] || echo "(full reports: $res/prof-*.report)"
    echo
    echo "callgrind files: $res/prof-*.callgrind (callgrind_annotate FILE)"
fi

# ------------------------------------------------------------ targets
fails=0
check() {   # check OK LABEL TEXT
    if [ "$1" = 1 ]; then
        echo "PASS  $2: $3"
    else
        echo "FAIL  $2: $3"
        fails=$((fails + 1))
    fi
}
ge() { [ "$(echo "$1 >= $2" | bc -l)" = 1 ] && echo 1 || echo 0; }
le() { [ "$(echo "$1 <= $2" | bc -l)" = 1 ] && echo 1 || echo 0; }

echo
if want throughput; then
    # other jobs on nginx's cpu lower the ceiling more than the module's
    # rows (bounded by the other cpu): past a limit the ratios flatter
    others=0
    for t in "${targets[@]}"; do
        o=$(get "$t" ngx_core_others)
        [ "$(echo "$o > $others" | bc -l)" = 1 ] && others=$o
    done
    max_others=${BENCH_MAX_OTHERS:-0.30}
    u=
    if [ "$(echo "$others > $max_others" | bc -l)" = 1 ]; then
        u=" [UNRELIABLE: busy machine]"
    fi
    check "$([ -z "$u" ] && echo 1 || echo 0)" "quiet machine" \
        "other processes ran on nginx's cpu up to $(fmt 0 "$(calc "100 * $others")")% of the time (limit $(fmt 0 "$(calc "100 * $max_others")")%)$([ -n "$u" ] && echo ": the throughput, cpu and p99 lines below are unreliable, run again")"
    for t in "${targets[@]:1}" "${w2_targets[@]}"; do
        e=$(get "$t" errors)
        check "$([ "$e" = 0 ] && echo 1 || echo 0)" "no errors, $t" \
            "$e non-2xx/socket errors"
    done
    r=$(calc "$(get reused rps) / $ceil_rps")
    check "$(ge "$r" 0.40)" "throughput reused" "$(fmt 2 "$r")x ceiling (target >= 0.40x)$u"
    r=$(calc "$(get new rps) / $ceil_rps")
    check "$(ge "$r" 0.35)" "throughput new" "$(fmt 2 "$r")x ceiling (target >= 0.35x)$u"
    for t in reused new; do
        c=$(get "$t" nginx_us)
        check "$(le "$c" "$(calc "2 * $ceil_cpu")")" "nginx cpu $t" \
            "$(fmt 1 "$c") us/req = $(fmt 2 "$(calc "$c / $ceil_cpu")")x ceiling's $(fmt 1 "$ceil_cpu") us (target <= 2x)$u"
    done
    for t in reused new; do
        c=$(get "$t" redis_us)
        check "$(le "$c" 10)" "redis cpu $t" "$(fmt 1 "$c") us/req (target <= 10 us)$u"
    done
    for t in reused new; do
        p=$(get "$t" p99)
        check "$(le "$p" "$(calc "3 * $ceil_p99")")" "p99 $t" \
            "$(fmt 2 "$(calc "$p / 1000")") ms = $(fmt 2 "$(calc "$p / $ceil_p99")")x ceiling's $(fmt 2 "$(calc "$ceil_p99 / 1000")") ms (target <= 3x)$u"
    done
    # issue 14: the lookup in front of return 200 against the endpoint
    if [ -n "$has_require" ]; then
        r=$(calc "$(get require rps) / $(get reused rps)")
        check "$(ge "$r" 0.90)" "require req/s >= 0.9x reused" \
            "$(fmt 2 "$r")x ($(fmt 0 "$(get require rps)") against $(fmt 0 "$(get reused rps)") req/s)$u"
    fi
    # issue 16
    c=$(get reused nginx_us)
    check "$(le "$c" "$(calc "1.6 * $ceil_cpu")")" "nginx cpu reused <= 1.6x (issue 16)" \
        "$(fmt 1 "$c") us/req = $(fmt 2 "$(calc "$c / $ceil_cpu")")x ceiling's $(fmt 1 "$ceil_cpu") us$u"
    c=$(get reused redis_us)
    check "$(le "$c" 15)" "redis cpu reused <= 15 us (issue 16)" \
        "$(fmt 1 "$c") us/req; the plain-command floor $(fmt 1 "$(get floor-reused redis_us)") us/req, the module $(fmt 2 "$(calc "$c / $(get floor-reused redis_us)")")x it$u"
    r=$(calc "$(get reused rps) / $ceil_rps")
    check "$(ge "$r" 0.30)" "throughput reused >= 0.30x (issue 16)" "$(fmt 2 "$r")x ceiling$u"
fi
if want rtt; then
    for t in "${rtt_cases[@]}"; do
        rt=$(get "rtt-$t" rt)
        max=1
        # a new session: the script, then the created event's PUBLISH
        # (the indexed repository's; Spring's save() also publishes after
        # its writes), answered before the client is
        case $t in stale|unknown|new) max=2 ;; esac
        check "$(le "$rt" "$max.5")" "round trips $t" \
            "$(fmt 2 "$rt") (target $([ $max = 1 ] && echo "1" || echo "<= 2"))"
    done
fi
if want memory || want profile; then
    check "$([ "$vg_errors" = 0 ] && echo 1 || echo 0)" "valgrind runs clean" \
        "$vg_errors non-2xx/socket errors under valgrind (any makes its per-request numbers wrong)"
fi
if want memory; then
    # issue 16: no malloc per request left in the module's path; nginx's
    # own request (the plain location's blocks) is not the module's
    a=$(calc "$(get mem-reused allocs) - $(get mem-plain allocs)")
    check "$(le "$a" 1)" "heap allocs reused <= 1 (issue 16)" \
        "$(fmt 2 "$a") blocks per request more than the plain location's $(fmt 2 "$(get mem-plain allocs)") ($(fmt 2 "$(get mem-reused allocs)") in all)"
    for t in reused new; do
        rb=$(get mem-$t retained)
        check "$(le "$rb" 1)" "no memory growth $t" \
            "$(fmt 2 "$rb") bytes more in use at exit per extra request served (target <= 1)"
    done
fi
echo "$fails target(s) failed; raw results in $res"
echo "fails=$fails" > "$res/fails"
} | tee "$report"

say "done"
if [ -n "${BENCH_STRICT:-}" ] && [ "$(kv fails "$(cat "$res/fails")")" != 0 ]; then
    exit 3
fi
