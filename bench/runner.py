# SPDX-License-Identifier: MIT
"""runner.py - running the suite: finding and installing the allocators,
copying the build, running one benchmark under one allocator and proving
who served it, `make bench` (run) and `make bench-smoke` (smoke), and the
CSV of a run.
"""

import csv
import datetime
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from suite import (ALLOC_PACKAGES, CSV_FIELDS, Config, REDIS_PACKAGES, RESULTS,
    ROOT, hakmem_version, say, warn)
from report import fmt3, report, show_ops, unit_label


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


def lib_copy(build, tmp, name, who):
    """Copy build/libhakmem.so to tmp/name/ (a library the runs preload
    that a rebuild cannot change); its path.  who names the caller in the
    message when the library is missing."""
    src = os.path.join(build, "libhakmem.so")
    if not os.path.exists(src):
        sys.exit(f"{who}: {src} missing (make FLAVOUR=release lib)")
    os.mkdir(os.path.join(tmp, name))
    return shutil.copy2(src, os.path.join(tmp, name, "libhakmem.so"))


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
    user = ru1.ru_utime - ru0.ru_utime
    sys_s = ru1.ru_stime - ru0.ru_stime
    # the run's processes (the program; for redis the driver, the server
    # and the client), which the children's totals gain when reaped
    row = {"bench": bench.name, "allocator": alloc, "rep": rep,
           "status": "fail", "ops_per_sec": "", "rss_peak_kb": "",
           "seconds": "", "hakmem": "", "wall_s": f"{wall:.2f}",
           "cpu_s": f"{user + sys_s:.2f}", "user_s": f"{user:.3f}",
           "sys_s": f"{sys_s:.3f}",
           "minflt": str(ru1.ru_minflt - ru0.ru_minflt), "detail": ""}
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


def progress(row, bench):
    if row["status"] == "ok":
        v = show_ops(bench, float(row["ops_per_sec"]))
        return (f"{fmt3(v)} {unit_label(bench)}, "
                f"rss {int(row['rss_peak_kb']) / 1024:.1f} MiB, "
                f"sys {float(row['sys_s']):.2f} s, "
                f"{int(row['minflt']) / 1000:.0f} k faults")
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
