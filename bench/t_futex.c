// SPDX-License-Identifier: GPL-2.0
/*
 * The futex transport: the payload in shared memory, FUTEX_WAIT/FUTEX_WAKE on
 * shared (not private) futex words, since server and client are two processes.
 *
 * One server thread serves N clients: each client has a slot with its own
 * state word (the client sleeps on it), and all clients ring one doorbell
 * word (the server sleeps on it).  Every round trip costs each side one wake
 * and, unless the other side was already done, one wait, the futex
 * counterpart of pipe's write and read.  Nobody spins: spinning would measure
 * the spin loop, not the kernel's wake-up path that the other transports pay.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hopbench.h"

enum { SLOT_IDLE, SLOT_REQUEST, SLOT_REPLY };

struct futex_slot {
	_Atomic uint32_t state;
	uint8_t pad[60];
	uint8_t data[];		/* request | reply */
};

struct futex_shared {
	_Atomic uint32_t doorbell;
	uint8_t pad[60];
};

struct futex_state {
	int n;
	size_t len, stride;
	struct futex_shared *sh;
	uint8_t *slots;
};

struct futex_client {
	struct futex_state *st;
	struct futex_slot *slot;
};

static struct futex_slot *slot_of(struct futex_state *st, int i)
{
	return (struct futex_slot *)(st->slots + i * st->stride);
}

static int futex_available(const struct bench_cfg *cfg, const char **why)
{
	(void)cfg;
	(void)why;
	return 0;
}

static int futex_server(void *arg, int ready_fd)
{
	struct futex_state *st = arg;

	bench_server_ready(ready_fd);
	for (;;) {
		uint32_t seen = atomic_load_explicit(&st->sh->doorbell,
						     memory_order_acquire);
		bool served = false;

		for (int i = 0; i < st->n; i++) {
			struct futex_slot *s = slot_of(st, i);

			if (atomic_load_explicit(&s->state, memory_order_acquire)
			    != SLOT_REQUEST)
				continue;
			bench_work(s->data, s->data + st->len, st->len);
			atomic_store_explicit(&s->state, SLOT_REPLY,
					      memory_order_release);
			bench_futex(&s->state, FUTEX_WAKE, 1);
			served = true;
		}
		/* A doorbell rung after 'seen' makes this return at once. */
		if (!served && bench_futex(&st->sh->doorbell, FUTEX_WAIT, seen) &&
		    errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

static int futex_start(const struct bench_cfg *cfg, struct bench_server *srv)
{
	struct futex_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->n = cfg->clients;
	st->len = cfg->payload;
	st->stride = (sizeof(struct futex_slot) + 2 * st->len + 63) &
		     ~(size_t)63;
	st->sh = bench_shared_alloc(sizeof(*st->sh));
	st->slots = bench_shared_alloc(st->stride * st->n);
	if (!st->sh || !st->slots)
		return -ENOMEM;
	srv->pid = bench_fork_server(cfg, futex_server, st);
	if (srv->pid < 0)
		return srv->pid;
	srv->priv = st;
	return 0;
}

static int futex_client_open(struct bench_server *srv, int idx, void **cl)
{
	struct futex_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->st = srv->priv;
	c->slot = slot_of(c->st, idx);
	*cl = c;
	return 0;
}

static ssize_t futex_call(void *cl, const void *req, void *resp, size_t len)
{
	struct futex_client *c = cl;
	struct futex_slot *s = c->slot;

	memcpy(s->data, req, len);
	atomic_store_explicit(&s->state, SLOT_REQUEST, memory_order_release);
	atomic_fetch_add_explicit(&c->st->sh->doorbell, 1, memory_order_release);
	bench_futex(&c->st->sh->doorbell, FUTEX_WAKE, 1);
	while (atomic_load_explicit(&s->state, memory_order_acquire) !=
	       SLOT_REPLY) {
		if (bench_futex(&s->state, FUTEX_WAIT, SLOT_REQUEST) &&
		    errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	memcpy(resp, s->data + len, len);
	atomic_store_explicit(&s->state, SLOT_IDLE, memory_order_relaxed);
	return len;
}

static void futex_client_close(void *cl)
{
	free(cl);
}

static void futex_stop(struct bench_server *srv)
{
	bench_kill_server(srv->pid);
}

const struct transport tr_futex = {
	.name = "futex",
	.what = "shared memory + FUTEX_WAIT/FUTEX_WAKE, one doorbell word",
	.available = futex_available,
	.start = futex_start,
	.client_open = futex_client_open,
	.call = futex_call,
	.client_close = futex_client_close,
	.stop = futex_stop,
};
