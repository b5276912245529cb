/* SPDX-License-Identifier: GPL-2.0 */
/* The single-threaded fd server loop shared by pipe, unix and eventfd. */
#ifndef HOPBENCH_FDSERVE_H
#define HOPBENCH_FDSERVE_H

/*
 * Serve n channels whose readable ends are fds[]: serve_one(arg, i) handles
 * one message on channel i (and may block until it is complete).  Returns only
 * on error, with the -errno of the failure.
 */
int bench_serve_fds(int n, const int *fds, int (*serve_one)(void *arg, int i),
		    void *arg);

#endif
