#!/usr/bin/env bash
#
# make spring: builds the seed's Spring Boot application (t/spring) with
# Maven into two executable jars,
#
#   build/spring/boot2.jar   Spring Boot 2.7 (javax), configurations seed and
#                            boot2-default
#   build/spring/boot3.jar   Spring Boot 3.5 (jakarta), configurations
#                            boot3-indexed and boot3-default
#
# A jar newer than every file it is built from is not rebuilt (no Maven run).
# Maven's local repository is $SPRING_MAVEN_REPO, by default
# ~/.m2/repository, which stays on the machine between runs; an empty one is
# filled from Maven Central.
#
#   scripts/spring.sh [build]            both jars
#   scripts/spring.sh run CONFIG [ARGS]  runs a configuration in the
#                                        foreground (REDIS_CLUSTER_*,
#                                        SERVER_PORT, HOSTNAME from the
#                                        environment); ARGS go to Spring
#   scripts/spring.sh config CONFIG      prints "jar profiles" of CONFIG

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# shellcheck source=scripts/common.sh
. scripts/common.sh

out=$top/build/spring
repo=${SPRING_MAVEN_REPO:-$HOME/.m2/repository}

# Small and quick to start: the app is a test peer, on 2 shared cores.
JVM_FLAGS=(-Xmx256m -Xss512k -XX:TieredStopAtLevel=1 -XX:+UseSerialGC)

# CONFIG -> "jar profiles" (t/spring/README.md; SpringTest.pm has the same)
config() {
    case "$1" in
    seed)           echo "boot2 json" ;;
    boot2-default)  echo "boot2 -" ;;
    boot3-indexed)  echo "boot3 indexed,json" ;;
    boot3-default)  echo "boot3 -" ;;
    *) echo "unknown configuration '$1'" \
            "(seed, boot2-default, boot3-indexed, boot3-default)" >&2
       return 1 ;;
    esac
}

build_one() {
    local name=$1 jar=$out/$1.jar
    if [ -f "$jar" ] && [ -z "$(find t/spring/src "t/spring/$name" \
            conf/index.html -newer "$jar" -print -quit)" ]; then
        return 0
    fi
    echo "spring: building $jar"
    # Debian's Maven 3.8 prints bare colour resets even with -B
    mvn -q -B -Dmaven.repo.local="$repo" -f "t/spring/$name/pom.xml" \
        -Dout="$out/$name" package 2>&1 | sed 's/\x1b\[0m//g'
    cp "$out/$name/$name.jar" "$jar.tmp"
    mv "$jar.tmp" "$jar"
}

build() {
    need_packages maven openjdk-17-jdk-headless
    mkdir -p "$out"
    build_one boot2
    build_one boot3
}

case "${1:-build}" in
build)
    build
    ;;
run)
    [ $# -ge 2 ] || { echo "usage: $0 run CONFIG [ARGS]" >&2; exit 2; }
    conf=$(config "$2") || exit 2
    read -r jar profiles <<< "$conf"
    shift 2
    build
    [ "$profiles" = - ] && profiles=
    exec java "${JVM_FLAGS[@]}" -jar "$out/$jar.jar" \
        --spring.profiles.active="$profiles" "$@"
    ;;
config)
    config "${2:-}"
    ;;
*)
    echo "usage: $0 [build | run CONFIG [ARGS] | config CONFIG]" >&2
    exit 2
    ;;
esac
