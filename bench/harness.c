// SPDX-License-Identifier: GPL-2.0
/*
 * hopbench's harness: CLI, CPU placement, timing, statistics and JSON output,
 * shared by every transport so that all of them are measured the same way.
 *
 * Method (after lmbench's lat_pipe/lat_ctx): each client thread does one
 * untimed handshake round trip that checks the whole reply, then a warm-up,
 * then --reps repetitions of --iters round trips, each round trip timed on its
 * own with CLOCK_MONOTONIC.  All clients start a repetition together (a
 * barrier), so ops/s for a repetition is clients * iters over the time from
 * the first start to the last end.  Percentiles are taken per repetition over
 * the samples of all clients; the reported value of every metric is the median
 * over repetitions, and the per-repetition values are printed as well so that
 * the spread (large under emulation) stays visible.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hopbench.h"

int bench_irq_main(const struct bench_cfg *cfg, const char *condition);
int bench_memory_main(const struct bench_cfg *cfg, int threads,
		      const char *condition);
void bench_print_env(FILE *f);

static const struct transport *transports[] = {
	&tr_hop, &tr_hop_regs, &tr_pipe, &tr_futex, &tr_eventfd, &tr_unix, &tr_uring,
	&tr_binder, &tr_null_ioctl, &tr_mm_switch, &tr_null_syscall,
};
#define NR_TRANSPORTS (sizeof(transports) / sizeof(transports[0]))

/*
 * The window of the instruction-class plugin (bench/plugin/hopinsn.c):
 * multi-byte NOPs with a displacement no compiler pads with, executed just
 * before and after each repetition's timed loop when there is one client.
 * Outside the timed samples; each costs one instruction.
 */
#define HOPBENCH_MARK_START() \
	asm volatile("nopl 0x68700001(%%rax,%%rax,1)" ::: "memory")
#define HOPBENCH_MARK_END() \
	asm volatile("nopl 0x68700002(%%rax,%%rax,1)" ::: "memory")

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

int bench_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

void *bench_shared_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int bench_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		done += n;
	}
	return 0;
}

int bench_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += n;
	}
	return 0;
}

void bench_server_ready(int ready_fd)
{
	char c = 'r';

	if (write(ready_fd, &c, 1) != 1)
		_exit(3);
	close(ready_fd);
}

pid_t bench_fork_server(const struct bench_cfg *cfg,
			int (*fn)(void *arg, int ready_fd), void *arg)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = -errno;

		close(p[0]);
		close(p[1]);
		return e;
	}
	if (pid == 0) {
		/* The harness's main thread forks and lives until the end. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		if (bench_pin(cfg->server_cpu))
			_exit(4);
		_exit(fn(arg, p[1]) ? 1 : 0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		int st;

		close(p[0]);
		waitpid(pid, &st, 0);
		return -ECHILD;
	}
	close(p[0]);
	return pid;
}

void bench_kill_server(pid_t pid)
{
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

/* ---- the measurement ---- */

struct run {
	const struct bench_cfg *cfg;
	const struct transport *t;
	struct bench_server srv;
	pthread_barrier_t barrier;
	uint64_t *samples;	/* [rep][client][iter] */
	uint64_t *t_start;	/* [rep][client] */
	uint64_t *t_end;	/* [rep][client] */
};

struct client {
	struct run *run;
	int idx;
	pthread_t thread;
};

static int client_cpu(const struct bench_cfg *cfg, int idx)
{
	switch (cfg->placement) {
	case PLACE_SAME:
	case PLACE_CROSS:
		return 0;
	case PLACE_SPREAD:
	default:
		return idx % online_cpus();
	}
}

static void die_client(int idx, const char *what, long err)
{
	fprintf(stderr, "hopbench: client %d: %s: %s\n", idx, what,
		strerror((int)-err));
	/* The server dies with us through PR_SET_PDEATHSIG. */
	exit(2);
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct run *r = c->run;
	const struct bench_cfg *cfg = r->cfg;
	size_t len = r->t->floor ? 0 : cfg->payload;
	size_t cap = len ? len : 1;
	uint8_t *req = malloc(cap), *resp = malloc(cap);
	void *cl = NULL;
	ssize_t n;
	int err;

	if (!req || !resp)
		die_client(c->idx, "malloc", -ENOMEM);
	err = bench_pin(client_cpu(cfg, c->idx));
	if (err)
		die_client(c->idx, "sched_setaffinity", err);
	err = r->t->client_open(&r->srv, c->idx, &cl);
	if (err)
		die_client(c->idx, "open", err);

	/* Untimed handshake that checks every byte of the reply. */
	for (size_t i = 0; i < len; i++)
		req[i] = (uint8_t)(i * 7 + c->idx);
	memset(resp, 0xcc, cap);
	n = r->t->call(cl, req, resp, len);
	if (n < 0)
		die_client(c->idx, "handshake", n);
	if (!r->t->floor) {
		uint8_t want0 = (uint8_t)(req[0] + 1);

		if ((size_t)n != len ||
		    (len && (resp[0] != want0 ||
			     memcmp(resp + 1, req + 1, len - 1))))
			die_client(c->idx, "handshake reply", -EBADMSG);
	}

	for (long i = 0; i < cfg->warmup; i++) {
		n = r->t->call(cl, req, resp, len);
		if (n < 0)
			die_client(c->idx, "warm-up", n);
	}

	for (int rep = 0; rep < cfg->reps; rep++) {
		size_t base = ((size_t)rep * cfg->clients + c->idx);
		uint64_t *s = r->samples + base * cfg->iters;

		pthread_barrier_wait(&r->barrier);
		r->t_start[base] = now_ns();
		if (cfg->clients == 1)
			HOPBENCH_MARK_START();
		for (long i = 0; i < cfg->iters; i++) {
			uint64_t t0, t1;

			if (len)
				req[0] = (uint8_t)i;
			t0 = now_ns();
			n = r->t->call(cl, req, resp, len);
			t1 = now_ns();
			if (n < 0)
				die_client(c->idx, "call", n);
			/* The same one-byte check for every transport. */
			if (!r->t->floor && ((size_t)n != len ||
			    (len && resp[0] != (uint8_t)(req[0] + 1))))
				die_client(c->idx, "reply", -EBADMSG);
			s[i] = t1 - t0;
		}
		if (cfg->clients == 1)
			HOPBENCH_MARK_END();
		r->t_end[base] = now_ns();
	}
	r->t->client_close(cl);
	free(req);
	free(resp);
	return NULL;
}

int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
uint64_t bench_pct(const uint64_t *v, size_t n, double p)
{
	size_t k = (size_t)(p / 100.0 * n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

double bench_median_d(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The cost of one now_ns() pair, which every sample includes. */
static uint64_t timer_overhead(void)
{
	enum { N = 2001 };
	static uint64_t v[N];

	for (int i = 0; i < N; i++) {
		uint64_t a = now_ns();

		v[i] = now_ns() - a;
	}
	qsort(v, N, sizeof(v[0]), bench_cmp_u64);
	return v[N / 2];
}

static const char *place_name(enum bench_placement p)
{
	return p == PLACE_SAME ? "same" : p == PLACE_CROSS ? "cross" : "spread";
}

static void print_head(const struct bench_cfg *cfg, const struct transport *t,
		       const char *condition)
{
	printf("{\"transport\":\"%s\",\"payload\":%zu,\"placement\":\"%s\","
	       "\"clients\":%d,", t->name, t->floor ? 0 : cfg->payload,
	       place_name(cfg->placement), cfg->clients);
	if (!strcmp(t->name, "hop"))
		printf("\"slots\":%d,", cfg->slots);
	printf("\"reps\":%d,\"iters\":%ld,\"condition\":\"%s\",", cfg->reps,
	       cfg->iters, condition ? condition : "");
}

static int run_bench(const struct bench_cfg *cfg, const struct transport *t,
		     const char *condition)
{
	struct run r = { .cfg = cfg, .t = t };
	size_t per_rep = (size_t)cfg->clients * cfg->iters;
	struct client *cs;
	double *p50, *p99, *p999, *ops, *mean;
	const char *why = "";
	uint64_t tmr;
	int err;

	err = t->available(cfg, &why);
	if (err) {
		print_head(cfg, t, condition);
		printf("\"skipped\":true,\"reason\":\"%s (%s)\",", why,
		       strerror(-err));
		bench_print_env(stdout);
		printf("}\n");
		return 0;
	}

	r.samples = calloc((size_t)cfg->reps * per_rep, sizeof(uint64_t));
	r.t_start = calloc((size_t)cfg->reps * cfg->clients, sizeof(uint64_t));
	r.t_end = calloc((size_t)cfg->reps * cfg->clients, sizeof(uint64_t));
	cs = calloc(cfg->clients, sizeof(*cs));
	p50 = calloc(cfg->reps, sizeof(double));
	p99 = calloc(cfg->reps, sizeof(double));
	p999 = calloc(cfg->reps, sizeof(double));
	ops = calloc(cfg->reps, sizeof(double));
	mean = calloc(cfg->reps, sizeof(double));
	if (!mean || !r.samples || !r.t_start || !r.t_end || !cs || !p50 || !p99 ||
	    !p999 || !ops) {
		fprintf(stderr, "hopbench: out of memory\n");
		return 1;
	}
	tmr = timer_overhead();

	err = t->start(cfg, &r.srv);
	if (err) {
		fprintf(stderr, "hopbench: %s: starting the server: %s\n",
			t->name, strerror(-err));
		return 1;
	}
	pthread_barrier_init(&r.barrier, NULL, cfg->clients);
	for (int i = 0; i < cfg->clients; i++) {
		cs[i].run = &r;
		cs[i].idx = i;
		err = pthread_create(&cs[i].thread, NULL, client_main, &cs[i]);
		if (err) {
			fprintf(stderr, "hopbench: pthread_create: %s\n",
				strerror(err));
			exit(2);
		}
	}
	for (int i = 0; i < cfg->clients; i++)
		pthread_join(cs[i].thread, NULL);
	t->stop(&r.srv);

	for (int rep = 0; rep < cfg->reps; rep++) {
		uint64_t *s = r.samples + rep * per_rep;
		uint64_t t0 = UINT64_MAX, t1 = 0;
		double sum = 0;

		for (size_t i = 0; i < per_rep; i++)
			sum += s[i];
		/* The mean too, to compare with tools that report only a mean. */
		mean[rep] = sum / per_rep;
		qsort(s, per_rep, sizeof(*s), bench_cmp_u64);
		p50[rep] = bench_pct(s, per_rep, 50);
		p99[rep] = bench_pct(s, per_rep, 99);
		p999[rep] = bench_pct(s, per_rep, 99.9);
		for (int c = 0; c < cfg->clients; c++) {
			size_t b = (size_t)rep * cfg->clients + c;

			if (r.t_start[b] < t0)
				t0 = r.t_start[b];
			if (r.t_end[b] > t1)
				t1 = r.t_end[b];
		}
		ops[rep] = t1 > t0 ? per_rep * 1e9 / (double)(t1 - t0) : 0;
	}

	print_head(cfg, t, condition);
	printf("\"p50_ns_reps\":[");
	for (int i = 0; i < cfg->reps; i++)
		printf("%s%.0f", i ? "," : "", p50[i]);
	printf("],\"ops_per_s_reps\":[");
	for (int i = 0; i < cfg->reps; i++)
		printf("%s%.0f", i ? "," : "", ops[i]);
	printf("],");
	printf("\"p50_ns\":%.0f,\"p99_ns\":%.0f,\"p999_ns\":%.0f,"
	       "\"mean_ns\":%.0f,\"ops_per_s\":%.0f,\"timer_ns\":%llu,",
	       bench_median_d(p50, cfg->reps), bench_median_d(p99, cfg->reps),
	       bench_median_d(p999, cfg->reps), bench_median_d(mean, cfg->reps),
	       bench_median_d(ops, cfg->reps),
	       (unsigned long long)tmr);
	bench_print_env(stdout);
	printf("}\n");
	fflush(stdout);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: hopbench --transport NAME [--payload BYTES] [--placement same|cross|spread]\n"
"                [--clients N] [--slots S] [--reps R] [--iters K] [--warmup W]\n"
"                [--condition TEXT]\n"
"       hopbench --memory --transport hop|pipe|futex [--threads N]\n"
"       hopbench --irq [--reps R] [--iters K]   (interrupt path: spawn vs worker)\n"
"       hopbench --list\n"
"One JSON line per result on stdout.  Defaults: payload 64, placement same,\n"
"clients 1, slots = clients (hop), reps 5, iters 1000, warmup iters/10.\n");
}

static const struct transport *find_transport(const char *name)
{
	for (size_t i = 0; i < NR_TRANSPORTS; i++)
		if (!strcmp(transports[i]->name, name))
			return transports[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "transport", required_argument, NULL, 't' },
		{ "payload", required_argument, NULL, 'p' },
		{ "placement", required_argument, NULL, 'P' },
		{ "clients", required_argument, NULL, 'c' },
		{ "slots", required_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },
		{ "iters", required_argument, NULL, 'i' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "condition", required_argument, NULL, 'C' },
		{ "memory", no_argument, NULL, 'm' },
		{ "irq", no_argument, NULL, 'I' },
		{ "threads", required_argument, NULL, 'T' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct bench_cfg cfg = {
		.payload = 64, .placement = PLACE_SAME, .clients = 1,
		.reps = 5, .iters = 1000, .warmup = -1,
	};
	const char *condition = NULL;
	const struct transport *t;
	bool memory = false, irq = false;
	int threads = 64;
	int o;

	while ((o = getopt_long(argc, argv, "t:p:P:c:s:r:i:w:C:mIT:lh", opts,
				NULL)) != -1) {
		switch (o) {
		case 't': cfg.transport = optarg; break;
		case 'p': cfg.payload = strtoul(optarg, NULL, 0); break;
		case 'P':
			if (!strcmp(optarg, "same"))
				cfg.placement = PLACE_SAME;
			else if (!strcmp(optarg, "cross"))
				cfg.placement = PLACE_CROSS;
			else if (!strcmp(optarg, "spread"))
				cfg.placement = PLACE_SPREAD;
			else {
				usage(stderr);
				return 64;
			}
			break;
		case 'c': cfg.clients = atoi(optarg); break;
		case 's': cfg.slots = atoi(optarg); break;
		case 'r': cfg.reps = atoi(optarg); break;
		case 'i': cfg.iters = atol(optarg); break;
		case 'w': cfg.warmup = atol(optarg); break;
		case 'C': condition = optarg; break;
		case 'm': memory = true; break;
		case 'I': irq = true; cfg.transport = "irq"; break;
		case 'T': threads = atoi(optarg); break;
		case 'l':
			for (size_t i = 0; i < NR_TRANSPORTS; i++)
				printf("%-12s %s%s\n", transports[i]->name,
				       transports[i]->floor ? "(floor) " : "",
				       transports[i]->what);
			return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (!cfg.transport || cfg.clients < 1 || cfg.reps < 1 ||
	    cfg.iters < 1 || threads < 1) {
		usage(stderr);
		return 64;
	}
	if (irq)
		return bench_irq_main(&cfg, condition);
	t = find_transport(cfg.transport);
	if (!t) {
		fprintf(stderr, "hopbench: unknown transport '%s' (--list)\n",
			cfg.transport);
		return 64;
	}
	if (cfg.warmup < 0)
		cfg.warmup = cfg.iters / 10 > 10 ? cfg.iters / 10 : 10;
	if (cfg.slots < 1)
		cfg.slots = cfg.clients;
	switch (cfg.placement) {
	case PLACE_SAME: cfg.server_cpu = 0; break;
	case PLACE_CROSS:
		if (online_cpus() < 2) {
			fprintf(stderr, "hopbench: cross needs 2 CPUs\n");
			return 64;
		}
		cfg.server_cpu = 1;
		break;
	case PLACE_SPREAD: cfg.server_cpu = -1; break;
	}
	/* Reaped explicitly; a dead server must not take us down mid-write. */
	signal(SIGPIPE, SIG_IGN);
	if (memory)
		return bench_memory_main(&cfg, threads, condition);
	return run_bench(&cfg, t, condition);
}
