#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkinitramfs.sh: build the test VM's busybox initramfs for one unpacked guest kernel.
#
#   mkinitramfs.sh KERNEL_DIR RELEASE OUTPUT
#
# KERNEL_DIR is the kernel package unpacked by fetch-kernel.sh.  The
# initramfs holds busybox-static, selftests/vm/init, and the modules stage 1
# needs to reach the host's root over 9p (virtio_pci when modular, 9p and its
# transport, overlay) with their dependencies from modules.dep, decompressed
# so that busybox insmod can load them.  Uncompressed cpio: unpacking it is
# faster under TCG than inflating it.
set -euo pipefail

kdir=$1 release=$2 output=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
moddir="$kdir/lib/modules/$release"
wanted="virtio_pci 9pnet_virtio 9p overlay"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,mods}
cp /bin/busybox "$stage/bin/busybox"
cp "$here/init" "$stage/init"
chmod 755 "$stage/init"

# Dependencies first, each module once; built-in modules are skipped.
declare -A seen
order=()
resolve() {
	local name=${1//-/_} line path dep
	[ -n "${seen[$name]:-}" ] && return
	seen[$name]=1
	line=$(awk -F: -v n="$name" '{ b = $1; sub(/.*\//, "", b); sub(/\.ko.*/, "", b); gsub(/-/, "_", b)
		if (b == n) { print; exit } }' "$moddir/modules.dep")
	if [ -z "$line" ]; then
		grep -q "/$name.ko\$\|/${1}.ko\$" "$moddir/modules.builtin" 2>/dev/null && return
		echo "mkinitramfs: module $1 is neither in modules.dep nor built in" >&2
		exit 1
	fi
	path=${line%%:*}
	for dep in ${line#*:}; do
		dep=${dep##*/}
		resolve "${dep%%.ko*}"
	done
	order+=("$path")
}
for m in $wanted; do resolve "$m"; done

for path in "${order[@]}"; do
	base=${path##*/}
	case "$base" in
	*.ko.xz)  xz -dc "$moddir/$path" >"$stage/mods/${base%.xz}" ;;
	*.ko.zst) zstd -qdc "$moddir/$path" >"$stage/mods/${base%.zst}" ;;
	*.ko.gz)  gzip -dc "$moddir/$path" >"$stage/mods/${base%.gz}" ;;
	*)        cp "$moddir/$path" "$stage/mods/$base" ;;
	esac
	echo "${base%.ko*}.ko" >>"$stage/mods/load-order"
done
touch "$stage/mods/load-order"

mkdir -p "$(dirname "$output")"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$output.tmp"
mv "$output.tmp" "$output"
