#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench/run.sh: the benchmark suite, run inside the test guest (make bench), writing JSON lines to $HOP_OUT.
#
#   bench/run.sh [full|pti|quick|insn|prof|claims|hop|sqlite]
#
#   full   (default) floors; latency of every transport at 0, 64, 4096 and
#          65536 bytes, same and cross CPU; throughput against 1..8 clients;
#          hop with 2 slots against 1..8 clients; p99 under stress-ng CPU
#          hogs; idle memory of a 64-slot hop service against 64-thread
#          pipe and futex servers; perf bench sched pipe as an outside
#          reference.  Several minutes under TCG.
#   pti    hop, pipe, futex and the floors at 64 bytes: what
#          bench/run-claims.sh runs once per kernel command line
#          (nopti, nopcid), which the guest cannot change itself.
#   quick  one small cell per transport, to check that everything runs.
#   claims the idea's soft real-time claim, open loop (run_claims below):
#          hop, futex, pipe, unix and binder at 64 bytes with periodic
#          arrivals, idle and with 1 CPU hog, client SCHED_OTHER and
#          SCHED_FIFO, server SCHED_OTHER and SCHED_FIFO, all on CPU 0;
#          beside them rt-tests' pmqtest, ptsematest and cyclictest under
#          the same hogs and policies.  BENCH_PERIOD_US (default 1000),
#          BENCH_CLAIMS_ITERS (default 1000 arrivals a repetition).
#   hop    the floors, hop at 64 bytes and hop-regs at 48, one client, same
#          CPU: the cells a change to the hop path moves, for measuring one
#          cut under -icount in about a minute (make bench ICOUNT=1
#          BENCH_MODE=hop); the insn mode has the same cells among the rest.
#          Then null-syscall and futex while a hop service exists (and
#          futex without): what a service costs other tasks (nothing since
#          the syscall probes went, intercept.c; the cells check it stays so).
#   sqlite hopbench --workload sqlite (bench/w_sqlite.c): point reads and
#          updates of a 100,000-row SQLite table, Zipf keys, over hop, unix
#          and futex, 1, 2, 4 and 8 clients, all on CPU 0.
#   insn   the floors and every transport at 0, 64 and 4096 bytes, one
#          client, same CPU: the cells that mean something when the guest
#          runs under -icount (make bench ICOUNT=1, its default mode), where
#          every time is an instruction count summed over both vCPUs.
#          Then the service-tax cells (run_service_tax).
#   prof   the floors and hop at 64 bytes, one client, same CPU, for the
#          plugin's per-address kernel histogram (run-vm.sh -i -p with
#          HOP_PLUGIN_ARGS=hist=1): copies /proc/kallsyms (hop.ko loaded)
#          to $HOP_OUT/kallsyms.txt for bench/profile.py.
#
# The repository is read-only in the guest: results go to
# $HOP_OUT/bench-<mode>.jsonl (one JSON line per result) and a log next to
# it; bench/collect.sh copies them to bench/results/ on the host.
# Environment: HOPBENCH (the binary, default build/bench/hopbench),
# BENCH_REPS, BENCH_ITERS (scale the whole suite), BENCH_CELL_TIMEOUT.
# From the VM runner: HOP_ACCEL and HOP_COMMIT, which every line carries,
# and HOP_INSN_FILE, the instruction-class plugin's output (run-vm.sh -p):
# each one-client cell then gets the plugin's counts per round trip.
set -u

mode=${1:-full}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${HOPBENCH:-$repo/build/bench/hopbench}
out=${HOP_OUT:-$repo/out}
reps=${BENCH_REPS:-5}
iters=${BENCH_ITERS:-1000}
# Under TCG a wake-up across vCPUs is bimodal: tens of microseconds, or
# about one 250 Hz tick when the wake-up is only noticed at the next timer
# interrupt.  Cells that wake across CPUs (cross, spread, CPU hogs) therefore
# take up to ~100x longer per round trip and get fewer iterations, the same
# for every transport, so that the suite fits in make bench's time limit.
slow_iters=${BENCH_SLOW_ITERS:-$((iters / 5))}
# A cell that takes longer than this is cut off (and says so) rather than
# eating the suite's time limit; cross-CPU wake-ups under TCG can be slow.
cell_timeout=${BENCH_CELL_TIMEOUT:-60}
# Under -icount shift=0,sleep=off the guest clock is no timer: while the
# guest waits for the host (9p reads of the program and its libraries) the
# clock jumps from timer to timer, so a guest second can pass in a host
# millisecond, and a 60 s limit cut pipe, futex and uring cells that ran
# fine.  No per-cell limit there (0); run-vm.sh's host-side limit stays.
[ "${HOP_ACCEL:-}" = icount ] && cell_timeout=${BENCH_CELL_TIMEOUT:-0}
res=$out/bench-$mode.jsonl
log=$out/bench-$mode.log

[ -x "$bin" ] || { echo "bench: $bin missing (make bench-build)" >&2; exit 2; }
mkdir -p "$out"
: >"$res"
: >"$log"
t_start=$(date +%s)

say() { echo "bench: $*" | tee -a "$log" >&2; }

accel=${HOP_ACCEL:-host}
commit=${HOP_COMMIT:-unknown}
insn_file=${HOP_INSN_FILE:-}

# The plugin's windows since line $2 of its file (one per repetition of a
# one-client cell, appended by QEMU on the host and read here through the
# 9p share), summed and divided by the round trips, added to JSON line $1.
# Anything wrong leaves the line as it was, with a note.
insn_merge() {
	python3 - "$1" "$insn_file" "$2" <<-'EOF' 2>>"$log" || printf '%s\n' "$1"
		import json, sys
		row = json.loads(sys.argv[1])
		with open(sys.argv[2]) as f:
		    wins = [json.loads(l) for l in f.read().splitlines()[int(sys.argv[3]):]
		            if l.startswith("{") and "window" in l]
		keys = ["insn_user", "insn_kernel", "cr3_writes", "wrmsr", "xsave",
		        "xrstor", "syscalls", "lock_insns", "rep_insns", "rep_starts"]
		if row.get("clients") != 1 or row.get("skipped"):
		    pass
		elif len(wins) != row.get("reps"):
		    row["insn_note"] = f"{len(wins)} plugin windows for {row.get('reps')} repetitions"
		else:
		    rt = len(wins) * row["iters"]
		    for k in keys:
		        row[k] = round(sum(w[k] for w in wins) / rt, 1)
		    row["insn_total"] = round(row["insn_user"] + row["insn_kernel"], 1)
		    row["insn_windows"] = len(wins)
		    row["insn_window_ids"] = [w["window"] for w in wins]
		print(json.dumps(row, separators=(",", ":")))
		EOF
}

# One hopbench invocation; its JSON line goes to the results, or a line that
# records the failure, so that a gap in a table is never silent.
cell() {
	local line rc seen=0
	if [ -n "$insn_file" ]; then
		seen=$(wc -l <"$insn_file" 2>/dev/null || echo 0)
	fi
	line=$(timeout "$cell_timeout" "$bin" "$@" 2>>"$log")
	rc=$?
	if [ $rc -eq 0 ] && [ -n "$line" ]; then
		[ -n "$insn_file" ] && line=$(insn_merge "$line" "$seen")
		printf '%s\n' "$line" >>"$res"
	else
		printf '{"error":"hopbench exited %d","args":"%s","kernel":"%s","accel":"%s","commit":"%s"}\n' \
			"$rc" "$*" "$(uname -r)" "$accel" "$commit" >>"$res"
		say "FAILED (rc=$rc): hopbench $*"
	fi
}

# The Android binder driver: Debian builds binder_linux with /dev/binder
# created at load (no binderfs).  Without it the binder cells say skipped.
setup_binder() {
	[ -e /dev/binder ] || [ -e /dev/binderfs/binder ] && return
	if modprobe binder_linux devices=binder 2>>"$log"; then
		say "loaded binder_linux"
	fi
	if [ ! -e /dev/binder ] && grep -qw binder /proc/filesystems; then
		mkdir -p /dev/binderfs &&
			mount -t binder binder /dev/binderfs 2>>"$log"
	fi
}

# perf bench sched pipe: the outside reference for the pipe number.  It
# reports usecs/op for one round trip between two processes.
perf_pipe() {
	local loops=$1 placement=$2 o us
	local cmd=(perf bench sched pipe -l "$loops")
	[ "$placement" = same ] && cmd=(taskset -c 0 "${cmd[@]}")
	command -v perf >/dev/null || { say "no perf"; return; }
	o=$(timeout "$cell_timeout" "${cmd[@]}" 2>&1)
	us=$(printf '%s\n' "$o" | awk '/usecs\/op/ { print $1 }')
	if [ -z "$us" ]; then
		say "perf bench sched pipe failed: $o"
		return
	fi
	printf '{"transport":"perf-sched-pipe","payload":4,"placement":"%s","clients":1,"reps":1,"iters":%d,"p50_ns":null,"mean_ns":%s,"ops_per_s":%s,"tool":"%s","kernel":"%s","accel":"%s","commit":"%s"}\n' \
		"$placement" "$loops" \
		"$(awk -v u="$us" 'BEGIN { printf "%.0f", u * 1000 }')" \
		"$(awk -v u="$us" 'BEGIN { printf "%.0f", 1e6 / u }')" \
		"$(perf --version 2>/dev/null)" "$(uname -r)" "$accel" "$commit" >>"$res"
}

transports="hop pipe futex eventfd unix uring binder"

run_floors() {
	for t in null-syscall null-ioctl mm-switch; do
		cell --transport "$t" --payload 0 --placement same --reps "$reps" --iters "$iters"
	done
}

run_latency() {
	local k
	for placement in same cross; do
		k=$iters
		[ "$placement" = cross ] && k=$slow_iters
		for p in 0 64 4096 65536; do
			for t in $transports; do
				cell --transport "$t" --payload "$p" --placement "$placement" \
					--reps "$reps" --iters "$k"
			done
		done
	done
}

# Throughput: N client threads against one service.  "spread" puts client
# i on CPU i % 2 and leaves the server unpinned, so that two CPUs can work;
# "same" keeps everything on CPU 0.  Fewer iterations per client, so that a
# cell costs about the same at every N.
run_throughput() {
	local n per
	for placement in spread same; do
		for n in 1 2 4 8; do
			per=$((iters / n))
			[ "$placement" = spread ] && per=$((slow_iters / n))
			[ $per -lt 20 ] && per=20
			for t in $transports; do
				cell --transport "$t" --payload 64 --placement "$placement" \
					--clients "$n" --reps "$reps" --iters "$per"
			done
		done
	done
}

# Claim 4: a hop service with 2 slots against 1..8 clients; callers beyond
# the slot count wait for a slot inside the module.
run_slots() {
	local n per
	for n in 1 2 3 4 6 8; do
		per=$((slow_iters / n))
		[ $per -lt 20 ] && per=20
		cell --transport hop --payload 64 --placement spread --clients "$n" \
			--slots 2 --reps "$reps" --iters "$per" --condition "slots=2"
	done
}

# Claim 1: p99 while both CPUs run CPU hogs.  stress-ng is bounded by its own
# --timeout and killed when the cells are done.
run_stress() {
	local pid
	command -v stress-ng >/dev/null || { say "no stress-ng"; return; }
	stress-ng --cpu 2 --timeout 600s --quiet >>"$log" 2>&1 &
	pid=$!
	sleep 1
	for placement in same cross; do
		for t in hop futex pipe; do
			cell --transport "$t" --payload 64 --placement "$placement" \
				--reps "$reps" --iters "$slow_iters" --condition "stress-ng --cpu 2"
		done
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# The same cells without load, back to back, for the comparison.
	for placement in same cross; do
		for t in hop futex pipe; do
			cell --transport "$t" --payload 64 --placement "$placement" \
				--reps "$reps" --iters "$slow_iters" --condition "idle"
		done
	done
}

# The soft real-time claim, measured as meant (issue 16): a request arrives
# (open loop, periodic), the caller may be real-time, and the CPU may be
# busy.  Everything on CPU 0: the client, the forked server, and the hogs
# (hopbench --hogs pins them to the client's CPU), so that a server thread
# competes with the hog for the CPU exactly when the client waits for it;
# CPU 1 stays idle.  FIFO means priority 80 for the client, the server
# (both deployments of the peers: a SCHED_OTHER server, the usual one, and
# a FIFO one at the client's priority), and rt-tests' threads.  hop has no
# server thread, so its server policy changes nothing; it is run both ways
# to show that.  RT throttling stays at the kernel's default
# (sched_rt_runtime_us, recorded on every line): an open-loop client sleeps
# most of each period and never comes near it.
claims_hogs() {
	local i
	hog_pids=()
	for ((i = 0; i < $1; i++)); do
		taskset -c 0 "$bin" --hog &
		hog_pids+=($!)
	done
}

claims_hogs_stop() {
	local p
	for p in "${hog_pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	hog_pids=()
}

# One rt-tests run: TOOL HOGS SCHED, its --json turned into a line by
# bench/rtref.py.  Priority 80 for fifo:80; SCHED_OTHER for other.
rt_ref() {
	local tool=$1 hogs=$2 sched=$3 j=$out/rt-$1.json prio=() line
	command -v "$tool" >/dev/null || { say "no $tool (rt-tests)"; return; }
	case $sched in
	fifo:*) prio=(-p "${sched#fifo:}") ;;
	# pmqtest and ptsematest run SCHED_OTHER at -p 0; cyclictest needs
	# its policy named (-p 0 alone makes it FIFO 2).
	*) if [ "$tool" = cyclictest ]; then prio=(--policy=other); else prio=(-p 0); fi ;;
	esac
	local cmd=("$tool" -a 0 "${prio[@]}" -i "$claims_period" -l "$claims_iters" -q "--json=$j")
	[ "$tool" = cyclictest ] && cmd+=(-t 1 -m -h 100000)
	rm -f "$j"
	# Its --json is the result: stdout (cyclictest prints its whole 100000
	# line histogram there) would only slow the 9p log down, and under
	# -icount such host waits let the guest clock run past any limit.
	if timeout "$cell_timeout" "${cmd[@]}" >/dev/null 2>>"$log" &&
		line=$(python3 "$repo/bench/rtref.py" "$tool" "$j" "$hogs" "$sched" \
			"$claims_period" "$claims_iters" 2>>"$log"); then
		printf '%s\n' "$line" >>"$res"
	else
		printf '{"error":"%s failed","args":"%s","hogs":%d,"client_sched":"%s","kernel":"%s","accel":"%s","commit":"%s"}\n' \
			"$tool" "${cmd[*]}" "$hogs" "$sched" "$(uname -r)" "$accel" "$commit" >>"$res"
		say "FAILED: ${cmd[*]}"
	fi
}

run_claims() {
	local hogs cs ss t
	claims_period=${BENCH_PERIOD_US:-1000}
	claims_iters=${BENCH_CLAIMS_ITERS:-1000}
	say "claims: period ${claims_period} us, ${claims_iters} arrivals x $reps reps, sched_rt_runtime_us=$(cat /proc/sys/kernel/sched_rt_runtime_us), sched_rt_period_us=$(cat /proc/sys/kernel/sched_rt_period_us)"
	for hogs in 0 1; do
		for cs in other fifo:80; do
			for t in hop futex pipe unix binder; do
				for ss in other fifo:80; do
					cell --transport "$t" --payload 64 --placement same \
						--arrival "periodic:$claims_period" --hogs "$hogs" \
						--client-sched "$cs" --server-sched "$ss" \
						--reps "$reps" --iters "$claims_iters" --condition claims
				done
			done
		done
		# The same hogs, started the same way, for the outside tools.
		claims_hogs "$hogs"
		for cs in other fifo:80; do
			for t in pmqtest ptsematest cyclictest; do
				rt_ref "$t" "$hogs" "$cs"
			done
		done
		claims_hogs_stop
	done
}

# Claim 2: memory of an idle server.
run_memory() {
	for t in hop pipe futex; do
		cell --memory --transport "$t" --threads 64
	done
}

# What a hop service costs tasks that never hop.  While hop.ko's probes sat
# on the sys_enter/sys_exit tracepoints, every task took the kernel's slow
# syscall path (+95 instructions a syscall); now only a hopped task's
# syscalls pass through hop (intercept.c), and these cells show that a
# service costs the others nothing.  The same cells as without
# a service (null-syscall, futex at 64 B: run_floors and the caller have
# those), with examples/echo-server serving "hop-bench-tax" in the
# background; the condition says so.
run_service_tax() {
	local pid srv=$repo/build/examples/echo-server
	[ -x "$srv" ] || { say "no $srv: no service-tax cells"; return; }
	"$srv" hop-bench-tax >>"$log" 2>&1 &
	pid=$!
	sleep 1
	cell --transport null-syscall --payload 0 --placement same --reps "$reps" \
		--iters "$iters" --condition "a hop service alive"
	cell --transport futex --payload 64 --placement same --reps "$reps" \
		--iters "$iters" --condition "a hop service alive"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# Real work per call: one prepared SQLite statement on a Zipf-drawn row (see
# bench/w_sqlite.c).  Everything on CPU 0 ("same"), so that no cell depends
# on TCG's cross-CPU wake-ups; N clients share the CPU with the server, and
# ops/s is what one CPU serves.  Fewer iterations per client at higher N, so
# that every cell makes about the same number of calls.
run_sqlite() {
	local n per op t
	for op in read update; do
		for n in 1 2 4 8; do
			per=$((iters / n))
			[ $per -lt 20 ] && per=20
			for t in hop unix futex; do
				cell --workload sqlite --op "$op" --transport "$t" --placement same \
					--clients "$n" --reps "$reps" --iters "$per"
			done
		done
	done
}

say "mode=$mode kernel=$(uname -r) accel=$accel commit=$commit${insn_file:+ plugin} reps=$reps iters=$iters slow_iters=$slow_iters -> $res"
setup_binder
case $mode in
full)
	run_floors
	run_latency
	run_throughput
	run_slots
	run_stress
	run_memory
	# Claim 3: spawning a thread per device completion against an existing one.
	cell --irq --reps "$reps" --iters 50
	perf_pipe 5000 same
	perf_pipe 5000 unpinned
	;;
pti)
	# The condition names the boot options, so that results from guests
	# booted differently stay apart.
	cond="cmdline:$(tr ' ' '\n' </proc/cmdline | grep -E '^(nopti|nopcid|pti=|mitigations=)' | tr '\n' ' ')"
	for t in null-syscall null-ioctl mm-switch; do
		cell --transport "$t" --payload 0 --reps "$reps" --iters "$iters" --condition "$cond"
	done
	for t in hop pipe futex; do
		cell --transport "$t" --payload 64 --placement same --reps "$reps" \
			--iters "$iters" --condition "$cond"
	done
	perf_pipe 5000 same
	;;
insn)
	run_floors
	for p in 0 64 4096; do
		for t in $transports; do
			cell --transport "$t" --payload "$p" --placement same \
				--reps "$reps" --iters "$iters"
		done
	done
	# Register calls beside the buffer path, at the sizes registers carry.
	for p in 0 8 48; do
		for t in hop hop-regs; do
			cell --transport "$t" --payload "$p" --placement same \
				--reps "$reps" --iters "$iters"
		done
	done
	run_service_tax
	;;
prof)
	# Real addresses in /proc/kallsyms for the host-side symbolizer.
	echo 0 >/proc/sys/kernel/kptr_restrict 2>>"$log" || say "kptr_restrict not writable"
	run_floors
	cell --transport hop --payload 64 --placement same --reps "$reps" --iters "$iters"
	# While hop.ko is loaded, so that its functions are in the copy.
	cp /proc/kallsyms "$out/kallsyms.txt" 2>>"$log" || say "no /proc/kallsyms"
	cp /proc/modules "$out/modules.txt" 2>>"$log" || true
	grep -q '^ffffffff' "$out/kallsyms.txt" 2>/dev/null || say "kallsyms.txt has no real addresses"
	;;
hop)
	run_floors
	cell --transport hop --payload 64 --placement same --reps "$reps" --iters "$iters"
	cell --transport hop-regs --payload 48 --placement same --reps "$reps" --iters "$iters"
	run_service_tax
	# futex without a service, for the comparison (insn mode has it anyway).
	cell --transport futex --payload 64 --placement same --reps "$reps" --iters "$iters"
	;;
sqlite)
	run_sqlite
	;;
quick)
	for t in null-syscall null-ioctl mm-switch $transports; do
		cell --transport "$t" --payload 64 --reps 3 --iters 100
	done
	cell --memory --transport hop --threads 8
	# The claims mode's options, a few arrivals each.
	for t in hop futex; do
		cell --transport "$t" --payload 64 --arrival periodic:1000 --hogs 1 \
			--client-sched fifo:80 --server-sched other --reps 2 --iters 50
	done
	claims_period=1000 claims_iters=50
	claims_hogs 1
	rt_ref cyclictest 1 fifo:80
	claims_hogs_stop
	;;
claims)
	run_claims
	;;
*)
	echo "usage: bench/run.sh [full|pti|quick|insn|prof|claims|hop|sqlite]" >&2
	exit 2
	;;
esac
say "done in $(($(date +%s) - t_start))s: $(wc -l <"$res") results, $(grep -c '"error"' "$res") errors, $(grep -c '"skipped":true' "$res") skipped"
# Errors are recorded in the results; the suite itself succeeded if it ran.
exit 0
