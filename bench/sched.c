// SPDX-License-Identifier: GPL-2.0
/*
 * Scheduling policies for the client thread and the server process
 * (hopbench --client-sched / --server-sched other | fifo:PRIO).
 *
 * The server's policy is set in the forked server process before it starts
 * its threads, so every thread it serves with inherits it.  hop has no
 * serving thread: its handler runs on the caller's thread, at the caller's
 * policy and priority, so --server-sched changes nothing for hop (the line
 * records it anyway).
 *
 * SCHED_FIFO is subject to RT throttling (sched_rt_runtime_us, default
 * 950000 of every 1000000 us): every line records the value the guest ran
 * with.  An open-loop client sleeps between arrivals and stays far below it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hopbench.h"

int bench_sched_parse(const char *s, struct bench_sched *sc)
{
	char *end;
	long prio;

	if (!strcmp(s, "other")) {
		sc->policy = SCHED_OTHER;
		sc->prio = 0;
		return 0;
	}
	if (strncmp(s, "fifo:", 5))
		return -EINVAL;
	errno = 0;
	prio = strtol(s + 5, &end, 10);
	if (errno || end == s + 5 || *end ||
	    prio < sched_get_priority_min(SCHED_FIFO) ||
	    prio > sched_get_priority_max(SCHED_FIFO))
		return -EINVAL;
	sc->policy = SCHED_FIFO;
	sc->prio = (int)prio;
	return 0;
}

void bench_sched_name(const struct bench_sched *sc, char *buf, size_t len)
{
	if (sc->policy == SCHED_FIFO)
		snprintf(buf, len, "fifo:%d", sc->prio);
	else
		snprintf(buf, len, "other");
}

/* For the calling thread only (Linux applies pid 0 to the caller). */
int bench_sched_apply(const struct bench_sched *sc)
{
	struct sched_param p = { .sched_priority = sc->prio };

	return sched_setscheduler(0, sc->policy, &p) ? -errno : 0;
}

long bench_rt_runtime_us(void)
{
	FILE *f = fopen("/proc/sys/kernel/sched_rt_runtime_us", "r");
	long v = LONG_MIN;

	if (!f)
		return v;
	if (fscanf(f, "%ld", &v) != 1)
		v = LONG_MIN;
	fclose(f);
	return v;
}
