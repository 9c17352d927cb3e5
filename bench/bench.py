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
regenerates docs/BENCHMARKS.md and docs/bench-throughput.png,
docs/bench-rss.png from it (report).  A row's wall_s and cpu_s are the
process's wall and CPU (user + sys) seconds: a single-threaded run whose
wall_s is well above its cpu_s was kept off the CPU by other load.

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

Environment: BENCH_SCALE (1; work per run), BENCH_REPS (5), BENCH_THREADS
(max(2, cpus)), BENCH_ALLOCATORS (all; e.g. "hakmem mimalloc"), BENCH_ONLY
(all; benchmark names or shell patterns, e.g. "tiny-hot-* redis"),
BENCH_INSTALL (1; 0 never runs apt-get), BENCH_INSTR_N (500000).
"""

import csv
import datetime
import fnmatch
import io
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

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
# sections that other targets write (bench/checks.py, bench/scaling.py),
# kept by report() in this order: (begin, end, heading)
KEPT_SECTIONS = ((CHECKS_BEGIN, CHECKS_END, CHECKS_HEADING),
                 (SCALING_BEGIN, SCALING_END, SCALING_HEADING))
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
CSV_FIELDS = ("bench", "allocator", "rep", "status", "ops_per_sec",
              "rss_peak_kb", "seconds", "wall_s", "cpu_s", "hakmem",
              "detail")


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


# ---- packages and libraries --------------------------------------------------

def dpkg_installed(pkg):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                             capture_output=True, text=True, check=False)
    except OSError:
        return False
    return "install ok installed" in out.stdout


def dpkg_version(pkg):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                             capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def ensure_packages(pkgs, cfg):
    """Install the missing ones with apt-get when we may; say what fails."""
    missing = [p for p in pkgs if not dpkg_installed(p)]
    if not missing:
        return
    if not cfg.install:
        warn(f"not installing {' '.join(missing)} (BENCH_INSTALL=0)")
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        warn(f"missing {' '.join(missing)}, and cannot apt-get here "
             "(not root, or no apt-get)")
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    env.pop("LD_PRELOAD", None)
    say(f"bench: apt-get install {' '.join(missing)}")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends"]

    def apt(args):
        try:
            return subprocess.run(args, env=env, capture_output=True,
                                  timeout=600, check=False).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False
    if not apt(cmd + missing):
        apt(["apt-get", "update", "-q"])
        for p in missing:		# one by one: one bad name spoils no other
            if not apt(cmd + [p]):
                warn(f"apt-get could not install {p}")


def package_lib(pkg, pattern):
    try:
        out = subprocess.run(["dpkg", "-L", pkg], capture_output=True,
                             text=True, check=False).stdout
    except OSError:
        out = ""
    for line in out.splitlines():
        if re.search(pattern, line) and os.path.exists(line):
            return line
    return None


def find_allocators(cfg, build):
    """{allocator: LD_PRELOAD value or ""}, and {allocator: why missing}."""
    libs, gaps = {}, {}
    for a in cfg.allocators:
        if a == "hakmem":
            libs[a] = os.path.join(build, "libhakmem.so")
        elif a == "glibc":
            libs[a] = ""
        else:
            pkg, pattern = ALLOC_PACKAGES[a]
            so = package_lib(pkg, pattern)
            if so:
                libs[a] = so
            else:
                gaps[a] = f"Debian package {pkg} not installed"
    return libs, gaps


def snapshot(build):
    """Copy what the runs execute to a private directory."""
    src_lib = os.path.join(build, "libhakmem.so")
    src_bench = os.path.join(build, "bench")
    for p in (src_lib, src_bench):
        if not os.path.exists(p):
            sys.exit(f"bench: {p} missing (make FLAVOUR=release lib benches)")
    tmp = tempfile.mkdtemp(prefix="hakmem-bench-")
    shutil.copy2(src_lib, tmp)
    os.mkdir(os.path.join(tmp, "bench"))
    for name in os.listdir(src_bench):
        p = os.path.join(src_bench, name)
        if os.path.isfile(p) and (os.access(p, os.X_OK) or
                                  name.endswith(".so")):
            shutil.copy2(p, os.path.join(tmp, "bench", name))
    shutil.copy2(os.path.join(ROOT, "bench", "redis_bench.py"),
                 os.path.join(tmp, "bench", "redis_bench.py"))
    return tmp


# ---- running one benchmark ---------------------------------------------------

def command_for(bench, cfg, build, alloc, lib):
    """(argv, env) for one run of bench under alloc."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    args = bench.args(cfg)
    if bench.prog == "redis":
        probe = os.path.join(build, "bench", "hakmem_probe.so")
        pre = "glibc" if alloc == "glibc" else lib
        argv = [sys.executable, os.path.join(build, "bench", "redis_bench.py"),
                f"--preload={pre}", f"--probe={probe}"] + args
    else:
        argv = [os.path.join(build, "bench", bench.prog)] + args
        if lib:
            env["LD_PRELOAD"] = lib
    return argv, env


def display_cmd(bench, cfg):
    argv = ["bench/redis_bench.py"] if bench.prog == "redis" else \
        [f"build/release/bench/{bench.prog}"]
    return " ".join(argv + bench.args(cfg))


def run_proc(argv, env, timeout):
    """(status, stdout, stderr, wall seconds); status None on timeout."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        out, err = proc.communicate()
        status = None
    return status, out, err, time.monotonic() - t0


def parse_result(prefix, out):
    """The key=value fields of the last `prefix: ...` line, or None."""
    fields = None
    for line in out.splitlines():
        if line.startswith(prefix + ": "):
            fields = dict(kv.split("=", 1) for kv in line.split()[1:]
                          if "=" in kv)
            fields["_line"] = line
    return fields


def describe_status(status):
    if status is None:
        return "timed out"
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


def run_one(bench, cfg, build, alloc, lib, rep, timeout):
    """Run once; a CSV row (dict).  status ok or fail, detail says why."""
    argv, env = command_for(bench, cfg, build, alloc, lib)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    status, out, err, wall = run_proc(argv, env, timeout)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    row = {"bench": bench.name, "allocator": alloc, "rep": rep,
           "status": "fail", "ops_per_sec": "", "rss_peak_kb": "",
           "seconds": "", "hakmem": "", "wall_s": f"{wall:.2f}",
           "cpu_s": f"{cpu:.2f}", "detail": ""}
    res = parse_result(bench.prefix, out)
    why = None
    if status != 0:
        why = describe_status(status)
    elif res is None:
        why = f"no '{bench.prefix}:' result line"
    else:
        try:
            ops = float(res.get("ops_per_sec", ""))
            rss = int(res.get("rss_peak_kb", ""))
        except ValueError:
            ops, rss = -1, -1
        if not ops > 0 or rss < 0:
            why = "result line lacks ops_per_sec or rss_peak_kb"
        elif alloc == "hakmem" and res.get("hakmem") != "1":
            why = ("hakmem NOT PROVEN: hakmem=" + res.get("hakmem", "?")
                   + " (hak_owns() did not claim a block from malloc)")
        elif alloc != "hakmem" and res.get("hakmem") != "0":
            why = f"hakmem={res.get('hakmem', '?')} under {alloc}"
        else:
            row.update(status="ok", ops_per_sec=f"{ops:.6g}",
                       rss_peak_kb=str(rss), seconds=res.get("seconds", ""),
                       hakmem=res.get("hakmem"))
    if res is not None:
        row["detail"] = res["_line"]
    if why:
        tail = "\n".join(err.strip().splitlines()[-8:])
        row["detail"] = why + (f" | {row['detail']}" if row["detail"] else "")
        row["_stderr"] = tail
    return row


# ---- statistics ----------------------------------------------------------------

class Cell:
    """The runs of one (benchmark, allocator)."""

    def __init__(self, rows):
        ok = [r for r in rows if r["status"] == "ok"]
        self.n_ok, self.n = len(ok), len(rows)
        self.fails = [r for r in rows if r["status"] != "ok"]
        ops = sorted(float(r["ops_per_sec"]) for r in ok)
        rss = sorted(int(r["rss_peak_kb"]) for r in ok)
        self.ops = (statistics.median(ops), ops[0], ops[-1]) if ops else None
        self.rss = (statistics.median(rss), rss[0], rss[-1]) if rss else None

    def reason(self):
        if not self.fails:
            return ""
        d = self.fails[0]["detail"]
        return d.split(" | ")[0]


def cells_of(rows):
    cells = {}
    keys = {(r["bench"], r["allocator"]) for r in rows}
    for k in keys:
        cells[k] = Cell([r for r in rows
                         if (r["bench"], r["allocator"]) == k])
    return cells


def fmt3(x):
    """Three significant digits, no exponent."""
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{digits}f}"


def show_ops(bench, v):
    if bench.unit == "ns":
        return 1e9 / v
    return v / bench.unit[1]


def unit_label(bench):
    return "ns/pair" if bench.unit == "ns" else bench.unit[0]


def fmt_range(bench, t):
    med, lo, hi = (show_ops(bench, v) for v in t)
    lo, hi = min(lo, hi), max(lo, hi)
    return f"{fmt3(med)} ({fmt3(lo)}-{fmt3(hi)})"


def fmt_rss(t):
    med, lo, hi = (v / 1024 for v in t)
    return f"{fmt3(med)} ({fmt3(lo)}-{fmt3(hi)})"


# ---- run and smoke ---------------------------------------------------------------

def banner(cfg, libs, gaps, what):
    say(f"bench: {what}: {len(cfg.benches)} benchmarks x "
        f"{len(libs)} allocators x {cfg.reps} reps, scale {cfg.scale:g}, "
        f"{cfg.threads} threads")
    for a in cfg.allocators:
        if a in libs:
            say(f"  {a:9} {libs[a] or '(no preload)'}")
        else:
            say(f"  {a:9} SKIPPED: {gaps[a]}")


def redis_gap(cfg):
    if not any(b.prog == "redis" for b in cfg.benches):
        return None
    if shutil.which("redis-server") and shutil.which("redis-benchmark"):
        return None
    return "redis-server/redis-benchmark missing (Debian redis-server, " \
        "redis-tools)"


def machine_meta(cfg, build, cc, libs):
    meta = {}
    meta["date"] = datetime.datetime.now().astimezone().strftime(
        "%Y-%m-%d %H:%M %Z")
    meta["host"] = socket.gethostname()
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            cpu = m.group(1) if m else ""
    except OSError:
        pass
    meta["cpu"] = f"{cpu} ({len(os.sched_getaffinity(0))} cpus)"
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s*(\d+)", f.read(), re.M)
            meta["memory"] = f"{int(m.group(1)) / 1048576:.1f} GiB"
    except (OSError, AttributeError):
        pass
    os_name = ""
    try:
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]*)', f.read(), re.M)
            os_name = m.group(1) if m else ""
    except OSError:
        pass
    meta["os"] = f"{os_name}, Linux {platform.release()}"
    try:
        v = subprocess.run(cc.split() + ["--version"], capture_output=True,
                           text=True, check=False).stdout.splitlines()[0]
    except (OSError, IndexError):
        v = cc
    meta["compiler"] = v
    rel = os.path.relpath(build, ROOT)
    meta["hakmem"] = f"{hakmem_version()} " \
        f"({build if rel.startswith('..') else rel}/libhakmem.so)"
    vers = []
    for a in ("glibc", "mimalloc", "jemalloc", "tcmalloc"):
        pkg = "libc6" if a == "glibc" else ALLOC_PACKAGES[a][0]
        v = dpkg_version(pkg)
        state = v if a in libs else "not available"
        vers.append(f"{a} {state}")
    v = dpkg_version("redis-server")
    if v:
        vers.append(f"redis-server {v}")
    meta["versions"] = ", ".join(vers)
    meta["scale"] = f"{cfg.scale:g}"
    meta["reps"] = str(cfg.reps)
    meta["threads"] = str(cfg.threads)
    env = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                   if (k.startswith("BENCH_") or k.startswith("HAKMEM_"))
                   and v != "")
    meta["command"] = "make bench" + (f" ({env})" if env else "")
    meta["loadavg_start"] = "%.2f %.2f %.2f" % os.getloadavg()
    for b in cfg.benches:
        meta[f"cmd.{b.name}"] = display_cmd(b, cfg)
    return meta


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


def progress(row, bench):
    if row["status"] == "ok":
        v = show_ops(bench, float(row["ops_per_sec"]))
        return (f"{fmt3(v)} {unit_label(bench)}, "
                f"rss {int(row['rss_peak_kb']) / 1024:.1f} MiB")
    return "FAIL: " + row["detail"].split(" | ")[0]


def cmd_run(opts):
    cfg = Config()
    pkgs = [ALLOC_PACKAGES[a][0] for a in cfg.allocators
            if a in ALLOC_PACKAGES]
    if any(b.prog == "redis" for b in cfg.benches):
        pkgs += REDIS_PACKAGES
    if not shutil.which("gnuplot"):
        pkgs.append("gnuplot-nox")
    ensure_packages(pkgs, cfg)
    build = snapshot(opts.build)
    try:
        return run_suite(cfg, opts, build)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def run_suite(cfg, opts, build):
    libs, gaps = find_allocators(cfg, build)
    rgap = redis_gap(cfg)
    if rgap:
        warn(f"skipping redis: {rgap}")
        cfg.benches = [b for b in cfg.benches if b.prog != "redis"]
    banner(cfg, libs, gaps, "run")
    meta = machine_meta(cfg, opts.build, opts.cc, libs)
    for a, why in gaps.items():
        meta[f"gap.{a}"] = why
    if rgap:
        meta["gap.redis"] = rgap
    timeout = 300 * max(1.0, cfg.scale)
    rows = []
    t0 = time.monotonic()
    for rep in range(1, cfg.reps + 1):
        for b in cfg.benches:
            for a in cfg.allocators:
                if a not in libs:
                    continue
                row = run_one(b, cfg, build, a, libs[a], rep, timeout)
                rows.append(row)
                say(f"[{rep}/{cfg.reps}] {b.name:18} {a:9} "
                    f"{progress(row, b)} ({row['wall_s']} s)")
                if row["status"] != "ok" and row.get("_stderr"):
                    for line in row["_stderr"].splitlines():
                        say(f"      | {line}")
    total = time.monotonic() - t0
    meta["wall_minutes"] = f"{total / 60:.1f}"
    meta["loadavg_end"] = "%.2f %.2f %.2f" % os.getloadavg()

    os.makedirs(RESULTS, exist_ok=True)
    day = datetime.date.today().isoformat()
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname())
    path = os.path.join(RESULTS, f"{day}-{host}.csv")
    write_csv(path, meta, rows)
    say(f"bench: wrote {os.path.relpath(path, ROOT)} "
        f"({total / 60:.1f} min)")
    report(path)
    bad = [r for r in rows if r["allocator"] == "hakmem" and
           r["status"] != "ok"]
    if bad:
        warn("FAIL: these hakmem runs failed or did not prove hakmem "
             "served them:")
        for r in bad:
            warn(f"  {r['bench']} rep {r['rep']}: {r['detail']}")
        return 1
    return 0


def cmd_smoke(opts):
    cfg = Config(smoke=True)
    pkgs = [ALLOC_PACKAGES[a][0] for a in cfg.allocators
            if a in ALLOC_PACKAGES]
    if any(b.prog == "redis" for b in cfg.benches):
        pkgs += REDIS_PACKAGES
    ensure_packages(pkgs, cfg)
    build = snapshot(opts.build)
    try:
        libs, gaps = find_allocators(cfg, build)
        rgap = redis_gap(cfg)
        if rgap:
            say(f"bench-smoke: SKIP redis: {rgap}")
            cfg.benches = [b for b in cfg.benches if b.prog != "redis"]
        for a, why in gaps.items():
            say(f"bench-smoke: SKIP {a}: {why}")
        if "hakmem" not in libs:
            say("bench-smoke: FAIL: hakmem is not among BENCH_ALLOCATORS")
            return 1
        t0 = time.monotonic()
        failed = []
        for b in cfg.benches:
            cols = []
            for a in cfg.allocators:
                if a not in libs:
                    continue
                row = run_one(b, cfg, build, a, libs[a], 1, 120)
                if row["status"] == "ok":
                    cols.append(f"{a} ok")
                else:
                    cols.append(f"{a} FAIL")
                    failed.append(row)
            say(f"bench-smoke: {b.name:20} " + ", ".join(cols))
        for r in failed:
            say(f"bench-smoke: FAIL: {r['bench']} under {r['allocator']}: "
                f"{r['detail']}")
            for line in r.get("_stderr", "").splitlines():
                say(f"      | {line}")
        say(f"bench-smoke: {len(cfg.benches)} benchmarks x {len(libs)} "
            f"allocators, {len(failed)} failed "
            f"({time.monotonic() - t0:.1f} s)")
        return 1 if failed else 0
    finally:
        shutil.rmtree(build, ignore_errors=True)


# ---- CSV -------------------------------------------------------------------------

def write_csv(path, meta, rows):
    with open(path, "w", newline="") as f:
        for k, v in meta.items():
            f.write(f"# {k}: {v}\n")
        w = csv.DictWriter(f, CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def read_csv(path):
    meta, body = {}, []
    with open(path, newline="") as f:
        for line in f:
            if line.startswith("# ") and ": " in line and not body:
                k, v = line[2:].rstrip("\n").split(": ", 1)
                meta[k] = v
            else:
                body.append(line)
    rows = list(csv.DictReader(io.StringIO("".join(body))))
    return meta, rows


# ---- report: docs/BENCHMARKS.md and charts ------------------------------------

def marked(text, begin, end):
    """The part of text from begin to end, both markers included, or None."""
    i, j = text.find(begin), text.find(end)
    return text[i:j + len(end)] if 0 <= i < j else None


def preserved_parts(text):
    """(instr section with its markers or None, [(heading, section with
    its markers)] for each of KEPT_SECTIONS in text, Log section or
    None)."""
    instr = marked(text, INSTR_BEGIN, INSTR_END)
    kept = [(h, marked(text, b, e)) for b, e, h in KEPT_SECTIONS
            if marked(text, b, e)]
    log = None
    m = re.search(r"^" + re.escape(LOG_HEADING) + r"\s*$", text, re.M)
    if m:
        log = text[m.start():].rstrip("\n") + "\n"
    return instr, kept, log


DEFAULT_INSTR = (f"{INSTR_BEGIN}\nNot measured yet: run `make bench-instr`."
                 f"\n{INSTR_END}")
DEFAULT_LOG = f"""{LOG_HEADING}

Hand-written, newest last: one entry per optimisation tried, accepted or
rejected, with the before/after figures (which table, which machine) and
the reason.  `make bench`, `make bench-instr`, `make bench-checks` and
`make bench-scaling` keep this section as it is.
"""


def allocs_in(rows):
    seen = {r["allocator"] for r in rows}
    return [a for a in ALLOCATORS if a in seen]


def benches_in(rows):
    seen = {r["bench"] for r in rows}
    known = [b for b in BENCHES if b.name in seen]
    return known


def ratio(cells, bench, alloc, which):
    c, ref = cells.get((bench, alloc)), cells.get((bench, REFERENCE))
    a = getattr(c, which) if c else None
    b = getattr(ref, which) if ref else None
    if not a or not b or b[0] <= 0:
        return None
    return a[0] / b[0]


def cell_text(cells, bench, alloc, fn):
    c = cells.get((bench.name, alloc))
    if c is None:
        return "n/a"
    if c.ops is None:
        return "FAIL" if alloc == "hakmem" else "n/a"
    text = fn(c)
    if c.fails:
        text += f" [{len(c.fails)}/{c.n} failed]"
    return text


def md_table(header, rows, text_cols=1):
    """Text in the first text_cols columns (left), numbers after (right)."""
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i < text_cols else "---:"
                          for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def gaps_text(cells, benches, allocs):
    lines = []
    for b in benches:
        for a in allocs:
            c = cells.get((b.name, a))
            if c and c.fails:
                lines.append(f"- {b.name} under {a}: {len(c.fails)} of "
                             f"{c.n} runs failed: {c.reason()}")
    return lines


def busy_note(meta):
    """A warning when the load average exceeded the cpus during the run."""
    m = re.search(r"\((\d+) cpus\)", meta.get("cpu", ""))
    ncpu = int(m.group(1)) if m else 0
    loads = []
    for k in ("loadavg_start", "loadavg_end"):
        try:
            loads.append(float(meta.get(k, "").split()[0]))
        except (ValueError, IndexError):
            pass
    if not ncpu or not loads or max(loads) <= ncpu:
        return ""
    return (f"The machine was busy: a 1-minute load average of up to "
            f"{max(loads):.1f} on {ncpu} cpus at the start or end of the "
            "run, so other processes took CPU time from these runs (the "
            "CSV's wall_s against cpu_s shows which).  Read the min-max "
            "spreads before the medians.")


def render(meta, rows, csv_rel, instr, kept, log, charts):
    cells = cells_of(rows)
    allocs = allocs_in(rows)
    benches = benches_in(rows)
    L = []
    L.append("# Benchmarks")
    L.append("")
    L.append(f"<!-- Generated by bench/bench.py from {csv_rel}. Everything "
             "above the instruction-count section is rewritten by `make "
             "bench` (or `make bench-report`); that section by `make "
             "bench-instr`; the next ones by `make bench-checks` and `make "
             "bench-scaling`; the Log "
             "section at the end is kept as written. "
             "-->")
    L.append("")
    L.append("hakmem against glibc, mimalloc, jemalloc and tcmalloc on the "
             "same machine in the same session, interleaved run by run "
             "(hakmem, glibc, mimalloc, jemalloc, tcmalloc; again; ...), "
             "so drift in the machine's speed hits every allocator alike. "
             f"Each figure is the median of {meta.get('reps', '?')} runs, "
             "with the minimum and maximum in brackets.  The bar is the "
             "best allocator of the run (DESIGN.md), so ratios are to "
             "mimalloc.")
    L.append("")
    L.append("Every hakmem run proves it was hakmem: each program prints "
             "`hakmem=1` only when `hak_owns()` (looked up with dlsym) "
             "claims a block it has just malloc'd; for redis-server a "
             "preloaded probe (bench/probe/hakmem_probe.c) makes the same "
             "check at exit and hakmem's mapped peak must cover redis's "
             "`used_memory`.  A hakmem run without that proof is a failed "
             "run, shown as FAIL.  Every other run must print `hakmem=0`.")
    L.append("")
    L.append("## Machine")
    L.append("")
    for k, label in (("date", "date"), ("host", "host"), ("cpu", "cpu"),
                     ("memory", "memory"), ("os", "system"),
                     ("compiler", "compiler"), ("hakmem", "hakmem"),
                     ("versions", "allocators"),
                     ("loadavg_start", "load average at start"),
                     ("loadavg_end", "load average at end")):
        if k in meta:
            L.append(f"- {label}: {meta[k]}")
    busy = busy_note(meta)
    if busy:
        L.append("")
        L.append(busy)
    L.append("")
    L.append("## Commands")
    L.append("")
    L.append(f"`{meta.get('command', 'make bench')}`: scale "
             f"{meta.get('scale', '?')}, {meta.get('reps', '?')} "
             f"repetitions, {meta.get('threads', '?')} threads where a "
             f"benchmark has threads; {meta.get('wall_minutes', '?')} "
             f"minutes.  Raw results, one row per run: `{csv_rel}`.  "
             "`make bench-report BENCH_CSV=...` redraws this page from a "
             "CSV.  Knobs: `BENCH_SCALE`, `BENCH_REPS`, `BENCH_THREADS`, "
             "`BENCH_ALLOCATORS`, `BENCH_ONLY`, `BENCH_INSTALL` "
             "(bench/bench.py).  `make bench-smoke` runs everything once at "
             "`--smoke` size (part of `make test`).")
    L.append("")
    L.append("Allocators: hakmem is `LD_PRELOAD` of the release build; "
             "glibc is no preload (for redis-server, which Debian links "
             "against libjemalloc, a preload of libc.so.6 itself, so that "
             "glibc's malloc wins); mimalloc, jemalloc and tcmalloc are "
             "`LD_PRELOAD` of Debian's libmimalloc.so.2, libjemalloc.so.2 "
             "and libtcmalloc_minimal.so.4.")
    L.append("")
    L.append(md_table(["benchmark", "command (under each allocator)",
                       "what"],
                      [[b.name, f"`{meta.get('cmd.' + b.name, '')}`",
                        b.what] for b in benches], 3))
    L.append("")
    L.append("## Throughput relative to mimalloc")
    L.append("")
    L.append("Median throughput over mimalloc's median throughput: above "
             "1.00 is faster than mimalloc.  (For tiny-hot, throughput is "
             "pairs per second: the inverse of the ns per pair below.)")
    L.append("")
    trows = []
    for b in benches:
        r = [b.name]
        for a in allocs:
            v = ratio(cells, b.name, a, "ops")
            r.append(f"{v:.2f}" if v is not None else
                     cell_text(cells, b, a, lambda c: ""))
        trows.append(r)
    L.append(md_table(["benchmark"] + allocs, trows))
    L.append("")
    if charts:
        L.append(f"![throughput relative to mimalloc]({CHART_TPUT})")
        L.append("")
    L.append("## Throughput")
    L.append("")
    L.append("Median (min-max) of the runs, in the unit of the row.")
    L.append("")
    trows = []
    for b in benches:
        r = [b.name, unit_label(b)]
        for a in allocs:
            r.append(cell_text(cells, b, a,
                               lambda c, b=b: fmt_range(b, c.ops)))
        trows.append(r)
    L.append(md_table(["benchmark", "unit"] + allocs, trows, 2))
    L.append("")
    L.append("## Peak RSS")
    L.append("")
    L.append("The process's peak resident set, MiB: median (min-max); "
             "`VmHWM` from /proc (for redis, the server's), read just "
             "before exit.  Then the median relative to mimalloc's (below "
             "1.00 uses less memory).")
    L.append("")
    trows = []
    for b in benches:
        r = [b.name]
        for a in allocs:
            r.append(cell_text(cells, b, a, lambda c: fmt_rss(c.rss)))
        trows.append(r)
    L.append(md_table(["benchmark"] + allocs, trows))
    L.append("")
    trows = []
    for b in benches:
        r = [b.name]
        for a in allocs:
            v = ratio(cells, b.name, a, "rss")
            r.append(f"{v:.2f}" if v is not None else
                     cell_text(cells, b, a, lambda c: ""))
        trows.append(r)
    L.append(md_table(["peak RSS / mimalloc's"] + allocs, trows))
    L.append("")
    if charts:
        L.append(f"![peak RSS]({CHART_RSS})")
        L.append("")
    gaps = gaps_text(cells, benches, allocs)
    notes = [f"- {k[4:]}: {v}" for k, v in meta.items()
             if k.startswith("gap.")]
    if gaps or notes:
        L.append("## Gaps and failures")
        L.append("")
        L += notes + gaps
        L.append("")
    L.append("## Instructions per malloc+free pair (callgrind)")
    L.append("")
    L.append(instr or DEFAULT_INSTR)
    L.append("")
    for heading, section in kept:
        L += [heading, "", section, ""]
    L.append((log or DEFAULT_LOG).rstrip("\n"))
    return "\n".join(L) + "\n"


def gp_str(s):
    """A gnuplot double-quoted string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


COLORS = {"hakmem": "#d62728", "glibc": "#7f7f7f", "mimalloc": "#1f77b4",
          "jemalloc": "#2ca02c", "tcmalloc": "#ff7f0e"}


def gnuplot_chart(out, title, ylabel, benches, allocs, value, logy, ref1):
    """A clustered bar chart: one cluster per benchmark."""
    if not shutil.which("gnuplot"):
        return False
    tmp = tempfile.mkdtemp(prefix="hakmem-plot-")
    try:
        data = os.path.join(tmp, "data")
        vals = []
        with open(data, "w") as f:
            for b in benches:
                cols = []
                for a in allocs:
                    v = value(b, a)
                    cols.append("?" if v is None else f"{v:.6g}")
                    if v is not None:
                        vals.append(v)
                f.write(f"\"{b.name}\" " + " ".join(cols) + "\n")
        if not vals:
            return False
        lo, hi = min(vals), max(vals)
        plots = []
        for i, a in enumerate(allocs):
            using = f"{i + 2}:xtic(1)" if i == 0 else f"{i + 2}"
            plots.append(f"{gp_str(data)} using {using} title {gp_str(a)} "
                         f"lc rgb {gp_str(COLORS[a])}")
        script = [
            "set terminal pngcairo size 1400,620 font 'sans,11'",
            f"set output {gp_str(out)}",
            f"set title {gp_str(title)}",
            f"set ylabel {gp_str(ylabel)}",
            "set style data histogram",
            "set style histogram clustered gap 1",
            "set style fill solid 0.9 border -1",
            "set boxwidth 0.9",
            "set datafile missing '?'",
            "set xtics rotate by -35 scale 0 nomirror",
            "set key top left horizontal",
            "set grid ytics",
            "set bmargin 7",
        ]
        if logy:
            ymin = 2 ** math.floor(math.log2(lo) - 0.8)
            ymax = 2 ** math.ceil(math.log2(hi) + 0.8)
            script += ["set logscale y 2", f"set yrange [{ymin}:{ymax}]"]
            if ref1:
                script.append("set ytics (" + ", ".join(
                    f"'{t:g}' {t:g}" for t in
                    (1 / 64, 1 / 32, 1 / 16, 1 / 8, 0.25, 0.5, 1, 2, 4, 8, 16,
                     32, 64) if ymin <= t <= ymax) + ")")
            else:
                script.append("set format y '%g'")
        else:
            script.append(f"set yrange [0:{hi * 1.15:.6g}]")
        if ref1:
            script.append("set arrow from graph 0, first 1 to graph 1, "
                          "first 1 nohead lw 2 dt 2 lc rgb 'black' front")
        script.append("plot " + ", \\\n  ".join(plots))
        with open(os.path.join(tmp, "plot.gp"), "w") as f:
            f.write("\n".join(script) + "\n")
        res = subprocess.run(["gnuplot", os.path.join(tmp, "plot.gp")],
                             capture_output=True, text=True, check=False)
        if res.returncode != 0:
            warn(f"gnuplot failed: {res.stderr.strip()[-500:]}")
            return False
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(path):
    meta, rows = read_csv(path)
    cells = cells_of(rows)
    allocs = allocs_in(rows)
    benches = benches_in(rows)
    docs_dir = os.path.dirname(DOCS)
    os.makedirs(docs_dir, exist_ok=True)
    ok1 = gnuplot_chart(
        os.path.join(docs_dir, CHART_TPUT),
        f"Throughput relative to mimalloc (median of {meta.get('reps')} "
        f"runs; {meta.get('host', '')}, {meta.get('date', '')})",
        "throughput / mimalloc's (log scale)", benches, allocs,
        lambda b, a: ratio(cells, b.name, a, "ops"), True, True)
    ok2 = gnuplot_chart(
        os.path.join(docs_dir, CHART_RSS),
        f"Peak RSS (median of {meta.get('reps')} runs; "
        f"{meta.get('host', '')}, {meta.get('date', '')})",
        "peak RSS, MiB (log scale)", benches, allocs,
        lambda b, a: (cells[(b.name, a)].rss[0] / 1024
                      if (b.name, a) in cells and cells[(b.name, a)].rss
                      else None), True, False)
    charts = ok1 and ok2
    if not charts:
        warn("charts not drawn (gnuplot missing or failed); the page "
             "links none")
    old = ""
    if os.path.exists(DOCS):
        with open(DOCS) as f:
            old = f.read()
    instr, kept, log = preserved_parts(old)
    text = render(meta, rows, os.path.relpath(path, ROOT), instr, kept,
                  log, charts)
    with open(DOCS, "w") as f:
        f.write(text)
    say(f"bench: wrote {os.path.relpath(DOCS, ROOT)}"
        + (f", docs/{CHART_TPUT}, docs/{CHART_RSS}" if charts else ""))
    print_ratio_table(cells, benches, allocs)


def print_ratio_table(cells, benches, allocs):
    say("")
    say("throughput / mimalloc's (median; >1 is faster than mimalloc)")
    say(f"{'benchmark':18}" + "".join(f"{a:>10}" for a in allocs))
    for b in benches:
        line = f"{b.name:18}"
        for a in allocs:
            v = ratio(cells, b.name, a, "ops")
            c = cells.get((b.name, a))
            line += f"{v:10.2f}" if v is not None else \
                f"{'FAIL' if c and c.fails else 'n/a':>10}"
        say(line)


def cmd_report(opts):
    path = opts.csv
    if not path:
        found = sorted((os.path.getmtime(os.path.join(RESULTS, f)), f)
                       for f in os.listdir(RESULTS) if f.endswith(".csv")) \
            if os.path.isdir(RESULTS) else []
        if not found:
            sys.exit("bench: no CSV in bench/results/ (make bench)")
        path = os.path.join(RESULTS, found[-1][1])
    report(os.path.abspath(path))
    return 0


# ---- instr: callgrind instruction counts ---------------------------------------

INSTR_CASES = [
    (f"tiny-hot {s} B {p}", "tiny_hot",
     ["--once", f"--pattern={p}", str(s)], "run_lifo" if p == "lifo"
     else "run_ring", "tiny_hot")
    for s in (16, 64, 256) for p in ("lifo", "ring64")
] + [("random-mixed 16..1024 B", "random_mixed", [], "mixed_ops",
      "random_mixed")]


def callgrind_counts(argv, env, fn, tmp):
    """(total Ir collected in fn, fn's own Ir, program stdout)."""
    out_file = os.path.join(tmp, "cg.out")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
           f"--toggle-collect={fn}", "--toggle-collect=" + fn + ".*"] + argv
    status, out, err, _ = run_proc(cmd, env, 600)
    if status != 0:
        raise RuntimeError(f"callgrind {describe_status(status)}: "
                           + err.strip()[-800:])
    ann = subprocess.run(["callgrind_annotate", "--inclusive=no",
                          "--threshold=100", out_file], capture_output=True,
                         text=True, check=False).stdout
    total = self_ir = None
    for line in ann.splitlines():
        m = re.match(r"\s*([\d,]+) \(.*\)\s+PROGRAM TOTALS", line)
        if m:
            total = int(m.group(1).replace(",", ""))
        m = re.match(r"\s*([\d,]+) \(.*\)\s+\S*:" + re.escape(fn)
                     + r"(\.[\w.]+)?( |$)", line)
        if m:
            self_ir = (self_ir or 0) + int(m.group(1).replace(",", ""))
    if total is None or self_ir is None:
        raise RuntimeError(f"no cost for {fn} in callgrind_annotate's "
                           "output")
    return total, self_ir, out


def instr_case(build, prog, args, fn, prefix, is_hakmem, lib, n1, tmp):
    """(Ir per malloc+free pair in fn's callees, fn's own Ir per iteration)
    of build/bench/prog under LD_PRELOAD=lib (None: none), from callgrind
    runs at n1 and 2 * n1 iterations; the run must prove hakmem=1 when
    is_hakmem and hakmem=0 otherwise.  RuntimeError says why it failed."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if lib:
        env["LD_PRELOAD"] = lib
    counts = []
    for n in (n1, 2 * n1):
        extra = [f"--ops={n}"] if prog == "random_mixed" else [str(n)]
        argv = [os.path.join(build, "bench", prog)] + args + extra
        total, own, out = callgrind_counts(argv, env, fn, tmp)
        res = parse_result(prefix, out)
        want = "1" if is_hakmem else "0"
        if not res or res.get("hakmem") != want:
            raise RuntimeError(
                f"hakmem={res.get('hakmem') if res else '?'}"
                + (": hakmem NOT PROVEN" if is_hakmem else ""))
        counts.append((total, own))
    per = ((counts[1][0] - counts[1][1]) -
           (counts[0][0] - counts[0][1])) / n1
    loop = (counts[1][1] - counts[0][1]) / n1
    return per, loop


def need_callgrind(cfg, pkgs=()):
    """Install valgrind (and pkgs) when missing and allowed; exit without."""
    pkgs = list(pkgs)
    if not shutil.which("valgrind"):
        pkgs.append("valgrind")
    ensure_packages(pkgs, cfg)
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        sys.exit("bench: valgrind (callgrind) is not installed")


def cmd_instr(opts):
    cfg = Config(smoke=True)
    need_callgrind(cfg, [ALLOC_PACKAGES[a][0] for a in cfg.allocators
                         if a in ALLOC_PACKAGES])
    n1 = env_num("BENCH_INSTR_N", 500000, int, 1000)
    n2 = 2 * n1
    build = snapshot(opts.build)
    tmp = tempfile.mkdtemp(prefix="hakmem-instr-")
    try:
        libs, gaps = find_allocators(cfg, build)
        for a, why in gaps.items():
            say(f"bench-instr: SKIP {a}: {why}")
        results = {}
        failed = []
        for name, prog, args, fn, prefix in INSTR_CASES:
            for a in cfg.allocators:
                if a not in libs:
                    continue
                try:
                    per, loop = instr_case(build, prog, args, fn, prefix,
                                           a == "hakmem", libs[a], n1, tmp)
                except RuntimeError as e:
                    failed.append(f"{name} under {a}: {e}")
                    say(f"bench-instr: {name:24} {a:9} FAIL: {e}")
                    continue
                results[(name, a)] = per
                say(f"bench-instr: {name:24} {a:9} {per:7.1f} Ir/pair "
                    f"(loop {loop:.1f})")
        allocs = [a for a in cfg.allocators if a in libs]
        table = instr_table(results, allocs)
        say("")
        say(table)
        write_instr_section(table, n1, n2, allocs, gaps, failed)
        if failed:
            for f in failed:
                warn(f"FAIL: {f}")
            return 1
        return 0
    finally:
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def instr_table(results, allocs):
    rows = []
    for name, *_ in INSTR_CASES:
        r = [name]
        for a in allocs:
            v = results.get((name, a))
            r.append(f"{v:.1f}" if v is not None else "FAIL")
        h, m = results.get((name, "hakmem")), results.get((name, REFERENCE))
        if "hakmem" in allocs and REFERENCE in allocs:
            r.append(f"{h / m:.2f}" if h and m else "n/a")
        rows.append(r)
    header = ["case"] + allocs
    if "hakmem" in allocs and REFERENCE in allocs:
        header.append("hakmem / mimalloc")
    return md_table(header, rows)


def write_instr_section(table, n1, n2, allocs, gaps, failed):
    vg = subprocess.run(["valgrind", "--version"], capture_output=True,
                        text=True, check=False).stdout.strip()
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    head = hakmem_version()
    body = [INSTR_BEGIN, "",
            f"`make bench-instr` ({vg}, {when}, host "
            f"{socket.gethostname()}, hakmem {head}): instructions (Ir) "
            "that the timed loop spends in its callees (malloc, free and "
            "their PLT stubs) per malloc+free pair.  Each case runs under "
            "`valgrind --tool=callgrind --toggle-collect=LOOP` at "
            f"N = {n1} and 2N = {n2} iterations; (callees' Ir at 2N - at N) "
            "/ N removes the loop's own instructions and every one-time "
            "cost (start-up, first refills, page faults).  Exact and "
            "repeatable where wall time is noisy; it does not see cache "
            "misses or contention.  Lower is better.  A count is that of "
            "one deterministic run after a fixed warm-up: an allocator "
            "whose fast path depends on the state its pages are in can "
            "count differently from the best-of-3 timed tiny-hot runs.",
            "",
            "Cases: `tiny_hot --once --pattern=P SIZE N` (loop `run_lifo` or "
            "`run_ring`; ring64 frees the oldest of 64 live blocks) and "
            "`random_mixed --ops=N` (loop `mixed_ops`: free a random one "
            "of 8192 slots, malloc 16..1024 B).  hakmem proves itself "
            "with `hakmem=1` as in every run.",
            "", table, ""]
    body += gap_lines(gaps, failed)
    body.append(INSTR_END)
    write_doc_section("\n".join(body), INSTR_BEGIN, INSTR_END,
                      "## Instructions per malloc+free pair (callgrind)",
                      "instr")


def gap_lines(gaps, failed):
    """A section's lines on what was not measured ({allocator: why}) and
    what failed, and a blank line after them if any."""
    lines = [f"- {a}: not measured: {why}" for a, why in gaps.items()]
    lines += [f"- FAILED: {f}" for f in failed]
    return lines + [""] if lines else []


def run_note(target, when, minutes, load0, load1):
    """`make TARGET` (BENCH_* settings; date, host, cpus, hakmem version,
    minutes; load averages): how, when and where a section was made."""
    env = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                   if k.startswith("BENCH_") and v != "")
    return (f"`make {target}` ({env + '; ' if env else ''}{when}, "
            f"host {socket.gethostname()}, "
            f"{len(os.sched_getaffinity(0))} cpus, hakmem "
            f"{hakmem_version()}, {minutes:.1f} min; load average "
            f"{load0} at the start, {load1} at the end)")


def write_doc_section(section, begin, end, heading, what):
    """Put section (from begin to end, markers included) into
    docs/BENCHMARKS.md in place of the old one; a page without one gets
    heading and section just before its Log section."""
    old = ""
    if os.path.exists(DOCS):
        with open(DOCS) as f:
            old = f.read()
    i, j = old.find(begin), old.find(end)
    if 0 <= i < j:
        text = old[:i] + section + old[j + len(end):]
    else:
        log = preserved_parts(old)[2]
        head = old[:old.find(log)] if log else old
        if not head.strip():
            head = "# Benchmarks\n\nRun `make bench` for the tables.\n\n"
        text = (head.rstrip("\n") + "\n\n" + heading + "\n\n" + section
                + "\n\n" + (log or DEFAULT_LOG))
    os.makedirs(os.path.dirname(DOCS), exist_ok=True)
    with open(DOCS, "w") as f:
        f.write(text)
    say(f"bench: wrote the {what} section of {os.path.relpath(DOCS, ROOT)}")


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
