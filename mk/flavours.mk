# SPDX-License-Identifier: MIT
# mk/flavours.mk - the one table of build flavours.  Everything that builds,
# runs or checks a flavour reads it: the Makefile (flags, negative programs,
# targets), tests/run.sh, tests/negative/expect.sh and ci/flavour-run.sh
# (through $(B)/flavour.env, the shell fragment the build writes from this
# table; `make -s flavour-env F=<flavour>` prints it), and `make lint`
# (ci/check-flavours.sh: the CI matrix in .github/workflows/ci.yml and the
# README's flavour table must name exactly these flavours and cells).
#
# Adding a flavour: its name in FLAVOURS, one block below (every field set,
# even to nothing: the Makefile stops on a missing one), its row in the
# README's Flavours table and, when FLAVOUR_CI_F names compilers, its cells
# in the workflow's matrix (`make lint` names what is missing).  Nothing
# else: the targets F, test-F and F-run follow from FLAVOURS.
#
# Fields of flavour F (make syntax; $(call clang_only,...) is there for
# clang builds only):
#   FLAVOUR_CFLAGS_F      compiler flags of the library, the tests and the
#                         benchmarks; -fsanitize=... is repeated at link
#                         time; -DHAK_OVERRIDE=0 means the library exports no
#                         libc names (the sanitizer owns malloc): programs
#                         link libhakmem.a and call hak_* (tests/hak_api_names.h)
#   FLAVOUR_LIB_CFLAGS_F  flags for the library's objects only
#   FLAVOUR_LDFLAGS_F     extra link flags (besides the -fsanitize= ones)
#   FLAVOUR_ENV_F         VAR=value words (no spaces in a value) every
#                         program of F runs with (tests, negative tests,
#                         Larson, stress tests)
#   FLAVOUR_RUNNER_F      the command every program of F runs under
#                         (e.g. valgrind); a run skips when it is missing
#   FLAVOUR_SMOKE_F       1: tests and stress tests run with --smoke
#   FLAVOUR_PRELOADABLE_F 1: libhakmem.so can be preloaded into plain,
#                         uninstrumented programs (tests/preload/*.sh run)
#   FLAVOUR_REPORT_F      an ERE that the tool's report matches (any match in
#                         a run's stderr fails `make F-run`); empty: none
#   FLAVOUR_LARSON_F      Larson's arguments but the thread count
#                         (seconds min max chunks rounds seed) for `make F-run`
#   FLAVOUR_STRESS_F      the tests/stress/ programs `make F-run` also runs
#   FLAVOUR_NEGATIVE_F    the tests/negative/ cases (PROGRAM[.ARG...]) whose
#                         bug F's tool must report, each with
#                         NEGATIVE_WANT_F/<case>,
#                         an ERE that the report must match
#   FLAVOUR_CI_F          the compilers CI runs F with (.github/workflows/ci.yml)

FLAVOURS := release debug asan-preload ubsan-mailbox tsan failfast valgrind

FLAVOUR_FIELDS := CFLAGS LIB_CFLAGS LDFLAGS ENV RUNNER SMOKE PRELOADABLE \
	REPORT LARSON STRESS NEGATIVE CI

clang_only = $(if $(filter 1,$(IS_CLANG)),$1)
# clang links its sanitizer runtime statically into programs and not at all
# into shared libraries: an ASan program's own malloc would then come before
# a preloaded hakmem, and the UBSan library would not load into plain
# programs.  -shared-libsan makes both a DSO, as gcc does.
comma := ,
# ($(if), not clang_only: call would run the shell for gcc too)
CLANG_SHARED_LIBSAN := $(if $(filter 1,$(IS_CLANG)),-shared-libsan \
	-Wl$(comma)-rpath$(comma)$(shell $(CC) -print-runtime-dir 2>/dev/null))

VALGRIND_RUNNER := valgrind -q --fair-sched=yes --error-exitcode=99 \
	--soname-synonyms=somalloc=nouserintercepts
LARSON_DEFAULT := 8 1000 5000 100 4141

# ---- release: the library users ship ----------------------------------------
FLAVOUR_CFLAGS_release      := -O2 -DNDEBUG -DHAK_DEBUG=0
FLAVOUR_LIB_CFLAGS_release  :=
FLAVOUR_LDFLAGS_release     :=
FLAVOUR_ENV_release         :=
FLAVOUR_RUNNER_release      :=
FLAVOUR_SMOKE_release       := 0
FLAVOUR_PRELOADABLE_release := 1
FLAVOUR_REPORT_release      :=
FLAVOUR_LARSON_release      := 5 $(LARSON_DEFAULT)
FLAVOUR_STRESS_release      :=
FLAVOUR_NEGATIVE_release    :=
FLAVOUR_CI_release          := gcc clang

# ---- debug: every internal assertion ----------------------------------------
FLAVOUR_CFLAGS_debug      := -O1 -DHAK_DEBUG=2 -fno-omit-frame-pointer
FLAVOUR_LIB_CFLAGS_debug  :=
FLAVOUR_LDFLAGS_debug     :=
FLAVOUR_ENV_debug         :=
FLAVOUR_RUNNER_debug      :=
FLAVOUR_SMOKE_debug       := 0
FLAVOUR_PRELOADABLE_debug := 1
FLAVOUR_REPORT_debug      :=
FLAVOUR_LARSON_debug      := 5 $(LARSON_DEFAULT)
FLAVOUR_STRESS_debug      := torture
FLAVOUR_NEGATIVE_debug    :=
FLAVOUR_CI_debug          := gcc

# ---- asan-preload: ASan sees hakmem's blocks (hak_track.h) -------------------
# verify_asan_link_order=0: the runtime refuses to start when a preloaded
# library comes before it, and hakmem must come first to own malloc (the
# README's "ASan and LD_PRELOAD"); detect_leaks=0: hakmem owns the heap.
FLAVOUR_CFLAGS_asan-preload      := -O1 -DHAK_DEBUG=1 -DHAK_ASAN=1 \
	-fsanitize=address -fno-omit-frame-pointer
FLAVOUR_LIB_CFLAGS_asan-preload  :=
FLAVOUR_LDFLAGS_asan-preload     := $(CLANG_SHARED_LIBSAN)
FLAVOUR_ENV_asan-preload         := ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0
FLAVOUR_RUNNER_asan-preload      :=
FLAVOUR_SMOKE_asan-preload       := 0
FLAVOUR_PRELOADABLE_asan-preload := 0
FLAVOUR_REPORT_asan-preload      := ERROR: AddressSanitizer
FLAVOUR_LARSON_asan-preload      := 3 $(LARSON_DEFAULT)
FLAVOUR_STRESS_asan-preload      := torture
FLAVOUR_NEGATIVE_asan-preload    := use_after_free overflow double_free
NEGATIVE_WANT_asan-preload/use_after_free := ERROR: AddressSanitizer: (use-after-poison|heap-use-after-free)
NEGATIVE_WANT_asan-preload/overflow       := ERROR: AddressSanitizer: (use-after-poison|heap-buffer-overflow)
NEGATIVE_WANT_asan-preload/double_free    := ERROR: AddressSanitizer
FLAVOUR_CI_asan-preload          := gcc clang

# ---- ubsan-mailbox: UBSan over the remote queues and the mailbox -------------
# clang's integer checks that hold over the library (not the tests, whose
# PRNGs wrap on purpose): implicit sign changes.  Not implicit truncation
# (tiny's 8-bit refill counters wrap on purpose), nor unsigned overflow
# (hashing).
FLAVOUR_CFLAGS_ubsan-mailbox      := -O1 -DHAK_DEBUG=1 -fsanitize=undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
FLAVOUR_LIB_CFLAGS_ubsan-mailbox  := $(call clang_only,-fsanitize=implicit-integer-sign-change)
FLAVOUR_LDFLAGS_ubsan-mailbox     := $(CLANG_SHARED_LIBSAN)
FLAVOUR_ENV_ubsan-mailbox         := UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
FLAVOUR_RUNNER_ubsan-mailbox      :=
FLAVOUR_SMOKE_ubsan-mailbox       := 0
FLAVOUR_PRELOADABLE_ubsan-mailbox := 1
FLAVOUR_REPORT_ubsan-mailbox      := runtime error:
FLAVOUR_LARSON_ubsan-mailbox      := 3 $(LARSON_DEFAULT)
FLAVOUR_STRESS_ubsan-mailbox      := torture churn prodcons heir
FLAVOUR_NEGATIVE_ubsan-mailbox    := misaligned signed_overflow
NEGATIVE_WANT_ubsan-mailbox/misaligned      := runtime error: load of misaligned address
NEGATIVE_WANT_ubsan-mailbox/signed_overflow := runtime error: signed integer overflow
FLAVOUR_CI_ubsan-mailbox          := gcc clang

# ---- tsan: TSan owns malloc; programs link libhakmem.a and call hak_* --------
# die_after_fork=0: stress/fork_load starts threads in children of a
# threaded parent.
FLAVOUR_CFLAGS_tsan      := -O1 -DHAK_DEBUG=1 -DHAK_OVERRIDE=0 -fsanitize=thread
FLAVOUR_LIB_CFLAGS_tsan  :=
FLAVOUR_LDFLAGS_tsan     :=
FLAVOUR_ENV_tsan         := TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:die_after_fork=0
FLAVOUR_RUNNER_tsan      :=
FLAVOUR_SMOKE_tsan       := 0
FLAVOUR_PRELOADABLE_tsan := 0
FLAVOUR_REPORT_tsan      := WARNING: ThreadSanitizer
FLAVOUR_LARSON_tsan      := 3 $(LARSON_DEFAULT)
FLAVOUR_STRESS_tsan      := torture churn prodcons heir
FLAVOUR_NEGATIVE_tsan    := race
NEGATIVE_WANT_tsan/race  := WARNING: ThreadSanitizer: data race
FLAVOUR_CI_tsan          := gcc clang

# ---- failfast: the debug box's checks, each a one-line report and a trap ------
FLAVOUR_CFLAGS_failfast      := -O2 -DHAK_DEBUG=2 -DHAK_FAILFAST=1
FLAVOUR_LIB_CFLAGS_failfast  :=
FLAVOUR_LDFLAGS_failfast     :=
FLAVOUR_ENV_failfast         :=
FLAVOUR_RUNNER_failfast      :=
FLAVOUR_SMOKE_failfast       := 0
FLAVOUR_PRELOADABLE_failfast := 1
FLAVOUR_REPORT_failfast      :=
FLAVOUR_LARSON_failfast      := 5 $(LARSON_DEFAULT)
FLAVOUR_STRESS_failfast      := torture
FLAVOUR_NEGATIVE_failfast    := double_free foreign_free interior_free
NEGATIVE_WANT_failfast/double_free   := ^hakmem: (free\(\)|failfast): double free
NEGATIVE_WANT_failfast/foreign_free  := ^hakmem: (free\(\): invalid pointer|failfast: pointer hakmem does not own)
NEGATIVE_WANT_failfast/interior_free := ^hakmem: (free\(\): invalid pointer|failfast: free of a pointer that is not a block start)
FLAVOUR_CI_failfast          := gcc clang

# ---- valgrind: memcheck, told about hakmem's blocks by client requests -------
# --soname-synonyms=somalloc=nouserintercepts: else memcheck replaces the
# preloaded malloc with its own.  --fair-sched=yes: valgrind runs one thread
# at a time, and its default lock starves a thread that waits on others
# (the README's Flavours section).  valgrind 3.19 cannot read clang 14's
# default DWARF 5.
FLAVOUR_CFLAGS_valgrind      := $(strip -O1 -DHAK_DEBUG=1 -DHAK_VALGRIND=1 $(call clang_only,-gdwarf-4))
FLAVOUR_LIB_CFLAGS_valgrind  :=
FLAVOUR_LDFLAGS_valgrind     :=
FLAVOUR_ENV_valgrind         :=
FLAVOUR_RUNNER_valgrind      := $(VALGRIND_RUNNER)
FLAVOUR_SMOKE_valgrind       := 1
FLAVOUR_PRELOADABLE_valgrind := 1
FLAVOUR_REPORT_valgrind      := ^==[0-9]+== (Invalid|Conditional|Use of uninit|Mismatched)
FLAVOUR_LARSON_valgrind      := 1 8 1000 500 10 4141
FLAVOUR_STRESS_valgrind      := torture
FLAVOUR_NEGATIVE_valgrind    := use_after_free overflow double_free uninit
NEGATIVE_WANT_valgrind/use_after_free := Invalid read of size
NEGATIVE_WANT_valgrind/overflow       := Invalid write of size
NEGATIVE_WANT_valgrind/uninit         := Conditional jump or move depends on uninitialised value
NEGATIVE_WANT_valgrind/double_free    := Invalid free\(\)
FLAVOUR_CI_valgrind          := gcc clang

# ---- the release hardening's negative cases (issue 13) ----------------------
# A case is PROGRAM.ARG...: hard_poison.uaf8.64 runs `hard_poison uaf8 64`
# (tests/negative/expect.sh).  The release build must report each one
# itself, and failfast too; asan-preload and valgrind see some of the bugs
# first (the write into a freed block, the free of an interior address).
HARD_INTERIOR := hard_interior.64+16 hard_interior.64+1 hard_interior.4000+16 \
	hard_interior.4000+1 hard_interior.meta
HARD_USABLE   := hard_interior.usable
HARD_DOUBLE   := hard_double_free.aba hard_double_free.gap19
HARD_REALLOC  := hard_double_free.realloc
HARD_REMOTE   := hard_remote_double
HARD_POISON   := hard_poison.over9.64 $(foreach z,32 64 128 256 1024 4096 16384 131072,\
	hard_poison.uaf8.$z hard_poison.over16.$z)
HARD_POISON_REMOTE := hard_poison.remote.64
HARD_WANT_HARD_INTERIOR := ^hakmem: (free\(\)|failfast): .*(invalid pointer|not a block start|outside its slab)
HARD_WANT_HARD_USABLE   := ^hakmem: (malloc_usable_size\(\)|failfast): invalid pointer
HARD_WANT_HARD_DOUBLE   := ^hakmem: (free\(\)|failfast): double free
HARD_WANT_HARD_REALLOC  := ^hakmem: (realloc\(\)|failfast): pointer to a freed block
HARD_WANT_HARD_REMOTE   := ^hakmem: (free\(\): double free|failfast: remote node pushed twice)
HARD_WANT_HARD_POISON   := ^hakmem: (malloc\(\): corrupted free list|failfast: (corrupted free list|free-list next pointer))
HARD_WANT_HARD_POISON_REMOTE := ^hakmem: remote free queue of slab .*corrupted link
HARD_GROUPS := HARD_INTERIOR HARD_USABLE HARD_DOUBLE HARD_REALLOC HARD_REMOTE \
	HARD_POISON HARD_POISON_REMOTE
$(foreach f,release failfast,$(foreach g,$(HARD_GROUPS),$(foreach c,$($g),\
	$(eval FLAVOUR_NEGATIVE_$f += $c)$(eval NEGATIVE_WANT_$f/$c := $$(HARD_WANT_$g)))))
FLAVOUR_NEGATIVE_asan-preload += hard_poison.uaf8.64 hard_poison.over16.64 \
	hard_double_free.gap19 hard_interior.64+16
NEGATIVE_WANT_asan-preload/hard_poison.uaf8.64   := ERROR: AddressSanitizer: (use-after-poison|heap-use-after-free)
NEGATIVE_WANT_asan-preload/hard_poison.over16.64 := ERROR: AddressSanitizer: (use-after-poison|heap-buffer-overflow)
NEGATIVE_WANT_asan-preload/hard_double_free.gap19 := ERROR: AddressSanitizer
NEGATIVE_WANT_asan-preload/hard_interior.64+16   := ERROR: AddressSanitizer
FLAVOUR_NEGATIVE_valgrind += hard_poison.uaf8.64 hard_poison.over16.64 \
	hard_double_free.gap19 hard_interior.64+16
NEGATIVE_WANT_valgrind/hard_poison.uaf8.64   := Invalid write of size
NEGATIVE_WANT_valgrind/hard_poison.over16.64 := Invalid write of size
NEGATIVE_WANT_valgrind/hard_double_free.gap19 := Invalid free\(\)
NEGATIVE_WANT_valgrind/hard_interior.64+16   := Invalid free\(\)

# ---- the shell fragment ---------------------------------------------------
# shell_quote WORD - WORD in single quotes, for bash
shell_quote = '$(subst ','\'',$1)'

# flavour_env F - the bash fragment that tells scripts how to run flavour F's
# programs (sourced by tests/flavour.bash)
define flavour_env
# generated by make from mk/flavours.mk (flavour $1): do not edit
hak_flavour=$1
hak_env=($(foreach e,$(FLAVOUR_ENV_$1),$(call shell_quote,$e)))
hak_runner=($(foreach w,$(FLAVOUR_RUNNER_$1),$(call shell_quote,$w)))
hak_smoke=$(FLAVOUR_SMOKE_$1)
hak_override=$(if $(filter -DHAK_OVERRIDE=0,$(FLAVOUR_CFLAGS_$1)),0,1)
hak_preloadable=$(FLAVOUR_PRELOADABLE_$1)
hak_report=$(call shell_quote,$(FLAVOUR_REPORT_$1))
hak_larson=($(FLAVOUR_LARSON_$1))
hak_stress=($(FLAVOUR_STRESS_$1))
hak_negative=($(FLAVOUR_NEGATIVE_$1))
declare -gA hak_want=($(foreach n,$(FLAVOUR_NEGATIVE_$1),[$n]=$(call shell_quote,$(NEGATIVE_WANT_$1/$n))))
endef
