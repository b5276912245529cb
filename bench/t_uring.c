// SPDX-License-Identifier: GPL-2.0
/*
 * The uring transport: io_uring IORING_OP_MSG_RING between a ring per client
 * and one server ring, the payload in shared memory.
 *
 * A MSG_RING carries only a 64-bit tag and a 32-bit length into the target's
 * completion queue, so the bytes go through a shared slot as with futex and
 * eventfd.  The sender sets IOSQE_CQE_SKIP_SUCCESS so that a send posts no
 * completion of its own; each side then pays one io_uring_enter() per message
 * (submit the send and wait for the next completion in one call).  One server
 * ring naturally serves N clients: the tag names the client.
 *
 * All rings are created before the fork, so that both processes hold every
 * ring fd (MSG_RING needs the target's fd); each process only ever touches
 * its own rings' queues.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <unistd.h>

#include "hopbench.h"

#define URING_SEND_ERR	UINT64_MAX	/* tag of a failed send's completion */

struct uring_state {
	int n;
	size_t len, stride;
	uint8_t *shm;
	struct io_uring server;
	struct io_uring *client;	/* [n] */
};

struct uring_client {
	struct uring_state *st;
	int idx;
};

static int uring_available(const struct bench_cfg *cfg, const char **why)
{
	struct io_uring a, b;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int err;

	(void)cfg;
	/* A real MSG_RING round, since io_uring may be disabled by sysctl. */
	err = io_uring_queue_init(4, &a, 0);
	if (err) {
		*why = "io_uring_setup";
		return err;
	}
	err = io_uring_queue_init(4, &b, 0);
	if (err) {
		io_uring_queue_exit(&a);
		*why = "io_uring_setup";
		return err;
	}
	sqe = io_uring_get_sqe(&a);
	io_uring_prep_msg_ring(sqe, b.ring_fd, 0, 1, 0);
	io_uring_submit(&a);
	err = io_uring_wait_cqe(&a, &cqe);
	if (!err) {
		err = cqe->res < 0 ? cqe->res : 0;
		io_uring_cqe_seen(&a, cqe);
	}
	if (err)
		*why = "IORING_OP_MSG_RING";
	io_uring_queue_exit(&a);
	io_uring_queue_exit(&b);
	return err;
}

static int uring_send(struct io_uring *ring, int target_fd, uint64_t tag,
		      unsigned int len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_msg_ring(sqe, target_fd, len, tag, 0);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, URING_SEND_ERR);
	return 0;
}

/* Submit what is queued and wait for one completion; return its tag. */
static int uring_next(struct io_uring *ring, uint64_t *tag)
{
	struct io_uring_cqe *cqe;
	int err;

	for (;;) {
		err = io_uring_submit_and_wait(ring, 1);
		if (err < 0 && err != -EINTR)
			return err;
		err = io_uring_peek_cqe(ring, &cqe);
		if (err == -EAGAIN)
			continue;
		if (err)
			return err;
		*tag = io_uring_cqe_get_data64(cqe);
		err = cqe->res;
		io_uring_cqe_seen(ring, cqe);
		if (*tag == URING_SEND_ERR)
			return err < 0 ? err : -EIO;
		return 0;
	}
}

static int uring_server(void *arg, int ready_fd)
{
	struct uring_state *st = arg;

	bench_server_ready(ready_fd);
	for (;;) {
		uint64_t i;
		int err = uring_next(&st->server, &i);
		uint8_t *slot;

		if (err)
			return err;
		if (i >= (uint64_t)st->n)
			return -EPROTO;
		slot = st->shm + i * st->stride;
		bench_work(slot, slot + st->len, st->len);
		err = uring_send(&st->server, st->client[i].ring_fd, 0,
				 st->len);
		if (err)
			return err;
	}
}

static int uring_start(const struct bench_cfg *cfg, struct bench_server *srv)
{
	struct uring_state *st = calloc(1, sizeof(*st));
	int err;

	if (!st)
		return -ENOMEM;
	st->n = cfg->clients;
	st->len = cfg->payload;
	st->stride = (2 * st->len + 63) & ~(size_t)63;
	if (!st->stride)
		st->stride = 64;
	st->shm = bench_shared_alloc(st->stride * st->n);
	st->client = calloc(st->n, sizeof(*st->client));
	if (!st->shm || !st->client)
		return -ENOMEM;
	/* Room for one message from every client in the server's CQ. */
	err = io_uring_queue_init(st->n < 8 ? 8 : st->n, &st->server, 0);
	if (err)
		return err;
	for (int i = 0; i < st->n; i++) {
		err = io_uring_queue_init(4, &st->client[i], 0);
		if (err)
			return err;
	}
	srv->pid = bench_fork_server(cfg, uring_server, st);
	if (srv->pid < 0)
		return srv->pid;
	srv->priv = st;
	return 0;
}

static int uring_client_open(struct bench_server *srv, int idx, void **cl)
{
	struct uring_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->st = srv->priv;
	c->idx = idx;
	*cl = c;
	return 0;
}

static ssize_t uring_call(void *cl, const void *req, void *resp, size_t len)
{
	struct uring_client *c = cl;
	struct uring_state *st = c->st;
	struct io_uring *ring = &st->client[c->idx];
	uint8_t *slot = st->shm + c->idx * st->stride;
	uint64_t tag;
	int err;

	memcpy(slot, req, len);
	err = uring_send(ring, st->server.ring_fd, c->idx, len);
	if (!err)
		err = uring_next(ring, &tag);
	if (err)
		return err;
	memcpy(resp, slot + len, len);
	return len;
}

static void uring_client_close(void *cl)
{
	free(cl);
}

static void uring_stop(struct bench_server *srv)
{
	struct uring_state *st = srv->priv;

	bench_kill_server(srv->pid);
	for (int i = 0; i < st->n; i++)
		io_uring_queue_exit(&st->client[i]);
	io_uring_queue_exit(&st->server);
}

const struct transport tr_uring = {
	.name = "uring",
	.what = "io_uring IORING_OP_MSG_RING between rings, shared memory",
	.available = uring_available,
	.start = uring_start,
	.client_open = uring_client_open,
	.call = uring_call,
	.client_close = uring_client_close,
	.stop = uring_stop,
};
