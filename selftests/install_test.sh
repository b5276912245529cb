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
	for f in usr/lib/libhop.so.$version usr/lib/libhop.a usr/include/hop.h usr/include/hop/version.h \
		usr/include/linux/hop.h usr/share/man/man4/hop.4 usr/share/man/man7/hop.7 \
		usr/lib/pkgconfig/hop.pc usr/lib/udev/rules.d/60-hop.rules \
		lib/modules/$release/extra/hop.ko; do
		[ -f "$D/$f" ] || { echo "missing $f"; missing=1; }
	done
	for f in build/examples/*; do
		[ -x "$D/usr/libexec/hop/examples/${f##*/}" ] || { echo "missing example ${f##*/}"; missing=1; }
	done
	[ -f "$D/usr/lib/sysusers.d/hop.conf" ] || { echo "missing usr/lib/sysusers.d/hop.conf"; missing=1; }
	return $missing
}
# The bpftrace tools where Debian puts bpftrace's own (/usr/sbin), each with
# its section-8 page (clean roff) and its _example.txt; the examples' sources
# beside them under a license that lets users copy them.
tools_installed() {
	local f t missing=0
	for f in tools/*.bt; do
		[ -e "$f" ] || continue
		t=${f##*/}
		[ -x "$D/usr/sbin/$t" ] || { echo "missing tool usr/sbin/$t"; missing=1; }
		[ -f "$D/usr/share/man/man8/$t.8" ] || { echo "missing man page $t.8"; missing=1; continue; }
		out=$(groff -man -ww -z "$D/usr/share/man/man8/$t.8" 2>&1)
		[ -z "$out" ] || { echo "$t.8: $out"; missing=1; }
		[ -f "$D/usr/share/doc/hop/examples/${t%.bt}_example.txt" ] ||
			{ echo "missing ${t%.bt}_example.txt"; missing=1; }
	done
	for f in examples/*.c; do
		[ -f "$D/usr/share/doc/hop/examples/${f##*/}" ] || { echo "missing source ${f##*/}"; missing=1; }
		head -n 1 "$f" | grep -q 'SPDX-License-Identifier: MIT-0' || { echo "${f##*/} is not MIT-0"; missing=1; }
	done
	return $missing
}
# dkms.conf's BUILD_EXCLUSIVE_KERNEL and _ARCH (as DKMS reads them, with
# bash's =~) take exactly the kernels module/compat.h accepts and hop is
# tested on: 6.1 and 6.12, x86-64.
dkms_exclusive() {
	(
		. ./dkms.conf || exit 1
		for k in 6.1.0-56-amd64 6.12.117+deb12-amd64 "$release"; do
			[[ $k =~ $BUILD_EXCLUSIVE_KERNEL ]] || { echo "refuses $k"; exit 1; }
		done
		for k in 5.10.0-30-amd64 6.10.0-1-amd64 6.13.0-1-amd64 6.16.3+deb13-amd64 6.120.0; do
			[[ $k =~ $BUILD_EXCLUSIVE_KERNEL ]] && { echo "accepts $k"; exit 1; }
		done
		[[ x86_64 =~ $BUILD_EXCLUSIVE_ARCH ]] && ! [[ aarch64 =~ $BUILD_EXCLUSIVE_ARCH ]] ||
			{ echo "BUILD_EXCLUSIVE_ARCH '$BUILD_EXCLUSIVE_ARCH'"; exit 1; }
		grep -q 'KERNEL_VERSION(6, 1, 0)' module/compat.h && grep -q 'KERNEL_VERSION(6, 13, 0)' module/compat.h ||
			{ echo "module/compat.h's bounds changed: update dkms.conf"; exit 1; }
	)
}
soname_links() {
	[ "$(readlink "$D/usr/lib/libhop.so.0")" = "libhop.so.$version" ] &&
	[ "$(readlink "$D/usr/lib/libhop.so")" = libhop.so.0 ] &&
	readelf -d "$D/usr/lib/libhop.so.$version" | grep -q 'SONAME.*\[libhop\.so\.0\]'
}
# Every symbol libhop exports has its man page; every installed page is
# clean roff, tables included (-t; -I: a ".so man3/PAGE" link page is read
# from the installed tree); every section-3 page says whether it is
# thread-safe (ATTRIBUTES); hop(7) lists every hop page, and each it lists
# exists.
man_pages() {
	local sym page ref refs bad=0 man=$D/usr/share/man
	for sym in $(sed -n 's/^[[:space:]]*\(hop_[a-z_]*\);$/\1/p' lib/libhop.map); do
		[ -f "$man/man3/$sym.3" ] || { echo "no man page for $sym"; bad=1; }
	done
	for page in "$man"/man3/*.3 "$man"/man4/*.4 "$man"/man7/*.7 "$man"/man8/*.8; do
		out=$(groff -I "$man" -t -man -ww -z "$page" 2>&1)
		[ -z "$out" ] || { echo "${page#"$man"/}: $out"; bad=1; }
		case $page in
		*/man3/*) grep -q '^\.so ' "$page" || grep -q '^\.SH ATTRIBUTES' "$page" ||
			{ echo "${page#"$man"/}: no ATTRIBUTES section"; bad=1; } ;;
		esac
	done
	refs=$(sed -n 's/^\.BR \(hop[a-z_.]*\) (\([0-9]\)).*/\1.\2/p' "$man/man7/hop.7")
	for ref in $refs; do
		[ -f "$man/man${ref##*.}/$ref" ] || { echo "hop.7 refers to $ref, not installed"; bad=1; }
	done
	for page in "$man"/man[348]/*.[348]; do
		grep -qx "${page##*/}" <<<"$refs" || { echo "hop.7 does not list ${page##*/}"; bad=1; }
	done
	return $bad
}
# One version everywhere: pkg-config's, the installed header's macros, the
# installed library's functions, MODULE_VERSION, dkms.conf and the newest
# node of libhop.map; hop_check_version() with liburing's semantics.
versions_agree() {
	local got conf node
	# shellcheck disable=SC2046 # pkg-config's output is meant to split
	cc -Wall -Wextra -Werror $(pc --cflags hop) -o "$tmp/version" selftests/install/version.c \
		$(pc --libs hop) || return 1
	got=$(LD_LIBRARY_PATH=$D/usr/lib "$tmp/version") || return 1
	conf=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
	node=$(sed -n 's/^LIBHOP_\([0-9.]*\) {$/\1/p' lib/libhop.map | tail -n 1)
	echo "$got; pkg-config $(pc --modversion hop); MODULE_VERSION $version; dkms.conf $conf; libhop.map $node"
	[ "$got" = "compiled $version loaded $version older-than-self 0 older-than-next 1" ] &&
	[ "$(pc --modversion hop)" = "$version" ] && [ "$conf" = "$version" ] && [ "$node" = "$version" ]
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
	# The group from the installed sysusers.d entry, as a package would.
	getent group hop >/dev/null || systemd-sysusers "$D/usr/lib/sysusers.d/hop.conf" || return 1
	getent group hop || return 1
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
	[ -f "$d/etc/sysusers.d/hop.conf" ] && [ -x "$d/usr/local/sbin/hopsnoop.bt" ] &&
	[ -f "$d/usr/local/lib/libhop.so.$version" ] &&
	[ ! -e "$d/lib/modules" ] &&
	make --no-print-directory uninstall DESTDIR="$d" &&
	nothing_left "$d"
}

echo "TAP version 13"
echo "1..16"
t "make install DESTDIR PREFIX=/usr KERNELRELEASE=$release" do_install
t "installed: libhop, headers, hop.pc, udev rule, sysusers.d group, hop.ko, examples" files_installed
t "tools in /usr/sbin with a section-8 page and an _example.txt each; MIT-0 example sources" tools_installed
t "dkms.conf builds only for 6.1 and 6.12 on x86-64, as module/compat.h accepts" dkms_exclusive
t "libhop.so.$version: soname libhop.so.0, links libhop.so.0 and libhop.so" soname_links
t "a man page for every exported symbol; every page clean roff, section 3 with ATTRIBUTES" man_pages
t "pkg-config: version, cflags and libs into DESTDIR, -lpthread when static" pc_flags
t "an outside program builds with pkg-config --cflags --libs hop only" build_outside
t "one version: pkg-config, hop/version.h, libhop.so, MODULE_VERSION, dkms.conf, libhop.map" versions_agree
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
t "default PREFIX=/usr/local: pkg-config prefix, udev rule and sysusers.d in /etc, uninstall clean" default_prefix
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ "$fail" -eq 0 ]
