/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hopbench: the interface between the one timing harness and each transport.
 *
 * Every transport implements the same ping-pong: the client sends a request of
 * P bytes, a server in another process (always forked) copies it into a reply
 * of P bytes and adds 1 to the first byte (bench_work()), and the client gets
 * the reply into its own buffer.  The harness owns everything else: CPU
 * placement, the untimed handshake, warm-up, repetitions, per-iteration
 * timing, statistics and output, so that no transport measures itself.
 */
#ifndef HOPBENCH_H
#define HOPBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/types.h>

enum bench_placement {
	PLACE_SAME,	/* clients and server on CPU 0 */
	PLACE_CROSS,	/* clients on CPU 0, server on CPU 1 */
	PLACE_SPREAD,	/* client i on CPU i % ncpus, server not pinned */
};

/* How requests arrive (bench/arrival.c). */
enum bench_arrival_kind {
	ARRIVAL_CLOSED,		/* the next call the moment the reply is in */
	ARRIVAL_PERIODIC,	/* one every mean_us, on an absolute schedule */
	ARRIVAL_POISSON,	/* exponential gaps of mean mean_us, fixed seed */
};

struct bench_arrival {
	enum bench_arrival_kind kind;
	long mean_us;
};

/* A scheduling policy for the client or the server (bench/sched.c). */
struct bench_sched {
	int policy;		/* SCHED_OTHER or SCHED_FIFO */
	int prio;		/* 1..99 for SCHED_FIFO, 0 for SCHED_OTHER */
};

struct bench_cfg {
	const char *transport;
	size_t payload;		/* P: request and reply bytes */
	enum bench_placement placement;
	int clients;		/* client threads, all in one client process */
	int slots;		/* hop only: the service's slot count */
	int reps;
	long iters;		/* timed round trips per client per repetition */
	long warmup;		/* untimed round trips per client before rep 1 */
	int server_cpu;		/* -1: not pinned */
	struct bench_arrival arrival;
	int hogs;		/* CPU hogs on the client's CPU (bench/load.c) */
	struct bench_sched client_sched, server_sched;
};

struct bench_server {
	pid_t pid;		/* the forked server process, 0 if none */
	void *priv;		/* the transport's own state, client side */
};

struct transport {
	const char *name;
	const char *what;	/* one line for --list */
	bool floor;		/* a floor: the payload is ignored */
	/* 0 if it can run here; else -errno and *why says what is missing. */
	int (*available)(const struct bench_cfg *cfg, const char **why);
	/* Fork the server and return once it is ready to serve cfg->clients. */
	int (*start)(const struct bench_cfg *cfg, struct bench_server *srv);
	/* Per client thread, on that thread (binder and uring care which). */
	int (*client_open)(struct bench_server *srv, int idx, void **cl);
	/* One round trip; returns the reply length or -errno. */
	ssize_t (*call)(void *cl, const void *req, void *resp, size_t len);
	void (*client_close)(void *cl);
	void (*stop)(struct bench_server *srv);
};

/* The work every server does, the same for every transport. */
/* CLOCK_MONOTONIC in ns: every timed sample of the harness and the workloads. */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* futex(2) without a timeout, for the futex transports' wait and wake. */
static inline long bench_futex(void *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static inline void bench_work(const void *req, void *resp, size_t len)
{
	memcpy(resp, req, len);
	if (len)
		((uint8_t *)resp)[0]++;
}

/*
 * Fork a server process pinned to cfg->server_cpu.  The child runs
 * fn(arg, ready_fd): it writes one byte to ready_fd once it can serve, then
 * serves until killed (it gets SIGKILL when the parent dies, too).  The
 * parent returns the pid once that byte arrived, or -errno if the child
 * died first.
 */
pid_t bench_fork_server(const struct bench_cfg *cfg,
			int (*fn)(void *arg, int ready_fd), void *arg);
void bench_server_ready(int ready_fd);
void bench_kill_server(pid_t pid);
int bench_pin(int cpu);
/* A MAP_SHARED anonymous mapping, inherited by the forked server. */
void *bench_shared_alloc(size_t len);
/* Read or write exactly len bytes (pipes may split a 64 KiB message). */
int bench_read_full(int fd, void *buf, size_t len);
int bench_write_full(int fd, const void *buf, size_t len);

/* bench/arrival.c: parse "periodic:US" / "poisson:US"; 0 or -EINVAL. */
int bench_arrival_parse(const char *s, struct bench_arrival *a);
void bench_arrival_name(const struct bench_arrival *a, char *buf, size_t len);
/* The arrival schedule of one client: gaps in ns, the same for every run. */
struct bench_arrivals {
	const struct bench_arrival *a;
	uint64_t rng;
};
void bench_arrivals_init(struct bench_arrivals *s, const struct bench_arrival *a,
			 int client_idx);
uint64_t bench_arrivals_next_gap(struct bench_arrivals *s);

/* bench/sched.c: parse "other" / "fifo:PRIO"; apply to the calling thread. */
int bench_sched_parse(const char *s, struct bench_sched *sc);
void bench_sched_name(const struct bench_sched *sc, char *buf, size_t len);
int bench_sched_apply(const struct bench_sched *sc);
/* /proc/sys/kernel/sched_rt_runtime_us, or LONG_MIN if unreadable. */
long bench_rt_runtime_us(void);

/* The most --hogs: more says nothing new on one CPU and risks the guest. */
#define BENCH_MAX_HOGS 64
/* bench/load.c: N CPU hogs pinned to cpu, SCHED_OTHER, until stopped. */
struct bench_hogs {
	int n;
	pid_t *pids;
};
int bench_hogs_start(struct bench_hogs *h, int n, int cpu);
void bench_hogs_stop(struct bench_hogs *h);
/* Become one hog on the current CPU set until killed (hopbench --hog). */
void bench_hog_loop(void) __attribute__((noreturn));

/* bench/hist.c: a log-scale latency histogram, 8 buckets per octave. */
#define BENCH_HIST_BUCKETS (64 * 8)
struct bench_hist {
	uint64_t count[BENCH_HIST_BUCKETS];
};
void bench_hist_add(struct bench_hist *h, uint64_t ns);
/* "hist":[[lower_ns,count],...] over the non-empty buckets. */
void bench_hist_print_json(FILE *f, const struct bench_hist *h);

/* Statistics shared by every mode. */
int bench_cmp_u64(const void *a, const void *b);
uint64_t bench_pct(const uint64_t *v, size_t n, double p);	/* v sorted */
double bench_median_d(double *v, int n);
void bench_print_env(FILE *f);

extern const struct transport tr_hop, tr_hop_regs, tr_null_ioctl, tr_mm_switch,
	tr_null_syscall, tr_pipe, tr_futex, tr_eventfd, tr_unix, tr_uring,
	tr_binder;

#endif /* HOPBENCH_H */
