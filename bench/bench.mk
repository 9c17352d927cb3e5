# SPDX-License-Identifier: MIT
# bench/bench.mk - the benchmark suite's targets; the Makefile includes it.
#
#   make bench         every benchmark under hakmem (release), glibc,
#                      mimalloc, jemalloc and tcmalloc, interleaved,
#                      BENCH_REPS times: bench/results/<date>-<host>.csv
#                      (speed, peak RSS, user and sys seconds, minor
#                      faults), docs/BENCHMARKS.md and docs/bench-*.png
#   make bench-smoke   every benchmark at --smoke scale under every
#                      allocator, proving hakmem=1 (seconds; make test)
#   make bench-instr   callgrind instructions per malloc+free pair, into
#                      docs/BENCHMARKS.md
#   make bench-report  docs/BENCHMARKS.md and charts again from BENCH_CSV
#                      (default: the newest CSV in bench/results/)
#   make bench-checks  what the release-mode checks cost: Larson under the
#                      release library and under one built with
#                      -DHAK_RELEASE_CHECKS=0 ($(O)/nochecks/release),
#                      interleaved, BENCH_REPS (9) times each, and their
#                      callgrind counts; into docs/BENCHMARKS.md
#   make bench-scaling larson and xthread at 1, 2, 4, 8 threads
#                      (BENCH_THREADS_LIST) under every allocator: ns
#                      per op (median of BENCH_REPS (3) timed runs) and
#                      callgrind instructions per op; and hakmem's
#                      global lock acquisitions per million ops
#                      (HAKMEM_STATS=1) in six threaded benchmarks; into
#                      docs/BENCHMARKS.md (bench/scaling.py)
#   make bench-compare BASE=REV   the release library of git revision REV
#                      (built from `git archive` in $(O)/compare/) against
#                      the working tree's, every benchmark, interleaved,
#                      BENCH_REPS (11) pairs: head/base with a confidence
#                      interval per benchmark, into docs/BENCHMARKS.md;
#                      BENCH_HEAD_ENV="VAR=value ..." for the head's runs
#                      only (BASE=HEAD: what a setting costs)
#   make bench-vs VS=mimalloc   hakmem (release) against one other
#                      allocator the same way: hakmem over VS per pair, with
#                      its interval, and both sys-time medians, into
#                      docs/BENCHMARKS.md (issue 14's ratios without a
#                      single run's noise)
#
# Knobs (environment or make variables): BENCH_SCALE, BENCH_REPS,
# BENCH_THREADS, BENCH_ALLOCATORS, BENCH_ONLY, BENCH_INSTALL,
# BENCH_INSTR_N; see bench/bench.py (BENCH_THREADS_LIST: bench/scaling.py).
# The programs are bench/*.c, built into $(B)/bench/ by `make benches`;
# bench/bench.py always measures the release flavour, $(O)/release.

PYTHON ?= python3
BENCH_PROBE := $(B)/bench/hakmem_probe.so
BENCH_DRIVER = $(PYTHON) bench/bench.py
BENCH_BUILD = $(O)/release
export BENCH_SCALE BENCH_REPS BENCH_THREADS BENCH_THREADS_LIST BENCH_HEAD_ENV \
	BENCH_ALLOCATORS BENCH_ONLY BENCH_INSTALL BENCH_INSTR_N

.PHONY: bench bench-smoke bench-instr bench-report bench-checks \
	bench-scaling bench-compare bench-vs

# The preloadable proof for programs we cannot change (redis-server).
benches: $(BENCH_PROBE)

$(BENCH_PROBE): bench/probe/hakmem_probe.c include/hakmem.h $(B)/.cflags
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(PROG_CFLAGS) -fPIC -shared -MMD -MP -o $@ $< \
		$(ALL_LDFLAGS) -ldl

bench bench-smoke bench-instr: FORCE
	@$(MAKE) --no-print-directory FLAVOUR=release lib benches
	@$(BENCH_DRIVER) $(if $(filter bench,$@),run,$(@:bench-%=%)) \
		--build $(BENCH_BUILD) --cc '$(CC)'

bench-report: FORCE
	@$(BENCH_DRIVER) report $(BENCH_CSV)

# The same sources with the release-mode checks compiled out, in a build
# directory of their own; bench/checks.py runs both libraries under the
# release build's programs.
BENCH_NOCHECKS = $(O)/nochecks
bench-checks: FORCE
	@$(MAKE) --no-print-directory FLAVOUR=release lib benches
	@$(MAKE) --no-print-directory FLAVOUR=release O=$(BENCH_NOCHECKS) \
		CFLAGS='$(CFLAGS) -DHAK_RELEASE_CHECKS=0' lib
	@$(PYTHON) bench/checks.py $(BENCH_BUILD) $(BENCH_NOCHECKS)/release

# Does the cost of an operation grow with the number of threads?
bench-scaling: FORCE
	@$(MAKE) --no-print-directory FLAVOUR=release lib benches
	@$(PYTHON) bench/scaling.py $(BENCH_BUILD)

# Before and after: REV's sources, exported (not checked out: the working
# tree stays as it is), built as a release library of their own.
BENCH_COMPARE = $(O)/compare
bench-compare: FORCE
	@test -n "$(BASE)" || { echo "make bench-compare BASE=<git revision>" >&2; exit 2; }
	@$(MAKE) --no-print-directory FLAVOUR=release lib benches
	@rm -rf $(BENCH_COMPARE)/src && mkdir -p $(BENCH_COMPARE)/src
	@git archive --format=tar $(BASE) | tar -x -C $(BENCH_COMPARE)/src
	@$(MAKE) --no-print-directory -C $(BENCH_COMPARE)/src FLAVOUR=release \
		O=$(abspath $(BENCH_COMPARE)/build) lib >/dev/null
	@$(PYTHON) bench/compare.py $(BENCH_COMPARE)/build/release \
		$(BENCH_BUILD) "$$(git rev-parse --short $(BASE))"

VS ?= mimalloc
bench-vs: FORCE
	@$(MAKE) --no-print-directory FLAVOUR=release lib benches
	@$(PYTHON) bench/compare.py --vs $(VS) $(BENCH_BUILD)
