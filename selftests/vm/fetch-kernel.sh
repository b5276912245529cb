#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fetch-kernel.sh: download and unpack one Debian guest kernel into the cache, never installing it.
#
#   fetch-kernel.sh RELEASE
#
# Leaves $HOP_CACHE/kernels/RELEASE/{boot/vmlinuz-RELEASE,lib/modules/RELEASE}
# with a fresh modules.dep (Debian generates it at install time, so the
# package does not carry it).  Idempotent: a second call is a stat.
set -euo pipefail

release=$1
cache=${HOP_CACHE:-/var/cache/hop}
dest="$cache/kernels/$release"
pkg="linux-image-$release-unsigned"

[ -f "$dest/.unpacked" ] && exit 0

mkdir -p "$cache/debs"
deb=$(ls "$cache/debs/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$deb" ]; then
	echo "fetch-kernel: apt-get download $pkg" >&2
	# apt-get download writes to the cwd, and as root it wants _apt to be
	# able to write there; downloading into a private temp dir avoids both.
	tmp=$(mktemp -d)
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -q "$pkg") || {
		echo "fetch-kernel: cannot download $pkg (run selftests/vm/install-deps.sh, which falls back to the newest of the series)" >&2
		rm -rf "$tmp"; exit 1; }
	mv "$tmp"/*.deb "$cache/debs/"
	rm -rf "$tmp"
	deb=$(ls "$cache/debs/${pkg}_"*.deb | sort -V | tail -n 1)
fi

echo "fetch-kernel: unpacking $(basename "$deb")" >&2
rm -rf "$dest.tmp"
mkdir -p "$cache/kernels"
dpkg -x "$deb" "$dest.tmp"
depmod -b "$dest.tmp" "$release"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
touch "$dest/.unpacked"
