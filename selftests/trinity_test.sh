#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# trinity_test.sh: Debian's trinity fuzzing ioctl() (and friends) on /dev/hop files for a bounded number of calls; KTAP.
#
# Runs in the test VM (run-tests.sh runs every selftests/*_test.sh) as root
# with hop.ko loaded.  trinity picks its fds from the victim path only (a
# private directory holding a node of /dev/hop, so that it fuzzes no other
# driver) and drops to nobody (-X): /dev/hop is world-usable, and fuzzing as
# root could reach the guest's own files.  Taint monitoring is limited to
# the flags that mean the kernel broke (hop.ko itself taints it OOT and
# unsigned).  The runner checks the kernel log afterwards.
#
#   TRINITY_OPS (default 2000 calls: TCG makes trinity slow), TRINITY_SEED (default 1)
set -u

ops=${TRINITY_OPS:-2000}
seed=${TRINITY_SEED:-1}
n=0 pass=0 fail=0 skip=0
echo "TAP version 13"
echo "1..2"
result() { # OK NAME
	n=$((n + 1))
	if [ "$1" = skip ]; then echo "ok $n $2 # SKIP"; skip=$((skip + 1))
	elif [ "$1" = 0 ]; then echo "ok $n $2"; pass=$((pass + 1))
	else echo "not ok $n $2"; fail=$((fail + 1)); fi
}

if ! command -v trinity >/dev/null; then
	for i in 1 2; do result skip "trinity not installed (selftests/vm/install-deps.sh installs it)"; done
	echo "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:2 error:0"
	exit 4
fi

work=$(mktemp -d /tmp/trinity.XXXXXX)
# trinity leaves immutable test files behind.
trap 'chattr -R -i "$work" 2>/dev/null; rm -rf "$work" 2>/dev/null' EXIT
mkdir "$work/victims"
# A node, not a symlink: trinity's tree walk opens regular nodes it finds.
# stat prints the device numbers in hex.
mknod -m 0666 "$work/victims/hop" c $((0x$(stat -c '%t' /dev/hop))) $((0x$(stat -c '%T' /dev/hop)))
chmod 0777 "$work"
before=$(grep -c . /sys/kernel/debug/hop/stats 2>/dev/null)

run_trinity() { # NAME ARGS...
	local name=$1 rc
	shift
	echo "# trinity $*"
	(cd "$work" && timeout -k 5 90 trinity -X -q -l off -s "$seed" -N "$ops" -C 2 -V "$work/victims" \
		--disable-fds=sockets,pipes,perf,epoll,eventfd,pseudo,timerfd,memfd,drm \
		-T BAD_PAGE,WARN,DIE,MACHINE_CHECK "$@" >"$work/log" 2>&1)
	rc=$?
	grep -v 'Disabled fd provider' "$work/log" | tail -n 8 | sed 's/^/# /'
	# trinity exits 0 even when it refused its arguments: it must also say
	# that it ran the calls, and must not have seen the kernel taint itself.
	grep -q 'Ran [0-9]* syscalls' "$work/log" || rc=1
	grep -qi 'kernel became tainted' "$work/log" && rc=1
	result "$rc" "$name"
}

# One run: trinity's start-up (SysV segments, children, fd providers) costs
# tens of seconds under TCG, so the syscalls around ioctl share it.
run_trinity "trinity ioctl,close,dup,fcntl,read,write,mmap,poll on /dev/hop ($ops calls)" \
	-c ioctl -c close -c dup -c dup2 -c fcntl -c read -c write -c mmap -c poll

# Nothing trinity did may leave a service or a hop behind.
sleep 1
stats=$(tr '\n' ' ' </sys/kernel/debug/hop/stats)
echo "# hop stats after trinity: $stats (before: $before lines)"
case " $stats" in
*" services 0 "*"frames 0 "*) result 0 "no service or frame left behind" ;;
*) result 1 "no service or frame left behind" ;;
esac
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ $fail -eq 0 ]
