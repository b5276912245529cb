#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run-tests.sh: run every test (tests.sh lists them) inside the test VM, one at a time, and record each.
#
# Runs in the guest (run-vm.sh's command) from the repository root, with
# HOP_OUT and HOP_KO from guest-init.sh.  The tests are the programs in
# build/selftests/ and the scripts selftests/*_test.sh, each under its own
# limit (see tests.sh).  For each test it leaves, under
# $HOP_OUT/tests/: NAME.ktap (its whole output), NAME.status (rc=, kmsg=,
# module=) and NAME.kmsg (the kernel log lines it caused).  summarize.sh on
# the host turns these into the counts; this script only exits non-zero so
# that a manual `make vm-run CMD=selftests/vm/run-tests.sh` says something.
#
#   TEST_TIMEOUT=seconds per program (default 120); ONLY=glob to run a subset
#
# Why not the kernel's own runner (kselftest/runner.sh in the linux-source-6.12
# tree, whose ktap_helpers.sh selftests/ktap.sh does use): its run_many
# prints one KTAP stream in which each program is one "ok N" line and the
# program's own KTAP is folded into "# " comments, so its cases could not be
# counted one by one, as summarize.sh counts them; and it has no step between
# two programs, where this runner scopes the kernel log to each program
# (marker and kmsg-check) and checks, or reloads, hop.ko.  Its per-directory
# "settings" timeout is the same idea as the "# run-tests: timeout=" line here.
set -u

dir="$HOP_OUT/tests"
mkdir -p "$dir"
here=$(cd "$(dirname "$0")" && pwd)
failed=0

while read -r name prog limit; do
	# shellcheck disable=SC2053 # ONLY is a glob
	[[ $name == ${ONLY:-*} ]] || continue

	# A marker in the kernel log, so that only this program's lines are checked.
	marker="hop-test: start $name $$-$RANDOM"
	echo "$marker" >/dev/kmsg
	echo "# run-tests: $name" >/dev/console
	start=$(date +%s%N)
	timeout --kill-after=5 "$limit" "$prog" >"$dir/$name.ktap" 2>&1 </dev/null
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))

	dmesg | awk -v m="$marker" 'found; index($0, m) { found = 1 }' >"$dir/$name.kmsg"
	kmsg=clean
	"$here/kmsg-check.sh" "$dir/$name.kmsg" >/dev/null || kmsg=dirty

	# The module must still be there and answering, or be loadable again
	# when the test unloaded it on purpose.
	module=ok
	if [ ! -d /sys/module/hop ]; then
		if insmod "$HOP_KO"; then module=reloaded; else module=broken; fi
	fi
	[ -c /dev/hop ] || module=broken

	printf 'rc=%s\nkmsg=%s\nmodule=%s\nms=%s\n' "$rc" "$kmsg" "$module" "$ms" >"$dir/$name.status"
	echo "# run-tests: $name rc=$rc kmsg=$kmsg module=$module ${ms}ms" >/dev/console
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] || [ $kmsg != clean ] || [ $module = broken ]; then
		failed=1
	fi
done <<<"$("$here/tests.sh" "$PWD")"
exit $failed
