#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""compare.py - before and after: two hakmem release libraries under every
benchmark of make bench, in the same session; or hakmem against one other
allocator the same way.

    bench/compare.py BASE_DIR HEAD_DIR BASE_NAME   (make bench-compare)
    bench/compare.py --vs ALLOCATOR HEAD_DIR       (make bench-vs VS=...)

BASE_DIR and HEAD_DIR are release build directories (libhakmem.so,
bench/); both libraries are copied to a private directory first, and both
run under HEAD_DIR's programs, so the library is the only difference.
BASE_NAME says what the base is (a git revision) in the report.  With
--vs the base is ALLOCATOR (glibc, mimalloc, jemalloc or tcmalloc, as
make bench finds it): the pair figure is then hakmem / ALLOCATOR, the
issue-14 targets' ratio with an interval instead of a single run's
medians, and the report goes to its own section.

Each benchmark runs under LD_PRELOAD of each library, BENCH_REPS times
(default 11), interleaved and in alternating order (base, head; head,
base; ...) so that a machine that speeds up or slows down during a pair
favours neither.  The figure of a pair is head / base (throughput; above
1 is faster), and a benchmark's verdict comes from the distribution of its
pairs: the median, and a 95% confidence interval for that median from the
order statistics (the sign test's interval: distribution-free, so a few
wild runs on a noisy machine move it little).  "slower" means the whole
interval lies below 1, "faster" above 1, "within noise" that it contains 1.

BENCH_HEAD_ENV ("VAR=value ...") is set for the head's runs only: with
BASE_DIR the same build as HEAD_DIR it measures what a setting costs, e.g.
the heap profiler (make bench-compare BASE=HEAD
BENCH_HEAD_ENV=HAKMEM_PROFILE=/tmp/p.heap).

Writes the section between the bench-compare markers of docs/BENCHMARKS.md.
Environment: BENCH_REPS (11), BENCH_ONLY, BENCH_SCALE, BENCH_THREADS,
BENCH_HEAD_ENV.
Exit status: 0, or 1 when a run failed or did not prove hakmem served it
(the verdicts do not change it: wall time is a statement, not a test).
"""

import datetime
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

from suite import (ALLOCATORS, COMPARE_BEGIN, COMPARE_END, COMPARE_HEADING,
    Config, VS_BEGIN, VS_END, VS_HEADING, env_num, say, warn)
from runner import find_allocators, lib_copy, run_one, snapshot
from report import md_table, run_note, write_doc_section

USAGE = ("usage: bench/compare.py BASE_DIR HEAD_DIR BASE_NAME\n"
         "       bench/compare.py --vs ALLOCATOR HEAD_DIR")
LEVEL = 0.95


def median_ci(v):
    """(lo, hi): the order statistics that bound the median of v with
    confidence LEVEL or more (binomial(n, 1/2) tails); None when n is too
    small for any such interval (n < 6)."""
    v = sorted(v)
    n = len(v)
    # largest k with P(Bin(n, 1/2) < k) <= (1 - LEVEL) / 2: [v[k-1], v[n-k]]
    tail, k, acc = (1 - LEVEL) / 2, 0, 0.0
    while k < n:
        acc_next = acc + math.comb(n, k) / 2 ** n
        if acc_next > tail:
            break
        acc, k = acc_next, k + 1
    if k == 0:
        return None
    return v[k - 1], v[n - k]


def verdict(ci):
    if ci is None:
        return "too few runs"
    lo, hi = ci
    if hi < 1:
        return "slower"
    if lo > 1:
        return "faster"
    return "within noise"


def head_env():
    """{VAR: value} from BENCH_HEAD_ENV."""
    env = {}
    for w in os.environ.get("BENCH_HEAD_ENV", "").split():
        k, eq, v = w.partition("=")
        if not eq or not k:
            sys.exit(f"compare: BENCH_HEAD_ENV: {w!r} is not VAR=value")
        env[k] = v
    return env


def run_with(env, fn):
    """fn() with os.environ extended by env (the runner copies
    os.environ into each run), restored after."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return fn()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fmt(x, digits=3):
    return "n/a" if x is None else f"{x:.{digits}f}"


def main(argv):
    if len(argv) != 3:
        print(USAGE, file=sys.stderr)
        return 2
    vs = argv[1] if argv[0] == "--vs" else None
    if vs and vs not in ALLOCATORS[1:]:
        sys.exit(f"compare: --vs {vs}: one of {' '.join(ALLOCATORS[1:])}")
    base_dir, head_dir, base_name = (None, argv[2], vs) if vs else argv
    base_alloc = vs or "hakmem"
    cfg = Config()
    reps = env_num("BENCH_REPS", 11, int, 1)
    henv = head_env()
    load0 = "%.2f %.2f %.2f" % os.getloadavg()
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    build = snapshot(os.path.abspath(head_dir))
    tmp = tempfile.mkdtemp(prefix="hakmem-compare-")
    failed, results = [], []
    t0 = time.monotonic()
    try:
        libs = {"head": lib_copy(head_dir, tmp, "head", "compare")}
        if vs:
            cfg.allocators = [vs]
            found, gaps = find_allocators(cfg, head_dir)
            if vs not in found:
                sys.exit(f"compare: {vs}: {gaps.get(vs, 'not found')}")
            libs["base"] = found[vs]
        else:
            libs["base"] = lib_copy(base_dir, tmp, "base", "compare")
        for b in cfg.benches:
            timeout = 300 * max(1.0, cfg.scale)
            got = {"base": [], "head": []}
            sys_s = {"base": [], "head": []}
            for rep in range(1, reps + 1):
                order = ("base", "head") if rep % 2 else ("head", "base")
                for w in order:
                    alloc = "hakmem" if w == "head" else base_alloc
                    row = run_with(henv if w == "head" else {},
                                   lambda: run_one(b, cfg, build, alloc,
                                                   libs[w], rep, timeout))
                    if row["status"] != "ok":
                        failed.append(f"{b.name} rep {rep}, {w}: "
                                      f"{row['detail']}")
                        got[w].append(None)
                    else:
                        got[w].append(float(row["ops_per_sec"]))
                        sys_s[w].append(float(row["sys_s"]))
            pairs = [h / a for a, h in zip(got["base"], got["head"])
                     if a and h]
            ok = {w: [x for x in got[w] if x] for w in got}
            med = {w: statistics.median(ok[w]) if ok[w] else None
                   for w in ok}
            pm = statistics.median(pairs) if pairs else None
            ci = median_ci(pairs) if pairs else None
            sysm = {w: statistics.median(sys_s[w]) if sys_s[w] else None
                    for w in sys_s}
            results.append((b, med, pm, ci, verdict(ci), pairs, sysm))
            say(f"compare: {b.name:20} "
                f"{'hakmem/' + vs if vs else 'head/base'} median {fmt(pm)} "
                f"[{fmt(ci[0]) if ci else 'n/a'}, "
                f"{fmt(ci[1]) if ci else 'n/a'}] {verdict(ci)}")
    finally:
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    minutes = (time.monotonic() - t0) / 60
    load1 = "%.2f %.2f %.2f" % os.getloadavg()

    bn, hn = (vs, "hakmem") if vs else ("base", "head")
    head = ["benchmark", f"{bn} ops/s (median)", f"{hn} ops/s (median)",
            f"{hn} / {bn}, pair median",
            f"{LEVEL:.0%} interval", "pairs min-max", "verdict"]
    if vs:
        head += [f"sys s: hakmem / {vs} (medians)"]
    rows = []
    for b, med, pm, ci, v, pairs, sysm in results:
        extra = [f"{fmt(sysm['head'], 3)} / {fmt(sysm['base'], 3)}"] \
            if vs else []
        rows.append([b.name,
                     f"{med['base']:.4g}" if med["base"] else "FAIL",
                     f"{med['head']:.4g}" if med["head"] else "FAIL",
                     fmt(pm),
                     f"{fmt(ci[0])}-{fmt(ci[1])}" if ci else "n/a",
                     f"{fmt(min(pairs))}-{fmt(max(pairs))}" if pairs
                     else "n/a", v] + extra)
    slower = [r[0] for r in rows if r[6] == "slower"]
    few = [r[0] for r in rows if r[6] == "too few runs"]
    than = f" than {vs}" if vs else ""
    summary = (f"No benchmark is slower{than} beyond its noise." if not slower
               else f"Slower{than} beyond the noise: " + ", ".join(slower)
               + ".")
    if few:
        summary += (" Too few pairs for an interval (6 or more needed): "
                    + ", ".join(few) + ".")
    say("")
    say(md_table(head, rows, text_cols=1))
    say(summary)
    begin, end, heading, what = (VS_BEGIN, VS_END, VS_HEADING, "vs") \
        if vs else (COMPARE_BEGIN, COMPARE_END, COMPARE_HEADING, "compare")
    if vs:
        intro = (run_note("bench-vs", when, minutes, load0, load1)
                 + f".  hakmem (the working tree's release library) "
                 f"against {vs}, under the same programs, interleaved in "
                 f"alternating order, {reps} pairs per benchmark.  A "
                 f"pair's figure is hakmem / {vs} throughput (above 1 is "
                 "faster)")
    else:
        intro = (run_note("bench-compare", when, minutes, load0, load1)
                 + f".  Base: `{base_name}`; head: the working tree"
                 + (f", run with `{' '.join(f'{k}={v}' for k, v in henv.items())}`"
                    if henv else "") + ".  Both "
                 "release libraries under the same programs (the head's), "
                 f"interleaved in alternating order, {reps} pairs per "
                 "benchmark.  A pair's figure is head / base throughput "
                 "(above 1 is faster)")
    body = [begin, "",
            intro + "; the interval is a distribution-free "
            f"{LEVEL:.0%} confidence interval for the median pair (sign "
            "test), and the verdict is \"slower\" only when all of it "
            "lies below 1." + ("" if failed else
                               "  Every run proved `hakmem=1`."), "",
            md_table(head, rows), "", summary, ""]
    body += [f"- FAIL: {f}" for f in failed]
    if failed:
        body.append("")
    body.append(end)
    write_doc_section("\n".join(body), begin, end, heading, what)
    for f in failed:
        warn(f"FAIL: {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
