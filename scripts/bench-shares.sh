#!/usr/bin/env bash
# bench-shares.sh — presigned 4 KiB GETs through tracked share links (audit
# on, as always) against plain presigned URLs of the same objects, on one
# postern, in one run (issue 20's benchmark; results in
# docs/performance.md, "Share links").
#
#   scripts/bench-shares.sh [-n OBJECTS] [-r REPS] [-d DURATION] [-u] [-p]
#
# Starts this checkout's postern (embedded SQLite, data in /tmp) on a free
# loopback port, loads OBJECTS (default 1000) 4 KiB objects with
# ../shared/bench's `s3bench setup`, writes one plain presigned URL per
# object (`s3bench presign`) and one share link per object (`postern share
# create`, unlimited uses), then alternates `s3bench urls` over the two
# files, plain shares shares plain, REPS times (default 2), each for
# DURATION (default 8s). It reports each phase's rate and the server's CPU
# per request (its process group, from /proc), the medians, the ratio
# shares/plain, and checks afterwards that the audit recorded every share
# request. Needs wrk (Debian's package) and the Go module proxy for s3bench.
#
# -u makes the share links as an IAM user (allowed s3:GetObject and
#    postern:CreateShare on the bucket) instead of the root, so that each
#    request also looks the user up (needs the aws CLI).
# -p takes a CPU profile of the server (--debug-addr) over the first shares
#    phase and the first plain phase (OUT/shares.pprof, OUT/plain.pprof).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=${BENCH_DIR:-$ROOT/../shared/bench}
N=1000 REPS=2 DUR=8s USER_SHARES=0 PROFILE=0
while getopts n:r:d:up o; do
  case $o in
    n) N=$OPTARG ;; r) REPS=$OPTARG ;; d) DUR=$OPTARG ;;
    u) USER_SHARES=1 ;; p) PROFILE=1 ;;
    *) echo "usage: $0 [-n OBJECTS] [-r REPS] [-d DURATION] [-u] [-p]" >&2; exit 2 ;;
  esac
done
OUT=/tmp/sharebench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/data"
go build -o "$OUT/postern" ./cmd/postern
(cd "$BENCH" && go build -o "$OUT/s3bench" .)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(freeport) DPORT=$(freeport)
EP=http://127.0.0.1:$PORT
export AWS_ACCESS_KEY_ID=AKIASHAREBENCH000001 AWS_SECRET_ACCESS_KEY=sharebenchsecretsharebenchsecret00000001
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
POSTERN_ROOT_ACCESS_KEY=$AWS_ACCESS_KEY_ID POSTERN_ROOT_SECRET_KEY=$AWS_SECRET_ACCESS_KEY \
  setsid "$OUT/postern" server --data "$OUT/data" --listen "127.0.0.1:$PORT" --debug-addr "127.0.0.1:$DPORT" >"$OUT/server.log" 2>&1 &
PID=$!
trap 'kill -- -$PID 2>/dev/null || true' EXIT
"$OUT/s3bench" wait -endpoint "$EP" -timeout 60s >/dev/null
S=(-endpoint "$EP" -access-key "$AWS_ACCESS_KEY_ID" -secret-key "$AWS_SECRET_ACCESS_KEY")
"$OUT/s3bench" setup "${S[@]}" >"$OUT/setup.log"
"$OUT/s3bench" presign "${S[@]}" -n "$N" -expires 24h >"$OUT/plain.txt"
if ((USER_SHARES)); then
  # An IAM user that may read the bucket and share it; it makes the links.
  aws --endpoint-url "$EP" iam create-user --user-name sharebench >/dev/null
  aws --endpoint-url "$EP" iam put-user-policy --user-name sharebench --policy-name share \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","postern:CreateShare"],"Resource":"arn:aws:s3:::s3bench/*"}]}'
  read -r AK SK < <(aws --endpoint-url "$EP" iam create-access-key --user-name sharebench \
    --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
else
  AK=$AWS_ACCESS_KEY_ID SK=$AWS_SECRET_ACCESS_KEY
fi
: >"$OUT/shares.txt"
for ((i = 0; i < N; i++)); do
  AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK "$OUT/postern" share create "s3://s3bench/$(printf 'small/%05d' "$i")" --expires-in 24h \
    --note bench --endpoint-url "$EP" >>"$OUT/shares.txt"
done

cpu_ticks() { # user+system ticks of the server's process group
  local t=0 f
  for f in /proc/[0-9]*/stat; do
    { read -r -a s <"$f"; } 2>/dev/null || continue
    # field 5 (index 4 after the comm, assumed free of spaces) is the pgid
    [[ ${s[4]:-} == "$PID" ]] && t=$((t + s[13] + s[14]))
  done
  echo $t
}
HZ=$(getconf CLK_TCK)
phase() { # label file: one wrk run; prints label, ops/s, requests, errors, server CPU µs, load
  local c0 c1 out prof=
  if ((PROFILE)) && [[ ! -e $OUT/$1.pprof ]]; then
    curl -s -o "$OUT/$1.pprof" "http://127.0.0.1:$DPORT/debug/pprof/profile?seconds=${DUR%s}" &
    prof=$!
  fi
  c0=$(cpu_ticks)
  out=$("$OUT/s3bench" urls -file "$2" -label "$1" -d "$DUR")
  c1=$(cpu_ticks)
  [[ -z $prof ]] || wait "$prof"
  echo "$out" >>"$OUT/phases.tsv"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" \
    "$(awk -F'\t' '$2=="ops_per_s"{print $3}' <<<"$out")" \
    "$(awk -F'\t' '$2=="ops"{print $3}' <<<"$out")" \
    "$(awk -F'\t' '$2=="errors"{print $3}' <<<"$out")" \
    "$(((c1 - c0) * 1000000 / HZ))" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT/summary.tsv"
}
printf 'label\tops/s\trequests\terrors\tserver CPU µs\tload\n' | tee "$OUT/summary.tsv"
for ((r = 0; r < REPS; r++)); do
  phase plain "$OUT/plain.txt"
  phase shares "$OUT/shares.txt"
  phase shares "$OUT/shares.txt"
  phase plain "$OUT/plain.txt"
done
echo
python3 - "$OUT" <<'PY'
import sys, statistics, collections
out = sys.argv[1]
rows = collections.defaultdict(list)
for line in list(open(out + "/summary.tsv"))[1:]:
    label, ops, n, errs, cpu, load = line.rstrip("\n").split("\t")
    rows[label].append((float(ops), float(cpu) / max(float(n), 1), float(errs)))
med = {}
for label, rs in rows.items():
    med[label] = (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
    print(f"{label}: {med[label][0]:.0f} ops/s (each: {', '.join(f'{r[0]:.0f}' for r in rs)}), "
          f"server CPU {med[label][1]:.0f} µs/request, errors {sum(r[2] for r in rs):.0f}")
if "plain" in med and "shares" in med:
    print(f"shares/plain: rate {med['shares'][0] / med['plain'][0]:.2f}, CPU per request {med['shares'][1] / med['plain'][1]:.2f}")
PY
# The audit must have recorded every request made with a share: each was a
# counted 200, so the shares' uses add up to them once the recorder's
# batches are written (polled, up to a minute).
sent=$(awk -F'\t' '$1=="shares"{n+=$3} END{print n}' "$OUT/summary.tsv")
for ((t = 0; t < 60; t++)); do
  used=$("$OUT/postern" share list s3://s3bench/small/ --all --json --endpoint-url "$EP" |
    python3 -c 'import json,sys; print(sum(s.get("uses", 0) for s in json.load(sys.stdin)))')
  [[ $used -ge $sent ]] && break
  sleep 1
done
echo "requests made with shares: $sent; uses recorded from the audit: $used"
batches=$(curl -s "$EP/metrics" | awk '$1=="postern_share_audit_batches_total"{print $2}')
echo "audit batches (transactions): $batches, $(python3 -c "print(f'{$sent/max(float(\"${batches:-0}\"),1):.1f}')") rows per batch"
echo "(output in $OUT)"
