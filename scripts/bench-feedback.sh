#!/usr/bin/env bash
# End-user feedback ingestion benchmark (not part of the tests): CLIENTS concurrent clients
# (Python, standard library) send batches of BATCH events to POST /api/v1/projects/{slug}/
# feedback/batch of a release server on a throwaway PostgreSQL (default durability), each
# event a new conversation (its own item, answer and feedback, as a chat product's turns
# are), each batch with its own Idempotency-Key, for SECONDS seconds. Afterwards the
# events stored are counted in the database and must equal the events acknowledged. In the
# same run, PostgreSQL alone: the same number of rows of the same size COPYed into a table
# with a primary key by CLIENTS psql processes at once, the yardstick.
# Usage: scripts/bench-feedback.sh [SECONDS] [CLIENTS] [BATCH]   (default 30 8 500)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
source scripts/throwaway-pg.sh
SECONDS_RUN=${1:-30}
CLIENTS=${2:-8}
BATCH=${3:-500}
PORT=${VERDICT_BENCH_PORT:-3341}
bench_start feedback-bench
bench_project_db "${VERDICT_BENCH_PG_PORT:-25445}" verdict_feedback_bench fb "Feedback benchmark" \
  max_wal_size=4GB
VERDICT_ADDR="127.0.0.1:$PORT" VERDICT_NO_WORKER=1 VERDICT_API_RATE_PER_MINUTE=100000000 \
  VERDICT_ADMIN_PASSWORD=bench-admin-password RUST_LOG=warn \
  target/release/verdict serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true; grep -A4 -m2 "deadlock detected" "$PG_DIR/server.log" >&2 || true; throwaway_pg_stop; rm -rf "$OUT"' EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
SECRET=$(target/release/verdict token create --name bench --scope feedback:write \
  | sed -n 's/^secret (shown once): //p')
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$PORT" "$SECRET" "$SECONDS_RUN" "$CLIENTS" "$BATCH" "$OUT" <<'PY'
import http.client, json, sys, threading, time, uuid
port, secret, seconds, clients, batch, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
acked, sent, errors, latencies = [0] * clients, [0] * clients, [0] * clients, [[] for _ in range(clients)]
stop = time.time() + seconds
statuses = {}

def event(c, n):
    return {"external_id": f"c{c}-{n}", "prompt": f"User question {n} of client {c}: " + "what about this? " * 4,
            "answer": f"Answer {n}. " + "It depends on the details. " * 6, "model": "prod-model",
            "end_user": f"user-{n % 5000}", "thumb": "up" if n % 3 else "down"}

def client(c):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
    n = 0
    while time.time() < stop:
        events = [event(c, n + i) for i in range(batch)]
        n += batch
        body = json.dumps({"events": events})
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json",
                   "Idempotency-Key": str(uuid.uuid4())}
        t = time.perf_counter()
        conn.request("POST", "/api/v1/projects/fb/feedback/batch", body, headers)
        response = conn.getresponse()
        data = response.read()
        latencies[c].append(time.perf_counter() - t)
        sent[c] += batch
        if response.status != 200:
            errors[c] += 1
            statuses[response.status] = statuses.get(response.status, 0) + 1
            continue
        acked[c] += json.loads(data)["stored"]

start = time.time()
threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.time() - start
lat = sorted(x for l in latencies for x in l)
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0
print(f"verdict: {sum(acked)} events acknowledged of {sum(sent)} sent in {elapsed:.1f} s = "
      f"{sum(acked) / elapsed:,.0f} events/s; {sum(errors)} failed batches; "
      f"batch latency p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms"
      + (f"; failures by status: {statuses}" if statuses else ""))
open(f"{out}/acked", "w").write(str(sum(acked)))
open(f"{out}/rate", "w").write(str(sum(acked) / elapsed))
# The same rows for PostgreSQL alone: one line per event, about its size, per client.
total = sum(acked)
per = max(1, total // clients)
for c in range(clients):
    with open(f"{out}/rows{c}.tsv", "w") as f:
        for n in range(per):
            e = event(c, n)
            f.write("\t".join([str(uuid.uuid4()), e["external_id"], json.dumps({"role": "user", "content": e["prompt"]}),
                               e["answer"], e["end_user"], e["thumb"]]) + "\n")
PY
acked=$(cat "$OUT/acked")
stored=$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM annotations WHERE source = 'end_user'")
echo "stored: $stored end-user feedback rows (acknowledged $acked)"
[ "$stored" = "$acked" ] || { echo "MISMATCH: acknowledged events not all stored" >&2; exit 1; }

psql -q "$DATABASE_URL" -c "CREATE TABLE floor_events (id uuid PRIMARY KEY, external_id text, prompt jsonb, answer text, end_user text, thumb text)" -c CHECKPOINT
chmod 755 "$OUT"; chmod 644 "$OUT"/rows*.tsv
rows=$(cat "$OUT"/rows*.tsv | wc -l)
t0=$(date +%s.%N)
copies=()
for f in "$OUT"/rows*.tsv; do
  psql -q "$DATABASE_URL" -c "COPY floor_events FROM '$f'" &
  copies+=($!)
done
for pid in "${copies[@]}"; do wait "$pid"; done
t1=$(date +%s.%N)
floor=$(echo "$rows / ($t1 - $t0)" | bc -l)
rate=$(cat "$OUT/rate")
printf 'PostgreSQL alone: %d rows by COPY from %d connections in %.1f s = %.0f rows/s\n' \
  "$rows" "$CLIENTS" "$(echo "$t1 - $t0" | bc -l)" "$floor"
printf 'ratio: Verdict %.0f events/s = %.1f%% of COPY\n' "$rate" "$(echo "100 * $rate / $floor" | bc -l)"
