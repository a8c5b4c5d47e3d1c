#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, benchmarks and CI, from Debian's server binaries
# (package `postgresql`). Listens on 127.0.0.1 only, trust authentication: never use it for data
# you care about.
#
#   scripts/postgres.sh start    initialise (first time) and start; waits until it accepts connections
#   scripts/postgres.sh stop     stop (fast shutdown: clients are disconnected)
#   scripts/postgres.sh status   exit 0 when running, 3 when not
#   scripts/postgres.sh url      print the connection URL, e.g. postgres://postgres@127.0.0.1:25432/postgres
#   scripts/postgres.sh clean    stop and remove the cluster's directory
#
# Environment:
#   WEIR_PG_DIR   cluster directory (default /tmp/weir-pg); data in $WEIR_PG_DIR/data, log in $WEIR_PG_DIR/postgres.log
#   WEIR_PG_PORT  TCP port on 127.0.0.1 (default 25432)
#                 (below Linux's ephemeral range, 32768-60999, so an outgoing connection can never be
#                 holding it when the server starts)
#   WEIR_PG_BIN   directory of initdb/pg_ctl (default: the newest /usr/lib/postgresql/*/bin)
#
# Run as root, the server runs as user `postgres` (created by the Debian package; initdb and the
# server refuse to run as root). `start` and `stop` are idempotent and serialised with a lock file,
# so concurrent test processes can call them.
set -euo pipefail

DIR="${WEIR_PG_DIR:-/tmp/weir-pg}"
PORT="${WEIR_PG_PORT:-25432}"
HOST=127.0.0.1
DATA="$DIR/data"
LOG="$DIR/postgres.log"
START_TIMEOUT=60

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: scripts/postgres.sh start|stop|status|url|clean" >&2
  exit 2
}

[[ "$PORT" =~ ^[0-9]+$ ]] || die "WEIR_PG_PORT must be a port number, not '$PORT'"
if [[ "$DIR" != /* ]]; then
  DIR="$PWD/$DIR"
  DATA="$DIR/data"
  LOG="$DIR/postgres.log"
fi
[[ "$DIR" =~ ^[A-Za-z0-9_./-]+$ ]] || die "WEIR_PG_DIR must be a plain path (letters, digits, _ . / -), not '$DIR'"

url() {
  echo "postgres://postgres@$HOST:$PORT/postgres"
}

find_bin() {
  if [[ -n "${WEIR_PG_BIN:-}" ]]; then
    [[ -x "$WEIR_PG_BIN/pg_ctl" ]] || die "WEIR_PG_BIN=$WEIR_PG_BIN has no pg_ctl"
    BIN="$WEIR_PG_BIN"
    return
  fi
  BIN=""
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && BIN="$d"
  done
  [[ -n "$BIN" ]] || die "PostgreSQL server binaries not found (looked for initdb and pg_ctl in /usr/lib/postgresql/*/bin); install them with: apt-get install -y postgresql"
}

# The user the server runs as, and how to run a command as that user.
setup_user() {
  if [[ "$(id -u)" != 0 ]]; then
    RUN=()
    return
  fi
  local user=postgres
  if ! id -u "$user" >/dev/null 2>&1; then
    user=weirpg
    if ! id -u "$user" >/dev/null 2>&1; then
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" >/dev/null 2>&1 ||
        die "running as root and there is no user 'postgres' to run the server as (useradd $user failed)"
    fi
  fi
  command -v runuser >/dev/null 2>&1 || die "running as root needs runuser (package util-linux) to start the server as '$user'"
  RUN=(runuser -u "$user" --)
  SERVER_USER="$user"
}

as_server() {
  "${RUN[@]}" "$@"
}

ensure_dir() {
  mkdir -p "$DIR"
  if [[ "$(id -u)" == 0 ]]; then chown "$SERVER_USER" "$DIR"; fi
  chmod 700 "$DIR"
}

lock() {
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$DIR.lock"
  if command -v flock >/dev/null 2>&1; then
    flock -w 120 9 || die "timed out waiting for the lock $DIR.lock"
  fi
}

running() {
  [[ -f "$DATA/PG_VERSION" ]] && as_server "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

ready() {
  if [[ -x "$BIN/pg_isready" ]]; then
    "$BIN/pg_isready" -q -h "$HOST" -p "$PORT" -U postgres -d postgres -t 2
  else
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
  fi
}

wait_ready() {
  local i
  for ((i = 0; i < START_TIMEOUT * 5; i++)); do
    if ready; then return 0; fi
    sleep 0.2
  done
  return 1
}

show_log() {
  if [[ -f "$LOG" ]]; then
    echo "--- last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2
  fi
}

start() {
  lock
  ensure_dir
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    rm -rf "$DATA"
    # --no-sync: a throwaway cluster does not need initdb's files on disk before it returns.
    as_server "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$DIR/initdb.log" 2>&1 9>&- || {
      cat "$DIR/initdb.log" >&2
      die "initdb failed (see above)"
    }
  fi
  if running; then
    wait_ready || { show_log; die "the server in $DATA runs but does not accept connections on $HOST:$PORT (another WEIR_PG_PORT?)"; }
    echo "postgres.sh: already running on $HOST:$PORT (data $DATA)" >&2
    return 0
  fi
  if ready; then
    die "port $PORT on $HOST is taken by another server; set WEIR_PG_PORT to a free port"
  fi
  as_server "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$START_TIMEOUT" \
    -o "-p $PORT -c listen_addresses=$HOST -c unix_socket_directories=$DIR" start >/dev/null 9>&- || {
    show_log
    die "the server did not start"
  }
  wait_ready || { show_log; die "the server started but does not accept connections on $HOST:$PORT"; }
  echo "postgres.sh: running on $HOST:$PORT (data $DATA, log $LOG)" >&2
}

stop() {
  lock
  if running; then
    as_server "$BIN/pg_ctl" -D "$DATA" -m fast -w -t "$START_TIMEOUT" stop >/dev/null || die "the server did not stop"
    echo "postgres.sh: stopped" >&2
  else
    echo "postgres.sh: not running" >&2
  fi
}

status() {
  if running; then
    echo "running on $HOST:$PORT (data $DATA)"
    return 0
  fi
  echo "not running (data $DATA)"
  return 3
}

clean() {
  stop
  rm -rf "$DIR"
  rm -f "$DIR.lock"
  echo "postgres.sh: removed $DIR" >&2
}

[[ $# -eq 1 ]] || usage
case "$1" in
  url) url ;;
  start | stop | status | clean)
    find_bin
    setup_user
    "$1"
    ;;
  *) usage ;;
esac
