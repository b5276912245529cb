#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench/profile.py: kernel instructions per round trip, per function, from a prof run.

    bench/profile.py [-n 40] [--cell hop:64] RUNDIR

RUNDIR is a run directory of

    HOP_PLUGIN_ARGS=hist=1 make bench ICOUNT=1 BENCH_MODE=prof

holding bench-prof.jsonl (each one-client cell's line names its plugin
windows, insn_window_ids), hopinsn.txt.hist (the plugin's per-address kernel
counts, one block per window) and kallsyms.txt (the guest's /proc/kallsyms,
copied while hop.ko was loaded).  For every cell (or only those given with
--cell TRANSPORT:PAYLOAD) it prints the top N kernel functions by
instructions per round trip (the cell's windows summed, divided by
windows x iters), with their share of the cell's kernel instructions, then
hop.ko's own functions.  Addresses map to the text symbol at or below them
(sorted kallsyms, bisect); "?" is an address below every symbol.  A REP
string instruction counts once per iteration, as under icount.
"""
import argparse
import bisect
import collections
import json
import os
import sys


def load_syms(path):
    syms = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or parts[1] not in "tTwW":
                continue
            addr = int(parts[0], 16)
            if addr == 0:
                continue
            name = parts[2]
            if len(parts) > 3:
                name += " " + parts[3]  # [module]
            syms.append((addr, name))
    syms.sort()
    if not syms:
        sys.exit(f"profile: {path} has no text symbols with addresses (kptr_restrict?)")
    return [a for a, _ in syms], [n for _, n in syms]


def load_hist(path):
    """{window: ({addr: count}, insn_kernel)}"""
    wins = {}
    cur = None
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                p = line.split()
                cur = {}
                wins[int(p[2])] = (cur, int(p[4]))
            elif cur is not None and line.strip():
                a, c = line.split()
                cur[int(a, 16)] = cur.get(int(a, 16), 0) + int(c)
    return wins


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("--cell", action="append", default=[],
                    help="TRANSPORT:PAYLOAD, e.g. hop:64 (default: every cell)")
    ap.add_argument("--ref", default="hop:64",
                    help="the cell whose kernel total the '%% of ref' column divides by")
    args = ap.parse_args()

    addrs, names = load_syms(os.path.join(args.run, "kallsyms.txt"))
    hist = load_hist(os.path.join(args.run, "hopinsn.txt.hist"))
    rows = []
    with open(os.path.join(args.run, "bench-prof.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if r.get("insn_window_ids"):
                rows.append(r)

    def cell_profile(r):
        funcs = collections.Counter()
        total = kern = 0
        for w in r["insn_window_ids"]:
            counts, k = hist[w]
            kern += k
            for a, c in counts.items():
                i = bisect.bisect_right(addrs, a) - 1
                funcs[names[i] if i >= 0 else "?"] += c
                total += c
        rt = len(r["insn_window_ids"]) * r["iters"]
        return funcs, total, kern, rt

    profiles = {}
    for r in rows:
        key = f'{r["transport"]}:{r["payload"]}'
        profiles[key] = (r, *cell_profile(r))
    ref_total = None
    if args.ref in profiles:
        _, _, tot, _, rt = profiles[args.ref]
        ref_total = tot / rt

    for key, (r, funcs, total, kern, rt) in profiles.items():
        if args.cell and key not in args.cell:
            continue
        per = total / rt
        print(f"## {key} ({r['placement']}, {len(r['insn_window_ids'])} windows x "
              f"{r['iters']} round trips, kernel {r.get('kernel')}, commit {r.get('commit')})")
        print()
        print(f"kernel instructions per round trip: {per:.1f} (histogram) / "
              f"{r.get('insn_kernel')} (plugin insn_kernel); user {r.get('insn_user')}; "
              f"histogram sum {'==' if total == kern else '!='} window insn_kernel sum "
              f"({total} vs {kern})")
        print()
        refcol = ref_total is not None and key != args.ref
        hdr = "| function | instr/rt | % of cell |" + (f" % of {args.ref} |" if refcol else "")
        print(hdr)
        print("|---|---:|---:|" + ("---:|" if refcol else ""))
        shown = 0
        for name, c in funcs.most_common(args.n):
            v = c / rt
            line = f"| {name} | {v:.1f} | {100 * v / per:.1f} |"
            if refcol:
                line += f" {100 * v / ref_total:.1f} |"
            print(line)
            shown += v
        rest = per - shown
        print(f"| (other {max(0, len(funcs) - args.n)} functions) | {rest:.1f} | {100 * rest / per:.1f} |"
              + (f" {100 * rest / ref_total:.1f} |" if refcol else ""))
        mod = [(n, c) for n, c in funcs.most_common() if n.endswith("[hop]")]
        if mod:
            msum = sum(c for _, c in mod) / rt
            print()
            print(f"hop.ko's own functions: {msum:.1f} instr/rt, {100 * msum / per:.1f} % of the cell")
            print()
            print("| function | instr/rt | % of cell |")
            print("|---|---:|---:|")
            for n, c in mod:
                print(f"| {n} | {c / rt:.1f} | {100 * c / rt / per:.1f} |")
        print()


if __name__ == "__main__":
    main()
