#!/usr/bin/env bash
# bench-pg-node.sh POSTERN_BINARY — one benchmark node on PostgreSQL, for
# ../shared/bench/compare.sh's cmd: servers (scripts/bench-postgres.sh uses
# it). It starts a PostgreSQL cluster of its own (Debian's package, data in
# $BENCH_DATA/pg, 127.0.0.1 on a free port, run as the postgres user, normal
# durability: fsync and synchronous_commit on, as SQLite's fsync), writes the
# postmaster's pid to $BENCH_DATA/pg.pid (bench-postgres.sh measures the
# cluster's CPU from /proc), then execs postern on it.
#
# The postmaster runs in the node's process group, so compare.sh's stop
# (TERM then KILL to the group) stops it too; its backends end when it does.
set -euo pipefail
BIN=${1:?usage: bench-pg-node.sh POSTERN_BINARY}
: "${BENCH_DATA:?}" "${BENCH_ADDR:?}" "${BENCH_ACCESS_KEY:?}" "${BENCH_SECRET_KEY:?}"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDIR=$BENCH_DATA/pg
mkdir -p "$PGDIR" "$BENCH_DATA/node"
chown postgres: "$PGDIR"
PW=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
echo "$PW" >"$PGDIR.pw"; chown postgres: "$PGDIR.pw"; chmod 600 "$PGDIR.pw"
setpriv --reuid=postgres --regid=postgres --init-groups "$PGBIN/initdb" --pgdata="$PGDIR/data" \
  --username=postgres --pwfile="$PGDIR.pw" --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
  --no-instructions >"$PGDIR.initdb.log" 2>&1
rm -f "$PGDIR.pw"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Normal durability (fsync, synchronous_commit and full_page_writes on: the
# defaults); only the size of shared buffers and the connection limit set.
setpriv --reuid=postgres --regid=postgres --init-groups "$PGBIN/postgres" -D "$PGDIR/data" \
  -c listen_addresses=127.0.0.1 -c port="$PORT" -c unix_socket_directories="$PGDIR" \
  -c fsync=on -c synchronous_commit=on -c full_page_writes=on \
  -c shared_buffers=128MB -c max_connections=100 -c log_min_messages=warning \
  >"$PGDIR.log" 2>&1 &
echo $! >"$BENCH_DATA/pg.pid"
for _ in $(seq 1 300); do
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
  sleep 0.1
done
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || { echo "postgres did not start:"; cat "$PGDIR.log"; exit 1; }
export POSTERN_ROOT_ACCESS_KEY=$BENCH_ACCESS_KEY POSTERN_ROOT_SECRET_KEY=$BENCH_SECRET_KEY
exec "$BIN" server --data "$BENCH_DATA/node" --listen "$BENCH_ADDR" \
  --meta "postgres://postgres:$PW@127.0.0.1:$PORT/postgres?sslmode=disable" \
  --server-key "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
