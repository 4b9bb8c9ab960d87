#!/usr/bin/env bash
# Runs the pocketbase SDK tests against a fresh `cohort serve` (SQLite in a temp dir).
# Usage: tests/pocketbase-sdk/run.sh [path/to/cohort]   (default: target/debug/cohort)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../../target/debug/cohort}"
data="$(mktemp -d)"
out="$data/serve.out"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
(cd "$here" && npm ci --no-audit --no-fund --silent)
"$bin" serve --listen 127.0.0.1:0 --data-dir "$data" > "$out" 2>/dev/null &
pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/.*listening on //p' "$out" | head -n 1)"
# It listens at once and answers /readyz 503 until its access index is built.
for _ in $(seq 1 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done
key="$("$bin" keys create --name sdk-test --scopes admin --data-dir "$data")"
cd "$here"
COHORT_URL="$url" COHORT_ADMIN_KEY="$key" node --test sdk.test.mjs
