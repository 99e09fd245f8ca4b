#!/usr/bin/env bash
# bench-nodes.sh — 1, 2 and 3 Postern nodes behind nginx, measured in ONE run of
# ../shared/bench/compare.sh (docs/performance.md, "Several nodes behind nginx").
#
#   scripts/bench-nodes.sh [-o OUTDIR] [compare.sh options...]
#
# What it starts (all on 127.0.0.1, all stopped and removed on exit):
#   * one throw-away PostgreSQL cluster (Debian's newest /usr/lib/postgresql/*/bin), its own
#     data dir, default durability (fsync, synchronous_commit, full_page_writes on), run as the
#     postgres user when this script runs as root; one database per setup (bench_n1..bench_n3)
#     so each starts clean;
#   * for N in 1 2 3: N nodes (`postern server --meta … --server-key … --blobs DIR`, one blobs
#     directory per N, each node its own --data) and nginx rendered from
#     deploy/nginx/postern.conf (upstream server lines and the listen line rewritten, nothing
#     else), nginx run as nobody when root. The N nodes and their nginx share one process
#     group, so the harness's CPU per request covers the whole tier (nodes + nginx hop);
#   * a sampler of PostgreSQL's CPU from /proc (per database: backends are attributed by the
#     database in their process title), folded into the report as pg_cpu_* rows.
# Then: compare.sh -r 2 -d 8s -s presign-get-4k,presign-put-4k,sdk-get-4k,presign-get-64m,list-10k
#   n1=http://AK:SK@127.0.0.1:PORT#pgid=… n2=… n3=…   (extra arguments are passed to compare.sh
#   after these defaults, so e.g. `-r 3` or `-s list-10k` override them).
#
# Ports: PostgreSQL on $BENCH_NODES_PORT (default 9590); setup N: nginx on PORT0=9500+10*N, its
# nodes on PORT0+1..PORT0+N. All must be free (another benchmark may hold 9280 and 9300–9330: if
# 9280, compare.sh's nginx anchor, is busy, the run goes on with --no-anchors).
# Environment: POSTERN_BIN (default: go build ./cmd/postern), BENCH_DIR (default ../shared/bench
# next to this checkout).
# Outputs in OUTDIR (default /tmp/postern-bench-nodes-YYYYmmdd-HHMMSS): compare.sh's results.tsv,
# report.md, run.log, load.log; pg-cpu.tsv (samples), results-pg.tsv and report-pg.md (the
# table with PostgreSQL's CPU rows), env.txt (machine, date, load average), logs/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$ROOT/../shared/bench}
PG_PORT=${BENCH_NODES_PORT:-9590}
SETUPS=(1 2 3)
OUT=""
if [[ ${1:-} == -o ]]; then OUT=$2; shift 2; fi
OUT=${OUT:-/tmp/postern-bench-nodes-$(date +%Y%m%d-%H%M%S)}

die() { echo "bench-nodes.sh: $*" >&2; exit 2; }
log() { echo "[$(date +%H:%M:%S)] $*"; }

[[ -x $BENCH_DIR/compare.sh ]] || die "no harness at $BENCH_DIR/compare.sh (set BENCH_DIR)"
PGBIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
[[ -n $PGBIN && -x $PGBIN/postgres && -x $PGBIN/initdb ]] \
  || die "PostgreSQL server not installed (/usr/lib/postgresql/*/bin): run scripts/deps.sh"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $NGINX ]] || die "nginx not installed: run scripts/deps.sh (nginx-light)"
for c in curl setsid ss pgrep; do command -v "$c" >/dev/null || die "$c not found"; done

port_free() { ! ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }
PORTS=("$PG_PORT")
for n in "${SETUPS[@]}"; do
  for ((k = 0; k <= n; k++)); do PORTS+=($((9500 + 10 * n + k))); done
done
for p in "${PORTS[@]}"; do port_free "$p" || die "port $p is busy (ss -ltnp)"; done

mkdir -p "$OUT/logs"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/postern-bench-nodes-work.XXXXXX)
chmod 755 "$WORK" # postgres and nobody traverse it

# ---------------------------------------------------------------- cleanup (everything we start)
PGIDS=()     # process groups of the node tiers (nodes + nginx)
PG_PID=""    # the postmaster (its own session)
SAMPLER=""   # the CPU sampler
cleanup() {
  local pg
  set +e
  [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null
  for pg in "${PGIDS[@]}"; do kill -TERM -- "-$pg" 2>/dev/null; done
  for pg in "${PGIDS[@]}"; do
    for _ in $(seq 1 60); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pg" 2>/dev/null
  done
  if [[ -n $PG_PID ]]; then
    kill -INT "$PG_PID" 2>/dev/null # fast shutdown
    for _ in $(seq 1 120); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$PG_PID" 2>/dev/null
  fi
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# as USER CMD… — run CMD as USER when root (setpriv execs: the process group is kept).
as() {
  local u=$1; shift
  if [[ $(id -u) == 0 ]]; then
    exec setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups -- "$@"
  fi
  exec "$@"
}

# ---------------------------------------------------------------- postern binary
POSTERN=${POSTERN_BIN:-}
if [[ -z $POSTERN ]]; then
  POSTERN=$OUT/postern
  log "building $POSTERN"
  (cd "$ROOT" && go build -o "$POSTERN" ./cmd/postern) || die "go build failed"
fi
[[ -x $POSTERN ]] || die "POSTERN_BIN=$POSTERN is not executable"

# ---------------------------------------------------------------- PostgreSQL
PGUSER_OS=$(id -un)
[[ $(id -u) == 0 ]] && PGUSER_OS=postgres
id "$PGUSER_OS" >/dev/null 2>&1 || die "running as root and there is no postgres user"
PGPASS=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$WORK/pg"
printf '%s\n' "$PGPASS" >"$WORK/pg/pwfile"
chmod 600 "$WORK/pg/pwfile"
chown -R "$PGUSER_OS" "$WORK/pg"
log "initdb ($PGBIN)"
( as "$PGUSER_OS" "$PGBIN/initdb" --pgdata="$WORK/pg/data" --username=postgres \
    --pwfile="$WORK/pg/pwfile" --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
    --no-instructions ) >"$OUT/logs/initdb.log" 2>&1 || die "initdb failed: $OUT/logs/initdb.log"
rm -f "$WORK/pg/pwfile"
# Defaults except where it listens: fsync, synchronous_commit, full_page_writes stay on.
setsid bash -c "$(declare -f as); as $PGUSER_OS $PGBIN/postgres -D $WORK/pg/data \
  -c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$WORK/pg" \
  >"$OUT/logs/postgres.log" 2>&1 </dev/null &
PG_PID=$!
export PGPASSWORD=$PGPASS
for _ in $(seq 1 240); do
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
  kill -0 "$PG_PID" 2>/dev/null || die "postgres exited: $OUT/logs/postgres.log"
  sleep 0.25
done
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || die "postgres not ready after 60 s"
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"; }
for n in "${SETUPS[@]}"; do psql_ -c "CREATE DATABASE bench_n$n"; done
psql_ -At -c "SELECT 'postgres ' || version() || '; fsync=' || current_setting('fsync') || ' synchronous_commit=' || current_setting('synchronous_commit') || ' full_page_writes=' || current_setting('full_page_writes')" >"$OUT/logs/pg-settings.txt"
log "postgres: pid $PG_PID on 127.0.0.1:$PG_PORT ($(cat "$OUT/logs/pg-settings.txt"))"

# ---------------------------------------------------------------- node tiers
AK=benchnodesadmin
SK=bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
SERVER_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
CONF=$(cat "$ROOT/deploy/nginx/postern.conf")
grep -Eq '^[[:space:]]*server[[:space:]]+[^[:space:]]+[[:space:]]+max_fails=' <<<"$CONF" \
  || die "deploy/nginx/postern.conf: no upstream server lines (server ADDR max_fails=…;)"
grep -Eq '^[[:space:]]*listen[[:space:]]+80;' <<<"$CONF" || die "deploy/nginx/postern.conf: no 'listen 80;' line"

# render_nginx LISTEN ADDR… — the shipped file with its upstream server lines replaced by one
# per ADDR (the shipped parameters kept) and its listen line set to LISTEN; as tests/cluster.
render_nginx() {
  local listen=$1; shift
  awk -v listen="$listen" -v addrs="$*" '
    /^[ \t]*server[ \t]+[^ \t]+[ \t]+max_fails=.*;[ \t]*$/ {
      if (!done) {
        match($0, /^[ \t]*/); ind = substr($0, 1, RLENGTH)
        params = $0; sub(/^[ \t]*server[ \t]+[^ \t]+/, "", params); sub(/[ \t]*$/, "", params)
        n = split(addrs, a, " ")
        for (i = 1; i <= n; i++) print ind "server " a[i] params
        done = 1
      }
      next
    }
    /^[ \t]*listen[ \t]+80;[ \t]*$/ { match($0, /^[ \t]*/); print substr($0, 1, RLENGTH) "listen " listen ";"; next }
    { print }' <<<"$CONF"
}

declare -A TIER_URL TIER_PGID
for n in "${SETUPS[@]}"; do
  base=$((9500 + 10 * n))
  d=$WORK/n$n
  mkdir -p "$d/blobs" "$d/nginx/tmp" "$OUT/logs/n$n"
  addrs=()
  cmds=""
  for ((k = 1; k <= n; k++)); do
    addr=127.0.0.1:$((base + k))
    addrs+=("$addr")
    mkdir -p -m 700 "$d/node$k"
    cmds+="$POSTERN server --blobs $d/blobs --data $d/node$k --listen $addr"
    cmds+=" --console-listen off >$OUT/logs/n$n/node$k.log 2>&1 &"$'\n'
  done
  # Secrets in the environment (and a private file), not on command lines that ps shows.
  secrets="export POSTERN_ROOT_ACCESS_KEY=$AK POSTERN_ROOT_SECRET_KEY=$SK POSTERN_SERVER_KEY=$SERVER_KEY"
  secrets+=" POSTERN_META='postgres://postgres:$PGPASS@127.0.0.1:$PG_PORT/bench_n$n?sslmode=disable'"
  render_nginx "127.0.0.1:$base" "${addrs[@]}" >"$d/nginx/postern.conf"
  cp "$d/nginx/postern.conf" "$OUT/logs/n$n/nginx-postern.conf"
  cat >"$d/nginx/nginx.conf" <<EOF
# written by scripts/bench-nodes.sh
worker_processes auto;
pid $d/nginx/nginx.pid;
error_log $d/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $d/nginx/tmp/body;
    proxy_temp_path $d/nginx/tmp/proxy;
    fastcgi_temp_path $d/nginx/tmp/fastcgi;
    uwsgi_temp_path $d/nginx/tmp/uwsgi;
    scgi_temp_path $d/nginx/tmp/scgi;
    include $d/nginx/postern.conf;
}
EOF
  ngu=$(id -un); [[ $(id -u) == 0 ]] && { ngu=nobody; chown -R nobody "$d/nginx"; }
  # Nodes first; nginx once they all answer /health/ready (else it would mark them down).
  (umask 077 && : >"$d/tier.sh")
  cat >"$d/tier.sh" <<EOF
$(declare -f as)
$secrets
$cmds
for a in ${addrs[*]}; do
  for _ in \$(seq 1 240); do curl -fsS -o /dev/null "http://\$a/health/ready" 2>/dev/null && break; sleep 0.25; done
  curl -fsS -o /dev/null "http://\$a/health/ready" || { echo "node \$a not ready after 60 s" >&2; exit 1; }
done
( as $ngu $NGINX -p $d/nginx -c $d/nginx/nginx.conf -e $d/nginx/error.log -g 'daemon off;' ) &
wait
EOF
  setsid bash "$d/tier.sh" >"$OUT/logs/n$n/tier.log" 2>&1 </dev/null &
  pg=$!
  PGIDS+=("$pg")
  TIER_PGID[n$n]=$pg
  TIER_URL[n$n]=http://127.0.0.1:$base
  log "n$n: $n node(s) on ${addrs[*]}, nginx on 127.0.0.1:$base, process group $pg"
done
for n in "${SETUPS[@]}"; do
  for _ in $(seq 1 360); do
    curl -fsS -o /dev/null "${TIER_URL[n$n]}/health/ready" 2>/dev/null && break
    kill -0 -- "-${TIER_PGID[n$n]}" 2>/dev/null || die "n$n exited: $OUT/logs/n$n/"
    sleep 0.25
  done
  curl -fsS -o /dev/null "${TIER_URL[n$n]}/health/ready" || die "n$n not ready through nginx: $OUT/logs/n$n/"
done

# ---------------------------------------------------------------- PostgreSQL CPU sampler
# Every second: cumulative CPU ticks per database (bench_nN) and "other" (postmaster, WAL
# writer, checkpointer, …) over the postmaster and every child of it ever seen (PostgreSQL's
# children call setsid(): neither a session nor a process group holds them), each process
# counted at its last sample (an exited backend keeps its last value).
TCK=$(getconf CLK_TCK)
sample_pg() {
  local -A last lab
  local p st cmd f key l kids
  # Builtins only (no fork per process): the machine may be saturated.
  while :; do
    kids=()
    if [[ -r /proc/$PG_PID/task/$PG_PID/children ]]; then
      read -ra kids </proc/"$PG_PID"/task/"$PG_PID"/children || true
    else
      mapfile -t kids < <(pgrep -P "$PG_PID")
    fi
    for p in "$PG_PID" "${kids[@]}"; do
      read -r st 2>/dev/null </proc/"$p"/stat || continue
      # The title PostgreSQL gives a backend: "postgres: USER DATABASE HOST(PORT) STATE".
      IFS= read -r -d '' cmd 2>/dev/null </proc/"$p"/cmdline || [[ -n $cmd ]] || continue
      read -ra f <<<"${st##*) }"
      key=$p:${f[19]} # pid:starttime
      last[$key]=$((f[11] + f[12]))
      l=other
      [[ $cmd =~ (bench_n[0-9]+) ]] && l=${BASH_REMATCH[1]#bench_}
      lab[$key]=$l
    done
    local -A sum=([n1]=0 [n2]=0 [n3]=0 [other]=0)
    for key in "${!last[@]}"; do sum[${lab[$key]}]=$((sum[${lab[$key]}] + last[$key])); done
    printf '%(%s)T\t%s\t%s\t%s\t%s\n' -1 "${sum[n1]}" "${sum[n2]}" "${sum[n3]}" "${sum[other]}"
    unset sum
    sleep 1
  done
}
printf 'epoch\tn1\tn2\tn3\tother\t# cumulative CPU ticks (%s/s) of PostgreSQL processes\n' "$TCK" >"$OUT/pg-cpu.tsv"
sample_pg >>"$OUT/pg-cpu.tsv" &
SAMPLER=$!

# ---------------------------------------------------------------- the run
{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB RAM, kernel $(uname -r)"
  echo "go: $(go version 2>/dev/null || echo '?'); postern: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "nginx: $("$NGINX" -v 2>&1)"
  echo "$(cat "$OUT/logs/pg-settings.txt")"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/env.txt"
ARGS=(-o "$OUT" -r 2 -d 8s -s presign-get-4k,presign-put-4k,sdk-get-4k,presign-get-64m,list-10k)
port_free 9280 || { log "port 9280 (compare.sh's nginx anchor) is busy: running with --no-anchors"; ARGS+=(--no-anchors); }
ARGS+=("$@")
for n in "${SETUPS[@]}"; do
  ARGS+=("n$n=http://$AK:$SK@${TIER_URL[n$n]#http://}#pgid=${TIER_PGID[n$n]}")
done
log "compare.sh ${ARGS[*]//$SK/SECRET}"
"$BENCH_DIR/compare.sh" "${ARGS[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"
# One more sample after the last phase, then stop the sampler.
lines=$(wc -l <"$OUT/pg-cpu.tsv")
for _ in $(seq 1 240); do (($(wc -l <"$OUT/pg-cpu.tsv") > lines + 1)) && break; sleep 0.25; done
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
SAMPLER=""

# ---------------------------------------------------------------- PostgreSQL's CPU per request
# Each load phase (a line of load.log: start time, rep, server, scenario) is charged the ticks
# of that server's database from its start to the start of the same server's next phase (or
# the last sample): the other phases in between use the other databases, so the window needs
# no sub-second precision. Setup (before the first phase) is not counted. Divided by the
# phase's ops (results.tsv; list-10k: the listings named in its note) this gives pg_cpu per
# request (per GiB for 64 MiB, per full listing for list-10k).
day=$(date +%F)
awk -v tck="$TCK" -v day="$day" -v run="$(awk 'NR==1 && /^# run /{print $3}' "$OUT/results.tsv")" '
  FNR == 1 { file++ }
  file == 1 { if ($1 ~ /^[0-9]+$/) { ns++; st[ns] = $1; v["n1", ns] = $2; v["n2", ns] = $3; v["n3", ns] = $4; v["other", ns] = $5 } next }
  file == 2 {  # load.log: HH:MM:SS rep=R COL SCEN load=…
    cmd = "date -d \"" day " " $1 "\" +%s"; cmd | getline t; close(cmd)
    np++; pt[np] = t; prep[np] = substr($2, 5); pcol[np] = $3; pscen[np] = $4; next }
  file == 3 {
    if ($0 ~ /^#/) next
    if ($5 == "ops") ops[$2, $3, $4] = $6
    if ($5 == "list_s" && match($0, /median of [0-9]+ full listings/)) { split(substr($0, RSTART, RLENGTH), w, " "); ops[$2, $3, $4] = w[3] }
    next }
  function at(col, t,   i, r) { r = v[col, 1]; for (i = 1; i <= ns; i++) { if (st[i] > t) break; r = v[col, i] } return r }
  END {
    lastt = st[ns] + 1
    for (i = 1; i <= np; i++) {
      c = pcol[i]; if (!((c, 1) in v)) continue
      t1 = lastt
      for (j = i + 1; j <= np; j++) if (pcol[j] == c) { t1 = pt[j]; break }
      cpu = (at(c, t1) - at(c, pt[i])) / tck
      o = ops[prep[i], c, pscen[i]]; if (o <= 0) continue
      s = pscen[i]
      if (s ~ /64m/) { val = cpu / (o * 64 / 1024); m = "pg_cpu_s_per_GiB"; u = "cpu-s/GiB" }
      else if (s ~ /^list/) { val = cpu / o * 1e3; m = "pg_cpu_ms_per_list"; u = "cpu-ms" }
      else { val = cpu / o * 1e6; m = "pg_cpu_us_per_op"; u = "cpu-us/op" }
      printf "%s\t%s\t%s\t%s\t%s\t%.6g\t%s\t%s\n", run, prep[i], c, s, m, val, u, "PostgreSQL CPU (user+sys, this database) per request, from /proc"
    }
    printf "# pg_other_cpu_s\t%.2f\t(postmaster, WAL writer, checkpointer, … over the whole run)\n", (v["other", ns] - v["other", 1]) / tck
  }' "$OUT/pg-cpu.tsv" "$OUT/load.log" "$OUT/results.tsv" >"$OUT/pg-rows.tsv"
cat "$OUT/results.tsv" "$OUT/pg-rows.tsv" >"$OUT/results-pg.tsv"
"$OUT/s3bench" report -base n1 "$OUT/results-pg.tsv" >"$OUT/report-pg.md"
echo
cat "$OUT/env.txt"
echo
cat "$OUT/report-pg.md"
grep '^# pg_other' "$OUT/pg-rows.tsv" || true
echo
echo "outputs: $OUT (report-pg.md, results-pg.tsv, env.txt, logs/)"
