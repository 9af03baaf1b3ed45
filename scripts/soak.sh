#!/usr/bin/env bash
# Soak test with faults (issue 18, part 3): two instances of an example server sharing
# PostgreSQL and a private Redis, under mixed load, while Redis and PostgreSQL restart
# (twice each; once each when SECONDS < 120). Checks its own records and prints a summary;
# exit status non-zero if any check fails. Loopback only, bounded in time.
#
#   scripts/soak.sh [SECONDS] [OUT_MD]      default 600 s; OUT_MD: write the markdown report
#
# Needs: PostgreSQL at 127.0.0.1:5432 (trust auth, user postgres, database `test`) that this
# user may restart with pg_ctlcluster (root, or the cluster owner), psql, redis-server.
# Environment: SOAK_SERVER_BIN (default $CARGO_TARGET_DIR/debug/tokenward-axum, built if
# missing), SOAK_WORKERS (6), SOAK_KEEP=1 (keep the logs), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
out_md="${2:-}"
target="${CARGO_TARGET_DIR:-target}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

for tool in psql redis-server pg_ctlcluster; do
    command -v "$tool" >/dev/null || { echo "soak: $tool is required" >&2; exit 2; }
done
psql -h 127.0.0.1 -U postgres -d test -qtAc 'select 1' >/dev/null \
    || { echo "soak: PostgreSQL at 127.0.0.1:5432 (user postgres, db test) is required" >&2; exit 2; }

bin="${SOAK_SERVER_BIN:-$target/debug/tokenward-axum}"
if [ ! -x "$bin" ]; then
    if [ -n "${SOAK_SERVER_BIN:-}" ]; then
        echo "soak: SOAK_SERVER_BIN=$bin is not an executable" >&2; exit 2
    fi
    cargo build -q -p tokenward-axum
fi
cargo build -q -p tokenward-soak

revision="working tree at $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src integrations examples 2>/dev/null || echo ' with uncommitted changes'); server binary built $(date -u -r "$bin" '+%Y-%m-%d %H:%M UTC')"
SOAK_REVISION="$revision" \
SOAK_SERVER_BIN="$(realpath "$bin")" \
SOAK_COMMAND="bash scripts/soak.sh $*" \
    exec "$target/debug/tokenward-soak" "$seconds" "$out_md"
