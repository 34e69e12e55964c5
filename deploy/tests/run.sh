#!/usr/bin/env bash
# ctest entry of the deploy tests: installs the validators from the committed lockfile when
# node_modules is missing, then runs validate.mjs with the given arguments. Exit 77 (ctest
# skip) when node or npm is missing, with the reason on stdout.
set -euo pipefail
cd "$(dirname "$0")"
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh)"; exit 77; }
done
if [[ ! -d node_modules ]]; then
  timeout 600 npm ci --prefer-offline --no-audit --no-fund
fi
exec node "${1:-validate.mjs}" "${@:2}"
