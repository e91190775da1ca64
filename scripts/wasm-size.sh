#!/usr/bin/env bash
# Prints the size of the browser's WASM bundle as a release site ships it (not part of the
# tests): the hydrate library built with the wasm-release profile, then wasm-bindgen and
# binaryen's wasm-opt -Oz, the steps `cargo leptos build --release` takes, without building
# the release server. Every page of the hydrated app loads this one bundle; the dataset pages
# are server-rendered and load none.
# Usage: scripts/wasm-size.sh [CHECKOUT]   (default: this one; e.g. a `git worktree` of an
# older commit, built in this checkout's target directory so dependencies are reused)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
TARGET_DIR=$PWD/target
TOOLS=$PWD/end2end/node_modules/.bin
SRC=${1:-$PWD}
OUT=$(mktemp -d /tmp/verdict-wasm.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
# Checkouts share the target directory: touching the crate root makes cargo build this one
# instead of taking another checkout's artifact as fresh.
touch "$SRC/src/lib.rs"
(cd "$SRC" && SQLX_OFFLINE=true CARGO_TARGET_DIR=$TARGET_DIR cargo build --lib \
  --target wasm32-unknown-unknown --no-default-features --features hydrate \
  --profile wasm-release --quiet)
wasm-bindgen --target web --no-typescript --out-dir "$OUT" --out-name verdict \
  "$TARGET_DIR/wasm32-unknown-unknown/wasm-release/verdict.wasm"
"$TOOLS/wasm-opt" -Oz \
  "$OUT/verdict_bg.wasm" -o "$OUT/verdict.wasm"
raw=$(wc -c <"$OUT/verdict.wasm")
gz=$(gzip -9 -c "$OUT/verdict.wasm" | wc -c)
js=$(gzip -9 -c "$OUT/verdict.js" | wc -c)
echo "$(cd "$SRC" && git rev-parse --short HEAD): wasm $raw bytes raw, $gz bytes gzip; js glue $js bytes gzip"
