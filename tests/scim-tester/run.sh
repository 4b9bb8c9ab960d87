#!/usr/bin/env bash
# Runs scim2-tester (the SCIM conformance checker of the scim2-cli tools, pinned in
# requirements.txt) against a fresh `cohort serve` (SQLite in a temp dir), once with a site
# admin key and once with a `scim` key bound to the default space. Fails on any check that
# errs, except those listed in known-failures.txt, and on a listed one that now passes (so
# the list only shrinks).
# Usage: tests/scim-tester/run.sh [path/to/cohort]   (default: target/debug/cohort)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../../target/debug/cohort}"
data="$(mktemp -d)"
out="$data/serve.out"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
venv="$here/../../target/scim-tester-venv"
if [ ! -x "$venv/bin/scim2" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
"$bin" serve --listen 127.0.0.1:0 --data-dir "$data" > "$out" 2>/dev/null &
pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/.*listening on //p' "$out" | head -n 1)"
for _ in $(seq 1 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done
admin="$("$bin" keys create --name scim-tester-admin --scopes admin --data-dir "$data")"
scim="$("$bin" keys create --name scim-tester --scopes scim --space spc_default --data-dir "$data")"
status=0
for who in admin scim; do
  key="$admin"
  [ "$who" = scim ] && key="$scim"
  SCIM_CLI_HEADERS="Authorization: Bearer $key" "$venv/bin/scim2" --url "$url/scim/v2" test > "$data/$who.txt" 2>&1 || true
  python3 "$here/check.py" "$who" "$data/$who.txt" "$here/known-failures.txt" || status=1
done
exit "$status"
