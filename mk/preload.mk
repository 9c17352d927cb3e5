# SPDX-License-Identifier: MIT
# mk/preload.mk - real programs under LD_PRELOAD=libhakmem.so.
#
#   make test-preload                 every tests/preload/*.sh against the
#                                     release library, with time and peak
#                                     RSS under glibc, hakmem and mimalloc
#   make test-preload PRELOAD=git     just tests/preload/git.sh (a list works)
#   make self-host                    build hakmem with make and gcc under
#                                     its own release library, then run the
#                                     self-built library's tests (full length)
#
# `make test` runs the same scripts for each flavour it tests, through
# tests/run.sh (quietly, without the figures).

.PHONY: test-preload self-host preload-deps

# what the preload scripts need, in the flavour being built (mk/dlopen.mk
# adds its programs)
preload-deps: lib $(PRELOAD_PROGS)

test-preload:
	@$(MAKE) --no-print-directory FLAVOUR=release preload-deps
	@TIMEOUT=$(TIMEOUT) bash tests/preload/suite.bash $(O)/release $(PRELOAD)

self-host:
	@$(MAKE) --no-print-directory FLAVOUR=release lib
	@SELFHOST_FULL=1 PRELOAD_FIGURES=1 bash tests/preload/selfhost.sh $(O)/release
