#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench/rtref.py: one rt-tests --json result as a hopbench-style JSON line.

    bench/rtref.py TOOL JSON HOGS SCHED PERIOD_US LOOPS

TOOL is pmqtest, ptsematest or cyclictest (Debian's rt-tests), run by
bench/run.sh claims with the same CPU, hogs and policy as the hopbench
cells beside it.  What each measures, in its own words (man pages):
pmqtest, the latency between mq_send() in one thread and mq_receive()
returning in the other; ptsematest, between pthread_mutex_unlock() and
pthread_mutex_lock() returning in the other thread; cyclictest, how late a
thread wakes from clock_nanosleep() (the guest's own wake-up latency, which
every open-loop hopbench sample includes once).  They report whole
microseconds; the line gives them in ns (x1000) like every other line, so
under -icount they are thousands of instructions.  cyclictest's histogram
(-h, 1 us buckets) gives p50/p99/p99.9; pmqtest and ptsematest report only
min, average and max.
"""
import json
import os
import platform
import subprocess
import sys
import time


def pct(hist, p):
    """Nearest-rank percentile of a {us: count} histogram, in us."""
    n = sum(hist.values())
    if not n:
        return None
    k = max(1, int(p / 100.0 * n + 0.999999))
    seen = 0
    for us in sorted(hist):
        seen += hist[us]
        if seen >= k:
            return us
    return max(hist)


def main():
    tool, path, hogs, sched, period, loops = sys.argv[1:7]
    with open(path) as f:
        d = json.load(f)
    th = d["thread"]["0"]
    row = {"transport": tool, "tool": "rt-tests " + d.get("rt_test_version:", "?"),
           "placement": "same", "clients": 1, "reps": 1, "iters": int(loops),
           "condition": "claims", "arrival": f"periodic:{period}",
           "hogs": int(hogs), "client_sched": sched,
           # Both threads of a pair run at the one priority given (-p).
           "server_sched": sched if tool != "cyclictest" else "",
           "cmdline": d.get("cmdline:", "")}
    if tool == "cyclictest":
        hist = {int(k): v for k, v in th.get("histogram", {}).items()}
        row["min_ns"] = th["min"] * 1000
        row["mean_ns"] = round(th["avg"] * 1000)
        row["max_ns"] = th["max"] * 1000
        row["p50_ns"] = pct(hist, 50) * 1000 if hist else None
        row["p99_ns"] = pct(hist, 99) * 1000 if hist else None
        row["p999_ns"] = pct(hist, 99.9) * 1000 if hist else None
        row["hist"] = [[us * 1000, c] for us, c in sorted(hist.items())]
        row["samples"] = th.get("cycles", sum(hist.values()))
    else:
        rx = th["receiver"]
        row["min_ns"] = rx["min"] * 1000
        row["mean_ns"] = round(rx["avg"] * 1000)
        row["max_ns"] = rx["max"] * 1000
        row["samples"] = th["sender"].get("samples")
    row["kernel"] = platform.release()
    row["accel"] = os.environ.get("HOP_ACCEL") or "host"
    row["commit"] = os.environ.get("HOP_COMMIT") or "unknown"
    row["date"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    try:
        with open("/proc/sys/kernel/sched_rt_runtime_us") as f:
            row["rt_runtime_us"] = int(f.read())
    except OSError:
        pass
    print(json.dumps(row, separators=(",", ":")))


if __name__ == "__main__":
    main()
