# SPDX-License-Identifier: MIT
"""suite.py - what the benchmark suite measures: the benchmarks, their
scaled arguments, the allocators, the knobs (BENCH_* variables) and the
files it writes.  Shared by bench.py, checks.py and scaling.py.
"""

import fnmatch
import os
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs", "BENCHMARKS.md")
RESULTS = os.path.join(ROOT, "bench", "results")
CHART_TPUT = "bench-throughput.png"
CHART_RSS = "bench-rss.png"
INSTR_BEGIN = "<!-- bench-instr:begin -->"
INSTR_END = "<!-- bench-instr:end -->"
CHECKS_BEGIN = "<!-- bench-checks:begin -->"
CHECKS_END = "<!-- bench-checks:end -->"
CHECKS_HEADING = "## Cost of the release checks"
SCALING_BEGIN = "<!-- bench-scaling:begin -->"
SCALING_END = "<!-- bench-scaling:end -->"
SCALING_HEADING = "## Scaling with threads"
COMPARE_BEGIN = "<!-- bench-compare:begin -->"
COMPARE_END = "<!-- bench-compare:end -->"
COMPARE_HEADING = "## Before and after"
VS_BEGIN = "<!-- bench-vs:begin -->"
VS_END = "<!-- bench-vs:end -->"
VS_HEADING = "## Against one allocator, in pairs"
# sections that other targets write (bench/checks.py, bench/scaling.py,
# bench/compare.py), kept by report() in this order: (begin, end, heading)
KEPT_SECTIONS = ((CHECKS_BEGIN, CHECKS_END, CHECKS_HEADING),
                 (SCALING_BEGIN, SCALING_END, SCALING_HEADING),
                 (COMPARE_BEGIN, COMPARE_END, COMPARE_HEADING),
                 (VS_BEGIN, VS_END, VS_HEADING))
LOG_HEADING = "## Log"

ALLOCATORS = ("hakmem", "glibc", "mimalloc", "jemalloc", "tcmalloc")
REFERENCE = "mimalloc"
# allocator: (Debian package, regexp for its library in `dpkg -L`)
ALLOC_PACKAGES = {
    "mimalloc": ("libmimalloc2.0", r"/libmimalloc\.so\.[0-9]+$"),
    "jemalloc": ("libjemalloc2", r"/libjemalloc\.so\.2$"),
    "tcmalloc": ("libtcmalloc-minimal4", r"/libtcmalloc_minimal\.so\.4$"),
}
REDIS_PACKAGES = ("redis-server", "redis-tools")
CHART_SYS = "bench-sys.png"
# user_s, sys_s, minflt: getrusage() of the run's processes (CSVs written
# before they existed lack them; report.py reads those as blank)
CSV_FIELDS = ("bench", "allocator", "rep", "status", "ops_per_sec",
              "rss_peak_kb", "seconds", "wall_s", "cpu_s", "user_s",
              "sys_s", "minflt", "hakmem", "detail")


def say(msg):
    print(msg, flush=True)


def warn(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def env_num(name, default, kind=float, lo=None):
    raw = os.environ.get(name, "")
    if raw.strip() == "":
        return default
    try:
        v = kind(raw)
    except ValueError:
        sys.exit(f"bench: {name}={raw!r} is not a number")
    if lo is not None and v < lo:
        sys.exit(f"bench: {name}={raw!r}: want at least {lo}")
    return v


# ---- the benchmarks --------------------------------------------------------

class Bench:
    """One row of the table: a program, its arguments, how to show it.

    prog: a program in BUILD/bench/ (or "redis", the Python driver);
    args(cfg): its arguments for cfg.scale / cfg.threads / cfg.smoke;
    unit: "ns" shows 1e9/ops_per_sec as ns per op (lower is better), else
    (label, divisor) shows ops_per_sec / divisor.
    """

    def __init__(self, name, prog, args, unit, what):
        self.name, self.prog, self.args = name, prog, args
        self.unit, self.what = unit, what

    @property
    def prefix(self):
        return "redis" if self.prog == "redis" else self.prog


def scaled(cfg, base):
    return str(max(1, int(base * cfg.scale)))


def std_args(cfg, threads=True):
    a = ["--smoke"] if cfg.smoke else []
    a.append(f"{cfg.scale:g}")
    if threads:
        a.append(str(cfg.threads))
    return a


def larson_args(cfg):
    # the classic setting, 5 s per run at scale 1
    a = ["--smoke"] if cfg.smoke else []
    return a + [f"{5 * cfg.scale:g}", "8", "1000", "5000", "100", "4141",
                str(cfg.threads)]


def tiny_hot(size, pattern):
    def args(cfg):
        a = ["--smoke"] if cfg.smoke else []
        return a + [f"--pattern={pattern}", str(size), scaled(cfg, 2e7)]
    return Bench(f"tiny-hot-{size}-{pattern}", "tiny_hot", args, "ns",
                 f"one thread, malloc({size}) and free, "
                 + ("back to back" if pattern == "lifo" else
                    "freeing the oldest of 64 live blocks")
                 + "; ns per pair, best of 3 after a warm-up")


MOPS = ("Mops/s", 1e6)
BENCHES = [
    Bench("larson", "larson", larson_args, MOPS,
          "Larson server model: T threads replace random blocks of 8..1000 B "
          "in per-thread arrays of 5000, handing the arrays on to new threads; "
          "`larson 5 8 1000 5000 100 4141 T`"),
    tiny_hot(16, "lifo"), tiny_hot(16, "ring64"),
    tiny_hot(64, "lifo"), tiny_hot(64, "ring64"),
    tiny_hot(256, "lifo"), tiny_hot(256, "ring64"),
    Bench("random-mixed", "random_mixed", lambda c: std_args(c, False), MOPS,
          "one thread, 8192 slots, random replacement with 16..1024 B "
          "blocks, 20 M ops"),
    Bench("mid-large-mt", "mid_large_mt", std_args, MOPS,
          "T threads, 128 slots each, random replacement with 8..32 KiB "
          "blocks (one byte written per page), 5 M ops per thread"),
    Bench("vm-mixed", "vm_mixed", lambda c: std_args(c, False),
          ("kops/s", 1e3),
          "one thread, 8 slots, 512 KiB..2 MiB blocks, every page touched, "
          "50 k ops: mmap churn"),
    Bench("xthread", "xthread", std_args, MOPS,
          "producer/consumer pairs (T/2): one thread mallocs 16..512 B, the "
          "other frees, so every free is remote; 10 M blocks per pair"),
    Bench("cache-scratch", "cache_scratch", std_args, ("Gwrites/s", 1e9),
          "passive false sharing: each of T threads frees an 8 B object the "
          "main thread allocated next to the others', then mallocs, writes "
          "10 000 times and frees 8 B objects 5000 times"),
    Bench("cache-thrash", "cache_thrash", std_args, ("Gwrites/s", 1e9),
          "active false sharing: T threads each malloc, write 10 000 times "
          "and free 8 B objects 5000 times"),
    Bench("churn", "churn", std_args, MOPS,
          "1000 generations of T short-lived threads; each frees 1024 "
          "blocks a dead thread left and leaves 1024 new ones (16..2048 B), "
          "plus 256 short-lived blocks"),
    Bench("xfree-random", "xfree_random", std_args, MOPS,
          "T threads, each mallocs batches of 64 blocks of 8..1024 B, hands "
          "every batch to a random other thread (a mutex-guarded inbox) and "
          "frees the batches handed to it; 200 k batches per thread"),
    Bench("prodcons", "prodcons", std_args, MOPS,
          "max(2, T/2) producers and as many consumers share one queue (a "
          "ring of 4096 under a mutex and two condition variables); "
          "16..256 B blocks, pushed and popped 16 at a time; 8 M blocks per "
          "producer"),
    Bench("transient", "transient", std_args, MOPS,
          "200 generations of T threads living a few ms: each frees the "
          "8192 blocks a thread of the previous generation left, mallocs "
          "16384 blocks of 16..1024 B, frees half and leaves half"),
    Bench("mid-random-mt", "mid_random_mt", std_args, MOPS,
          "T threads, 2048 slots each (about 16 MiB live), random "
          "replacement with 8 B..16 KiB blocks (a byte per page written), "
          "one in 8 swapped through a table shared by all threads; 16 M ops "
          "per thread"),
    Bench("bignum", "bignum", lambda c: std_args(c, False), MOPS,
          "one thread, big numbers of linked 32-bit limbs: Fibonacci by "
          "addition, factorials, schoolbook products; 16 and 24 B objects "
          "that die young, results checked modulo 2^61-1; 200 rounds"),
    Bench("redis", "redis", lambda c: std_args(c, False), ("kreq/s", 1e3),
          "Debian's redis-server on 127.0.0.1 under the allocator; "
          "redis-benchmark -P 16 -c 50 -r 100000 -d 64, SET GET LPUSH "
          "LPOP, 200 k requests each; server peak RSS (VmHWM)"),
]
BENCH_BY_NAME = {b.name: b for b in BENCHES}


class Config:
    def __init__(self, smoke=False):
        self.smoke = smoke
        self.scale = env_num("BENCH_SCALE", 1.0, float)
        if not self.scale > 0:
            sys.exit("bench: BENCH_SCALE must be positive")
        self.reps = 1 if smoke else env_num("BENCH_REPS", 5, int, 1)
        ncpu = len(os.sched_getaffinity(0))
        self.threads = env_num("BENCH_THREADS", max(2, ncpu), int, 1)
        self.install = os.environ.get("BENCH_INSTALL", "1") != "0"
        want = os.environ.get("BENCH_ALLOCATORS", "").replace(",", " ")
        self.allocators = [a for a in ALLOCATORS
                           if not want.split() or a in want.split()]
        bad = set(want.split()) - set(ALLOCATORS)
        if bad:
            sys.exit(f"bench: BENCH_ALLOCATORS: unknown {' '.join(bad)}; "
                     f"one of {' '.join(ALLOCATORS)}")
        only = os.environ.get("BENCH_ONLY", "").replace(",", " ").split()
        self.benches = [b for b in BENCHES if not only or
                        any(fnmatch.fnmatch(b.name, p) for p in only)]
        if not self.benches:
            sys.exit(f"bench: BENCH_ONLY={' '.join(only)} matches nothing; "
                     f"benchmarks: {' '.join(BENCH_BY_NAME)}")


def hakmem_version():
    """git's short HEAD, and whether the library's sources differ from it."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                               "HEAD"], capture_output=True, text=True,
                              check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain",
                                "--", "hakmem", "include", "debug"],
                               capture_output=True, text=True,
                               check=False).stdout.strip()
    except OSError:
        return "?"
    return (head or "?") + (" + uncommitted changes" if dirty else "")
