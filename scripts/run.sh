#!/usr/bin/env bash
# Builds Verdict (release) and serves it. Without DATABASE_URL it starts a PostgreSQL of
# its own in .verdict/. Arguments go to `verdict serve` (see `--help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
echo "==> building Verdict (release)" >&2
cargo leptos build --release --split
exec target/release/verdict serve "$@"
