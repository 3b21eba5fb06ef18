#!/usr/bin/env bash
#
# Source-based line and branch coverage of the module's code that the
# fuzz corpora reach: replays build/fuzz/corpus/<target>/ (what
# fuzz/run.sh found) and fuzz/corpus/<target>/ through a build with
# -fprofile-instr-generate, and prints llvm-cov's report for the module
# files each target is about.  HTML pages: build/fuzz/coverage/<target>/.
#
#   FUZZ_TARGETS="..."  a subset of: fuzz_cookie fuzz_json fuzz_store fuzz_cluster
#                       fuzz_jdk

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

read -r -a targets <<< "${FUZZ_TARGETS:-fuzz_cookie fuzz_json fuzz_store fuzz_cluster fuzz_jdk}"

FUZZ_COVERAGE=1 fuzz/build.sh

out=$top/build/fuzz
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-suppressions=$top/fuzz/ubsan.supp}

for t in "${targets[@]}"; do
    case $t in
        fuzz_cookie) files=(src/ngx_http_shared_session_cookie.c) ;;
        fuzz_json) files=(src/ngx_http_shared_session_json.c) ;;
        fuzz_store) files=(src/ngx_http_shared_session_store_script.c) ;;
        fuzz_cluster) files=(src/ngx_http_shared_session_cluster.c) ;;
        fuzz_jdk) files=(src/ngx_http_shared_session_jdk.c) ;;
        *) echo "no such target: $t" >&2; exit 2 ;;
    esac

    prof=$out/cov/$t
    rm -rf "$prof" "$out/coverage/$t"
    mkdir -p "$prof" "$out/corpus/$t"

    LLVM_PROFILE_FILE="$prof/%p.profraw" "$out/bin/cov/$t" -runs=0 \
        "$out/corpus/$t" "fuzz/corpus/$t" > "$prof.log" 2>&1 \
        || { tail -30 "$prof.log"; exit 1; }

    llvm-profdata-14 merge -o "$prof.profdata" "$prof"/*.profraw

    echo "== $t ($(find "$out/corpus/$t" "fuzz/corpus/$t" -type f | wc -l) inputs)"
    llvm-cov-14 report "$out/bin/cov/$t" -instr-profile="$prof.profdata" \
        -show-region-summary=false -show-instantiation-summary=false \
        "${files[@]/#/$top/}" | sed "s|$top/||"
    llvm-cov-14 show "$out/bin/cov/$t" -instr-profile="$prof.profdata" \
        -format=html -output-dir="$out/coverage/$t" "${files[@]/#/$top/}"
done
