#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kselftests.sh: build the kernel's own futex, membarrier, rseq and mm selftests from Debian's linux-source-6.12, for selftests/kselftests_test.sh.
#
#   kselftests.sh OUTDIR     build them into OUTDIR and write OUTDIR/list
#
# OUTDIR/list has one test a line, "NAME LIMIT DIR PROGRAM [ARGS...]", DIR
# relative to OUTDIR: the guest runs PROGRAM from DIR (the rseq tests find
# librseq.so through rpath=./) under LIMIT seconds.  The selection below is
# the one place that says which of the kernel's tests hop must not break.
# Each is built by the kernel's own lib.mk against the 6.12 uapi headers
# (`make headers` with O=, so the shared source tree stays clean).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: kselftests.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The tests, "NAME LIMIT DIR PROGRAM [ARGS]".  The limits are 3-4 times
# what each took beside the hop workload in a 6.12 TCG guest (soft-dirty:
# 13 s alone, 58 s beside it).  Left out, and why:
#  - futex_wait, futex_requeue and futex_waitv: they wake after a hard-coded
#    10 ms and fail if the waiter thread has not blocked by then (or waits
#    only 30 ms for the wake), which TCG's scheduling overshoots: futex_wait
#    failed 1 run in 8 alone in an idle 6.1 guest, no hop workload, and
#    futex_waitv once in a loaded 6.12 guest.  futex_wait_timeout and
#    futex_wait_wouldblock still cover futex_waitv.
#  - mm uffd-unit-tests: 67 s alone, over 180 s beside the workload.
#  - rseq basic_percpu_ops_test (200 threads x 5000 reps, no options) and
#    run_param_test.sh's delay-injection loops: over 90 s each under TCG.
#    param_test runs each rseq critical section instead, with
#    run_param_test.sh's default parameters (-r 1000, 6 threads a CPU).
#  - mm mremap_test: its 2 GB cases need more memory than the guest has.
#  - mm tests needing hugetlb pages, THP sysfs knobs, CONFIG_GUP_TEST or
#    libcap (mlock-random-test, memfd_secret), and khugepaged, which does
#    not build from this source (KSFT_SKIP undeclared).
tests=(
	"futex_requeue_pi 120 futex/functional futex_requeue_pi"
	"futex_requeue_pi_mismatched_ops 60 futex/functional futex_requeue_pi_mismatched_ops"
	"futex_requeue_pi_signal_restart 60 futex/functional futex_requeue_pi_signal_restart"
	"futex_wait_timeout 60 futex/functional futex_wait_timeout"
	"futex_wait_wouldblock 60 futex/functional futex_wait_wouldblock"
	"futex_wait_uninitialized_heap 60 futex/functional futex_wait_uninitialized_heap"
	"futex_wait_private_mapped_file 60 futex/functional futex_wait_private_mapped_file"
	"membarrier_test_single_thread 120 membarrier membarrier_test_single_thread"
	"membarrier_test_multi_thread 120 membarrier membarrier_test_multi_thread"
	"rseq_basic_test 60 rseq basic_test"
	"rseq_param_spinlock 120 rseq param_test -T s -r 1000 -t 12"
	"rseq_param_list 120 rseq param_test -T l -r 1000 -t 12"
	"rseq_param_buffer 120 rseq param_test -T b -r 1000 -t 12"
	"rseq_param_buffer_barrier 120 rseq param_test -T b -M -r 1000 -t 12"
	"rseq_param_memcpy 120 rseq param_test -T m -r 1000 -t 12"
	"rseq_param_increment 120 rseq param_test -T i -r 1000 -t 12"
	"rseq_param_membarrier 120 rseq param_test -T r -r 1000 -t 12"
	"rseq_param_mm_cid_spinlock 120 rseq param_test_mm_cid -T s -r 1000 -t 12"
	"mm_map_fixed_noreplace 60 mm map_fixed_noreplace"
	"mm_map_populate 60 mm map_populate"
	"mm_mlock2_tests 60 mm mlock2-tests"
	"mm_mremap_dontunmap 60 mm mremap_dontunmap"
	"mm_madv_populate 60 mm madv_populate"
	"mm_mrelease_test 60 mm mrelease_test"
	"mm_soft_dirty 180 mm soft-dirty"
	"mm_mseal_test 60 mm mseal_test"
	"mm_droppable 60 mm droppable"
	"mm_mdwe_test 60 mm mdwe_test"
	"mm_cow 240 mm cow"
	"mm_gup_longterm 60 mm gup_longterm"
	"mm_pagemap_ioctl 120 mm pagemap_ioctl"
	"mm_ksm_functional_tests 180 mm ksm_functional_tests"
)

# Skipped on the debug kernel, where they are too slow for its run, with why
# (one "NAME REASON" a line, in OUTDIR/skip-on-debug).  The times are of one
# make check-debug run beside the workload, with another guest on the machine.
skip_on_debug=(
	"mm_cow 533 s there beside the workload (17-21 s on the stock kernel)"
	"mm_pagemap_ioctl 269 s there beside the workload (8-12 s on the stock kernel)"
	"mm_ksm_functional_tests still running after 390 s there beside the workload, when that run was stopped (11-37 s on the stock kernel)"
	"mm_soft_dirty 100 s alone there, but its 10,000 clear_refs rounds on a THP did not finish in 900 s beside stress_test's busy threads, nor beside 15 CPU hogs without hop (stock kernel: 13 s alone, 60 s beside)"
)

src=$("$here/linux-source.sh")
sel="$src/tools/testing/selftests"
log="$out/build.log"
: >"$log"

echo "  KSFT    uapi headers" >&2
make -s -C "$src" O="$out/hdr" headers >>"$log" 2>&1
hdr="-isystem $out/hdr/usr/include"

build() { # DIR [GOALS...]: the kernel's own Makefile for one selftest directory
	local dir=$1
	shift
	echo "  KSFT    $dir" >&2
	mkdir -p "$out/$dir"
	make -C "$sel/$dir" OUTPUT="$out/$dir" KHDR_INCLUDES="$hdr" "$@" >>"$log" 2>&1 || {
		tail -n 30 "$log" >&2; echo "kselftests: building $dir failed, see $log" >&2; exit 1; }
}
# futex/functional directly: futex/Makefile copies run.sh with rsync.
build futex/functional
build membarrier
build rseq
# mm: only the programs listed, as goals of its Makefile.
mm_goals=()
for t in "${tests[@]}"; do
	read -r _ _ dir prog _ <<<"$t"
	[ "$dir" = mm ] && mm_goals+=("$out/mm/$prog")
done
build mm "${mm_goals[@]}"

for t in "${tests[@]}"; do
	read -r _ _ dir prog _ <<<"$t"
	[ -x "$out/$dir/$prog" ] || { echo "kselftests: $dir/$prog was not built" >&2; exit 1; }
done
# The kernel these tests come from: kselftests_test.sh runs them only on it
# (6.12's tests check features 6.1 lacks: membarrier GET_REGISTRATIONS, rseq
# node_id and mm_cid, MAP_DROPPABLE, MDWE, KSM prctl).
make -s -C "$src" kernelversion | cut -d. -f1,2 >"$out/kernel-series"
printf '%s\n' "${skip_on_debug[@]}" >"$out/skip-on-debug"
printf '%s\n' "${tests[@]}" >"$out/list"
