#!/usr/bin/env python3
"""The fault run's driver (standard library only); scripts/chaos.sh prepares the database.

Annotators sign in and label through `/serverfn/next_task` and `/serverfn/submit_annotation`,
as the browser does: a submission the server did not acknowledge is sent again under the
same annotation id, with backoff, to the annotator's own server or, when that one does not
answer at all, to the other (as a balancer would). Faults, at fixed times of the run:

  * PostgreSQL's postmaster is killed with SIGKILL and started again a few seconds later;
  * one Verdict server is killed with SIGKILL and started again; two annotators whose
    server it was leave with it (a closed browser), their leases left behind;
  * for a few seconds, every client backend that is in a statement or a transaction is
    terminated with pg_terminate_backend.

Then, once every item has its overlap (or the run's bound passes), the checks; a JSON
summary goes to stdout and the exit status is 1 if a check failed.
"""

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

ARGS = None
LOCK = threading.Lock()
STOP = threading.Event()
SERVER_B_KILLED = threading.Event()
STATS = {
    "acknowledged": [],  # annotation ids the server answered 200 for
    "retries": 0,  # submissions sent again under the same id
    "failovers": 0,  # requests sent to the other server
    "refused": [],  # 4xx answers to a submission: a label refused for good
    "slowest_5xx_s": 0.0,  # the longest a 5xx answer took
    "not_ok": {},  # answers other than 200 and 303, by status (0: no answer)
}


def log(*parts):
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def request(port, method, path, body=None, headers=None, timeout=5.0):
    """(status, headers, body bytes, seconds); status 0 when the server did not answer."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, response.headers, data, time.monotonic() - started
    except (OSError, http.client.HTTPException):
        return 0, {}, b"", time.monotonic() - started
    finally:
        connection.close()


def sql(query):
    """One query through psql; its rows as lists of strings."""
    out = subprocess.run(
        ["psql", "-qAt", "-F", "\t", ARGS.database_url, "-c", query],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def as_pg(command):
    if os.getuid() == 0:
        command = ["runuser", "-u", "postgres", "--"] + command
    return subprocess.run(command, capture_output=True, text=True)


class Server:
    def __init__(self, name, port):
        self.name, self.port, self.process = name, port, None
        self.log = open(os.path.join(ARGS.pg_dir, f"verdict-{name}.log"), "ab")

    def start(self):
        env = dict(
            os.environ,
            DATABASE_URL=ARGS.database_url,
            VERDICT_ADDR=f"127.0.0.1:{self.port}",
            VERDICT_NO_DEMO="1",
            VERDICT_NO_WORKER="1",
            VERDICT_ADMIN_PASSWORD="chaos-admin-password",
            VERDICT_DATA_DIR=os.path.join(ARGS.pg_dir, "verdict-data"),
            RUST_LOG="warn",
        )
        self.process = subprocess.Popen(
            [ARGS.bin, "serve"], env=env, stdout=self.log, stderr=self.log
        )
        for _ in range(300):
            if request(self.port, "GET", "/healthz", timeout=1)[0] == 200:
                return
            time.sleep(0.1)
        raise SystemExit(f"server {self.name} did not start")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


class Annotator(threading.Thread):
    def __init__(self, index, home, other, leaves_with_home):
        super().__init__(daemon=True)
        self.email = f"a{index}@chaos.local"
        self.home, self.other = home, other
        self.leaves_with_home = leaves_with_home
        self.cookie = None
        self.rng = random.Random(index)

    def send(self, path, body, content_type):
        """Sends to the home server, or to the other one when home does not answer."""
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        status, response_headers, data, took = request(self.home.port, "POST", path, body, headers)
        if status == 0:
            with LOCK:
                STATS["failovers"] += 1
            status, response_headers, data, took = request(
                self.other.port, "POST", path, body, headers
            )
        with LOCK:
            if status >= 500:
                STATS["slowest_5xx_s"] = max(STATS["slowest_5xx_s"], took)
            if status not in (200, 303):
                STATS["not_ok"][status] = STATS["not_ok"].get(status, 0) + 1
        return status, response_headers, data

    def gone(self):
        return STOP.is_set() or (self.leaves_with_home and SERVER_B_KILLED.is_set())

    def sign_in(self):
        form = f"email={self.email.replace('@', '%40')}&password={ARGS.password}"
        while not self.gone():
            status, headers, _ = self.send("/auth/login", form, "application/x-www-form-urlencoded")
            cookies = [v.split(";", 1)[0] for k, v in headers.items() if k.lower() == "set-cookie"]
            if status == 303 and cookies:
                self.cookie = "; ".join(cookies)
                return True
            time.sleep(0.5)
        return False

    def run(self):
        if not self.sign_in():
            return
        backoff = 0.1
        while not self.gone():
            status, _, data = self.send("/serverfn/next_task", "slug=p", "application/x-www-form-urlencoded")
            if status != 200:
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.1
            task = json.loads(data)
            if task is None:
                time.sleep(1.0)  # the rest is leased to others, or done
                continue
            time.sleep(self.rng.uniform(ARGS.think_min, ARGS.think_max))
            shown = [a["response_id"] for a in task["answers"]]
            body = json.dumps(
                {
                    "slug": "p",
                    "input": {
                        "annotation_id": str(uuid.uuid4()),
                        "item_id": task["item_id"],
                        "ranking": [[r] for r in shown],
                        "shown_order": shown,
                        "time_spent_ms": 1000,
                    },
                }
            )
            annotation_id = json.loads(body)["input"]["annotation_id"]
            retry = 0.1
            while not self.gone():
                status, _, data = self.send("/serverfn/submit_annotation", body, "application/json")
                if status == 200:
                    with LOCK:
                        STATS["acknowledged"].append(annotation_id)
                    break
                if 400 <= status < 500:
                    with LOCK:
                        STATS["refused"].append([annotation_id, status, data.decode()[:300]])
                    break
                with LOCK:
                    STATS["retries"] += 1
                time.sleep(retry)
                retry = min(retry * 2, 2.0)


def health(servers):
    out = {}
    for server in servers:
        status, headers, _, took = request(server.port, "GET", "/healthz", timeout=10)
        out[server.name] = {"status": status, "seconds": round(took, 3)}
        if headers and headers.get("Retry-After"):
            out[server.name]["retry_after"] = headers.get("Retry-After")
    return out


def postmaster_pid():
    with open(os.path.join(ARGS.pg_dir, "data", "postmaster.pid")) as f:
        return int(f.readline())


def start_pg():
    """Starts the cluster again; its old backends may take a moment to leave."""
    options = f"-p {ARGS.pg_port} -k {ARGS.pg_dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
    for _ in range(100):
        started = as_pg(
            [os.path.join(ARGS.pg_bin, "pg_ctl"), "-D", os.path.join(ARGS.pg_dir, "data"), "-l",
             os.path.join(ARGS.pg_dir, "server.log"), "-w", "-o", options, "start"]
        )
        if started.returncode == 0:
            return
        time.sleep(0.2)
    raise SystemExit("PostgreSQL did not start again")


def stored_count():
    try:
        return int(sql("SELECT count(*) FROM annotations")[0][0])
    except subprocess.CalledProcessError:
        return -1


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    for name in ["bin", "pg-dir", "pg-bin", "database-url", "password", "ports"]:
        parser.add_argument(f"--{name}", required=True)
    for name in ["pg-port", "annotators", "items", "overlap", "seconds"]:
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--think-min", type=float, default=1.0)
    parser.add_argument("--think-max", type=float, default=2.0)
    ARGS = parser.parse_args()
    port_a, port_b = (int(p) for p in ARGS.ports.split(","))
    a, b = Server("A", port_a), Server("B", port_b)
    a.start()
    b.start()
    summary = {"annotators": ARGS.annotators, "items": ARGS.items, "overlap": ARGS.overlap}
    faults = summary["faults"] = {}
    try:
        annotators = [
            Annotator(i, a if i % 2 == 0 else b, b if i % 2 == 0 else a, i in (1, 3))
            for i in range(ARGS.annotators)
        ]
        started = time.monotonic()
        for annotator in annotators:
            annotator.start()
        at = lambda s: time.sleep(max(0.0, s - (time.monotonic() - started)))

        at(8)
        faults["health_before"] = health([a, b])
        before = len(STATS["acknowledged"])
        os.kill(postmaster_pid(), signal.SIGKILL)
        log("PostgreSQL killed with SIGKILL", f"({before} labels acknowledged)")
        time.sleep(1)
        faults["health_while_database_down"] = health([a, b])
        time.sleep(2)
        start_pg()
        restarted = time.monotonic()
        while any(v["status"] != 200 for v in health([a, b]).values()):
            time.sleep(0.1)
        faults["postgres_killed"] = {
            "acknowledged_before": before,
            "both_healthy_again_after_s": round(time.monotonic() - restarted, 2),
        }
        log("PostgreSQL back, both servers healthy without a restart")

        at(22)
        before = len(STATS["acknowledged"])
        SERVER_B_KILLED.set()
        b.kill()
        log("server B killed with SIGKILL", f"({before} labels acknowledged)")
        time.sleep(3)
        b.start()
        leases_left = sql(
            "SELECT count(*) FROM assignments s JOIN users u USING (user_id)"
            " WHERE u.email IN ('a1@chaos.local', 'a3@chaos.local') AND s.expires_at > now()"
        )[0][0]
        faults["server_killed"] = {"acknowledged_before": before, "leases_left_behind": int(leases_left)}
        log("server B started again")

        at(32)
        # A loop inside PostgreSQL, polling every few milliseconds (a fresh statistics
        # snapshot each time), so that it catches backends in the middle of their work.
        loop = subprocess.run(
            ["psql", "-qAt", ARGS.database_url, "-c", """
            DO $$
            DECLARE active int := 0; in_tx int := 0; r record;
            BEGIN
              FOR i IN 1..2000 LOOP
                PERFORM pg_stat_clear_snapshot();
                FOR r IN SELECT pid, state FROM pg_stat_activity
                         WHERE datname = 'chaos' AND backend_type = 'client backend'
                           AND pid <> pg_backend_pid()
                           AND state IN ('active', 'idle in transaction') LOOP
                  IF pg_terminate_backend(r.pid) THEN
                    IF r.state = 'active' THEN active := active + 1; ELSE in_tx := in_tx + 1; END IF;
                  END IF;
                END LOOP;
                PERFORM pg_sleep(0.0025);
              END LOOP;
              RAISE NOTICE 'terminated % % ', active, in_tx;
            END $$"""],
            capture_output=True, text=True, check=True,
        )
        words = loop.stderr.split("terminated", 1)[1].split()
        terminated = {"in a statement": int(words[0]), "idle in a transaction": int(words[1])}
        faults["backends_terminated"] = terminated
        log("backends terminated:", terminated)

        target = ARGS.items * ARGS.overlap
        while time.monotonic() - started < ARGS.seconds and stored_count() < target:
            time.sleep(1)
        STOP.set()
        for annotator in annotators:
            annotator.join(timeout=15)
        summary["seconds"] = round(time.monotonic() - started, 1)
        summary["health_after"] = health([a, b])
    finally:
        STOP.set()
        a.stop()
        b.stop()

    acknowledged = STATS["acknowledged"]
    ids = ",".join(f"'{i}'" for i in acknowledged) or "NULL"
    found = int(sql(f"SELECT count(*) FROM annotations WHERE annotation_id IN ({ids})")[0][0])
    stored = stored_count()
    most = int(sql("SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM annotations GROUP BY item_id) c")[0][0])
    short = int(sql(
        f"SELECT count(*) FROM items i WHERE (SELECT count(*) FROM annotations n"
        f" WHERE n.item_id = i.item_id) < {ARGS.overlap}"
    )[0][0])
    down = faults.get("health_while_database_down", {})
    summary.update(
        acknowledged=len(acknowledged),
        acknowledged_found=found,
        stored=stored,
        stored_never_acknowledged=stored - found,
        retries=STATS["retries"],
        failovers=STATS["failovers"],
        refused=STATS["refused"],
        slowest_5xx_s=round(STATS["slowest_5xx_s"], 3),
        answers_not_ok_by_status=STATS["not_ok"],
        most_labels_on_an_item=most,
        items_short_of_overlap=short,
    )
    checks = summary["checks"] = {
        "every acknowledged label stored, once": found == len(acknowledged) == len(set(acknowledged)),
        "no label refused": not STATS["refused"],
        "no item over its overlap": most <= ARGS.overlap,
        "leases left behind came back: every item has its overlap": short == 0,
        "/healthz 503 while the database was down, fast": bool(down)
        and all(v["status"] == 503 and v["seconds"] < 3 for v in down.values()),
        "/healthz 200 after, on both": all(v["status"] == 200 for v in summary["health_after"].values()),
    }
    json.dump(summary, sys.stdout, indent=2)
    print()
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
