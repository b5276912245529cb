#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# install_test.sh: make install into a scratch DESTDIR, build an outside program with pkg-config alone, run it against hop.ko, make uninstall; KTAP.
#
# Runs in the test VM (run-tests.sh runs every selftests/*_test.sh) from the
# repository root, with hop.ko loaded and HOP_KERNEL set; outside the VM it
# still runs the host-side cases and skips what needs /dev/hop.  It installs
# what `make` already built (the repository is read-only in the guest) with
# PREFIX=/usr and KERNELRELEASE=$HOP_KERNEL, checks every file the install
# promises, compiles selftests/install/outside.c with nothing but
# `pkg-config --cflags --libs hop` (PKG_CONFIG_SYSROOT_DIR pointing into the
# DESTDIR, so no header or library of the source tree can leak in), runs it,
# reads the installed hop.ko with modinfo, applies the installed udev rule to
# /dev/hop with udevadm test, and checks that `make uninstall`
# leaves no file behind.  The default PREFIX (/usr/local) is installed and
# removed once more, since its udev directory is chosen differently.
#
# run-tests: timeout=600
# (The runner reads the line above: under TCG on a busy host the compiles and
# make runs here took 100 s of the default 120.)
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
# Outside the VM: the first pinned kernel, whose hop.ko make has built.
release=${HOP_KERNEL:-$(selftests/vm/kernels.sh releases | head -n 1)}
version=$(sed -n 's/^MODULE_VERSION("\(.*\)");$/\1/p' module/main.c)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
D=$tmp/root
n=0 pass=0 fail=0 skip=0

. "$repo/selftests/ktap.sh"
skip() { n=$((n + 1)); skip=$((skip + 1)); echo "ok $n $1 # SKIP $2"; }

pc() { PKG_CONFIG_PATH=$D/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D pkg-config "$@"; }

# In the guest, install the hop.ko that is loaded (run-vm.sh's HOP_KO): on
# the debug kernel no Debian headers package exists to build another.
do_install() {
	make --no-print-directory install DESTDIR="$D" PREFIX=/usr KERNELRELEASE="$release" \
		${HOP_KO:+INSTALL_KO="$HOP_KO"}
}
files_installed() {
	local f missing=0
	for f in usr/lib/libhop.so.$version usr/lib/libhop.a usr/include/hop.h usr/include/linux/hop.h \
		usr/lib/pkgconfig/hop.pc usr/lib/udev/rules.d/60-hop.rules \
		lib/modules/$release/extra/hop.ko; do
		[ -f "$D/$f" ] || { echo "missing $f"; missing=1; }
	done
	for f in build/examples/*; do
		[ -x "$D/usr/libexec/hop/examples/${f##*/}" ] || { echo "missing example ${f##*/}"; missing=1; }
	done
	for f in tools/*.bt; do
		[ -e "$f" ] || continue
		[ -x "$D/usr/share/hop/tools/${f##*/}" ] || { echo "missing tool ${f##*/}"; missing=1; }
	done
	return $missing
}
soname_links() {
	[ "$(readlink "$D/usr/lib/libhop.so.0")" = "libhop.so.$version" ] &&
	[ "$(readlink "$D/usr/lib/libhop.so")" = libhop.so.0 ] &&
	readelf -d "$D/usr/lib/libhop.so.$version" | grep -q 'SONAME.*\[libhop\.so\.0\]'
}
# Every symbol libhop exports has its man page, and every page is clean roff.
man_pages() {
	local sym bad=0
	for sym in $(sed -n 's/^[[:space:]]*\(hop_[a-z_]*\);$/\1/p' lib/libhop.map); do
		[ -f "$D/usr/share/man/man3/$sym.3" ] || { echo "no man page for $sym"; bad=1; continue; }
		out=$(groff -man -ww -z "$D/usr/share/man/man3/$sym.3" 2>&1)
		[ -z "$out" ] || { echo "$sym.3: $out"; bad=1; }
	done
	return $bad
}
pc_flags() {
	local v c l s
	# echo -n: pkg-config ends its flags with a blank.
	# shellcheck disable=SC2046 # splitting is what drops it
	v=$(pc --modversion hop) c=$(echo -n $(pc --cflags hop)) l=$(echo -n $(pc --libs hop))
	s=$(pc --static --libs hop)
	echo "modversion '$v' cflags '$c' libs '$l' static '$s'"
	[ "$v" = "$version" ] && [ "$c" = "-I$D/usr/include" ] && [ "$l" = "-L$D/usr/lib -lhop" ] &&
	[[ " $s " == *" -lpthread "* ]]
}
# Only pkg-config's flags: no -I into the tree, no build/lib.
build_outside() {
	# shellcheck disable=SC2046 # pkg-config's output is meant to split
	cc -Wall -Wextra -Werror $(pc --cflags hop) -o "$tmp/outside" selftests/install/outside.c $(pc --libs hop) &&
	readelf -d "$tmp/outside" | grep -q 'NEEDED.*\[libhop\.so\.0\]'
}
run_outside() { LD_LIBRARY_PATH=$D/usr/lib "$tmp/outside"; }
run_example() { "$D/usr/libexec/hop/examples/hop-version" | grep -q 'ABI'; }
# The installed rule, applied by udev's own rule engine (no udevd runs in
# the guest): /dev/hop becomes root:hop 0660.  The guest's /etc is a tmpfs
# overlay; the device's owner and mode are put back afterwards.
udev_rule() {
	local ok
	getent group hop >/dev/null || groupadd --system hop || return 1
	mkdir -p /etc/udev/rules.d &&
	cp "$D/usr/lib/udev/rules.d/60-hop.rules" /etc/udev/rules.d/ &&
	udevadm test /sys/class/misc/hop 2>&1 | grep 60-hop.rules
	[ "$(stat -c '%a %U %G' /dev/hop)" = "660 root hop" ] && ok=1
	stat -c '%a %U %G' /dev/hop
	rm -f /etc/udev/rules.d/60-hop.rules
	chgrp root /dev/hop && chmod 0666 /dev/hop
	groupdel hop
	[ -n "${ok:-}" ]
}
do_uninstall() {
	make --no-print-directory uninstall DESTDIR="$D" PREFIX=/usr KERNELRELEASE="$release"
}
nothing_left() { # DIR
	local left
	left=$(find "$1" ! -type d)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}
default_prefix() {
	local d=$tmp/local
	make --no-print-directory install DESTDIR="$d" &&
	grep -qx 'prefix=/usr/local' "$d/usr/local/lib/pkgconfig/hop.pc" &&
	[ -f "$d/etc/udev/rules.d/60-hop.rules" ] &&
	[ -f "$d/usr/local/lib/libhop.so.$version" ] &&
	[ ! -e "$d/lib/modules" ] &&
	make --no-print-directory uninstall DESTDIR="$d" &&
	nothing_left "$d"
}

echo "TAP version 13"
echo "1..13"
t "make install DESTDIR PREFIX=/usr KERNELRELEASE=$release" do_install
t "installed: libhop, headers, hop.pc, udev rule, hop.ko, examples, tools" files_installed
t "libhop.so.$version: soname libhop.so.0, links libhop.so.0 and libhop.so" soname_links
t "a man page for every exported symbol, clean roff" man_pages
t "pkg-config: version, cflags and libs into DESTDIR, -lpthread when static" pc_flags
t "an outside program builds with pkg-config --cflags --libs hop only" build_outside
if [ -c /dev/hop ]; then
	t "the outside program serves and calls through the installed libhop" run_outside
	t "the installed example hop-version talks to hop.ko" run_example
else
	skip "the outside program serves and calls through the installed libhop" "no /dev/hop"
	skip "the installed example hop-version talks to hop.ko" "no /dev/hop"
fi
# Only where /dev/hop and /etc are the guest's to change.
if [ -c /dev/hop ] && [ -n "${HOP_OUT:-}" ] && command -v udevadm >/dev/null; then
	t "the installed udev rule makes /dev/hop root:hop 0660" udev_rule
else
	skip "the installed udev rule makes /dev/hop root:hop 0660" "only in the test VM"
fi
t "modinfo of the installed hop.ko: description, author, license, version, parameters" \
	selftests/install/modinfo-check.sh "$D/lib/modules/$release/extra/hop.ko" "$release"
t "make uninstall" do_uninstall
t "make uninstall leaves no file behind" nothing_left "$D"
t "default PREFIX=/usr/local: pkg-config prefix, udev rule in /etc, uninstall clean" default_prefix
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ "$fail" -eq 0 ]
