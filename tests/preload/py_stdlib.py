# SPDX-License-Identifier: MIT
"""py_stdlib.py - run some of CPython's own test modules (Debian package
libpython3.X-testsuite) and print a summary that does not depend on timing,
for tests/preload/python.sh to compare with and without hakmem.

    python3 py_stdlib.py test_json test_re ...

Everything the tests themselves print (fd 1 included, so subprocesses too)
goes to stderr; HAKMEM_STATS is dropped from the environment of the
interpreters the tests start (they check their stderr).  stdout gets, per module, the number of tests run, failed,
errored and skipped, and the id of every test that did not pass.  Exit
status 0 only if every module loaded and passed.
"""
import os
import sys
import unittest


class Result(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.ids = {}

    def _mark(self, test, what):
        self.ids.setdefault(what, []).append(test.id())

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._mark(test, "FAIL")
        print(self._exc_info_to_string(err, test), file=sys.stderr)

    def addError(self, test, err):
        super().addError(test, err)
        self._mark(test, "ERROR")
        print(self._exc_info_to_string(err, test), file=sys.stderr)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._mark(test, "UNEXPECTED-SUCCESS")


def main(names):
    # Child interpreters (many tests start some) still run under hakmem,
    # but must not print its stats line: tests check their stderr.
    os.environ.pop("HAKMEM_STATS", None)
    lines = []
    ok = True
    out = os.dup(1)
    os.dup2(2, 1)  # the tests' own output, ours comes at the end
    sys.stdout = sys.stderr
    try:
        for name in names:
            suite = unittest.defaultTestLoader.loadTestsFromName(
                "test." + name)
            res = Result()
            suite.run(res)
            lines.append(f"{name}: ran {res.testsRun} failed "
                         f"{len(res.failures)} errors {len(res.errors)} "
                         f"skipped {len(res.skipped)}")
            for what in sorted(res.ids):
                for tid in sorted(res.ids[what]):
                    lines.append(f"  {what} {tid}")
            ok = ok and res.wasSuccessful() and res.testsRun > 0
    finally:
        sys.stdout.flush()
        os.dup2(out, 1)
        sys.stdout = os.fdopen(out, "w")
    print("\n".join(lines))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
