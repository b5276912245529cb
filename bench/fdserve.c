// SPDX-License-Identifier: GPL-2.0
/*
 * The single-threaded server loop shared by the fd-based transports (pipe,
 * unix, eventfd), so that they multiplex clients in exactly the same way.
 *
 * Fairness: with one client the server blocks in read() on that client's
 * channel, as lmbench's lat_pipe does, because adding epoll there would charge
 * pipes for a multiplexer they do not need.  With N > 1 clients each client
 * has its own channel and one server thread waits for all of them with
 * epoll_wait(), serving every ready channel before waiting again: the usual
 * shape of an event-driven server and the counterpart of one hop service
 * serving N clients.  The futex transport uses one doorbell word for the same
 * purpose and io_uring one completion ring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "hopbench.h"
#include "fdserve.h"

int bench_serve_fds(int n, const int *fds, int (*serve_one)(void *arg, int i),
		    void *arg)
{
	struct epoll_event *ev;
	int ep, err;

	if (n == 1) {
		for (;;) {
			err = serve_one(arg, 0);
			if (err)
				return err;
		}
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev = calloc(n, sizeof(*ev));
	if (ep < 0 || !ev)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e))
			return -errno;
	}
	for (;;) {
		int k = epoll_wait(ep, ev, n, -1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		for (int j = 0; j < k; j++) {
			err = serve_one(arg, ev[j].data.u32);
			if (err)
				return err;
		}
	}
}
