#!/usr/bin/env bash
#
# make test-e2e: the browser test.  Starts the demo topology (scripts/demo.sh:
# front router, container 1, container 2, redis-server) on free ports in
# build/e2e/demo, runs t/e2e/shared-session.test.js in headless Debian
# Chromium through playwright-core, and stops the demo again, also when the
# test fails.  Then the same with container 2 as the seed's real Spring Boot
# app (scripts/demo.sh with SPRING=1, in build/e2e/demo-spring): the host
# switches between nginx and Spring while the session stays.  Screenshots:
# t/e2e/output/ (E2E_OUTPUT to change); the Spring variant's are
# *-spring.png.  E2E_VARIANTS="nginx spring" (the default) chooses.
#
# Missing Debian packages (chromium, nodejs/npm if there is no npm) are
# installed when run as root; the npm packages come from
# t/e2e/package-lock.json; the Spring app's jar is built by scripts/spring.sh
# (nothing to do when it is up to date).

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# shellcheck source=scripts/common.sh
. scripts/common.sh

start=$EPOCHREALTIME
variants=${E2E_VARIANTS:-nginx spring}

need_packages chromium nginx-core redis-server redis-tools curl perl
command -v npm >/dev/null || need_packages nodejs npm

scripts/build.sh
case " $variants " in
*" spring "*) scripts/spring.sh ;;
esac

e2e=$top/t/e2e
"$e2e/install.sh"

mkdir -p "$top/build/e2e"
export DEMO_SKIP_BUILD=1

stop_demo() {
    [ -z "${DEMO_DIR:-}" ] || scripts/demo.sh stop >/dev/null || true
}
trap stop_demo EXIT

passed=0
failed=0
rc=0

# run_variant NAME: the demo (container 2 nginx, or Spring for "spring") and
# the browser test against it
run_variant() {
    local name=$1 suffix='' p vrc out summary
    local -a ports=()
    [ "$name" = nginx ] || suffix=-$name

    export DEMO_DIR=$top/build/e2e/demo$suffix
    export DEMO_SPRING=0
    [ "$name" != spring ] || DEMO_SPRING=1

    # four distinct free ports, so that a running "make demo" is left alone
    while [ ${#ports[@]} -lt 4 ]; do
        p=$(free_port)
        [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
    done
    export DEMO_PORT=${ports[0]} DEMO_CONTAINER1_PORT=${ports[1]} \
           DEMO_CONTAINER2_PORT=${ports[2]} DEMO_REDIS_PORT=${ports[3]}

    # what an interrupted run may have left, then a clean slate for the logs
    stop_demo
    rm -rf "$DEMO_DIR"

    echo "== e2e: container 2 is $([ "$name" = spring ] \
        && echo "the Spring Boot app" || echo "nginx")"
    vrc=0
    scripts/demo.sh start > "$top/build/e2e/demo-start$suffix.log" 2>&1 \
        || vrc=$?
    if [ $vrc != 0 ]; then
        cat "$top/build/e2e/demo-start$suffix.log"
        echo "e2e: the demo did not start"
        failed=$((failed + 1))
        rc=1
        return
    fi
    grep -E '^(containers have|no UTS|container 2 is)' \
        "$top/build/e2e/demo-start$suffix.log" || true

    out=$top/build/e2e/test$suffix.log
    set +e
    E2E_BASE_URL=http://127.0.0.1:$DEMO_PORT \
    E2E_REDIS_PORT=$DEMO_REDIS_PORT \
    E2E_REDIS_PIDFILE=$DEMO_DIR/redis/redis.pid \
    E2E_SPRING=$DEMO_SPRING \
    E2E_CONTAINER2_URL=http://127.0.0.1:$DEMO_CONTAINER2_PORT \
    E2E_OUTPUT=${E2E_OUTPUT:-$e2e/output} \
        node "$e2e/shared-session.test.js" 2>&1 | tee "$out"
    vrc=${PIPESTATUS[0]}
    set -e

    if [ "$vrc" != 0 ]; then
        for log in "$DEMO_DIR"/*/logs/error.log \
                   "$DEMO_DIR"/spring/logs/spring.log; do
            [ -f "$log" ] || continue
            echo "--- $log (warnings and errors)"
            grep -E '\[(warn|error|crit|alert|emerg)\]| ERROR | WARN ' "$log" \
                | tail -n 20 || true
        done
        echo "--- (all logs stay in $DEMO_DIR)"
        rc=1
    fi

    stop_demo

    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [ -n "$summary" ]; then
        passed=$((passed + ${summary%% *}))
        summary=${summary#* passed, }
        failed=$((failed + ${summary%% *}))
    else
        failed=$((failed + 1))
        rc=1
    fi
}

for v in $variants; do
    case $v in
    nginx|spring) run_variant "$v" ;;
    *) echo "E2E_VARIANTS: unknown variant '$v' (nginx, spring)" >&2; exit 2 ;;
    esac
done
trap - EXIT

awk -v a="$start" -v b="$EPOCHREALTIME" -v v="$variants" 'BEGIN {
    printf "e2e: took %.1f s (%s; demos in build/e2e, stopped)\n", b - a, v
}'
echo "e2e: $passed passed, $failed failed"
[ "$failed" = 0 ] || rc=1
exit "$rc"
