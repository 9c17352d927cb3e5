#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-docs.py - what comments and docs cite must exist.

    ci/check-docs.py CHECK [ROOT]       check the tree at ROOT (default: repo)
    ci/check-docs.py CHECK --self-test  prove CHECK fails on a broken tree

CHECK is one of:

invariants  every "invariant N" (also "invariants N and M", "N-M") cited in
            a comment or a doc is one of docs/DESIGN.md's numbered invariants
            (an item "N." of a list under a heading that says "invariant", or
            a heading "Invariant N"), and nothing cites a file outside the
            repository (a ../ path that leaves it or names nothing in it,
            such as a design document kept next to the checkout).
paths       every file path cited in a comment or a doc exists: a word with a
            slash that ends in a known extension (.c .h .sh .md ...) or starts
            with a top-level directory of the repository (tests/known-failures,
            hakmem/remote/).  Resolved from the citing file's directory, each
            directory above it, and hakmem/ (boxes cite "tiny/heap.c");
            "X.t" names the test built from X.c or X.cc.  Skipped: another
            project's file ("liburing's test/helpers.h") and the paths in
            ELSEWHERE below.
options     the HAKMEM_* options documented (the README's options table and
            man/hakmem.3's ENVIRONMENT section) are exactly those the code
            reads (hakmem/options.c's table), and each of those is asked
            for (hak_opt(HAK_OPT_...) or hak_opt_str() in hakmem/ or
            debug/); the trace
            events documented (the README's and man page's
            HAKMEM_TRACE_RING entry, and the names in debug/trace.c) are
            exactly those emitted (hak_trace(HAK_EV_...) in hakmem/ and
            debug/).
sizes       no source file of the library (hakmem/, debug/, include/) or of
            bench/ is over MAX_LINES lines.

Comments are C's /* */ and //, and # comments of shell, make, Python, YAML
and awk (with Python's docstrings); docs are *.md and man pages, whole.
Files are the tracked ones in a git checkout, else every file outside
build/.  Each finding is one "file:line: why" line; exit status 1 if any.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

MAX_LINES = 600
DESIGN = "docs/DESIGN.md"
# paths cited on purpose that are not in the repository, and why
ELSEWHERE = {
    "share/man/man3/hakmem.3": "an install destination under PREFIX",
}
EXT = ("c", "h", "cc", "sh", "bash", "py", "mk", "md", "yml", "yaml", "map",
       "in", "3", "awk", "pl", "sql", "txt", "csv", "json", "t")
C_FILES = (".c", ".h", ".cc")
HASH_FILES = (".sh", ".bash", ".mk", ".py", ".yml", ".yaml", ".awk", ".pl",
              ".in")
DOC_FILES = (".md", ".3")


def tree_files(root):
    """Tracked files (a git checkout), else every file outside build/."""
    try:
        top = subprocess.run(["git", "-C", root, "rev-parse",
                              "--show-toplevel"], capture_output=True,
                             text=True, check=True).stdout.strip()
        if os.path.realpath(top) == os.path.realpath(root):
            out = subprocess.run(["git", "-C", root, "ls-files", "-z"],
                                 capture_output=True, text=True, check=True)
            return sorted(f for f in out.stdout.split("\0")
                          if f and os.path.isfile(os.path.join(root, f)))
    except (subprocess.CalledProcessError, FileNotFoundError):
        pass
    files = []
    for d, dirs, names in os.walk(root):
        rel = os.path.relpath(d, root)
        dirs[:] = [x for x in dirs if not (rel == "." and x in ("build",
                                                                ".git"))]
        for n in names:
            files.append(os.path.normpath(os.path.join(rel, n)))
    return sorted(files)


def read(root, f):
    try:
        with open(os.path.join(root, f), encoding="utf-8") as fh:
            return fh.read()
    except (UnicodeDecodeError, OSError):
        return None


def blank(m):
    """m's text with everything but newlines made spaces."""
    return re.sub(r"[^\n]", " ", m.group(0))


def c_comments(text):
    """Only the comments of C text; everything else blanked, lines kept."""
    out = []
    pos = 0
    pat = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'
                     r"'(?:\\.|[^'\\\n])*'", re.S)
    for m in pat.finditer(text):
        out.append(re.sub(r"[^\n]", " ", text[pos:m.start()]))
        s = m.group(0)
        out.append(s if s.startswith("/") else blank(m))
        pos = m.end()
    out.append(re.sub(r"[^\n]", " ", text[pos:]))
    return "".join(out)


def hash_comments(text, python=False):
    """Only the # comments (and Python's triple-quoted strings)."""
    keep = []
    if python:
        for m in re.finditer(r'"""(.*?)"""', text, re.S):
            keep.append((m.start(), m.end()))
    lines = []
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        if any(a <= pos and end <= b for a, b in keep):
            lines.append(line)
        else:
            m = re.search(r"(^|\s)#(?![!{#])", line)
            lines.append(" " * m.end() + line[m.end():] if m else "")
        pos = end + 1
    return "\n".join(lines)


def prose(root, f):
    """The comments or doc text of file f (None: neither)."""
    text = read(root, f)
    if text is None or f.startswith("bench/results/"):
        return None
    base = os.path.basename(f)
    if f.endswith(C_FILES):
        return c_comments(text)
    if f.endswith(DOC_FILES) or f.startswith("man/"):
        return text
    if (f.endswith(HASH_FILES) or base in ("Makefile", "known-failures")
            or text.startswith("#!")):
        return hash_comments(text, f.endswith(".py"))
    return None


def report(found):
    for line in found:
        print(line)
    return 1 if found else 0


# ---- invariants -------------------------------------------------------------
CITE = re.compile(r"\binvariants?\s+"
                  r"(\d+(?:\s*(?:,|and|or|-|\u2013|to)\s*\d+)*)", re.I)
OUTSIDE = re.compile(r"(?<![\w./-])((?:\.\./)+[\w./-]+)")


def design_invariants(text):
    """The numbers of DESIGN.md's invariants."""
    nums = set()
    level = None
    for line in text.split("\n"):
        h = re.match(r"(#+)\s+(.*)", line)
        if h:
            n = len(h.group(1))
            if level is not None and n <= level:
                level = None
            m = re.search(r"\binvariant\s+(\d+)\b", h.group(2), re.I)
            if m:
                nums.add(int(m.group(1)))
            elif re.search(r"invariant", h.group(2), re.I):
                level = n
            continue
        if level is not None:
            m = re.match(r"\s{0,3}(\d+)[.)]\s", line)
            if m:
                nums.add(int(m.group(1)))
    return nums


def cited_numbers(s):
    nums = set()
    for part in re.split(r"\s*(?:,|and|or)\s*", s):
        r = re.match(r"(\d+)\s*(?:-|\u2013|to)\s*(\d+)$", part.strip())
        if r:
            nums.update(range(int(r.group(1)), int(r.group(2)) + 1))
        elif part.strip().isdigit():
            nums.add(int(part))
    return nums


def check_invariants(root):
    found = []
    text = read(root, DESIGN)
    defined = design_invariants(text) if text is not None else None
    for f in tree_files(root):
        body = prose(root, f)
        if body is None:
            continue
        for ln, line in enumerate(body.split("\n"), 1):
            for m in CITE.finditer(line):
                nums = cited_numbers(m.group(1))
                if defined is None:
                    found.append(f"{f}:{ln}: cites invariant "
                                 f"{m.group(1)}, but {DESIGN} is missing")
                    continue
                for n in sorted(nums - defined):
                    found.append(f"{f}:{ln}: cites invariant {n}, which "
                                 f"{DESIGN} does not number")
            for m in OUTSIDE.finditer(line):
                p = m.group(1).rstrip(".")
                full = os.path.normpath(os.path.join(os.path.dirname(f), p))
                if full.startswith("..") or not os.path.exists(
                        os.path.join(root, full)):
                    found.append(f"{f}:{ln}: cites {p}, outside the "
                                 "repository")
    return found


# ---- paths ------------------------------------------------------------------
# a word with slashes, not inside a longer path, a pattern or a variable
TOKEN = re.compile(r"(?<![\w./<>$@%*{}~:\\-])"
                   r"((?:\.\.?/)*[\w.+-]+(?:/[\w.+-]+)*/?)")


def path_exists(root, f, p):
    if p.endswith(".t"):
        return any(path_exists(root, f, p[:-2] + e) for e in (".c", ".cc"))
    d = os.path.dirname(f)
    bases = []
    while True:
        bases.append(d)
        if not d:
            break
        d = os.path.dirname(d)
    bases.append("hakmem")
    for b in bases:
        full = os.path.normpath(os.path.join(b, p))
        if not full.startswith("..") and os.path.exists(
                os.path.join(root, full)):
            return True
    return False


def check_paths(root):
    found = []
    files = tree_files(root)
    top = {f.split("/")[0] for f in files if "/" in f}
    ext = re.compile(r"\.(?:" + "|".join(EXT) + r")$")
    for f in files:
        body = prose(root, f)
        if body is None:
            continue
        for ln, line in enumerate(body.split("\n"), 1):
            for m in TOKEN.finditer(line):
                p = m.group(1).rstrip(".")
                if "/" not in p.rstrip("/") or "://" in line[m.start() - 3:
                                                              m.end()]:
                    continue
                after = line[m.end():m.end() + 1]
                if after and after in "<*${%(":
                    continue    # a pattern: tests/unit/<box>/, bench/*.c
                first = p.lstrip("./").split("/")[0]
                if not (ext.search(p) or first in top or p.startswith("../")):
                    continue
                if p in ELSEWHERE:
                    continue
                if re.search(r"\w's\s+$", line[:m.start()]):
                    continue    # another project's file: "liburing's x/y.h"
                if not path_exists(root, f, p):
                    found.append(f"{f}:{ln}: cites {p}, which does not "
                                 "exist")
    return found


# ---- options and trace events ---------------------------------------------
def section(text, start, stop):
    a = text.find(start)
    if a < 0:
        return ""
    b = text.find(stop, a + len(start))
    return text[a:b if b >= 0 else len(text)]


def event_names(s):
    """'alloc, free, remote push' -> {'alloc', 'free', 'remote-push'}"""
    return {re.sub(r"\s+", "-", w.strip()) for w in s.split(",") if w.strip()}


def check_options(root):
    found = []
    code = read(root, "hakmem/options.c") or ""
    readme = read(root, "README.md") or ""
    man = read(root, "man/hakmem.3") or ""
    read_by_code = set(re.findall(r'"(HAKMEM_[A-Z0-9_]+)"', code))
    if not read_by_code:
        found.append("hakmem/options.c: no \"HAKMEM_...\" option table")
    # an option parsed but never asked for does nothing
    lib = "".join(read(root, f) or "" for f in tree_files(root)
                  if f.startswith(("hakmem/", "debug/")) and
                  f.endswith(C_FILES) and f not in ("hakmem/options.c",
                                                    "hakmem/options.h"))
    for enum, name in re.findall(r'\[(HAK_OPT_[A-Z0-9_]+)\]\s*=\s*\{\s*'
                                 r'"(HAKMEM_[A-Z0-9_]+)"', code):
        if not re.search(r"\bhak_opt(?:_str)?\(\s*" + enum + r"\s*\)", lib):
            found.append(f"hakmem/options.c: {name} is parsed but nothing "
                         f"calls hak_opt({enum})")
    table = section(readme, "| variable | default | effect |", "\n\n")
    in_readme = set(re.findall(r"^\| `(HAKMEM_[A-Z0-9_]+)`", table, re.M))
    env = section(man, ".SH ENVIRONMENT", "\n.SH ")
    in_man = set(re.findall(r"^\.B (HAKMEM_[A-Z0-9_]+)$", env, re.M))
    for name, doc in (("README.md (options table)", in_readme),
                      ("man/hakmem.3 (ENVIRONMENT)", in_man)):
        for o in sorted(read_by_code - doc):
            found.append(f"{name}: {o} is read by hakmem/options.c but not "
                         "documented here")
        for o in sorted(doc - read_by_code):
            found.append(f"{name}: {o} is documented but hakmem/options.c "
                         "does not read it")

    # trace events: enum -> names in debug/trace.c -> documented lists
    trace = read(root, "debug/trace.c") or ""
    names = dict(re.findall(r'\[(HAK_EV_[A-Z_]+)\]\s*=\s*"([^"]+)"', trace))
    if not names:
        found.append("debug/trace.c: no [HAK_EV_...] = \"name\" table")
    emitted = set()
    for f in tree_files(root):
        if f.startswith(("hakmem/", "debug/")) and f.endswith(C_FILES):
            body = read(root, f) or ""
            emitted |= set(re.findall(r"\bhak_trace\(\s*(HAK_EV_[A-Z_]+)",
                                      body))
    for ev in sorted(set(names) - emitted):
        found.append(f"debug/trace.c: trace event {ev} (\"{names[ev]}\") is "
                     "never emitted (no hak_trace(" + ev + ", ...))")
    named = set(names.values())
    for name, doc in (("README.md", readme), ("man/hakmem.3", man)):
        m = re.search(r"HAKMEM_TRACE_RING.*?allocator events \(([^)]*)\)",
                      doc, re.S)
        if not m:
            found.append(f"{name}: HAKMEM_TRACE_RING lists no events "
                         "(\"allocator events (a, b, ...)\")")
            continue
        listed = event_names(m.group(1))
        for e in sorted(listed - named):
            found.append(f"{name}: trace event '{e}' is documented but "
                         "debug/trace.c has no such event")
        for e in sorted(named - listed):
            found.append(f"{name}: trace event '{e}' (debug/trace.c) is not "
                         "documented")
    return found


# ---- sizes ------------------------------------------------------------------
def check_sizes(root):
    found = []
    for f in tree_files(root):
        if not f.startswith(("hakmem/", "debug/", "include/", "bench/")):
            continue
        if not f.endswith((".c", ".h", ".cc", ".py")):
            continue
        n = (read(root, f) or "").count("\n")
        if n > MAX_LINES:
            found.append(f"{f}:{n}: {n} lines, over {MAX_LINES}: split it "
                         "by concern")
    return found


CHECKS = {"invariants": check_invariants, "paths": check_paths,
          "options": check_options, "sizes": check_sizes}


# ---- self-tests: a small tree, clean then broken ----------------------------
def write(root, f, text):
    os.makedirs(os.path.dirname(os.path.join(root, f)) or root,
                exist_ok=True)
    with open(os.path.join(root, f), "w", encoding="utf-8") as fh:
        fh.write(text)


def clean_tree(root):
    write(root, DESIGN, "# Design\n\n## Invariants\n\n1. One.\n2. Two.\n\n"
          "## Later\n\n3. not an invariant\n")
    write(root, "hakmem/tiny/heap.c", "/* keeps invariant 2; see "
          "tiny/tiny.h and hakmem/tiny/tiny.h */\nint x;\n")
    write(root, "hakmem/tiny/tiny.h", "// invariants 1-2 hold; tests/run.sh\n")
    write(root, "tests/run.sh", "#!/bin/sh\n# runs tests/unit/x.t\n"
          "echo 'invariant 9 in a string is not a citation'\n")
    write(root, "tests/unit/x.c", "int main(void) { return 0; }\n")
    write(root, "hakmem/options.c",
          '[HAK_OPT_STATS] = { "HAKMEM_STATS", 0, 0, 1 },\n'
          '[HAK_OPT_TRACE_RING] = { "HAKMEM_TRACE_RING", 0, 0, 1 },\n')
    write(root, "hakmem/init.c", "g() { hak_opt(HAK_OPT_STATS); "
          "hak_opt(HAK_OPT_TRACE_RING); }\n")
    write(root, "debug/trace.c", '[HAK_EV_ALLOC] = "alloc", '
          '[HAK_EV_REMOTE_PUSH] = "remote-push",\n')
    write(root, "hakmem/api.c", "f() { hak_trace(HAK_EV_ALLOC, 0, p, 0); "
          "hak_trace(HAK_EV_REMOTE_PUSH, 0, p, 0); }\n")
    write(root, "README.md", "See docs/DESIGN.md (invariant 1).\n\n"
          "| variable | default | effect |\n|---|---|---|\n"
          "| `HAKMEM_STATS` | 0 | x |\n| `HAKMEM_TRACE_RING` | 0 | "
          "allocator events (alloc, remote push) |\n\nMore.\n")
    write(root, "man/hakmem.3", ".SH ENVIRONMENT\n.TP\n.B HAKMEM_STATS\n"
          "x\n.TP\n.B HAKMEM_TRACE_RING\nallocator events (alloc,\nremote "
          "push)\n.SH FILES\n")
    write(root, "bench/bench.py", "x = 1\n" * MAX_LINES)


# CHECK: [(file, text appended, what the finding must say)]
BREAKS = {
    "invariants": [("hakmem/tiny/heap.c", "/* invariant 3 */\n",
                    "cites invariant 3"),
                   ("tests/unit/x.c", "/* DESIGN invariants 1 and 7 */\n",
                    "cites invariant 7"),
                   ("README.md", "The design: ../outside/DESIGN.md.\n",
                    "outside the repository")],
    "paths": [("hakmem/tiny/tiny.h", "/* see tiny/refill.c */\n",
               "tiny/refill.c"),
              ("README.md", "Run `tests/unit/y.t`.\n", "tests/unit/y.t"),
              ("tests/run.sh", "# ci/gone.sh does it\n", "ci/gone.sh")],
    "options": [("README.md", "| `HAKMEM_GONE` | 0 | x |\n", "HAKMEM_GONE"),
                ("hakmem/options.c", 'const char *u = "HAKMEM_NEW";\n',
                 "HAKMEM_NEW"),
                ("debug/trace.c", '[HAK_EV_REFILL] = "refill",\n',
                 "HAK_EV_REFILL"),
                ("hakmem/options.c",
                 '[HAK_OPT_IDLE] = { "HAKMEM_IDLE", 0, 0, 1 },\n',
                 "nothing calls hak_opt(HAK_OPT_IDLE)")],
    "sizes": [("bench/bench.py", "x = 2\n", "bench/bench.py:601")],
}


def self_test(name):
    tmp = tempfile.mkdtemp(prefix="hakmem-check-docs.")
    try:
        clean_tree(tmp)
        found = CHECKS[name](tmp)
        if found:
            print(f"check-docs {name} self-test: FAIL: the clean tree "
                  "fails:\n" + "\n".join(found), file=sys.stderr)
            return 1
        for f, text, want in BREAKS[name]:
            if f == "README.md" and name == "options":
                path = os.path.join(tmp, f)
                old = read(tmp, f)
                write(tmp, f, old.replace("\n\nMore.", "\n" + text.rstrip()
                                          + "\n\nMore."))
            else:
                old = read(tmp, f)
                write(tmp, f, old + text)
            found = CHECKS[name](tmp)
            hit = [x for x in found if want in x]
            if not hit:
                print(f"check-docs {name} self-test: FAIL: not caught: "
                      f"{text.strip()!r} in {f}\n" + "\n".join(found),
                      file=sys.stderr)
                return 1
            print(f"check-docs {name} self-test: caught: {hit[0]}")
            write(tmp, f, old)
        print(f"check-docs {name} self-test: {len(BREAKS[name])} breakages "
              "caught, clean tree passes")
        return 0
    finally:
        shutil.rmtree(tmp)


def main(argv):
    if len(argv) not in (2, 3) or argv[1] not in CHECKS:
        print(f"usage: {argv[0]} {'|'.join(CHECKS)} [ROOT | --self-test]",
              file=sys.stderr)
        return 2
    name = argv[1]
    if len(argv) == 3 and argv[2] == "--self-test":
        return self_test(name)
    root = argv[2] if len(argv) == 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..")
    found = CHECKS[name](os.path.realpath(root))
    if found:
        report(found)
        print(f"check-{name}: {len(found)} finding(s)", file=sys.stderr)
        return 1
    print(f"check-{name}: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
