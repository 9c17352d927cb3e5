# SPDX-License-Identifier: MIT
# mk/install.mk - make install / make uninstall, the hakmem launcher, make deb.
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [FLAVOUR=release]
#   make uninstall (same variables)
#   make deb     Debian packages (libhakmem0, libhakmem-dev, hakmem) in $(O)/deb
#
# installs, from $(B) (build/release by default):
#   $(LIBDIR)/libhakmem.so.0.1.0  the shared library (soname libhakmem.so.0)
#   $(LIBDIR)/libhakmem.so.0      symlink: what programs load
#   $(LIBDIR)/libhakmem.so        symlink: what -lhakmem links against
#   $(LIBDIR)/libhakmem.a         the static library
#   $(INCLUDEDIR)/hakmem.h        the public header
#   $(PKGCONFIGDIR)/hakmem.pc     pkg-config file (from hakmem.pc.in)
#   $(MANDIR)/man3/hakmem.3       the library's manual page (man/hakmem.3)
#   $(BINDIR)/hakmem              the launcher (tools/hakmem.in)
#   $(MANDIR)/man1/hakmem.1       its manual page (man/hakmem.1)
# uninstall removes exactly those files (directories stay: they may be
# shared).  BINDIR, LIBDIR, INCLUDEDIR, PKGCONFIGDIR and MANDIR can be set
# too.  The version comes from the Makefile's HAK_VERSION.

PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR       ?= $(PREFIX)/share/man
INSTALL      ?= install

INSTALLED := $(LIBDIR)/$(notdir $(LIB_SO_REAL)) $(LIBDIR)/$(notdir $(LIB_SO_MAJOR)) \
	$(LIBDIR)/libhakmem.so $(LIBDIR)/libhakmem.a \
	$(INCLUDEDIR)/hakmem.h $(PKGCONFIGDIR)/hakmem.pc $(MANDIR)/man3/hakmem.3 \
	$(BINDIR)/hakmem $(MANDIR)/man1/hakmem.1

.PHONY: install uninstall deb

# the launcher: next to the library in the build tree (it prefers the
# library beside it), made again when the version or LIBDIR changes
LAUNCHER := $(B)/hakmem
lib: $(LAUNCHER)
$(LAUNCHER): tools/hakmem.in FORCE
	@mkdir -p $(@D)
	@sed -e 's|@VERSION@|$(HAK_VERSION)|g' -e 's|@SOMAJOR@|$(HAK_SOMAJOR)|g' \
		-e 's|@LIBDIR@|$(LIBDIR)|g' $< >$@.tmp && chmod 755 $@.tmp && \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else \
		mv -f $@.tmp $@ && printf '  %-7s %s\n' GEN $@; fi

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

# man pages: the version filled in
$(B)/man/%: man/% FORCE
	@mkdir -p $(@D)
	@sed -e 's|@VERSION@|$(HAK_VERSION)|g' $< >$@

install: $(LIB_SO) $(LIB_A) $(B)/hakmem.pc $(LAUNCHER) $(B)/man/hakmem.3 $(B)/man/hakmem.1
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 644 $(LIB_SO_REAL) $(DESTDIR)$(LIBDIR)/$(notdir $(LIB_SO_REAL))
	ln -sfn $(notdir $(LIB_SO_REAL)) $(DESTDIR)$(LIBDIR)/$(notdir $(LIB_SO_MAJOR))
	ln -sfn $(notdir $(LIB_SO_MAJOR)) $(DESTDIR)$(LIBDIR)/libhakmem.so
	$(INSTALL) -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libhakmem.a
	$(INSTALL) -m 644 include/hakmem.h $(DESTDIR)$(INCLUDEDIR)/hakmem.h
	$(INSTALL) -m 644 $(B)/hakmem.pc $(DESTDIR)$(PKGCONFIGDIR)/hakmem.pc
	$(INSTALL) -m 644 $(B)/man/hakmem.3 $(DESTDIR)$(MANDIR)/man3/hakmem.3
	$(INSTALL) -m 755 $(LAUNCHER) $(DESTDIR)$(BINDIR)/hakmem
	$(INSTALL) -m 644 $(B)/man/hakmem.1 $(DESTDIR)$(MANDIR)/man1/hakmem.1

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# Debian packages, built from a copy of the committed tree plus the
# working tree's changes (git ls-files), so that build/ and other
# untracked files stay out; dpkg-buildpackage runs debian/rules, which
# runs the release tests.  The .debs land in $(O)/deb.
DEB_DIR := $(O)/deb
deb:
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || \
		{ echo 'make deb: needs a git work tree (it packages git'"'"'s files)' >&2; exit 1; }
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	@git ls-files -z --cached --others --exclude-standard | \
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null | \
		tar -xf - -C $(DEB_DIR)/src
	@cd $(DEB_DIR)/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -us -uc -b
	@ls -1 $(DEB_DIR)/*.deb
