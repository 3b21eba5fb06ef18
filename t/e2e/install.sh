#!/usr/bin/env bash
# Installs t/e2e's npm packages (playwright-core, dockerfilelint) from
# package-lock.json when they are missing or older than the lock file.
# Used by scripts/e2e.sh and scripts/lint-docker.sh.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f node_modules/.package-lock.json ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]
then
    npm ci --no-audit --no-fund --loglevel=error
fi
