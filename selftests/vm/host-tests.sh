#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# host-tests.sh: tests of the test runner itself, on the host, as KTAP (make check counts them).
#
# A runner that never fails is worse than none: these check that the kernel
# log checker flags what it must and passes what it must, that the summary
# counts a known set of results right, and that the scripts parse.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fx="$here/fixtures"
n=0 pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. "$here/../ktap.sh"
fails() { ! "$@"; }
flags_line() { printf '%s\n' "[    1.000000] hop: fine" "$1" >"$tmp/log"; ! "$here/kmsg-check.sh" "$tmp/log"; }
passes_line() { printf '%s\n' "[    1.000000] hop: fine" "$1" >"$tmp/log"; "$here/kmsg-check.sh" "$tmp/log"; }
# An OOM report, and around it what the checker must still see.
oom_log() {
	printf '%s\n' "[    1.0] hop: fine" "$@" \
		"[    2.0] t invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=1000" \
		"[    2.0] Call Trace:" "[    2.0]  dump_stack_lvl+0x47/0x60" \
		"[    2.1] Memory cgroup out of memory: Killed process 385 (t) total-vm:2772kB" >"$tmp/log"
}
oom_announced() { oom_log "[    1.5] hop-test: an OOM kill follows"; "$here/kmsg-check.sh" "$tmp/log"; }
oom_unannounced() { oom_log; ! "$here/kmsg-check.sh" "$tmp/log"; }
oom_withdrawn() {
	oom_log "[    1.5] hop-test: an OOM kill follows" "[    1.6] hop-test: no OOM kill follows"
	! "$here/kmsg-check.sh" "$tmp/log"
}
oom_announced_then_more() {
	oom_announced || return 1
	printf '%s\n' "[    3.0] WARNING: CPU: 0 PID: 1 at x" >>"$tmp/log"
	! "$here/kmsg-check.sh" "$tmp/log"
}

summary_counts() {
	local out
	out=$("$here/summarize.sh" "$fx/check" pass_test crash_test missing_test)
	[ $? -ne 0 ] && [ "$(tail -n 1 <<<"$out")" = "6 passed, 6 failed, 1 skipped" ]
}
summary_kmemleak() {
	summary_clean || return 1
	printf 'kmemleak=dirty\n' >>"$tmp/ok/k/result"
	! "$here/summarize.sh" "$tmp/ok" pass_test >"$tmp/sum" &&
		grep -q 'FAIL guard: kmemleak clean after rmmod hop' "$tmp/sum"
}
summary_clean() {
	mkdir -p "$tmp/ok/k/tests"
	cp "$fx/check/fixture-kernel/env" "$tmp/ok/k/"
	printf 'insmod=ok\nrc=0\nrmmod=ok\nkmsg=clean\nend\n' >"$tmp/ok/k/result"
	cp "$fx/check/fixture-kernel/tests/pass_test."* "$tmp/ok/k/tests/"
	[ "$("$here/summarize.sh" "$tmp/ok" pass_test | tail -n 1)" = "6 passed, 0 failed, 1 skipped" ]
}
releases_match_series() {
	local k r s
	for k in $("$here/kernels.sh" shorts); do
		r=$("$here/kernels.sh" release "$k") s=$("$here/kernels.sh" series "$k")
		# shellcheck disable=SC2053 # the series is a glob
		[[ $r == $s ]] || { echo "$k: $r is not in $s"; return 1; }
	done
}

echo "TAP version 13"
echo "1..22"
t "kmsg-check passes a clean boot log" "$here/kmsg-check.sh" "$fx/kmsg-clean.txt"
t "kmsg-check flags a log with a WARNING: line" fails "$here/kmsg-check.sh" "$fx/kmsg-warning.txt"
t "kmsg-check flags BUG:" flags_line "[    2.1] BUG: kernel NULL pointer dereference, address: 0000000000000008"
t "kmsg-check flags Oops" flags_line "[    2.1] Oops: 0002 [#1] PREEMPT SMP NOPTI"
t "kmsg-check flags Call Trace" flags_line "[    2.1]  Call Trace:"
t "kmsg-check flags lockdep cycles" flags_line "[    2.1] possible circular locking dependency detected"
t "kmsg-check flags inconsistent lock state" flags_line "[    2.1] inconsistent lock state"
t "kmsg-check flags suspicious RCU usage" flags_line "[    2.1] WARNING: suspicious RCU usage"
t "kmsg-check flags lockdep turning itself off" flags_line "[    2.1] turning off the locking correctness validator."
t "kmsg-check passes the debug kernel's lockdep banner" passes_line "[    0.000000] rcu: 	RCU lockdep checking is enabled."
t "kmsg-check flags KASAN" flags_line "[    2.1] KASAN: maybe wild-memory-access in range [0x0003088000000000-0x0003088000000007]"
t "kmsg-check flags UBSAN" flags_line "[    2.1] UBSAN: array-index-out-of-bounds in module/main.c:12:3"
t "kmsg-check flags kmemleak leaks" flags_line "[    2.1] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)"
t "kmsg-check fails on a missing log" fails "$here/kmsg-check.sh" "$tmp/nonexistent"
t "kmsg-check passes an OOM report a test announced" oom_announced
t "kmsg-check flags an OOM report nobody announced" oom_unannounced
t "kmsg-check flags an OOM report after an announcement was withdrawn" oom_withdrawn
t "kmsg-check flags a WARNING after an announced OOM report" oom_announced_then_more
t "summarize counts failures, crashes, skips and guards" summary_counts
t "summarize passes a clean run" summary_clean
t "summarize fails a run whose kmemleak scan found leaks" summary_kmemleak
t "every kernel resolves to a release of its series" releases_match_series
t "the guest init scripts parse (busybox sh, sh)" bash -c "busybox sh -n '$here/init' && sh -n '$here/guest-init.sh'"
t "the host scripts parse (bash -n)" bash -c "for f in '$here'/*.sh; do bash -n \"\$f\" || exit 1; done"
t "hopbench rejects bad --arrival, --hogs and --*-sched values" "$here/../hopbench_test.sh" --options
t ".ci/run calls make check" grep -qE '^make check( |$)' "$here/../../.ci/run"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ "$fail" -eq 0 ]
