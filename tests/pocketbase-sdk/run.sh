#!/usr/bin/env bash
# Runs the pocketbase SDK tests against a fresh `cohort serve` (SQLite in a temp dir).
# Usage: tests/pocketbase-sdk/run.sh [path/to/cohort]   (default: target/debug/cohort)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../../target/debug/cohort}"
(cd "$here" && npm ci --no-audit --no-fund --silent)
# shellcheck source=../fresh-server.sh
. "$here/../fresh-server.sh"
key="$("$bin" keys create --name sdk-test --scopes admin --data-dir "$data")"
cd "$here"
COHORT_URL="$url" COHORT_ADMIN_KEY="$key" node --test sdk.test.mjs
