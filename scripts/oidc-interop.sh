#!/usr/bin/env bash
# OpenID Connect interop: starts a fresh example server (in-memory store, a test user and a
# confidential first-party client written here) and runs independent relying-party libraries
# against it, each with its own login: the whole code flow with PKCE, ID Token validation,
# UserInfo, refresh-token rotation and replay, revocation.
#
# Usage: scripts/oidc-interop.sh SERVER_BIN PYTHON [NODE]
#   SERVER_BIN  an example server binary (tokenward-axum, tokenward-actix, ...)
#   PYTHON      a Python with tests/interop/oidc/requirements.txt installed (Authlib RP; it also
#               hashes the fixture password and secret with argon2-cffi)
#   NODE        optional: node, to also run tests/interop/oidc/openid-client/rp.mjs (openid-client);
#               its node_modules must be installed (npm ci in that directory)
# Prints "oidc interop: <rp> ok" per relying party and "OIDC interop: ok (SERVER_BIN)" at the end;
# any failure exits non-zero after the tail of the server log.
set -euo pipefail

[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 SERVER_BIN PYTHON [NODE]" >&2; exit 2; }
resolve() { # an executable given as a path or a command name -> an absolute path to it
  # (symlinks kept: a venv's bin/python must not be resolved to the base interpreter)
  local found
  found="$(command -v -- "$1" 2>/dev/null)" && [ -x "$found" ] ||
    { echo "oidc interop: $2 '$1' is not an executable" >&2; exit 2; }
  case "$found" in /*) echo "$found" ;; *) echo "$(cd "$(dirname "$found")" && pwd)/$(basename "$found")" ;; esac
}
server_bin="$(resolve "$1" "server binary")"
python="$(resolve "$2" "python")"
node=""
[ $# -eq 3 ] && node="$(resolve "$3" "node")"

root="$(cd "$(dirname "$0")/.." && pwd)"
oidc_dir="$root/tests/interop/oidc"
node_dir="$oidc_dir/openid-client"

"$python" -c 'import authlib, joserfc, requests, argon2' 2>/dev/null || {
  echo "oidc interop: $python lacks the packages of tests/interop/oidc/requirements.txt" >&2
  echo "  install them with: $python -m pip install -r tests/interop/oidc/requirements.txt" >&2
  exit 2
}
if [ -n "$node" ]; then
  [ -f "$node_dir/rp.mjs" ] || { echo "oidc interop: $node_dir/rp.mjs is missing" >&2; exit 2; }
  [ -d "$node_dir/node_modules/openid-client" ] || {
    echo "oidc interop: $node_dir/node_modules is not installed (run: npm ci --prefix $node_dir)" >&2
    exit 2
  }
fi

work="$(mktemp -d)"
cleanup() {
  local status=$?
  if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "$status" -ne 0 ] && [ -s "$work/server.log" ]; then
    echo "--- server log (last 40 lines) ---"
    tail -n 40 "$work/server.log"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# Fixtures: a fresh random password and client secret per run, hashed as the server expects.
# The client secret is made of unreserved URL characters only: Authlib's client_secret_basic
# skips the form-encoding of RFC 6749 §2.3.1 (see authlib_rp.py), and for such characters the
# encoding is the identity. The password goes through the HTML form only, so it may carry
# characters that form-encoding and UTF-8 must get right.
username="interop-user"
email="interop-user@example.com"
client_id="interop"
password="$("$python" -c 'import secrets; print("pw " + secrets.token_urlsafe(12) + " +&=%é")')"
client_secret="$("$python" -c 'import secrets; print(secrets.token_urlsafe(32))')"
USERNAME="$username" EMAIL="$email" CLIENT_ID="$client_id" PASSWORD="$password" \
  CLIENT_SECRET="$client_secret" WORK="$work" "$python" - <<'EOF'
import json, os
from argon2 import PasswordHasher

hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
work = os.environ["WORK"]
users = [{
    "username": os.environ["USERNAME"],
    "password_hash": hasher.hash(os.environ["PASSWORD"]),
    "scopes": ["items:read"],
    "full_name": "Interop User",
    "email": os.environ["EMAIL"],
}]
clients = [{
    "client_id": os.environ["CLIENT_ID"],
    "client_secret_hash": hasher.hash(os.environ["CLIENT_SECRET"]),
    # A loopback redirect URI registered without a port matches any port (RFC 8252 §7.3).
    "redirect_uris": ["http://127.0.0.1/cb"],
    "grant_types": ["authorization_code", "refresh_token"],
    "scopes": ["openid", "profile", "email", "items:read"],
    "name": "Interop RP",
    "first_party": True,
}]
for name, value in (("users.json", users), ("clients.json", clients)):
    with open(os.path.join(work, name), "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
EOF

cd "$work"
"$server_bin" --bind 127.0.0.1:0 --database-url memory: --users users.json --clients clients.json \
  >server.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q '^listening on ' server.log 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { echo "oidc interop: the server exited at start"; exit 1; }
  sleep 0.1
done
issuer="$(sed -n 's/^listening on //p' server.log | head -n 1)"
[[ "$issuer" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || { echo "oidc interop: no 'listening on http://127.0.0.1:PORT' line"; exit 1; }
echo "oidc interop: server $server_bin at $issuer"

run_rp() { # NAME DIR COMMAND... : one relying party, its own login, the same server
  local name=$1 dir=$2; shift 2
  echo "--- $name"
  if (cd "$dir" && env OIDC_ISSUER="$issuer" OIDC_CLIENT_ID="$client_id" \
      OIDC_CLIENT_SECRET="$client_secret" OIDC_REDIRECT_URI="http://127.0.0.1:9/cb" \
      OIDC_USERNAME="$username" OIDC_PASSWORD="$password" OIDC_EMAIL="$email" "$@"); then
    echo "oidc interop: $name ok"
  else
    echo "oidc interop: $name FAILED"
    exit 1
  fi
}

run_rp "authlib (client_secret_basic)" "$oidc_dir" \
  env OIDC_CLIENT_AUTH=client_secret_basic "$python" "$oidc_dir/authlib_rp.py"
run_rp "authlib (client_secret_post)" "$oidc_dir" \
  env OIDC_CLIENT_AUTH=client_secret_post "$python" "$oidc_dir/authlib_rp.py"
if [ -n "$node" ]; then
  run_rp "openid-client" "$node_dir" "$node" rp.mjs
else
  echo "oidc interop: openid-client not run (no NODE argument)"
fi

echo "OIDC interop: ok ($server_bin)"
