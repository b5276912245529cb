#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# guest-init.sh: stage 2 of the test VM, PID 1 in the overlay root: load hop.ko, run the command, report.
#
# Runs with the host's /bin/sh (dash) on the host's userland.  The result
# goes to the second serial port (/dev/ttyS1), which run-vm.sh reads from a
# file: the host never scrapes the console for pass/fail.  Lines written:
#   insmod=ok|failed   rc=N (the command's exit status)   kmsg=clean|dirty
#   rmmod=ok|failed    kmemleak=clean|dirty (kernels with kmemleak only)    end
# A missing "end" means the guest died or hung before finishing.
#
# Unload policy: at the end hop.ko must unload.  If the command already
# unloaded it (a test of module unload, say), it is loaded once more and
# unloaded again, which checks that the module survived whatever the test did.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=linux LANG=C.UTF-8

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
# The links udev or systemd make on a real boot: bash's <(...) opens
# /dev/fd/N, and dkms (selftests/dkms_test.sh) depends on it.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do
	[ -e "/dev/${i#*:}" ] || ln -s "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"
done
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing
hostname hop-vm

result() { echo "$1" >/dev/ttyS1; }
halt() { sync; exec busybox poweroff -f; }

# The writable share of the repository's out/, at the same path as on the host.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 hopout "$hoprepo/out" || {
	echo "hop-vm: cannot mount $hoprepo/out" >/dev/console; result "stage2-failed: out mount"; halt; }
# env: HOP_KERNEL, HOP_OUT, HOP_KO, HOP_KDIR (the unpacked kernel package),
# HOP_HEADERS (its unpacked headers tree, empty for the debug kernel),
# HOP_ACCEL (tcg, icount or kvm), HOP_COMMIT (the host tree's commit) and
# HOP_INSN_FILE (the TCG plugin's output file, empty without one).
. "$hoprun/env"
export HOP_KERNEL HOP_OUT HOP_KO HOP_HEADERS HOP_ACCEL HOP_COMMIT HOP_INSN_FILE

# The kernel package's modules, writable through an overlay so that depmod or
# dkms can add to them without touching the cache.
mods=/lib/modules/$HOP_KERNEL
mkdir -p "$mods" /run/mods/upper /run/mods/work
mount -t overlay -o "lowerdir=$HOP_KDIR$mods,upperdir=/run/mods/upper,workdir=/run/mods/work" overlay "$mods"

# kmemleak (the debug kernel): whatever the boot left unreferenced is marked
# seen, so that the scan after the final rmmod reports only what the run
# leaked.
leaks=/sys/kernel/debug/kmemleak
if [ -w $leaks ]; then
	echo scan >$leaks
	echo clear >$leaks
fi

echo "hop-vm: guest ready, loading $HOP_KO" >/dev/kmsg
if insmod "$HOP_KO"; then
	result insmod=ok
	cd "$hoprepo" || halt
	bash "$hoprun/cmd"
	rc=$?
	cd /
else
	result insmod=failed
	rc=125
fi
result "rc=$rc"

rmmod_ok=ok
if [ -d /sys/module/hop ]; then
	rmmod hop || rmmod_ok=failed
else
	echo "hop-vm: hop.ko was unloaded by the command; loading and unloading it once more" >/dev/kmsg
	{ insmod "$HOP_KO" && rmmod hop; } || rmmod_ok=failed
fi
result "rmmod=$rmmod_ok"

# kmemleak does not report an object younger than 5 s, and a leak can hide
# behind a stale pointer for one scan: wait, then scan twice, as its
# documentation advises.  Any report fails the run (run-vm.sh).
if [ -w $leaks ]; then
	sleep 6
	echo scan >$leaks
	echo scan >$leaks
	cat $leaks >"$HOP_OUT/kmemleak.txt"
	if [ -s "$HOP_OUT/kmemleak.txt" ]; then
		head -n 60 "$HOP_OUT/kmemleak.txt" >/dev/console
		result kmemleak=dirty
	else
		result kmemleak=clean
	fi
fi

dmesg >"$HOP_OUT/dmesg.txt"
if "$hoprepo/selftests/vm/kmsg-check.sh" "$HOP_OUT/dmesg.txt" >"$HOP_OUT/kmsg-check.txt"; then
	result kmsg=clean
else
	cat "$HOP_OUT/kmsg-check.txt" >/dev/console
	result kmsg=dirty
fi
result end
halt
