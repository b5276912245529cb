// SPDX-License-Identifier: GPL-2.0
/*
 * The hop transport (libhop's hop_call into a forked server) and the floors
 * that bound it from below: a null ioctl on /dev/hop, one mm switch into the
 * service and back, and a null system call.
 *
 * In hop the server process has no thread serving: the handler runs on the
 * client's own thread, on one of the service's slots.  So "cross" placement
 * pins only the server's idle main thread to CPU 1; the work still happens on
 * the client's CPU, which is the point of the design, and the results say so
 * by being what they are.  Slots default to the number of clients (one
 * channel per client, as the other transports get); --slots makes fewer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <hop.h>
#include <linux/hop.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hopbench.h"

struct hop_state {
	char name[HOP_NAME_MAX];
	unsigned int slots;
	size_t msg_size;
};

static int dev_hop_available(const struct bench_cfg *cfg, const char **why)
{
	int fd = open("/dev/hop", O_RDWR | O_CLOEXEC);

	(void)cfg;
	if (fd < 0) {
		*why = "/dev/hop (is hop.ko loaded?)";
		return -errno;
	}
	close(fd);
	return 0;
}

static ssize_t hop_bench_handler(void *ctx, const void *req, size_t req_len,
				 void *resp, size_t resp_cap)
{
	(void)ctx;
	if (req_len > resp_cap)
		return -EMSGSIZE;
	bench_work(req, resp, req_len);
	return req_len;
}

/* The same work on a message of words (hop-regs). */
static ssize_t hop_bench_regs_handler(void *ctx, const uint64_t req[HOP_REGS_WORDS],
				      size_t req_len, uint64_t resp[HOP_REGS_WORDS])
{
	(void)ctx;
	bench_work(req, resp, req_len);
	return req_len;
}

static int hop_server(void *arg, int ready_fd)
{
	struct hop_state *st = arg;
	struct hop_serve_opts o = {
		.size = sizeof(o),
		.slots = st->slots,
		.msg_size = st->msg_size,
		.regs_fn = hop_bench_regs_handler,
	};
	struct hop_service *svc;
	int err = hop_serve(&svc, st->name, hop_bench_handler, NULL, &o);

	if (err) {
		fprintf(stderr, "hopbench: hop_serve: %s\n", strerror(-err));
		return err;
	}
	bench_server_ready(ready_fd);
	for (;;)
		pause();
}

static int hop_start(const struct bench_cfg *cfg, struct bench_server *srv)
{
	struct hop_state *st = calloc(1, sizeof(*st));
	long page = sysconf(_SC_PAGESIZE);

	if (!st)
		return -ENOMEM;
	snprintf(st->name, sizeof(st->name), "hopbench-%d", (int)getpid());
	st->slots = cfg->slots;
	/* The smallest legal message buffer that holds the payload. */
	st->msg_size = (cfg->payload + page - 1) / page * page;
	if (st->msg_size < HOP_MSG_MIN)
		st->msg_size = HOP_MSG_MIN;
	srv->pid = bench_fork_server(cfg, hop_server, st);
	if (srv->pid < 0)
		return srv->pid;
	srv->priv = st;
	return 0;
}

static int hop_client_open(struct bench_server *srv, int idx, void **cl)
{
	struct hop_state *st = srv->priv;

	(void)idx;
	return hop_connect((struct hop_conn **)cl, st->name);
}

static ssize_t hop_bench_call(void *cl, const void *req, void *resp, size_t len)
{
	return hop_call(cl, req, len, resp, len);
}

static void hop_client_close(void *cl)
{
	hop_disconnect(cl);
}

static void hop_stop(struct bench_server *srv)
{
	bench_kill_server(srv->pid);
	free(srv->priv);
}

const struct transport tr_hop = {
	.name = "hop",
	.what = "libhop hop_call: the client's thread runs the server's handler",
	.available = dev_hop_available,
	.start = hop_start,
	.client_open = hop_client_open,
	.call = hop_bench_call,
	.client_close = hop_client_close,
	.stop = hop_stop,
};

/*
 * hop-regs: the same service, the message in registers (hop_call_regs): at
 * most 48 bytes, no buffer and no copy through memory in the kernel.  The
 * payload is moved in and out of the word array here, as a caller would.
 */
static int hop_regs_available(const struct bench_cfg *cfg, const char **why)
{
	if (cfg->payload > HOP_REGS_MAX) {
		*why = "a payload of at most 48 bytes (six register words)";
		return -EMSGSIZE;
	}
	return dev_hop_available(cfg, why);
}

static ssize_t hop_regs_call(void *cl, const void *req, void *resp, size_t len)
{
	uint64_t in[HOP_REGS_WORDS], out[HOP_REGS_WORDS];
	ssize_t r;

	memcpy(in, req, len);
	r = hop_call_regs(cl, in, len, out, 0);
	if (r > 0)
		memcpy(resp, out, r);
	return r;
}

const struct transport tr_hop_regs = {
	.name = "hop-regs",
	.what = "libhop hop_call_regs: a message of up to six words in registers",
	.available = hop_regs_available,
	.start = hop_start,
	.client_open = hop_client_open,
	.call = hop_regs_call,
	.client_close = hop_client_close,
	.stop = hop_stop,
};

/* mm-switch: the same service, but HOP_IOC_SWITCH_PROBE on the handle. */
static ssize_t switch_call(void *cl, const void *req, void *resp, size_t len)
{
	(void)req;
	(void)resp;
	(void)len;
	return ioctl(hop_conn_fd(cl), HOP_IOC_SWITCH_PROBE) < 0 ? -errno : 0;
}

const struct transport tr_mm_switch = {
	.name = "mm-switch",
	.what = "HOP_IOC_SWITCH_PROBE: one switch into the service's mm and back",
	.floor = true,
	.available = dev_hop_available,
	.start = hop_start,
	.client_open = hop_client_open,
	.call = switch_call,
	.client_close = hop_client_close,
	.stop = hop_stop,
};

/* null-ioctl: HOP_IOC_NOP on a plain /dev/hop fd; no server at all. */
static int none_start(const struct bench_cfg *cfg, struct bench_server *srv)
{
	(void)cfg;
	srv->pid = 0;
	return 0;
}

static void none_stop(struct bench_server *srv)
{
	(void)srv;
}

static int nop_client_open(struct bench_server *srv, int idx, void **cl)
{
	int fd = open("/dev/hop", O_RDWR | O_CLOEXEC);

	(void)srv;
	(void)idx;
	if (fd < 0)
		return -errno;
	*cl = (void *)(intptr_t)fd;
	return 0;
}

static ssize_t nop_call(void *cl, const void *req, void *resp, size_t len)
{
	(void)req;
	(void)resp;
	(void)len;
	return ioctl((int)(intptr_t)cl, HOP_IOC_NOP) < 0 ? -errno : 0;
}

static void nop_client_close(void *cl)
{
	close((int)(intptr_t)cl);
}

const struct transport tr_null_ioctl = {
	.name = "null-ioctl",
	.what = "HOP_IOC_NOP on /dev/hop: the cost of entering the module",
	.floor = true,
	.available = dev_hop_available,
	.start = none_start,
	.client_open = nop_client_open,
	.call = nop_call,
	.client_close = nop_client_close,
	.stop = none_stop,
};

/* null-syscall: getppid(), lmbench's null call, for hosts without hop.ko. */
static int always_available(const struct bench_cfg *cfg, const char **why)
{
	(void)cfg;
	(void)why;
	return 0;
}

static int sys_client_open(struct bench_server *srv, int idx, void **cl)
{
	(void)srv;
	(void)idx;
	*cl = NULL;
	return 0;
}

static ssize_t sys_call(void *cl, const void *req, void *resp, size_t len)
{
	(void)cl;
	(void)req;
	(void)resp;
	(void)len;
	/* syscall() so that no libc cache can answer instead of the kernel. */
	return syscall(SYS_getppid) < 0 ? -errno : 0;
}

static void sys_client_close(void *cl)
{
	(void)cl;
}

const struct transport tr_null_syscall = {
	.name = "null-syscall",
	.what = "getppid(): the cost of a system call",
	.floor = true,
	.available = always_available,
	.start = none_start,
	.client_open = sys_client_open,
	.call = sys_call,
	.client_close = sys_client_close,
	.stop = none_stop,
};
