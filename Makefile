# SPDX-License-Identifier: MIT
# hakmem - one non-recursive Makefile.  `make help` lists the targets.
#
#   make                 release build: build/release/libhakmem.{so,a}
#   make FLAVOUR=debug   any flavour into build/<flavour>/ (or: make debug)
#   make test            every test of every flavour built here
#   make V=1             show full commands

# The version, here and nowhere else: the soname (libhakmem.so.MAJOR),
# the file name, hakmem.pc, the man pages, hak_version() and the launcher
# take it from this line.  MAJOR changes when the ABI does.
HAK_VERSION := 0.1.0
HAK_SOMAJOR := $(firstword $(subst ., ,$(HAK_VERSION)))


# CC=clang (or clang-14) brings its C++ driver along: mixing compilers
# would mix sanitizer runtimes.  gcc unless CC is given (make's built-in
# default is cc; make -R leaves CC undefined).
ifneq ($(filter default undefined,$(origin CC)),)
CC := gcc
endif
ifneq ($(filter default undefined,$(origin CXX)),)
CXX := $(if $(findstring clang,$(CC)),$(subst clang,clang++,$(CC)),g++)
endif
IS_CLANG := $(if $(findstring clang,$(CC)),1,0)

# The flavour table: FLAVOURS and every flavour's flags, run environment,
# runner, negative tests and CI compilers.
include mk/flavours.mk
# a field left out of a block is a typo or a half-added flavour
$(foreach f,$(FLAVOURS),$(foreach k,$(FLAVOUR_FIELDS),$(if $(filter \
	undefined,$(origin FLAVOUR_$k_$f)),$(error mk/flavours.mk: flavour $f \
	has no FLAVOUR_$k_$f))))
$(foreach f,$(FLAVOURS),$(foreach n,$(FLAVOUR_NEGATIVE_$f),$(if \
	$(NEGATIVE_WANT_$f/$n),,$(error mk/flavours.mk: flavour $f has no \
	NEGATIVE_WANT_$f/$n))))
FLAVOUR_RUNS := $(FLAVOURS:%=%-run)
FLAVOUR_TESTS := $(FLAVOURS:%=test-%)
FLAVOUR ?= release
O ?= build
B := $(O)/$(FLAVOUR)

ifeq ($(filter $(FLAVOUR),$(FLAVOURS)),)
$(error unknown FLAVOUR '$(FLAVOUR)'; one of: $(FLAVOURS))
endif

# ---- quiet output (kernel/git style) ---------------------------------------
ifeq ($(origin V),command line)
  VERBOSE := $(V)
endif
ifneq ($(VERBOSE),1)
  QUIET_CC   = @printf '  %-7s %s\n' CC $@;
  QUIET_CXX  = @printf '  %-7s %s\n' CXX $@;
  QUIET_LINK = @printf '  %-7s %s\n' LINK $@;
  QUIET_AR   = @printf '  %-7s %s\n' AR $@;
  QUIET_GEN  = @printf '  %-7s %s\n' GEN $@;
endif

# ---- flags: the flavour's (mk/flavours.mk), user CFLAGS last ------------
WARN := -Wall -Wextra -Wundef -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 -pthread -fPIC -fvisibility=hidden -fno-plt \
	-ftls-model=initial-exec -fno-semantic-interposition -g \
	-Iinclude -Ihakmem -I. $(WARN)

# Sanitizers must also be named at link time.
FLAVOUR_LDFLAGS = $(filter -fsanitize=%,$(FLAVOUR_CFLAGS_$(FLAVOUR))) \
	$(FLAVOUR_LDFLAGS_$(FLAVOUR))
# Flavours whose sanitizer owns malloc export no libc names: their tests
# reach hakmem through the hak_* API (tests/hak_api_names.h).
HAK_API_ONLY := $(if $(filter -DHAK_OVERRIDE=0,$(FLAVOUR_CFLAGS_$(FLAVOUR))),1,0)
ifeq ($(HAK_API_ONLY),1)
TEST_API_FLAGS := -include tests/hak_api_names.h -DHAK_TEST_API_ONLY=1
# ... and benchmarks link the library (no preloading a sanitizer's malloc
# away); hak_owns stays visible to larson's dlsym() proof.
BENCH_LIBS = $(LINK_LIB_A) -Wl,--export-dynamic-symbol=hak_owns
endif

ALL_CFLAGS = $(BASE_CFLAGS) $(FLAVOUR_CFLAGS_$(FLAVOUR)) $(FLAVOUR_LIB_CFLAGS_$(FLAVOUR)) $(CFLAGS)
ALL_LDFLAGS = -pthread $(FLAVOUR_LDFLAGS) $(LDFLAGS)

# Tests and benchmarks are ordinary programs: default visibility, no -fPIC.
PROG_CFLAGS = -std=gnu11 -pthread -g -O2 -Iinclude -Ihakmem -I. -Itests $(WARN) \
	-Wno-missing-prototypes $(FLAVOUR_CFLAGS_$(FLAVOUR)) $(TEST_API_FLAGS) $(CFLAGS)
PROG_CXXFLAGS = -std=gnu++17 -fsized-deallocation -pthread -g -O2 -Iinclude -Wall -Wextra \
	$(filter -fsanitize=% -D%,$(FLAVOUR_CFLAGS_$(FLAVOUR))) \
	$(filter -D%,$(TEST_API_FLAGS)) $(CXXFLAGS)

# ---- sources ---------------------------------------------------------------
LIB_SRCS := $(sort $(wildcard hakmem/*.c hakmem/*/*.c debug/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIB_A    := $(B)/libhakmem.a
LIB_SO       := $(B)/libhakmem.so
LIB_SO_MAJOR := $(LIB_SO).$(HAK_SOMAJOR)
LIB_SO_REAL  := $(LIB_SO).$(HAK_VERSION)
MAPFILE  := hakmem/hakmem.map

TEST_C_SRCS  := $(sort $(wildcard tests/api/*.c tests/unit/*/*.c tests/stress/*.c))
TEST_CC_SRCS := $(sort $(wildcard tests/api/*.cc tests/stress/*.cc))
TESTS := $(TEST_C_SRCS:%.c=$(B)/%.t) $(TEST_CC_SRCS:%.cc=$(B)/%.t)
PRELOAD_C_SRCS  := $(sort $(wildcard tests/preload/*.c))
PRELOAD_CC_SRCS := $(sort $(wildcard tests/preload/*.cc))
PRELOAD_PROGS   := $(PRELOAD_C_SRCS:%.c=$(B)/%) $(PRELOAD_CC_SRCS:%.cc=$(B)/%)

# Negative tests: small programs that commit one bug each, built for the
# flavours whose tool must report it (FLAVOUR_NEGATIVE_* in mk/flavours.mk).
NEG_PROGS := $(addprefix $(B)/negative/,$(sort $(foreach n,$(FLAVOUR_NEGATIVE_$(FLAVOUR)),$(firstword $(subst ., ,$n)))))

BENCH_SRCS  := $(sort $(wildcard bench/*.c))
BENCH_PROGS := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)

# ---- top-level targets -----------------------------------------------------
.PHONY: all lib tests negatives benches $(FLAVOURS) test $(FLAVOUR_TESTS) check test-unit test-preload \
	larson-run $(FLAVOUR_RUNS) run-deps bench-tiny-hot clean help FORCE \
	flavour-env flavour-cells \
	lint shellcheck check-workflows check-includes check-headers check-flavours \
	check-invariants check-paths check-options check-sizes check-needed
.DEFAULT_GOAL := all

all: lib

lib: $(LIB_SO) $(LIB_A) $(B)/flavour.env
tests: lib $(TESTS) $(PRELOAD_PROGS) $(NEG_PROGS)
negatives: lib $(NEG_PROGS)
benches: lib $(BENCH_PROGS)

# `make debug` == `make FLAVOUR=debug`, in its own build dir.
$(FLAVOURS):
	@$(MAKE) --no-print-directory FLAVOUR=$@ lib

# The README's test command: every flavour built, the benchmarks' smoke
# run, then all of the flavours' tests (and negative tests), so that the
# last line is tests/run.sh's "N passed, N failed, N skipped".
# `make test-<flavour>`: just one flavour.
TEST_FLAVOURS := $(FLAVOURS)
test:
	@$(MAKE) --no-print-directory FLAVOUR=release tests benches
	@set -e; for f in $(filter-out release,$(TEST_FLAVOURS)); do \
		$(MAKE) --no-print-directory FLAVOUR=$$f tests; \
	done
	@st=0; $(MAKE) --no-print-directory bench-smoke || st=1; \
	TIMEOUT=$(TIMEOUT) tests/run.sh $(addprefix $(O)/,$(TEST_FLAVOURS)) || st=1; \
	exit $$st

$(FLAVOUR_TESTS):
	@$(MAKE) --no-print-directory FLAVOUR=$(@:test-%=%) tests
	@TIMEOUT=$(TIMEOUT) tests/run.sh $(O)/$(@:test-%=%)

check: test

THREADS ?= 2
larson-run: FLAVOUR := release
larson-run:
	@$(MAKE) --no-print-directory FLAVOUR=release lib benches
	@bench/larson-run.sh $(O)/release $(THREADS)

# `make asan-preload-run THREADS=4`: Larson (and, for the checking
# flavours, stress tests) under that flavour, proved to be hakmem's.
$(FLAVOUR_RUNS):
	@$(MAKE) --no-print-directory FLAVOUR=$(@:-run=) run-deps
	@O=$(O) ci/flavour-run.sh $(@:-run=) $(THREADS)

RUN_STRESS := $(patsubst %.c,$(B)/%.t,$(wildcard tests/stress/torture.c tests/stress/heir.c \
	tests/stress/churn.c tests/stress/prodcons.c))
run-deps: lib $(B)/bench/larson $(RUN_STRESS)

bench-tiny-hot:
	@$(MAKE) --no-print-directory FLAVOUR=release lib benches
	@bench/tiny-hot-run.sh $(O)/release

clean:
	rm -rf $(O)

# How scripts run a flavour's programs: mk/flavours.mk's row as bash
# (tests/flavour.bash sources it).  `make -s flavour-env F=tsan` prints it;
# `make -s flavour-cells` prints "flavour cc" per CI cell.
F ?= $(FLAVOUR)
flavour-env:
	$(if $(filter $(F),$(FLAVOURS)),,$(error unknown flavour '$(F)'; one of: $(FLAVOURS)))
	@:$(info $(call flavour_env,$(F)))
flavour-cells:
	@:$(foreach f,$(FLAVOURS),$(foreach c,$(FLAVOUR_CI_$f),$(info $f $c)))

$(B)/flavour.env: FORCE
	$(shell mkdir -p $(@D))$(file >$@,$(call flavour_env,$(FLAVOUR)))

help:
	@echo 'targets: all (release lib) | $(FLAVOURS)'
	@echo '         test (every flavour) | test-<flavour> | <flavour>-run THREADS=N'
	@echo '         larson-run THREADS=N (hakmem vs glibc vs mimalloc) | bench-tiny-hot'
	@echo '         lint = shellcheck check-workflows check-headers check-includes check-flavours'
	@echo '                check-invariants check-paths check-options check-sizes check-needed'
	@echo '         flavour-env F=<flavour> (how scripts run it) | flavour-cells (CI)'
	@echo '         install | uninstall (PREFIX= DESTDIR=) | deb (Debian packages in $(O)/deb)'
	@echo '         clean | V=1 for full commands | O=dir | CC=clang'

# ---- lint (ci/: one script per step) -----------------------------------------
# Every check runs, failing or not; the last line names the ones that failed.
LINT_CHECKS := shellcheck check-workflows check-headers check-includes \
	check-flavours check-invariants check-paths check-options check-sizes \
	check-needed
lint:
	@failed=; for c in $(LINT_CHECKS); do \
		$(MAKE) --no-print-directory $$c || failed="$$failed $$c"; \
	done; \
	if [ -n "$$failed" ]; then echo "lint: FAILED:$$failed" >&2; exit 1; fi; \
	echo 'lint: all clean'

shellcheck:
	@ci/lint-shell.sh

# The npm validator goes to $(O)/tools (ignored by git; installed once).
check-workflows:
	@O=$(O) ci/check-workflows.sh

check-includes:
	@ci/check-includes.sh
	@ci/check-includes.sh --self-test

# The CI matrix, the README's Flavours table and tests/negative/ against
# the flavour table (mk/flavours.mk).
check-flavours:
	@ci/check-flavours.sh
	@ci/check-flavours.sh --self-test

# What comments and docs cite exists (ci/check-docs.py): invariants of
# docs/DESIGN.md and no file outside the repository, file paths, HAKMEM_*
# options and trace events both documented and used; and no source file of
# the library or bench/ over 600 lines.  Each proves first that it fails on
# a broken tree (--self-test).
CHECK_DOCS := check-invariants check-paths check-options check-sizes
$(CHECK_DOCS):
	@$(PYTHON) ci/check-docs.py $(@:check-%=%) --self-test >/dev/null
	@$(PYTHON) ci/check-docs.py $(@:check-%=%)

# The release libhakmem.so needs libc only (ci/check-needed.sh): whatever
# it links is loaded into every process it is preloaded into.  Built first.
check-needed:
	@$(MAKE) --no-print-directory FLAVOUR=release lib >/dev/null
	@CC=$(CC) ci/check-needed.sh --self-test
	@ci/check-needed.sh $(O)/release/libhakmem.so

# Every header compiles on its own (git's check-headers): the library's
# with the library's flags, the tests' with the programs' flags, and the
# public header as C++ too.  Included from a stub, as a user would.
LIB_HDRS  := $(sort $(wildcard include/*.h hakmem/*.h hakmem/*/*.h debug/*.h))
TEST_HDRS := $(sort $(wildcard tests/*.h tests/*/*.h))
check-headers:
	@set -e; n=0; \
	for h in $(LIB_HDRS); do \
		printf '#include "%s"\n' $$h | \
			$(CC) $(ALL_CFLAGS) -Werror -fsyntax-only -x c - || \
			{ echo "check-headers: $$h does not compile on its own" >&2; exit 1; }; \
		n=$$((n + 1)); \
	done; \
	for h in $(TEST_HDRS); do \
		printf '#include "%s"\n' $$h | \
			$(CC) $(PROG_CFLAGS) -Werror -fsyntax-only -x c - || \
			{ echo "check-headers: $$h does not compile on its own" >&2; exit 1; }; \
		n=$$((n + 1)); \
	done; \
	printf '#include "hakmem.h"\n' | \
		$(CXX) $(PROG_CXXFLAGS) -Werror -fsyntax-only -x c++ - || \
		{ echo "check-headers: include/hakmem.h is not valid C++" >&2; exit 1; }; \
	echo "check-headers: $$n headers compile on their own (hakmem.h as C++ too)"

# ---- rules -----------------------------------------------------------------
# Rebuild a flavour when its compiler or flags change (git's GIT-CFLAGS).
$(B)/.cflags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(CXX) $(ALL_CFLAGS) $(PROG_CFLAGS) $(PROG_CXXFLAGS) $(ALL_LDFLAGS)' \
		| cmp -s - $@ || echo '$(CC) $(CXX) $(ALL_CFLAGS) $(PROG_CFLAGS) $(PROG_CXXFLAGS) $(ALL_LDFLAGS)' > $@

# override.c throws std::bad_alloc through C frames: it needs unwind tables.
$(B)/obj/hakmem/override.o: EXTRA_CFLAGS := -fexceptions

$(B)/obj/%.o: %.c $(B)/.cflags
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) $(EXTRA_CFLAGS) -MMD -MP -c -o $@ $<

# ---- the versioned shared library ---------------------------------------
# libhakmem.so.0.1.0 (soname libhakmem.so.0), with libhakmem.so.0 and the
# development name libhakmem.so as symlinks, as installed: LD_PRELOAD of
# $(B)/libhakmem.so keeps working.  version.o alone sees the version: a
# stamp rebuilds it when the version line changes.
$(B)/.version: FORCE
	@mkdir -p $(@D)
	@echo '$(HAK_VERSION)' | cmp -s - $@ || echo '$(HAK_VERSION)' > $@
$(B)/obj/hakmem/version.o: EXTRA_CFLAGS := -DHAK_VERSION_STRING='"$(HAK_VERSION)"'
$(B)/obj/hakmem/version.o: $(B)/.version

$(LIB_SO_REAL): $(LIB_OBJS) $(MAPFILE)
	$(QUIET_LINK)$(CC) -shared -o $@ $(LIB_OBJS) -Wl,--version-script=$(MAPFILE) \
		-Wl,-soname,$(notdir $(LIB_SO_MAJOR)) \
		-Wl,-z,now -Wl,-z,relro -Wl,-z,nodelete $(ALL_LDFLAGS)

$(LIB_SO_MAJOR): $(LIB_SO_REAL)
	@ln -sfn $(notdir $<) $@

$(LIB_SO): $(LIB_SO_MAJOR)
	@ln -sfn $(notdir $<) $@

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	$(QUIET_AR)ar rcs $@ $^

# Tests link the static library: hakmem's malloc is the program's malloc.
# All of it: a sanitizer's runtime (libasan.so) comes first on the link
# line and would otherwise satisfy malloc before override.o is pulled in.
LINK_LIB_A = -Wl,--whole-archive $(LIB_A) -Wl,--no-whole-archive
$(B)/tests/%.t: tests/%.c $(LIB_A) tests/helpers.h $(B)/.cflags
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(PROG_CFLAGS) -MMD -MP -o $@ $< $(LINK_LIB_A) $(ALL_LDFLAGS) -lm

$(B)/tests/%.t: tests/%.cc $(LIB_A) $(B)/.cflags
	@mkdir -p $(@D)
	$(QUIET_CXX)$(CXX) $(PROG_CXXFLAGS) -MMD -MP -o $@ $< $(LINK_LIB_A) $(ALL_LDFLAGS)

# Programs for the preload tests are plain programs, linked with libc only
# (so not renamed to hak_* in the API-only flavours, as mk/dlopen.mk's).
$(B)/tests/preload/%: tests/preload/%.c $(B)/.cflags
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(filter-out $(TEST_API_FLAGS),$(PROG_CFLAGS)) -MMD -MP -o $@ $< $(ALL_LDFLAGS) -ldl

$(B)/tests/preload/%: tests/preload/%.cc $(B)/.cflags
	@mkdir -p $(@D)
	$(QUIET_CXX)$(CXX) $(PROG_CXXFLAGS) -MMD -MP -o $@ $< $(ALL_LDFLAGS)

# Linked like Larson: plain programs to preload under, except for tsan.
$(B)/negative/%: tests/negative/%.c tests/negative/neg.h $(B)/.cflags \
		$(if $(BENCH_LIBS),$(LIB_A))
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(PROG_CFLAGS) -MMD -MP -o $@ $< $(BENCH_LIBS) $(ALL_LDFLAGS) -ldl

$(B)/bench/%: bench/%.c $(B)/.cflags $(if $(BENCH_LIBS),$(LIB_A))
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(PROG_CFLAGS) -MMD -MP -o $@ $< $(BENCH_LIBS) $(ALL_LDFLAGS) -lm -ldl

-include $(shell find $(B) -name '*.d' 2>/dev/null)

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

# The benchmark suite's targets (make bench, bench-smoke, bench-instr).
-include bench/bench.mk

# Install, uninstall, self-host and real-program targets.
-include $(filter-out mk/flavours.mk,$(wildcard mk/*.mk))
