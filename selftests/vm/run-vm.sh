#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run-vm.sh: boot a guest kernel under QEMU with hop.ko loaded, run one command there, report.
#
#   run-vm.sh [-k SHORT] [-a APPEND] [-t SECONDS] [-o RUNDIR] [-q] [-i] [-A ACCEL]
#             [-p PLUGIN.so] -- COMMAND
#
#   -k  kernel short name from kernels.conf (default 6.12), or "debug" for
#       the debug kernel of debug-kernel.sh (KASAN, lockdep, kmemleak...)
#   -a  extra kernel command line
#   -t  host-side limit for the whole run, boot included (default 600)
#   -o  run directory, under the repository's out/ (default out/vm/RELEASE-STAMP)
#   -q  console to RUNDIR/console.log only (for guests run side by side)
#   -i  deterministic instruction counting: TCG with -icount shift=0,sleep=off,
#       so that the guest clock advances 1 ns per executed instruction (icount
#       needs TCG: -i never uses KVM)
#   -A  auto (default), tcg or kvm.  auto uses KVM where /dev/kvm opens
#       read-write and the host CPU has VMX or SVM, else single-threaded TCG
#   -p  load this QEMU TCG plugin (bench/plugin/hopinsn.c) with its output
#       file RUNDIR/hopinsn.txt, which the guest sees as $HOP_INSN_FILE;
#       HOP_PLUGIN_ARGS=hist=1 adds the per-address kernel histogram
#       (RUNDIR/hopinsn.txt.hist, see bench/profile.py)
#   HOP_KO=path  load this hop.ko instead of build/RELEASE/hop.ko
#
# The guest sees the host's root read-only (with a tmpfs overlay) and the
# repository's out/ writable, both at their host paths, so COMMAND runs as
# root in the repository with HOP_KERNEL, HOP_OUT (= RUNDIR), HOP_ACCEL
# (tcg, icount or kvm) and HOP_COMMIT (the tree's commit, "-dirty" when it has
# uncommitted changes) set.  Exit
# status: COMMAND's, or non-zero when the kernel log is not clean, rmmod hop
# failed, or the guest crashed or hung.  Needs what `make vm-prep` builds.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
short=6.12 append= limit=600 run= quiet= icount= accel=auto plugin=
while getopts k:a:t:o:qiA:p: opt; do
	case $opt in
	k) short=$OPTARG ;;
	a) append=$OPTARG ;;
	t) limit=$OPTARG ;;
	o) run=$OPTARG ;;
	q) quiet=1 ;;
	i) icount=1 ;;
	A) accel=$OPTARG ;;
	p) plugin=$OPTARG ;;
	*) sed -n '4,28p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "run-vm: no command" >&2; exit 2; }

if [ "$short" = debug ]; then
	# Built from source, not a Debian package: its own paths under build/.
	release=$("$repo/selftests/vm/debug-kernel.sh" release)
	kdir=$("$repo/selftests/vm/debug-kernel.sh" kdir)
	headers=
	initrd="$repo/build/vm/debug/initramfs.cpio"
	ko=$(realpath -m "${HOP_KO:-$repo/build/debug/hop.ko}")
	# kasan_multi_shot: KASAN reports only its first bad access unless told
	# otherwise, and one test's report must not hide the next one's.
	# acpi=noirq: under TCG with KASAN, ACPI's _PRT method for PCI interrupt
	# routing runs into its 30 s AML loop timeout once per device; every
	# device here uses MSI and needs no INTx routing.
	append="kasan_multi_shot acpi=noirq $append"
else
	release=$("$repo/selftests/vm/kernels.sh" release "$short")
	cache=${HOP_CACHE:-/var/cache/hop}
	kdir="$cache/kernels/$release"
	headers=$("$repo/selftests/vm/fetch-kernel.sh" kdir "$release")
	initrd="$repo/build/vm/$release/initramfs.cpio"
	ko=$(realpath -m "${HOP_KO:-$repo/build/$release/hop.ko}")
fi
kernel="$kdir/boot/vmlinuz-$release"
for f in "$kernel" "$initrd" "$ko" ${plugin:+"$plugin"}; do
	[ -f "$f" ] || { echo "run-vm: $f missing (make vm-prep builds it)" >&2; exit 2; }
done

run=${run:-$repo/out/vm/$release-$(date +%Y%m%d-%H%M%S)-$$}
mkdir -p "$run"
run=$(cd "$run" && pwd)
case $run in
"$repo/out/"*) ;;
*) echo "run-vm: the run directory must be under $repo/out/" >&2; exit 2 ;;
esac
case "$repo$run" in
*[[:space:]]*) echo "run-vm: paths with blanks cannot go on the kernel command line" >&2; exit 2 ;;
esac
rm -f "$run/result" "$run/console.log" "$run/dmesg.txt" "$run/kmsg-check.txt" "$run/hopinsn.txt" "$run/hopinsn.txt.hist"
printf '%s\n' "$*" >"$run/cmd"

# KVM only where it works: /dev/kvm must open read-write (the [ -w ] test
# alone is not enough for a device node) and the host CPU must have VMX or
# SVM.  Some sandboxes offer a /dev/kvm that opens and even creates a VM but
# cannot run this guest ("KVM internal error. Suberror: 1, emulation failure",
# with no vmx/svm in /proc/cpuinfo), so the CPU flag is checked too.
kvm_usable() {
	[ -c /dev/kvm ] || return 1
	{ exec {fd}<>/dev/kvm; } 2>/dev/null || return 1
	exec {fd}>&-
	grep -qwE 'vmx|svm' /proc/cpuinfo
}
case $accel in
auto) if [ -z "$icount" ] && kvm_usable; then accel=kvm; else accel=tcg; fi ;;
tcg | kvm) ;;
*) echo "run-vm: -A takes auto, tcg or kvm" >&2; exit 2 ;;
esac
if [ -n "$icount" ]; then
	[ "$accel" = kvm ] && echo "run-vm: -i needs TCG: -A kvm ignored" >&2
	accel=icount
fi
# Single-threaded TCG for both tcg and icount (icount requires it); under
# icount the guest clock is the instruction count (shift=0: 1 ns each) and
# an idle guest jumps to its next timer instead of sleeping (sleep=off).
case $accel in
kvm) accel_args=(-accel kvm) ;;
tcg) accel_args=(-accel tcg,thread=single) ;;
icount) accel_args=(-accel tcg,thread=single -icount shift=0,sleep=off) ;;
esac
plugin_args=()
if [ -n "$plugin" ]; then
	[ "$accel" = kvm ] && { echo "run-vm: a TCG plugin needs TCG (-A tcg or -i)" >&2; exit 2; }
	case $run in
	*,*) echo "run-vm: a plugin's output path cannot hold a comma" >&2; exit 2 ;;
	esac
	case ${HOP_PLUGIN_ARGS:-} in
	*[!a-z0-9=,]*) echo "run-vm: HOP_PLUGIN_ARGS takes key=value[,key=value]" >&2; exit 2 ;;
	esac
	plugin_args=(-plugin "$(realpath "$plugin"),out=$run/hopinsn.txt${HOP_PLUGIN_ARGS:+,$HOP_PLUGIN_ARGS}")
fi
# The commit the guest's tree was built from, for every result it writes.
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || true)
if [ -n "$commit" ] && ! git -C "$repo" diff --quiet HEAD -- 2>/dev/null; then
	commit=$commit-dirty
fi
{
	printf 'HOP_KERNEL=%q\n' "$release"
	printf 'HOP_OUT=%q\n' "$run"
	printf 'HOP_KO=%q\n' "$ko"
	printf 'HOP_KDIR=%q\n' "$kdir"
	printf 'HOP_HEADERS=%q\n' "$headers"
	printf 'HOP_ACCEL=%q\n' "$accel"
	printf 'HOP_COMMIT=%q\n' "${commit:-unknown}"
	printf 'HOP_INSN_FILE=%q\n' "${plugin:+$run/hopinsn.txt}"
} >"$run/env"

if [ -n "$quiet" ]; then
	console=(-chardev "file,id=con,path=$run/console.log")
else
	console=(-chardev "stdio,id=con,signal=on,logfile=$run/console.log")
fi

qemu() {
	timeout "$@" "$limit" qemu-system-x86_64 \
		-nodefaults -nographic -no-reboot \
		"${accel_args[@]}" "${plugin_args[@]}" -cpu max -smp 2 -m 2G \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 loglevel=5 panic=-1 no_timer_check hoprepo=$repo hoprun=$run $append" \
		"${console[@]}" -serial chardev:con \
		-chardev "file,id=res,path=$run/result" -serial chardev:res \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$repo/out,mount_tag=hopout,security_model=none,multidevs=remap" \
		-device edu
}

# A guest that hangs before its init says "guest ready" has run neither
# hop.ko nor a test: the debug kernel was once seen to hang in its first
# second of boot (KASAN reports in an early interrupt, before any module).
# In quiet mode (check.sh, CI, bench) such a boot is given up after
# HOP_BOOT_LIMIT seconds (default 300) and tried once more, the first
# console kept as console.boot1.log; a second one fails the run.
boot_limit=${HOP_BOOT_LIMIT:-300}
ready() { grep -q 'hop-vm: guest ready' "$run/console.log" 2>/dev/null; }
boot_hung=
boot() {
	local q i
	set +e
	if [ -z "$quiet" ]; then
		# --foreground: with the console on a terminal, QEMU must stay in
		# the terminal's foreground process group or it stops on SIGTTOU.
		qemu --foreground --kill-after=10
		qemu_rc=$?
	else
		qemu --kill-after=10 &
		q=$!
		for ((i = 0; i < boot_limit * 2 && !boot_hung; i++)); do
			ready || ! kill -0 "$q" 2>/dev/null && break
			sleep 0.5
		done
		if ! ready && kill -0 "$q" 2>/dev/null; then
			boot_hung=1
			kill "$q"	# timeout passes it on to QEMU
		fi
		wait "$q"
		qemu_rc=$?
	fi
	set -e
}

start=$(date +%s%N)
boot
if [ -n "$boot_hung" ]; then
	echo "run-vm: $release: not ready after ${boot_limit}s; booting once more (first console: console.boot1.log)" >&2
	mv "$run/console.log" "$run/console.boot1.log"
	rm -f "$run/result"
	boot_hung=
	boot
fi
ms=$((($(date +%s%N) - start) / 1000000))

# The result channel, one key=value a line (see guest-init.sh).
# A guest that never started leaves no file: every key is then empty.
get() { { tr -d '\r' <"$run/result" || true; } 2>/dev/null | sed -n "s/^$1=//p" | tail -n 1; }
status=0
why=()
if [ -n "$boot_hung" ]; then
	why+=("guest hung before it was ready, twice (${boot_limit}s each; see $run/console.boot1.log)"); status=1
elif [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
	why+=("guest hung: killed after ${limit}s"); status=1
elif ! tr -d '\r' <"$run/result" 2>/dev/null | grep -qx end; then
	why+=("guest died before reporting (qemu exit $qemu_rc; see $run/console.log)"); status=1
	stage=$(tr -d '\r' <"$run/result" 2>/dev/null | grep failed: || true)
	[ -n "$stage" ] && why+=("$stage")
fi
rc=$(get rc)
[ "$(get insmod)" = failed ] && why+=("insmod hop.ko failed")
[ "$(get kmsg)" = dirty ] && { why+=("kernel log not clean, see $run/kmsg-check.txt"); status=1; }
[ "$(get rmmod)" = failed ] && { why+=("rmmod hop failed"); status=1; }
[ "$(get kmemleak)" = dirty ] && { why+=("kmemleak reported leaks after rmmod hop, see $run/kmemleak.txt"); status=1; }
if [ -n "$rc" ] && [ "$rc" -ne 0 ]; then
	why+=("command exited $rc")
	status=$rc
fi
[ -z "$rc" ] && [ "$status" -eq 0 ] && status=1

echo "run-vm: $release ($accel${plugin:+, plugin}): $([ $status -eq 0 ] && echo ok || echo FAILED) in $((ms / 1000)).$((ms % 1000 / 100))s; logs in ${run#"$repo"/}/" >&2
for w in "${why[@]}"; do echo "run-vm:   $w" >&2; done
exit "$status"
