#!/usr/bin/env bash
#
# make test-e2e: the browser test.  Starts the demo topology (scripts/demo.sh:
# front router, container 1, container 2, redis-server) on free ports in
# build/e2e/demo, runs t/e2e/shared-session.test.js in headless Debian
# Chromium through playwright-core, and stops the demo again, also when the
# test fails.  Screenshots: t/e2e/output/ (E2E_OUTPUT to change).
#
# Missing Debian packages (chromium, nodejs/npm if there is no npm) are
# installed when run as root; the npm packages come from
# t/e2e/package-lock.json.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# shellcheck source=scripts/common.sh
. scripts/common.sh

start=$EPOCHREALTIME

need_packages chromium nginx-core redis-server redis-tools curl perl
command -v npm >/dev/null || need_packages nodejs npm

scripts/build.sh

e2e=$top/t/e2e
"$e2e/install.sh"

export DEMO_DIR=$top/build/e2e/demo
mkdir -p "$top/build/e2e"
export DEMO_SKIP_BUILD=1

# four distinct free ports, so that a running "make demo" is left alone
ports=()
while [ ${#ports[@]} -lt 4 ]; do
    p=$(free_port)
    [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
export DEMO_PORT=${ports[0]} DEMO_CONTAINER1_PORT=${ports[1]} \
       DEMO_CONTAINER2_PORT=${ports[2]} DEMO_REDIS_PORT=${ports[3]}

stop_demo() {
    scripts/demo.sh stop >/dev/null || true
}
trap stop_demo EXIT

# what an interrupted run may have left, then a clean slate for the logs
stop_demo
rm -rf "$DEMO_DIR"

rc=0
scripts/demo.sh start > "$top/build/e2e/demo-start.log" 2>&1 || rc=$?
if [ $rc != 0 ]; then
    cat "$top/build/e2e/demo-start.log"
    echo "e2e: the demo did not start"
    echo "e2e: 0 passed, 1 failed"
    exit 1
fi
grep -E '^(containers have|no UTS)' "$top/build/e2e/demo-start.log" || true

out=$top/build/e2e/test.log
set +e
E2E_BASE_URL=http://127.0.0.1:$DEMO_PORT \
E2E_REDIS_PORT=$DEMO_REDIS_PORT \
E2E_REDIS_PIDFILE=$DEMO_DIR/redis/redis.pid \
E2E_OUTPUT=${E2E_OUTPUT:-$e2e/output} \
    node "$e2e/shared-session.test.js" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e

if [ "$rc" != 0 ]; then
    for log in "$DEMO_DIR"/*/logs/error.log; do
        echo "--- $log (warnings and errors)"
        grep -E '\[(warn|error|crit|alert|emerg)\]' "$log" | tail -n 20 || true
    done
    echo "--- (all logs stay in $DEMO_DIR)"
fi

stop_demo
trap - EXIT

summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
awk -v a="$start" -v b="$EPOCHREALTIME" \
    'BEGIN { printf "e2e: took %.1f s (demo in %s, stopped)\n", b - a, ENVIRON["DEMO_DIR"] }'
echo "e2e: ${summary:-0 passed, 1 failed}"
[ -n "$summary" ] || rc=1
exit "$rc"
