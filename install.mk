# SPDX-License-Identifier: GPL-2.0
# install.mk: make install / make uninstall / make dkms-src, included by the top-level Makefile.
#
#   make install   [DESTDIR=] [PREFIX=/usr/local] [KERNELRELEASE=r | KDIR=dir]
#   make uninstall (the same variables)
#   make dkms-src  [DESTDIR=]   the module's sources to /usr/src/hop-VERSION for dkms
#
# Installs libhop (libhop.so.VERSION with its soname links, libhop.a), its
# headers (hop.h, hop/version.h which make generates, and linux/hop.h, which
# defines struct hop_service_info), hop.pc, the man pages (section 3: libhop;
# 4: /dev/hop; 7: the overview; 8: the tools), the
# bpftrace tools in SBINDIR (as Debian installs bpftrace's own, in /usr/sbin),
# the examples (programs in libexec; their sources, MIT-0, and each tool's
# _example.txt in DOCDIR/examples), the udev rule and the sysusers.d entry
# that creates its group.
# hop.ko only when a kernel is named (KERNELRELEASE=, or KDIR= a headers tree
# whose release is read from it), into /lib/modules/RELEASE/extra, which is
# outside PREFIX on purpose: modprobe looks nowhere else.  With DESTDIR empty
# the system caches are refreshed (ldconfig, depmod); with DESTDIR set they
# are left to whoever packages the tree.  uninstall removes exactly the files
# install writes, computed from the same lists.

# HOP_VERSION: the Makefile reads it from MODULE_VERSION() in module/main.c.
HOP_SOMAJOR := 0

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
SBINDIR ?= $(PREFIX)/sbin
DOCDIR ?= $(PREFIX)/share/doc/hop
HOP_LIBEXECDIR ?= $(PREFIX)/libexec/hop
# udev reads /etc/udev/rules.d and /usr/lib/udev/rules.d, never /usr/local.
UDEVRULESDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/udev/rules.d,/etc/udev/rules.d)
# Likewise systemd-sysusers: /etc/sysusers.d and /usr/lib/sysusers.d.
SYSUSERSDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/sysusers.d,/etc/sysusers.d)
INSTALL ?= install

# The kernel to install hop.ko for, if any.  KDIR must be Debian's headers
# tree of that release (/lib/modules/R/build points there), which is what
# the build rule for build/R/hop.ko uses.
INSTALL_RELEASE := $(or $(KERNELRELEASE),$(if $(KDIR),$(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)))
ifneq ($(KDIR),)
ifeq ($(INSTALL_RELEASE),)
$(error KDIR=$(KDIR) has no include/config/kernel.release: not a prepared kernel headers tree)
endif
endif
# INSTALL_KO=path installs a hop.ko built elsewhere (the debug kernel's,
# build/debug/hop.ko, which no Debian headers package builds).
INSTALL_KO ?= $(if $(INSTALL_RELEASE),build/$(INSTALL_RELEASE)/hop.ko)
MODDIR := /lib/modules/$(INSTALL_RELEASE)/extra

MAN_PAGES := $(wildcard man/man3/*.3)
MAN4_PAGES := $(wildcard man/man4/*.4)
MAN7_PAGES := $(wildcard man/man7/*.7)
MAN8_PAGES := $(wildcard man/man8/*.8)
BT_TOOLS := $(wildcard tools/*.bt)
BT_EXAMPLES := $(wildcard tools/*_example.txt)
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_PROGS := $(EXAMPLES)
DKMS_SRCDIR := /usr/src/hop-$(HOP_VERSION)

.PHONY: install uninstall dkms-src
install: $(LIB) $(HOP_VERSION_H) $(EXAMPLE_PROGS) $(INSTALL_KO)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/linux $(DESTDIR)$(INCLUDEDIR)/hop \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man4 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(HOP_LIBEXECDIR)/examples \
		$(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(SYSUSERSDIR)
	$(INSTALL) -m 0755 build/lib/libhop.so.$(HOP_SOMAJOR) $(DESTDIR)$(LIBDIR)/libhop.so.$(HOP_VERSION)
	ln -sf libhop.so.$(HOP_VERSION) $(DESTDIR)$(LIBDIR)/libhop.so.$(HOP_SOMAJOR)
	ln -sf libhop.so.$(HOP_SOMAJOR) $(DESTDIR)$(LIBDIR)/libhop.so
	$(INSTALL) -m 0644 build/lib/libhop.a $(DESTDIR)$(LIBDIR)/libhop.a
	$(INSTALL) -m 0644 lib/include/hop.h $(DESTDIR)$(INCLUDEDIR)/hop.h
	$(INSTALL) -m 0644 $(HOP_VERSION_H) $(DESTDIR)$(INCLUDEDIR)/hop/version.h
	$(INSTALL) -m 0644 uapi/linux/hop.h $(DESTDIR)$(INCLUDEDIR)/linux/hop.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(HOP_VERSION)|' lib/hop.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/hop.pc
	$(if $(MAN_PAGES),$(INSTALL) -m 0644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man3/)
	$(if $(MAN4_PAGES),$(INSTALL) -m 0644 $(MAN4_PAGES) $(DESTDIR)$(MANDIR)/man4/)
	$(if $(MAN7_PAGES),$(INSTALL) -m 0644 $(MAN7_PAGES) $(DESTDIR)$(MANDIR)/man7/)
	$(if $(MAN8_PAGES),$(INSTALL) -m 0644 $(MAN8_PAGES) $(DESTDIR)$(MANDIR)/man8/)
	$(if $(BT_TOOLS),$(INSTALL) -m 0755 $(BT_TOOLS) $(DESTDIR)$(SBINDIR)/)
	$(if $(EXAMPLE_SRCS)$(BT_EXAMPLES),$(INSTALL) -m 0644 $(EXAMPLE_SRCS) $(BT_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/)
	$(if $(EXAMPLE_PROGS),$(INSTALL) -m 0755 $(EXAMPLE_PROGS) $(DESTDIR)$(HOP_LIBEXECDIR)/examples/)
	$(INSTALL) -m 0644 udev/60-hop.rules $(DESTDIR)$(UDEVRULESDIR)/60-hop.rules
	$(INSTALL) -m 0644 udev/hop.sysusers $(DESTDIR)$(SYSUSERSDIR)/hop.conf
	@# The rule's group, now rather than at the next boot.
	$(if $(DESTDIR),,-command -v systemd-sysusers >/dev/null && systemd-sysusers hop.conf)
ifneq ($(INSTALL_RELEASE),)
	$(INSTALL) -d $(DESTDIR)$(MODDIR)
	$(INSTALL) -m 0644 $(INSTALL_KO) $(DESTDIR)$(MODDIR)/hop.ko
	$(if $(DESTDIR),,depmod -a $(INSTALL_RELEASE))
endif
	$(if $(DESTDIR),,ldconfig)

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libhop.so.$(HOP_VERSION) $(DESTDIR)$(LIBDIR)/libhop.so.$(HOP_SOMAJOR) \
		$(DESTDIR)$(LIBDIR)/libhop.so $(DESTDIR)$(LIBDIR)/libhop.a \
		$(DESTDIR)$(INCLUDEDIR)/hop.h $(DESTDIR)$(INCLUDEDIR)/hop/version.h \
		$(DESTDIR)$(INCLUDEDIR)/linux/hop.h \
		$(DESTDIR)$(PKGCONFIGDIR)/hop.pc $(DESTDIR)$(UDEVRULESDIR)/60-hop.rules \
		$(DESTDIR)$(SYSUSERSDIR)/hop.conf \
		$(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN_PAGES))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man4/,$(notdir $(MAN4_PAGES))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7_PAGES))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8_PAGES))) \
		$(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(BT_TOOLS))) \
		$(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(EXAMPLE_SRCS) $(BT_EXAMPLES))) \
		$(addprefix $(DESTDIR)$(HOP_LIBEXECDIR)/examples/,$(notdir $(EXAMPLE_PROGS)))
	@# Only the directories that are hop's own; shared ones (lib, include, sbin) stay.
	@# The group stays too, like any system group a package created.
	-rmdir $(DESTDIR)$(INCLUDEDIR)/hop $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(HOP_LIBEXECDIR)/examples $(DESTDIR)$(HOP_LIBEXECDIR) 2>/dev/null
ifneq ($(INSTALL_RELEASE),)
	rm -f $(DESTDIR)$(MODDIR)/hop.ko
	$(if $(DESTDIR),,depmod -a $(INSTALL_RELEASE))
endif
	$(if $(DESTDIR),,ldconfig)

# Only what Kbuild reads: a copy of the whole tree would drag build/ and out/
# into /usr/src and into every DKMS build directory.
dkms-src:
	rm -rf $(DESTDIR)$(DKMS_SRCDIR)
	$(INSTALL) -d $(DESTDIR)$(DKMS_SRCDIR)/module $(DESTDIR)$(DKMS_SRCDIR)/uapi/linux
	$(INSTALL) -m 0644 dkms.conf Kbuild $(DESTDIR)$(DKMS_SRCDIR)/
	$(INSTALL) -m 0644 $(wildcard module/*.c module/*.h module/*.S) $(DESTDIR)$(DKMS_SRCDIR)/module/
	$(INSTALL) -m 0644 $(wildcard uapi/linux/*.h) $(DESTDIR)$(DKMS_SRCDIR)/uapi/linux/
