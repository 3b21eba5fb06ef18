#!/usr/bin/env bash
#
# bench/compare.sh: two module files, before and after, through the same
# memory and profile modes of bench/run.sh (valgrind memcheck and
# callgrind: instruction and allocation counts, which do not depend on
# the machine's load), then the before/after tables in Markdown, ready for
# bench/README.md (issue 16).
#
#   bench/compare.sh [BEFORE.so [AFTER.so]]
#
#   BEFORE.so  (or BENCH_MODULE_BEFORE) the module file before the change,
#              e.g. one built from an older commit
#   AFTER.so   (or BENCH_MODULE_AFTER) after it; by default this checkout's
#              scripts/build.sh build
#
# Each file is copied first (build/bench-compare/{before,after}/), so a
# rebuild during the run changes nothing; then "bench/run.sh memory
# profile" runs with BENCH_MODULE set to the copy, before and then after,
# with the same knobs (BENCH_MEM_SHORT, BENCH_MEM_LONG,
# BENCH_PROFILE_DURATION, NGINX); each run's results directory is kept
# beside its copy.  Output: build/bench-compare/report.md (also printed),
# each run's own report in build/bench-compare/{before,after}.txt.
# About 2 minutes.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

before=${1:-${BENCH_MODULE_BEFORE:-}}
after=${2:-${BENCH_MODULE_AFTER:-}}
if [ -z "$before" ]; then
    sed -n '3,24p' "$0" >&2
    exit 2
fi
before=$(realpath -e "$before")
if [ -z "$after" ]; then
    scripts/build.sh > /dev/null
    after=$top/build/ngx_http_shared_session_module.so
fi
after=$(realpath -e "$after")

out=$top/build/bench-compare
mkdir -p "$top/build"
# one comparison at a time (bench/run.sh takes its own lock per run)
exec 8> "$top/build/bench-compare.lock"
flock -n 8 || { echo "bench/compare.sh: another comparison is running" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"/{before,after}

say() { printf '[compare] %s\n' "$*" >&2; }

for side in before after; do
    src=$before
    [ $side = after ] && src=$after
    # the name as the module's: callgrind-report.pl tells the module's
    # functions by it
    cp "$src" "$out/$side/ngx_http_shared_session_module.so"
    echo "$src $(sha256sum "$src" | cut -c1-12)" > "$out/$side/source"
done

for side in before after; do
    say "$side: bench/run.sh memory profile with $(cat "$out/$side/source")"
    BENCH_MODULE=$out/$side/ngx_http_shared_session_module.so \
        bench/run.sh memory profile > "$out/$side.txt" 2> "$out/$side.log" \
        || { tail -n 20 "$out/$side.log" >&2; exit 1; }
    cp -r "$top/build/bench/results" "$out/$side/results"
    grep -E '^(PASS|FAIL) ' "$out/$side.txt" | sed "s/^/[compare] $side: /" >&2
done

{
    echo "### Before/after, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "\`bench/compare.sh\`: before \`$(cut -d' ' -f1 "$out/before/source" \
        | sed "s|^$top/||")\` (sha256 $(cut -d' ' -f2 "$out/before/source")...)," \
         "after \`$(cut -d' ' -f1 "$out/after/source" | sed "s|^$top/||")\`" \
         "(sha256 $(cut -d' ' -f2 "$out/after/source")...); nginx" \
         "$("${NGINX:-/usr/sbin/nginx}" -v 2>&1 | sed 's/.*nginx\///'), Redis" \
         "$(redis-server --version | awk '{print $3}' | sed 's/^v=//');" \
         "callgrind over ${BENCH_PROFILE_DURATION:-3} s of wrk -c4 per target" \
         "(counted inside ngx_process_events_and_timers; Redis inside" \
         "EVALSHA), memcheck ${BENCH_MEM_SHORT:-1} s and ${BENCH_MEM_LONG:-4} s" \
         "differenced; per request."
    echo
    perl "$top/bench/compare-report.pl" "$out/before/results" \
        "$out/after/results" "${BENCH_COMPARE_TOP:-20}"
} > "$out/report.md"
cat "$out/report.md"
say "report: $out/report.md; runs: $out/{before,after}.txt, results in $out/{before,after}/results"
