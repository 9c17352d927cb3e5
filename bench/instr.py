# SPDX-License-Identifier: MIT
"""instr.py - `make bench-instr`: callgrind instructions per malloc+free
pair, per allocator, into docs/BENCHMARKS.md.
"""

import datetime
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

from suite import (ALLOC_PACKAGES, Config, INSTR_BEGIN, INSTR_END, REFERENCE,
    env_num, hakmem_version, say, warn)
from runner import (describe_status, ensure_packages, find_allocators,
    parse_result, run_proc, snapshot)
from report import gap_lines, md_table, write_doc_section


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
