#!/usr/bin/env bash
#
# bench/beyond.sh: what TLS and Redis Cluster cost ("make bench-beyond").
#
#   bench/beyond.sh
#
# One nginx (one worker), four locations, the reused-session case of
# bench/run.sh (32 sessions, one Cookie per request) on each:
#
#   plain    return 200 with a body of the module's shape: the ceiling
#   tcp      shared_session, a standalone Redis over plain TCP
#   tls      shared_session, the same kind of Redis with TLS only
#            (--port 0 --tls-port P), certificate verified (a CA and a
#            server certificate made here with openssl)
#   cluster  shared_session, a local Redis Cluster of 3 primaries without
#            replicas (shared_session_redis_cluster on, three seeds)
#
# wrk with bench/session.lua, 32 connections, 2 threads; each target is
# warmed up, then the four run in turn, ROUNDS rounds, so that the drift of
# a shared machine hits them alike.  Printed: req/s, ratio to the plain
# location and to standalone TCP, p50/p99, wrk errors (any non-2xx answer or
# socket error fails the run), CPU per request of the nginx worker and of
# the Redis processes (/proc), Redis commands per request (INFO
# commandstats), and how much other processes ran on each of the two cpus.
#
# Everything it starts listens on 127.0.0.1 on free ports, lives in a
# temporary directory that is removed on exit, and is stopped on exit,
# Ctrl-C included.  nginx is pinned to the first allowed cpu, wrk and every
# redis-server to the second, as in bench/run.sh.  About 50 s; exit status 1
# on any non-2xx answer or socket error.
#
# Environment (defaults in brackets):
#   BEYOND_DURATION [4]      seconds per measured wrk run
#   BEYOND_ROUNDS [2]        rounds (each target: ROUNDS x DURATION seconds)
#   BEYOND_WARMUP [2]        seconds of unmeasured wrk per target first
#   BEYOND_CONNECTIONS [32]  wrk connections (and sessions per target)
#   BEYOND_THREADS [2]       wrk threads
#   BEYOND_MAX_OTHERS [0.30] share of either cpu other processes may take
#                            before the numbers are flagged as unreliable
#   BEYOND_KEEP              set: keep the temporary directory
#   NGINX [/usr/sbin/nginx]

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# shellcheck source=scripts/common.sh
. scripts/common.sh        # need_packages, free_port
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION=${BEYOND_DURATION:-4}
ROUNDS=${BEYOND_ROUNDS:-2}
WARMUP=${BEYOND_WARMUP:-2}
CONNS=${BEYOND_CONNECTIONS:-32}
THREADS=${BEYOND_THREADS:-2}
MAX_OTHERS=${BEYOND_MAX_OTHERS:-0.30}
NGINX=${NGINX:-/usr/sbin/nginx}
TARGETS=(plain tcp tls cluster)

start_time=$EPOCHREALTIME
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

need_packages wrk redis-server redis-tools nginx-core perl procps curl bc \
    util-linux openssl
module=$top/build/ngx_http_shared_session_module.so
[ -f "$module" ] || scripts/build.sh >/dev/null

# one benchmark at a time (the same lock as bench/run.sh): a second one's
# load would be in this one's numbers
mkdir -p "$top/build"
exec 9> "$top/build/bench.lock"
flock -n 9 || { echo "bench/beyond.sh: another run holds build/bench.lock" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ss-beyond-XXXXXX")
chmod 0755 "$work"
mkdir -p "$work"/{pki,redis-tcp,redis-tls,cluster,nginx/conf,nginx/logs,nginx/tmp,results}
res=$work/results

# ---------------------------------------------------------------- pinning

pin_cpus
if [ ${#cpus[@]} -ge 2 ]; then
    pinning="nginx on cpu $NGX_CPU; wrk and every redis-server on cpu $LOAD_CPU"
else
    pinning="one cpu: no pinning, everything shares it"
fi

# ---------------------------------------------------------------- cleanup

cleanup() {
    stop_started
    if [ -n "${BEYOND_KEEP:-}" ]; then
        echo "bench/beyond.sh: kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

# cpu_busy CPU: busy time of one cpu so far, in microseconds
cpu_busy() {
    awk -v c="cpu$1" -v hz="$clk_tck" '$1 == c {
        printf "%.0f\n", ($2 + $3 + $4 + $7 + $8) * 1000000 / hz }' /proc/stat
}

# fresh_port: a free port this script has not handed out yet (a cluster
# node's client port and its bus port, --cluster-port, must differ)
taken=" "
fresh_port() {
    local p
    while :; do
        p=$(free_port)
        [[ $taken == *" $p "* ]] && continue
        taken="$taken$p "
        echo "$p"
        return
    done
}

# rcli PORT ARGS...: redis-cli against one of our servers (TLS for the TLS
# one: the CA made below, the certificate's name); rcli_argv PORT: the
# same command line in the array argv
rcli_argv() {
    argv=(redis-cli -h 127.0.0.1 -p "$1")
    if [ "$1" = "${tls_port:-x}" ]; then
        argv+=(--tls --cacert "$work/pki/ca.pem" --sni redis.bench)
    fi
}
rcli() {
    local argv
    rcli_argv "$1"
    shift
    "${argv[@]}" "$@"
}

wait_pong() {   # wait_pong PORT LOG
    local i
    for ((i = 0; i < 100; i++)); do
        rcli "$1" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.05
    done
    echo "redis-server on port $1 does not answer:" >&2
    tail -n 20 "$2" >&2
    exit 1
}

# ---------------------------------------------------------------- PKI

# a CA and a server certificate it signed, for DNS:redis.bench and
# IP:127.0.0.1, EC P-256 as in t/inc/TlsTest.pm
pki=$work/pki
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$pki/ca.key" -out "$pki/ca.pem" \
    -days 2 -subj "/CN=Shared Session Bench CA" \
    -addext 'basicConstraints = critical, CA:TRUE' \
    -addext 'keyUsage = critical, keyCertSign, cRLSign' 2>/dev/null
openssl req "${ec[@]}" -keyout "$pki/redis.key" -out "$pki/redis.csr" \
    -subj "/CN=redis.bench" 2>/dev/null
printf '%s\n' '[ leaf ]' 'basicConstraints = CA:FALSE' \
    'subjectAltName = DNS:redis.bench, IP:127.0.0.1' \
    'extendedKeyUsage = serverAuth, clientAuth' > "$pki/leaf.ext"
openssl x509 -req -in "$pki/redis.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 2 -sha256 -extfile "$pki/leaf.ext" -extensions leaf \
    -out "$pki/redis.pem" 2>/dev/null
openssl verify -CAfile "$pki/ca.pem" "$pki/redis.pem" > /dev/null
chmod 0644 "$pki"/*.key

# ---------------------------------------------------------------- redis

# the same settings for every server: no persistence, loopback only
redis_common=(--bind 127.0.0.1 --save '' --appendonly no --daemonize no)

tcp_port=$(fresh_port)
"${pin_load[@]}" redis-server --port "$tcp_port" "${redis_common[@]}" \
    --dir "$work/redis-tcp" --logfile "$work/redis-tcp/redis.log" &
tcp_pid=$!
pids+=("$tcp_pid")

tls_port=$(fresh_port)
"${pin_load[@]}" redis-server --port 0 --tls-port "$tls_port" \
    --tls-cert-file "$pki/redis.pem" --tls-key-file "$pki/redis.key" \
    --tls-ca-cert-file "$pki/ca.pem" --tls-auth-clients no \
    "${redis_common[@]}" \
    --dir "$work/redis-tls" --logfile "$work/redis-tls/redis.log" &
tls_pid=$!
pids+=("$tls_pid")

cluster_ports=()
cluster_pids=()
for _ in 1 2 3; do
    p=$(fresh_port)
    bus=$(fresh_port)
    "${pin_load[@]}" redis-server --port "$p" --cluster-enabled yes \
        --cluster-port "$bus" --cluster-node-timeout 5000 \
        --cluster-config-file "$work/cluster/nodes-$p.conf" \
        "${redis_common[@]}" \
        --dir "$work/cluster" --logfile "$work/cluster/redis-$p.log" &
    cluster_pids+=("$!")
    pids+=("$!")
    cluster_ports+=("$p")
done

wait_pong "$tcp_port" "$work/redis-tcp/redis.log"
wait_pong "$tls_port" "$work/redis-tls/redis.log"
for p in "${cluster_ports[@]}"; do
    wait_pong "$p" "$work/cluster/redis-$p.log"
done

redis-cli --cluster create "${cluster_ports[@]/#/127.0.0.1:}" \
    --cluster-replicas 0 --cluster-yes > "$work/cluster/create.out" 2>&1 \
    || { cat "$work/cluster/create.out" >&2; exit 1; }
for ((i = 0; ; i++)); do
    ok=0
    for p in "${cluster_ports[@]}"; do
        rcli "$p" cluster info | grep -q '^cluster_state:ok' && ok=$((ok + 1))
    done
    [ $ok = 3 ] && break
    [ $i -lt 300 ] || { echo "cluster not ok after 30 s" >&2;
                        cat "$work/cluster/create.out" >&2; exit 1; }
    sleep 0.1
done
say "redis: tcp $tcp_port, tls $tls_port, cluster ${cluster_ports[*]} (cluster_state:ok)"

# the servers behind each target
servers_of() {
    case $1 in
        plain)   echo "" ;;
        tcp)     echo "$tcp_port" ;;
        tls)     echo "$tls_port" ;;
        cluster) echo "${cluster_ports[*]}" ;;
    esac
}
pid_of_port() {
    local i
    [ "$1" = "$tcp_port" ] && { echo "$tcp_pid"; return; }
    [ "$1" = "$tls_port" ] && { echo "$tls_pid"; return; }
    for i in 0 1 2; do
        [ "$1" = "${cluster_ports[$i]}" ] && { echo "${cluster_pids[$i]}"; return; }
    done
}

# redis_stats TARGET: "cpu_us calls conns" summed over the target's
# servers: CPU of the processes, command calls (INFO commandstats: the
# redis.call()s of scripts included, INFO excluded), connections received
# (this redis-cli's own included: one per server and call)
redis_stats() {
    local p cpu=0 cmds=0 conns=0 c n
    for p in $(servers_of "$1"); do
        cpu=$((cpu + $(cpu_us "$(pid_of_port "$p")")))
        read -r c n < <(rcli "$p" info all | tr -d '\r' | awk -F'[:=,]' '
            /^cmdstat_/ && $1 != "cmdstat_info" { calls += $3 }
            /^total_connections_received:/ { conns = $2 }
            END { printf "%.0f %.0f\n", calls, conns }')
        cmds=$((cmds + c))
        conns=$((conns + n))
    done
    echo "$cpu $cmds $conns"
}

# redis_cmdstats TARGET: calls by command name, for the mix per request
redis_cmdstats() {  # TARGET: "name=calls ..." summed over its servers
    local p
    for p in $(servers_of "$1"); do
        rcli "$p" info commandstats | tr -d '\r'
    done | awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" {
            sub(/^cmdstat_/, "", $1); n[$1] += $3 }
        END { for (k in n) printf "%s=%d ", k, n[k]; print "" }'
}

# ---------------------------------------------------------------- nginx

host=$(hostname)
plain_body="{\"sessionId\":\"00000000-0000-4000-8000-000000000000\",\"host\":\"$host\",\"lastUpdatedAt\":1700000000000,\"previousHost\":\"$host\",\"creationTime\":1700000000000,\"new\":false}"
nginx_port=$(fresh_port)
base=http://127.0.0.1:$nginx_port

cat > "$work/nginx/conf/nginx.conf" <<EOF
load_module $module;

$(nginx_user)
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log warn;

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

    server {
        listen 127.0.0.1:$nginx_port;

        # the ceiling: no Redis, a fixed body like the module's
        location = /plain {
            default_type application/json;
            add_header Cache-Control no-store;
            return 200 '$plain_body';
        }

        location = /tcp {
            shared_session;
            shared_session_redis 127.0.0.1:$tcp_port;
        }

        location = /tls {
            shared_session;
            shared_session_redis 127.0.0.1:$tls_port;
            shared_session_redis_tls on;
            shared_session_redis_tls_trusted_certificate $pki/ca.pem;
            shared_session_redis_tls_server_name redis.bench;
        }

        location = /cluster {
            shared_session;
            shared_session_redis_cluster on;
$(for p in "${cluster_ports[@]}"; do
    echo "            shared_session_redis 127.0.0.1:$p;"
done)
        }

        location = /status {
            stub_status;
        }
    }
}
EOF

"$NGINX" -t -q -e logs/error.log -p "$work/nginx/" -c conf/nginx.conf -g 'daemon off;'
"${pin_nginx[@]}" "$NGINX" -e logs/error.log -p "$work/nginx/" -c conf/nginx.conf \
    -g 'daemon off;' &
nginx_master=$!
wait_http "$base/status" 100 || { cat "$work/nginx/logs/error.log" >&2; exit 1; }
nginx_worker=$(pgrep -P "$nginx_master" | head -n 1)
[ -n "$nginx_worker" ] || { echo "no nginx worker" >&2; exit 1; }
say "nginx worker $nginx_worker on $base; $pinning"

# ---------------------------------------------------------------- sessions

path_of() { echo "/$1"; }

# new_session PATH: a fresh session's cookie ("SESSION=...")
new_session() {
    local c
    c=$(curl -sf -D - -o /dev/null "$base$1" | tr -d '\r' \
        | sed -n 's/^[Ss]et-[Cc]ookie: \(SESSION=[^;]*\).*/\1/p')
    [ -n "$c" ] || { echo "no Set-Cookie from $base$1:" >&2;
                     tail -n 5 "$work/nginx/logs/error.log" >&2; exit 1; }
    echo "$c"
}

# CONNS sessions per target, created through its own location (each Redis
# holds its own), checked to be reused; the plain location gets the tcp
# target's cookies, so that its requests are the same size
for t in tcp tls cluster; do
    : > "$work/cookies-$t"
    for ((k = 0; k < CONNS; k++)); do
        new_session "/$t" >> "$work/cookies-$t"
    done
    curl -sf -H "Cookie: $(head -n 1 "$work/cookies-$t")" "$base/$t" \
        | grep -q '"new":false' \
        || { echo "$t: a created session was not reused" >&2; exit 1; }
done
cp "$work/cookies-tcp" "$work/cookies-plain"
# the cluster's sessions are spread over its three primaries
spread=""
for p in "${cluster_ports[@]}"; do
    spread="$spread $(rcli "$p" dbsize)"
done
say "sessions: $CONNS per target; cluster keys per primary:$spread"

# ---------------------------------------------------------------- wrk

# run_wrk NAME SECONDS TARGET: wrk output in $res/NAME.wrk, the BENCH line
# echoed with wrk's own CPU (through sh's cutime + cstime, as run.sh does)
run_wrk() {
    # shellcheck disable=SC2016
    timeout $(($2 + 30)) "${pin_load[@]}" sh -c '
        "$@" || exit
        sed "s/^.*) //" /proc/$$/stat \
            | awk -v hz="$HZ" "{ printf \"WRKCPU %d\\n\", (\$14 + \$15) * 1000000 / hz }"
        ' sh wrk -c "$CONNS" -t "$THREADS" -d "$2s" --timeout 5s \
        -s "$top/bench/session.lua" "$base/$3" \
        -- "/$3" "$work/cookies-$3" "$THREADS" > "$res/$1.wrk" 2>&1 || {
            cat "$res/$1.wrk" >&2; exit 1; }
    echo "$(sed -n 's/^BENCH //p' "$res/$1.wrk")" \
         "wrk_cpu=$(sed -n 's/^WRKCPU //p' "$res/$1.wrk")"
}

# measure TARGET ROUND: one measured run; the deltas to $res/TARGET.ROUND
measure() {
    local t=$1 round=$2 out n0 n1 b0 b1 l0 l1 rc0 rc1 rm0 rm1 rn0 rn1
    n0=$(cpu_us "$nginx_worker")
    b0=$(cpu_busy "$NGX_CPU")
    l0=$(cpu_busy "$LOAD_CPU")
    read -r rc0 rm0 rn0 < <(redis_stats "$t")

    out=$(run_wrk "$t.$round" "$DURATION" "$t")

    b1=$(cpu_busy "$NGX_CPU")
    l1=$(cpu_busy "$LOAD_CPU")
    n1=$(cpu_us "$nginx_worker")
    read -r rc1 rm1 rn1 < <(redis_stats "$t")
    [ "$(kv requests "$out")" -gt 0 ] || { cat "$res/$t.$round.wrk" >&2; exit 1; }

    echo "$out nginx_cpu=$((n1 - n0)) ngx_core_busy=$((b1 - b0))" \
         "load_core_busy=$((l1 - l0))" \
         "redis_cpu=$((rc1 - rc0)) redis_cmds=$((rm1 - rm0))" \
         "redis_conns=$((rn1 - rn0))" > "$res/$t.round$round"
    say "$t round $round: $(kv requests "$out") requests," \
        "$(fmt 0 "$(calc "$(kv requests "$out") * 1000000 / $(kv duration_us "$out")")") req/s," \
        "p99 $(kv p99 "$out") us, errors $(kv status_errors "$out")"
}

# aggregate TARGET: sums over the rounds; p50/p99 the medians of the rounds'
aggregate() {
    cat "$res/$1".round* | awk -v ngx_cpu="$NGX_CPU" -v load_cpu="$LOAD_CPU" '
        {
            for (i = 1; i <= NF; i++) {
                split($i, kv, "=")
                v[kv[1]] += kv[2]
                if (kv[1] == "p50") p50[NR] = kv[2]
                if (kv[1] == "p99") p99[NR] = kv[2]
            }
        }
        function median(a, n,   i, j, t) {
            for (i = 1; i <= n; i++)
                for (j = i + 1; j <= n; j++)
                    if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        END {
            r = v["requests"]; d = v["duration_us"]
            printf "requests=%d rps=%.1f p50=%d p99=%d", r, r * 1000000 / d,
                   median(p50, NR), median(p99, NR)
            printf " non2xx=%d socket_errors=%d", v["status_errors"],
                   v["connect_errors"] + v["read_errors"] + v["write_errors"] \
                   + v["timeouts"]
            printf " nginx_us=%.3f redis_us=%.3f wrk_us=%.3f cmds=%.3f",
                   v["nginx_cpu"] / r, v["redis_cpu"] / r, v["wrk_cpu"] / r,
                   v["redis_cmds"] / r
            printf " redis_conns=%d others=%.3f", v["redis_conns"],
                   (v["ngx_core_busy"] - v["nginx_cpu"]) / d
            # on one cpu, nginx is on it too
            printf " load_others=%.3f\n", (v["load_core_busy"] - v["wrk_cpu"] \
                   - v["redis_cpu"] - (ngx_cpu == load_cpu) * v["nginx_cpu"]) / d
        }' > "$res/$1"
}

# warm-up: connections, TLS handshake, SCRIPT LOAD, the slot map
for t in "${TARGETS[@]}"; do
    run_wrk "$t.warmup" "$WARMUP" "$t" > /dev/null
done
for t in tcp tls cluster; do
    redis_cmdstats "$t" > "$res/$t.cmdstats0"
done
for ((round = 1; round <= ROUNDS; round++)); do
    for t in "${TARGETS[@]}"; do
        measure "$t" "$round"
    done
done
for t in "${TARGETS[@]}"; do
    aggregate "$t"
done
for t in tcp tls cluster; do
    redis_cmdstats "$t" > "$res/$t.cmdstats1"
done
# what nginx sends, apart from what the scripts call: MONITOR on each of
# the target's servers during a few single requests (after the measured
# runs: MONITOR slows Redis down). Script calls show as "[0 lua]".
monitor_sample() {  # TARGET N
    local t=$1 n=$2 p argv mons=() k cookie
    for p in $(servers_of "$t"); do
        rcli_argv "$p"
        "${pin_load[@]}" "${argv[@]}" monitor > "$res/$t.monitor.$p" 2>&1 &
        mons+=("$!")
        pids+=("$!")
    done
    sleep 0.3
    cookie=$(head -n 1 "$work/cookies-$t")
    for ((k = 0; k < n; k++)); do
        curl -sf -o /dev/null -H "Cookie: $cookie" "$base/$t" \
            || { echo "$t: a sampled request failed" >&2; exit 1; }
    done
    sleep 0.3
    for p in "${mons[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    cat "$res/$t".monitor.* | awk -v n="$n" '
        / \[[0-9]+ lua\] / { lua++; next }
        / \[[0-9]+ [0-9.:]+\] / { client++; split($4, c, "\""); name[tolower(c[2])]++ }
        END {
            printf "client=%.2f lua=%.2f mix=", client / n, lua / n
            for (k in name) printf "%s:%.2f,", k, name[k] / n
            print ""
        }' > "$res/$t.monitor"
}
SAMPLE=20
for t in tcp tls cluster; do
    monitor_sample "$t" "$SAMPLE"
done

alerts=$(grep -c '\[\(alert\|crit\|error\|emerg\)\]' "$work/nginx/logs/error.log" || true)

# commands per request by name, from the commandstats deltas
cmd_mix() {  # TARGET
    local t=$1 reqs
    reqs=$(get "$t" requests)
    awk -v reqs="$reqs" '
        NR == FNR { for (i = 1; i <= NF; i++) { split($i, kv, "="); a[kv[1]] = kv[2] }; next }
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); d = kv[2] - a[kv[1]]
              if (d > 0) printf "%s %.2f, ", kv[1], d / reqs } }
    ' "$res/$t.cmdstats0" "$res/$t.cmdstats1" | sed 's/, $//'
}

# ================================================================ report

{
echo
echo "bench/beyond.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cpu" \
     "($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)), $pinning"
echo "nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), Redis $(redis-server --version | awk '{print $3}' | sed 's/^v=//')," \
     "$(openssl version | awk '{print $1, $2}'); reused sessions, wrk $CONNS connections" \
     "$THREADS threads, $ROUNDS rounds of ${DURATION}s per target after ${WARMUP}s of warm-up"
echo
echo "| target | req/s | x plain | x standalone TCP | p50 ms | p99 ms | non-2xx | nginx us/req | redis us/req | redis cmds/req sent (in scripts) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
plain_rps=$(get plain rps)
tcp_rps=$(get tcp rps)
for t in "${TARGETS[@]}"; do
    case $t in
        plain)   label="plain return 200" ;;
        tcp)     label="standalone Redis, TCP" ;;
        tls)     label="standalone Redis, TLS (verify on)" ;;
        cluster) label="Redis Cluster, 3 primaries, TCP" ;;
    esac
    rus=-; cmds=-
    [ "$t" = plain ] || {
        rus=$(fmt 1 "$(get "$t" redis_us)")
        cmds="$(fmt 2 "$(get "$t.monitor" client)") ($(fmt 2 "$(get "$t.monitor" lua)"))"
    }
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" \
        "$(fmt 0 "$(get "$t" rps)")" \
        "$(fmt 2 "$(calc "$(get "$t" rps) / $plain_rps")")" \
        "$(fmt 2 "$(calc "$(get "$t" rps) / $tcp_rps")")" \
        "$(fmt 2 "$(calc "$(get "$t" p50) / 1000")")" \
        "$(fmt 2 "$(calc "$(get "$t" p99) / 1000")")" \
        "$(get "$t" non2xx)" "$(fmt 1 "$(get "$t" nginx_us)")" "$rus" "$cmds"
done
echo
for t in tcp tls cluster; do
    echo "$t: sent per request (MONITOR, $SAMPLE requests): $(get "$t.monitor" mix | sed 's/,$//; s/,/, /g; s/:/ /g');" \
         "calls per request during the runs (commandstats, script calls included):" \
         "$(fmt 2 "$(get "$t" cmds)") = $(cmd_mix $t)"
done
for t in "${TARGETS[@]}"; do
    echo "$t: wrk $(fmt 1 "$(get "$t" wrk_us)") us/req; cpu $LOAD_CPU (wrk + redis)" \
         "$(fmt 0 "$(calc "100 * ($(get "$t" wrk_us) + $(get "$t" redis_us)) * $(get "$t" rps) / 1000000")")% busy," \
         "nginx kept cpu $NGX_CPU $(fmt 0 "$(calc "100 * $(get "$t" nginx_us) * $(get "$t" rps) / 1000000")")% busy," \
         "other processes $(fmt 0 "$(calc "100 * $(get "$t" others)")")% of it" \
         "and $(fmt 0 "$(calc "100 * $(get "$t" load_others)")")% of cpu $LOAD_CPU;" \
         "socket errors $(get "$t" socket_errors);" \
         "new Redis connections from nginx $(( $(get "$t" redis_conns) - ROUNDS * $(servers_of "$t" | wc -w) ))"
done
echo "nginx error log: $alerts lines at error or worse; load average at the start: $load_start"

errors=0
others=0
for t in "${TARGETS[@]}"; do
    errors=$((errors + $(get "$t" non2xx) + $(get "$t" socket_errors)))
    for o in $(get "$t" others) $(get "$t" load_others); do
        [ "$(echo "$o > $others" | bc -l)" = 1 ] && others=$o
    done
done
if [ "$(echo "$others > $MAX_OTHERS" | bc -l)" = 1 ]; then
    echo "UNRELIABLE: other processes ran on one of the two cpus up to $(fmt 0 "$(calc "100 * $others")")% of the time (limit $(fmt 0 "$(calc "100 * $MAX_OTHERS")")%): run again on a quieter machine"
else
    echo "quiet machine: other processes ran on either cpu at most $(fmt 0 "$(calc "100 * $others")")% of the time"
fi
if [ $errors -gt 0 ]; then
    echo "FAIL: $errors non-2xx answers or socket errors"
else
    echo "PASS: no non-2xx answers, no socket errors"
fi
} | tee "$res/report.txt"

say "done"
grep -q '^PASS: no non-2xx' "$res/report.txt" || exit 1
