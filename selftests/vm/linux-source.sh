#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# linux-source.sh: unpack Debian's linux-source-6.12 tarball once into the cache and print the tree's path.
#
#   linux-source.sh            print the path of the unpacked tree, unpacking it first if needed
#   linux-source.sh version    print the package version (the cache key)
#
# Shared by debug-kernel.sh (which builds the debug guest kernel from it,
# with O= so that the tree itself stays clean) and kselftests.sh (which
# builds the kernel's own selftests from it).  The tree is
# $HOP_CACHE/debug/src-VERSION (the debug kernel's objects name that path),
# unpacked under a lock so that two clones never unpack it at once, and
# marked complete only after tar finished.
set -euo pipefail

cache=${HOP_CACHE:-/var/cache/hop}
tarball=${LINUX_SRC_TAR:-/usr/src/linux-source-6.12.tar.xz}

version=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) || {
	echo "linux-source: linux-source-6.12 is not installed (make deps installs it)" >&2; exit 1; }
src="$cache/debug/src-${version//[^A-Za-z0-9.+_-]/_}"

case "${1:-}" in
version) echo "$version"; exit 0 ;;
"") ;;
*) sed -n '4,5p' "$0" >&2; exit 2 ;;
esac

if [ ! -f "$src/.extracted" ]; then
	mkdir -p "$cache/debug"
	exec 8>"$src.lock"
	flock 8
	if [ ! -f "$src/.extracted" ]; then
		echo "linux-source: unpacking $tarball (once, about a minute)" >&2
		rm -rf "$src.tmp"
		mkdir -p "$src.tmp"
		# The whole tree: Kconfig reads Documentation/Kconfig, and `make
		# headers` needs the top Makefile, scripts/ and every uapi dir.
		nice -n 19 tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
		rm -rf "$src"
		mv "$src.tmp" "$src"
		touch "$src/.extracted"
	fi
	exec 8>&-
fi
echo "$src"
