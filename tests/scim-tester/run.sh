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
venv="$here/../../target/scim-tester-venv"
if [ ! -x "$venv/bin/scim2" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
# shellcheck source=../fresh-server.sh
. "$here/../fresh-server.sh"
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
