# SPDX-License-Identifier: GPL-2.0
# Makefile: build hop.ko for every pinned guest kernel plus libhop, tests, examples and bench; run them in the test VM.
#
#   make                 everything below build/
#   make check           install what is missing, build, run every test on every kernel
#   make demo            boot the 6.12 guest and run examples/demo.sh there
#   make vm-run CMD='...' [KERNEL=6.1|6.12|rt|debug] [APPEND='...'] [TIMEOUT=s] [ICOUNT=1] [ACCEL=tcg|kvm]
#   make bench [BENCH_MODE=full|pti|quick|insn|prof|claims|hop|sqlite]   run bench/run.sh in the guest (KERNEL=6.12)
#   make bench ICOUNT=1 [PLUGIN=0]   the same under -icount shift=0,sleep=off: times are
#                        instruction counts; BENCH_MODE defaults to insn there, and the
#                        instruction-class plugin (build/bench/hopinsn.so) rides along
#   make debug-kernel    build (once, cached) the 6.12 debug guest kernel: KASAN, lockdep, kmemleak...
#   make check-debug     every test on the debug kernel, then a kmemleak scan after rmmod hop
#   make deps            install missing packages and fetch the guest kernels
#   make install / uninstall [DESTDIR=] [PREFIX=/usr/local] [KERNELRELEASE=]   see install.mk
#   make dkms-src        the module's sources to /usr/src/hop-VERSION for dkms
#   make clean           remove build/ and out/ (the cache stays)

HOP_CACHE ?= /var/cache/hop
KERNEL ?= 6.12
TIMEOUT ?= 600
CMD ?= true
APPEND ?=
# Recipes read these from the environment, so that CMD needs no quoting, and
# $(value) keeps make from expanding the $(...) and $$ written in them.
BENCH_MODE ?=
# ICOUNT=1: boot under TCG with -icount shift=0,sleep=off (1 ns of guest
# time per instruction; never KVM).  ACCEL=auto|tcg|kvm otherwise: auto is
# KVM where /dev/kvm is usable, else TCG.  PLUGIN=1 loads the
# instruction-class plugin (TCG or icount only; make bench ICOUNT=1 loads it
# unless PLUGIN=0).
ICOUNT ?=
ACCEL ?= auto
PLUGIN ?=
export HOP_CACHE KERNEL TIMEOUT BENCH_MODE ICOUNT ACCEL PLUGIN
export HOP_CMD := $(value CMD)
export HOP_APPEND := $(value APPEND)

VM := selftests/vm
RELEASES := $(shell $(VM)/kernels.sh releases)

# Warnings fail the build, for the module and for user space alike; override
# with `make WERROR=` while chasing one.
WERROR ?= -Werror

# The one version of hop.ko and libhop: MODULE_VERSION() in module/main.c.
# Everything else is made from it (<hop/version.h>, hop.pc, libhop.so.VERSION,
# /usr/src/hop-VERSION) or checked against it (dkms.conf, libhop.map's newest
# node: selftests/install_test.sh).
HOP_VERSION := $(shell sed -n 's/^MODULE_VERSION("\(.*\)");$$/\1/p' module/main.c)
ifeq ($(shell echo '$(HOP_VERSION)' | grep -xE '[0-9]+\.[0-9]+'),)
$(error MODULE_VERSION in module/main.c is '$(HOP_VERSION)', not MAJOR.MINOR)
endif
HOP_VERSION_MAJOR := $(word 1,$(subst ., ,$(HOP_VERSION)))
HOP_VERSION_MINOR := $(word 2,$(subst ., ,$(HOP_VERSION)))
# libhop's compile-time version (HOP_VERSION_MAJOR/MINOR), included by hop.h.
HOP_VERSION_H := build/include/hop/version.h

# The kselftest harness comes from Debian's linux-source-6.12 at build time.
LINUX_SRC_TAR ?= /usr/src/linux-source-6.12.tar.xz
KSFT_MEMBER := linux-source-6.12/tools/testing/selftests
KSFT_DIR := $(HOP_CACHE)/kselftest
KSFT_HDR := $(KSFT_DIR)/kselftest_harness.h

CFLAGS ?= -O2 -g
# -isystem for the harness: its own function bodies do not build with -Wextra
# (an unused parameter), which is not ours to fix.
HOP_CFLAGS = $(CFLAGS) -Wall -Wextra $(WERROR) -I lib/include -I build/include -I uapi -isystem $(KSFT_DIR) -MMD -MP
LDLIBS := build/lib/libhop.a -luring -lpthread

MOD_SRCS := Kbuild $(wildcard module/*.c module/*.h module/*.S uapi/linux/*.h)
MODULES := $(foreach r,$(RELEASES),build/$(r)/hop.ko)

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:lib/%.c=build/lib/obj/%.o)
LIB_MAP := $(wildcard lib/libhop.map)
# No lib/*.c yet: an empty libhop.a keeps the link lines valid, and there is
# no shared library to build.
LIB := build/lib/libhop.a $(if $(LIB_SRCS),build/lib/libhop.so.0 build/lib/libhop.so)

TESTS := $(patsubst selftests/%.c,build/selftests/%,$(wildcard selftests/*_test.c))
EXAMPLES := $(patsubst examples/%.c,build/examples/%,$(wildcard examples/*.c))
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_OBJS := $(BENCH_SRCS:bench/%.c=build/bench/obj/%.o)
BENCH := $(if $(BENCH_SRCS),build/bench/hopbench)
# The QEMU TCG plugin that counts instruction classes (bench/plugin/).
PLUGIN_SO := $(if $(wildcard bench/plugin/hopinsn.c),build/bench/hopinsn.so)
# $(call vm_args,PLUGIN?): run-vm.sh's options from KERNEL, TIMEOUT, ACCEL, ICOUNT.
vm_args = -k "$$KERNEL" -t "$$TIMEOUT" -A "$$ACCEL" $(if $(filter 1,$(ICOUNT)),-i) \
	$(if $(filter 1,$(1)),-p $(PLUGIN_SO))

INITRAMFS := $(foreach r,$(RELEASES),build/vm/$(r)/initramfs.cpio)

KSELFTESTS := build/kselftests/list

.PHONY: all modules lib selftests examples bench-build kselftests vm-prep deps check demo vm-run bench clean \
	debug-kernel debug-prep check-debug
all: modules lib selftests examples bench-build kselftests
modules: $(MODULES)
lib: $(LIB)
selftests: $(TESTS)
examples: $(EXAMPLES)
bench-build: $(BENCH) $(PLUGIN_SO)
kselftests: $(KSELFTESTS)

# --- hop.ko, once per kernel ------------------------------------------------
# build/RELEASE/ holds symlinks to each source file (not to the directories),
# so that each kernel's objects land in its own directory.
# Against Debian's headers for that release, unpacked into the cache by
# selftests/vm/fetch-kernel.sh (never installed on the host).
build/%/hop.ko: $(MOD_SRCS) | $(HOP_CACHE)/headers/%/.unpacked
	@mkdir -p $(@D)/module $(@D)/uapi/linux
	@find $(@D) -type l -delete
	@ln -s $(CURDIR)/Kbuild $(@D)/Kbuild
	@for f in module/* uapi/linux/*; do ln -s $(CURDIR)/$$f $(@D)/$$f; done
	@echo "  KMOD    $@"
	@if ! $(MAKE) -C $(HOP_CACHE)/headers/$*/usr/src/linux-headers-$* M=$(CURDIR)/$(@D) KCFLAGS=$(WERROR) modules >$(@D)/build.log 2>&1; then \
		cat $(@D)/build.log; exit 1; fi
	@if [ -n "$(WERROR)" ] && grep -i 'warning' $(@D)/build.log; then \
		echo "$@: the build printed warnings (see $(@D)/build.log)"; rm -f $@; exit 1; fi

$(HOP_CACHE)/headers/%/.unpacked:
	$(VM)/fetch-kernel.sh -h $*
$(LINUX_SRC_TAR) /bin/busybox:
	@echo "$@ is missing: run 'make deps' (or 'make check', which does)"; exit 1

# --- libhop -----------------------------------------------------------------
# <hop/version.h> from lib/version.h.in and HOP_VERSION.  Checked on every
# make (FORCE) but written only when its text changes, as Kbuild's filechk
# does: a new MODULE_VERSION rebuilds what includes hop.h, nothing else does,
# and a make in the guest, where the tree is read-only, writes nothing.
$(HOP_VERSION_H): lib/version.h.in FORCE
	@mkdir -p $(@D)
	@tmp=$$(mktemp) && sed -e 's/@MAJOR@/$(HOP_VERSION_MAJOR)/' -e 's/@MINOR@/$(HOP_VERSION_MINOR)/' $< >$$tmp && \
	if cmp -s $$tmp $@; then rm -f $$tmp; else chmod 0644 $$tmp && mv $$tmp $@ && echo "  GEN     $@"; fi
FORCE:

# libhop and the examples need no kselftest header, so that `make install`
# works on a machine without linux-source (the -isystem finds nothing there).
build/lib/obj/%.o: lib/%.c $(HOP_VERSION_H)
	@mkdir -p $(@D)
	$(CC) $(HOP_CFLAGS) -fPIC -c -o $@ $<

build/lib/libhop.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $(LIB_OBJS)

build/lib/libhop.so.0: $(LIB_OBJS) $(LIB_MAP)
	$(CC) -shared -Wl,-soname,libhop.so.0 $(if $(LIB_MAP),-Wl$(comma)--version-script=$(LIB_MAP)) \
		-o $@ $(LIB_OBJS) -luring -lpthread

build/lib/libhop.so: build/lib/libhop.so.0
	ln -sf libhop.so.0 $@

comma := ,

# --- user programs: one per file, bench is one program ----------------------
# Dependency files are hidden (.NAME.d) so that build/selftests/ and
# build/examples/ list programs only.
build/selftests/%: selftests/%.c build/lib/libhop.a $(HOP_VERSION_H) | $(KSFT_HDR)
	@mkdir -p $(@D)
	$(CC) $(HOP_CFLAGS) -MF $(@D)/.$(@F).d -o $@ $< $(LDLIBS)

build/examples/%: examples/%.c build/lib/libhop.a $(HOP_VERSION_H)
	@mkdir -p $(@D)
	$(CC) $(HOP_CFLAGS) -MF $(@D)/.$(@F).d -o $@ $< $(LDLIBS)

build/bench/obj/%.o: bench/%.c $(HOP_VERSION_H) | $(KSFT_HDR)
	@mkdir -p $(@D)
	$(CC) $(HOP_CFLAGS) -c -o $@ $<

build/bench/hopbench: $(BENCH_OBJS) build/lib/libhop.a
	$(CC) $(CFLAGS) -o $@ $(BENCH_OBJS) $(LDLIBS) -lsqlite3 -lm

# Debian's libsqlite3-dev: hopbench --workload sqlite (bench/w_sqlite.c) and
# the SQLite example server.
build/examples/sqlite-server: LDLIBS += -lsqlite3

# Declares the few QEMU plugin API v1 functions it uses itself: Debian
# packages no qemu-plugin.h.  No -Werror exemption: it builds clean.
build/bench/hopinsn.so: bench/plugin/hopinsn.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wall -Wextra $(WERROR) -shared -fPIC -fvisibility=hidden -o $@ $<

$(KSFT_HDR): $(LINUX_SRC_TAR)
	@echo "  EXTRACT kselftest headers from $<"
	@# --touch: the headers must look newer than the tarball, or this reruns
	@# every time; a private temp dir, because the cache is shared by clones.
	@tmp=$(KSFT_DIR).tmp.$$$$ && mkdir -p $$tmp && \
	tar -xJf $< -C $$tmp --touch --strip-components=4 \
		$(KSFT_MEMBER)/kselftest_harness.h $(KSFT_MEMBER)/kselftest.h && \
	rm -rf $(KSFT_DIR) && mv $$tmp $(KSFT_DIR)

# The kernel's own futex/membarrier/rseq/mm selftests, which
# selftests/kselftests_test.sh runs beside a hop workload.
$(KSELFTESTS): $(VM)/kselftests.sh $(VM)/linux-source.sh $(LINUX_SRC_TAR)
	@$(VM)/kselftests.sh $(@D)

-include $(wildcard build/*/.*.d build/*/obj/*.d)

# --- the test VM ------------------------------------------------------------
$(HOP_CACHE)/kernels/%/.unpacked:
	$(VM)/fetch-kernel.sh $*

build/vm/%/initramfs.cpio: $(VM)/mkinitramfs.sh $(VM)/init /bin/busybox $(HOP_CACHE)/kernels/%/.unpacked
	@echo "  INITRD  $@"
	@$(VM)/mkinitramfs.sh $(HOP_CACHE)/kernels/$* $* $@

vm-prep: all $(INITRAMFS)

deps:
	@$(VM)/install-deps.sh

# Targets that boot a guest first install whatever is missing (a few
# dpkg-query calls when nothing is), then build in a sub-make, so that the
# kernel releases are resolved again after a fallback install.
vm-run: deps
	@$(MAKE) --no-print-directory vm-prep $(if $(filter debug,$(KERNEL)),debug-prep)
	@$(VM)/run-vm.sh $(call vm_args,$(PLUGIN)) -a "$$HOP_APPEND" -- "$$HOP_CMD"

check: deps
	@$(MAKE) --no-print-directory vm-prep
	@$(VM)/check.sh

demo: deps
	@$(MAKE) --no-print-directory vm-prep
	@$(VM)/run-vm.sh -k "$$KERNEL" -t "$$TIMEOUT" -- examples/demo.sh

bench: deps
	@[ -x bench/run.sh ] || { echo "bench/run.sh does not exist yet"; exit 1; }
	@$(MAKE) --no-print-directory vm-prep
	@$(VM)/run-vm.sh $(call vm_args,$(or $(PLUGIN),$(ICOUNT))) -- "bench/run.sh $${BENCH_MODE:-$(if $(filter 1,$(ICOUNT)),insn)}"

# --- the debug kernel --------------------------------------------------------
# Built from linux-source-6.12 with the kernel's bug detectors on (see
# selftests/vm/debug-kernel.sh and debug.config), cached outside the tree.
# hop.ko and the initramfs for it live in build/debug/ and build/vm/debug/.
# Every test gets DEBUG_TEST_TIMEOUT seconds: KASAN and lockdep under TCG
# make a test several times slower than on the stock kernels.  The guest as a
# whole gets at most an hour (a run took about 15 minutes), so that a hung
# debug guest fails CI instead of outlasting it.
DEBUG_TEST_TIMEOUT ?= 600
DEBUG_CHECK_LIMIT ?= 3600
debug-kernel: deps
	@$(VM)/debug-kernel.sh build >/dev/null

# hop.ko and the initramfs for the debug kernel (Kbuild and mkinitramfs.sh
# decide themselves whether anything changed).
debug-prep: debug-kernel
	@echo "  KMOD    build/debug/hop.ko"
	@$(VM)/debug-kernel.sh module build/debug
	@echo "  INITRD  build/vm/debug/initramfs.cpio"
	@$(VM)/mkinitramfs.sh "$$($(VM)/debug-kernel.sh kdir)" "$$($(VM)/debug-kernel.sh release)" \
		build/vm/debug/initramfs.cpio

check-debug: debug-prep
	@$(MAKE) --no-print-directory vm-prep
	@CHECK_KERNELS=debug CHECK_DIR=out/check-debug TEST_TIMEOUT=$(DEBUG_TEST_TIMEOUT) \
		CHECK_LIMIT=$(DEBUG_CHECK_LIMIT) $(VM)/check.sh

clean:
	rm -rf build out

# make install, make uninstall, make dkms-src.
include install.mk
