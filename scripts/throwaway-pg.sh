# Sourced by test.sh and bench.sh: a private PostgreSQL cluster for one run.
# `throwaway_pg PORT [postgres -c options…]` starts it and sets PG_BIN, PG_DIR, PG_PORT and
# DATABASE_URL (the `postgres` database, a role that may create databases); when PORT is
# taken it tries the next ones (a client's socket may hold any port of the kernel's
# ephemeral range, 32768-60999 here, which is why the scripts' ports lie below it);
# `throwaway_pg_stop` stops it and removes its files.

PG_BIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)")

# initdb and postgres refuse to run as root: as root, run them as `postgres`.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

throwaway_pg() {
  local port=$1
  shift
  PG_DIR=$(mktemp -d /tmp/verdict-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_DIR"; fi
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  local extra="" option tries
  for option in "$@"; do extra="$extra -c $option"; done
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    if as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
      -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200$extra" \
      start >/dev/null; then
      break
    fi
    if [ "$tries" = 10 ] || ! grep -q "Address already in use" "$PG_DIR/server.log"; then
      tail -20 "$PG_DIR/server.log" >&2
      return 1
    fi
    echo "throwaway_pg: port $port is taken, trying $((port + 1))" >&2
    port=$((port + 1))
    : >"$PG_DIR/server.log"
  done
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  PG_PORT=$port
}

throwaway_pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}

# For the benchmarks: builds the release binary and makes OUT, a scratch directory that
# goes, with the cluster, when the script exits.
bench_start() {
  OUT=$(mktemp -d "/tmp/verdict-$1.XXXXXX")
  trap 'throwaway_pg_stop; rm -rf "$OUT"' EXIT
  cargo build --release --features ssr --bin verdict
}

# For the benchmarks: a throwaway cluster on PORT (more arguments: postgres -c options)
# with a database NAME holding Verdict's schema and one project SLUG titled TITLE; sets
# DATABASE_URL to it. Needs the release build.
bench_project_db() {
  local port=$1 name=$2 slug=$3 title=$4
  shift 4
  throwaway_pg "$port" "$@"
  psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE $name"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$name"
  target/release/verdict project create --slug "$slug" --name "$title" >/dev/null
}
