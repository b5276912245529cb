// SPDX-License-Identifier: GPL-2.0
/*
 * The unix transport: one AF_UNIX SOCK_SEQPACKET socketpair per client, one
 * message each way, the payload inside the message.
 *
 * A 0-byte payload travels as a 1-byte message, because recv() of an empty
 * datagram returns 0, which reads the same as end of file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hopbench.h"
#include "fdserve.h"

struct unix_state {
	int n;
	size_t len, wire;
	int *cli, *srv;		/* socketpair ends */
	uint8_t *in, *out;
};

struct unix_client {
	struct unix_state *st;
	int idx;
	uint8_t scratch[1];
};

static int unix_available(const struct bench_cfg *cfg, const char **why)
{
	(void)cfg;
	(void)why;
	return 0;
}

static int recv_msg(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EPIPE;
}

static int send_msg(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EPIPE;
}

static int unix_serve_one(void *arg, int i)
{
	struct unix_state *st = arg;
	int err = recv_msg(st->srv[i], st->in, st->wire);

	if (err)
		return err;
	bench_work(st->in, st->out, st->len);
	return send_msg(st->srv[i], st->out, st->wire);
}

static int unix_server(void *arg, int ready_fd)
{
	struct unix_state *st = arg;

	st->in = malloc(st->wire);
	st->out = calloc(1, st->wire);
	if (!st->in || !st->out)
		return -ENOMEM;
	for (int i = 0; i < st->n; i++)
		close(st->cli[i]);
	bench_server_ready(ready_fd);
	return bench_serve_fds(st->n, st->srv, unix_serve_one, st);
}

static int unix_start(const struct bench_cfg *cfg, struct bench_server *srv)
{
	struct unix_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->n = cfg->clients;
	st->len = cfg->payload;
	st->wire = cfg->payload ? cfg->payload : 1;
	st->cli = calloc(st->n, sizeof(int));
	st->srv = calloc(st->n, sizeof(int));
	if (!st->cli || !st->srv)
		return -ENOMEM;
	for (int i = 0; i < st->n; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
			return -errno;
		st->cli[i] = sv[0];
		st->srv[i] = sv[1];
	}
	srv->pid = bench_fork_server(cfg, unix_server, st);
	if (srv->pid < 0)
		return srv->pid;
	for (int i = 0; i < st->n; i++)
		close(st->srv[i]);
	srv->priv = st;
	return 0;
}

static int unix_client_open(struct bench_server *srv, int idx, void **cl)
{
	struct unix_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->st = srv->priv;
	c->idx = idx;
	*cl = c;
	return 0;
}

static ssize_t unix_call(void *cl, const void *req, void *resp, size_t len)
{
	struct unix_client *c = cl;
	int fd = c->st->cli[c->idx];
	int err;

	err = send_msg(fd, len ? req : c->scratch, c->st->wire);
	if (!err)
		err = recv_msg(fd, len ? resp : c->scratch, c->st->wire);
	return err ? err : (ssize_t)len;
}

static void unix_client_close(void *cl)
{
	free(cl);
}

static void unix_stop(struct bench_server *srv)
{
	struct unix_state *st = srv->priv;

	bench_kill_server(srv->pid);
	for (int i = 0; i < st->n; i++)
		close(st->cli[i]);
}

const struct transport tr_unix = {
	.name = "unix",
	.what = "AF_UNIX SOCK_SEQPACKET socketpair per client",
	.available = unix_available,
	.start = unix_start,
	.client_open = unix_client_open,
	.call = unix_call,
	.client_close = unix_client_close,
	.stop = unix_stop,
};
