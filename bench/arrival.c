// SPDX-License-Identifier: GPL-2.0
/*
 * Open-loop arrivals (hopbench --arrival periodic:US | poisson:US).
 *
 * A closed loop (the default) calls again the moment a reply is in, so the
 * client never sleeps and is itself a CPU hog: it measures service time
 * under back-to-back load, not a request arriving at an idle system.  Open
 * loop fixes every arrival time in advance; the client sleeps until each one
 * (clock_nanosleep, TIMER_ABSTIME) and a sample is arrival to reply.  A
 * request whose arrival time passed while the previous one was in flight is
 * still counted from its own arrival, so a slow reply is charged to every
 * request it delayed (no coordinated omission).
 *
 * Poisson gaps come from a fixed-seed generator per client index, so every
 * transport and every run sees the same sequence of arrivals.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hopbench.h"

/* The longest mean gap accepted: one minute. */
#define ARRIVAL_MAX_US 60000000L

int bench_arrival_parse(const char *s, struct bench_arrival *a)
{
	const char *colon = strchr(s, ':');
	char *end;
	long us;

	if (!strcmp(s, "closed")) {
		a->kind = ARRIVAL_CLOSED;
		a->mean_us = 0;
		return 0;
	}
	if (!colon)
		return -EINVAL;
	if ((size_t)(colon - s) == strlen("periodic") &&
	    !strncmp(s, "periodic", colon - s))
		a->kind = ARRIVAL_PERIODIC;
	else if ((size_t)(colon - s) == strlen("poisson") &&
		 !strncmp(s, "poisson", colon - s))
		a->kind = ARRIVAL_POISSON;
	else
		return -EINVAL;
	errno = 0;
	us = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || us < 1 || us > ARRIVAL_MAX_US)
		return -EINVAL;
	a->mean_us = us;
	return 0;
}

void bench_arrival_name(const struct bench_arrival *a, char *buf, size_t len)
{
	switch (a->kind) {
	case ARRIVAL_PERIODIC:
		snprintf(buf, len, "periodic:%ld", a->mean_us);
		break;
	case ARRIVAL_POISSON:
		snprintf(buf, len, "poisson:%ld", a->mean_us);
		break;
	case ARRIVAL_CLOSED:
	default:
		snprintf(buf, len, "closed");
	}
}

void bench_arrivals_init(struct bench_arrivals *s, const struct bench_arrival *a,
			 int client_idx)
{
	s->a = a;
	/* Any odd non-zero seed; fixed so that runs are comparable. */
	s->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(client_idx + 1) | 1;
}

/* xorshift64*: good enough for exponential gaps, and reproducible. */
static uint64_t next_u64(struct bench_arrivals *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dull;
}

uint64_t bench_arrivals_next_gap(struct bench_arrivals *s)
{
	double mean_ns = s->a->mean_us * 1000.0;
	double u;

	switch (s->a->kind) {
	case ARRIVAL_PERIODIC:
		return (uint64_t)mean_ns;
	case ARRIVAL_POISSON:
		/* u in (0, 1]: never log(0). */
		u = ((next_u64(s) >> 11) + 1) * (1.0 / 9007199254740992.0);
		return (uint64_t)(-log(u) * mean_ns);
	case ARRIVAL_CLOSED:
	default:
		return 0;
	}
}
