#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check.sh: make check after the build: the runner's host-side tests, one guest per kernel, the summary.
#
# The guests run side by side (CHECK_JOBS=1 runs them one after the other):
# on two host cores that is still faster, since most of a short run is boot
# and I/O waits.  Everything lands in out/check/: host.ktap, and one run
# directory per kernel with console.log, dmesg.txt and tests/NAME.{ktap,status,kmsg}.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vm="$repo/selftests/vm"
check="$repo/out/check"
rm -rf "$check"
mkdir -p "$check"
start=$(date +%s)

"$vm/host-tests.sh" >"$check/host.ktap" 2>&1

programs=()
for p in "$repo"/build/selftests/*; do
	[ -f "$p" ] && [ -x "$p" ] && programs+=("${p##*/}")
done
# The host limit for a guest: boot plus every program at its own limit.
per=${TEST_TIMEOUT:-120}
limit=$((${#programs[@]} * (per + 10) + 300))

pids=()
for k in $("$vm/kernels.sh" shorts); do
	release=$("$vm/kernels.sh" release "$k")
	echo "check: booting $release for ${#programs[@]} test programs (limit ${limit}s)"
	"$vm/run-vm.sh" -q -k "$k" -t "$limit" -o "$check/$release" -- selftests/vm/run-tests.sh \
		>"$check/$release.log" 2>&1 &
	pids+=($!)
	[ "${CHECK_JOBS:-2}" -gt 1 ] || wait $!
done
wait "${pids[@]}"
for k in $("$vm/kernels.sh" shorts); do
	grep '^run-vm:' "$check/$("$vm/kernels.sh" release "$k").log" | sed 's/^/check: /'
done

echo "check: guests done in $(($(date +%s) - start))s; results in out/check/"
echo
"$vm/summarize.sh" "$check" "${programs[@]}"
