#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# install-deps.sh: install the host packages hop needs and fetch the guest kernels, only what is missing.
#
# Detects with dpkg-query and runs apt-get update only when something has to
# be installed, so on a ready machine this is a few dpkg-query calls.  The
# guest kernels of kernels.conf, image and headers, are downloaded with
# apt-get download and unpacked into the cache, not installed: installing
# Debian's 6.12 headers would install its kernel image on the host too.  When
# the pinned release has left the archive, the newest release of its series
# is taken, with a warning.
set -euo pipefail

here=$(dirname "${BASH_SOURCE[0]}")
cache=${HOP_CACHE:-/var/cache/hop}
packages=(
	build-essential make gcc libc6-dev kmod cpio zstd xz-utils
	qemu-system-x86 busybox-static
	liburing-dev bpftrace gnuplot-nox stress-ng linux-perf dwarves
	# rt-tests: pmqtest, ptsematest and cyclictest, the outside references
	# of bench/run.sh claims.
	rt-tests
	linux-source-6.12
	# The fuzzing test, and what building the debug kernel from that source
	# needs (make debug-kernel; BTF comes from dwarves' pahole).
	trinity flex bison bc libelf-dev libssl-dev
	# make install and its tests (selftests/install_test.sh, dkms_test.sh):
	# DKMS, pkg-config, groff to check the man pages.
	dkms pkgconf groff-base
	# hopbench --workload sqlite and examples/sqlite-server.c.
	libsqlite3-dev
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

updated=
apt_update() {
	[ -n "$updated" ] && return
	echo "install-deps: apt-get update" >&2
	apt-get update -q >&2
	updated=1
}

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done

# The guest kernels: the pinned release, or the newest of its series when
# the archive has dropped it.  Their images and headers are unpacked into the
# cache by fetch-kernel.sh, never installed (see there for why).
releases=()
for k in $("$here/kernels.sh" shorts); do
	pinned=$("$here/kernels.sh" pinned "$k")
	if [ -f "$cache/headers/$pinned/.unpacked" ] && [ -f "$cache/kernels/$pinned/.unpacked" ]; then
		releases+=("$pinned")
		continue
	fi
	apt_update
	if apt-cache show "linux-headers-$pinned" >/dev/null 2>&1 &&
	   apt-cache show "linux-image-$pinned-unsigned" >/dev/null 2>&1; then
		releases+=("$pinned")
		continue
	fi
	series=$("$here/kernels.sh" series "$k")
	# kernels.conf's glob as an anchored regex: escape . and +, * is a field.
	re="^linux-headers-$(printf '%s' "$series" | sed -e 's/[.+]/\\&/g' -e 's/\*/[0-9]+/g')\$"
	best=$(apt-cache search --names-only "$re" | awk '{ print $1 }' | sort -V | tail -n 1 || true)
	if [ -z "$best" ]; then
		echo "install-deps: no linux-headers package of series $series in the archive" >&2
		exit 1
	fi
	echo "install-deps: warning: $pinned is no longer in the archive, using ${best#linux-headers-}" >&2
	releases+=("${best#linux-headers-}")
done

if [ ${#missing[@]} -gt 0 ]; then
	apt_update
	echo "install-deps: apt-get install ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

for r in "${releases[@]}"; do
	"$here/fetch-kernel.sh" "$r"
done
