#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""checks.py - what hakmem's release-mode checks cost: the release library
as shipped (HAK_RELEASE_CHECKS=1) against the same sources built with
-DHAK_RELEASE_CHECKS=0 (hakmem/hak_internal.h), in the same session.

    bench/checks.py ON_DIR OFF_DIR    (make bench-checks)

ON_DIR and OFF_DIR are release build directories (libhakmem.so, bench/);
both libraries are copied to a private directory first, and both are
measured with ON_DIR's programs, so that the library is the only
difference.

Larson (`larson 5 8 1000 5000 100 4141 T`, as in make bench) under
LD_PRELOAD of each library, interleaved: on, off, on, off, ... BENCH_REPS
times each (default 9).  Every run must prove hakmem=1.  Prints each pair
of runs, then the median, minimum and maximum of each library and the
ratio of the medians, off / on, and says whether the medians are within 3%
of each other.  Wall time on a busy machine is noisy, so that is a
statement, not a verdict: the exit status does not depend on it.  The
load average at the start and at the end goes with the figures.

Then callgrind's instruction count per malloc+free pair of the tiny_hot
cases of make bench-instr, for both libraries: deterministic where the
wall time is not.

Writes the section between the bench-checks markers of docs/BENCHMARKS.md.
Environment: BENCH_REPS (9), BENCH_SCALE (1; Larson runs 5 s at 1),
BENCH_THREADS (max(2, cpus)), BENCH_INSTR_N (500000), BENCH_INSTALL.
Exit status: 0, or 1 when a run failed or did not prove hakmem served it.
"""

import datetime
import os
import shutil
import statistics
import sys
import tempfile
import time

from suite import (BENCH_BY_NAME, CHECKS_BEGIN, CHECKS_END, CHECKS_HEADING,
    Config, ROOT, env_num, say, warn)
from runner import display_cmd, lib_copy, progress, run_one, snapshot
from report import gap_lines, md_table, run_note, write_doc_section
from instr import INSTR_CASES, instr_case, need_callgrind

WITHIN = 0.03
USAGE = "usage: bench/checks.py ON_DIR OFF_DIR"


def larson(cfg, build, libs, reps):
    """Interleaved runs: {which: [row, ...]}; prints each pair."""
    larson_b = BENCH_BY_NAME["larson"]
    timeout = 300 * max(1.0, cfg.scale)
    rows = {w: [] for w in libs}
    say(f"checks: {display_cmd(larson_b, cfg)}, "
          f"LD_PRELOAD=each library, {reps} reps each, interleaved")
    for rep in range(1, reps + 1):
        line = []
        for w, lib in libs.items():
            row = run_one(larson_b, cfg, build, "hakmem", lib, rep,
                            timeout)
            rows[w].append(row)
            line.append(f"{w} {progress(row, larson_b)} "
                        f"(wall {row['wall_s']} s, cpu {row['cpu_s']} s)")
            if row["status"] != "ok" and row.get("_stderr"):
                line.append("\n".join("      | " + t for t in
                                      row["_stderr"].splitlines()))
        say(f"[{rep}/{reps}] " + "; ".join(line))
    return rows


def mops(rows, per_cpu):
    """Each run's Mops/s (per_cpu: Mops per CPU-second); None if failed."""
    v = []
    for r in rows:
        x = None
        if r["status"] == "ok":
            x = float(r["ops_per_sec"]) / 1e6
            if per_cpu:
                cpu = float(r["cpu_s"])
                x = x * float(r["seconds"] or 0) / cpu if cpu > 0 else None
        v.append(x)
    return v


def stats(v):
    """(median, min, max) of the runs that gave a figure; Nones if none."""
    v = sorted(x for x in v if x)
    return (statistics.median(v), v[0], v[-1]) if v else (None,) * 3


def ratio(by_lib):
    """off's median over on's, or None."""
    on, off = stats(by_lib["on"])[0], stats(by_lib["off"])[0]
    return off / on if on and off else None


def compare(r):
    """off / on = r in words, and whether that is within WITHIN."""
    return (f"without the checks Larson ran {abs(r - 1):.1%} "
            + ("faster" if r > 1 else "slower") + ", "
            + ("" if abs(r - 1) <= WITHIN else "NOT ")
            + f"within {WITHIN:.0%}")


def fmt(x, digits=2):
    return "n/a" if x is None else f"{x:.{digits}f}"


def instr(build, libs, tmp):
    """{(case name, which): Ir per pair} for the tiny_hot cases; failures
    as strings."""
    n1 = env_num("BENCH_INSTR_N", 500000, int, 1000)
    res, failed = {}, []
    for name, prog, args, fn, prefix in INSTR_CASES:
        if prog != "tiny_hot":
            continue
        for w, lib in libs.items():
            try:
                per, _ = instr_case(build, prog, args, fn, prefix, True,
                                      lib, n1, tmp)
            except RuntimeError as e:
                failed.append(f"{name}, checks {w}: {e}")
                say(f"checks: {name:22} checks {w:3} FAIL: {e}")
                continue
            res[(name, w)] = per
            say(f"checks: {name:22} checks {w:3} {per:6.1f} Ir/pair")
    return res, failed, n1


def rel(path):
    r = os.path.relpath(os.path.abspath(path), ROOT)
    return path if r.startswith("..") else r


def fmt_runs(v, digits=1):
    return " ".join("FAIL" if x is None else f"{x:.{digits}f}" for x in v)


def main(argv):
    if len(argv) != 2:
        print(USAGE, file=sys.stderr)
        return 2
    cfg = Config()
    reps = env_num("BENCH_REPS", 9, int, 1)
    need_callgrind(cfg)
    load0 = "%.2f %.2f %.2f" % os.getloadavg()
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    build = snapshot(os.path.abspath(argv[0]))
    tmp = tempfile.mkdtemp(prefix="hakmem-checks-")
    try:
        libs = {"on": lib_copy(argv[0], tmp, "on", "checks"),
                "off": lib_copy(argv[1], tmp, "off", "checks")}
        t0 = time.monotonic()
        rows = larson(cfg, build, libs, reps)
        cg, failed, n1 = instr(build, libs, tmp)
        minutes = (time.monotonic() - t0) / 60
        load1 = "%.2f %.2f %.2f" % os.getloadavg()
    finally:
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)

    for w in libs:
        failed += [f"larson rep {r['rep']}, checks {w}: {r['detail']}"
                   for r in rows[w] if r["status"] != "ok"]
    # Mops/s, and Mops per CPU-second (larson's ops over the process's
    # CPU time): the second does not drop when other load takes a CPU
    wall = {w: mops(rows[w], False) for w in libs}
    cpu = {w: mops(rows[w], True) for w in libs}
    table = [["checks", "Mops/s median", "min", "max",
              "Mops per CPU-s median", "min", "max"]]
    for w in libs:
        table.append([w] + [fmt(v) for v in stats(wall[w]) + stats(cpu[w])])
    r_wall = ratio(wall)
    r_cpu = ratio(cpu)
    table.append(["off / on", fmt(r_wall, 4), "", "",
                  fmt(r_cpu, 4), "", ""])
    pairs = [b / a if a and b else None
             for a, b in zip(wall["on"], wall["off"])]
    runs = [f"on, Mops/s: {fmt_runs(wall['on'])}",
            f"off, Mops/s: {fmt_runs(wall['off'])}",
            f"off / on, run by run: {fmt_runs(pairs, 3)}"]
    verdict = "no ratio: a library has no successful run"
    if r_wall is not None:
        verdict = (f"off / on = {r_wall:.4f} (ratio of the Mops/s "
                   f"medians): {compare(r_wall)}")
        if r_cpu is not None:
            verdict += (f"; per CPU-second, off / on = {r_cpu:.4f}: "
                        + compare(r_cpu))
    ok_pairs = [x for x in pairs if x]
    if len(ok_pairs) >= 4:
        q = statistics.quantiles(ok_pairs, n=4)
        verdict += (f".  Run by run, off / on has a median of "
                    f"{statistics.median(ok_pairs):.3f} and its middle half "
                    f"spans {q[0]:.3f} to {q[2]:.3f}: that is the noise "
                    "between two runs here")
    cases = [c[0] for c in INSTR_CASES if c[1] == "tiny_hot"]
    ir = [["case", "checks on", "checks off", "on - off"]]
    for c in cases:
        on, off = cg.get((c, "on")), cg.get((c, "off"))
        ir.append([c] + [f"{v:.1f}" if v is not None else "FAIL"
                         for v in (on, off)]
                  + [f"{on - off:+.1f}" if on is not None and off is not None
                     else "n/a"])

    say("")
    say(f"larson (load average {load0} at the start, {load1} at the "
          "end)")
    for r in table:
        say(f"  {r[0]:8} {r[1]:>13} {r[2]:>8} {r[3]:>8} {r[4]:>21} "
              f"{r[5]:>8} {r[6]:>8}")
    for r in runs:
        say(f"  {r}")
    say(verdict)
    say("")
    say("tiny_hot, callgrind Ir per malloc+free pair")
    for r in ir:
        say(f"  {r[0]:22} {r[1]:>9} {r[2]:>10} {r[3]:>8}")

    body = [CHECKS_BEGIN, "",
            run_note("bench-checks", when, minutes, load0, load1)
            + ".  The release "
            "library as shipped (checks on) against the same sources "
            "built with `-DHAK_RELEASE_CHECKS=0` (checks off, "
            f"`{rel(argv[1])}`), both under the same "
            f"`{display_cmd(BENCH_BY_NAME['larson'], cfg)}`, "
            f"interleaved on, off, on, off, ... {reps} runs each; "
            "higher is better.  Mops per CPU-s is Larson's operations "
            "over the process's CPU time (user + system): other load "
            "that takes a CPU from a run lowers its Mops/s, much less "
            "this."
            + ("" if failed else "  Every run proved `hakmem=1`."),
            "", md_table(table[0], table[1:]), ""]
    body += [f"- {r}" for r in runs]
    body += ["",
            f"{verdict[0].upper()}{verdict[1:]}.", "",
            "Instructions per malloc+free pair (callgrind, as `make "
            f"bench-instr`: N = {n1} and 2N; deterministic):", "",
            md_table(ir[0], ir[1:]), ""]
    body += gap_lines({}, failed)
    body.append(CHECKS_END)
    write_doc_section("\n".join(body), CHECKS_BEGIN, CHECKS_END,
                        CHECKS_HEADING, "checks")
    if failed:
        for f in failed:
            warn(f"FAIL: {f}")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
