#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# debug-kernel.sh: build the debug guest kernel (KASAN, lockdep, kmemleak...) from Debian's linux-source-6.12, and hop.ko against it.
#
#   debug-kernel.sh build        build (once) and print the install dir
#   debug-kernel.sh kdir         the install dir (boot/, lib/modules/), built or not
#   debug-kernel.sh release      the kernel release of the built kernel
#   debug-kernel.sh module DIR   build hop.ko into DIR/hop.ko against it
#
# Config: allnoconfig + the tree's kvm_guest.config + selftests/vm/debug.config.
# Everything lives in $HOP_CACHE/debug/, outside the tree, keyed by the
# source package version and a hash of debug.config and this script's recipe
# (KEY below), so that a config change builds a new kernel and clones share
# a finished one.  The install dir has the layout fetch-kernel.sh gives a
# Debian kernel (boot/vmlinuz-RELEASE, lib/modules/RELEASE), so run-vm.sh
# and mkinitramfs.sh treat it like one.  Builds run under nice -n 19.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${HOP_CACHE:-/var/cache/hop}
fragment="$here/debug.config"
# Bump when the recipe below changes in a way that changes the kernel.
recipe=1

version=$("$here/linux-source.sh" version)
vkey=${version//[^A-Za-z0-9.+_-]/_}
key="$vkey-$( { echo "$recipe"; cat "$fragment"; } | sha256sum | cut -c1-12)"
top="$cache/debug/$key"
obj="$top/obj"
inst="$top/install"

kmake() { nice -n "${DEBUG_KERNEL_NICE:-19}" make -C "$src" O="$obj" "$@"; }


configure() {
	mkdir -p "$obj"
	kmake allnoconfig >/dev/null
	# merge_config.sh -m: merge only, then olddefconfig resolves dependencies.
	(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
		"$src/kernel/configs/kvm_guest.config" "$fragment" >/dev/null)
	kmake olddefconfig >/dev/null
	# Every checker asked for must have survived: a dropped one fails here.
	local line name val bad=0
	while IFS= read -r line; do
		case $line in CONFIG_*=*) ;; *) continue ;; esac
		name=${line%%=*} val=${line#*=}
		if [ "$val" = n ]; then
			grep -q "^$name=" "$obj/.config" && { echo "debug-kernel: $name is set, wanted off" >&2; bad=1; }
		elif ! grep -qxF "$line" "$obj/.config"; then
			echo "debug-kernel: $line did not survive olddefconfig (got: $(grep "^$name=\|^# $name " "$obj/.config" || echo nothing))" >&2
			bad=1
		fi
	done <"$fragment"
	[ $bad -eq 0 ] || exit 1
}

build() {
	[ -f "$top/.done" ] && { echo "$inst"; return; }
	command -v pahole >/dev/null || { echo "debug-kernel: pahole (dwarves) is needed for BTF" >&2; exit 1; }
	mkdir -p "$cache/debug"
	# One builder per key: a second clone waits and then finds it done.
	exec 9>"$cache/debug/.lock-$key"
	flock 9
	[ -f "$top/.done" ] && { echo "$inst"; return; }
	local t0 t1 rel seed
	# Whatever stops the build (set -e included) says so, with the build
	# log's tail, so that make check-debug and CI never fail without a word.
	trap 'rc=$?; [ $rc -eq 0 ] || { echo "debug-kernel: building $key failed (exit $rc)" >&2
		[ -f "$top/build.log" ] && { tail -n 40 "$top/build.log"; echo "debug-kernel: see $top/build.log"; } >&2; }' EXIT
	t0=$(date +%s)
	src=$("$here/linux-source.sh")
	# A config change makes a new key.  Start from the objects of the newest
	# finished build of the same source, if any: Kbuild then recompiles only
	# what the changed options touch (minutes instead of a cold build).
	if [ ! -d "$obj" ]; then
		# No earlier build (a fresh cache) is the common case, not an
		# error: the newest .done of the glob, or nothing.
		local done
		seed=
		for done in "$cache/debug/$vkey"-*/.done; do
			[ -f "$done" ] || continue
			[ -n "$seed" ] && [ ! "$done" -nt "$seed" ] || seed=$done
		done
		if [ -n "$seed" ]; then
			seed=$(dirname "$seed")/obj
			echo "debug-kernel: starting from the objects in $seed" >&2
			mkdir -p "$top"
			cp -a "$seed" "$obj.tmp" && mv "$obj.tmp" "$obj"
		fi
	fi
	configure
	echo "debug-kernel: building $key in $obj (nice -n ${DEBUG_KERNEL_NICE:-19}, -j$(nproc))" >&2
	kmake -j"$(nproc)" bzImage modules >"$top/build.log" 2>&1
	kmake modules_prepare >>"$top/build.log" 2>&1
	rel=$(kmake -s kernelrelease)
	rm -rf "$inst"
	mkdir -p "$inst/boot"
	cp "$obj/arch/x86/boot/bzImage" "$inst/boot/vmlinuz-$rel"
	# modules_install writes modules.builtin and modules.dep even when every
	# driver is built in; mkinitramfs.sh reads them.
	kmake INSTALL_MOD_PATH="$inst" modules_install >>"$top/build.log" 2>&1
	rm -f "$inst/lib/modules/$rel/build" "$inst/lib/modules/$rel/source"
	echo "$rel" >"$top/release"
	t1=$(date +%s)
	echo "$((t1 - t0))" >"$top/build-seconds"
	touch "$top/.done"
	echo "debug-kernel: built $rel in $((t1 - t0))s" >&2
	trap - EXIT
	echo "$inst"
}

release() {
	[ -f "$top/.done" ] || { echo "debug-kernel: not built yet (make debug-kernel)" >&2; exit 1; }
	cat "$top/release"
}

# hop.ko against the debug tree, in its own directory of symlinks like the
# Makefile does per Debian kernel, so that the objects never mix.
module() {
	local dir=$1
	release >/dev/null
	mkdir -p "$dir/module" "$dir/uapi/linux"
	find "$dir" -type l -delete
	ln -s "$repo/Kbuild" "$dir/Kbuild"
	for f in "$repo"/module/* "$repo"/uapi/linux/*; do ln -s "$f" "$dir/${f#"$repo"/}"; done
	dir=$(cd "$dir" && pwd)
	if ! make -C "$obj" M="$dir" KCFLAGS=-Werror modules >"$dir/build.log" 2>&1; then
		cat "$dir/build.log" >&2; exit 1
	fi
	if grep -i warning "$dir/build.log" >&2; then
		echo "debug-kernel: hop.ko built with warnings (see $dir/build.log)" >&2; rm -f "$dir/hop.ko"; exit 1
	fi
}

case "${1:-}" in
build)   build ;;
kdir)    echo "$inst" ;;
release) release ;;
module)  module "$2" ;;
*)       sed -n '4,8p' "$0" >&2; exit 2 ;;
esac
