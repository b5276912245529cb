// SPDX-License-Identifier: GPL-2.0
/*
 * hopbench --memory: what an idle server costs, a hop service with N slots
 * against a classic thread-per-client server with N threads blocked in
 * read() on a pipe or in FUTEX_WAIT.
 *
 * User memory is the server's VmRSS (and page tables, VmPTE).  Kernel memory
 * is estimated the way the issue asks (threads x THREAD_SIZE for the kernel
 * stacks, threads x the task_struct object size from /proc/slabinfo) and also
 * measured as the change in /proc/meminfo's KernelStack and SUnreclaim from
 * before the fork to when the server is idle; the deltas include anything else
 * the system did meanwhile, so they are noisy but catch kernel memory that no
 * estimate knows about (hop.ko's own per-service objects, pipe buffers).
 * The thread servers use default pthread attributes, as a real one would.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <hop.h>
#include <linux/hop.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hopbench.h"

void bench_print_env(FILE *f);

/* x86-64 THREAD_SIZE without KASAN (arch/x86/include/asm/page_64_types.h). */
#define X86_64_THREAD_SIZE	16384

struct mem_arg {
	int threads;
	const char *name;
};

static long field_kb(const char *path, const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

static long task_struct_objsize(void)
{
	char line[512], name[64];
	long active, num, objsize = -1;
	FILE *f = fopen("/proc/slabinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld %ld %ld", name, &active, &num,
			   &objsize) == 4 && !strcmp(name, "task_struct"))
			break;
		else
			objsize = -1;
	if (f)
		fclose(f);
	return objsize;
}

/* Every thread of pid asleep (S), i.e. the server has settled. */
static bool all_sleeping(pid_t pid, int want)
{
	char path[64], buf[512];
	int n = 0, asleep = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while ((e = readdir(d))) {
		FILE *f;
		char *p;

		if (e->d_name[0] == '.')
			continue;
		n++;
		snprintf(buf, sizeof(buf), "%s/%s/stat", path, e->d_name);
		f = fopen(buf, "r");
		if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))
		    && p[2] == 'S')
			asleep++;
		if (f)
			fclose(f);
	}
	closedir(d);
	return n == want && asleep == n;
}

static void *pipe_waiter(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char c;

	for (;;)
		if (read(fd, &c, 1) <= 0)
			pause();
	return NULL;
}

static void *futex_waiter(void *arg)
{
	uint32_t *w = arg;

	for (;;)
		syscall(SYS_futex, w, FUTEX_WAIT, 0, NULL, NULL, 0);
	return NULL;
}

static int thread_server(const struct mem_arg *a, bool use_pipe, int ready_fd)
{
	uint32_t *words = bench_shared_alloc(a->threads * sizeof(uint32_t));

	if (!words)
		return -ENOMEM;
	for (int i = 0; i < a->threads; i++) {
		pthread_t t;
		int p[2], err;

		if (use_pipe) {
			if (pipe(p))
				return -errno;
			err = pthread_create(&t, NULL, pipe_waiter,
					     (void *)(intptr_t)p[0]);
		} else {
			err = pthread_create(&t, NULL, futex_waiter, &words[i]);
		}
		if (err)
			return -err;
	}
	bench_server_ready(ready_fd);
	for (;;)
		pause();
}

static ssize_t idle_handler(void *ctx, const void *req, size_t req_len,
			    void *resp, size_t resp_cap)
{
	(void)ctx;
	if (req_len > resp_cap)
		return -EMSGSIZE;
	bench_work(req, resp, req_len);
	return req_len;
}

static int mem_hop_server(void *arg, int ready_fd)
{
	const struct mem_arg *a = arg;
	struct hop_serve_opts o = { .size = sizeof(o), .slots = a->threads };
	struct hop_service *svc;
	int err = hop_serve(&svc, a->name, idle_handler, NULL, &o);

	if (err) {
		fprintf(stderr, "hopbench: hop_serve: %s\n", strerror(-err));
		return err;
	}
	bench_server_ready(ready_fd);
	for (;;)
		pause();
}

static int mem_pipe_server(void *arg, int ready_fd)
{
	return thread_server(arg, true, ready_fd);
}

static int mem_futex_server(void *arg, int ready_fd)
{
	return thread_server(arg, false, ready_fd);
}

int bench_memory_main(const struct bench_cfg *cfg, int threads,
		      const char *condition)
{
	char name[HOP_NAME_MAX], status[64];
	struct mem_arg a = { .threads = threads, .name = name };
	int (*fn)(void *, int);
	long ks0, su0, ks1, su1, rss, anon, pte, nthr, tsz;
	bool is_hop = !strcmp(cfg->transport, "hop");
	pid_t pid;

	if (is_hop)
		fn = mem_hop_server;
	else if (!strcmp(cfg->transport, "pipe"))
		fn = mem_pipe_server;
	else if (!strcmp(cfg->transport, "futex"))
		fn = mem_futex_server;
	else {
		fprintf(stderr, "hopbench: --memory knows hop, pipe, futex\n");
		return 64;
	}
	if (is_hop) {
		const char *why = "";
		int err = tr_hop.available(cfg, &why);

		if (err) {
			printf("{\"mode\":\"memory\",\"transport\":\"hop\","
			       "\"slots\":%d,\"skipped\":true,"
			       "\"reason\":\"%s (%s)\",", threads, why,
			       strerror(-err));
			bench_print_env(stdout);
			printf("}\n");
			return 0;
		}
	}
	snprintf(name, sizeof(name), "hopbench-mem-%d", (int)getpid());

	ks0 = field_kb("/proc/meminfo", "KernelStack");
	su0 = field_kb("/proc/meminfo", "SUnreclaim");
	pid = bench_fork_server(cfg, fn, &a);
	if (pid < 0) {
		fprintf(stderr, "hopbench: memory server: %s\n",
			strerror(-pid));
		return 1;
	}
	for (int i = 0; i < 500 && !all_sleeping(pid, is_hop ? 1 : threads + 1);
	     i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	ks1 = field_kb("/proc/meminfo", "KernelStack");
	su1 = field_kb("/proc/meminfo", "SUnreclaim");
	snprintf(status, sizeof(status), "/proc/%d/status", (int)pid);
	rss = field_kb(status, "VmRSS");
	anon = field_kb(status, "RssAnon");
	pte = field_kb(status, "VmPTE");
	nthr = field_kb(status, "Threads");
	tsz = task_struct_objsize();
	bench_kill_server(pid);

	printf("{\"mode\":\"memory\",\"transport\":\"%s\",%s\"%s\":%d,"
	       "\"condition\":\"%s\",\"vm_rss_kb\":%ld,\"rss_anon_kb\":%ld,"
	       "\"vm_pte_kb\":%ld,\"threads_in_process\":%ld,"
	       "\"thread_size\":%d,\"kernel_stack_est_kb\":%ld,"
	       "\"task_struct_objsize\":%ld,\"task_struct_est_kb\":%ld,"
	       "\"total_est_kb\":%ld,\"kernel_stack_delta_kb\":%ld,"
	       "\"sunreclaim_delta_kb\":%ld,",
	       cfg->transport, "", is_hop ? "slots" : "threads", threads,
	       condition ? condition : "", rss, anon, pte, nthr,
	       X86_64_THREAD_SIZE, nthr * X86_64_THREAD_SIZE / 1024, tsz,
	       tsz > 0 ? nthr * tsz / 1024 : -1,
	       rss + pte + nthr * X86_64_THREAD_SIZE / 1024 +
	       (tsz > 0 ? nthr * tsz / 1024 : 0),
	       ks1 - ks0, su1 - su0);
	bench_print_env(stdout);
	printf("}\n");
	return 0;
}
