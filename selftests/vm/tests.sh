#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests.sh: list the tests that make check runs in each guest, one "NAME PATH LIMIT" a line.
#
#   tests.sh REPO
#
# Shared by run-tests.sh (in the guest, to run them) and check.sh (on the
# host, to expect them and to size the guest's time limit), so that the two
# never disagree.  The tests are every executable in build/selftests/ (the
# kselftest programs) and every executable selftests/*_test.sh (scripts that
# print KTAP the same way: installing, DKMS).  LIMIT is TEST_TIMEOUT (default
# 120) seconds, or more for a script whose header asks for it with a line
# "# run-tests: timeout=SECONDS" (a DKMS build under TCG takes minutes).
# That line is written for the default; a larger TEST_TIMEOUT (the debug
# kernel's, where everything runs slower) scales it by TEST_TIMEOUT / 120.
set -u

repo=$1
limit=${TEST_TIMEOUT:-120}
for p in "$repo"/build/selftests/* "$repo"/selftests/*_test.sh; do
	[ -f "$p" ] && [ -x "$p" ] || continue
	l=$limit
	case $p in
	*.sh)
		own=$(sed -n 's/^# run-tests: timeout=\([0-9][0-9]*\)$/\1/p' "$p" | head -n 1)
		[ -n "$own" ] && own=$((own * limit / 120))
		[ -n "$own" ] && [ "$own" -gt "$l" ] && l=$own ;;
	esac
	printf '%s %s %s\n' "${p##*/}" "$p" "$l"
done
