// SPDX-License-Identifier: GPL-2.0
/*
 * irq.c: hopbench --irq, the seed's worry measured: is spawning a kernel
 * thread per device completion affordable, against waking one that exists?
 *
 * One hop service whose handler starts a device read and leaves the call
 * pending; the client makes async calls one at a time and reads, from each
 * completion, the latencies the module measured itself: device interrupt to
 * delivering thread running, and interrupt to completion posted.  The
 * delivery mode (/sys/module/hop/parameters/deliver) alternates between
 * "spawn" and "worker" from one repetition to the next, so both are measured
 * in the same run under the same conditions.  One JSON line per mode.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/hop.h>
#include <hop.h>
#include "hopbench.h"

static unsigned char *irq_cache;	/* the server's buffer the data lands in */

static ssize_t irq_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	int err;

	(void)ctx;
	(void)req;
	(void)len;
	(void)resp;
	(void)cap;
	err = hop_dev_read(0, 64, irq_cache);
	return err ? err : HOP_PENDING;
}

static int irq_server(void *arg, int ready_fd)
{
	struct hop_service *svc;

	irq_cache = mmap(NULL, HOP_DEV_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (irq_cache == MAP_FAILED || hop_serve(&svc, arg, irq_handler, NULL, NULL))
		return 1;
	bench_server_ready(ready_fd);
	for (;;)
		pause();
}

static int set_deliver(const char *mode)
{
	FILE *f = fopen("/sys/module/hop/parameters/deliver", "w");

	if (!f)
		return -errno;
	fputs(mode, f);
	return fclose(f) ? -errno : 0;
}

static void read_device(char *buf, size_t len)
{
	FILE *f = fopen("/sys/kernel/debug/hop/device", "r");

	snprintf(buf, len, "unknown");
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

int bench_irq_main(const struct bench_cfg *cfg, const char *condition)
{
	static const char *const modes[2] = { "spawn", "worker" };
	uint64_t *run = calloc(cfg->iters, sizeof(*run));
	uint64_t *done = calloc(cfg->iters, sizeof(*done));
	double *p50_run[2], *p99_run[2], *p50_done[2], *p99_done[2];
	struct hop_async_result res;
	struct hop_conn *conn;
	char name[64], device[32];
	unsigned char buf[64];
	pid_t server;
	int m, rep, err = 0;
	long i;

	for (m = 0; m < 2; m++) {
		p50_run[m] = calloc(cfg->reps, sizeof(double));
		p99_run[m] = calloc(cfg->reps, sizeof(double));
		p50_done[m] = calloc(cfg->reps, sizeof(double));
		p99_done[m] = calloc(cfg->reps, sizeof(double));
	}
	snprintf(name, sizeof(name), "hopbench-irq-%d", getpid());
	server = bench_fork_server(cfg, irq_server, name);
	if (server < 0 || hop_connect(&conn, name)) {
		fprintf(stderr, "hopbench: irq server failed\n");
		return 1;
	}
	bench_pin(0);
	read_device(device, sizeof(device));
	for (rep = 0; rep < cfg->reps && !err; rep++) {
		for (m = 0; m < 2 && !err; m++) {
			err = set_deliver(modes[m]);
			for (i = -cfg->warmup; i < cfg->iters && !err; i++) {
				err = hop_call_async(conn, "r", 1, buf, sizeof(buf), (uint64_t)i);
				if (!err && hop_async_wait(conn, 10000) != 1)
					err = -ETIMEDOUT;
				if (!err)
					err = hop_async_reap(conn, &res);
				if (!err && res.result != 64)
					err = res.result < 0 ? (int)res.result : -EBADMSG;
				if (!err && i >= 0) {
					run[i] = res.irq_to_spawn_ns;
					done[i] = res.irq_to_complete_ns;
				}
			}
			if (err)
				break;
			qsort(run, cfg->iters, sizeof(*run), bench_cmp_u64);
			qsort(done, cfg->iters, sizeof(*done), bench_cmp_u64);
			p50_run[m][rep] = bench_pct(run, cfg->iters, 50);
			p99_run[m][rep] = bench_pct(run, cfg->iters, 99);
			p50_done[m][rep] = bench_pct(done, cfg->iters, 50);
			p99_done[m][rep] = bench_pct(done, cfg->iters, 99);
		}
	}
	set_deliver("spawn");
	hop_disconnect(conn);
	bench_kill_server(server);
	if (err) {
		fprintf(stderr, "hopbench: irq: %s\n", strerror(-err));
		return 1;
	}
	for (m = 0; m < 2; m++) {
		printf("{\"transport\":\"irq-%s\",\"what\":\"device interrupt to completion\","
		       "\"device\":\"%s\",\"reps\":%d,\"iters\":%ld,"
		       "\"p50_ns\":%.0f,\"p99_ns\":%.0f,"
		       "\"irq_to_thread_p50_ns\":%.0f,\"irq_to_thread_p99_ns\":%.0f,"
		       "\"condition\":\"%s\",",
		       modes[m], device, cfg->reps, cfg->iters,
		       bench_median_d(p50_done[m], cfg->reps), bench_median_d(p99_done[m], cfg->reps),
		       bench_median_d(p50_run[m], cfg->reps), bench_median_d(p99_run[m], cfg->reps),
		       condition ? condition : "");
		bench_print_env(stdout);
		printf("}\n");
	}
	return 0;
}
