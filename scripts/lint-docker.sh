#!/usr/bin/env bash
#
# make lint-docker: what can be checked of the image without Docker.
#
#   1. dockerfilelint (npm, from t/e2e/package-lock.json) finds nothing
#   2. the Dockerfile's build stage runs scripts/build.sh, the script "make"
#      runs, and nothing else builds the module
#   3. the build stage's COPY instructions, replayed into an empty folder
#      (as .dockerignore lets them through), are enough for scripts/build.sh
#      to build the module there
#   4. the image's nginx.conf (conf/nginx.conf.example) passes "nginx -t"
#      with the module, with REDIS_CLUSTER_ENDPOINT/PORT set as on ECS
#   5. the Dockerfile, conf/nginx.conf.example and
#      conf/ecs/task-definition.json agree: port 80 exposed, listened on and
#      mapped; REDIS_CLUSTER_ENDPOINT set; HEALTHCHECK and the ECS health
#      check on the configuration's health location; small CPU and memory
#
# Prints one line per check and "lint-docker: N passed, N failed" last.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# shellcheck source=scripts/common.sh
. scripts/common.sh

need_packages nginx-core
command -v npm >/dev/null || need_packages nodejs npm
t/e2e/install.sh

work=$(mktemp -d /tmp/lint-docker.XXXXXX)
trap 'rm -rf "$work"' EXIT

passed=0 failed=0
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        passed=$((passed + 1))
        echo "ok - $name"
    else
        failed=$((failed + 1))
        echo "not ok - $name"
        printf '%s\n' "$out" | sed 's/^/    /'
    fi
}

# The Dockerfile's instructions, one per line (continuations joined,
# comments dropped), as "N<TAB>INSTRUCTION ARGS" with N the stage (1, 2, ...)
instructions() {
    awk '
        /^[[:space:]]*#/ { next }
        { line = line $0 }
        /\\[[:space:]]*$/ { sub(/\\[[:space:]]*$/, " ", line); next }
        line ~ /[^[:space:]]/ {
            gsub(/[[:space:]]+/, " ", line); sub(/^ /, "", line)
            if (toupper(line) ~ /^FROM /) stage++
            print stage "\t" line
        }
        { line = "" }
    ' Dockerfile
}

lint() {
    t/e2e/node_modules/.bin/dockerfilelint Dockerfile
}

build_step() {
    local make_cmd runs
    make_cmd=$(make -s -n module)
    [ "$make_cmd" = scripts/build.sh ] \
        || { echo "make module runs \"$make_cmd\", not scripts/build.sh"; return 1; }
    runs=$(instructions | awk -F'\t' '$1 == 1 && $2 ~ /^RUN / { print $2 }')
    grep -Eq '^RUN (.*[;&|] *)?scripts/build\.sh( |$)' <<< "$runs" \
        || { echo "no RUN of scripts/build.sh in the build stage:"; \
             echo "$runs"; return 1; }
    if grep -Eq 'make|configure|gcc|cc ' <<< "${runs//scripts\/build.sh/}"; then
        echo "the build stage builds by other means too:"
        echo "$runs"
        return 1
    fi
}

# allowed PATH: .dockerignore (a list of exceptions after "*") lets PATH in
allowed() {
    local p
    while read -r p; do
        case $p in
            '!'*) p=${p#!}; p=${p%/}
                  [ "$1" = "$p" ] || [[ "$1" == "$p"/* ]] && return 0 ;;
        esac
    done < .dockerignore
    return 1
}

build_context() {
    local stage line wd=/ args src dest
    mkdir -p "$work/ctx"
    while IFS=$'\t' read -r stage line; do
        [ "$stage" = 1 ] || continue
        case $line in
            "WORKDIR "*) wd=${line#WORKDIR } ;;
            "COPY "*)
                read -r -a args <<< "${line#COPY }"
                dest=${args[-1]}
                [[ "$dest" == /* ]] || dest=$wd/$dest
                unset 'args[-1]'
                mkdir -p "$work/ctx$dest"
                for src in "${args[@]}"; do
                    src=${src%/}
                    allowed "$src" \
                        || { echo "COPY $src: excluded by .dockerignore"; return 1; }
                    [ -e "$src" ] || { echo "COPY $src: no such file"; return 1; }
                    # as Docker does: a folder's contents, a file itself
                    if [ -d "$src" ]; then
                        cp -a "$src/." "$work/ctx$dest/"
                    else
                        cp -a "$src" "$work/ctx$dest/"
                    fi
                done
                ;;
        esac
    done < <(instructions)
    [ -x "$work/ctx$wd/scripts/build.sh" ] \
        || { echo "scripts/build.sh is not in $wd after the COPYs"; return 1; }
    (cd "$work/ctx$wd" && scripts/build.sh)
}

example_conf() {
    sed "s|^load_module .*;|load_module $top/build/ngx_http_shared_session_module.so;|" \
        conf/nginx.conf.example > "$work/nginx.conf"
    REDIS_CLUSTER_ENDPOINT=127.0.0.1 REDIS_CLUSTER_PORT=6379 \
        /usr/sbin/nginx -t -q -p "$work/" -c "$work/nginx.conf"
}

task_definition() {
    local expose healthcheck
    expose=$(instructions | awk -F'\t' '$2 ~ /^EXPOSE / { sub(/^EXPOSE /, "", $2); print $2 }')
    healthcheck=$(instructions | awk -F'\t' '$2 ~ /^HEALTHCHECK / { print $2 }')
    node - conf/ecs/task-definition.json conf/nginx.conf.example "$expose" \
        "$healthcheck" <<'EOF'
const fs = require("node:fs");
const [file, conf, expose, healthcheck] = process.argv.slice(2);
const td = JSON.parse(fs.readFileSync(file, "utf8"));
const problems = [];
const c = (td.containerDefinitions || [])[0] || {};
const env = Object.fromEntries((c.environment || []).map((e) => [e.name, e.value]));
const nginxConf = fs.readFileSync(conf, "utf8");
if (expose !== "80") problems.push(`the Dockerfile exposes "${expose}", not 80`);
if (!new RegExp(`^\\s*listen ${expose}[ ;]`, "m").test(nginxConf))
  problems.push(`${conf} does not listen on ${expose}`);
if (!(c.portMappings || []).some((p) => String(p.containerPort) === expose))
  problems.push(`no containerPort ${expose} (the Dockerfile's EXPOSE)`);
if (!env.REDIS_CLUSTER_ENDPOINT) problems.push("no REDIS_CLUSTER_ENDPOINT");
const hc = ((c.healthCheck || {}).command || []).join(" ");
const loc = /location = (\/\S+) \{\s*access_log off;\s*default_type text\/plain;\s*return 200/
  .exec(nginxConf);
if (!loc) problems.push("no health location in " + conf);
else {
  if (!hc.includes("http://127.0.0.1" + loc[1]))
    problems.push(`health check "${hc}" does not ask ${loc[1]}`);
  if (!healthcheck.includes("http://127.0.0.1" + loc[1]))
    problems.push(`the Dockerfile's "${healthcheck}" does not ask ${loc[1]}`);
}
if (!(Number(td.cpu) <= 256)) problems.push(`cpu ${td.cpu} > 256`);
if (!(Number(td.memory) <= 512)) problems.push(`memory ${td.memory} > 512`);
if (problems.length) { console.log(problems.join("\n")); process.exit(1); }
EOF
}

scripts/build.sh >/dev/null

check "dockerfilelint Dockerfile" lint
check "the Dockerfile builds with scripts/build.sh, as make does" build_step
check "the build stage's COPYs are enough for scripts/build.sh" build_context
check "conf/nginx.conf.example passes nginx -t with the module" example_conf
check "Dockerfile, nginx.conf.example and the ECS task definition agree" \
    task_definition

echo "lint-docker: $passed passed, $failed failed"
[ "$failed" = 0 ]
