# SPDX-License-Identifier: MIT
# mk/install.mk - make install / make uninstall.
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [FLAVOUR=release]
#   make uninstall (same variables)
#
# installs, from $(B) (build/release by default):
#   $(LIBDIR)/libhakmem.so        the shared library, as linked (no soname)
#   $(LIBDIR)/libhakmem.a         the static library
#   $(INCLUDEDIR)/hakmem.h        the public header
#   $(PKGCONFIGDIR)/hakmem.pc     pkg-config file (from hakmem.pc.in)
#   $(MANDIR)/man3/hakmem.3       the manual page (man/hakmem.3)
# uninstall removes exactly those files (directories stay: they may be
# shared).  LIBDIR, INCLUDEDIR, PKGCONFIGDIR and MANDIR can be set too.

PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR       ?= $(PREFIX)/share/man
INSTALL      ?= install

HAK_VERSION := $(shell sed -n 's/^\#define HAK_VERSION_MAJOR //p' include/hakmem.h).$(shell \
	sed -n 's/^\#define HAK_VERSION_MINOR //p' include/hakmem.h)

INSTALLED := $(LIBDIR)/libhakmem.so $(LIBDIR)/libhakmem.a \
	$(INCLUDEDIR)/hakmem.h $(PKGCONFIGDIR)/hakmem.pc $(MANDIR)/man3/hakmem.3

.PHONY: install uninstall

# the .pc file names PREFIX: made afresh for every install.  A sanitizer
# flavour's libhakmem.a calls into that sanitizer's runtime: its link flags
# (for the compiler that built it, e.g. clang's -shared-libsan) go into
# Libs.private, so that `pkg-config --static --libs hakmem` links it.
$(B)/hakmem.pc: hakmem.pc.in FORCE
	@mkdir -p $(@D)
	$(QUIET_GEN)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(HAK_VERSION)|g' \
		-e 's|@SANITIZER_LIBS@|$(if $(strip $(FLAVOUR_LDFLAGS)), $(strip $(FLAVOUR_LDFLAGS)))|g' \
		$< >$@

install: $(LIB_SO) $(LIB_A) $(B)/hakmem.pc
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3
	$(INSTALL) -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libhakmem.so
	$(INSTALL) -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libhakmem.a
	$(INSTALL) -m 644 include/hakmem.h $(DESTDIR)$(INCLUDEDIR)/hakmem.h
	$(INSTALL) -m 644 $(B)/hakmem.pc $(DESTDIR)$(PKGCONFIGDIR)/hakmem.pc
	$(INSTALL) -m 644 man/hakmem.3 $(DESTDIR)$(MANDIR)/man3/hakmem.3

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
