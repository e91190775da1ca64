#!/usr/bin/env bash
# Runs every check and test: formatting, clippy (ssr and hydrate), unit, database and HTTP
# tests against a throwaway PostgreSQL, then the browser tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh --test
# Queries are checked against the committed .sqlx metadata, whatever the caller's shell says.
export SQLX_OFFLINE=true
unset SQLX_OFFLINE_DIR

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

# A private PostgreSQL cluster for this run only (fsync off: its data is thrown away).
source scripts/throwaway-pg.sh
SERVER_PID=
LLM_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$LLM_PID" ]; then kill "$LLM_PID" 2>/dev/null || true; wait "$LLM_PID" 2>/dev/null || true; fi
  throwaway_pg_stop
}
trap cleanup EXIT
step "starting a throwaway PostgreSQL"
throwaway_pg "${VERDICT_TEST_PG_PORT:-25431}" fsync=off synchronous_commit=off

# A real OpenAI-compatible inference server (llama.cpp, SmolLM2-135M) for model-assisted
# labeling; built and fetched once per machine.
step "starting a local inference server"
bash scripts/llama.sh >/dev/null
LLM_PORT=${VERDICT_TEST_LLM_PORT:-8091}
bash scripts/llama.sh serve "$LLM_PORT" >"$PG_DIR/llama.log" 2>&1 &
LLM_PID=$!
export VERDICT_TEST_LLM_URL="http://127.0.0.1:$LLM_PORT/v1"
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$LLM_PORT/health" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$LLM_PORT/health" >/dev/null || { cat "$PG_DIR/llama.log" >&2; exit 1; }

# Hugging Face `datasets` in a cached virtualenv: the dataset-card test loads a card with it.
step "preparing Python with datasets"
export VERDICT_TEST_PYTHON=$(bash scripts/pyenv.sh python)
# TRL (with torch, CPU) in its own cached virtualenv: the judgment exports train a tiny model
# with TRL's reward (margin) and KTO trainers (end2end/datasets/check_trl.py).
step "preparing Python with TRL"
export VERDICT_TEST_TRL_PYTHON=$(bash scripts/pyenv.sh --for trl python)

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (ssr)"
cargo clippy --features ssr --all-targets -- -D warnings
step "clippy (hydrate, wasm32)"
cargo clippy --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings

step "unit, database and HTTP tests"
RUST_LOG_FILE="$PG_DIR/cargo-test.log"
cargo test --features ssr --no-run
# Bounded: a test that hangs fails this step (and names itself in libtest's "has been
# running for over 60 seconds") instead of using up CI's time.
if ! timeout --kill-after=30s "${VERDICT_TEST_TIMEOUT:-20m}" cargo test --features ssr 2>&1 | tee "$RUST_LOG_FILE"; then
  grep -E "has been running for over|FAILED|panicked" "$RUST_LOG_FILE" >&2 || true
  exit 1
fi
rust_passed=$(awk '/^test result:/ { s += $4 } END { print s + 0 }' "$RUST_LOG_FILE")

step "the REST API against its OpenAPI document (schemathesis)"
VERDICT_BIN=target/debug/verdict bash scripts/api-fuzz.sh 2>&1 | tee "$PG_DIR/api-fuzz.log"
api_cases=$(sed -n 's/^ *\([0-9]*\) generated, .*/\1/p' "$PG_DIR/api-fuzz.log" | tail -1)

step "building the site for the browser tests"
cargo leptos build --split

step "browser tests"
E2E_PORT=${VERDICT_E2E_PORT:-3107}
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE verdict_e2e"
export VERDICT_E2E_URL="http://127.0.0.1:$E2E_PORT"
export VERDICT_ADMIN_EMAIL=admin@verdict.local
export VERDICT_ADMIN_PASSWORD="e2e-admin-$RANDOM$RANDOM"
export VERDICT_DEMO_PASSWORD="e2e-demo-$RANDOM$RANDOM"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/verdict_e2e" VERDICT_ADDR="127.0.0.1:$E2E_PORT" \
  VERDICT_INFERENCE_URL="$VERDICT_TEST_LLM_URL" VERDICT_INFERENCE_MODEL=smollm2-135m-instruct \
  RUST_LOG=warn target/debug/verdict serve >"$PG_DIR/verdict.log" 2>&1 &
SERVER_PID=$!
# A project whose answers carry HTML, imported through the CLI, for the browser tests.
E2E_DB="postgres://postgres@127.0.0.1:$PG_PORT/verdict_e2e"
DATABASE_URL=$E2E_DB target/debug/verdict project create --slug untrusted --name "Untrusted HTML" >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict import end2end/fixtures/untrusted.jsonl --project untrusted >/dev/null
# A small project for model-assisted labeling (pre-labeled by the server's worker in the test).
DATABASE_URL=$E2E_DB target/debug/verdict project create --slug assisted --name "Assisted" >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict import end2end/fixtures/assisted.jsonl --project assisted >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict project create --slug checks --name "Gold checks" >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict import end2end/fixtures/checks.jsonl --project checks >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict project create --slug charts --name "Charts" >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict import end2end/fixtures/charts.jsonl --project charts >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict dashboard --project charts --fields category >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict project members add --project charts \
  --email annotator@verdict.local >/dev/null
# The bundle test's own project: opening its workspace leases an item nobody else waits for.
DATABASE_URL=$E2E_DB target/debug/verdict project create --slug light --name "Light" >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict import end2end/fixtures/checks.jsonl --project light >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict project members add --project light \
  --email annotator@verdict.local >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict project create --slug reviewed --name "Reviewed" >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict import end2end/fixtures/reviewed.jsonl --project reviewed >/dev/null
# Richer judgments: the e2e test sets the schema through the settings page.
DATABASE_URL=$E2E_DB target/debug/verdict project create --slug judged --name "Judged" >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict import end2end/fixtures/judged.jsonl --project judged >/dev/null
DATABASE_URL=$E2E_DB target/debug/verdict project members add --project judged \
  --email annotator@verdict.local >/dev/null
# The demo annotator (a member of the demo project) labels the assisted one too.
DATABASE_URL=$E2E_DB target/debug/verdict project members add --project assisted \
  --email annotator@verdict.local >/dev/null
if ! (cd end2end && npx playwright test 2>&1 | tee "$PG_DIR/e2e.log"); then
  echo "--- server log ---" >&2
  tail -50 "$PG_DIR/verdict.log" >&2
  exit 1
fi
e2e_passed=$(grep -Eo '^ +[0-9]+ passed' "$PG_DIR/e2e.log" | tr -dc '0-9')

echo
echo "verdict: $((rust_passed + e2e_passed)) passed, 0 failed; schemathesis: ${api_cases:-?} API cases, all matching the document"
