#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scaling.py - does the cost of one operation grow with the number of
threads?  Larson and xthread at 1, 2, 4 and 8 threads under hakmem and the
four anchors (glibc, mimalloc, jemalloc, tcmalloc), as bench/bench.py finds
or installs them.

    bench/scaling.py BUILD_DIR    (make bench-scaling)

BUILD_DIR is a release build directory (libhakmem.so, bench/); it is
copied to a private directory first, as in make bench.

Two figures per benchmark, allocator and thread count T:

- ns per operation: wall time, 1e9 / the program's ops_per_sec (all
  threads together), the median of BENCH_REPS runs (3), interleaved run
  by run (hakmem, glibc, ...; every T; again).  Larson is `larson 5S 8
  1000 5000 100 4141 T`, xthread `xthread S T`, S = BENCH_SCALE (0.4:
  Larson sleeps 2 s, xthread passes 4 M blocks per pair).  On a machine
  with fewer cpus than T, or with other load, this is mostly noise.

- instructions per operation: callgrind (valgrind --tool=callgrind
  --fair-sched=yes --callgrind-out-file=/dev/null; valgrind runs one
  thread at a time, which does not change the work counted).  Each case
  runs twice, at two lengths (Larson sleeping 0 s, which does the
  one-time work and hardly any operations, and 2 s; xthread passing
  200 k and 400 k blocks per pair), and (Ir of the longer run - Ir of
  the shorter) / (its ops - the shorter's) is the cost of the operations
  the longer run added: start-up, Larson's filling and emptying of T x
  5000 blocks and every other one-time cost cancel out.  (Larson's
  operations under valgrind depend on the CPU time it gets: on a busy
  machine a 2 s run can do fewer than a 1 s one, hence 0 s.)
  Deterministic but for xthread's spin-waits (a few Ir per op).

One operation is Larson's replacement (one free and one malloc) and
xthread's block passed (a malloc by the producer and a remote free by the
consumer).  xthread needs two threads (a producer and a consumer), so it
is not run at T = 1; T threads are T/2 pairs.  Prints the tables and, for
each allocator, the ratio of the cost at the largest T to that at T = 2,
and writes them into docs/BENCHMARKS.md between the bench-scaling markers.

Lock acquisitions per million operations: each of LOCK_BENCHES at every
T, once, under hakmem with HAKMEM_STATS=1, whose exit report has a line
per global lock (debug/lockstat.c: "hakmem: lock NAME acquired=N
contended=M"); N and M over the run's ops, times a million.  Start-up
and exit are in the count (a handful of acquisitions: noise at these
lengths).  HAKMEM_STATS sends every malloc and free through the slow
path, which takes the same locks as the fast paths' refills do; it makes
the run slower, so contended is a lower bound of what a full-speed run
sees.  The most frequently taken lock per op, over every benchmark and T,
is named under the table: the first to saturate as threads are added.

Every hakmem run, timed, counted or under callgrind, must print hakmem=1,
every other run hakmem=0.  Environment: BENCH_THREADS_LIST ("1 2 4 8"),
BENCH_REPS (3), BENCH_SCALE (0.4), BENCH_ALLOCATORS, BENCH_INSTALL.  Exit
status 0, or 1 when a hakmem run failed or did not prove itself; another
allocator's failure is a gap in the table with its reason.
"""

import copy
import datetime
import os
import re
import shutil
import statistics
import sys
import time

from suite import (ALLOC_PACKAGES, BENCH_BY_NAME, Config, SCALING_BEGIN,
    SCALING_END, SCALING_HEADING, env_num, say, warn)
from runner import (command_for, describe_status, display_cmd, find_allocators,
    parse_result, run_one, run_proc, snapshot)
from report import fmt3, gap_lines, md_table, run_note, write_doc_section
from instr import need_callgrind

USAGE = "usage: bench/scaling.py BUILD_DIR"
# callgrind's two lengths as BENCH_SCALEs: Larson sleeps 5S s, xthread
# passes 1e7 S blocks per pair
CG_SCALES = {"larson": (0, 0.4), "xthread": (0.02, 0.04)}
VALGRIND = ["valgrind", "--tool=callgrind", "--fair-sched=yes",
            "--callgrind-out-file=/dev/null"]
FLAT = 0.10		# "flat": the largest T's cost within 10% of T = 2's
# the lock-count runs: benchmark and its BENCH_SCALE (about 1 s each)
LOCK_BENCHES = (("larson", 0.2), ("xthread", 0.1), ("xfree-random", 0.1),
                ("prodcons", 0.1), ("transient", 0.2), ("churn", 0.2))
LOCK_RE = re.compile(r"^hakmem: lock (\S+) acquired=(\d+) contended=(\d+)$",
                     re.M)


def thread_list():
    raw = os.environ.get("BENCH_THREADS_LIST", "").replace(",", " ")
    try:
        ts = sorted({int(x) for x in raw.split()}) or [1, 2, 4, 8]
    except ValueError:
        sys.exit(f"scaling: BENCH_THREADS_LIST={raw!r}: want numbers")
    if ts[0] < 1:
        sys.exit("scaling: BENCH_THREADS_LIST: want at least 1 thread")
    return ts


def runs_at(bench, t):
    """xthread's smallest run is one pair, two threads."""
    return t >= 2 or bench.name != "xthread"


def at(cfg, threads, scale):
    c = copy.copy(cfg)
    c.threads, c.scale = threads, scale
    return c


def timed(cfg, benches, ts, build, libs, reps):
    """{(bench, T, allocator): [row, ...]} of the interleaved wall-time
    runs; prints a line per (rep, bench, T)."""
    rows = {}
    for rep in range(1, reps + 1):
        for b in benches:
            for t in ts:
                if not runs_at(b, t):
                    continue
                line = []
                for a, lib in libs.items():
                    row = run_one(b, at(cfg, t, cfg.scale), build, a, lib,
                                    rep, 300 * max(1.0, cfg.scale))
                    rows.setdefault((b.name, t, a), []).append(row)
                    line.append(f"{a} " + (
                        f"{1e9 / float(row['ops_per_sec']):.1f}"
                        if row["status"] == "ok" else "FAIL"))
                say(f"scaling: [{rep}/{reps}] {b.name:8} T={t:<2} "
                      f"ns/op: " + ", ".join(line))
                for a in libs:
                    r = rows[(b.name, t, a)][-1]
                    if r["status"] != "ok":
                        say(f"      | {a}: {r['detail']}")
    return rows


def callgrind_run(bench, cfg, build, alloc, lib):
    """(Ir, ops) of one run under callgrind; RuntimeError says why not."""
    argv, env = command_for(bench, cfg, build, alloc, lib)
    status, out, err, _ = run_proc(VALGRIND + argv, env, 600)
    if status != 0:
        raise RuntimeError(f"callgrind {describe_status(status)}: "
                           + " / ".join(err.strip().splitlines()[-3:]))
    res = parse_result(bench.prefix, out)
    want = "1" if alloc == "hakmem" else "0"
    if not res or res.get("hakmem") != want:
        raise RuntimeError(f"hakmem={res.get('hakmem') if res else '?'}"
                           + (": hakmem NOT PROVEN" if want == "1" else ""))
    m = re.search(r"^==\d+== Collected : (\d+)$", err, re.M)
    if not m or not res.get("ops", "").isdigit():
        raise RuntimeError("no 'Collected' line or no ops= in the output")
    return int(m.group(1)), int(res["ops"])


def counted(cfg, benches, ts, build, libs):
    """{(bench, T, allocator): Ir per op} of the added operations, and the
    failures as strings."""
    res, failed = {}, []
    for b in benches:
        for t in ts:
            if not runs_at(b, t):
                continue
            for a, lib in libs.items():
                try:
                    (ir1, n1), (ir2, n2) = (
                        callgrind_run(b, at(cfg, t, s), build, a, lib)
                        for s in CG_SCALES[b.name])
                    if n2 <= n1:
                        raise RuntimeError(f"the longer run did {n2} ops, "
                                           f"the shorter {n1}")
                except RuntimeError as e:
                    failed.append(f"{b.name} T={t} under {a}, callgrind: "
                                  f"{e}")
                    say(f"scaling: {b.name:8} T={t:<2} {a:9} FAIL: {e}")
                    continue
                res[(b.name, t, a)] = (ir2 - ir1) / (n2 - n1)
                say(f"scaling: {b.name:8} T={t:<2} {a:9} "
                      f"{res[(b.name, t, a)]:7.1f} Ir/op "
                      f"(all of the longer run: {ir2 / n2:.1f} Ir/op, "
                      f"{n2} ops)")
    return res, failed


def lock_counts(cfg, ts, build, lib):
    """{(bench, T): (ops, {lock: (acquired, contended)})} of one
    HAKMEM_STATS=1 run each, and the failures as strings."""
    res, failed = {}, []
    for name, scale in LOCK_BENCHES:
        b = BENCH_BY_NAME[name]
        for t in ts:
            if not runs_at(b, t):
                continue
            argv, env = command_for(b, at(cfg, t, scale), build, "hakmem",
                                    lib)
            env["HAKMEM_STATS"] = "1"
            status, out, err, _ = run_proc(argv, env, 600)
            r = parse_result(b.prefix, out)
            why = None
            if status != 0:
                why = describe_status(status)
            elif not r or r.get("hakmem") != "1":
                why = "hakmem NOT PROVEN"
            elif not r.get("ops", "").isdigit() or not int(r["ops"]):
                why = "no ops= in the result line"
            elif not LOCK_RE.search(err):
                why = "no 'hakmem: lock' line in the HAKMEM_STATS report"
            if why:
                failed.append(f"{name} T={t} under hakmem, HAKMEM_STATS=1: "
                              f"{why}")
                say(f"scaling: locks {name:12} T={t:<2} FAIL: {why}")
                continue
            locks = {m.group(1): (int(m.group(2)), int(m.group(3)))
                     for m in LOCK_RE.finditer(err)}
            res[(name, t)] = (int(r["ops"]), locks)
            say(f"scaling: locks {name:12} T={t:<2} " + ", ".join(
                f"{k} {1e6 * v[0] / int(r['ops']):.0f}"
                for k, v in sorted(locks.items())) + " per M ops")
    return res, failed


def lock_table(counts, ts):
    """Markdown: a row per (benchmark, lock), acquisitions (contended) per
    million ops per T; and the words naming the busiest lock."""
    rows, top = [], None
    for name, _ in LOCK_BENCHES:
        names = sorted({k for (b, _t), (_o, locks) in counts.items()
                        if b == name for k in locks})
        for lock in names:
            r = [name, lock]
            for t in ts:
                if (name, t) not in counts:
                    r.append("-")
                    continue
                ops, locks = counts[(name, t)]
                acq, cont = locks.get(lock, (0, 0))
                rate = 1e6 * acq / ops
                r.append(f"{fmt3(rate) if rate else '0'} "
                         f"({fmt3(1e6 * cont / ops) if cont else '0'})")
                if top is None or rate > top[0]:
                    top = (rate, lock, name, t)
            rows.append(r)
    header = ["benchmark", "lock"] + [f"T={t}" for t in ts]
    words = ("the most frequently taken lock per operation: "
             f"{top[1]}, {fmt3(top[0])} acquisitions per million ops "
             f"({top[2]} at T={top[3]})" if top else
             "no lock counts measured")
    return md_table(header, rows, 2), words


def ns_cell(rows):
    """(median ns/op text, its value or None)."""
    ns = sorted(1e9 / float(r["ops_per_sec"]) for r in rows
                if r["status"] == "ok")
    if not ns:
        return "FAIL", None
    med = statistics.median(ns)
    text = f"{fmt3(med)} ({fmt3(ns[0])}-{fmt3(ns[-1])})"
    if len(ns) < len(rows):
        text += f" [{len(rows) - len(ns)}/{len(rows)} failed]"
    return text, med


def table(benches, ts, allocs, cell, lo, hi):
    """Markdown rows (bench, allocator, a cell per T, hi / lo) from
    cell(bench, T, allocator) -> (text, value or None); and the ratios."""
    rows, ratios = [], {}
    for b in benches:
        for a in allocs:
            r, v = [b.name, a], {}
            for t in ts:
                text, v[t] = cell(b, t, a) if runs_at(b, t) else ("-", None)
                r.append(text)
            if v.get(lo) and v.get(hi):
                ratios[(b.name, a)] = v[hi] / v[lo]
                r.append(f"{ratios[(b.name, a)]:.2f}")
            else:
                r.append("n/a")
            rows.append(r)
    header = ["benchmark", "allocator"] + [f"T={t}" for t in ts] + \
        [f"T={hi} / T={lo}"]
    return md_table(header, rows, 2), ratios


def flat_words(ratios, benches):
    """Which benchmarks' hakmem instruction counts stay flat."""
    words = []
    for b in benches:
        r = ratios.get((b.name, "hakmem"))
        if r is not None:
            words.append(f"{b.name} {r:.2f} ("
                         + ("flat" if abs(r - 1) <= FLAT else "NOT flat")
                         + f", within {FLAT:.0%} being flat)")
    return "; ".join(words)


def main(argv):
    if len(argv) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    cfg = Config()
    cfg.scale = env_num("BENCH_SCALE", 0.4, float)
    reps = env_num("BENCH_REPS", 3, int, 1)
    ts = thread_list()
    lo = 2 if 2 in ts else ts[0]
    hi = ts[-1]
    benches = [BENCH_BY_NAME["larson"], BENCH_BY_NAME["xthread"]]
    need_callgrind(cfg, [ALLOC_PACKAGES[a][0] for a in cfg.allocators
                           if a in ALLOC_PACKAGES])
    load0 = "%.2f %.2f %.2f" % os.getloadavg()
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    build = snapshot(os.path.abspath(argv[0]))
    try:
        libs, gaps = find_allocators(cfg, build)
        for a, why in gaps.items():
            say(f"scaling: SKIP {a}: {why}")
        say(f"scaling: larson and xthread at T = {' '.join(map(str, ts))} "
              f"under {' '.join(libs)}; {reps} timed runs each, then "
              "callgrind")
        t0 = time.monotonic()
        rows = timed(cfg, benches, ts, build, libs, reps)
        cg, failed = counted(cfg, benches, ts, build, libs)
        locks = {}
        if "hakmem" in libs:
            locks, lfailed = lock_counts(cfg, ts, build, libs["hakmem"])
            failed += lfailed
        minutes = (time.monotonic() - t0) / 60
        load1 = "%.2f %.2f %.2f" % os.getloadavg()
    finally:
        shutil.rmtree(build, ignore_errors=True)

    failed += [f"{k[0]} T={k[1]} under {k[2]}, rep {r['rep']}: "
               f"{r['detail']}" for k, v in rows.items() for r in v
               if r["status"] != "ok"]
    allocs = list(libs)
    ir_table, ir_ratios = table(
        benches, ts, allocs,
        lambda b, t, a: (f"{cg[(b.name, t, a)]:.1f}", cg[(b.name, t, a)])
        if (b.name, t, a) in cg else ("FAIL", None), lo, hi)
    ns_table, _ = table(benches, ts, allocs,
                        lambda b, t, a: ns_cell(rows[(b.name, t, a)]),
                        lo, hi)
    verdict = f"for hakmem, instructions per op at T={hi} / T={lo}: " \
        + (flat_words(ir_ratios, benches) or "none measured")
    say("")
    say(f"instructions per op (callgrind; load average {load0} at the "
          f"start, {load1} at the end, {minutes:.1f} min)")
    say(ir_table)
    say("")
    say(f"ns per op, wall time: median (min-max) of {reps}")
    say(ns_table)
    lk_table, lk_words = lock_table(locks, ts)
    say("")
    say(verdict)
    say("")
    say("hakmem's global lock acquisitions (contended) per million ops, "
        "HAKMEM_STATS=1")
    say(lk_table)
    say(lk_words)

    tcfg = at(cfg, "T", cfg.scale)
    cmds = [f"`{display_cmd(b, tcfg)}`" for b in benches]
    cg_cmds = [" and ".join(
        f"`{' '.join(VALGRIND[:3])} "
        f"{display_cmd(b, at(cfg, 'T', s))}`"
        for s in CG_SCALES[b.name]) for b in benches]
    body = [SCALING_BEGIN, "",
            run_note("bench-scaling", when, minutes, load0, load1)
            + ".  Does the cost of one operation grow with the number "
            "of threads (and with the superslabs they use)?  One "
            "operation is a Larson replacement (a free and a malloc) or an "
            "xthread block passed (a malloc and a remote free); lower is "
            "better, and a ratio near 1.00 in the last column is flat.  "
            "xthread needs a producer and a consumer, so it has no T=1 "
            "run; T threads are T/2 pairs."
            + ("" if failed else "  Every hakmem run, timed or counted, "
               "proved `hakmem=1`."),
            "",
            "Instructions per operation: callgrind runs each case at two "
            f"lengths ({cg_cmds[0]}; {cg_cmds[1]}) and divides the "
            "difference in instructions by the difference in operations, "
            "so that start-up, Larson's filling and emptying of T x 5000 "
            "blocks and every other one-time cost cancel out.  valgrind "
            "runs one thread at a time: the count is the work done, "
            "without contention or cache misses.", "",
            ir_table, "",
            f"{verdict[0].upper()}{verdict[1:]}.", "",
            f"ns per operation, wall time (1e9 / ops_per_sec, all threads "
            f"together): median (min-max) of {reps} runs of {cmds[0]} and "
            f"{cmds[1]}, interleaved.  With more threads than cpus, or "
            "other load on the machine, this is mostly the scheduler's "
            "figure, not the allocator's.", "",
            ns_table, "",
            "hakmem's global locks: acquisitions per million operations, "
            "with those that found the lock held (pthread_mutex_trylock "
            "failed, so the thread waited) in brackets; one run per case "
            "with `HAKMEM_STATS=1`, whose exit report counts every "
            "hak_lock() (debug/lockstat.c), at BENCH_SCALE "
            + ", ".join(f"{s:g} ({n})" for n, s in LOCK_BENCHES) + ".  "
            "Start-up and exit are counted too.  `HAKMEM_STATS` routes "
            "every malloc and free through the slow path, which takes the "
            "same locks as the fast paths' refills but runs slower, so the "
            "contended figures are a lower bound.  A lock's acquisitions "
            "per second at full speed are this rate times the benchmark's "
            "ops per second (the ns per op above for larson and xthread, "
            "the throughput tables for the others) over a million; a "
            "global mutex whose line moves between cores serves a few "
            "million acquisitions per second at most.", "",
            lk_table, "",
            f"{lk_words[0].upper()}{lk_words[1:]}.", ""]
    body += gap_lines(gaps, failed)
    body.append(SCALING_END)
    write_doc_section("\n".join(body), SCALING_BEGIN, SCALING_END,
                        SCALING_HEADING, "scaling")
    bad = [f for f in failed if "under hakmem" in f]
    for f in bad:
        warn(f"FAIL: {f}")
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
