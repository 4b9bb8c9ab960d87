#!/usr/bin/env bash
# Scrapes /metrics of a fresh `cohort serve` (SQLite in a temp dir) after a few requests and
# parses it with the Prometheus project's own Python client parser (OpenMetrics) (pinned in
# requirements.txt), checking every promised family, its type and its counts.
# Usage: tests/metrics/run.sh [path/to/cohort]   (default: target/debug/cohort)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "${1:-$here/../../target/debug/cohort}")"
venv="$here/../../target/metrics-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import prometheus_client" 2> /dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
# shellcheck source=../fresh-server.sh
. "$here/../fresh-server.sh"
key="$("$bin" keys create --name metrics --scopes admin --data-dir "$data")"
api() { curl -sS -o /dev/null -H "Authorization: Bearer $key" -H "Content-Type: application/json" "$@"; }
user=$(curl -sS "$url/api/v1/users" -H "Authorization: Bearer $key" -d '{"username": "ann", "password": "correct horse battery"}' | jq -r .id)
token=$(curl -sS "$url/api/v1/auth/token" -d '{"login": "ann", "password": "correct horse battery"}' | jq -r .token)
curl -sS -o /dev/null "$url/api/v1/auth/token" -d '{"login": "ann", "password": "wrong"}'
curl -sS -o /dev/null -w '' "$url/api/v1/groups" -H "Authorization: Bearer $token" -d '{"name": "Measured"}'
api "$url/api/v1/permissions" -d '{"permission": "kb.read"}'
group=$(curl -sS "$url/api/v1/groups?limit=1" -H "Authorization: Bearer $token" | jq -r '.groups[0].id')
api -X PATCH "$url/api/v1/groups/$group/permissions" -d '{"add": ["kb.read"]}'
api "$url/api/v1/check" -d "{\"user_id\": \"$user\", \"permission\": \"kb.read\"}"
api "$url/no/such/route"
sleep 0.3
curl -sS "$url/metrics" -o "$data/metrics.txt"
"$venv/bin/python" "$here/check.py" "$data/metrics.txt" || { grep -v _bucket "$data/metrics.txt" | head -40; exit 1; }
