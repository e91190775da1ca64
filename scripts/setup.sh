#!/usr/bin/env bash
# Installs what building Verdict needs, skipping whatever is already there.
# Sourced by run.sh and test.sh; `scripts/setup.sh --test` also installs test-only tools.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PATH="$HOME/.cargo/bin:$PWD/end2end/node_modules/.bin:$PATH"
CARGO_LEPTOS_VERSION=0.3.11
# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print }' Cargo.lock)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=no
apt_install() {
  if [ "$apt_updated" = no ]; then as_root apt-get update -qq; apt_updated=yes; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

rustup target list --installed | grep -qx wasm32-unknown-unknown || {
  say "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
}

# The tools are installed without their own LTO and single codegen unit: those profiles made
# cargo-leptos alone take ~18 minutes on 2 cores, for a build tool whose speed nobody notices.
fast_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true cargo install "$@"
}

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (once per machine; ~25 min on 2 cores)"
  fast_install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --ignore-rust-version
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (once per machine; ~5 min)"
  # Not --locked: its lockfile names a crate version the registry does not serve.
  fast_install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# end2end/ holds Playwright and binaryen's wasm-opt (Debian's binaryen breaks the wasm).
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing the npm packages of end2end/"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  say "installing the PostgreSQL server"
  apt_install postgresql
fi

if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null; then
  say "installing Debian's Chromium for the browser tests"
  apt_install chromium
fi
