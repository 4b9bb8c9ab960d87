#!/usr/bin/env bash
# Cohort's first steps, as a script: two users, a group, a permission, a member, a check, a
# filtered list and a conditional change. Needs curl and jq, a running server, and a site key:
#
#   cargo run --release -- serve                          # in one terminal
#   export COHORT_KEY=$(cargo run --release -q -- keys create --name bootstrap --scopes admin)
#   docs/first-steps.sh                                   # in another
#
# COHORT_URL defaults to http://127.0.0.1:8080. Names carry a suffix, so it can run again.
set -euo pipefail
URL="${COHORT_URL:-http://127.0.0.1:8080}"
KEY="${COHORT_KEY:?set COHORT_KEY to a site key: cohort keys create --name bootstrap --scopes admin}"
RUN="$(date +%s)"

# call METHOD PATH CREDENTIAL [BODY] [EXTRA CURL ARGS…]: prints the answer; fails on a 4xx/5xx.
call() {
  local method="$1" path="$2" credential="$3" body="${4:-}"
  shift 4 || shift $#
  local args=(-sS --fail-with-body -X "$method" "$URL$path" -H "Authorization: Bearer $credential")
  [ -n "$body" ] && args+=(-H "Content-Type: application/json" -d "$body")
  curl "${args[@]}" "$@"
}
step() { printf '\n== %s\n' "$*"; }

step "Two users: Alice with a password, and Bob"
ALICE_ID=$(call POST /api/v1/users "$KEY" \
  "{\"username\": \"alice-$RUN\", \"email\": \"alice-$RUN@example.com\", \"password\": \"correct horse battery\"}" | jq -r .id)
BOB_ID=$(call POST /api/v1/users "$KEY" "{\"username\": \"bob-$RUN\"}" | jq -r .id)
echo "alice: $ALICE_ID  bob: $BOB_ID"

step "Alice signs in for a token"
TOKEN=$(call POST /api/v1/auth/token "" \
  "{\"login\": \"alice-$RUN\", \"password\": \"correct horse battery\"}" | jq -r .token)

step "Alice creates a group and becomes its owner"
GROUP_ID=$(call POST /api/v1/groups "$TOKEN" "{
  \"name\": \"Engineering $RUN\", \"type\": \"team\", \"visibility\": \"private\",
  \"settings\": {\"allow_join_requests\": true, \"require_approval\": true, \"max_members\": 50}}" | jq -r .id)
echo "group: $GROUP_ID"

step "The site declares a permission and grants it to the group"
# Nobody grants a permission they do not hold: the site declares permissions in the
# catalogue and grants them (so may a space's moderators, in their space).
call POST /api/v1/permissions "$KEY" "{\"permission\": \"kb.read.$RUN\", \"description\": \"Read the knowledge base\"}" > /dev/null
call PATCH "/api/v1/groups/$GROUP_ID/permissions" "$KEY" "{\"add\": [\"kb.read.$RUN\"]}" | jq -c .

step "Alice adds Bob as a member"
call POST "/api/v1/groups/$GROUP_ID/members" "$TOKEN" "{\"user_id\": \"$BOB_ID\", \"role\": \"member\"}" | jq -c '{user_id, role, status}'

step "May Bob read the knowledge base? (answered from memory)"
ANSWER=$(call POST /api/v1/check "$KEY" "{\"user_id\": \"$BOB_ID\", \"permission\": \"kb.read.$RUN\"}")
echo "$ANSWER"
[ "$(jq -r .allowed <<< "$ANSWER")" = true ]

step "The group's members with the role member, a page of 20"
call GET "/api/v1/groups/$GROUP_ID/members?filter=role%20%3D%20'member'&page=1&limit=20" "$TOKEN" \
  | jq -c '{total, members: [.members[] | {user_id, role}]}'

step "A change made only if nobody changed the group since it was read (If-Match)"
ETAG=$(curl -sS -o /dev/null -D - "$URL/api/v1/groups/$GROUP_ID" -H "Authorization: Bearer $TOKEN" \
  | tr -d '\r' | awk 'tolower($1) == "etag:" {print $2}')
call PATCH "/api/v1/groups/$GROUP_ID" "$TOKEN" '{"settings": {"max_members": 75}}' -H "If-Match: $ETAG" \
  | jq -c '{version, settings}'
STALE=$(curl -sS -o /dev/null -w '%{http_code}' -X PATCH "$URL/api/v1/groups/$GROUP_ID" \
  -H "Authorization: Bearer $TOKEN" -H "If-Match: $ETAG" -d '{"description": "late"}')
echo "the same ETag again: $STALE (precondition_failed)"
[ "$STALE" = 412 ]

echo
echo "first steps done"
