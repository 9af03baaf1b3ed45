#!/usr/bin/env bash
# Fuzz smoke run: builds the cargo-fuzz targets in fuzz/ and runs each one for SECONDS (default
# 20) on a copy of its seed corpus, so the repository stays as it was. Prints the executions per
# target (libFuzzer's final "Done N runs" line) and fails if any target crashes, panics, leaks or
# times out; a failing input is kept in fuzz/artifacts/<target>/ (git-ignored) to reproduce with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
#
# Usage: scripts/fuzz-smoke.sh [SECONDS_PER_TARGET] [TARGET...]   (no TARGET: all of them)
# Environment:
#   FUZZ_TARGET_DIR  build directory (default ~/.cache/tokenward-fuzz-target). Fuzz builds use
#                    nightly and sanitizer flags: never point this at the stable target dir.
#   FUZZ_SANITIZER   address (default) or none (no ASan: faster, fewer checks).
#   FUZZ_NICE        a prefix for every cargo and fuzzer command, e.g. "nice -n 19".
# Needs the nightly toolchain (rustup toolchain install nightly); installs cargo-fuzz if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
[ $# -gt 0 ] && shift
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/tokenward-fuzz-target}"
sanitizer="${FUZZ_SANITIZER:-address}"
read -r -a nice <<<"${FUZZ_NICE:-}"

# Longest input per target: past each parser's own size limit where that limit is cheap to reach,
# small enough that the fuzzer spends its time on structure rather than on length.
max_len() {
  case "$1" in
    authorize_request) echo 8300 ;;  # MAX_QUERY_BYTES is 8192
    redirect_uri) echo 4200 ;;       # two URIs over MAX_REDIRECT_URI_BYTES (2048)
    jwks_verifier | clients_file | users_file | key_file) echo 8192 ;;
    stored_hash) echo 1100 ;;        # MAX_HASH_BYTES is 512, MAX_PASSWORD_BYTES 1024
    client_address | bearer_header) echo 2048 ;;
    *) echo 4096 ;;
  esac
}

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "the nightly toolchain is missing: rustup toolchain install nightly --profile minimal" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  "${nice[@]}" cargo install cargo-fuzz --locked
fi

cd fuzz
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
had_artifacts=0
[ -d artifacts ] && had_artifacts=1

echo "==> building ${#targets[@]} targets (sanitizer: $sanitizer, target dir: $CARGO_TARGET_DIR)"
build_start=$(date +%s)
build() {
  "${nice[@]}" cargo +nightly fuzz build --sanitizer "$sanitizer" --debug-assertions "$@" \
    >>"$work/build.log" 2>&1 || { cat "$work/build.log"; echo "fuzz build: FAILED"; exit 1; }
}
if [ $# -gt 0 ]; then
  for target in "${targets[@]}"; do build "$target"; done
else
  build
fi
echo "build: $(($(date +%s) - build_start)) s"

failed=()
total_runs=0
printf '%-18s %12s %8s %10s %s\n' target runs seconds exec/s corpus
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  mkdir -p "$corpus" "$work/artifacts/$target"
  [ -d "corpus/$target" ] && cp -R "corpus/$target/." "$corpus/"
  seeds=$(find "$corpus" -type f | wc -l)
  log="$work/$target.log"
  status=0
  "${nice[@]}" cargo +nightly fuzz run --sanitizer "$sanitizer" --debug-assertions "$target" "$corpus" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len="$(max_len "$target")" -timeout=60 \
    -artifact_prefix="$work/artifacts/$target/" -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  took=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log" | tail -1)
  grown=$(find "$corpus" -type f | wc -l)
  if [ "$status" -ne 0 ] || [ -z "$runs" ]; then
    failed+=("$target")
    printf '%-18s %12s %8s %10s %s\n' "$target" "${runs:-?}" "${took:-?}" - "FAILED (exit $status)"
    grep -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY|Test unit written|^(left|right):|assertion' "$log" | head -20 || true
    mkdir -p "artifacts/$target"
    cp "$work/artifacts/$target/"* "artifacts/$target/" 2>/dev/null && echo "failing input kept in fuzz/artifacts/$target/"
    cp "$log" "artifacts/$target/fuzz.log"
  else
    total_runs=$((total_runs + runs))
    printf '%-18s %12s %8s %10s %s\n' "$target" "$runs" "$took" "$((runs / (took > 0 ? took : 1)))" "$seeds -> $grown"
  fi
  # cargo fuzz makes fuzz/artifacts/<target> for its default prefix; leave no empty ones behind.
  rmdir "artifacts/$target" 2>/dev/null || true
done
[ "$had_artifacts" -eq 0 ] && rmdir artifacts 2>/dev/null || true

echo "fuzz smoke: ${#targets[@]} targets, $total_runs runs, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
