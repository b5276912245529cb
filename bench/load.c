// SPDX-License-Identifier: GPL-2.0
/*
 * CPU load for hopbench --hogs N: N processes spinning in user mode, pinned
 * to the client's CPU and SCHED_OTHER, for the whole run (started before
 * the server, stopped after it).  hopbench --hog runs the same loop alone,
 * so that bench/run.sh loads rt-tests' pmqtest, ptsematest and cyclictest
 * with exactly the same hogs.
 *
 * A hog makes no system calls: it competes for the CPU and nothing else, so
 * a latency it adds is the scheduler's doing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hopbench.h"

void bench_hog_loop(void)
{
	struct sched_param p = { .sched_priority = 0 };
	volatile unsigned long spin = 0;

	/* Even when started from a real-time thread. */
	sched_setscheduler(0, SCHED_OTHER, &p);
	for (;;)
		spin++;
}

int bench_hogs_start(struct bench_hogs *h, int n, int cpu)
{
	h->n = 0;
	h->pids = NULL;
	if (n == 0)
		return 0;
	h->pids = calloc(n, sizeof(*h->pids));
	if (!h->pids)
		return -ENOMEM;
	fflush(NULL);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			int err = -errno;

			bench_hogs_stop(h);
			return err;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (bench_pin(cpu))
				_exit(4);
			bench_hog_loop();
		}
		h->pids[h->n++] = pid;
	}
	return 0;
}

void bench_hogs_stop(struct bench_hogs *h)
{
	for (int i = 0; i < h->n; i++)
		bench_kill_server(h->pids[i]);
	free(h->pids);
	h->pids = NULL;
	h->n = 0;
}
