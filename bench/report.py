# SPDX-License-Identifier: MIT
"""report.py - docs/BENCHMARKS.md from a run's CSV: medians and ratios,
the markdown tables, the sections other targets write (kept), and
`make bench-report`.
"""

import csv
import io
import math
import os
import re
import socket
import statistics
import sys

from suite import (ALLOCATORS, BENCHES, CHART_RSS, CHART_SYS, CHART_TPUT,
    DOCS, INSTR_BEGIN, INSTR_END, KEPT_SECTIONS, LOG_HEADING, REFERENCE, RESULTS,
    ROOT, hakmem_version, say, warn)
from charts import gnuplot_chart


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
        # medians of the getrusage columns; None where the CSV has none
        # (written before they existed) or no run succeeded
        self.user, self.sys, self.minflt = (
            median_of(ok, k) for k in ("user_s", "sys_s", "minflt"))

    def reason(self):
        if not self.fails:
            return ""
        d = self.fails[0]["detail"]
        return d.split(" | ")[0]


def median_of(rows, key):
    vals = []
    for r in rows:
        try:
            vals.append(float(r.get(key) or ""))
        except ValueError:
            pass
    return statistics.median(vals) if vals else None


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


def ratio_rows(cells, benches, allocs, field):
    """A row per benchmark: each allocator's median @field over mimalloc's
    (two decimals), or the gap's text where there is no ratio."""
    rows = []
    for b in benches:
        r = [b.name]
        for a in allocs:
            v = ratio(cells, b.name, a, field)
            r.append(f"{v:.2f}" if v is not None else
                     cell_text(cells, b, a, lambda c: ""))
        rows.append(r)
    return rows


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
    """The page; charts: the file names of the charts drawn."""
    cells = cells_of(rows)
    allocs = allocs_in(rows)
    benches = benches_in(rows)
    L = []
    L.append("# Benchmarks")
    L.append("")
    L.append(f"<!-- Generated by bench/bench.py from {csv_rel}. Everything "
             "above the instruction-count section is rewritten by `make "
             "bench` (or `make bench-report`); that section by `make "
             "bench-instr`; the next ones by `make bench-checks`, `make "
             "bench-scaling`, `make bench-compare` and `make bench-vs`; "
             "the Log "
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
    L.append(md_table(["benchmark"] + allocs,
                      ratio_rows(cells, benches, allocs, "ops")))
    L.append("")
    if CHART_TPUT in charts:
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
    L.append(md_table(["peak RSS / mimalloc's"] + allocs,
                      ratio_rows(cells, benches, allocs, "rss")))
    L.append("")
    if CHART_RSS in charts:
        L.append(f"![peak RSS]({CHART_RSS})")
        L.append("")
    L += kernel_section(cells, benches, allocs, charts)
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


def kernel_section(cells, benches, allocs, charts):
    """Lines of the sys-time and page-fault tables (none for a CSV without
    those columns)."""
    if not any(c.sys is not None for c in cells.values()):
        return []

    def cell(b, a, fn):
        return cell_text(cells, b, a, lambda c: "n/a" if c.sys is None
                         else fn(c))
    L = ["## Kernel time and page faults", "",
         "System (kernel) CPU seconds of a run, median, with the user "
         "seconds in brackets; then minor page faults, median: getrusage() of the run's processes, before and after "
         "(for redis: the driver, the server and redis-benchmark "
         "together).  An allocator that hands memory back to the kernel "
         "and touches it again soon pays here twice: munmap or madvise, "
         "then a fault per page.", ""]
    vs = "hakmem" in allocs and REFERENCE in allocs
    rows = [[b.name] + [cell(b, a, lambda c: f"{c.sys:.2f} ({c.user:.2f})")
                        for a in allocs] + ([sys_ratio(cells, b)] if vs
                                            else [])
            for b in benches]
    L += [md_table(["sys s (user s)"] + allocs +
                   ([f"hakmem sys / {REFERENCE}'s"] if vs else []), rows),
          ""]
    rows = [[b.name] + [cell(b, a, lambda c: f"{round(c.minflt):,}")
                        for a in allocs] for b in benches]
    L += [md_table(["minor faults"] + allocs, rows), ""]
    if CHART_SYS in charts:
        L += [f"![system time]({CHART_SYS})", ""]
    return L


def sys_ratio(cells, b):
    """hakmem's median sys seconds over the reference's; both at least
    SYS_FLOOR, or the ratio of two clock ticks means nothing."""
    h, r = cells.get((b.name, "hakmem")), cells.get((b.name, REFERENCE))
    if not h or not r or h.sys is None or r.sys is None:
        return "n/a"
    if max(h.sys, r.sys) < SYS_FLOOR:
        return "-"
    return f"{max(h.sys, SYS_FLOOR) / max(r.sys, SYS_FLOOR):.2f}"


SYS_FLOOR = 0.01	# the sys chart's floor: getrusage ticks are coarse
SYS_TICKS = (0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100)


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
    has_sys = any(c.sys is not None for c in cells.values())
    ok3 = has_sys and gnuplot_chart(
        os.path.join(docs_dir, CHART_SYS),
        f"System (kernel) CPU seconds per run (median of "
        f"{meta.get('reps')} runs; {meta.get('host', '')}, "
        f"{meta.get('date', '')}; {SYS_FLOOR:g} s or less drawn at "
        f"{SYS_FLOOR:g})",
        "sys seconds (log scale)", benches, allocs,
        lambda b, a: (max(cells[(b.name, a)].sys, SYS_FLOOR)
                      if (b.name, a) in cells and
                      cells[(b.name, a)].sys is not None else None),
        True, False, SYS_TICKS)
    # the sys chart only for a CSV with the getrusage columns
    want = ((CHART_TPUT, ok1), (CHART_RSS, ok2)) + \
        (((CHART_SYS, ok3),) if has_sys else ())
    charts = {n for n, ok in want if ok}
    missing = [n for n, ok in want if not ok]
    if missing:
        warn(f"charts not drawn: {' '.join(missing)} (gnuplot missing or "
             f"failed, or nothing to draw: ratios need {REFERENCE}); the "
             "page links the others")
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
        + "".join(f", docs/{n}" for n in sorted(charts)))
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
