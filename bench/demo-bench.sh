#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench/demo-bench.sh: a few seconds of hopbench for make demo, hop against pipe and futex at 64 bytes on one CPU, as a small table of ratios.
#
#   bench/demo-bench.sh        (inside the guest, hop.ko loaded)
#
# Same harness, same method as the full suite (bench/run.sh), fewer
# iterations.  HOPBENCH overrides the binary.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${HOPBENCH:-$repo/build/bench/hopbench}
iters=${BENCH_ITERS:-300}
[ -x "$bin" ] || { echo "demo-bench: $bin missing (make bench-build)" >&2; exit 2; }

# The table, from hopbench's JSON lines on stdin.
table=$(cat <<'EOF_PY'
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
by = {r["transport"]: r for r in rows if not r.get("skipped")}
e = rows[0] if rows else {}
print("hop vs pipe vs futex: 64 bytes each way, client and server on CPU 0")
print(f"kernel {e.get('kernel')}, PTI {e.get('pti')}, PCID {e.get('pcid')}, "
      f"median of {e.get('reps')} runs of {e.get('iters')} round trips")
print()
print(f"{'transport':<10} {'p50 us':>9} {'p99 us':>9} {'p50 / hop':>10}")
hop = by.get("hop")
for t in ("hop", "pipe", "futex"):
    r = by.get(t)
    if not r:
        why = next((x.get("reason", "failed") for x in rows
                    if x.get("transport") == t), "failed")
        print(f"{t:<10} {'skipped':>9}  {why}")
        continue
    ratio = f"{r['p50_ns'] / hop['p50_ns']:.2f}" if hop else "-"
    print(f"{t:<10} {r['p50_ns'] / 1000:>9.1f} {r['p99_ns'] / 1000:>9.1f} {ratio:>10}")
print()
if e.get("tcg"):
    print("These run under QEMU TCG emulation: absolute times mean nothing here,")
    print("only the ratios between transports measured in this same run do.")
else:
    print(f"Measured on {e.get('cpu')}, kernel {e.get('kernel')}.")
EOF_PY
)

for t in hop pipe futex; do
	"$bin" --transport "$t" --payload 64 --placement same --reps 5 --iters "$iters" || true
done | python3 -c "$table"
