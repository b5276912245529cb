#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dkms_test.sh: install hop.ko through Debian's dkms for the running guest kernel, modprobe it, remove it; KTAP.
#
# run-tests: timeout=2400
# (The runner reads the line above.)  A DKMS build compiles hop.ko under TCG,
# which takes minutes, and far more on a busy host (docs/measured-times.md),
# so it runs only when asked: `make check CHECK_DKMS=1` sets
# HOP_DKMS=1 in the guests; otherwise every case is reported as skipped.
#
# Runs in the test VM (run-tests.sh runs every selftests/*_test.sh) as root
# from the repository root, with the runner's hop.ko ($HOP_KO) loaded.  It
# unloads that one, installs the sources the way docs/install.md says (make
# dkms-src, dkms add/build/install), loads the DKMS build with modprobe and a
# module parameter, unloads it with modprobe -r, removes it from DKMS and
# loads $HOP_KO again, so that the runner's later checks find the module it
# expects.  The guest's root is a tmpfs overlay: /usr/src, /var/lib/dkms and
# /lib/modules/RELEASE are writable and vanish at power-off.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
release=$(uname -r)
# The headers tree run-vm.sh unpacked into the cache (HOP_HEADERS), or the
# installed package's on a machine that has one.
headers=${HOP_HEADERS:-/usr/src/linux-headers-$release}
version=$(sed -n 's/^MODULE_VERSION("\(.*\)");$/\1/p' module/main.c)
tmp=$(mktemp -d)
n=0 pass=0 fail=0 skip=0

# Whatever happens, leave the runner's hop.ko loaded and DKMS empty.
cleanup() {
	modprobe -r hop 2>/dev/null
	dkms remove "hop/$version" --all >/dev/null 2>&1
	[ -d /sys/module/hop ] || insmod "$HOP_KO"
	rm -rf "$tmp"
}
trap cleanup EXIT

. "$repo/selftests/ktap.sh"

echo "TAP version 13"
echo "1..12"
why=
[ "${HOP_DKMS:-}" = 1 ] || why="slow under TCG: make check CHECK_DKMS=1 runs it"
[ -n "${HOP_KO:-}" ] && command -v dkms >/dev/null && [ -d "$headers" ] ||
	why="needs the test VM (HOP_KO), dkms and the headers in $headers"
if [ -n "$why" ]; then
	trap - EXIT
	rm -rf "$tmp"
	for n in $(seq 12); do echo "ok $n dkms # SKIP $why"; done
	echo "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:12 error:0"
	exit 4
fi

versions_agree() {
	local conf
	conf=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
	echo "dkms.conf $conf, MODULE_VERSION $version"
	[ -n "$version" ] && [ "$conf" = "$version" ]
}
# Debian's linux-headers package makes /lib/modules/R/build; the guest's
# /lib/modules/R comes from the image package alone, so make it here.
headers_link() {
	[ -e "/lib/modules/$release/build" ] || ln -s "$headers" "/lib/modules/$release/build"
	[ -f "/lib/modules/$release/build/Makefile" ]
}
dkms_src() {
	local got want
	make --no-print-directory dkms-src || return 1
	# Only the module's sources: nothing of build/ or out/.
	got=$(cd "/usr/src/hop-$version" && find . -type f | sort)
	want=$({ echo ./dkms.conf; echo ./Kbuild; printf './%s\n' module/*.[ch] uapi/linux/*.h; } | sort)
	echo "in /usr/src/hop-$version:" $got
	[ "$got" = "$want" ]
}
timed_build() {
	local start ms
	start=$(date +%s%N)
	dkms build "hop/$version" -k "$release" || return 1
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "dkms build: $((ms / 1000)).$((ms % 1000 / 100)) s" >"$tmp/build-time"
}
installed_ko() {
	dkms install "hop/$version" -k "$release" &&
	ls /lib/modules/"$release"/updates/dkms/hop.ko* &&
	grep -q '^updates/dkms/hop\.ko[.a-z]*:' "/lib/modules/$release/modules.dep" &&
	dkms status "hop/$version" | grep -q "$release.*installed"
}
# modinfo by name: the module depmod found, with every field a user reads.
modinfo_by_name() {
	modinfo -n hop | grep -q "^/lib/modules/$release/updates/dkms/hop\.ko" &&
	selftests/install/modinfo-check.sh hop "$release"
}
modprobe_mode() {
	modprobe hop mode=0640 &&
	grep -qx "$version" /sys/module/hop/version &&
	[ "$(stat -c '%a %F' /dev/hop)" = "640 character special file" ] &&
	build/examples/hop-version | grep -q 'hop ABI version'
}
modprobe_r() { modprobe -r hop && [ ! -d /sys/module/hop ] && [ ! -e /dev/hop ]; }
removed() {
	dkms remove "hop/$version" --all &&
	! ls /lib/modules/"$release"/updates/dkms/hop.ko* 2>/dev/null &&
	! modinfo hop 2>/dev/null &&
	[ -z "$(dkms status hop)" ]
}
reloaded() { insmod "$HOP_KO" && [ -c /dev/hop ]; }

t "dkms.conf PACKAGE_VERSION is MODULE_VERSION ($version)" versions_agree
t "rmmod the runner's hop.ko" rmmod hop
t "/lib/modules/$release/build points at the headers" headers_link
t "make dkms-src puts only the module's sources in /usr/src/hop-$version" dkms_src
t "dkms add hop/$version" dkms add "hop/$version"
t "dkms build hop/$version for $release" timed_build
[ -f "$tmp/build-time" ] && sed 's/^/# /' "$tmp/build-time"
t "dkms install: updates/dkms/hop.ko, in modules.dep, dkms status installed" installed_ko
t "modinfo hop: the DKMS build, description, author, license, version, parameters" modinfo_by_name
t "modprobe hop mode=0640: /dev/hop is 0640 and answers" modprobe_mode
t "modprobe -r hop" modprobe_r
t "dkms remove: the module and its modinfo are gone" removed
t "insmod the runner's hop.ko again" reloaded
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ "$fail" -eq 0 ]
