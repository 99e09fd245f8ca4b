#!/usr/bin/env python3
"""CPU of the PostgreSQL clusters of a benchmark run (scripts/bench-postgres.sh).

The postmaster's backends put themselves in process groups of their own, so
compare.sh's per-group server CPU (srv_cpu_*) does not include them. This
measures them from /proc instead:

  bench-pgcpu.py sample OUT    every 0.25 s, for each OUT/NAME/data/pg.pid,
                               append "time NAME cpu_seconds" to OUT/pgcpu.tsv:
                               the postmaster's own and reaped children's CPU
                               (utime+stime+cutime+cstime) plus that of its
                               live children (backends, WAL writer, ...)
  bench-pgcpu.py report OUT    attribute it to the phases of OUT/run.log and
                               print, per server and scenario, the database's
                               CPU per request next to the node's (srv_cpu_*),
                               medians over the repetitions

A phase's window runs from its run.log line to the next one (+1 s: run.log
has whole seconds); compare.sh runs one phase at a time and sleeps between
them, so a cluster is idle outside its own server's phases apart from the
node's listener heartbeats, which the window's idle seconds add (a few
microseconds per request, counted against the node: a slight overestimate).
"""
import glob, os, sys, time, statistics, collections, datetime

TCK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    # rest[0]=state [1]=ppid ... [11]=utime [12]=stime [13]=cutime [14]=cstime
    return int(rest[1]), [int(x) for x in rest[11:15]]


def cluster_cpu(pm):
    ppid, t = stat(pm)
    total = sum(t)
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            pp, c = stat(e)
        except (OSError, ValueError):
            continue
        if pp == pm:
            total += c[0] + c[1]
    return total / TCK


def sample(out):
    path = os.path.join(out, "pgcpu.tsv")
    while True:
        lines = []
        for pidf in glob.glob(os.path.join(out, "*", "data", "pg.pid")):
            name = pidf.split(os.sep)[-3]
            try:
                pm = int(open(pidf).read().strip())
                lines.append(f"{time.time():.3f}\t{name}\t{cluster_cpu(pm):.3f}\n")
            except (OSError, ValueError):
                pass
        if lines:
            with open(path, "a") as f:
                f.writelines(lines)
        time.sleep(0.25)


def report(out):
    samples = collections.defaultdict(list)  # name -> [(t, cpu)]
    for ln in open(os.path.join(out, "pgcpu.tsv")):
        t, n, c = ln.split("\t")
        samples[n].append((float(t), float(c)))
    # run.log: "[HH:MM:SS] rep R: NAME SCENARIO" (and ceilings, setup, ...)
    day = datetime.datetime.fromtimestamp(min(s[0][0] for s in samples.values())).date()
    marks = []
    for ln in open(os.path.join(out, "run.log")):
        if not ln.startswith("["):
            continue
        hms, msg = ln[1:9], ln[11:].strip()
        t = datetime.datetime.combine(day, datetime.time.fromisoformat(hms)).timestamp()
        marks.append((t, msg))
    res = collections.defaultdict(dict)  # (rep, server, scen) -> metric -> value
    for ln in open(os.path.join(out, "results.tsv")):
        if ln.startswith("#"):
            continue
        f = ln.rstrip("\n").split("\t")
        if len(f) >= 6:
            try:
                res[(f[1], f[2], f[3])][f[4]] = float(f[5])
            except ValueError:
                pass

    def cpu_at(name, t):
        best = None
        for ts, c in samples[name]:
            if ts <= t:
                best = c
            else:
                return best if best is not None else c
        return best

    rows = collections.defaultdict(list)  # (server, scen) -> [(db_per_op, node_per_op)]
    for i, (t, msg) in enumerate(marks):
        if not msg.startswith("rep ") or i + 1 >= len(marks):
            continue
        rep, rest = msg[4:].split(": ", 1)
        parts = rest.split()
        if len(parts) != 2 or parts[0] not in samples:
            continue
        name, scen = parts
        t1 = marks[i + 1][0] + 1
        db = cpu_at(name, t1) - cpu_at(name, t)
        r = res.get((rep, name, scen), {})
        ops = r.get("ops")
        if not ops:
            continue
        node = r.get("srv_cpu_us_per_op", r.get("srv_cpu_ms_per_list"))
        rows[(name, scen)].append((db / ops, node))
    print("| server | scenario | node CPU | db CPU | node+db CPU | reps |")
    print("|---|---|---|---|---|---|")
    for (name, scen), v in sorted(rows.items()):
        unit, k = ("ms/listing", 1e3) if scen == "list-10k" else ("µs/req", 1e6)
        db = statistics.median(x[0] * k for x in v)
        nodes = [x[1] for x in v if x[1] is not None]
        node = statistics.median(nodes) if nodes else float("nan")
        tot = statistics.median(x[0] * k + x[1] for x in v if x[1] is not None) if nodes else float("nan")
        print(f"| {name} | {scen} | {node:.0f} {unit} | {db:.0f} {unit} | {tot:.0f} {unit} | {len(v)} |")


if __name__ == "__main__":
    {"sample": sample, "report": report}[sys.argv[1]](sys.argv[2])
