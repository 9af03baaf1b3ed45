#!/usr/bin/env bash
# Packaging and minimum-Rust checks for the three library crates (tokenward, axum-tokenward,
# actix-web-tokenward); `.ci/run` runs it after `cargo doc`. Exits non-zero on the first failed
# group of checks and prints what it checked:
#
#  1. manifests: description, licence, readme (present in the package), keywords (<= 5),
#     categories, docs.rs metadata (all features, `--cfg docsrs`), no path dependency without a
#     version, rust-version at least what the edition needs;
#  2. `cargo package --list`: nothing that is not meant to ship (databases, keys, fuzzing files,
#     target directories, images, scripts, lock files of other tools, files over 256 KiB);
#  3. `cargo package` of the three crates together (the integration crates' `tokenward` comes
#     from the temporary local registry cargo builds from the workspace), with the verify build;
#     the only warnings allowed are the tests/benches/examples left out on purpose;
#  4. minimum Rust: the README's statements equal each crate's `rust-version`; no dependency in
#     Cargo.lock declares a higher `rust-version` than the crate that uses it (normal and build
#     dependencies of each library crate; every kind for the whole workspace, which the README's
#     "Rust toolchain (X or newer)" covers); clippy's `incompatible_msrv` lint (it reads
#     rust-version) is allowed nowhere, the CI's clippy step denies warnings, and this clippy
#     still fires it (a probe crate).
#
# What it cannot do here: build with the old toolchain itself (only 1.95 and nightly are
# installed). Language features newer than the MSRV, and crates that declare no rust-version
# (counted below), are not covered.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokenward-target}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_TERM_COLOR=never

LIB_CRATES=(tokenward axum-tokenward actix-web-tokenward)
start=$SECONDS
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fail() { printf 'package-check: FAILED: %s\n' "$*" >&2; exit 1; }
say() { printf 'package-check: %s\n' "$*"; }

command -v python3 >/dev/null 2>&1 || fail "python3 is needed"

cargo metadata --format-version 1 --locked --all-features >"$work/metadata.json" ||
  fail "cargo metadata --locked (is Cargo.lock up to date?)"

# ---- 1. manifests ------------------------------------------------------------------------------
python3 - "$work/metadata.json" "${LIB_CRATES[@]}" <<'EOF' || fail "manifest metadata"
import json, os, sys
meta = json.load(open(sys.argv[1]))
libs = sys.argv[2:]
by_name = {p["name"]: p for p in meta["packages"] if p["source"] is None}
edition_min = {"2015": (1, 0), "2018": (1, 31), "2021": (1, 56), "2024": (1, 85)}
problems = []
for name in libs:
    p = by_name.get(name)
    if p is None:
        problems.append(f"{name}: not a workspace member"); continue
    where = f"{name} ({os.path.relpath(p['manifest_path'])})"
    for field in ("description", "license", "readme", "rust_version", "documentation"):
        if not p.get(field):
            problems.append(f"{where}: no {field}")
    if p.get("readme") and not os.path.isfile(os.path.join(os.path.dirname(p["manifest_path"]), p["readme"])):
        problems.append(f"{where}: readme {p['readme']} does not exist")
    if not 1 <= len(p["keywords"]) <= 5:
        problems.append(f"{where}: {len(p['keywords'])} keywords (crates.io takes 1 to 5)")
    if not 1 <= len(p["categories"]) <= 5:
        problems.append(f"{where}: {len(p['categories'])} categories (crates.io takes 1 to 5)")
    if p.get("repository"):
        print(f"  note: {name} names a repository: {p['repository']}")
    docsrs = (p.get("metadata") or {}).get("docs", {}).get("rs", {})
    if docsrs.get("all-features") is not True:
        problems.append(f"{where}: [package.metadata.docs.rs] all-features = true missing")
    args = docsrs.get("rustdoc-args", [])
    if not any(a == "--cfg" and b == "docsrs" for a, b in zip(args, args[1:])):
        problems.append(f'{where}: [package.metadata.docs.rs] rustdoc-args = ["--cfg", "docsrs"] missing')
    for dep in p["dependencies"]:
        if dep.get("path") and dep["kind"] != "dev" and dep["req"] == "*":
            problems.append(f"{where}: path dependency {dep['name']} has no version")
    rv = tuple(int(x) for x in (p.get("rust_version") or "0").split(".")[:2])
    if rv < edition_min[p["edition"]]:
        problems.append(f"{where}: rust-version {p['rust_version']} is below edition {p['edition']}'s minimum")
    print(f"  {name} {p['version']}: edition {p['edition']}, rust-version {p['rust_version']}, "
          f"license {p['license']}, readme {p['readme']}, {len(p['keywords'])} keywords, "
          f"categories {', '.join(p['categories'])}, docs.rs all-features + --cfg docsrs")
for problem in problems:
    print("  " + problem, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
say "1. manifests of ${LIB_CRATES[*]}: ok"

# ---- 2. what each package ships -----------------------------------------------------------------
for crate in "${LIB_CRATES[@]}"; do
  cargo package --list --allow-dirty -p "$crate" 2>"$work/list.err" >"$work/list-$crate" ||
    { cat "$work/list.err" >&2; fail "cargo package --list -p $crate"; }
  dir="$(python3 -c 'import json,os,sys
m=json.load(open(sys.argv[1]))
print(os.path.dirname(next(p["manifest_path"] for p in m["packages"] if p["name"]==sys.argv[2] and p["source"] is None)))' \
    "$work/metadata.json" "$crate")"
  python3 - "$work/list-$crate" "$dir" "$crate" <<'EOF' || fail "files in the $crate package"
import os, re, sys
files = [l.strip() for l in open(sys.argv[1]) if l.strip()]
root, crate = sys.argv[2], sys.argv[3]
# Generated by cargo, not in the source tree.
generated = {".cargo_vcs_info.json", "Cargo.toml", "Cargo.lock"}
junk = [
    (r"(^|/)target/", "a target directory"),
    (r"\.(db|db-shm|db-wal|sqlite3?)$", "a database"),
    (r"\.(der|pem|key|p12|pfx|jwk)$|(^|/)[^/]*key[^/]*\.json$", "a key"),
    (r"(^|/)(fuzz|corpus|artifacts|regressions)/", "fuzzing files"),
    (r"\.(png|jpe?g|gif|svg|webp)$", "an image"),
    (r"(^|/)(node_modules|__pycache__|\.git|\.ci)(/|$)", "tool or CI files"),
    (r"\.(sh|py|mjs|js)$|(^|/)package(-lock)?\.json$|requirements\.txt$", "a script"),
    (r"(^|/)(tests|benches)/", "tests or benches (not shipped)"),
]
bad = []
total = 0
for f in files:
    if f in generated or f == "Cargo.toml.orig":
        continue
    for pattern, what in junk:
        if re.search(pattern, f):
            bad.append(f"{f}: {what}")
    path = os.path.join(root, f)
    if not os.path.isfile(path):
        # readme/license copied in from outside the package directory
        continue
    size = os.path.getsize(path)
    total += size
    if size > 256 * 1024:
        bad.append(f"{f}: {size} bytes")
for need in ("Cargo.toml", "README.md"):
    if need not in files:
        bad.append(f"{need} missing")
if not any(f.startswith("src/") for f in files):
    bad.append("no src/")
for b in bad:
    print(f"  {crate}: {b}", file=sys.stderr)
print(f"  {crate}: {len(files)} files, {total // 1024} KiB of sources: "
      + ", ".join(sorted({f.split('/')[0] + ('/' if '/' in f else '') for f in files})))
sys.exit(1 if bad else 0)
EOF
done
say "2. package contents: ok"

# ---- 3. cargo package, together, with the verify build -------------------------------------------
pkg_args=()
for crate in "${LIB_CRATES[@]}"; do pkg_args+=(-p "$crate"); done
# The verify build takes the integration crates' `tokenward` from a local registry of the crates
# just packaged, whose sources cargo unpacks into its registry cache by name and version alone
# and never refreshes: a copy left by an earlier run of other sources would be built instead.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
while read -r name version; do
  for dir in "$cargo_home"/registry/src/*/; do
    case "$dir" in *index.crates.io-*) continue ;; esac
    rm -rf "$dir$name-$version"
  done
done < <(python3 -c '
import json, sys
meta = json.load(open(sys.argv[1]))
for p in meta["packages"]:
    if p["source"] is None and p["name"] in sys.argv[2:]:
        print(p["name"], p["version"])
' "$work/metadata.json" "${LIB_CRATES[@]}")
# For the same reason cargo takes a registry crate's build as fresh by name and version alone:
# drop every earlier build of `tokenward` (the workspace's own rebuild when next needed).
rm -rf "$CARGO_TARGET_DIR"/debug/.fingerprint/tokenward-* "$CARGO_TARGET_DIR"/debug/deps/libtokenward-* \
  "$CARGO_TARGET_DIR"/debug/deps/tokenward-*
# --allow-dirty: this is a check, not a release; a clean CI clone is not dirty anyway.
if ! cargo package --allow-dirty --locked "${pkg_args[@]}" >"$work/package.log" 2>&1; then
  cat "$work/package.log" >&2
  fail "cargo package ${pkg_args[*]}"
fi
left_out="$(grep -cE '^warning: ignoring (test|benchmark|example) `[^`]+` as `[^`]+` is not included in the published package$' "$work/package.log" || true)"
other="$(grep -E '^(warning|error)' "$work/package.log" |
  grep -vE '^warning: ignoring (test|benchmark|example) `[^`]+` as `[^`]+` is not included in the published package$' || true)"
if [ -n "$other" ]; then
  printf '%s\n' "$other" >&2
  fail "cargo package printed warnings"
fi
grep -E '^ +(Packaged|Verifying|Finished)' "$work/package.log" | sed 's/^ */  /'
for crate in "${LIB_CRATES[@]}"; do
  ls "$CARGO_TARGET_DIR/package/$crate-"*.crate >/dev/null 2>&1 || fail "no .crate file for $crate"
done
say "3. cargo package ${pkg_args[*]} (verify build included): ok ($left_out tests/benches/examples left out on purpose)"

# ---- 4. minimum supported Rust --------------------------------------------------------------------
python3 - "$work/metadata.json" "${LIB_CRATES[@]}" <<'EOF' || fail "minimum supported Rust"
import json, os, re, sys
meta = json.load(open(sys.argv[1]))
libs = sys.argv[2:]
pkgs = {p["id"]: p for p in meta["packages"]}
local = {p["name"]: p for p in meta["packages"] if p["source"] is None}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
ver = lambda s: tuple(int(x) for x in s.split("."))[:3] + (0,) * (3 - len(s.split(".")))
show = lambda t: ".".join(map(str, t[:2])) if t[2] == 0 else ".".join(map(str, t))
problems = []

# (a) what the READMEs say
rv = {name: ver(local[name]["rust_version"]) for name in libs}
readme = open("README.md").read()
m = re.search(r"Rust toolchain \((\d+\.\d+(?:\.\d+)?) or newer", readme)
section = re.search(r"## Minimum supported Rust\n\n(.*?)\n\n", readme, re.S)
if not m or not section:
    problems.append("README.md: no 'Rust toolchain (X or newer)' or no '## Minimum supported Rust' paragraph")
else:
    text = " ".join(section.group(1).split())
    workspace_claim = ver(m.group(1))
    w = re.search(r"whole workspace (\d+\.\d+(?:\.\d+)?)", text)
    if not w or ver(w.group(1)) != workspace_claim:
        problems.append(f"README.md: 'whole workspace X' in the MSRV paragraph differs from 'Rust toolchain ({m.group(1)} or newer)'")
    if workspace_claim != max(rv.values()):
        problems.append(f"README.md: the workspace needs {show(workspace_claim)} by the README, the library crates at most {show(max(rv.values()))}")
    for name in libs:
        c = re.search(r"`" + re.escape(name) + r"` (\d+\.\d+(?:\.\d+)?)", text)
        if not c:
            problems.append(f"README.md: the MSRV paragraph does not name `{name}`")
        elif ver(c.group(1)) != rv[name]:
            problems.append(f"README.md says `{name}` {c.group(1)}, its Cargo.toml rust-version {local[name]['rust_version']}")
    print(f"  README.md: workspace {m.group(1)}; " + ", ".join(f"{n} {show(rv[n])}" for n in libs) + " (= each Cargo.toml rust-version)")
for name in libs:
    if name == "tokenward":
        continue
    path = os.path.join(os.path.dirname(local[name]["manifest_path"]), local[name]["readme"])
    c = re.search(r"Minimum supported Rust: (\d+\.\d+(?:\.\d+)?)", open(path).read())
    if not c or ver(c.group(1)) != rv[name]:
        problems.append(f"{os.path.relpath(path)}: 'Minimum supported Rust: {local[name]['rust_version']}' missing")
    else:
        print(f"  {os.path.relpath(path)}: {c.group(1)}")

# (b) what the locked dependencies declare
def closure(roots, kinds):
    seen, todo = set(), list(roots)
    while todo:
        node = nodes[todo.pop()]
        for d in node["deps"]:
            if any(k["kind"] in kinds for k in d["dep_kinds"]) and d["pkg"] not in seen:
                seen.add(d["pkg"]); todo.append(d["pkg"])
    return seen - set(roots)

def check(label, limit, ids):
    declared = [(ver(pkgs[i]["rust_version"]), pkgs[i]) for i in ids if pkgs[i].get("rust_version")]
    undeclared = sum(1 for i in ids if not pkgs[i].get("rust_version"))
    top = max(declared, key=lambda x: (x[0], x[1]["name"])) if declared else None
    over = sorted((f"{p['name']} {p['version']} ({p['rust_version']})" for v, p in declared if v > limit))
    if over:
        problems.append(f"{label}: rust-version {show(limit)}, but " + ", ".join(over) + " need more")
    highest = f"highest {top[1]['name']} {top[1]['version']} ({top[1]['rust_version']})" if top else "none"
    print(f"  {label}: {len(ids)} locked dependencies, {len(declared)} declare a rust-version, "
          f"{highest}, {len(over)} above {show(limit)}; {undeclared} declare none")

for name in libs:
    check(f"{name} (normal + build deps, all features, all platforms)", rv[name],
          closure([local[name]["id"]], {None, "build"}))
members = meta["workspace_members"]
if m:
    check("whole workspace (every kind, all features)", ver(m.group(1)),
          closure(members, {None, "build", "dev"}) - set(members))

for problem in problems:
    print("  " + problem, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF

# (c) clippy's incompatible_msrv: not allowed anywhere, denied by the CI clippy step, alive here.
allowed="$(git ls-files -co --exclude-standard -- '*.rs' '*.toml' '.cargo/*' 'clippy.toml' '.clippy.toml' |
  xargs -r grep -nE 'incompatible[_-]msrv|(allow|expect)\(.*clippy::(all|suspicious)\b|-A *clippy::(all|suspicious)\b|^ *(all|suspicious) *=.*"(allow|expect)"' 2>/dev/null || true)"
[ -z "$allowed" ] || { printf '%s\n' "$allowed" >&2; fail "clippy::incompatible_msrv (or its group) is allowed somewhere"; }
if git ls-files -co --exclude-standard -- 'clippy.toml' '.clippy.toml' '*/clippy.toml' '*/.clippy.toml' |
  xargs -r grep -lE '^\s*msrv' 2>/dev/null | grep -q .; then
  fail "a clippy.toml sets msrv, overriding rust-version"
fi
grep -qE '^cargo clippy --workspace --all-targets --all-features -- -D warnings$' .ci/run ||
  fail ".ci/run's clippy step is not 'cargo clippy --workspace --all-targets --all-features -- -D warnings'"
probe="$work/msrv-probe"
mkdir -p "$probe/src"
cat >"$probe/Cargo.toml" <<'EOF'
[package]
name = "msrv-probe"
version = "0.0.0"
edition = "2024"
rust-version = "1.88"
publish = false

[workspace]
EOF
cat >"$probe/src/lib.rs" <<'EOF'
//! Uses an API newer than its rust-version: clippy must refuse it.
/// `File::lock` is stable since 1.89.
pub fn probe(f: &std::fs::File) -> std::io::Result<()> {
    f.lock()
}
EOF
if (cd "$probe" && CARGO_TARGET_DIR="$probe/target" cargo clippy -q --offline -- -D warnings) \
  >"$work/probe.log" 2>&1; then
  fail "clippy did not fire incompatible_msrv on a probe crate"
fi
grep -q 'incompatible_msrv' "$work/probe.log" || { cat "$work/probe.log" >&2; fail "the probe failed for another reason"; }
say "4. minimum Rust: READMEs = rust-version, locked dependencies within it, clippy incompatible_msrv active (denied in .ci/run, allowed nowhere, fires on a probe): ok"

say "all checks passed in $((SECONDS - start)) s"
