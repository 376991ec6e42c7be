#!/usr/bin/env bash
# Start or stop a throw-away PostgreSQL 15 cluster (Debian packages) for the tests.
#   bash .ci/postgres.sh start   -> prints the DATABASE_URL to use
#   bash .ci/postgres.sh stop
# PGDIR (default /tmp/shine-pg) holds the cluster; PGPORT (default 55432) on loopback only;
# PG_FSYNC (default off: a test cluster need not survive a power cut; benchmarks set it on).
set -euo pipefail
PGDIR=${PGDIR:-/tmp/shine-pg}
PGPORT=${PGPORT:-55432}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
# initdb refuses to run as root: run the server as the unprivileged 'postgres' user when we are root
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
      mkdir -p "$PGDIR"
      [ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
      as_pg "$BIN/initdb" -D "$PGDIR/data" -U shine --auth=trust -E UTF8 >"$PGDIR/initdb.log"
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR -c max_connections=200 -c fsync=${PG_FSYNC:-off}" start >/dev/null
    fi
    as_pg "$BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U shine -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='shine'" | grep -q 1 || \
      as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U shine shine
    echo "postgres://shine@127.0.0.1:$PGPORT/shine"
    ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
