#!/usr/bin/env bash
# Checks Cohort's OpenAPI document as its users' tools read it, against a fresh
# `cohort serve` (SQLite in a temp dir):
#   1. openapi-spec-validator (PyPI) and Redocly's linter (`redocly lint`, recommended rules)
#      find no error and no warning in /api/openapi.json;
#   2. openapi-typescript generates a client from it, smoke.ts type-checks against that client
#      (tsc, strict), then runs with openapi-fetch against the server.
# Every tool is pinned (package.json + package-lock.json, requirements.txt).
# Usage: tests/openapi/run.sh [path/to/cohort]   (default: target/debug/cohort)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "${1:-$here/../../target/debug/cohort}")"
venv="$here/../../target/openapi-venv"
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
(cd "$here" && npm ci --no-audit --no-fund --silent)
# shellcheck source=../fresh-server.sh
. "$here/../fresh-server.sh"
curl -sf "$url/api/openapi.json" -o "$data/openapi.json"
"$venv/bin/openapi-spec-validator" "$data/openapi.json"
cd "$here"
# --max-problems: print them all; any error or warning fails the run.
lint="$(npx --no-install redocly lint "$data/openapi.json" --format=stylish --max-problems=1000 2>&1 || true)"
if ! grep -q "Your API description is valid" <<< "$lint" || grep -qE "^\s+[0-9]+:[0-9]+\s+(error|warning)" <<< "$lint"; then
  echo "$lint"
  echo "redocly lint found problems" >&2
  exit 1
fi
echo "redocly lint: no errors, no warnings"
npx --no-install openapi-typescript "$data/openapi.json" --output cohort.d.ts
npx --no-install tsc -p tsconfig.json
key="$("$bin" keys create --name openapi-smoke --scopes admin --data-dir "$data")"
COHORT_URL="$url" COHORT_ADMIN_KEY="$key" node dist/smoke.js
