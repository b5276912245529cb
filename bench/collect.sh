#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench/collect.sh: on the host, copy a guest run's bench results from out/ into bench/results/ and rebuild the report.
#
#   bench/collect.sh [RUNDIR [LABEL]]
#
# RUNDIR is a run directory written by selftests/vm/run-vm.sh (default: the
# newest out/vm/* holding bench-*.jsonl).  Each bench-MODE.jsonl in it
# becomes bench/results/KERNEL-DATE-MODE[-LABEL].jsonl, with KERNEL and DATE
# taken from the results themselves.  Then bench/report.py rewrites
# bench/results/table.md and the PNGs from the newest full run, the newest
# insn run (make bench ICOUNT=1), the newest claims runs and the newest pti run of each kernel and
# boot options, and bench/report_sqlite.py rewrites sqlite.md from the
# sqlite runs (BENCH_NO_REPORT=1: copy only).  The plugin's raw windows
# (hopinsn.txt) are copied beside an insn run's results.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
results=$repo/bench/results
run=${1:-}
label=${2:-}

if [ -z "$run" ]; then
	run=$(ls -dt "$repo"/out/vm/*/ 2>/dev/null | while read -r d; do
		ls "$d"bench-*.jsonl >/dev/null 2>&1 && { echo "${d%/}"; break; }
	done || true)
	[ -n "$run" ] || { echo "collect: no out/vm/*/bench-*.jsonl" >&2; exit 1; }
fi
mkdir -p "$results"
copied=()
for f in "$run"/bench-*.jsonl; do
	[ -s "$f" ] || continue
	mode=${f##*/bench-}
	mode=${mode%.jsonl}
	meta=$(python3 - "$f" <<-'EOF'
		import json, sys
		for line in open(sys.argv[1]):
		    try:
		        d = json.loads(line)
		    except ValueError:
		        continue
		    if d.get("kernel") and d.get("date"):
		        print(d["kernel"], d["date"].replace("-", "").replace(":", "")[:15])
		        break
		EOF
	)
	[ -n "$meta" ] || { echo "collect: $f has no kernel/date" >&2; continue; }
	set -- $meta
	dest=$results/$1-$2-$mode${label:+-$label}.jsonl
	cp "$f" "$dest"
	[ -f "$run/bench-$mode.log" ] && cp "$run/bench-$mode.log" "${dest%.jsonl}.log"
	if [ -f "$run/hopinsn.txt" ]; then
		cp "$run/hopinsn.txt" "${dest%.jsonl}.hopinsn.txt"
	fi
	copied+=("$dest")
	echo "collect: $dest"
done
[ ${#copied[@]} -gt 0 ] || { echo "collect: nothing in $run" >&2; exit 1; }

[ -n "${BENCH_NO_REPORT:-}" ] && exit 0

# The SQLite workload's runs (bench/run.sh sqlite) have a report of their
# own, bench/results/sqlite.md, over every such run kept, oldest first.
# shellcheck disable=SC2046
sqlite_runs=$(ls -tr "$results"/*-sqlite.jsonl "$results"/*-sqlite-*.jsonl 2>/dev/null || true)
# shellcheck disable=SC2086
[ -n "$sqlite_runs" ] && python3 "$repo/bench/report_sqlite.py" -o "$results" $sqlite_runs

# The report: the newest full run plus the pti runs given in BENCH_PTI_FILES
# (run-claims.sh) or else the newest pti file of each label.
full=$(ls -t "$results"/*-full.jsonl 2>/dev/null | head -n 1 || true)
# A host run of the transports that need no hop.ko (collect.sh DIR host).
full="$full $(ls -t "$results"/*-full-host.jsonl 2>/dev/null | head -n 1 || true)"
# The newest instruction-count run (make bench ICOUNT=1, mode insn).
full="$full $(ls -t "$results"/*-insn.jsonl "$results"/*-insn-*.jsonl 2>/dev/null | head -n 1 || true)"
# The newest open-loop claims run of each accelerator (bench/run.sh claims,
# collected with the label icount or tcg, or none).
for c in claims-icount claims-tcg claims; do
	full="$full $(ls -t "$results"/*-"$c".jsonl 2>/dev/null | head -n 1 || true)"
done
pti=${BENCH_PTI_FILES:-}
if [ -z "$pti" ]; then
	# Newest first, one file per kernel and boot options.
	pti=$(ls -t "$results"/*-pti*.jsonl 2>/dev/null | python3 -c '
import re, sys
seen = set()
for f in sys.stdin.read().split():
    m = re.match(r"(.*)-\d{8}T\d{6}-(pti.*)\.jsonl$", f)
    if m and m.groups() not in seen:
        seen.add(m.groups())
        print(f)' || true)
fi
# shellcheck disable=SC2086
[ -n "${full// /}$pti" ] && python3 "$repo/bench/report.py" -o "$results" $full $pti
