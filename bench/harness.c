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
 *
 * Open loop (--arrival periodic:US | poisson:US, bench/arrival.c): each
 * round trip is timed from its scheduled arrival, not from when the client
 * got round to it, and the client sleeps until each arrival.  --hogs N
 * (bench/load.c) keeps N CPU hogs on the client's CPU for the whole run;
 * --client-sched and --server-sched (bench/sched.c) set the policy of the
 * client threads and of the forked server.  Every line records all four and
 * a histogram of all samples (bench/hist.c).
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
int bench_sqlite_main(const struct bench_cfg *cfg, const char *op,
		      const char *condition);

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

/* Sleep until CLOCK_MONOTONIC reads at least t (ns). */
static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000000000ull,
			       .tv_nsec = t % 1000000000ull };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
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
		/* Before fn starts threads: they inherit the policy. */
		if (bench_sched_apply(&cfg->server_sched)) {
			fprintf(stderr, "hopbench: server sched: %s\n",
				strerror(errno));
			_exit(5);
		}
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
	long *queued;		/* [client]: arrivals that found a call in flight */
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
	/* After open: binder and uring set up per-thread state there. */
	err = bench_sched_apply(&cfg->client_sched);
	if (err)
		die_client(c->idx, "sched_setscheduler", err);
	/*
	 * An arrival is a deadline: without this a SCHED_OTHER sleeper's timer
	 * may fire up to its 50 us default timer slack late (real-time tasks
	 * get none), and every open-loop sample would carry that delay.
	 */
	if (cfg->arrival.kind != ARRIVAL_CLOSED &&
	    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL))
		die_client(c->idx, "PR_SET_TIMERSLACK", -errno);

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
		bool open_loop = cfg->arrival.kind != ARRIVAL_CLOSED;
		struct bench_arrivals arr;
		uint64_t arrival;

		bench_arrivals_init(&arr, &cfg->arrival, c->idx);
		pthread_barrier_wait(&r->barrier);
		r->t_start[base] = bench_now_ns();
		arrival = r->t_start[base];
		if (cfg->clients == 1)
			HOPBENCH_MARK_START();
		for (long i = 0; i < cfg->iters; i++) {
			uint64_t t0, t1;

			if (len)
				req[0] = (uint8_t)i;
			if (open_loop) {
				/* Fixed in advance, whatever the replies do. */
				arrival += bench_arrivals_next_gap(&arr);
				if (bench_now_ns() < arrival)
					sleep_until(arrival);
				else
					r->queued[c->idx]++;
				t0 = arrival;
			} else {
				t0 = bench_now_ns();
			}
			n = r->t->call(cl, req, resp, len);
			t1 = bench_now_ns();
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
		r->t_end[base] = bench_now_ns();
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

/* The cost of one bench_bench_now_ns() pair, which every sample includes. */
static uint64_t timer_overhead(void)
{
	enum { N = 2001 };
	static uint64_t v[N];

	for (int i = 0; i < N; i++) {
		uint64_t a = bench_now_ns();

		v[i] = bench_now_ns() - a;
	}
	qsort(v, N, sizeof(v[0]), bench_cmp_u64);
	return v[N / 2];
}

static const char *place_name(enum bench_placement p)
{
	return p == PLACE_SAME ? "same" : p == PLACE_CROSS ? "cross" : "spread";
}

/* The arrival mode, load and policies: on every line, measured or not. */
static void print_load(const struct bench_cfg *cfg)
{
	char arrival[48], cs[16], ss[16];

	bench_arrival_name(&cfg->arrival, arrival, sizeof(arrival));
	bench_sched_name(&cfg->client_sched, cs, sizeof(cs));
	bench_sched_name(&cfg->server_sched, ss, sizeof(ss));
	printf("\"arrival\":\"%s\",\"hogs\":%d,\"client_sched\":\"%s\","
	       "\"server_sched\":\"%s\",\"rt_runtime_us\":%ld,", arrival,
	       cfg->hogs, cs, ss, bench_rt_runtime_us());
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
	print_load(cfg);
}

static int run_bench(const struct bench_cfg *cfg, const struct transport *t,
		     const char *condition)
{
	struct run r = { .cfg = cfg, .t = t };
	size_t per_rep = (size_t)cfg->clients * cfg->iters;
	struct bench_hogs hogs = { 0 };
	struct bench_hist *hist;
	long queued = 0;
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
	r.queued = calloc(cfg->clients, sizeof(long));
	hist = calloc(1, sizeof(*hist));
	cs = calloc(cfg->clients, sizeof(*cs));
	p50 = calloc(cfg->reps, sizeof(double));
	p99 = calloc(cfg->reps, sizeof(double));
	p999 = calloc(cfg->reps, sizeof(double));
	ops = calloc(cfg->reps, sizeof(double));
	mean = calloc(cfg->reps, sizeof(double));
	if (!mean || !r.queued || !hist || !r.samples || !r.t_start ||
	    !r.t_end || !cs || !p50 || !p99 || !p999 || !ops) {
		fprintf(stderr, "hopbench: out of memory\n");
		return 1;
	}
	tmr = timer_overhead();

	/* The load runs for the whole cell, the server's start included. */
	err = bench_hogs_start(&hogs, cfg->hogs, client_cpu(cfg, 0));
	if (err) {
		fprintf(stderr, "hopbench: starting %d hogs: %s\n", cfg->hogs,
			strerror(-err));
		return 1;
	}
	err = t->start(cfg, &r.srv);
	if (err) {
		fprintf(stderr, "hopbench: %s: starting the server: %s\n",
			t->name, strerror(-err));
		bench_hogs_stop(&hogs);
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
	bench_hogs_stop(&hogs);

	for (int rep = 0; rep < cfg->reps; rep++) {
		uint64_t *s = r.samples + rep * per_rep;
		uint64_t t0 = UINT64_MAX, t1 = 0;
		double sum = 0;

		for (size_t i = 0; i < per_rep; i++) {
			sum += s[i];
			bench_hist_add(hist, s[i]);
		}
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
	for (int c = 0; c < cfg->clients; c++)
		queued += r.queued[c];
	/* Open loop: arrivals that came while the previous call was running. */
	printf("\"queued\":%ld,", queued);
	bench_hist_print_json(stdout, hist);
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
"                [--condition TEXT] [--arrival closed|periodic:US|poisson:US]\n"
"                [--hogs N] [--client-sched other|fifo:PRIO]\n"
"                [--server-sched other|fifo:PRIO]\n"
"       hopbench --memory --transport hop|pipe|futex [--threads N]\n"
"       hopbench --irq [--reps R] [--iters K]   (interrupt path: spawn vs worker)\n"
"       hopbench --workload sqlite --transport hop|unix|futex [--op read|update]\n"
"                [--clients N] [--placement ...] [--reps R] [--iters K]   (bench/w_sqlite.c)\n"
"       hopbench --list\n"
"       hopbench --hog   (one CPU hog on the current CPUs until killed)\n"
"One JSON line per result on stdout.  Defaults: payload 64, placement same,\n"
"clients 1, slots = clients (hop), reps 5, iters 1000, warmup iters/10,\n"
"arrival closed (the next call as soon as the reply is in), hogs 0 (at most\n"
"%d, pinned to the client's CPU), client and server sched other.\n",
		BENCH_MAX_HOGS);
}

/* A bad value for an option: say which and why, then exit 64 (EX_USAGE). */
static int bad_option(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "hopbench: --%s '%s': expected %s\n", opt, val, want);
	return 64;
}

static const struct transport *find_transport(const char *name)
{
	for (size_t i = 0; i < NR_TRANSPORTS; i++)
		if (!strcmp(transports[i]->name, name))
			return transports[i];
	return NULL;
}

/* Long options without a short form. */
enum { OPT_ARRIVAL = 1000, OPT_HOGS, OPT_CLIENT_SCHED, OPT_SERVER_SCHED, OPT_HOG };

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
		{ "arrival", required_argument, NULL, OPT_ARRIVAL },
		{ "hogs", required_argument, NULL, OPT_HOGS },
		{ "client-sched", required_argument, NULL, OPT_CLIENT_SCHED },
		{ "server-sched", required_argument, NULL, OPT_SERVER_SCHED },
		{ "hog", no_argument, NULL, OPT_HOG },
		{ "workload", required_argument, NULL, 'W' },
		{ "op", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct bench_cfg cfg = {
		.payload = 64, .placement = PLACE_SAME, .clients = 1,
		.reps = 5, .iters = 1000, .warmup = -1,
	};
	const char *condition = NULL, *workload = NULL, *op = NULL;
	const struct transport *t;
	bool memory = false, irq = false;
	int threads = 64;
	int o;

	while ((o = getopt_long(argc, argv, "t:p:P:c:s:r:i:w:C:mIT:lhW:O:", opts,
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
		case OPT_ARRIVAL:
			if (bench_arrival_parse(optarg, &cfg.arrival))
				return bad_option("arrival", optarg,
					"closed, periodic:US or poisson:US with "
					"1 <= US <= 60000000");
			break;
		case OPT_HOGS: {
			char *end;

			errno = 0;
			cfg.hogs = (int)strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || cfg.hogs < 0 ||
			    cfg.hogs > BENCH_MAX_HOGS) {
				char want[48];

				snprintf(want, sizeof(want),
					 "an integer from 0 to %d", BENCH_MAX_HOGS);
				return bad_option("hogs", optarg, want);
			}
			break;
		}
		case OPT_CLIENT_SCHED:
		case OPT_SERVER_SCHED:
			if (bench_sched_parse(optarg, o == OPT_CLIENT_SCHED ?
					      &cfg.client_sched : &cfg.server_sched))
				return bad_option(o == OPT_CLIENT_SCHED ?
					"client-sched" : "server-sched", optarg,
					"other or fifo:PRIO with 1 <= PRIO <= 99");
			break;
		case OPT_HOG:
			bench_hog_loop();
		case 'm': memory = true; break;
		case 'I': irq = true; cfg.transport = "irq"; break;
		case 'T': threads = atoi(optarg); break;
		case 'W': workload = optarg; break;
		case 'O': op = optarg; break;
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
	if (workload && strcmp(workload, "sqlite")) {
		fprintf(stderr, "hopbench: unknown workload '%s' (sqlite)\n", workload);
		return 64;
	}
	/* bench/w_sqlite.c measures closed-loop calls only, as they come. */
	if (workload && (cfg.arrival.kind != ARRIVAL_CLOSED || cfg.hogs ||
			 cfg.client_sched.policy != SCHED_OTHER ||
			 cfg.server_sched.policy != SCHED_OTHER)) {
		fprintf(stderr, "hopbench: --workload takes no --arrival, --hogs or --*-sched\n");
		return 64;
	}
	if (op && !workload) {
		fprintf(stderr, "hopbench: --op needs --workload\n");
		return 64;
	}
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
	if (workload)
		return bench_sqlite_main(&cfg, op, condition);
	return run_bench(&cfg, t, condition);
}
