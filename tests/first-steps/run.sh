#!/usr/bin/env bash
# Runs the README's first steps (docs/first-steps.sh, curl and jq) against a fresh
# `cohort serve` (SQLite in a temp dir), with a site key made as the README makes it.
# Usage: tests/first-steps/run.sh [path/to/cohort]   (default: target/debug/cohort)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "${1:-$here/../../target/debug/cohort}")"
# shellcheck source=../fresh-server.sh
. "$here/../fresh-server.sh"
key="$("$bin" keys create --name bootstrap --scopes admin --data-dir "$data")"
COHORT_URL="$url" COHORT_KEY="$key" "$here/../../docs/first-steps.sh"
