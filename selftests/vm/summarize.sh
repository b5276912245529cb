#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# summarize.sh: turn make check's outputs into per-kernel counts and the final "N passed, N failed" line.
#
#   summarize.sh CHECKDIR [PROGRAM...]
#
# CHECKDIR holds host.ktap (the host-side tests) and one run directory per
# kernel (run-vm.sh's, with run-tests.sh's tests/ inside).  PROGRAMs are the
# test names every kernel should have run; one that left nothing behind
# counts as a failure.  Every KTAP test case counts once per kernel, plus:
# a program that crashed, timed out or ended without its KTAP totals (one
# failure), a program after which the kernel log was not clean or the module
# was broken (one failure each), and per kernel the guards "hop.ko loaded",
# "guest finished", "kernel log clean for the whole run" and "final rmmod hop",
# and on a kernel with kmemleak "kmemleak clean after rmmod hop".
# Exit 0 only when nothing failed.
set -uo pipefail

check=$1
shift
expected=("$@")
total_pass=0 total_fail=0 total_skip=0

# ktap FILE -> "F case" for each failed case, then "R pass fail skip complete".
ktap() {
	awk '
	/^1\.\.[0-9]+/ && !plan { plan = substr($1, 4) + 0 }
	/^# Totals:/ { totals = 1 }
	/^(not )?ok [0-9]+/ {
		n++
		line = $0
		if (line ~ /# *SKIP/) { skip++; next }
		if (line ~ /^ok / || line ~ /# *XFAIL/) { pass++; next }
		fail++
		sub(/^not ok [0-9]+ */, "", line)
		print "F " line
	}
	END { printf "R %d %d %d %d\n", pass, fail, skip, (totals && n >= plan && n > 0) }
	' "$1"
}

group_pass=0 group_fail=0 group_skip=0
case_ok() { group_pass=$((group_pass + 1)); }
case_fail() { group_fail=$((group_fail + 1)); echo "    FAIL $1"; }
add_ktap() { # FILE LABEL
	local line p=0 f=0 s=0 complete=0
	while IFS= read -r line; do
		case $line in
		"F "*) echo "    not ok $2: ${line#F }" ;;
		"R "*) read -r _ p f s complete <<<"$line" ;;
		esac
	done < <(ktap "$1" 2>/dev/null)
	group_pass=$((group_pass + p)) group_fail=$((group_fail + f)) group_skip=$((group_skip + s))
	[ "$complete" = 1 ] || case_fail "$2: incomplete KTAP (no totals, or fewer results than planned)"
}
end_group() { # LABEL
	echo "$1: $group_pass passed, $group_fail failed$([ $group_skip -gt 0 ] && echo ", $group_skip skipped")"
	total_pass=$((total_pass + group_pass)) total_fail=$((total_fail + group_fail)) total_skip=$((total_skip + group_skip))
	group_pass=0 group_fail=0 group_skip=0
}
get() { tr -d '\r' <"$1" 2>/dev/null | sed -n "s/^$2=//p" | tail -n 1; }

if [ -f "$check/host.ktap" ]; then
	add_ktap "$check/host.ktap" host
	end_group "host (runner self-tests)"
fi

for run in "$check"/*/; do
	run=${run%/}
	[ -f "$run/env" ] || continue
	release=${run##*/}
	declare -A seen=()
	for st in "$run"/tests/*.status; do
		[ -f "$st" ] || continue
		name=$(basename "$st" .status)
		seen[$name]=1
		rc=$(get "$st" rc)
		add_ktap "$run/tests/$name.ktap" "$name"
		case $rc in
		0|4) ;;
		124|137) case_fail "$name: timed out" ;;
		*) if [ "$rc" -ge 128 ]; then case_fail "$name: killed by signal $((rc - 128))"
		   elif ! grep -q '^not ok' "$run/tests/$name.ktap"; then case_fail "$name: exit status $rc without a failed case"; fi ;;
		esac
		[ "$(get "$st" kmsg)" = clean ] || case_fail "$name: kernel log not clean after it (see ${run##*/}/tests/$name.kmsg)"
		[ "$(get "$st" module)" != broken ] || case_fail "$name: hop.ko or /dev/hop broken after it"
	done
	for name in "${expected[@]}"; do
		[ -n "${seen[$name]:-}" ] || case_fail "$name: did not run"
	done
	unset seen

	finished=
	tr -d '\r' <"$run/result" 2>/dev/null | grep -qx end && finished=1
	[ "$(get "$run/result" insmod)" = ok ] && case_ok || case_fail "guard: hop.ko loaded"
	[ -n "$finished" ] && case_ok || case_fail "guard: guest finished (see ${run##*/}/console.log)"
	[ "$(get "$run/result" kmsg)" = clean ] && case_ok || case_fail "guard: kernel log clean for the whole run (see ${run##*/}/kmsg-check.txt)"
	[ "$(get "$run/result" rmmod)" = ok ] && case_ok || case_fail "guard: final rmmod hop"
	# Only kernels with kmemleak (the debug kernel) report it.
	case $(get "$run/result" kmemleak) in
	clean) case_ok ;;
	dirty) case_fail "guard: kmemleak clean after rmmod hop (see ${run##*/}/kmemleak.txt)" ;;
	esac
	end_group "$release"
done

echo "$total_pass passed, $total_fail failed$([ $total_skip -gt 0 ] && echo ", $total_skip skipped")"
[ $total_fail -eq 0 ]
