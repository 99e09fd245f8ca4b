#!/usr/bin/env bash
# bench-postgres.sh — a Postern node on PostgreSQL against one on SQLite, in
# one run of ../shared/bench/compare.sh (issue 19's benchmark; results in
# docs/performance.md, "PostgreSQL node vs SQLite node").
#
#   scripts/bench-postgres.sh [-b OLD_POSTERN] [compare.sh options...]
#
# Builds this checkout's postern, then compares servers started by
# compare.sh (cmd:): sqlite (the default store), postgres (the same binary
# with --meta on a PostgreSQL cluster of its own, scripts/bench-pg-node.sh)
# and, with -b, postgres-before (OLD_POSTERN on PostgreSQL too, e.g. a build
# of main). Default options: -r 3 -d 8s --no-anchors and the scenarios
# presign-get-4k,presign-put-4k,sdk-get-4k,sdk-put-4k,list-10k.
#
# Needs root (PostgreSQL runs as the postgres user), Debian's postgresql,
# wrk, and ports 9300... free (compare.sh takes the next free ones).
# Besides compare.sh's report it prints the database's CPU per request
# (bench-pgcpu.py): compare.sh's srv_cpu figures count the node's process
# group only, and PostgreSQL's backends are not in it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=${BENCH_DIR:-$ROOT/../shared/bench}
OLD=""
if [[ ${1:-} == -b ]]; then OLD=$(realpath "$2"); shift 2; fi
OUT=/tmp/pgbench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
go build -o "$OUT/postern" ./cmd/postern
NODE=$ROOT/scripts/bench-pg-node.sh
servers=(
  sqlite="cmd:POSTERN_ROOT_ACCESS_KEY=\$BENCH_ACCESS_KEY POSTERN_ROOT_SECRET_KEY=\$BENCH_SECRET_KEY exec $OUT/postern server --data \$BENCH_DATA --listen \$BENCH_ADDR"
)
[[ -n $OLD ]] && servers+=(postgres-before="cmd:exec $NODE $OLD")
servers+=(postgres="cmd:exec $NODE $OUT/postern")

python3 "$ROOT/scripts/bench-pgcpu.py" sample "$OUT/run" &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null || true' EXIT
mkdir -p "$OUT/run"
"$BENCH/compare.sh" -o "$OUT/run" -r 3 -d 8s --no-anchors \
  -s presign-get-4k,presign-put-4k,sdk-get-4k,sdk-put-4k,list-10k "$@" "${servers[@]}"
kill $SAMPLER 2>/dev/null || true
echo
echo "Node (postern process group) and database (PostgreSQL cluster) CPU, medians:"
python3 "$ROOT/scripts/bench-pgcpu.py" report "$OUT/run" | tee "$OUT/run/cpu.md"
echo "(output in $OUT/run)"
