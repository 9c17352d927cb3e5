#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench.py - hakmem's benchmark suite: every benchmark under hakmem, glibc,
mimalloc, jemalloc and tcmalloc, side by side.

    bench/bench.py run   --build DIR   (make bench)
    bench/bench.py smoke --build DIR   (make bench-smoke)
    bench/bench.py instr --build DIR   (make bench-instr)
    bench/bench.py report [CSV]        (make bench-report)

run: installs what is missing (Debian packages, when root: libmimalloc2.0
libjemalloc2 libtcmalloc-minimal4 redis-server redis-tools gnuplot-nox),
copies DIR/libhakmem.so and DIR/bench/* to a private directory (a rebuild
during the run cannot change what is measured), then runs every benchmark
under each allocator, interleaved: rep 1: A B C D E for every benchmark,
rep 2: the same, and so on.  Writes bench/results/<date>-<host>.csv (one
row per run; "# key: value" lines first, for the machine), then
regenerates docs/BENCHMARKS.md and its charts (docs/bench-throughput.png,
docs/bench-rss.png and the sys-time chart, suite.CHART_SYS) from it
(report).  A row's wall_s and cpu_s are the process's wall and CPU
(user + sys) seconds: a single-threaded run whose wall_s is well above its
cpu_s was kept off the CPU by other load.  user_s, sys_s and minflt split
that CPU time and count the minor page faults (getrusage of the children,
before and after the run): an allocator that returns memory to the kernel
and faults it back in shows here.

Allocators: hakmem = LD_PRELOAD of the copied libhakmem.so; glibc = no
preload; mimalloc, jemalloc, tcmalloc = LD_PRELOAD of Debian's library.
Every run prints one result line with ops_per_sec, rss_peak_kb and hakmem=H;
a hakmem run must show hakmem=1 (hak_owns() claimed a block from malloc),
any other run hakmem=0.  A hakmem run that fails or cannot prove itself is
reported as FAIL and makes the command exit 1; another allocator's failure
is a gap in the table with its reason.

smoke: every benchmark with --smoke, once, under every allocator that is
installed or can be installed (one that cannot is skipped with the reason);
any failure, or a missing proof, exits 1.  For make test.

instr: callgrind (valgrind --tool=callgrind; it does not replace malloc, so
LD_PRELOAD works as usual) counts the instructions that the benchmark's
timed loop spends in its callees, malloc and free, for tiny_hot (16, 64,
256 B; lifo and ring64) and random_mixed, at N and 2N iterations; the
difference over N is the cost of one malloc+free pair, with the loop's own
instructions and every one-time cost (start-up, first refills) removed.
Writes the table into docs/BENCHMARKS.md between its instr markers.

The suite is split by concern: suite.py (the benchmarks, allocators and
knobs), runner.py (run, smoke, the CSV), report.py (docs/BENCHMARKS.md
from a CSV: report), charts.py (its gnuplot charts), instr.py (instr);
this file is only the command line.  bench/checks.py and bench/scaling.py
use the same modules.

Environment: BENCH_SCALE (1; work per run), BENCH_REPS (5), BENCH_THREADS
(max(2, cpus)), BENCH_ALLOCATORS (all; e.g. "hakmem mimalloc"), BENCH_ONLY
(all; benchmark names or shell patterns, e.g. "tiny-hot-* redis"),
BENCH_INSTALL (1; 0 never runs apt-get), BENCH_INSTR_N (500000).
"""

import os
import sys

from runner import cmd_run, cmd_smoke
from report import cmd_report
from instr import cmd_instr


# ---- main ------------------------------------------------------------------------

class Opts:
    build = None
    cc = "cc"
    csv = None


def main(argv):
    usage = ("usage: bench.py run|smoke|instr --build DIR [--cc CC]\n"
             "       bench.py report [CSV]")
    if not argv or argv[0] not in ("run", "smoke", "instr", "report"):
        print(usage, file=sys.stderr)
        return 2
    opts = Opts()
    cmd, rest = argv[0], argv[1:]
    while rest:
        a = rest.pop(0)
        if a in ("--build", "--cc") and rest:
            setattr(opts, a[2:], rest.pop(0))
        elif cmd == "report" and not a.startswith("-") and not opts.csv:
            opts.csv = a
        else:
            print(usage, file=sys.stderr)
            return 2
    if cmd == "report":
        return cmd_report(opts)
    if not opts.build:
        print(usage, file=sys.stderr)
        return 2
    opts.build = os.path.abspath(opts.build)
    return {"run": cmd_run, "smoke": cmd_smoke, "instr": cmd_instr}[cmd](opts)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
