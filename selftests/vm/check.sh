#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check.sh: make check after the build: the runner's host-side tests, one guest per kernel, the summary.
#
# The guests run side by side (CHECK_JOBS=1 runs them one after the other):
# on two host cores that is still faster, since most of a short run is boot
# and I/O waits.  Everything lands in out/check/: host.ktap, and one run
# directory per kernel with console.log, dmesg.txt and tests/NAME.{ktap,status,kmsg}.
#
#   CHECK_KERNELS="6.1 6.12"  the kernels (short names; "debug" is the debug
#                             kernel, see debug-kernel.sh), default all pinned
#   CHECK_DIR=out/check       where the results go
#   TEST_TIMEOUT=seconds      per test, passed to the guests (default 120)
#   CHECK_LIMIT=seconds       at most this for a whole guest (default: boot
#                             plus every test at its own limit)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vm="$repo/selftests/vm"
check="$repo/${CHECK_DIR:-out/check}"
kernels=${CHECK_KERNELS:-$("$vm/kernels.sh" shorts)}
release_of() {
	if [ "$1" = debug ]; then "$vm/debug-kernel.sh" release; else "$vm/kernels.sh" release "$1"; fi
}
rm -rf "$check"
mkdir -p "$check"
start=$(date +%s)

"$vm/host-tests.sh" >"$check/host.ktap" 2>&1

# The tests every guest runs (tests.sh), and the host limit for a guest:
# boot plus every test at its own limit.
programs=()
limit=300
while read -r name _ l; do
	programs+=("$name")
	# Skipped unless asked for: it must not stretch the guest's limit past
	# what CI allows (90 minutes in all).
	[ "$name" = dkms_test.sh ] && [ "${CHECK_DKMS:-}" != 1 ] && l=30
	limit=$((limit + l + 10))
done < <("$vm/tests.sh" "$repo")
[ -n "${CHECK_LIMIT:-}" ] && [ "$limit" -gt "$CHECK_LIMIT" ] && limit=$CHECK_LIMIT

# CHECK_DKMS=1: the guests run selftests/dkms_test.sh too (a DKMS build of
# hop.ko under TCG, minutes long), which otherwise reports its cases skipped.
run_tests=selftests/vm/run-tests.sh
[ "${CHECK_DKMS:-}" = 1 ] && run_tests="HOP_DKMS=1 $run_tests"
[ -n "${TEST_TIMEOUT:-}" ] && run_tests="TEST_TIMEOUT=$TEST_TIMEOUT $run_tests"

pids=()
for k in $kernels; do
	release=$(release_of "$k")
	echo "check: booting $release for ${#programs[@]} tests (limit ${limit}s)"
	"$vm/run-vm.sh" -q -k "$k" -t "$limit" -o "$check/$release" -- "$run_tests" \
		>"$check/$release.log" 2>&1 &
	pids+=($!)
	[ "${CHECK_JOBS:-2}" -gt 1 ] || wait $!
done
wait "${pids[@]}"
for k in $kernels; do
	grep '^run-vm:' "$check/$(release_of "$k").log" | sed 's/^/check: /'
done

echo "check: guests done in $(($(date +%s) - start))s; results in ${check#"$repo"/}/"
echo
"$vm/summarize.sh" "$check" "${programs[@]}"
