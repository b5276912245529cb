// SPDX-License-Identifier: LGPL-2.1-or-later
/* client.c: connecting to hop services and calling them. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <linux/io_uring.h>
#include <linux/hop.h>
#include "hop.h"
#include "sys.h"

struct hop_conn {
	int fd;
};

int hop_abi_version(void)
{
	struct hop_version v;
	int fd = hop_sys_open_dev();
	long err;

	if (fd < 0)
		return fd;
	memset(&v, 0, sizeof(v));
	err = hop_sys_ioctl(fd, HOP_IOC_VERSION, &v);
	hop_sys_close(fd);
	return err < 0 ? (int)err : (int)v.abi_version;
}

int hop_conn_from_fd(struct hop_conn **conn, int fd)
{
	struct hop_conn *c;

	if (!conn || fd < 0)
		return -EINVAL;
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	*conn = c;
	return 0;
}

int hop_connect(struct hop_conn **conn, const char *name)
{
	struct hop_connect req;
	int devfd, fd, err;
	size_t len;

	if (!conn || !name)
		return -EINVAL;
	len = strlen(name);
	if (len == 0 || len >= HOP_NAME_MAX)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = HOP_CONNECT_CLOEXEC;
	memcpy(req.name, name, len);

	devfd = hop_sys_open_dev();
	if (devfd < 0)
		return devfd;
	fd = (int)hop_sys_ioctl(devfd, HOP_IOC_CONNECT, &req);
	hop_sys_close(devfd);
	if (fd < 0)
		return fd;
	err = hop_conn_from_fd(conn, fd);
	if (err)
		hop_sys_close(fd);
	return err;
}

int hop_conn_fd(const struct hop_conn *conn)
{
	return conn ? conn->fd : -EINVAL;
}

ssize_t hop_call_opts(struct hop_conn *conn, const void *req, size_t req_len,
		      void *resp, size_t resp_cap, const struct hop_call_opts *opts)
{
	struct hop_call c = {
		.size = sizeof(c),
		.req = (uintptr_t)req,
		.req_len = req_len,
		.resp = (uintptr_t)resp,
		.resp_cap = resp_cap,
	};

	if (!conn)
		return -EINVAL;
	if (opts) {
		/* Callers built against libhop 0.1 pass the struct without origin. */
		if (opts->size < offsetof(struct hop_call_opts, origin) ||
		    (opts->flags & ~HOP_CALL_F_NONBLOCK))
			return -EINVAL;
		if (!hop_opts_tail_ok(opts, opts->size, sizeof(*opts)))
			return -E2BIG;
		if (opts->flags & HOP_CALL_F_NONBLOCK)
			c.flags |= HOP_CALL_NONBLOCK;
		c.timeout_ns = opts->timeout_ns;
		if (opts->size >= offsetof(struct hop_call_opts, nrfds) + sizeof(opts->nrfds)) {
			c.origin = (uintptr_t)opts->origin;
			c.fds = (uintptr_t)opts->fds;
			c.nfds = opts->nfds;
			c.rfds = (uintptr_t)opts->rfds;
			c.rfds_cap = opts->rfds_cap;
			c.nrfds = (uintptr_t)opts->nrfds;
		}
	}
	return hop_sys_ioctl(conn->fd, HOP_IOC_CALL, &c);
}

ssize_t hop_call_regs(struct hop_conn *conn, const uint64_t req[HOP_REGS_WORDS], size_t req_len,
		      uint64_t resp[HOP_REGS_WORDS], unsigned int flags)
{
	uint64_t w[HOP_REGS_WORDS] = { 0 };
	size_t i, n = (req_len + 7) / 8;
	long ret;

	if (!conn || req_len > HOP_REGS_MAX || (req_len && !req) || !resp ||
	    (flags & ~HOP_CALL_F_NONBLOCK))
		return -EINVAL;
	/* Only the request's words: nothing else of this thread's travels. */
	for (i = 0; i < n; i++)
		w[i] = req[i];
	ret = hop_sys_ioctl_words(conn->fd, HOP_IOC_CALL_REGS,
				  (long)req_len | (flags & HOP_CALL_F_NONBLOCK ?
						   HOP_CALL_REGS_NONBLOCK : 0), w);
	/* On failure the registers are the caller's own: resp is not written. */
	if (ret >= 0)
		memcpy(resp, w, sizeof(w));
	return ret;
}

ssize_t hop_call(struct hop_conn *conn, const void *req, size_t req_len,
		 void *resp, size_t resp_cap)
{
	return hop_call_opts(conn, req, req_len, resp, resp_cap, NULL);
}

int hop_call_async(struct hop_conn *conn, const void *req, size_t req_len,
		   void *resp, size_t resp_cap, uint64_t user_data)
{
	struct hop_call c = {
		.size = sizeof(c),
		.flags = HOP_CALL_ASYNC,
		.req = (uintptr_t)req,
		.req_len = req_len,
		.resp = (uintptr_t)resp,
		.resp_cap = resp_cap,
		.user_data = user_data,
	};

	if (!conn)
		return -EINVAL;
	return (int)hop_sys_ioctl(conn->fd, HOP_IOC_CALL, &c);
}

void hop_prep_call(struct io_uring_sqe *sqe, struct hop_conn *conn, struct hop_call *call,
		   const void *req, size_t req_len, void *resp, size_t resp_cap)
{
	struct hop_uring_call uc = { .call = (uintptr_t)call };

	memset(call, 0, sizeof(*call));
	call->size = sizeof(*call);
	call->flags = HOP_CALL_ASYNC;
	call->req = (uintptr_t)req;
	call->req_len = req_len;
	call->resp = (uintptr_t)resp;
	call->resp_cap = resp_cap;
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = conn->fd;
	sqe->cmd_op = HOP_URING_CALL;
	memcpy(sqe->cmd, &uc, sizeof(uc));
}

int hop_async_reap(struct hop_conn *conn, struct hop_async_result *res)
{
	if (!conn || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	return (int)hop_sys_ioctl(conn->fd, HOP_IOC_ASYNC_REAP, res);
}

int hop_async_wait(struct hop_conn *conn, int timeout_ms)
{
	struct pollfd p;

	if (!conn)
		return -EINVAL;
	p.fd = conn->fd;
	p.events = POLLIN;
	p.revents = 0;
	return (int)hop_sys3(SYS_poll, (long)&p, 1, timeout_ms);
}

int hop_conn_set_eventfd(struct hop_conn *conn, int efd)
{
	int32_t fd = efd;

	if (!conn)
		return -EINVAL;
	return (int)hop_sys_ioctl(conn->fd, HOP_IOC_SET_EVENTFD, &fd);
}

int hop_disconnect(struct hop_conn *conn)
{
	long err;

	if (!conn)
		return -EINVAL;
	err = hop_sys_close(conn->fd);
	free(conn);
	return (int)err;
}

int hop_fd_info(int fd, struct hop_service_info *info)
{
	if (!info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	return (int)hop_sys_ioctl(fd, HOP_IOC_SERVICE_INFO, info);
}
