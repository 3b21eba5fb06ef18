#!/usr/bin/env bash
#
# Builds the libFuzzer targets into build/fuzz/bin/:
#
#   fuzz_cookie   cookie parsing, strict Base64, id validation, Set-Cookie
#   fuzz_json     the stored attribute's JSON decoder and both encoders
#   fuzz_store    RESP bytes -> hiredis redisReader -> the session scripts'
#                 reply parser (the scripted back end)
#   fuzz_cluster  RESP bytes -> hiredis redisReader -> the cluster layer:
#                 CLUSTER SLOTS, MOVED/ASK, retries, the hash slot
#   fuzz_jdk      Java serialization: Long, Integer, String and the bean,
#                 decoded and encoded against a reference
#
# nginx 1.22.1 (scripts/nginx-src.sh) is configured in its own copy under
# build/fuzz/nginx with clang, -fsanitize=fuzzer-no-link,address,undefined
# and the module compiled in (--add-module).  Each target links every object
# of that build with -fsanitize=fuzzer; nginx's own main() is renamed in a
# copy of objs/src/core/nginx.o so that libFuzzer's main() is the one used
# (the rest of nginx.o, e.g. ngx_core_module, is still needed).
#
# NGX_DEBUG_PALLOC makes every pool allocation a malloc() of its own, so
# that AddressSanitizer sees an overflow of a pool allocation too.
#
# Missing Debian packages are installed when run as root, named otherwise.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# shellcheck source=scripts/common.sh
. scripts/common.sh

need_packages clang libclang-rt-14-dev llvm-14 binutils dpkg-dev make libc6-dev \
    libhiredis-dev libcjson-dev

out=$top/build/fuzz
tree=$out/nginx
bin=$out/bin
targets=(fuzz_cookie fuzz_json fuzz_store fuzz_cluster fuzz_jdk)

mkdir -p "$out" "$bin"

src=$(scripts/nginx-src.sh | tail -1)

if [ ! -f "$tree/configure" ]; then
    rm -rf "$tree"
    mkdir -p "$tree"
    cp -a "$src/." "$tree/"
fi

cd "$tree"

san="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer"
allow=$top/fuzz/coverage.allow
cc_opt="$san -fsanitize-coverage-allowlist=$allow -g -O1 -DNGX_DEBUG_PALLOC=1"
ld_opt="-fsanitize=address,undefined"
stamp="$top/config:$cc_opt:$ld_opt:$(cksum < "$allow")"

if [ ! -f objs/Makefile ] || [ "$top/config" -nt objs/Makefile ] \
   || [ "$(cat objs/.fuzz-stamp 2>/dev/null)" != "$stamp" ]
then
    echo "configuring nginx for fuzzing (build/fuzz/configure.log)"
    ./configure --with-cc=clang --with-debug \
        --with-cc-opt="$cc_opt" --with-ld-opt="$ld_opt" \
        --without-http_rewrite_module --without-http_gzip_module \
        --add-module="$top" > "$out/configure.log" 2>&1 \
        || { tail -30 "$out/configure.log"; exit 1; }
    echo "$stamp" > objs/.fuzz-stamp
fi

echo "building nginx and the module (build/fuzz/make.log)"
make -j"$(nproc)" -f objs/Makefile > "$out/make.log" 2>&1 \
    || { tail -50 "$out/make.log"; exit 1; }

# one of objs/Makefile's variables, as make expands it
mkvar() {
    # shellcheck disable=SC2016
    printf 'ngx-fuzz-print-var:\n\t@echo $(%s)\n' "$1" \
        | make -s --no-print-directory -f objs/Makefile -f - ngx-fuzz-print-var
}

read -r -a cflags <<< "$(mkvar CFLAGS)"
read -r -a incs <<< "$(mkvar ALL_INCS)"

# the objects and libraries of nginx's own link rule, in its order
rule=$(awk '/^objs\/nginx:/ { f = 1 }
            f && /\$\(LINK\)/ { l = 1; next }
            l { more = sub(/\\$/, ""); print; if (!more) exit }' objs/Makefile)

objs=()
libs=()
for w in $rule; do
    case $w in
        objs/src/core/nginx.o) objs+=("$out/nginx-nomain.o") ;;
        objs/*.o) objs+=("$tree/$w") ;;
        *) libs+=("$w") ;;
    esac
done

[ ${#objs[@]} -gt 10 ] || { echo "cannot read objs/Makefile's link rule" >&2; exit 1; }

# cJSON and hiredis instrumented too, from Debian's source of the very
# versions installed (their headers are the ones the module compiles
# with), so that the fuzzer is guided through cJSON's parser and hiredis's
# reader and AddressSanitizer checks them; the installed libraries are
# linked instead when the sources cannot be fetched.

deps=$out/deps

fetch_src() {
    local pkg=$1 ver dir d
    local -a opts
    ver=$(dpkg-query -W -f='${source:Version}' "$2")
    dir=$deps/$pkg-$ver

    if [ ! -f "$dir/.fetched" ]; then
        d=$(mktemp -d)
        chmod 755 "$d"
        mkdir -p "$d/lists/partial" "$d/parts" "$d/src"
        sed 's/^Types: deb$/Types: deb-src/' \
            /etc/apt/sources.list.d/debian.sources > "$d/parts/src.sources"
        opts=(-o Dir::Etc::SourceList=/dev/null
              -o Dir::Etc::SourceParts="$d/parts"
              -o Dir::State::Lists="$d/lists")

        if ! { apt-get "${opts[@]}" update \
               && (cd "$d/src" && apt-get "${opts[@]}" source "$pkg=$ver"); } \
             > "$out/deps-$pkg.log" 2>&1
        then
            rm -rf "$d"
            return 1
        fi

        rm -rf "$dir"
        mkdir -p "$deps"
        mv "$(find "$d/src" -mindepth 1 -maxdepth 1 -type d | head -1)" "$dir"
        rm -rf "$d"
        touch "$dir/.fetched"
    fi

    echo "$dir"
}

dep_cc() {
    local obj=$deps/$1 src=$2
    shift 2

    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] \
       || [ "$(cat "$obj.stamp" 2>/dev/null)" != "$stamp" ]
    then
        # shellcheck disable=SC2086
        clang -c $cc_opt -w "$@" -o "$obj" "$src"
        echo "$stamp" > "$obj.stamp"
    fi

    echo "$obj"
}

if cjson=$(fetch_src cjson libcjson-dev); then
    cjson_objs=("$(dep_cc cJSON.o "$cjson/cJSON.c")")
else
    echo "warning: no cjson source (build/fuzz/deps-cjson.log): linking" \
         "the installed, uninstrumented libcjson" >&2
    cjson_objs=(-lcjson)
fi

if hiredis=$(fetch_src hiredis libhiredis-dev); then
    hiredis_objs=()
    for f in alloc async hiredis net read sds; do
        hiredis_objs+=("$(dep_cc "hiredis-$f.o" "$hiredis/$f.c" -I "$hiredis")")
    done
else
    echo "warning: no hiredis source (build/fuzz/deps-hiredis.log): linking" \
         "the installed, uninstrumented libhiredis" >&2
    hiredis_objs=(-lhiredis)
fi

libs2=()
for w in "${libs[@]}"; do
    case $w in
        -lcjson) libs2+=("${cjson_objs[@]}") ;;
        -lhiredis) libs2+=("${hiredis_objs[@]}") ;;
        *) libs2+=("$w") ;;
    esac
done
libs=("${libs2[@]}")

objcopy --redefine-sym main=ngx_fuzz_nginx_main objs/src/core/nginx.o \
    "$out/nginx-nomain.o"

# FUZZ_COVERAGE=1: also build/fuzz/bin/cov/<target>, the same with
# source-based coverage (-fprofile-instr-generate -fcoverage-mapping) in the
# harness and the module's cookie, JSON and JDK code, for fuzz/coverage.sh

cov=()
if [ "${FUZZ_COVERAGE:-}" = 1 ]; then
    cov=(-fprofile-instr-generate -fcoverage-mapping)
    mkdir -p "$bin/cov" "$out/cov"

    for f in cookie json jdk; do
        clang -c "${cflags[@]}" "${cov[@]}" "${incs[@]}" \
            -o "$out/cov/ngx_http_shared_session_$f.o" \
            "$top/src/ngx_http_shared_session_$f.c"
    done
fi

for t in "${targets[@]}"; do
    link=()

    for o in "${objs[@]}"; do
        case $o in
            # fuzz_store #includes the scripted back end's .c for its
            # static functions (the reply parser), fuzz_cluster the
            # adapter's and the cluster's
            */ngx_http_shared_session_store_script.o)
                [ "$t" = fuzz_store ] || link+=("$o") ;;
            */ngx_http_shared_session_redis.o)
                [ "$t" = fuzz_cluster ] || link+=("$o") ;;
            */ngx_http_shared_session_cluster.o)
                [ "$t" = fuzz_cluster ] || link+=("$o") ;;
            *) link+=("$o") ;;
        esac
    done

    # from the tree: ALL_INCS is relative to it
    clang -c "${cflags[@]}" -Wno-unused-function "${incs[@]}" -I "$top/fuzz" \
        -o "$out/$t.o" "$top/fuzz/$t.c"

    clang -fsanitize=fuzzer,address,undefined -o "$bin/$t" "$out/$t.o" \
        "${link[@]}" "${libs[@]}"

    echo "built build/fuzz/bin/$t"

    [ ${#cov[@]} -gt 0 ] || continue

    clink=()
    for o in "${link[@]}"; do
        case $o in
            */addon/src/ngx_http_shared_session_cookie.o)
                clink+=("$out/cov/ngx_http_shared_session_cookie.o") ;;
            */addon/src/ngx_http_shared_session_json.o)
                clink+=("$out/cov/ngx_http_shared_session_json.o") ;;
            */addon/src/ngx_http_shared_session_jdk.o)
                clink+=("$out/cov/ngx_http_shared_session_jdk.o") ;;
            *) clink+=("$o") ;;
        esac
    done

    clang -c "${cflags[@]}" "${cov[@]}" -Wno-unused-function "${incs[@]}" \
        -I "$top/fuzz" -o "$out/cov/$t.o" "$top/fuzz/$t.c"

    clang -fsanitize=fuzzer,address,undefined "${cov[@]}" -o "$bin/cov/$t" \
        "$out/cov/$t.o" "${clink[@]}" "${libs[@]}"

    echo "built build/fuzz/bin/cov/$t"
done
