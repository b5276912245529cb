#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# test-tools.sh: check, inside the test VM, that every tools/*.bt compiles and that each tool reports exactly the hops a real workload made.
#
#   tools/test-tools.sh [-k CALLS] [-t SECONDS] [-c REASON]
#
#   -k  echo-client calls in the workload (default 5)
#   -t  bound on each wait: bpftrace's attach, its exit, one call (default 300; under TCG on a loaded host 120 was too short)
#   -c  compile tests only: the workload cases are reported skipped, for REASON
#   BPFTRACE=path  the bpftrace to use (default: bpftrace from PATH)
#   HOP_BUILD=dir  where the examples are built (default: build/ of this repo)
#
# Runs as root in a guest with hop.ko loaded (make vm-run CMD=tools/test-tools.sh).
# Output is KTAP; exit status 0 only when every test passed.
#
# Test plan: one compile test per tools/*.bt (bpftrace --emit-elf, which
# builds the programs and attaches nothing; bpftrace 0.17 has no --dry-run;
# all at once, as each takes tens of seconds under TCG), so that a new tool
# (hopirq.bt) is compile-tested as soon as it exists.  Then one workload: an
# echo-server under a service name of its own, every tool attached at once,
# K echo-client calls, SIGINT to the tools, and one check per tool that its
# output holds exactly K hops of that service.  A tool with no workload check
# of its own (a new one) is reported as a skip, not a pass.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=$repo/tools
build=${HOP_BUILD:-$repo/build}
bt=${BPFTRACE:-bpftrace}
K=5 T=300 compile_only=
while getopts k:t:c: opt; do
	case $opt in
	k) K=$OPTARG ;;
	t) T=$OPTARG ;;
	c) compile_only=$OPTARG ;;
	*) sed -n '5,10p' "$0" >&2; exit 2 ;;
	esac
done

# The tools with a workload check below; the others get a compile test only.
checked="hopsnoop hoplat hopcount"
all=()
for f in "$tools"/*.bt; do
	[ -f "$f" ] || continue
	f=${f##*/}
	all+=("${f%.bt}")
done

tmp=$(mktemp -d /tmp/hop-tools.XXXXXX)
svc=tt$$
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do timeout 10 tail --pid="$p" -f /dev/null; kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

n=0 pass=0 fail=0 skip=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $1"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; shift; local l; for l in "$@"; do echo "# $l"; done; }
skipped() { n=$((n + 1)); skip=$((skip + 1)); echo "ok $n $1 # SKIP $2"; }
# Seconds since the start, for the diagnostics that say where the time goes.
t0=$EPOCHREALTIME
since() { printf '%.1f' "$(echo "$EPOCHREALTIME - $t0" | bc)"; }
# Show a file as KTAP diagnostics.
diag() { sed 's/^/#   /' "$1"; }

# Wait up to $T seconds for a pattern in a file; fail early if $2's process is gone.
wait_for() {
	local pat=$1 pid=$2 file=$3 i
	for ((i = 0; i < T * 5; i++)); do
		grep -q -- "$pat" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { grep -q -- "$pat" "$file" 2>/dev/null; return; }
		sleep 0.2
	done
	return 1
}

echo "TAP version 13"
echo "1..$((${#all[@]} * 2 + 1))"
echo "# bpftrace: $($bt --version 2>&1), kernel $(uname -r), service $svc, $K calls"

# --- compile, attach nothing ------------------------------------------------
# In parallel: under TCG each compile takes tens of seconds of one vCPU.
cpids=()
for t in "${all[@]}"; do
	{ timeout "$T" "$bt" --emit-elf "$tmp/$t.o" "$tools/$t.bt" >"$tmp/$t.elf.log" 2>&1
	  echo $? >"$tmp/$t.elf.rc"; } &
	cpids+=($!)
done
for p in "${cpids[@]}"; do wait "$p"; done
for t in "${all[@]}"; do
	if [ "$(cat "$tmp/$t.elf.rc" 2>/dev/null)" = 0 ] && [ -s "$tmp/$t.o" ]; then
		ok "compile_$t"
	else
		notok "compile_$t" "bpftrace --emit-elf $t.bt failed (status $(cat "$tmp/$t.elf.rc" 2>/dev/null)):"
		diag "$tmp/$t.elf.log"
	fi
done
echo "# compiled by $(since)s"
if [ -n "$compile_only" ]; then
	skipped "workload_${K}_calls" "$compile_only"
	for t in "${all[@]}"; do skipped "workload_$t" "$compile_only"; done
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	[ "$fail" = 0 ]
	exit
fi

# --- one real workload, every tool watching --------------------------------
"$build/examples/echo-server" "$svc" >"$tmp/server.log" 2>&1 &
server=$!
pids+=("$server")
started=()
for t in $checked; do
	[ -f "$tools/$t.bt" ] || continue
	"$bt" "$tools/$t.bt" >"$tmp/$t.out" 2>"$tmp/$t.err" &
	pids+=($!)
	eval "pid_$t=$!"
	started+=("$t")
done
# bpftrace prints the banner from BEGIN, which runs once every probe is attached.
attached=1
[ ${#started[@]} -gt 0 ] || { attached=0; echo "# no tool to run"; }
for t in "${started[@]}"; do
	p=pid_$t
	wait_for "Hit Ctrl-C to end" "${!p}" "$tmp/$t.out" || { attached=0; echo "# $t did not attach within ${T}s"; diag "$tmp/$t.err"; }
done
echo "# tools attached by $(since)s"
wait_for "serves \"$svc\"" "$server" "$tmp/server.log" || { attached=0; echo "# echo-server did not start"; diag "$tmp/server.log"; }

calls=0
if [ "$attached" = 1 ]; then
	for ((i = 1; i <= K; i++)); do
		timeout "$T" "$build/examples/echo-client" "call $i" "$svc" >>"$tmp/client.log" 2>&1 &&
			calls=$((calls + 1))
	done
fi
echo "# workload done by $(since)s"
if [ "$calls" = "$K" ]; then
	ok "workload_${K}_calls"
else
	notok "workload_${K}_calls" "$calls of $K echo-client calls succeeded"
	[ -f "$tmp/client.log" ] && diag "$tmp/client.log"
fi

# Let hopcount print the last second, then stop the tools first, so that the server's exit is not in their counts.
sleep 2
stopped=1
# SIGINT, again every 5 s, until the tool is gone or T seconds passed.  A
# background job of this non-interactive shell starts with SIGINT ignored,
# and a bpftrace that has not yet installed its own handler when the first
# one comes loses it and then sleeps in epoll_wait for good (seen in about
# one run in four on 6.1: asleep there, nothing blocked in the kernel).
stop_tool() { # PID: 0 once it has exited
	local pid=$1 waited=0
	while kill -0 "$pid" 2>/dev/null; do
		[ "$waited" -lt "$T" ] || return 1
		kill -INT "$pid" 2>/dev/null
		timeout 5 tail --pid="$pid" -f /dev/null && return 0
		waited=$((waited + 5))
	done
}
for t in "${started[@]}"; do p=pid_$t; kill -INT "${!p}" 2>/dev/null; done
for t in "${started[@]}"; do
	p=pid_$t
	stop_tool "${!p}" || { stopped=0; echo "# $t did not exit within ${T}s of SIGINT"; }
done
echo "# tools stopped by $(since)s"
kill -TERM "$server" 2>/dev/null
timeout "$T" tail --pid="$server" -f /dev/null || echo "# echo-server did not exit within ${T}s of SIGTERM"

# --- what each tool saw ----------------------------------------------------
check_hopsnoop() {
	# Lines of our service whose RESULT (last field) is a reply length > 0.
	local got
	got=$(awk -v s="$svc" '$4 == s && $NF ~ /^[0-9]+$/ && $NF > 0' "$1" | wc -l)
	[ "$got" = "$K" ] && [ "$(awk -v s="$svc" '$4 == s' "$1" | wc -l)" = "$K" ] ||
		{ echo "# hopsnoop: $got good lines for $svc, want $K"; return 1; }
}
check_hopcount() {
	# The count under "Totals:" for @total_calls[svc].
	local got
	got=$(sed -n '/^Totals:/,$p' "$1" | sed -n "s/^@total_calls\[$svc\]: //p")
	[ "$got" = "$K" ] || { echo "# hopcount: total for $svc is '${got}', want $K"; return 1; }
	# A hop that lands between the interval's print() and clear() is in the
	# totals but in no second (bpftrace has no atomic print-and-clear): the
	# seconds may add up to less than K, never to more.
	got=$(sed -n "s/^@calls\[$svc\]: //p" "$1" | awk '{ s += $1 } END { print s + 0 }')
	[ "$got" -ge 1 ] && [ "$got" -le "$K" ] ||
		{ echo "# hopcount: per-second counts for $svc add to $got, want 1..$K"; return 1; }
}
check_hoplat() {
	# Each of the three histograms of our service must count K hops.
	local h got bad=0
	for h in hop_ns switch_in_ns handler_ns; do
		got=$(awk -v k="@$h[$svc]:" '
			{ l = $0; sub(/[ \t]+$/, "", l) }
			l == k { on = 1; next }
			on && /^\[/ { sub(/^[^)\]]*[)\]][ \t]*/, ""); s += $1; next }
			on && !/^\[/ { on = 0 }
			END { print s + 0 }' "$1")
		[ "$got" = "$K" ] || { echo "# hoplat: @$h[$svc] counts $got, want $K"; bad=1; }
	done
	return $bad
}

for t in "${all[@]}"; do
	if ! [[ " $checked " == *" $t "* ]]; then
		skipped "workload_$t" "no workload check for $t.bt yet"
	elif [ "$attached$stopped" != 11 ] || [ "$calls" != "$K" ]; then
		notok "workload_$t" "the workload did not run cleanly (see above); $t.bt printed:"
		diag "$tmp/$t.out"; diag "$tmp/$t.err"
	elif check_$t "$tmp/$t.out"; then
		ok "workload_$t"
	else
		notok "workload_$t" "$t.bt printed:"
		diag "$tmp/$t.out"; diag "$tmp/$t.err"
	fi
done
# Keep the outputs where the VM runner collects them.
[ -n "${HOP_OUT:-}" ] && [ -d "$HOP_OUT" ] && cp "$tmp"/*.out "$HOP_OUT"/ 2>/dev/null

echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ "$fail" = 0 ]
