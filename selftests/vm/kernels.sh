#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kernels.sh: resolve kernels.conf's short names to the kernel releases actually in use.
#
#   kernels.sh shorts           all short names, in file order
#   kernels.sh release SHORT    the release to use for SHORT
#   kernels.sh releases         the release of every kernel, in file order
#   kernels.sh series SHORT     the fallback glob of SHORT
#   kernels.sh pinned SHORT     the pinned release of SHORT
#
# The release in use is the pinned one when its headers are in the cache,
# else the newest cached release of the same series (install-deps.sh fetches
# that one when the pinned packages are gone from the archive), else the
# pinned one (nothing fetched yet).  Deciding from the cached headers keeps
# the build, the kernel fetcher and the VM in agreement without asking apt
# every time make runs.
set -euo pipefail

conf="$(dirname "${BASH_SOURCE[0]}")/kernels.conf"
headers=${HOP_CACHE:-/var/cache/hop}/headers

field() { # field SHORT N
	awk -v k="$1" -v n="$2" '!/^#/ && NF >= 3 && $1 == k { print $n; found = 1 }
		END { exit !found }' "$conf" || { echo "kernels.sh: unknown kernel '$1' (see $conf)" >&2; exit 2; }
}

release() {
	local pinned series best
	pinned=$(field "$1" 2)
	series=$(field "$1" 3)
	if [ -f "$headers/$pinned/.unpacked" ]; then
		echo "$pinned"
		return
	fi
	# The cached releases of the series, newest last; none is not an error.
	local d
	best=$(for d in "$headers"/$series/.unpacked; do
			if [ -f "$d" ]; then basename "$(dirname "$d")"; fi
		done | sort -V | tail -n 1)
	if [ -n "$best" ]; then
		echo "kernels.sh: warning: pinned kernel $pinned not in the cache, using $best" >&2
		echo "$best"
	else
		echo "$pinned"
	fi
}

case "${1:-}" in
shorts)   awk '!/^#/ && NF >= 3 { print $1 }' "$conf" ;;
release)  release "$2" ;;
releases) for k in $("$0" shorts); do release "$k"; done ;;
series)   field "$2" 3 ;;
pinned)   field "$2" 2 ;;
*)        echo "usage: $0 shorts|releases|release SHORT|series SHORT|pinned SHORT" >&2; exit 2 ;;
esac
