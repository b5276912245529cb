#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench/report.py: turn hopbench JSON lines into a markdown table and gnuplot PNGs.

    bench/report.py [-o DIR] RESULTS.jsonl...

Writes DIR/table.md (default bench/results/) and, per input file, PNGs named
after it: latency per transport and payload, throughput against clients,
hop with 2 slots against clients, p99 idle against CPU hogs.  Results from
bench/run.sh's pti mode (one file per kernel command line) are gathered in
one table comparing hop and pipe with and without PTI and PCID.

Every ratio is taken between results of the same file, i.e. the same guest
run: under TCG emulation absolute times mean nothing and vary several-fold
from boot to boot.

Every plot names the kernel and how the guest ran (accel: tcg, icount, kvm
or host) in its title.  Bars and points are the median over repetitions;
whiskers span the lowest and highest repetition (p50_ns_reps,
ops_per_s_reps); p99 values have no per-repetition record, so p99 bars
carry none.  The floors (null syscall, null ioctl, mm switch) are drawn as
dashed reference lines on the latency plots.  The .dat files gnuplot reads
have no header row: a header row is plotted by the histogram style as an
empty first cluster, which pushed the last payload group out of the frame.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import report_claims

TRANSPORTS = ["hop", "hop-regs", "pipe", "futex", "eventfd", "unix", "uring", "binder"]
FLOORS = ["null-syscall", "null-ioctl", "mm-switch"]
PAYLOADS = [0, 64, 4096, 65536]


def payloads_of(rows, **kw):
    """The payload sizes measured in rows (with kw), PAYLOADS first, in order."""
    seen = {r.get("payload") for r in rows
            if r.get("transport") in TRANSPORTS and not r.get("skipped")
            and "error" not in r and all(r.get(k) == v for k, v in kw.items())}
    seen.discard(None)
    return sorted(seen) or PAYLOADS


def load(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                print(f"{path}:{n}: not JSON ({e}), skipped", file=sys.stderr)
    return rows


# The unit of every "_ns" value of the file being reported, from its rows'
# "accel": under -icount the guest clock advances 1 ns per instruction, so
# the values are instruction counts and never shown as time; under plain TCG
# they are emulated nanoseconds, good for ratios only; under KVM (or on a
# host) they are real time, shown in microseconds.  Rows without "accel"
# predate it: TCG guests where the TCG hint says so, else host runs.
UNITS = {
    "icount": {"short": "instr", "long": "instructions (-icount: 1 guest ns = 1 instruction)", "div": 1},
    "tcg": {"short": "TCG ns", "long": "TCG ns (emulated, ratios only)", "div": 1},
    "kvm": {"short": "us", "long": "microseconds (KVM)", "div": 1000},
    "host": {"short": "us", "long": "microseconds (no VM)", "div": 1000},
}
UNIT = UNITS["tcg"]


def set_unit(rows):
    global UNIT
    accel = next((r["accel"] for r in rows if r.get("accel")), None)
    if accel is None:
        # Older lines: TCG guests, or a run on the host itself.
        accel = "tcg" if any(r.get("tcg") for r in rows) else "host"
    UNIT = UNITS.get(accel, UNITS["tcg"])
    return accel


def us(ns):
    """A time value of the current file in its unit (see UNITS)."""
    if ns is None:
        return "–"
    v = ns / UNIT["div"]
    if UNIT["div"] == 1:
        return f"{v:.0f}"
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def u():
    return UNIT["short"]


def kops(v):
    return "–" if v is None else f"{v / 1000:.1f}"


def size(p):
    return f"{p // 1024} KiB" if p >= 1024 else f"{p} B"


def pick(rows, **kw):
    """The one measured result matching kw (skips and errors excluded)."""
    for r in rows:
        if r.get("skipped") or "error" in r or r.get("mode") == "memory":
            continue
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def env_of(rows):
    for r in rows:
        if "cpu" in r:
            return r
    return {}


def env_lines(e):
    return [
        f"- kernel `{e.get('kernel')}`, CPU `{e.get('cpu')}` x{e.get('ncpus')}, "
        f"TCG hint: {e.get('tcg')}, hypervisor: {e.get('hypervisor')}",
        f"- PTI: {e.get('pti')}, PCID in use: {e.get('pcid')}, "
        f"cmdline nopti={e.get('nopti')} nopcid={e.get('nopcid')}",
        f"- mitigations: {e.get('mitigations')}",
        f"- clocksource `{e.get('clocksource')}`, one clock_gettime pair: "
        f"{e.get('timer_ns')} ns (inside every sample)",
        f"- date {e.get('date')}",
    ]


def gnuplot(script):
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        print(f"gnuplot failed: {err}", file=sys.stderr)


TERM = "set terminal pngcairo size 1000,560 font 'DejaVu Sans,11'\n"


def accel_title(rows):
    """The kernel and how its guest ran, for a plot's title."""
    e = env_of(rows)
    accel = set_unit(rows)
    how = {"icount": "QEMU TCG -icount: values are instructions",
           "tcg": "QEMU TCG: emulated ns, compare ratios only",
           "kvm": "KVM, real time",
           "host": "no QEMU guest (the build host), real time"}.get(accel, accel)
    return f"{e.get('kernel')}, {how}"


def spread(r, key="p50_ns_reps", div=None):
    """(min, max) over a result's repetitions, in plot units, or the value twice."""
    div = div or UNIT["div"]
    reps = [v for v in (r.get(key) or []) if v is not None]
    base = r["p50_ns"] if key == "p50_ns_reps" else r.get("ops_per_s")
    if not reps:
        return base / div, base / div
    return min(reps) / div, max(reps) / div


def floor_arrows(rows):
    """gnuplot commands drawing the floors' p50 as dashed reference lines."""
    out = []
    for i, t in enumerate(FLOORS):
        r = pick(rows, transport=t)
        if not r or not r.get("p50_ns"):
            continue
        y = r["p50_ns"] / UNIT["div"]
        out.append(f"set arrow from graph 0, first {y} to graph 1, first {y} nohead "
                   f"dt 2 lw 1.5 lc rgb 'gray30' front")
        out.append(f"set label '{t} {us(r['p50_ns'])}' at graph 1.01, first {y} left "
                   f"font ',9' tc rgb 'gray30' front")
    ys = [pick(rows, transport=t)["p50_ns"] / UNIT["div"] for t in FLOORS
          if pick(rows, transport=t) and pick(rows, transport=t).get("p50_ns")]
    return "\n".join(out), min(ys) if ys else None


def plot_latency(rows, placement, png, tmp):
    dat = os.path.join(tmp, f"lat-{placement}.dat")
    present = [t for t in TRANSPORTS if any(pick(rows, transport=t, payload=p,
                                                 placement=placement, clients=1)
                                            for p in PAYLOADS + [8, 48])]
    if not present:
        return False
    payloads = payloads_of(rows, placement=placement, clients=1)
    # No header row: gnuplot's histogram style plots it as an empty cluster.
    top, bottom = 0, None
    with open(dat, "w") as f:
        for p in payloads:
            vals = []
            for t in present:
                r = pick(rows, transport=t, payload=p, placement=placement,
                         clients=1)
                if r:
                    lo, hi = spread(r)
                    top = max(top, hi, r['p50_ns'] / UNIT['div'])
                    bottom = min(bottom or lo, lo)
                    vals.append(f"{r['p50_ns'] / UNIT['div']:.3f} {lo:.3f} {hi:.3f}")
                else:
                    vals.append("NaN NaN NaN")
            f.write(f'"{size(p)}" ' + " ".join(vals) + "\n")
    cols = ", ".join(
        (f"'{dat}'" if i == 0 else "''") +
        f" using {3 * i + 2}:{3 * i + 3}:{3 * i + 4}" + (":xtic(1)" if i == 0 else "") +
        f" title '{t}'" for i, t in enumerate(present))
    reps = next((r.get("reps") for r in rows if r.get("reps")), "?")
    arrows, lowest = floor_arrows(rows)
    # Every whisker and every floor's line inside the frame.
    ymin = min(x for x in (lowest, bottom) if x) / 2
    gnuplot(TERM + f"""set output '{png}'
set title "p50 round trip, 1 client, {placement} CPU; whiskers: min-max of {reps} repetitions\\n{accel_title(rows)}"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xrange [-0.6:{len(payloads) - 0.4}]
set logscale y
set yrange [{ymin}:{top * 2}]
set ylabel 'p50 round trip ({u()}, log scale)'
set xlabel 'payload each way'
set key outside right top
set grid ytics
{arrows}
plot {cols}
""")
    return True


def plot_lines(series, title, ylabel, png, tmp, name, logy=False):
    """series: {label: [(x, y), ...]} as lines against client count."""
    if not any(series.values()):
        return False
    parts = []
    for i, (label, pts) in enumerate(series.items()):
        if not pts:
            continue
        dat = os.path.join(tmp, f"{name}-{i}.dat")
        with open(dat, "w") as f:
            for pt in pts:
                x, y = pt[0], pt[1]
                lo, hi = (pt[2], pt[3]) if len(pt) > 3 else (y, y)
                f.write(f"{x} {y} {lo} {hi}\n")
        parts.append(f"'{dat}' using 1:2:3:4 with yerrorlines lw 2 title '{label}'")
    gnuplot(TERM + f"""set output '{png}'
set title "{title}"
set xlabel 'client threads'
set ylabel '{ylabel}'
set key outside right top
set grid
set xtics (1,2,3,4,6,8)
{'set logscale y' if logy else 'set yrange [0:*]'}
plot {', '.join(parts)}
""")
    return True


CLASSES = [("insn_user", "user"), ("insn_kernel", "kernel"),
           ("cr3_writes", "CR3 writes"), ("wrmsr", "WRMSR"), ("xsave", "XSAVE*"),
           ("xrstor", "XRSTOR*"), ("syscalls", "SYSCALL"), ("lock_insns", "LOCK"),
           ("rep_insns", "REP execs"), ("rep_starts", "REP starts")]


def report_classes(rows, md):
    """The plugin's counts (bench/plugin/hopinsn.c), per round trip."""
    have = [r for r in rows if "insn_total" in r and not r.get("skipped")]
    if not have:
        return
    md.append("### Instructions per round trip by class (TCG plugin)\n")
    md.append("Counted by bench/plugin/hopinsn.c between markers around each "
              "repetition's timed loop, divided by the round trips: the loop "
              "and the whole clock pair included, both vCPUs summed.  "
              "`total` is user + kernel and equals the instructions -icount "
              "charges to the loop (1e9 / ops/s); p50/mean/p99 are the "
              "bench's per-sample figures.  `REP execs`: executions of "
              "REP string instructions, one per iteration (and, under "
              "-icount, one more that finds RCX = 0), each one instruction; "
              "`REP starts`: REP instructions begun.  `total - REP execs + "
              "REP starts` counts each REP once.\n")
    md.append("| transport | payload | p50 | mean | p99 | total | "
              + " | ".join(n for _, n in CLASSES) + " | REP collapsed |")
    md.append("|---|---:|" + "---:|" * (5 + len(CLASSES)))
    for r in have:
        coll = r["insn_total"] - r["rep_insns"] + r["rep_starts"]
        md.append(f"| {r['transport']} | {r['payload']} | {us(r.get('p50_ns'))} | "
                  f"{us(r.get('mean_ns'))} | {us(r.get('p99_ns'))} | "
                  f"{r['insn_total']:.0f} | "
                  + " | ".join(f"{r[k]:.0f}" if r[k] >= 100 else f"{r[k]:g}"
                               for k, _ in CLASSES) + f" | {coll:.0f} |")
    md.append("")


def report_file(path, rows, outdir, tmp, md):
    stem = os.path.splitext(os.path.basename(path))[0]
    e = env_of(rows)
    md.append(f"## `{os.path.basename(path)}`\n")
    md += env_lines(e)
    md.append("")
    accel = set_unit(rows)
    md.append(f"- accel `{accel}`, commit `{e.get('commit', 'unknown')}`\n")
    md.append(f"Values are {UNIT['long']} per round trip (median over repetitions of "
              "each repetition's percentile); ops/s likewise.  Compare only "
              "within this section: same guest, same boot.\n")
    if accel == "icount":
        md.append("Under `-icount shift=0,sleep=off` every value is a count of "
                  "instructions, identical from boot to boot.  The guest clock "
                  "sums the instructions of both vCPUs, so only one-client "
                  "same-CPU latency cells are meaningful; cross-CPU, throughput "
                  "and ops/s figures are not.  A REP iteration counts as one "
                  "instruction; a CR3 write, WRMSR or XSAVE as one although "
                  "each costs tens to hundreds of cycles on hardware (see the "
                  "class counts below).\n")
    elif accel == "tcg":
        md.append("Plain TCG: emulated time, mostly QEMU's own overhead.  Use "
                  "ratios only.\n")

    floors = [pick(rows, transport=t) for t in FLOORS]
    if any(floors):
        md.append("### Floors\n")
        md.append(f"| floor | p50 {u()} | p99 {u()} | what |")
        md.append("|---|---:|---:|---|")
        what = {"null-syscall": "getppid()", "null-ioctl": "HOP_IOC_NOP",
                "mm-switch": "HOP_IOC_SWITCH_PROBE: into the service's mm and back"}
        for t, r in zip(FLOORS, floors):
            if r:
                md.append(f"| {t} | {us(r['p50_ns'])} | {us(r['p99_ns'])} | {what[t]} |")
        md.append("")

    for placement in ("same", "cross"):
        pays = payloads_of([r for r in rows if r.get("condition", "") == ""],
                           placement=placement, clients=1)
        hop = {p: pick(rows, transport="hop", payload=p, placement=placement,
                       clients=1, condition="") for p in pays}
        have = [t for t in TRANSPORTS if any(
            pick(rows, transport=t, payload=p, placement=placement, clients=1,
                 condition="") for p in pays)]
        if not have:
            continue
        md.append(f"### Latency, 1 client, {placement} CPU\n")
        md.append(f"p50 / p99 / p99.9 in {u()}, and p50 as a multiple of hop's p50 "
                  "at the same payload.\n")
        md.append("| transport | " + " | ".join(size(p) for p in pays) + " |")
        md.append("|---|" + "---:|" * len(pays))
        spreads = []
        for t in have:
            cells, sp = [], []
            for p in pays:
                r = pick(rows, transport=t, payload=p, placement=placement,
                         clients=1, condition="")
                if not r:
                    cells.append("–")
                    sp.append("–")
                    continue
                c = f"{us(r['p50_ns'])} / {us(r['p99_ns'])} / {us(r['p999_ns'])}"
                h = hop.get(p)
                if h and t != "hop" and h["p50_ns"]:
                    c += f" (x{r['p50_ns'] / h['p50_ns']:.2f})"
                cells.append(c)
                reps = r.get("p50_ns_reps") or []
                sp.append(f"{us(min(reps))}–{us(max(reps))}" if reps else "–")
            md.append(f"| {t} | " + " | ".join(cells) + " |")
            spreads.append(f"| {t} | " + " | ".join(sp) + " |")
        md.append("")
        nreps = next((r.get("reps") for r in rows if r.get("reps")), "?")
        md.append(f"Spread between repetitions: lowest–highest p50 of the {nreps} "
                  f"repetitions (`p50_ns_reps`), {u()}.\n")
        md.append("| transport | " + " | ".join(size(p) for p in pays) + " |")
        md.append("|---|" + "---:|" * len(pays))
        md += spreads
        md.append("")
        png = f"{stem}-latency-{placement}.png"
        if plot_latency([r for r in rows if r.get("condition", "") == ""],
                        placement, os.path.join(outdir, png), tmp):
            md.append(f"![latency {placement}]({png})\n")

    report_classes(rows, md)
    report_claims.report(path, rows, outdir, tmp, md, UNIT, us,
                         accel_title(rows), gnuplot, TERM)

    for placement in ("spread", "same"):
        have = [t for t in TRANSPORTS if any(
            pick(rows, transport=t, payload=64, placement=placement, clients=n,
                 condition="") for n in (2, 4, 8))]
        if not have:
            continue
        ns = (1, 2, 4, 8)
        md.append(f"### Throughput, 64 B, N clients, placement {placement}\n")
        md.append(f"kops/s (all clients together); p99 {u()} in brackets.  "
                  + ("spread: client i on CPU i % ncpus, server not pinned."
                     if placement == "spread" else
                     "same: every client and the server on CPU 0.") + "\n")
        md.append("| transport | " + " | ".join(f"{n} cl" for n in ns) + " |")
        md.append("|---|" + "---:|" * len(ns))
        series = {}
        for t in have:
            cells, pts = [], []
            for n in ns:
                r = pick(rows, transport=t, payload=64, placement=placement,
                         clients=n, condition="")
                if r:
                    cells.append(f"{kops(r['ops_per_s'])} [{us(r['p99_ns'])}]")
                    lo, hi = spread(r, "ops_per_s_reps", 1)
                    pts.append((n, r["ops_per_s"], lo, hi))
                else:
                    cells.append("–")
            series[t] = pts
            md.append(f"| {t} | " + " | ".join(cells) + " |")
        md.append("")
        png = f"{stem}-throughput-{placement}.png"
        if plot_lines(series, f"throughput, 64 B, placement {placement}; whiskers: "
                      f"min-max of the repetitions\\n{accel_title(rows)}",
                      "round trips per second",
                      os.path.join(outdir, png), tmp, f"tp-{placement}"):
            md.append(f"![throughput {placement}]({png})\n")

    slot_rows = sorted([r for r in rows if r.get("condition") == "slots=2"
                        and not r.get("skipped") and "error" not in r],
                       key=lambda r: r["clients"])
    if slot_rows:
        md.append("### hop with 2 slots against more clients (spread)\n")
        md.append(f"| clients | kops/s | p50 {u()} | p99 {u()} | p99.9 {u()} |")
        md.append("|---:|---:|---:|---:|---:|")
        for r in slot_rows:
            md.append(f"| {r['clients']} | {kops(r['ops_per_s'])} | {us(r['p50_ns'])} | "
                      f"{us(r['p99_ns'])} | {us(r['p999_ns'])} |")
        md.append("")
        png = f"{stem}-slots.png"
        dat = os.path.join(tmp, "slots.dat")
        with open(dat, "w") as f:
            for r in slot_rows:
                olo, ohi = spread(r, "ops_per_s_reps", 1)
                plo, phi = spread(r)
                f.write(f"{r['clients']} {r['ops_per_s']} {r['p50_ns'] / UNIT['div']} "
                        f"{r['p99_ns'] / UNIT['div']} {olo} {ohi} {plo} {phi}\n")
        gnuplot(TERM + f"""set output '{os.path.join(outdir, png)}'
set title "hop, 2 slots, 64 B, clients beyond the slots; whiskers: min-max of the repetitions\\n{accel_title(rows)}"
set xlabel 'client threads'
set ylabel 'round trips per second'
set y2label '{u()} (log scale)'
set yrange [0:*]
set logscale y2
set ytics nomirror
set y2tics
set xtics (1,2,3,4,6,8)
set grid
set key outside right top
plot '{dat}' using 1:2:5:6 with yerrorlines lw 2 title 'ops/s', \\
     '' using 1:3:7:8 axes x1y2 with yerrorlines lw 2 dt 2 title 'p50 {u()}', \\
     '' using 1:4 axes x1y2 with linespoints lw 2 dt 3 title 'p99 {u()}'
""")
        md.append(f"![slots]({png})\n")

    stress = [(t, pl) for pl in ("same", "cross") for t in ("hop", "futex", "pipe")]
    if any(pick(rows, transport=t, placement=pl, condition="stress-ng --cpu 2")
           for t, pl in stress):
        md.append("### p99 while both CPUs run `stress-ng --cpu 2`, 64 B\n")
        md.append("| transport | placement | p50 idle | p99 idle | p50 hogs | p99 hogs | p99 hogs / idle |")
        md.append("|---|---|---:|---:|---:|---:|---:|")
        dat = os.path.join(tmp, "stress.dat")
        nbars = 0
        with open(dat, "w") as f:
            for t, pl in stress:
                a = pick(rows, transport=t, placement=pl, payload=64, condition="idle")
                b = pick(rows, transport=t, placement=pl, payload=64,
                         condition="stress-ng --cpu 2")
                if not (a or b):
                    continue
                ratio = f"x{b['p99_ns'] / a['p99_ns']:.1f}" if a and b else "–"
                md.append(f"| {t} | {pl} | {us(a and a['p50_ns'])} | {us(a and a['p99_ns'])} | "
                          f"{us(b and b['p50_ns'])} | {us(b and b['p99_ns'])} | {ratio} |")
                nbars += 1
                f.write(f'"{t} {pl}" {a["p99_ns"] / UNIT["div"] if a else "NaN"} '
                        f'{b["p99_ns"] / UNIT["div"] if b else "NaN"}\n')
        md.append("")
        png = f"{stem}-stress.png"
        gnuplot(TERM + f"""set output '{os.path.join(outdir, png)}'
set title "p99, 64 B, idle vs stress-ng --cpu 2 (p99: no per-repetition record, no whiskers)\\n{accel_title(rows)}"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set logscale y
set ylabel 'p99 round trip ({u()}, log scale)'
set xrange [-0.6:{nbars - 0.4}]
set key outside right top
set grid ytics
plot '{dat}' using 2:xtic(1) title 'idle', '' using 3 title 'CPU hogs'
""")
        md.append(f"![stress]({png})\n")

    mem = [r for r in rows if r.get("mode") == "memory" and not r.get("skipped")]
    if mem:
        md.append("### Idle server memory\n")
        md.append("User: VmRSS and page tables of the server process.  Kernel "
                  "estimate: threads x THREAD_SIZE plus threads x task_struct "
                  "(slabinfo).  Measured: change of /proc/meminfo KernelStack "
                  "and SUnreclaim while the server came up (noisy, and it "
                  "includes hop.ko's own objects).\n")
        md.append("| server | threads | VmRSS KiB | VmPTE KiB | kstack est KiB | task_struct est KiB | total est KiB | KernelStack delta KiB | SUnreclaim delta KiB |")
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in mem:
            name = (f"hop, {r['slots']} slots" if r["transport"] == "hop"
                    else f"{r['transport']}, {r['threads']} threads")
            md.append(f"| {name} | {r['threads_in_process']} | {r['vm_rss_kb']} | "
                      f"{r['vm_pte_kb']} | {r['kernel_stack_est_kb']} | "
                      f"{r['task_struct_est_kb']} | {r['total_est_kb']} | "
                      f"{r['kernel_stack_delta_kb']} | {r['sunreclaim_delta_kb']} |")
        md.append("")

    irq = [r for r in rows if str(r.get("transport", "")).startswith("irq-")]
    if irq:
        md.append("### Interrupt path: a spawned thread against an existing one\n")
        md.append("Measured by hop.ko for each completion (hopbench --irq, the two "
                  "modes alternating within one run); device: "
                  f"{irq[0].get('device', '?')}.  {UNIT['long']}, median of "
                  f"{irq[0].get('reps')} repetitions of {irq[0].get('iters')} calls.\n")
        md.append("| delivery | irq to thread p50 | irq to thread p99 | irq to completion p50 | irq to completion p99 |")
        md.append("|---|---:|---:|---:|---:|")
        for r in irq:
            md.append(f"| {r['transport'][4:]} | {us(r['irq_to_thread_p50_ns'])} | "
                      f"{us(r['irq_to_thread_p99_ns'])} | {us(r['p50_ns'])} | {us(r['p99_ns'])} |")
        md.append("")

    perf = [r for r in rows if r.get("transport") == "perf-sched-pipe"]
    if perf:
        md.append("### Outside reference: `perf bench sched pipe`\n")
        pipe = pick(rows, transport="pipe", payload=64, placement="same", clients=1,
                    condition="")
        for r in perf:
            line = (f"- {r['placement']}: {us(r['mean_ns'])} {u()} per round trip "
                    f"(mean of {r['iters']}; {r.get('tool')})")
            if pipe and r["placement"] == "same":
                line += (f"; hopbench pipe 64 B same: p50 {us(pipe['p50_ns'])} {u()}, "
                         f"mean {us(pipe.get('mean_ns'))} {u()}")
            md.append(line)
        md.append("")

    # The claims section lists its own.
    bad = [r for r in rows if (r.get("skipped") or "error" in r)
           and r.get("condition") != "claims"]
    if bad:
        md.append("### Skipped or failed\n")
        for r in bad:
            if "error" in r:
                md.append(f"- error: {r['error']}: `{r.get('args')}`")
            else:
                what = ("memory" if r.get("mode") == "memory" else
                        f"{r.get('payload')} B {r.get('placement')} "
                        f"{r.get('clients')} cl")
                md.append(f"- skipped: {r.get('transport')} {what}: {r.get('reason')}")
        md.append("")


def report_pti(runs, outdir, tmp, md):
    """runs: [(path, rows)] from run.sh's pti mode, one per kernel cmdline."""
    md.append("## hop and pipe with and without PTI and PCID\n")
    md.append("One guest boot per line (bench/run-claims.sh); ratios are within a "
              f"line.  p50 in {UNIT['long']}.\n")
    md.append("| kernel | cmdline | PTI | PCID | null-syscall | null-ioctl | mm-switch | hop 64 B | pipe 64 B | futex 64 B | pipe / hop | futex / hop |")
    md.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    set_unit([r for _, rows in runs for r in rows])
    for path, rows in runs:
        e = env_of(rows)
        get = {t: pick(rows, transport=t) for t in FLOORS + ["hop", "pipe", "futex"]}
        cond = next((r.get("condition", "") for r in rows if r.get("condition")), "")
        cond = cond.replace("cmdline:", "").strip() or "(default)"

        def p50(t):
            return us(get[t]["p50_ns"]) if get[t] else "–"

        def ratio(t):
            if get[t] and get["hop"]:
                return f"x{get[t]['p50_ns'] / get['hop']['p50_ns']:.2f}"
            return "–"
        md.append(f"| {e.get('kernel')} | {cond} | {e.get('pti')} | {e.get('pcid')} | "
                  f"{p50('null-syscall')} | {p50('null-ioctl')} | {p50('mm-switch')} | "
                  f"{p50('hop')} | {p50('pipe')} | {p50('futex')} | {ratio('pipe')} | "
                  f"{ratio('futex')} |")
    md.append("")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--outdir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "results"))
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    md = ["# hopbench results\n",
          "Generated by bench/report.py from " +
          ", ".join(f"`{os.path.basename(f)}`" for f in a.files) + ".  "
          "Each section says how its guest ran: under `-icount` (accel "
          "`icount`) values are instruction counts, under plain TCG emulated "
          "nanoseconds whose absolute values mean nothing and vary several-fold "
          "between boots (read ratios within one section), under KVM real "
          "time.\n"]
    pti_runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in a.files:
            rows = load(path)
            if not rows:
                continue
            if "-pti" in os.path.basename(path):
                pti_runs.append((path, rows))
            else:
                report_file(path, rows, a.outdir, tmp, md)
        if pti_runs:
            report_pti(pti_runs, a.outdir, tmp, md)
    out = os.path.join(a.outdir, "table.md")
    with open(out, "w") as f:
        f.write("\n".join(md) + "\n")
    print(out)


if __name__ == "__main__":
    main()
