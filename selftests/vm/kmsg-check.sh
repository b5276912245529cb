#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kmsg-check.sh: flag kernel log lines that mean the kernel is unhappy; exit 1 if there is any.
#
#   kmsg-check.sh [FILE]        (stdin when no FILE)
#
# Prints each offending line.  One list for the VM runner, the test runner
# and the host-side tests, so that they all agree on what "clean" means.
patterns=(
	'BUG:'
	'WARNING:'
	'Oops'
	'Call Trace'
	'general protection fault'
	'Kernel panic'
	'possible circular locking'
	'inconsistent lock state'
	'possible recursive locking'
	'suspicious RCU usage'
	'DEBUG_LOCKS_WARN_ON'
	'turning off the locking correctness validator'
	'KASAN'
	'UBSAN'
	'kmemleak: .*suspected memory leak'
	'unreferenced object'
)
args=()
for p in "${patterns[@]}"; do args+=(-e "$p"); done
# An OOM kill a test causes on purpose prints a report with a stack dump.
# The test announces it first ("hop-test: an OOM kill follows" in the kernel
# log); the report after that line, from "invoked oom-killer" to "Killed
# process", is not a complaint.  One announcement excuses one report, and
# "hop-test: no OOM kill follows" withdraws one that none came after.
excuse_announced_oom() {
	awk '/hop-test: an OOM kill follows/ { announced = 1 }
	     /hop-test: no OOM kill follows/ { announced = 0 }
	     announced && /invoked oom-killer/ { inside = 1 }
	     !inside { print }
	     inside && /Killed process/ { inside = 0; announced = 0 }'
}
excuse_announced_oom <"${1:-/dev/stdin}" | grep -n "${args[@]}"
status=("${PIPESTATUS[@]}")
[ "${status[0]}" -eq 0 ] || exit 2	# unreadable log: not clean either
case ${status[1]} in
0) exit 1 ;;	# something matched
1) exit 0 ;;	# clean
*) exit 2 ;;	# unreadable log: not clean either
esac
