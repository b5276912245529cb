// SPDX-License-Identifier: GPL-2.0
/*
 * The eventfd transport: the payload in shared memory, and two eventfds per
 * client as doorbells (request posted, reply posted).
 *
 * The client copies its request into the shared slot and the reply out of it,
 * so that, as with every other transport, the caller's own buffers are what
 * goes in and comes out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hopbench.h"
#include "fdserve.h"

struct efd_state {
	int n;
	size_t len, stride;
	int *req_efd, *resp_efd;
	uint8_t *shm;		/* n slots of [request | reply] */
};

struct efd_client {
	struct efd_state *st;
	int idx;
};

static int efd_available(const struct bench_cfg *cfg, const char **why)
{
	(void)cfg;
	(void)why;
	return 0;
}

static int efd_wait(int fd)
{
	uint64_t v;
	ssize_t n;

	do
		n = read(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	return n == sizeof(v) ? 0 : n < 0 ? -errno : -EPIPE;
}

static int efd_kick(int fd)
{
	uint64_t v = 1;

	return write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -errno;
}

static int efd_serve_one(void *arg, int i)
{
	struct efd_state *st = arg;
	uint8_t *slot = st->shm + i * st->stride;
	int err = efd_wait(st->req_efd[i]);

	if (err)
		return err;
	bench_work(slot, slot + st->len, st->len);
	return efd_kick(st->resp_efd[i]);
}

static int efd_server(void *arg, int ready_fd)
{
	struct efd_state *st = arg;

	bench_server_ready(ready_fd);
	return bench_serve_fds(st->n, st->req_efd, efd_serve_one, st);
}

static int efd_start(const struct bench_cfg *cfg, struct bench_server *srv)
{
	struct efd_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->n = cfg->clients;
	st->len = cfg->payload;
	/* Cache-line separated slots, so clients do not share lines. */
	st->stride = (2 * st->len + 63) & ~(size_t)63;
	if (!st->stride)
		st->stride = 64;
	st->shm = bench_shared_alloc(st->stride * st->n);
	st->req_efd = calloc(st->n, sizeof(int));
	st->resp_efd = calloc(st->n, sizeof(int));
	if (!st->shm || !st->req_efd || !st->resp_efd)
		return -ENOMEM;
	for (int i = 0; i < st->n; i++) {
		st->req_efd[i] = eventfd(0, EFD_CLOEXEC);
		st->resp_efd[i] = eventfd(0, EFD_CLOEXEC);
		if (st->req_efd[i] < 0 || st->resp_efd[i] < 0)
			return -errno;
	}
	srv->pid = bench_fork_server(cfg, efd_server, st);
	if (srv->pid < 0)
		return srv->pid;
	srv->priv = st;
	return 0;
}

static int efd_client_open(struct bench_server *srv, int idx, void **cl)
{
	struct efd_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->st = srv->priv;
	c->idx = idx;
	*cl = c;
	return 0;
}

static ssize_t efd_call(void *cl, const void *req, void *resp, size_t len)
{
	struct efd_client *c = cl;
	struct efd_state *st = c->st;
	uint8_t *slot = st->shm + c->idx * st->stride;
	int err;

	memcpy(slot, req, len);
	err = efd_kick(st->req_efd[c->idx]);
	if (!err)
		err = efd_wait(st->resp_efd[c->idx]);
	if (err)
		return err;
	memcpy(resp, slot + len, len);
	return len;
}

static void efd_client_close(void *cl)
{
	free(cl);
}

static void efd_stop(struct bench_server *srv)
{
	struct efd_state *st = srv->priv;

	bench_kill_server(srv->pid);
	for (int i = 0; i < st->n; i++) {
		close(st->req_efd[i]);
		close(st->resp_efd[i]);
	}
}

const struct transport tr_eventfd = {
	.name = "eventfd",
	.what = "shared memory + two eventfds per client",
	.available = efd_available,
	.start = efd_start,
	.client_open = efd_client_open,
	.call = efd_call,
	.client_close = efd_client_close,
	.stop = efd_stop,
};
