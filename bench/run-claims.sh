#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench/run-claims.sh: on the host, boot a guest per kernel and per kernel command line to measure hop and pipe with and without PTI and PCID.
#
#   bench/run-claims.sh [KERNEL...]          (default: 6.12 6.1)
#   BENCH_APPENDS='default|pti=on' bench/run-claims.sh   (default: default|pti=on|nopti|nopcid)
#
# A guest cannot change its own kernel command line, so each configuration
# is its own boot (make vm-run APPEND=...), running bench/run.sh pti; then
# bench/collect.sh copies each run to bench/results/ labelled with its
# options and bench/report.py gathers them in one table.
#
# Why these options: under QEMU TCG with -cpu max the guest CPU reports
# neither Meltdown (so PTI is off unless forced with pti=on) nor PCID (so
# nopcid changes nothing there; it matters under KVM or on hardware).  The
# results record what the guest actually ran with (pti, pcid fields), so a
# configuration that changed nothing shows as such.
#
# BENCH_VM=direct boots with selftests/vm/run-vm.sh instead of make vm-run,
# without rebuilding: for a tree that others are changing while this runs
# (HOP_KO_DIR=DIR takes DIR/RELEASE/hop.ko; HOPBENCH a hopbench binary).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(6.12 6.1)
IFS='|' read -r -a appends <<<"${BENCH_APPENDS:-default|pti=on|nopti|nopcid}"

files=()
failed=0
for k in "${kernels[@]}"; do
	for a in "${appends[@]}"; do
		append=$a
		[ "$a" = default ] && append=
		label=$(printf '%s' "$a" | tr ' =' ',_')
		echo "run-claims: kernel $k, cmdline '${append}'" >&2
		log=$(mktemp)
		cmd='bench/run.sh pti'
		[ -n "${HOPBENCH:-}" ] && cmd="HOPBENCH=$HOPBENCH $cmd"
		if [ "${BENCH_VM:-make}" = direct ]; then
			release=$(selftests/vm/kernels.sh release "$k")
			HOP_KO=${HOP_KO_DIR:+$HOP_KO_DIR/$release/hop.ko} \
				selftests/vm/run-vm.sh -q -k "$k" -a "$append" \
				-t "${BENCH_TIMEOUT:-600}" -- "$cmd" 2>&1 | tee "$log"
		else
			make --no-print-directory vm-run KERNEL="$k" APPEND="$append" \
				TIMEOUT="${BENCH_TIMEOUT:-600}" CMD="$cmd" 2>&1 | tee "$log"
		fi
		run=$(sed -n 's/.*logs in \(out\/vm\/[^ ]*\)\/$/\1/p' "$log" | tail -n 1)
		rm -f "$log"
		if [ -z "$run" ] || ! [ -s "$run/bench-pti.jsonl" ]; then
			echo "run-claims: kernel $k '$append': no results" >&2
			failed=1
			continue
		fi
		# collect.sh prints the files it wrote; keep them for one report.
		while read -r f; do
			files+=("$f")
		done < <(BENCH_NO_REPORT=1 "$repo/bench/collect.sh" "$run" "$label" 2>/dev/null |
			sed -n 's/^collect: \(.*\.jsonl\)$/\1/p')
	done
done
if [ ${#files[@]} -gt 0 ]; then
	python3 "$repo/bench/report.py" -o "$repo/bench/results" \
		$(ls -t "$repo"/bench/results/*-full.jsonl 2>/dev/null | head -n 1) \
		$(ls -t "$repo"/bench/results/*-full-host.jsonl 2>/dev/null | head -n 1) "${files[@]}"
fi
exit $failed
