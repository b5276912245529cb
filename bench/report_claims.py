# SPDX-License-Identifier: GPL-2.0
"""bench/report_claims.py: the claims section of bench/report.py (bench/run.sh claims).

Open-loop cells (periodic arrivals, arrival to reply), idle and with CPU
hogs, client and server SCHED_OTHER or SCHED_FIFO, all on CPU 0; rt-tests'
pmqtest, ptsematest and cyclictest beside them.  Writes the tables, the
verdict on the two targets of issue 16, and two plots: p50/p99 per
condition, and the latency histograms hopbench records on every line.
"""
import os

# The peers drawn in the plots (all measured ones are in the tables).
PLOTTED = ["hop", "futex", "pipe"]
CLIENTS = ["other", "fifo:80"]
SERVERS = ["other", "fifo:80"]


def claims_rows(rows):
    return [r for r in rows if r.get("condition") == "claims"]


def get(rows, t, hogs, cs, ss):
    for r in rows:
        if (r.get("transport") == t and r.get("hogs") == hogs and
                r.get("client_sched") == cs and r.get("server_sched") == ss and
                not r.get("skipped") and "error" not in r):
            return r
    return None


def label(t, ss):
    return t if t == "hop" else f"{t}, server {ss}"


def verdicts(rows, fmt):
    """The two targets of issue 16, each with the numbers that decide it."""
    out = []
    hop = get(rows, "hop", 1, "fifo:80", "other")
    if hop:
        parts, ok = [], True
        for t in ("futex", "pipe"):
            o = get(rows, t, 1, "fifo:80", "other")
            f = get(rows, t, 1, "fifo:80", "fifo:80")
            if not o or not f:
                parts.append(f"{t}: not measured")
                ok = False
                continue
            a = hop["p99_ns"] <= o["p99_ns"] / 10
            b = hop["p99_ns"] <= f["p99_ns"]
            ok = ok and a and b
            parts.append(f"{t} p99 {fmt(o['p99_ns'])} with a SCHED_OTHER server "
                         f"(hop x{hop['p99_ns'] / o['p99_ns']:.3f}: "
                         f"{'met' if a else 'missed'} <= 1/10), "
                         f"{fmt(f['p99_ns'])} with a FIFO server "
                         f"(hop x{hop['p99_ns'] / f['p99_ns']:.2f}: "
                         f"{'met' if b else 'missed'} <= 1)")
        out.append(f"- **FIFO client, 1 hog, periodic**: hop p99 {fmt(hop['p99_ns'])}; "
                   + "; ".join(parts) + f".  **{'MET' if ok else 'MISSED'}**")
    for cs in CLIENTS:
        h = get(rows, "hop", 0, cs, "other")
        if h:
            r = h["p99_ns"] / h["p50_ns"]
            out.append(f"- **Idle, periodic, client {cs}**: hop p50 {fmt(h['p50_ns'])}, "
                       f"p99 {fmt(h['p99_ns'])}, p99/p50 = {r:.2f}.  "
                       f"**{'MET' if r <= 1.5 else 'MISSED'}** (target <= 1.5)")
    return out


def report(path, rows, outdir, tmp, md, unit, fmt, title, gnuplot, term):
    rows = claims_rows(rows)
    if not rows:
        return
    stem = os.path.splitext(os.path.basename(path))[0]
    u = unit["short"]
    div = unit["div"]
    e = next((r for r in rows if r.get("arrival")), {})
    hb = [r for r in rows if "p50_ns_reps" in r]
    reps = hb[0]["reps"] if hb else "?"
    iters = hb[0]["iters"] if hb else "?"
    md.append("### Soft real-time: open loop, CPU hogs, scheduling policy\n")
    md.append(f"bench/run.sh claims: 64 B requests arriving `{e.get('arrival')}` "
              "(one every that many us, absolute clock_nanosleep), each timed "
              "from its arrival to its reply, so a request delayed by the one "
              "before is charged from its own arrival.  Client, server, "
              "rt-tests threads and hogs all pinned to CPU 0; a hog is a "
              "SCHED_OTHER process spinning in user mode (hopbench --hog).  "
              "FIFO is SCHED_FIFO priority 80.  hop has no server thread: its "
              "handler runs on the client's thread, so its server policy "
              "changes nothing.  `sched_rt_runtime_us` = "
              f"{e.get('rt_runtime_us')} (the default).  {reps} repetitions "
              f"of {iters} arrivals; p50/p99/p99.9 are medians over the "
              "repetitions; `queued`: arrivals that found the previous call "
              f"still running.  Values in {unit['long']}.\n")
    if e.get("accel") == "icount":
        md.append("Under `-icount` the idle cells repeat from boot to boot "
                  "within about 1 %; the cells with a hog do not: which "
                  "arrivals land behind the hog depends on where its time "
                  "slice stands, which boot-time I/O waits shift.  Read the "
                  "histograms and p99.9 beside p99.\n")
    elif e.get("accel") == "tcg":
        md.append("Plain TCG: the guest clock is host time, so host load "
                  "(other guests on the same cores) lands in every sample; "
                  "compare with cyclictest's own figures below before "
                  "reading anything into a difference.\n")
    md.append("**Targets (issue 16)**\n")
    md += verdicts(rows, lambda v: f"{fmt(v)} {u}")
    md.append("")
    md.append(f"| hogs | client | transport | server | p50 {u} | p99 {u} | p99.9 {u} | "
              f"mean {u} | queued | p99 / hop p99 |")
    md.append("|---:|---|---|---|---:|---:|---:|---:|---:|---:|")
    peers = []
    for r in rows:
        if r.get("transport") not in peers and "p50_ns_reps" in r:
            peers.append(r["transport"])
    for hogs in (0, 1):
        for cs in CLIENTS:
            hop = get(rows, "hop", hogs, cs, "other")
            for t in peers:
                for ss in SERVERS:
                    r = get(rows, t, hogs, cs, ss)
                    if not r:
                        continue
                    ratio = (f"x{r['p99_ns'] / hop['p99_ns']:.1f}"
                             if hop and t != "hop" else "")
                    md.append(f"| {hogs} | {cs} | {t} | {ss} | {fmt(r['p50_ns'])} | "
                              f"{fmt(r['p99_ns'])} | {fmt(r['p999_ns'])} | "
                              f"{fmt(r['mean_ns'])} | {r.get('queued', '–')} | {ratio} |")
    md.append("")
    skipped = sorted({f"{r['transport']}: {r.get('reason')}" for r in rows if r.get("skipped")})
    for s in skipped:
        md.append(f"- skipped: {s}")
    if skipped:
        md.append("")

    rt = [r for r in rows if str(r.get("tool", "")).startswith("rt-tests")]
    if rt:
        md.append(f"Outside references, same boot, same CPU, hogs and priorities "
                  f"({rt[0]['tool']}): pmqtest, mq_send() to mq_receive() "
                  "returning in the other thread; ptsematest, "
                  "pthread_mutex_unlock() to pthread_mutex_lock() returning in "
                  "the other thread (both one-way, both threads at the given "
                  "policy); cyclictest, how late a thread wakes from "
                  "clock_nanosleep(), which every open-loop sample above "
                  "contains once.  They count whole us"
                  + ("" if div == 1000 else f", turned into {u} here") + "; pmqtest and "
                  "ptsematest give no percentiles.\n")
        md.append(f"| hogs | policy | tool | min {u} | mean {u} | p50 {u} | p99 {u} | max {u} |")
        md.append("|---:|---|---|---:|---:|---:|---:|---:|")
        for r in rt:
            md.append(f"| {r['hogs']} | {r['client_sched']} | {r['transport']} | "
                      f"{fmt(r.get('min_ns'))} | {fmt(r.get('mean_ns'))} | "
                      f"{fmt(r.get('p50_ns'))} | {fmt(r.get('p99_ns'))} | "
                      f"{fmt(r.get('max_ns'))} |")
        md.append("")
    for r in rows:
        if "error" in r:
            md.append(f"- error: {r['error']}: `{r.get('args')}`")

    # p99 and p99.9 per condition, hop and the peers with both servers.
    series = [("hop", "other")] + [(t, ss) for t in PLOTTED[1:] for ss in SERVERS]
    series = [(t, ss) for t, ss in series
              if any(get(rows, t, h, cs, ss) for h in (0, 1) for cs in CLIENTS)]
    conds = [(h, cs) for h in (0, 1) for cs in CLIENTS]
    dat = os.path.join(tmp, "claims-bars.dat")
    top, low = 1, None
    with open(dat, "w") as f:
        for h, cs in conds:
            vals = []
            for t, ss in series:
                r = get(rows, t, h, cs, ss)
                if r:
                    vals.append(f"{r['p99_ns'] / div:.3f} {r['p999_ns'] / div:.3f}")
                    top = max(top, r["p999_ns"] / div)
                    low = min(low or r["p99_ns"] / div, r["p99_ns"] / div)
                else:
                    vals.append("NaN NaN")
            name = (("idle" if h == 0 else f"{h} hog") + ", " +
                    ("FIFO" if cs != "other" else "other"))
            f.write(f'"{name}" ' + " ".join(vals) + "\n")

    def cols(off):
        return ", ".join(
            (f"'{dat}'" if i == 0 else "''") + f" using {2 * i + 2 + off}" +
            (":xtic(1)" if i == 0 else "") + f" title '{label(t, ss)}'"
            for i, (t, ss) in enumerate(series))
    png = f"{stem}-claims-p99.png"
    gnuplot(term.replace("size 1000,560", "size 1300,560") + f"""set termoption noenhanced
set output '{os.path.join(outdir, png)}'
set multiplot layout 1,2 title "arrival to reply, 64 B, periodic arrivals, everything on CPU 0, FIFO = SCHED_FIFO 80\\n{title}"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [{(low or 1) / 2}:{top * 3}]
set grid ytics
set xtics font ',9'
set key top left font ',9'
set title 'p99'
set xlabel 'load, client policy'
set ylabel '{u} (log scale)'
plot {cols(0)}
set title 'p99.9'
plot {cols(1)}
unset multiplot
""")
    md.append(f"![claims p99 and p99.9]({png})\n")

    # The histograms: fraction of the samples in each bucket (8 per octave).
    png = f"{stem}-claims-hist.png"
    script = [term.replace("size 1000,560", "size 1200,900"), "set termoption noenhanced",
              f"set output '{os.path.join(outdir, png)}'",
              "set multiplot layout 2,2 title \"latency histograms, arrival to reply "
              f"(8 buckets per octave; fraction of samples, log scale)\\n{title}\"",
              "set logscale xy", "set grid", "set key top right font ',9'",
              f"set xlabel '{u} (log scale)'", "set ylabel 'fraction of samples'",
              "set yrange [1e-4:1]"]
    allx = [b[0] / div for r in rows for b in r.get("hist", []) if b[0] > 0]
    if allx:
        script.append(f"set xrange [{min(allx) / 1.5}:{max(allx) * 1.5}]")
    for n, (h, cs) in enumerate(conds):
        parts = []
        for i, (t, ss) in enumerate(series):
            r = get(rows, t, h, cs, ss)
            if not r or not r.get("hist"):
                continue
            total = sum(c for _, c in r["hist"])
            d = os.path.join(tmp, f"claims-hist-{n}-{i}.dat")
            with open(d, "w") as f:
                prev = None
                for lo, c in r["hist"]:
                    if lo <= 0:
                        continue
                    # A blank line breaks the line over empty buckets.
                    if prev and lo > prev * 1.2:
                        f.write("\n")
                    f.write(f"{lo / div} {c / total}\n")
                    prev = lo
            parts.append(f"'{d}' using 1:2 with linespoints pt 7 ps 0.4 lw 1.5 "
                         f"title '{label(t, ss)}'")
        script.append(f"set title '{h} hog{'s' if h != 1 else ''}, client {cs}'")
        script.append("plot " + (", ".join(parts) if parts else "NaN notitle"))
    script.append("unset multiplot")
    gnuplot("\n".join(script) + "\n")
    md.append(f"![claims histograms]({png})\n")
