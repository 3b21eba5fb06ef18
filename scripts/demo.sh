#!/usr/bin/env bash
#
# The seed's scenario on this machine: one redis-server, two nginx instances
# with the module ("container 1" and "container 2", each with its own prefix
# directory, pid file, logs and hostname) and a front nginx that routes as the
# seed's Application Load Balancer does (/1 -> container 1, /2 -> container 2,
# anything else -> container 1).  Everything listens on 127.0.0.1.
#
# With SPRING=1 (make demo SPRING=1), container 2 is the seed's real Spring
# Boot application instead (t/spring, configuration "seed": java -jar
# build/spring/boot2.jar, HOSTNAME=container-2, the same Redis), the seed's
# mixed migration: one ECS service moved to nginx, the other still Spring.
# The Redis then has notify-keyspace-events Egx, as the README tells
# ElastiCache users, so that the app gets its session events.
#
#   scripts/demo.sh start     (make demo)       install, build, start
#   scripts/demo.sh stop      (make demo-stop)  stop what "start" started
#   scripts/demo.sh status                      what runs, on which ports
#
# Environment:
#   DEMO_PORT             front router, the URL to open     (default 8080)
#   DEMO_CONTAINER1_PORT  container 1                       (default 8081)
#   DEMO_CONTAINER2_PORT  container 2                       (default 8082)
#   DEMO_REDIS_PORT       redis-server                      (default 6379)
#   DEMO_DIR              state, configurations and logs    (default build/demo)
#   DEMO_UTS=0            do not give the containers their own hostname
#                         (UTS namespace); record container-N through
#                         shared_session_host instead
#   DEMO_SKIP_BUILD=1     use the module (and jar) already in build/
#                         (scripts/e2e.sh)
#   SPRING=1              container 2 is the Spring Boot app (DEMO_SPRING=1
#                         too); "stop" and "status" find out by themselves
#
# A port left at its default that is busy is replaced by a free one (the
# printed URL says which); a port set in the environment must be free.
# "stop" signals only the processes whose pid files "start" wrote, after
# checking that each pid is still the process it started.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=scripts/common.sh
. "$top/scripts/common.sh"

dir=$(realpath -m "${DEMO_DIR:-$top/build/demo}")
module=$top/build/ngx_http_shared_session_module.so
jar=$top/build/spring/boot2.jar
nginx=/usr/sbin/nginx
components=(front container-2 spring container-1 redis)   # stop order
spring=${DEMO_SPRING:-${SPRING:-0}}
[ "$spring" = 1 ] || spring=0

usage() {
    echo "usage: $0 start|stop|status" >&2
    exit 2
}

# port_free PORT: nothing listens on 127.0.0.1:PORT (bound as nginx and
# redis bind, with SO_REUSEADDR, so a port in TIME_WAIT counts as free)
port_free() {
    perl -MIO::Socket::INET -e \
        'exit(IO::Socket::INET->new(Listen => 1, ReuseAddr => 1,
                                    LocalAddr => "127.0.0.1",
                                    LocalPort => $ARGV[0]) ? 0 : 1)' "$1"
}

# pick_port VAR DEFAULT: sets VAR to $VAR from the environment (must be free)
# or to DEFAULT, or to a free port when DEFAULT is busy or already taken
picked=()
pick_port() {
    local var=$1 default=$2 port p
    port=${!var:-}

    if [ -n "$port" ]; then
        if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] \
           || [ "$port" -gt 65535 ]
        then
            echo "$var=$port is not a port" >&2
            exit 1
        fi
        for p in "${picked[@]}"; do
            [ "$p" != "$port" ] \
                || { echo "$var=$port is already used by the demo" >&2; exit 1; }
        done
        port_free "$port" \
            || { echo "$var=$port: something listens there already" >&2; exit 1; }
    else
        port=$default
        for p in "${picked[@]}"; do
            [ "$p" != "$port" ] || port=
        done
        if [ -z "$port" ] || ! port_free "$port"; then
            port=$(free_port)
            echo "port $default is busy: using $port for $var"
        fi
    fi

    picked+=("$port")
    printf -v "$var" '%s' "$port"
}

pidfile() {
    case $1 in
        redis)  echo "$dir/redis/redis.pid" ;;
        spring) echo "$dir/spring/spring.pid" ;;
        *)      echo "$dir/$1/logs/nginx.pid" ;;
    esac
}

# alive PID: the process exists and is not a zombie (a daemon's exit is
# reaped by PID 1, which can take a while under some container inits)
alive() {
    local state
    state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" \
            2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# running NAME: prints the pid of component NAME when the process in its pid
# file is alive and still the one the demo started
running() {
    local name=$1 f pid cmd cwd
    f=$(pidfile "$name")
    [ -s "$f" ] || return 1
    pid=$(tr -dc 0-9 < "$f")
    [ -n "$pid" ] && alive "$pid" || return 1

    case $name in
        redis)
            cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
            [ "$cwd" = "$dir/redis" ] || return 1
            ;;
        spring)
            # the app's arguments name this demo's directory
            cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
            case $cmd in
                *java*"--demo.dir=$dir/spring "*) ;;
                *) return 1 ;;
            esac
            ;;
        *)
            cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
            case $cmd in
                *nginx*"$dir/$name/"*) ;;
                *) return 1 ;;
            esac
            ;;
    esac

    echo "$pid"
}

stop_one() {
    local name=$1 pid tries=100
    if ! pid=$(running "$name"); then
        rm -f "$(pidfile "$name")"
        return 0
    fi

    # Spring shuts down gracefully in a second or two
    [ "$name" != spring ] || tries=300
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq "$tries"); do
        alive "$pid" || break
        sleep 0.05
    done
    if alive "$pid"; then
        echo "$name (pid $pid) did not stop: killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile "$name")"
    echo "stopped $name (pid $pid)"
}

stop_all() {
    local name out stopped=
    for name in "${components[@]}"; do
        out=$(stop_one "$name")
        [ -z "$out" ] || { echo "$out"; stopped=1; }
    done
    [ -n "$stopped" ] || echo "the demo was not running ($dir)"
}

load_ports() {
    # shellcheck disable=SC1091
    [ -f "$dir/ports.env" ] && . "$dir/ports.env"
    return 0
}

print_urls() {
    local c2
    c2="nginx with the module, host \"$(host_of 2)\""
    [ "$spring" = 0 ] \
        || c2="the seed's Spring Boot app (java), host \"$(host_of 2)\""
    cat <<EOF

Shared session demo is running:

    open  http://127.0.0.1:$DEMO_PORT/index.html
    then  http://127.0.0.1:$DEMO_PORT/app/   (shared_session_require: with a
          session, what the backend was told; without, back to index.html)

  front router (the ALB)  127.0.0.1:$DEMO_PORT  /1 -> container 1, /2 -> container 2, else -> container 1
  container 1             127.0.0.1:$DEMO_CONTAINER1_PORT  nginx with the module, host "$(host_of 1)"
  container 2             127.0.0.1:$DEMO_CONTAINER2_PORT  $c2
  redis-server            127.0.0.1:$DEMO_REDIS_PORT

  the Spring keys:   redis-cli -p $DEMO_REDIS_PORT keys '*'
  one session:       redis-cli -p $DEMO_REDIS_PORT hgetall spring:session:sessions:<id>
  from the shell:    curl -c /tmp/jar -b /tmp/jar http://127.0.0.1:$DEMO_PORT/1
  counters:          curl http://127.0.0.1:$DEMO_CONTAINER1_PORT/status  (container 2: $DEMO_CONTAINER2_PORT;
                     ?format=prometheus, ?check=ready)
  logs:              $dir/*/logs/, $dir/redis/redis.log
EOF
    [ "$spring" = 0 ] || cat <<EOF
  the app's log:     $dir/spring/logs/spring.log
  the app's events:  curl http://127.0.0.1:$DEMO_CONTAINER2_PORT/events
EOF
    cat <<EOF

Stop it with:  make demo-stop   (or scripts/demo.sh stop)
EOF
}

host_of() {
    echo "container-$1"
}

status() {
    local name pid rc=0 c2=container-2
    load_ports
    spring=${DEMO_SPRING:-0}
    [ "$spring" = 0 ] || c2=spring
    for name in redis container-1 "$c2" front; do
        if pid=$(running "$name"); then
            printf '%-12s running  pid %s\n' "$name" "$pid"
        else
            printf '%-12s stopped\n' "$name"
            rc=3
        fi
    done
    if [ $rc = 0 ]; then
        print_urls
    fi
    return $rc
}

# wait_http URL [TRIES]: up to TRIES x 50 ms (5 s) for URL to answer 200
wait_http() {
    for _ in $(seq "${2:-100}"); do
        curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

fail_start() {
    echo "demo: $*" >&2
    local log
    for log in "$dir"/*/logs/error.log "$dir/spring/logs/spring.log" \
               "$dir/redis/redis.log"; do
        [ -s "$log" ] || continue
        echo "--- last lines of $log" >&2
        tail -n 15 "$log" >&2
    done
    stop_all >&2
    exit 1
}

# render TEMPLATE OUT KEY=VALUE...: copies TEMPLATE replacing each @KEY@
render() {
    local in=$1 out=$2 kv text
    shift 2
    text=$(cat "$in")
    for kv in "$@"; do
        text=${text//@${kv%%=*}@/${kv#*=}}
    done
    if [[ "$text" =~ @[A-Z0-9_]+@ ]]; then
        fail_start "$in: ${BASH_REMATCH[0]} left unreplaced"
    fi
    printf '%s\n' "$text" > "$out"
}

start_nginx() {
    local name=$1 pid
    shift
    # "$@" is the command that runs nginx (maybe inside unshare)
    "$@" -p "$dir/$name/" -c conf/nginx.conf \
        || fail_start "$name: nginx did not start"
    for _ in $(seq 100); do
        pid=$(running "$name") && break
        sleep 0.05
    done
    [ -n "${pid:-}" ] || fail_start "$name: no nginx master after start"
    echo "started $name (pid $pid)"
}

# Container 2 as the seed's Spring Boot app, detached from this shell
# (setsid), its output in spring/logs/spring.log.  scripts/spring.sh runs
# the "seed" configuration (profile, JVM flags) and execs java, so the pid
# written is the JVM's; --demo.dir names this demo for running().
start_spring() {
    local port=$1 pid
    mkdir -p "$dir/spring/logs"
    rm -f "$(pidfile spring)"
    (
        cd "$dir/spring"
        HOSTNAME=$(host_of 2) SERVER_PORT=$port SERVER_ADDRESS=127.0.0.1 \
        REDIS_CLUSTER_ENDPOINT=127.0.0.1 REDIS_CLUSTER_PORT=$DEMO_REDIS_PORT \
            setsid "$top/scripts/spring.sh" run seed --demo.dir="$dir/spring" \
                < /dev/null > "$dir/spring/logs/spring.log" 2>&1 &
        echo $! > "$(pidfile spring)"
    )
    # ready when it serves: 3-10 s here, a minute at most
    wait_http "http://127.0.0.1:$port/events" 1200 \
        || fail_start "the Spring Boot app does not answer on $port"
    pid=$(running spring) || fail_start "the Spring Boot app exited"
    echo "started container-2: the Spring Boot app (pid $pid)"
}

start() {
    local name pid n port_var user_directive uts host_directive events
    local nginxes

    mkdir -p "$dir"

    for name in "${components[@]}"; do
        if pid=$(running "$name"); then
            echo "the demo is already running ($name has pid $pid)"
            status || true
            return 0
        fi
    done

    need_packages nginx-core redis-server redis-tools curl perl util-linux \
                  hostname
    if [ "${DEMO_SKIP_BUILD:-0}" != 1 ] || [ ! -f "$module" ]; then
        "$top/scripts/build.sh"
    fi
    if [ "$spring" = 1 ] \
       && { [ "${DEMO_SKIP_BUILD:-0}" != 1 ] || [ ! -f "$jar" ]; }
    then
        "$top/scripts/spring.sh" build
    fi

    pick_port DEMO_PORT 8080
    pick_port DEMO_CONTAINER1_PORT 8081
    pick_port DEMO_CONTAINER2_PORT 8082
    pick_port DEMO_REDIS_PORT 6379

    cat > "$dir/ports.env" <<EOF
DEMO_PORT=$DEMO_PORT
DEMO_CONTAINER1_PORT=$DEMO_CONTAINER1_PORT
DEMO_CONTAINER2_PORT=$DEMO_CONTAINER2_PORT
DEMO_REDIS_PORT=$DEMO_REDIS_PORT
DEMO_SPRING=$spring
EOF

    # each nginx's prefix: conf/, logs/, temp/ and, for the containers,
    # html/ with the page (both serve it, as the seed's two apps do)
    nginxes=(front container-1 container-2)
    [ "$spring" = 0 ] || nginxes=(front container-1)
    for name in "${nginxes[@]}"; do
        mkdir -p "$dir/$name/conf" "$dir/$name/logs" "$dir/$name/temp"
    done
    for name in "${nginxes[@]:1}"; do
        mkdir -p "$dir/$name/html"
        cp "$top/conf/index.html" "$dir/$name/html/index.html"
    done

    # A root master runs its workers as "nobody"; they read html/.  When the
    # demo lives where nobody cannot read (a clone under /root, say), keep
    # the workers as the master's user instead.
    user_directive=
    if [ "$(id -u)" = 0 ] \
       && ! runuser -u nobody -- test -r "$dir/container-1/html/index.html" \
            2>/dev/null
    then
        user_directive="user root;  # the workers cannot read $dir as nobody"
    fi

    # A container's host is its hostname, as in ECS: give each instance a UTS
    # namespace of its own.  Without one, say the host in the configuration.
    uts=0
    if [ "${DEMO_UTS:-1}" != 0 ] \
       && unshare --uts sh -c 'hostname demo-probe' 2>/dev/null
    then
        uts=1
    fi

    # --- redis-server (with the Spring app: its keyspace events)
    mkdir -p "$dir/redis"
    rm -f "$dir/redis/redis.pid"
    events=()
    [ "$spring" = 0 ] || events=(--notify-keyspace-events Egx)
    redis-server --bind 127.0.0.1 --port "$DEMO_REDIS_PORT" \
        --daemonize yes --pidfile "$dir/redis/redis.pid" \
        --dir "$dir/redis" --logfile "$dir/redis/redis.log" \
        --save '' --appendonly no "${events[@]}" \
        || fail_start "redis-server did not start"
    for _ in $(seq 100); do
        redis-cli -p "$DEMO_REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
        sleep 0.05
    done
    redis-cli -p "$DEMO_REDIS_PORT" ping 2>/dev/null | grep -q PONG \
        || fail_start "redis-server does not answer on $DEMO_REDIS_PORT"
    pid=$(running redis) || fail_start "redis-server wrote no pid file"
    echo "started redis (pid $pid, port $DEMO_REDIS_PORT)"

    # --- the two containers
    for n in 1 2; do
        if [ $n = 2 ] && [ "$spring" = 1 ]; then
            start_spring "$DEMO_CONTAINER2_PORT"
            continue
        fi
        name=container-$n
        host_directive=
        [ $uts = 1 ] || host_directive="shared_session_host $(host_of $n);"
        port_var=DEMO_CONTAINER${n}_PORT
        render "$top/conf/demo/container.conf.in" "$dir/$name/conf/nginx.conf" \
            "MODULE=$module" "USER_DIRECTIVE=$user_directive" \
            "HOST_DIRECTIVE=$host_directive" "PORT=${!port_var}" "N=$n" \
            "APP_SOCKET=$dir/$name/app.sock"

        # the module reads the Redis address from the environment when the
        # configuration is loaded, as in the ECS task definition
        if [ $uts = 1 ]; then
            # shellcheck disable=SC2016  # expanded by the inner sh
            start_nginx "$name" env REDIS_CLUSTER_ENDPOINT=127.0.0.1 \
                REDIS_CLUSTER_PORT="$DEMO_REDIS_PORT" \
                unshare --uts sh -c 'hostname "$0" && exec "$@"' \
                "$(host_of $n)" "$nginx"
        else
            start_nginx "$name" env REDIS_CLUSTER_ENDPOINT=127.0.0.1 \
                REDIS_CLUSTER_PORT="$DEMO_REDIS_PORT" "$nginx"
        fi
        wait_http "http://127.0.0.1:${!port_var}/health" \
            || fail_start "$name does not answer on ${!port_var}"
    done

    # --- the front router
    render "$top/conf/demo/front.conf.in" "$dir/front/conf/nginx.conf" \
        "USER_DIRECTIVE=$user_directive" "PORT=$DEMO_PORT" \
        "C1_PORT=$DEMO_CONTAINER1_PORT" "C2_PORT=$DEMO_CONTAINER2_PORT"
    start_nginx front "$nginx"
    wait_http "http://127.0.0.1:$DEMO_PORT/index.html" \
        || fail_start "the front router does not answer on $DEMO_PORT"

    if [ $uts = 1 ]; then
        echo "containers have their own hostnames (UTS namespaces)"
    else
        echo "no UTS namespace here: hosts set with shared_session_host"
    fi
    [ "$spring" = 0 ] \
        || echo "container 2 is the Spring Boot app (HOSTNAME=$(host_of 2))"
    print_urls
}

case ${1:-} in
    start)  start ;;
    stop)   stop_all ;;
    status) status ;;
    *)      usage ;;
esac
