# Helpers shared by bench/run.sh and bench/beyond.sh, sourced after
# scripts/common.sh.  The caller sets start_time (for say) and res (the
# results directory, for get), and adds what it starts to pids or sets
# nginx_master, for stop_started.

say() { printf '[%5.1fs] %s\n' "$(echo "$EPOCHREALTIME - $start_time" | bc)" "$*" >&2; }

# pin_cpus: NGX_CPU for nginx, LOAD_CPU for the rest, and the taskset
# prefixes pin_nginx and pin_load (empty with a single cpu)
pin_cpus() {
    local part c
    cpus=()
    for part in $(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status \
                  | tr ',' ' ')
    do
        if [[ $part == *-* ]]; then
            for ((c = ${part%-*}; c <= ${part#*-}; c++)); do cpus+=("$c"); done
        else
            cpus+=("$part")
        fi
    done

    if [ ${#cpus[@]} -ge 2 ]; then
        NGX_CPU=${cpus[0]}
        LOAD_CPU=${cpus[1]}
        pin_nginx=(taskset -c "$NGX_CPU")
        pin_load=(taskset -c "$LOAD_CPU")
    else
        NGX_CPU=${cpus[0]:-0}
        LOAD_CPU=$NGX_CPU
        pin_nginx=()
        pin_load=()
    fi
}

# stop_started: nginx gracefully, the others with TERM, KILL after 5 s
pids=()
nginx_master=
stop_started() {
    local p
    if [ -n "$nginx_master" ] && kill -0 "$nginx_master" 2>/dev/null; then
        kill -QUIT "$nginx_master" 2>/dev/null || true
    fi
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in $nginx_master "${pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null || true
    done
}

clk_tck=$(getconf CLK_TCK)
export HZ=$clk_tck

# cpu_us PID: utime + stime of the whole process, in microseconds
cpu_us() {
    sed 's/^.*) //' "/proc/$1/stat" \
        | awk -v hz="$clk_tck" '{ printf "%.0f\n", ($12 + $13) * 1000000 / hz }'
}

wait_http() {   # URL TRIES
    local i
    for ((i = 0; i < $2; i++)); do
        curl -sf -o /dev/null "$1" && return 0
        sleep 0.1
    done
    return 1
}

kv() {  # kv KEY "k=v k=v ...": the value of KEY
    local pair
    for pair in $2; do
        [ "${pair%%=*}" = "$1" ] && { echo "${pair#*=}"; return; }
    done
    echo 0
}

get() {  # get NAME KEY
    kv "$2" "$(cat "$res/$1" 2>/dev/null)"
}

calc() { echo "scale=6; $*" | bc -l; }
fmt() { printf "%.${1}f" "$2"; }
