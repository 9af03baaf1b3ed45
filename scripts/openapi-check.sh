#!/usr/bin/env bash
# Checks a fresh server against its own /openapi.json with schemathesis: every response must
# conform to the document (status, content type, headers, schema) and none may be a 5xx.
# Usage: scripts/openapi-check.sh PATH/TO/SERVER PATH/TO/SCHEMATHESIS [EXAMPLES_PER_OPERATION]
# Prints "schemathesis: N requests" per run.
set -euo pipefail
server_bin="$(realpath "$1")"
schemathesis="$(realpath "$2")"
examples="${3:-100}"
work="$(mktemp -d)"
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cd "$work"
"$server_bin" --bind 127.0.0.1:0 >server.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q '^listening on ' server.log 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat server.log; exit 1; }
  sleep 0.1
done
base="$(sed -n 's/^listening on //p' server.log)"
password="$(sed -n 's/^created user johndoe with password \([^ ]*\).*/\1/p' server.log)"
[ -n "$base" ] && [ -n "$password" ] || { echo "server did not start as documented"; cat server.log; exit 1; }

login() {
  curl -sf "$base/token" -d grant_type=password -d username=johndoe \
    --data-urlencode "password=$password" | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
run() {
  "$schemathesis" run "$base/openapi.json" --checks "$checks" --max-examples "$examples" \
    --workers 1 --seed 1 --no-color --report ndjson --report-ndjson-path "$work/events.ndjson" \
    "$@" >schemathesis.log 2>&1 || { cat schemathesis.log; echo "schemathesis: FAILED"; exit 1; }
  grep -E 'generated, ' schemathesis.log | sed 's/^ *//'
  # Every HTTP exchange schemathesis recorded.
  echo "schemathesis: $(grep -o '"request":' "$work/events.ndjson" | wc -l) requests"
}

# Logging out everywhere ends the token the other operations use, so it runs on its own, last.
run -H "Authorization: Bearer $(login)" --exclude-path /users/me/logout-all
run -H "Authorization: Bearer $(login)" --include-path /users/me/logout-all
echo "OpenAPI check: ok ($server_bin)"
