#!/usr/bin/env bash
# The admin console in a real browser: headless Chromium (Debian's package) driven by
# puppeteer-core (pinned) against a fresh `cohort serve` — on SQLite, or on the PostgreSQL
# database COHORT_CONSOLE_DATABASE_URL names (an empty one). Screenshots of each page go to
# target/console-screenshots/ (or $COHORT_CONSOLE_SHOTS).
# Usage: tests/console/run.sh [path/to/cohort]   (default: target/debug/cohort)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "${1:-$here/../../target/debug/cohort}")"
(cd "$here" && npm ci --no-audit --no-fund --silent)
db_args=()
if [ -n "${COHORT_CONSOLE_DATABASE_URL:-}" ]; then
  db_args=(--database-url "$COHORT_CONSOLE_DATABASE_URL")
fi
serve_args=(${db_args[@]+"${db_args[@]}"})
# shellcheck source=../fresh-server.sh
. "$here/../fresh-server.sh"
cli() { "$bin" "$@" --data-dir "$data" ${db_args[@]+"${db_args[@]}"}; }
password="console password 1"
cli users create --username ada --email ada@example.com --password "$password" --admin > /dev/null
cli users create --username max --email max@example.com --password "$password" > /dev/null
cli users create --username zoe --email zoe@example.com --password "$password" > /dev/null
key="$(cli keys create --name console-test --scopes admin)"
shots="${COHORT_CONSOLE_SHOTS:-$here/../../target/console-screenshots}"
shots="$(mkdir -p "$shots" && cd "$shots" && pwd)"
cd "$here"
COHORT_URL="$url" COHORT_KEY="$key" COHORT_PASSWORD="$password" SHOTS="$shots" \
  CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" node --test --test-concurrency=1 console.test.mjs
