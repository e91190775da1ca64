#!/usr/bin/env bash
# Prints the bytes each page of the hydrated app loads in the browser, as the release site
# ships them (not part of the tests): `cargo leptos build --release --split`, then for each
# route its WASM (the main module, plus the lazy chunks the route's view needs, from the
# split manifest that Leptos preloads them by) and JS, raw and gzip -9. The labeling page
# is in the main module; every other page is a lazy route. The server-rendered pages
# (datasets, quality, dashboard, review...) load none of it.
# Usage: scripts/wasm-size.sh [CHECKOUT]   (default: this one; e.g. a `git worktree` of an
# older commit, built in this checkout's target directory so dependencies are reused)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
TARGET_DIR=$PWD/target
SRC=${1:-$PWD}
# Checkouts share the target directory: touching the crate root makes cargo build this one
# instead of taking another checkout's artifact as fresh.
touch "$SRC/src/lib.rs"
(cd "$SRC" && SQLX_OFFLINE=true CARGO_TARGET_DIR=$TARGET_DIR \
  cargo leptos build --release --split --frontend-only >/dev/null 2>&1) || {
  echo "the release build of $SRC failed; run cargo leptos build --release --split there" >&2
  exit 1
}
PKG="$SRC/target/site/pkg"
python3 - "$PKG" "$(cd "$SRC" && git rev-parse --short HEAD)" <<'EOF'
import gzip, json, os, sys

pkg, commit = sys.argv[1], sys.argv[2]
def size(name):
    data = open(os.path.join(pkg, name), "rb").read()
    return len(data), len(gzip.compress(data, 9))

manifest_path = os.path.join(pkg, "__wasm_split_manifest.json")
manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
main_js = ["verdict.js"] + (["__wasm_split.______________________.js"] if manifest else [])
main = [size("verdict.wasm")]
js = [size(f) for f in main_js]
print(f"{commit}: main module {main[0][0]} bytes raw, {main[0][1]} gzip; "
      f"JS {sum(r for r, _ in js)} raw, {sum(g for _, g in js)} gzip")
print(f"{'route':<34} {'wasm raw':>10} {'wasm gzip':>10} {'+ JS gzip':>10}")
js_gz = sum(g for _, g in js)
print(f"{'/projects/:slug/label (main)':<34} {main[0][0]:>10} {main[0][1]:>10} {main[0][1] + js_gz:>10}")
for split, chunks in sorted(manifest.items()):
    # "__home_view_<hash>" is the lazy view of the route type `Home`.
    route = split.strip("_").split("_view_")[0]
    files = [size(c + ".wasm") for c in chunks]
    raw = main[0][0] + sum(r for r, _ in files)
    gz = main[0][1] + sum(g for _, g in files)
    print(f"{route:<34} {raw:>10} {gz:>10} {gz + js_gz:>10}")
EOF
