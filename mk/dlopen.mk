# SPDX-License-Identifier: MIT
# mk/dlopen.mk - the dlopen test programs (tests/dlopen/), built with every
# flavour's tests into $(B)/tests/dlopen/ and run by tests/preload/dlopen.sh:
#   libplugin.so   a library that allocates and frees across dlopen/dlclose
#   host           dlopen()s it and trades blocks both ways
#   load_hakmem    dlopen()s libhakmem.so itself (initial-exec TLS)
# Plain programs linked with libc only, like the preload programs (the
# hak_* renaming of the API-only flavours does not apply to them).

DLOPEN_DIR   := $(B)/tests/dlopen
DLOPEN_PROGS := $(DLOPEN_DIR)/libplugin.so $(DLOPEN_DIR)/host \
	$(DLOPEN_DIR)/load_hakmem
DLOPEN_CFLAGS = $(filter-out $(TEST_API_FLAGS),$(PROG_CFLAGS))

tests preload-deps: $(DLOPEN_PROGS)

$(DLOPEN_DIR)/libplugin.so: tests/dlopen/plugin.c tests/dlopen/pattern.h $(B)/.cflags
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(DLOPEN_CFLAGS) -fPIC -shared -MMD -MP -o $@ $< $(ALL_LDFLAGS)

$(DLOPEN_DIR)/%: tests/dlopen/%.c tests/dlopen/pattern.h $(B)/.cflags
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(DLOPEN_CFLAGS) -MMD -MP -o $@ $< $(ALL_LDFLAGS) -ldl
