#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fetch-kernel.sh: download and unpack one Debian guest kernel and its headers into the cache, never installing either.
#
#   fetch-kernel.sh RELEASE          the image and the headers
#   fetch-kernel.sh -h RELEASE       the headers only
#   fetch-kernel.sh kdir RELEASE     print the headers tree hop.ko builds against
#
# Leaves $HOP_CACHE/kernels/RELEASE/{boot/vmlinuz-RELEASE,lib/modules/RELEASE}
# with a fresh modules.dep (Debian generates it at install time, so the
# package does not carry it), and $HOP_CACHE/headers/RELEASE/, the headers
# packages (linux-headers-RELEASE, its -common and its linux-kbuild) unpacked
# with dpkg -x.  The headers are not installed with apt on purpose: Debian's
# 6.12 headers package depends on its kernel image, so installing it would
# install a kernel on the build host and run mkinitramfs for it, minutes of a
# fresh machine's time for a kernel the host never boots.  The unpacked tree
# works where it lies: its links are relative, and the one absolute path
# (the arch Makefile's include of the -common Makefile) is rewritten to the
# cache.  Idempotent: a second call is a stat.
set -euo pipefail

cache=${HOP_CACHE:-/var/cache/hop}

kdir() { echo "$cache/headers/$1/usr/src/linux-headers-$1"; }

# The newest cached .deb of package $1, downloaded first if there is none.
deb_of() {
	local pkg=$1 deb tmp
	mkdir -p "$cache/debs"
	for deb in "$cache/debs/${pkg}_"*.deb; do :; done
	if [ ! -f "$deb" ]; then
		echo "fetch-kernel: apt-get download $pkg" >&2
		# apt-get download writes to the cwd, and as root it wants _apt to be
		# able to write there; downloading into a private temp dir avoids both.
		tmp=$(mktemp -d)
		chmod 755 "$tmp"
		(cd "$tmp" && apt-get download -q "$pkg" >&2) || {
			echo "fetch-kernel: cannot download $pkg (run selftests/vm/install-deps.sh, which falls back to the newest of the series)" >&2
			rm -rf "$tmp"; exit 1; }
		mv "$tmp"/*.deb "$cache/debs/"
		rm -rf "$tmp"
	fi
	# Several versions of one package: the highest (a glob sorts by name).
	printf '%s\n' "$cache/debs/${pkg}_"*.deb | sort -V | tail -n 1
}

image() {
	local release=$1 dest="$cache/kernels/$1" deb
	[ -f "$dest/.unpacked" ] && return
	deb=$(deb_of "linux-image-$release-unsigned")
	echo "fetch-kernel: unpacking $(basename "$deb")" >&2
	rm -rf "$dest.tmp"
	mkdir -p "$cache/kernels"
	dpkg -x "$deb" "$dest.tmp"
	depmod -b "$dest.tmp" "$release"
	rm -rf "$dest"
	mv "$dest.tmp" "$dest"
	touch "$dest/.unpacked"
}

headers() {
	local release=$1 dest="$cache/headers/$1" deb dep debs=()
	[ -f "$dest/.unpacked" ] && return
	deb=$(deb_of "linux-headers-$release")
	debs=("$deb")
	# Its -common and linux-kbuild packages, by name from its Depends (a
	# flavour may have its own common package: the rt kernel's is -common-rt).
	for dep in $(dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' | awk '{ print $1 }'); do
		case $dep in linux-headers-*-common|linux-headers-*-common-*|linux-kbuild-*)
			debs+=("$(deb_of "$dep")") ;;
		esac
	done
	rm -rf "$dest.tmp"
	mkdir -p "$dest.tmp"
	for deb in "${debs[@]}"; do
		echo "fetch-kernel: unpacking $(basename "$deb")" >&2
		dpkg -x "$deb" "$dest.tmp"
	done
	# include /usr/src/linux-headers-R-common/Makefile -> the cache's copy.
	sed -i "s|^include /usr/src/|include $dest/usr/src/|" "$dest.tmp/usr/src/linux-headers-$release/Makefile"
	rm -rf "$dest"
	mv "$dest.tmp" "$dest"
	[ -f "$(kdir "$release")/Makefile" ] || { echo "fetch-kernel: no Makefile in $(kdir "$release")" >&2; exit 1; }
	touch "$dest/.unpacked"
}

case "${1:-}" in
kdir) kdir "$2" ;;
-h)   headers "$2" ;;
-*|"") sed -n '4,7p' "$0" >&2; exit 2 ;;
*)    headers "$1"; image "$1" ;;
esac
