// SPDX-License-Identifier: GPL-2.0
/*
 * The binder transport: Android binder driven by raw ioctls, the server as
 * the context manager (handle 0), a synchronous BC_TRANSACTION and BC_REPLY
 * carrying the payload, as libbinder's IPCThreadState would do it.
 *
 * The server is one looper thread (max threads 0, so the driver never asks
 * for more) that serves every client; binder queues the transactions of N
 * clients on the process and the looper takes them one at a time.  Each side
 * frees the buffer it received with BC_FREE_BUFFER, batched into its next
 * write so that it costs no extra ioctl, again as libbinder does.  A reply
 * makes the driver post BR_TRANSACTION_COMPLETE to the replier at once, so
 * the server pays two ioctls per request; that is binder's real cost.
 *
 * The device: $HOP_BINDER_DEV, else /dev/binderfs/binder, else /dev/binder
 * (bench/run.sh loads binder_linux and mounts binderfs in the guest).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/android/binder.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hopbench.h"

#define BINDER_MAP_SIZE	(1u << 20)	/* holds a 64 KiB transaction easily */

struct binder_end {
	int fd;
	void *map;
	binder_uintptr_t to_free;	/* received buffer not yet freed */
	uint8_t wbuf[128];
	size_t wlen;
	uint8_t rbuf[256];
};

struct binder_srv_state {
	size_t len;
	uint8_t *out;
};

static const char *binder_path(void)
{
	const char *env = getenv("HOP_BINDER_DEV");

	if (env && *env)
		return env;
	if (!access("/dev/binderfs/binder", F_OK))
		return "/dev/binderfs/binder";
	return "/dev/binder";
}

static int binder_open_end(struct binder_end *e)
{
	struct binder_version v = { 0 };

	memset(e, 0, sizeof(*e));
	e->fd = open(binder_path(), O_RDWR | O_CLOEXEC);
	if (e->fd < 0)
		return -errno;
	if (ioctl(e->fd, BINDER_VERSION, &v) < 0 ||
	    v.protocol_version != BINDER_CURRENT_PROTOCOL_VERSION) {
		close(e->fd);
		return -EPROTO;
	}
	e->map = mmap(NULL, BINDER_MAP_SIZE, PROT_READ, MAP_PRIVATE, e->fd, 0);
	if (e->map == MAP_FAILED) {
		int err = -errno;

		close(e->fd);
		return err;
	}
	return 0;
}

static void binder_close_end(struct binder_end *e)
{
	munmap(e->map, BINDER_MAP_SIZE);
	close(e->fd);
}

static void put_cmd(struct binder_end *e, uint32_t cmd, const void *arg,
		    size_t len)
{
	memcpy(e->wbuf + e->wlen, &cmd, sizeof(cmd));
	if (len)
		memcpy(e->wbuf + e->wlen + sizeof(cmd), arg, len);
	e->wlen += sizeof(cmd) + len;
}

/* Queue BC_FREE_BUFFER for what we last received, ahead of the next command. */
static void put_free(struct binder_end *e)
{
	if (e->to_free) {
		put_cmd(e, BC_FREE_BUFFER, &e->to_free, sizeof(e->to_free));
		e->to_free = 0;
	}
}

/*
 * Write what is queued, read until a transaction (want BR_TRANSACTION) or a
 * reply (want BR_REPLY) arrives, and return it in *td.
 */
static int binder_exchange(struct binder_end *e, uint32_t want,
			   struct binder_transaction_data *td)
{
	for (;;) {
		struct binder_write_read bwr = {
			.write_size = e->wlen,
			.write_buffer = (binder_uintptr_t)e->wbuf,
			.read_size = sizeof(e->rbuf),
			.read_buffer = (binder_uintptr_t)e->rbuf,
		};
		size_t off = 0;

		if (ioctl(e->fd, BINDER_WRITE_READ, &bwr) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (bwr.write_consumed != e->wlen)
			return -EIO;
		e->wlen = 0;
		while (off + sizeof(uint32_t) <= bwr.read_consumed) {
			uint32_t cmd;

			memcpy(&cmd, e->rbuf + off, sizeof(cmd));
			off += sizeof(cmd);
			if (cmd == want) {
				memcpy(td, e->rbuf + off, sizeof(*td));
				e->to_free = td->data.ptr.buffer;
				return 0;
			}
			switch (cmd) {
			case BR_NOOP:
			case BR_TRANSACTION_COMPLETE:
			case BR_SPAWN_LOOPER:
			case BR_OK:
				break;
			case BR_DEAD_REPLY:
				return -EPIPE;
			case BR_FAILED_REPLY:
			case BR_FROZEN_REPLY:
			case BR_ERROR:
				return -EIO;
			default:
				break;	/* skipped by its encoded size below */
			}
			off += _IOC_SIZE(cmd);
		}
	}
}

static int binder_available(const struct bench_cfg *cfg, const char **why)
{
	struct binder_end e;
	int err;

	(void)cfg;
	err = binder_open_end(&e);
	if (err) {
		*why = "binder device (modprobe binder_linux devices=binder; "
		       "mount -t binder binder /dev/binderfs)";
		return err;
	}
	binder_close_end(&e);
	return 0;
}

static int binder_server(void *arg, int ready_fd)
{
	struct binder_srv_state *st = arg;
	struct binder_end e;
	uint32_t zero = 0;
	int err, tries;

	st->out = calloc(1, st->len ? st->len : 1);
	if (!st->out)
		return -ENOMEM;
	err = binder_open_end(&e);
	if (err)
		return err;
	if (ioctl(e.fd, BINDER_SET_MAX_THREADS, &zero) < 0)
		return -errno;
	/*
	 * The previous run's context manager is released by deferred work
	 * after its process died, so EBUSY may last a moment.
	 */
	for (tries = 0; ioctl(e.fd, BINDER_SET_CONTEXT_MGR, 0) < 0; tries++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (errno != EBUSY || tries > 300)
			return -errno;
		nanosleep(&ts, NULL);
	}
	put_cmd(&e, BC_ENTER_LOOPER, NULL, 0);
	bench_server_ready(ready_fd);
	for (;;) {
		struct binder_transaction_data td, reply = { 0 };

		err = binder_exchange(&e, BR_TRANSACTION, &td);
		if (err)
			return err;
		if (td.data_size != st->len)
			return -EPROTO;
		bench_work((const void *)(uintptr_t)td.data.ptr.buffer, st->out,
			   st->len);
		put_free(&e);
		reply.data_size = st->len;
		reply.data.ptr.buffer = (binder_uintptr_t)st->out;
		put_cmd(&e, BC_REPLY, &reply, sizeof(reply));
	}
}

static int binder_start(const struct bench_cfg *cfg, struct bench_server *srv)
{
	struct binder_srv_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->len = cfg->payload;
	srv->pid = bench_fork_server(cfg, binder_server, st);
	if (srv->pid < 0)
		return srv->pid;
	srv->priv = st;
	return 0;
}

/* Each client thread opens its own binder fd: one channel per client. */
static int binder_client_open(struct bench_server *srv, int idx, void **cl)
{
	struct binder_end *e = malloc(sizeof(*e));
	int err;

	(void)srv;
	(void)idx;
	if (!e)
		return -ENOMEM;
	err = binder_open_end(e);
	if (err) {
		free(e);
		return err;
	}
	*cl = e;
	return 0;
}

static ssize_t binder_call(void *cl, const void *req, void *resp, size_t len)
{
	struct binder_end *e = cl;
	struct binder_transaction_data td = {
		.target.handle = 0,
		.code = 1,
		.data_size = len,
		.data.ptr.buffer = (binder_uintptr_t)req,
	};
	int err;

	put_free(e);
	put_cmd(e, BC_TRANSACTION, &td, sizeof(td));
	err = binder_exchange(e, BR_REPLY, &td);
	if (err)
		return err;
	if (td.data_size > len)
		return -EMSGSIZE;
	memcpy(resp, (const void *)(uintptr_t)td.data.ptr.buffer,
	       td.data_size);
	return td.data_size;
}

static void binder_client_close(void *cl)
{
	struct binder_end *e = cl;

	put_free(e);
	if (e->wlen) {
		struct binder_write_read bwr = {
			.write_size = e->wlen,
			.write_buffer = (binder_uintptr_t)e->wbuf,
		};

		ioctl(e->fd, BINDER_WRITE_READ, &bwr);
	}
	binder_close_end(e);
	free(e);
}

static void binder_stop(struct bench_server *srv)
{
	bench_kill_server(srv->pid);
	free(srv->priv);
}

const struct transport tr_binder = {
	.name = "binder",
	.what = "Android binder, raw ioctls, server as context manager",
	.available = binder_available,
	.start = binder_start,
	.client_open = binder_client_open,
	.call = binder_call,
	.client_close = binder_client_close,
	.stop = binder_stop,
};
