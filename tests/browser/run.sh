#!/usr/bin/env bash
# A real browser against Cohort: headless Chromium (Debian's package) loads a page served
# from another origin that signs in, creates a group and reads it back through the
# `pocketbase` JavaScript SDK (the version tests/pocketbase-sdk pins), with `cohort serve
# --cors-origins` naming that origin; the same page from an origin not named is refused by
# the browser. Chromium also renders the docs page the binary serves.
# Usage: tests/browser/run.sh [path/to/cohort]   (default: target/debug/cohort)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "${1:-$here/../../target/debug/cohort}")"
chromium="${CHROMIUM:-/usr/bin/chromium}"
sdk="$here/../pocketbase-sdk"
(cd "$sdk" && npm ci --no-audit --no-fund --silent)
site="$(mktemp -d)"
cp "$here/page.html" "$sdk/node_modules/pocketbase/dist/pocketbase.es.mjs" "$site/"
page_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 -m http.server "$page_port" --bind 127.0.0.1 --directory "$site" > /dev/null 2>&1 &
page_pid=$!
serve_args=(--cors-origins "http://127.0.0.1:$page_port")
# shellcheck source=../fresh-server.sh
. "$here/../fresh-server.sh"
trap 'kill "$pid" "$page_pid" 2>/dev/null || true; rm -rf "$data" "$site"' EXIT
"$bin" users create --username browser-user --password "correct horse battery" --data-dir "$data" > /dev/null
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$page_port/page.html" > /dev/null && break; sleep 0.1; done

# What the page says once its script has run (the DOM after up to 20 s of page time).
render() {
  timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$(mktemp -d)" --virtual-time-budget=20000 --dump-dom "$1" 2>/dev/null
}
query="api=$url&user=browser-user&password=correct%20horse%20battery"
status=0
allowed="$(render "http://127.0.0.1:$page_port/page.html?$query" | grep -o '<p id="out">[^<]*' || true)"
echo "allowed origin: ${allowed#*>}"
grep -q "PASS signed-in=browser-user listed=1 moderator=true" <<< "$allowed" || status=1
# `localhost` is another origin than `127.0.0.1`: not named, so the browser refuses to read.
refused="$(render "http://localhost:$page_port/page.html?$query" | grep -o '<p id="out">[^<]*' || true)"
echo "origin not allowed: ${refused#*>}"
grep -q "FAIL status=0" <<< "$refused" || status=1
# The docs page renders the document's operations, under the product's title.
docs="$(render "$url/docs/")"
if grep -q "<title>Cohort API</title>" <<< "$docs" && grep -q "/api/v1/groups/{id}/members" <<< "$docs"; then
  echo "docs page: renders the operations"
else
  echo "docs page: did not render" >&2
  status=1
fi
exit "$status"
