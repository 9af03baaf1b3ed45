#!/usr/bin/env bash
# Runs the README's curl walkthrough, as written, against a fresh server in a temporary directory.
# Usage: scripts/readme-walkthrough.sh PATH/TO/tokenward-axum
set -euo pipefail
server_bin="$(realpath "$1")"
readme="$(realpath "$(dirname "$0")/../README.md")"
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

# The README's block, with the printed password and the actual address filled in.
awk '/<!-- walkthrough/{found=1; next} found && /^```sh/{inside=1; next} inside && /^```/{exit} inside' "$readme" |
  sed -e "s|^PASSWORD=.*|PASSWORD='$password'|" -e "s|^BASE=.*|BASE=$base|" >walkthrough.sh
[ -s walkthrough.sh ] || { echo "no walkthrough block in README.md"; exit 1; }
output="$(bash -euo pipefail walkthrough.sh)"
echo "$output"
echo "$output" | grep -q '"username":"johndoe"' || { echo "walkthrough: /users/me did not answer"; exit 1; }
echo "$output" | grep -q '"name":"wrench"' || { echo "walkthrough: POST /items did not answer"; exit 1; }
[ "$(echo "$output" | tail -n 1)" = 401 ] || { echo "walkthrough: revoked token was not refused"; exit 1; }
echo "README walkthrough: ok"
