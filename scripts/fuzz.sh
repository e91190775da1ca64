#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of the parsers of untrusted input, each for
# a bounded time: `import` (every import format, gzip-compressed or not), `markdown` (the
# renderer of prompts and answers, checked to emit only its own tags and safe links) and
# `annotation` (the submission validator, checked to be idempotent). Not part of the test
# command; crashes found become regression tests (src/server/dataset/import/tests.rs,
# src/server/markdown, src/model/annotation.rs).
#
#   bash scripts/fuzz.sh [TARGET…]      default: all three
#
# FUZZ_SECONDS   time per target (default 120)
# FUZZ_JOBS      parallel fuzzing processes per target (default 1)
# The corpus grows in ${VERDICT_CACHE:-$HOME/.cache/verdict}/fuzz-corpus/TARGET, started
# from scripts/fuzz/seeds/TARGET; a crashing input is written to
# scripts/fuzz/artifacts/TARGET/ and the script exits non-zero. Needs a nightly toolchain
# and cargo-fuzz (installed here when missing). The targets build in scripts/fuzz/target
# (their own instrumented build, apart from Verdict's target/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_EACH=${FUZZ_SECONDS:-120}
JOBS=${FUZZ_JOBS:-1}
CACHE=${VERDICT_CACHE:-$HOME/.cache/verdict}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(import markdown annotation)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export SQLX_OFFLINE=true

# No sanitizer: the code under test is safe Rust, and without ASan it runs ~2x as many
# inputs; libFuzzer still catches panics, aborts, timeouts and memory blow-ups.
FUZZ=(cargo +nightly fuzz)
"${FUZZ[@]}" build --fuzz-dir scripts/fuzz --sanitizer none

status=0
for target in "${TARGETS[@]}"; do
  corpus="$CACHE/fuzz-corpus/$target"
  mkdir -p "$corpus" "scripts/fuzz/artifacts/$target"
  log=$(mktemp)
  printf '\033[1m==> fuzzing %s for %s s\033[0m\n' "$target" "$SECONDS_EACH" >&2
  if ! "${FUZZ[@]}" run --fuzz-dir scripts/fuzz --sanitizer none "$target" "$corpus" "scripts/fuzz/seeds/$target" -- \
      -max_total_time="$SECONDS_EACH" -jobs="$JOBS" -workers="$JOBS" -max_len=65536 \
      -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="scripts/fuzz/artifacts/$target/" >"$log" 2>&1; then
    status=1
    tail -n 40 "$log" >&2
  fi
  runs=$(grep -h 'stat::number_of_executed_units' "$log" fuzz-*.log 2>/dev/null | awk '{ s += $2 } END { print s + 0 }')
  cov=$(grep -ho 'cov: [0-9]*' "$log" | tail -1)
  echo "$target: $runs inputs run in $SECONDS_EACH s, $cov, corpus $(ls "$corpus" | wc -l) files, crashes $(ls "scripts/fuzz/artifacts/$target" | wc -l)"
  rm -f "$log" fuzz-*.log
done
exit $status
