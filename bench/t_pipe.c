// SPDX-License-Identifier: GPL-2.0
/*
 * The pipe transport: two pipes per client, request one way and reply the
 * other, the payload travelling through the pipes (as lmbench's lat_pipe).
 *
 * A pipe cannot carry an empty message (a 0-byte write wakes nobody), so a
 * 0-byte payload travels as a 1-byte token each way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "hopbench.h"
#include "fdserve.h"

struct pipe_state {
	int n;
	size_t len, wire;	/* payload; bytes on the wire (>= 1) */
	int *req_rd, *req_wr, *resp_rd, *resp_wr;
	uint8_t *in, *out;	/* server side buffers */
};

struct pipe_client {
	struct pipe_state *st;
	int idx;
	uint8_t *scratch;	/* reply landing place for a 0-byte payload */
};

static int pipe_available(const struct bench_cfg *cfg, const char **why)
{
	(void)cfg;
	(void)why;
	return 0;
}

static int pipe_serve_one(void *arg, int i)
{
	struct pipe_state *st = arg;
	int err = bench_read_full(st->req_rd[i], st->in, st->wire);

	if (err)
		return err;
	bench_work(st->in, st->out, st->len);
	return bench_write_full(st->resp_wr[i], st->out, st->wire);
}

static int pipe_server(void *arg, int ready_fd)
{
	struct pipe_state *st = arg;

	st->in = malloc(st->wire);
	st->out = calloc(1, st->wire);
	if (!st->in || !st->out)
		return -ENOMEM;
	/* Only the server's ends stay open here, so EOF means the end. */
	for (int i = 0; i < st->n; i++) {
		close(st->req_wr[i]);
		close(st->resp_rd[i]);
	}
	bench_server_ready(ready_fd);
	return bench_serve_fds(st->n, st->req_rd, pipe_serve_one, st);
}

static int pipe_start(const struct bench_cfg *cfg, struct bench_server *srv)
{
	struct pipe_state *st = calloc(1, sizeof(*st));
	int n = cfg->clients;

	if (!st)
		return -ENOMEM;
	st->n = n;
	st->len = cfg->payload;
	st->wire = cfg->payload ? cfg->payload : 1;
	st->req_rd = calloc(n, sizeof(int));
	st->req_wr = calloc(n, sizeof(int));
	st->resp_rd = calloc(n, sizeof(int));
	st->resp_wr = calloc(n, sizeof(int));
	if (!st->req_rd || !st->req_wr || !st->resp_rd || !st->resp_wr)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int a[2], b[2];

		if (pipe(a) || pipe(b))
			return -errno;
		st->req_rd[i] = a[0];
		st->req_wr[i] = a[1];
		st->resp_rd[i] = b[0];
		st->resp_wr[i] = b[1];
	}
	srv->pid = bench_fork_server(cfg, pipe_server, st);
	if (srv->pid < 0)
		return srv->pid;
	for (int i = 0; i < n; i++) {
		close(st->req_rd[i]);
		close(st->resp_wr[i]);
	}
	srv->priv = st;
	return 0;
}

static int pipe_client_open(struct bench_server *srv, int idx, void **cl)
{
	struct pipe_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->st = srv->priv;
	c->idx = idx;
	c->scratch = malloc(1);
	*cl = c;
	return c->scratch ? 0 : -ENOMEM;
}

static ssize_t pipe_call(void *cl, const void *req, void *resp, size_t len)
{
	struct pipe_client *c = cl;
	struct pipe_state *st = c->st;
	static const uint8_t token;
	int err;

	err = bench_write_full(st->req_wr[c->idx], len ? req : &token, st->wire);
	if (!err)
		err = bench_read_full(st->resp_rd[c->idx],
				      len ? resp : c->scratch, st->wire);
	return err ? err : (ssize_t)len;
}

static void pipe_client_close(void *cl)
{
	struct pipe_client *c = cl;

	free(c->scratch);
	free(c);
}

static void pipe_stop(struct bench_server *srv)
{
	struct pipe_state *st = srv->priv;

	bench_kill_server(srv->pid);
	for (int i = 0; i < st->n; i++) {
		close(st->req_wr[i]);
		close(st->resp_rd[i]);
	}
}

const struct transport tr_pipe = {
	.name = "pipe",
	.what = "two pipes per client, payload through the pipes",
	.available = pipe_available,
	.start = pipe_start,
	.client_open = pipe_client_open,
	.call = pipe_call,
	.client_close = pipe_client_close,
	.stop = pipe_stop,
};
