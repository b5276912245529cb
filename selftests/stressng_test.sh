#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# stressng_test.sh: hop's kill-and-restart stress test while Debian's stress-ng shakes fork, mmap, futex and pipe, to exercise the mm switching against the rest of the kernel.
# run-tests: timeout=240
#
# Both run for STRESSNG_SECONDS (default 15).  Passes when stress-ng reports
# no failure, stress_test passes (every call correct or a documented errno,
# no service or frame left), and the kernel log stays clean (the runner
# checks that after every test).
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
secs=${STRESSNG_SECONDS:-15}
out=$(mktemp -d /tmp/hop-stressng.XXXXXX)
trap 'rm -rf "$out"' EXIT

echo "TAP version 13"
echo "1..2"
if ! command -v stress-ng >/dev/null; then
	echo "ok 1 stress-ng # SKIP stress-ng is not installed"
	echo "ok 2 hop stress under stress-ng # SKIP stress-ng is not installed"
	echo "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:2 error:0"
	exit 4
fi
stress-ng --fork 1 --mmap 1 --mmap-bytes 32M --futex 1 --pipe 1 \
	--timeout "${secs}s" --metrics-brief >"$out/stress-ng.log" 2>&1 &
sng=$!
STRESS_SECONDS=$secs "$repo/build/selftests/stress_test" >"$out/stress_test.ktap" 2>&1
hop_rc=$?
wait "$sng"
sng_rc=$?

pass=0 fail=0
if [ "$sng_rc" = 0 ]; then
	echo "ok 1 stress-ng fork, mmap, futex, pipe for ${secs} s"; pass=$((pass + 1))
else
	echo "not ok 1 stress-ng fork, mmap, futex, pipe for ${secs} s (exit $sng_rc)"; fail=$((fail + 1))
fi
sed 's/^/# stress-ng: /' "$out/stress-ng.log" | tail -n 12
if [ "$hop_rc" = 0 ]; then
	echo "ok 2 hop stress under stress-ng"; pass=$((pass + 1))
else
	echo "not ok 2 hop stress under stress-ng (exit $hop_rc)"; fail=$((fail + 1))
fi
grep -E 'kills|Expected|not ok' "$out/stress_test.ktap" | sed 's/^/# stress_test: /'
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ "$fail" = 0 ]
