#!/usr/bin/env bash
#
# make fuzz: builds the libFuzzer targets (fuzz/build.sh), replays every
# seed of fuzz/corpus/<target>/ once (the regression pass), then fuzzes
# each target for a bounded time.
#
#   FUZZ_SECONDS=N      seconds of fuzzing per target (default 60; CI: 10)
#   FUZZ_TARGETS="..."  a subset of: fuzz_cookie fuzz_json fuzz_store
#                       fuzz_cluster fuzz_jdk
#   FUZZ_ARGS="..."     more libFuzzer flags (e.g. -jobs=2 -workers=2)
#
# The growing corpus is kept in build/fuzz/corpus/<target>/ (the seeds in
# fuzz/corpus/ are only read), crash inputs go to
# build/fuzz/artifacts/<target>/, each target's output to
# build/fuzz/logs/<target>.log.  Exits non-zero if a seed or a fuzzing run
# fails: the input, its reproduction command and the sanitizer's report
# are printed.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

secs=${FUZZ_SECONDS:-60}
read -r -a targets <<< "${FUZZ_TARGETS:-fuzz_cookie fuzz_json fuzz_store fuzz_cluster fuzz_jdk}"
read -r -a extra <<< "${FUZZ_ARGS:-}"

case $secs in
    ''|*[!0-9]*) echo "FUZZ_SECONDS must be a number of seconds" >&2; exit 2 ;;
esac

fuzz/build.sh

out=$top/build/fuzz
mkdir -p "$out/logs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:suppressions=$top/fuzz/ubsan.supp}

failed=()
summary=()

for t in "${targets[@]}"; do
    bin=$out/bin/$t
    seeds=$top/fuzz/corpus/$t
    work=$out/corpus/$t
    art=$out/artifacts/$t
    log=$out/logs/$t.log

    [ -x "$bin" ] || { echo "no such target: $t" >&2; exit 2; }

    mkdir -p "$work" "$art"

    # regression: each seed once, as a plain test input
    echo "== $t: replaying $(find "$seeds" -type f | wc -l) seeds"
    if ! "$bin" "$seeds"/* > "$log.seeds" 2>&1; then
        echo "$t: a seed fails:" >&2
        tail -60 "$log.seeds" >&2
        failed+=("$t (seed)")
        continue
    fi

    echo "== $t: fuzzing for ${secs}s"
    rc=0
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 -use_value_profile=1 -print_final_stats=1 \
        -dict="$top/fuzz/dict/$t.dict" -artifact_prefix="$art/" \
        "${extra[@]}" "$work" "$seeds" > "$log" 2>&1 || rc=$?

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<< "$last")

    line=$(printf '%-12s %-6s execs %-10s exec/s %-7s cov %-5s ft %-6s corpus %-10s new %s' \
                  "$t" "$( [ $rc = 0 ] && echo ok || echo FAIL)" \
                  "${execs:--}" "${speed:--}" "${cov:--}" "${ft:--}" \
                  "${corp:--}" "${added:--}")
    summary+=("$line")
    echo "$line"

    if [ $rc != 0 ]; then
        failed+=("$t")
        echo "$t: failed (exit $rc); log: $log" >&2
        grep -E -A60 '^==[0-9]+==ERROR|runtime error|invariant failed|ERROR: libFuzzer' \
            "$log" | head -80 >&2 || tail -60 "$log" >&2
        for a in "$art"/*; do
            [ -f "$a" ] || continue
            echo "input: $a" >&2
            echo "reproduce: $bin $a" >&2
        done
    fi
done

echo
echo "fuzzing summary (${secs}s per target):"
printf '  %s\n' "${summary[@]}"

if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
