# SPDX-License-Identifier: MIT
"""charts.py - the bar charts of docs/BENCHMARKS.md (gnuplot, PNG).
"""

import math
import os
import shutil
import subprocess
import tempfile

from suite import warn


def gp_str(s):
    """A gnuplot double-quoted string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


COLORS = {"hakmem": "#d62728", "glibc": "#7f7f7f", "mimalloc": "#1f77b4",
          "jemalloc": "#2ca02c", "tcmalloc": "#ff7f0e"}


def gnuplot_chart(out, title, ylabel, benches, allocs, value, logy, ref1,
                  ytics=None):
    """A clustered bar chart: one cluster per benchmark.  ytics: the tick
    values of a log scale (default: powers of two)."""
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
            if ytics:
                script.append("set ytics (" + ", ".join(
                    f"'{t:g}' {t:g}" for t in ytics
                    if ymin <= t <= ymax) + ")")
            elif ref1:
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
