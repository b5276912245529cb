#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# btf-6.1.sh: inside a guest, give hop.ko the BTF its build could not (6.1 headers ship no vmlinux) by encoding it against the running kernel's, then reload it.
#
#   tools/btf-6.1.sh [HOP_KO]
#
# HOP_KO: the module to encode (default $HOP_KO, set by the VM runner).  The
# file itself is never changed: a copy in /tmp gets the .BTF section
# (pahole -J --btf_base /sys/kernel/btf/vmlinux, from the module's DWARF), the
# loaded hop (if any, and idle) is removed, and the copy is loaded in its place.
# Prints the path of the loaded copy on stdout.  Exit status: 0 when
# /sys/kernel/btf/hop exists afterwards; 1 when something failed (hop.ko is
# then loaded again from HOP_KO, as it was); 2 on bad use.
#
# The module needs DWARF (Debian's kernel config builds modules with it) and
# pahole (dwarves) 1.24 or later.  A module that already has .BTF (the 6.12
# build) is loaded as it is.
set -euo pipefail

ko=${1:-${HOP_KO:-}}
[ -n "$ko" ] && [ -f "$ko" ] || { echo "btf-6.1.sh: no hop.ko (pass it, or set HOP_KO)" >&2; exit 2; }
base=/sys/kernel/btf/vmlinux
[ -r "$base" ] || { echo "btf-6.1.sh: $base missing: this kernel has no BTF" >&2; exit 1; }
command -v pahole >/dev/null || { echo "btf-6.1.sh: pahole (dwarves) is not installed" >&2; exit 1; }

dir=$(mktemp -d /tmp/hop-btf.XXXXXX)
copy=$dir/hop.ko
cp "$ko" "$copy"
if readelf -S "$copy" | grep -q '\.BTF\b'; then
	echo "btf-6.1.sh: $ko already has .BTF; loading it as it is" >&2
elif ! pahole -J --btf_base "$base" "$copy" >"$dir/pahole.log" 2>&1 ||
     ! readelf -S "$copy" | grep -q '\.BTF\b'; then
	echo "btf-6.1.sh: pahole -J failed:" >&2
	cat "$dir/pahole.log" >&2
	exit 1
fi

if [ -d /sys/module/hop ]; then
	rmmod hop || { echo "btf-6.1.sh: hop is in use, cannot replace it" >&2; exit 1; }
fi
if ! insmod "$copy"; then
	echo "btf-6.1.sh: insmod of the copy with BTF failed; loading $ko again" >&2
	insmod "$ko" || true
	exit 1
fi
if [ ! -e /sys/kernel/btf/hop ]; then
	echo "btf-6.1.sh: loaded, but the kernel did not take the BTF (see dmesg)" >&2
	exit 1
fi
echo "$copy"
