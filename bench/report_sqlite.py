#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench/report_sqlite.py: tables and plots of hopbench --workload sqlite runs.

    bench/report_sqlite.py [-o DIR] RESULTS-sqlite.jsonl...

Writes DIR/sqlite.md (default bench/results/) with one section per input
file (one guest boot each: ratios are only taken inside a file), and per
file two PNGs named after it: the mean and p99 of one client's calls per
operation and transport, and ops/s against client threads.

The issue's target is checked on every file: SQLite point read, 1 client,
hop's mean at most 0.8 times the UNIX socket's.  The plotting helpers and
the units (instructions under -icount, emulated ns under TCG) are
bench/report.py's.
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402  (bench/report.py)

TRANSPORTS = ["hop", "unix", "futex"]
OPS = ["read", "update"]
TARGET = 0.8


def pick(rows, **kw):
    for r in rows:
        if r.get("workload") == "sqlite" and not r.get("skipped") and "error" not in r \
                and all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def val(ns):
    return report.us(ns)


def plot_one_client(rows, png, tmp):
    dat = os.path.join(tmp, "sqlite-1.dat")
    top = 0
    with open(dat, "w") as f:
        for op in OPS:
            cells = []
            for t in TRANSPORTS:
                r = pick(rows, op=op, transport=t, clients=1)
                if not r:
                    cells.append("NaN NaN NaN NaN")
                    continue
                reps = r.get("mean_ns_reps") or [r["mean_ns"]]
                d = report.UNIT["div"]
                top = max(top, r["p99_ns"] / d, max(reps) / d)
                cells.append(f"{r['mean_ns'] / d:.3f} {min(reps) / d:.3f} "
                             f"{max(reps) / d:.3f} {r['p99_ns'] / d:.3f}")
            f.write(f'"{op}" ' + " ".join(cells) + "\n")
    if not top:
        return False
    cols = []
    for i, t in enumerate(TRANSPORTS):
        src = f"'{dat}'" if i == 0 else "''"
        cols.append(f"{src} using {4 * i + 2}:{4 * i + 3}:{4 * i + 4}"
                    + (":xtic(1)" if i == 0 else "") + f" title '{t} mean'")
    # p99 as points over the bars: x of bar i in cluster c is c + (i - 1) * width.
    w = 1.0 / (len(TRANSPORTS) + 1)
    pts = [f"'{dat}' using ($0 + {(i - (len(TRANSPORTS) - 1) / 2) * w:.4f}):{4 * i + 5} "
           f"with points pt 7 ps 1.2 lc rgb 'black' title '{'p99' if i == 0 else ''}'"
           for i in range(len(TRANSPORTS))]
    reps = next((r.get("reps") for r in rows if r.get("reps")), "?")
    rowsn = next((r.get("rows") for r in rows if r.get("rows")), "?")
    zipf = next((r.get("zipf_s") for r in rows if r.get("zipf_s")), "?")
    report.gnuplot(report.TERM + f"""set output '{png}'
set title "SQLite point read/update, {rowsn} rows, Zipf s={zipf}, 1 client, same CPU\\nbars: mean (whiskers: min-max of {reps} repetitions), dots: p99\\n{report.accel_title(rows)}"
set xrange [-0.6:{len(OPS) - 0.4}]
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:{top * 1.15}]
set ylabel 'per call ({report.u()})'
set key outside right top
set grid ytics
plot {', '.join(cols)}, {', '.join(pts)}
""")
    return True


def plot_throughput(rows, png, tmp):
    series = {}
    for op in OPS:
        for t in TRANSPORTS:
            pts = []
            for r in sorted((r for r in rows if r.get("workload") == "sqlite"
                             and r.get("op") == op and r.get("transport") == t
                             and not r.get("skipped") and "error" not in r),
                            key=lambda r: r["clients"]):
                reps = r.get("ops_per_s_reps") or [r["ops_per_s"]]
                pts.append((r["clients"], r["ops_per_s"], min(reps), max(reps)))
            series[f"{t} {op}"] = pts
    return report.plot_lines(
        series, f"SQLite calls per second, N clients and the server on one CPU\\n"
        f"{report.accel_title(rows)}",
        f"calls/s ({'per 10^9 instructions' if report.set_unit(rows) == 'icount' else 'guest clock'})",
        png, tmp, "sqlite-tput")


def report_file(path, rows, outdir, tmp, md):
    report.set_unit(rows)
    e = report.env_of([r for r in rows if r.get("workload") == "sqlite"])
    stem = os.path.splitext(os.path.basename(path))[0]
    md.append(f"## {stem}\n")
    md.append(f"`{os.path.basename(path)}`: kernel {e.get('kernel')}, accel "
              f"`{e.get('accel')}`, commit {e.get('commit')}, date {e.get('date')}; "
              f"values in {report.UNIT['long']}.\n")
    first = pick(rows)
    if first:
        md.append(f"{first['rows']} rows, Zipf exponent {first['zipf_s']} (the hottest row "
                  f"takes about {100 * first['hot_row_share']:.1f}% of the calls), SQLite "
                  f"{first.get('sqlite')}, request {first['payload']} bytes, reply "
                  f"{first['reply']} bytes, everything on CPU 0; {first['reps']} "
                  "repetitions, the median of each statistic over them.\n")
    for op in OPS:
        md.append(f"### {op}\n")
        md.append(f"| clients | transport | p50 | p99 | mean | k calls/s | mean / unix mean |")
        md.append("|---|---|---|---|---|---|---|")
        for n in sorted({r["clients"] for r in rows if r.get("op") == op and "clients" in r}):
            base = pick(rows, op=op, transport="unix", clients=n)
            for t in TRANSPORTS:
                r = pick(rows, op=op, transport=t, clients=n)
                if not r:
                    bad = next((x for x in rows if x.get("error") and f"--transport {t}" in
                                x.get("args", "") and f"--op {op}" in x.get("args", "")
                                and f"--clients {n} " in x.get("args", "") + " "), None)
                    md.append(f"| {n} | {t} | {'failed: ' + bad['error'] if bad else 'not run'} "
                              "| | | | |")
                    continue
                ratio = f"{r['mean_ns'] / base['mean_ns']:.2f}" if base else "-"
                md.append(f"| {n} | {t} | {val(r['p50_ns'])} | {val(r['p99_ns'])} | "
                          f"{val(r['mean_ns'])} | {report.kops(r['ops_per_s'])} | {ratio} |")
        md.append("")
    hop, unix = (pick(rows, op="read", transport=t, clients=1) for t in ("hop", "unix"))
    if hop and unix:
        ratio = hop["mean_ns"] / unix["mean_ns"]
        md.append(f"**Target** (point read, 1 client, hop mean <= {TARGET} x unix mean): "
                  f"{val(hop['mean_ns'])} / {val(unix['mean_ns'])} = **{ratio:.2f}x**, "
                  f"{'met' if ratio <= TARGET else 'missed'}.\n")
    for name, fn in (("latency", plot_one_client), ("throughput", plot_throughput)):
        png = f"{stem}-{name}.png"
        if fn(rows, os.path.join(outdir, png), tmp):
            md.append(f"![{stem} {name}]({png})\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--outdir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "results"))
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    md = ["<!-- SPDX-License-Identifier: GPL-2.0 -->",
          "# hopbench --workload sqlite", "",
          "Written by bench/report_sqlite.py from the files named below; see "
          "bench/w_sqlite.c for the method and docs/benchmarks.md for the discussion.", ""]
    with tempfile.TemporaryDirectory() as tmp:
        for path in a.files:
            report_file(path, report.load(path), a.outdir, tmp, md)
    with open(os.path.join(a.outdir, "sqlite.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print(f"report_sqlite: {os.path.join(a.outdir, 'sqlite.md')}")


if __name__ == "__main__":
    main()
