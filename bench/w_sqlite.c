// SPDX-License-Identifier: GPL-2.0
/*
 * hopbench --workload sqlite: real work per call instead of ping-pong.
 *
 * The server holds an SQLite database (Debian's libsqlite3) in memory: one
 * table of SQLITE_ROWS rows (id INTEGER PRIMARY KEY, val TEXT, hits INTEGER),
 * built in the forked server before it says it is ready, so never timed.
 * Each call is one prepared statement on one row:
 *
 *   --op read    SELECT val, hits FROM kv WHERE id = ?
 *   --op update  UPDATE kv SET val = ?, hits = hits + 1 WHERE id = ? RETURNING hits
 *
 * The row ids follow a Zipf distribution (exponent ZIPF_S over the ranks
 * 1..SQLITE_ROWS, drawn by inverting its CDF with a fixed-seed splitmix64
 * per client), and rank r is row (r * ZIPF_STRIDE) % rows + 1, so that the
 * hot rows are spread over the B-tree instead of sitting in its first leaf
 * (YCSB's "scrambled Zipfian" idea; the stride is prime to the row count, so
 * every row has exactly one rank).  Drawing the key happens outside the
 * timed call.
 *
 * The same statements, database and key sequence for every transport; only
 * the way the request gets to the server differs:
 *
 *   hop    hop_call(): the client's thread runs the handler in the server
 *   unix   an AF_UNIX SOCK_SEQPACKET socketpair per client, one server
 *          thread (blocking read with one client, epoll with more: the
 *          loop of bench/fdserve.c that the ping-pong transports share)
 *   futex  shared-memory slots with FUTEX_WAIT/FUTEX_WAKE, one server
 *          thread, one doorbell word (as bench/t_futex.c)
 *
 * One SQLite connection serves every client in every transport.  The unix
 * and futex servers are one thread, so their calls are serialized by
 * construction; hop runs up to --slots handlers at once on the callers'
 * threads, so its handler takes a mutex around the statement, the same
 * serialization.  The mutex is uncontended with one client.
 *
 * Measurement as the ping-pong harness (bench/harness.c): untimed handshake
 * (a read of row 1, checked), warm-up, --reps repetitions of --iters calls
 * per client started together, each call timed alone; per repetition p50,
 * p99, p99.9, mean and ops/s, the median over repetitions reported.  Every
 * reply is checked: its id is the one asked for, a read's value names that
 * row, an update's hit count is positive.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <hop.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hopbench.h"
#include "fdserve.h"

#define SQLITE_ROWS	100000
#define ZIPF_S		0.99	/* YCSB's Zipfian constant */
#define ZIPF_STRIDE	7919u	/* a prime, so a permutation of 1..SQLITE_ROWS */
#define ZIPF_SEED	0x5eed5eed5eedull

enum sql_op { SQL_READ = 1, SQL_UPDATE = 2 };

/* 64 bytes each way in, 80 back: the fixed messages of every transport. */
struct sql_req {
	uint32_t op;
	uint32_t id;
	char val[56];		/* update: the new value, NUL-terminated */
};

struct sql_resp {
	int32_t status;		/* 0 or -errno */
	uint32_t id;
	int64_t hits;
	char val[64];		/* read: the row's value, NUL-terminated */
};

/* ---- the server's database -------------------------------------------- */

struct sql_db {
	sqlite3 *db;
	sqlite3_stmt *read, *update;
	pthread_mutex_t lock;	/* hop: one statement at a time */
};

/* Every row's initial value starts with "row <id> ", which replies are checked by. */
static void row_value(char *buf, size_t cap, uint32_t id)
{
	snprintf(buf, cap, "row %u initial value %08x", id, id * 2654435761u);
}

static int sql_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "hopbench: sqlite: %s: %s\n", sql, msg);
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

/* In memory, so that a call's work is SQLite's and not the file system's. */
static int sql_db_open(struct sql_db *d)
{
	sqlite3_stmt *ins = NULL;
	char val[64];
	int err = -EIO;

	pthread_mutex_init(&d->lock, NULL);
	if (sqlite3_open(":memory:", &d->db) != SQLITE_OK)
		return -ENOMEM;
	if (sql_exec(d->db, "CREATE TABLE kv (id INTEGER PRIMARY KEY, "
			    "val TEXT NOT NULL, hits INTEGER NOT NULL)") ||
	    sql_exec(d->db, "BEGIN"))
		return -EIO;
	if (sqlite3_prepare_v2(d->db, "INSERT INTO kv VALUES (?1, ?2, 0)", -1,
			       &ins, NULL) != SQLITE_OK)
		goto out;
	for (uint32_t id = 1; id <= SQLITE_ROWS; id++) {
		row_value(val, sizeof(val), id);
		sqlite3_bind_int(ins, 1, (int)id);
		sqlite3_bind_text(ins, 2, val, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto out;
		sqlite3_reset(ins);
	}
	if (sql_exec(d->db, "COMMIT"))
		goto out;
	if (sqlite3_prepare_v2(d->db, "SELECT val, hits FROM kv WHERE id = ?1",
			       -1, &d->read, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(d->db, "UPDATE kv SET val = ?2, hits = hits + 1 "
			       "WHERE id = ?1 RETURNING hits", -1, &d->update,
			       NULL) != SQLITE_OK)
		goto out;
	err = 0;
out:
	if (err)
		fprintf(stderr, "hopbench: sqlite: %s\n", sqlite3_errmsg(d->db));
	sqlite3_finalize(ins);
	return err;
}

/* The work of one call, the same for every transport. */
static void sql_serve(struct sql_db *d, const struct sql_req *rq,
		      struct sql_resp *rp)
{
	sqlite3_stmt *st;
	int rc;

	memset(rp, 0, sizeof(*rp));
	rp->id = rq->id;
	switch (rq->op) {
	case SQL_READ:
		st = d->read;
		break;
	case SQL_UPDATE:
		st = d->update;
		sqlite3_bind_text(st, 2, rq->val, strnlen(rq->val, sizeof(rq->val)),
				  SQLITE_STATIC);
		break;
	default:
		rp->status = -EINVAL;
		return;
	}
	sqlite3_bind_int(st, 1, (int)rq->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && rq->op == SQL_READ) {
		const unsigned char *v = sqlite3_column_text(st, 0);

		snprintf(rp->val, sizeof(rp->val), "%s", v ? (const char *)v : "");
		rp->hits = sqlite3_column_int64(st, 1);
	} else if (rc == SQLITE_ROW) {
		rp->hits = sqlite3_column_int64(st, 0);
		/* Run a RETURNING statement to completion: that commits it. */
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			rp->status = -EIO;
	} else {
		rp->status = rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* ---- transports ------------------------------------------------------- */

struct sql_server {
	const char *name;
	pid_t pid;
	int n;			/* clients */
	unsigned int slots;	/* hop */
	char hop_name[HOP_NAME_MAX];
	int *cli, *srv;		/* unix: socketpair ends */
	_Atomic uint32_t *doorbell;	/* futex */
	struct futex_slot *slots_shm;	/* futex */
	struct sql_db db;	/* the server's, after the fork */
};

struct sql_transport {
	const char *name;
	int (*start)(const struct bench_cfg *cfg, struct sql_server *s);
	int (*open)(struct sql_server *s, int idx, void **cl);
	int (*call)(void *cl, const struct sql_req *rq, struct sql_resp *rp);
	void (*close)(void *cl);
	void (*stop)(struct sql_server *s);
};

/* hop: the handler runs SQLite on the calling client's thread. */
static ssize_t sql_hop_handler(void *ctx, const void *req, size_t len,
			       void *resp, size_t cap)
{
	struct sql_db *d = ctx;

	if (len != sizeof(struct sql_req) || cap < sizeof(struct sql_resp))
		return -EMSGSIZE;
	pthread_mutex_lock(&d->lock);
	sql_serve(d, req, resp);
	pthread_mutex_unlock(&d->lock);
	return sizeof(struct sql_resp);
}

static int sql_hop_server(void *arg, int ready_fd)
{
	struct sql_server *s = arg;
	struct hop_serve_opts o = { .size = sizeof(o), .slots = s->slots };
	struct hop_service *svc;
	int err = sql_db_open(&s->db);

	if (!err)
		err = hop_serve(&svc, s->hop_name, sql_hop_handler, &s->db, &o);
	if (err) {
		fprintf(stderr, "hopbench: sqlite over hop: %s\n", strerror(-err));
		return err;
	}
	bench_server_ready(ready_fd);
	for (;;)
		pause();
}

static int sql_hop_start(const struct bench_cfg *cfg, struct sql_server *s)
{
	snprintf(s->hop_name, sizeof(s->hop_name), "hopbench-sql-%d", (int)getpid());
	s->slots = cfg->slots;
	s->pid = bench_fork_server(cfg, sql_hop_server, s);
	return s->pid < 0 ? s->pid : 0;
}

static int sql_hop_open(struct sql_server *s, int idx, void **cl)
{
	(void)idx;
	return hop_connect((struct hop_conn **)cl, s->hop_name);
}

static int sql_hop_call(void *cl, const struct sql_req *rq, struct sql_resp *rp)
{
	ssize_t n = hop_call(cl, rq, sizeof(*rq), rp, sizeof(*rp));

	if (n < 0)
		return (int)n;
	return n == sizeof(*rp) ? 0 : -EBADMSG;
}

static void sql_hop_close(void *cl)
{
	hop_disconnect(cl);
}

static void sql_kill(struct sql_server *s)
{
	bench_kill_server(s->pid);
}

/* unix: a SOCK_SEQPACKET message each way. */
struct sql_unix_client {
	int fd;
};

static int sql_unix_serve_one(void *arg, int i)
{
	struct sql_server *s = arg;
	struct sql_req rq;
	struct sql_resp rp;
	ssize_t n;

	do
		n = recv(s->srv[i], &rq, sizeof(rq), 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(rq))
		return n < 0 ? -errno : -EPIPE;
	sql_serve(&s->db, &rq, &rp);
	do
		n = send(s->srv[i], &rp, sizeof(rp), 0);
	while (n < 0 && errno == EINTR);
	return n == sizeof(rp) ? 0 : n < 0 ? -errno : -EPIPE;
}

static int sql_unix_server(void *arg, int ready_fd)
{
	struct sql_server *s = arg;
	int err = sql_db_open(&s->db);

	if (err)
		return err;
	for (int i = 0; i < s->n; i++)
		close(s->cli[i]);
	bench_server_ready(ready_fd);
	return bench_serve_fds(s->n, s->srv, sql_unix_serve_one, s);
}

static int sql_unix_start(const struct bench_cfg *cfg, struct sql_server *s)
{
	s->cli = calloc(s->n, sizeof(int));
	s->srv = calloc(s->n, sizeof(int));
	if (!s->cli || !s->srv)
		return -ENOMEM;
	for (int i = 0; i < s->n; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
			return -errno;
		s->cli[i] = sv[0];
		s->srv[i] = sv[1];
	}
	s->pid = bench_fork_server(cfg, sql_unix_server, s);
	if (s->pid < 0)
		return s->pid;
	for (int i = 0; i < s->n; i++)
		close(s->srv[i]);
	return 0;
}

static int sql_unix_open(struct sql_server *s, int idx, void **cl)
{
	struct sql_unix_client *c = malloc(sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fd = s->cli[idx];
	*cl = c;
	return 0;
}

static int sql_unix_call(void *cl, const struct sql_req *rq, struct sql_resp *rp)
{
	struct sql_unix_client *c = cl;
	ssize_t n;

	do
		n = send(c->fd, rq, sizeof(*rq), 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(*rq))
		return n < 0 ? -errno : -EPIPE;
	do
		n = recv(c->fd, rp, sizeof(*rp), 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(*rp))
		return n < 0 ? -errno : -EPIPE;
	return 0;
}

static void sql_free_client(void *cl)
{
	free(cl);
}

static void sql_unix_stop(struct sql_server *s)
{
	bench_kill_server(s->pid);
	for (int i = 0; i < s->n; i++)
		close(s->cli[i]);
}

/* futex: a slot per client in shared memory, one doorbell for the server. */
enum { SLOT_IDLE, SLOT_REQUEST, SLOT_REPLY };

struct futex_slot {
	_Atomic uint32_t state;
	uint8_t pad[60];
	struct sql_req rq;
	struct sql_resp rp;
};

static int sql_futex_server(void *arg, int ready_fd)
{
	struct sql_server *s = arg;
	int err = sql_db_open(&s->db);

	if (err)
		return err;
	bench_server_ready(ready_fd);
	for (;;) {
		uint32_t seen = atomic_load_explicit(s->doorbell, memory_order_acquire);
		bool served = false;

		for (int i = 0; i < s->n; i++) {
			struct futex_slot *sl = &s->slots_shm[i];

			if (atomic_load_explicit(&sl->state, memory_order_acquire) !=
			    SLOT_REQUEST)
				continue;
			sql_serve(&s->db, &sl->rq, &sl->rp);
			atomic_store_explicit(&sl->state, SLOT_REPLY, memory_order_release);
			bench_futex(&sl->state, FUTEX_WAKE, 1);
			served = true;
		}
		/* A doorbell rung after 'seen' makes this return at once. */
		if (!served && bench_futex(s->doorbell, FUTEX_WAIT, seen) &&
		    errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

static int sql_futex_start(const struct bench_cfg *cfg, struct sql_server *s)
{
	s->doorbell = bench_shared_alloc(64);
	s->slots_shm = bench_shared_alloc(sizeof(struct futex_slot) * s->n);
	if (!s->doorbell || !s->slots_shm)
		return -ENOMEM;
	s->pid = bench_fork_server(cfg, sql_futex_server, s);
	return s->pid < 0 ? s->pid : 0;
}

struct sql_futex_client {
	struct sql_server *s;
	struct futex_slot *slot;
};

static int sql_futex_open(struct sql_server *s, int idx, void **cl)
{
	struct sql_futex_client *c = malloc(sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->s = s;
	c->slot = &s->slots_shm[idx];
	*cl = c;
	return 0;
}

/* Copies in and out of the shared slot, as the other transports move bytes. */
static int sql_futex_call(void *cl, const struct sql_req *rq, struct sql_resp *rp)
{
	struct sql_futex_client *c = cl;
	struct futex_slot *sl = c->slot;

	sl->rq = *rq;
	atomic_store_explicit(&sl->state, SLOT_REQUEST, memory_order_release);
	atomic_fetch_add_explicit(c->s->doorbell, 1, memory_order_release);
	bench_futex(c->s->doorbell, FUTEX_WAKE, 1);
	while (atomic_load_explicit(&sl->state, memory_order_acquire) != SLOT_REPLY)
		if (bench_futex(&sl->state, FUTEX_WAIT, SLOT_REQUEST) &&
		    errno != EAGAIN && errno != EINTR)
			return -errno;
	*rp = sl->rp;
	atomic_store_explicit(&sl->state, SLOT_IDLE, memory_order_relaxed);
	return 0;
}

static const struct sql_transport sql_transports[] = {
	{ "hop", sql_hop_start, sql_hop_open, sql_hop_call, sql_hop_close, sql_kill },
	{ "unix", sql_unix_start, sql_unix_open, sql_unix_call, sql_free_client,
	  sql_unix_stop },
	{ "futex", sql_futex_start, sql_futex_open, sql_futex_call, sql_free_client,
	  sql_kill },
};

/* ---- Zipf keys ---------------------------------------------------------- */

/* cdf[r] = P(rank <= r + 1) for ranks 1..n with weight 1 / rank^s. */
static double *zipf_cdf(uint32_t n, double s)
{
	double *cdf = malloc(n * sizeof(*cdf)), sum = 0;

	if (!cdf)
		return NULL;
	for (uint32_t r = 0; r < n; r++)
		cdf[r] = sum += 1.0 / pow(r + 1, s);
	for (uint32_t r = 0; r < n; r++)
		cdf[r] /= sum;
	return cdf;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A row id: the smallest rank whose CDF reaches u, scrambled over the rows. */
static uint32_t zipf_row(const double *cdf, uint32_t n, uint64_t *rng)
{
	double u = (splitmix64(rng) >> 11) * 0x1.0p-53;
	uint32_t lo = 0, hi = n - 1;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (cdf[mid] >= u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (uint32_t)((uint64_t)lo * ZIPF_STRIDE % n) + 1;
}

/* ---- the measurement ---------------------------------------------------- */

struct sql_run {
	const struct bench_cfg *cfg;
	const struct sql_transport *t;
	struct sql_server srv;
	enum sql_op op;
	const double *cdf;
	pthread_barrier_t barrier;
	uint64_t *samples;	/* [rep][client][iter] */
	uint64_t *t_start, *t_end;	/* [rep][client] */
	long hot_hits;		/* replies for the hottest row, all clients */
};

struct sql_client {
	struct sql_run *run;
	int idx;
	pthread_t thread;
	long hot_hits;
};

static void die_sql_client(int idx, const char *what, int err)
{
	fprintf(stderr, "hopbench: sqlite client %d: %s: %s\n", idx, what,
		strerror(-err));
	exit(2);
}

/* 0 if rp is the right answer to rq. */
static int sql_check(const struct sql_req *rq, const struct sql_resp *rp)
{
	char want[16];
	int n;

	if (rp->status)
		return rp->status;
	if (rp->id != rq->id)
		return -EBADMSG;
	if (rq->op == SQL_UPDATE)
		return rp->hits > 0 ? 0 : -EBADMSG;
	n = snprintf(want, sizeof(want), "row %u ", rq->id);
	return strncmp(rp->val, want, n) ? -EBADMSG : 0;
}

static void sql_make_req(struct sql_req *rq, enum sql_op op, uint32_t id,
			 int client, long i)
{
	rq->op = op;
	rq->id = id;
	if (op == SQL_UPDATE)
		snprintf(rq->val, sizeof(rq->val), "row %u updated by %d call %ld",
			 id, client, i);
	else
		rq->val[0] = '\0';
}

static void *sql_client_main(void *arg)
{
	struct sql_client *c = arg;
	struct sql_run *r = c->run;
	const struct bench_cfg *cfg = r->cfg;
	uint64_t rng = ZIPF_SEED + (uint64_t)c->idx;
	struct sql_req rq;
	struct sql_resp rp;
	uint32_t hot = 1;	/* rank 1 scrambles to row 1 */
	void *cl = NULL;
	int err;

	memset(&rq, 0, sizeof(rq));
	err = bench_pin(cfg->placement == PLACE_SPREAD ?
			c->idx % (int)sysconf(_SC_NPROCESSORS_ONLN) : 0);
	if (err)
		die_sql_client(c->idx, "sched_setaffinity", err);
	err = r->t->open(&r->srv, c->idx, &cl);
	if (err)
		die_sql_client(c->idx, "open", err);

	/* Untimed handshake: row 1, read and checked. */
	sql_make_req(&rq, SQL_READ, 1, c->idx, -1);
	err = r->t->call(cl, &rq, &rp);
	if (!err)
		err = sql_check(&rq, &rp);
	if (err)
		die_sql_client(c->idx, "handshake", err);

	for (long i = 0; i < cfg->warmup; i++) {
		sql_make_req(&rq, r->op, zipf_row(r->cdf, SQLITE_ROWS, &rng), c->idx, i);
		err = r->t->call(cl, &rq, &rp);
		if (err)
			die_sql_client(c->idx, "warm-up", err);
	}

	for (int rep = 0; rep < cfg->reps; rep++) {
		size_t base = (size_t)rep * cfg->clients + c->idx;
		uint64_t *s = r->samples + base * cfg->iters;

		pthread_barrier_wait(&r->barrier);
		r->t_start[base] = bench_now_ns();
		for (long i = 0; i < cfg->iters; i++) {
			uint64_t t0, t1;

			sql_make_req(&rq, r->op, zipf_row(r->cdf, SQLITE_ROWS, &rng),
				     c->idx, i);
			t0 = bench_now_ns();
			err = r->t->call(cl, &rq, &rp);
			t1 = bench_now_ns();
			if (err)
				die_sql_client(c->idx, "call", err);
			err = sql_check(&rq, &rp);
			if (err)
				die_sql_client(c->idx, "reply", err);
			c->hot_hits += rq.id == hot;
			s[i] = t1 - t0;
		}
		r->t_end[base] = bench_now_ns();
	}
	r->t->close(cl);
	return NULL;
}

static const char *sql_place_name(enum bench_placement p)
{
	return p == PLACE_SAME ? "same" : p == PLACE_CROSS ? "cross" : "spread";
}

int bench_sqlite_main(const struct bench_cfg *cfg, const char *op,
		      const char *condition)
{
	const struct sql_transport *t = NULL;
	size_t per_rep = (size_t)cfg->clients * cfg->iters;
	struct sql_run r = { .cfg = cfg };
	struct sql_client *cs;
	double *p50, *p99, *p999, *ops, *mean;
	long total = 0, hot = 0;

	for (size_t i = 0; i < sizeof(sql_transports) / sizeof(sql_transports[0]); i++)
		if (!strcmp(sql_transports[i].name, cfg->transport))
			t = &sql_transports[i];
	if (!t) {
		fprintf(stderr, "hopbench: --workload sqlite runs over hop, unix or futex\n");
		return 64;
	}
	if (!op || !strcmp(op, "read"))
		r.op = SQL_READ;
	else if (!strcmp(op, "update"))
		r.op = SQL_UPDATE;
	else {
		fprintf(stderr, "hopbench: --op is read or update\n");
		return 64;
	}
	r.t = t;
	r.srv.n = cfg->clients;
	if (!strcmp(t->name, "hop") && access("/dev/hop", R_OK | W_OK)) {
		/* A line that says so, as the ping-pong harness writes one. */
		printf("{\"workload\":\"sqlite\",\"op\":\"%s\",\"transport\":\"hop\","
		       "\"clients\":%d,\"skipped\":true,\"reason\":\"/dev/hop (%s)\",",
		       op ? op : "read", cfg->clients, strerror(errno));
		bench_print_env(stdout);
		printf("}\n");
		return 0;
	}
	r.cdf = zipf_cdf(SQLITE_ROWS, ZIPF_S);
	r.samples = calloc((size_t)cfg->reps * per_rep, sizeof(uint64_t));
	r.t_start = calloc((size_t)cfg->reps * cfg->clients, sizeof(uint64_t));
	r.t_end = calloc((size_t)cfg->reps * cfg->clients, sizeof(uint64_t));
	cs = calloc(cfg->clients, sizeof(*cs));
	p50 = calloc(cfg->reps, sizeof(double));
	p99 = calloc(cfg->reps, sizeof(double));
	p999 = calloc(cfg->reps, sizeof(double));
	ops = calloc(cfg->reps, sizeof(double));
	mean = calloc(cfg->reps, sizeof(double));
	if (!r.cdf || !r.samples || !r.t_start || !r.t_end || !cs || !p50 ||
	    !p99 || !p999 || !ops || !mean) {
		fprintf(stderr, "hopbench: out of memory\n");
		return 1;
	}

	int err = t->start(cfg, &r.srv);

	if (err) {
		fprintf(stderr, "hopbench: sqlite over %s: starting the server: %s\n",
			t->name, strerror(-err));
		return 1;
	}
	pthread_barrier_init(&r.barrier, NULL, cfg->clients);
	for (int i = 0; i < cfg->clients; i++) {
		cs[i].run = &r;
		cs[i].idx = i;
		err = pthread_create(&cs[i].thread, NULL, sql_client_main, &cs[i]);
		if (err) {
			fprintf(stderr, "hopbench: pthread_create: %s\n", strerror(err));
			exit(2);
		}
	}
	for (int i = 0; i < cfg->clients; i++) {
		pthread_join(cs[i].thread, NULL);
		hot += cs[i].hot_hits;
	}
	t->stop(&r.srv);

	for (int rep = 0; rep < cfg->reps; rep++) {
		uint64_t *s = r.samples + rep * per_rep;
		uint64_t t0 = UINT64_MAX, t1 = 0;
		double sum = 0;

		for (size_t i = 0; i < per_rep; i++)
			sum += s[i];
		mean[rep] = sum / per_rep;
		qsort(s, per_rep, sizeof(*s), bench_cmp_u64);
		p50[rep] = bench_pct(s, per_rep, 50);
		p99[rep] = bench_pct(s, per_rep, 99);
		p999[rep] = bench_pct(s, per_rep, 99.9);
		for (int c = 0; c < cfg->clients; c++) {
			size_t b = (size_t)rep * cfg->clients + c;

			t0 = r.t_start[b] < t0 ? r.t_start[b] : t0;
			t1 = r.t_end[b] > t1 ? r.t_end[b] : t1;
		}
		ops[rep] = t1 > t0 ? per_rep * 1e9 / (double)(t1 - t0) : 0;
		total += per_rep;
	}

	printf("{\"workload\":\"sqlite\",\"op\":\"%s\",\"transport\":\"%s\","
	       "\"payload\":%zu,\"reply\":%zu,\"placement\":\"%s\",\"clients\":%d,",
	       r.op == SQL_READ ? "read" : "update", t->name,
	       sizeof(struct sql_req), sizeof(struct sql_resp),
	       sql_place_name(cfg->placement), cfg->clients);
	if (!strcmp(t->name, "hop"))
		printf("\"slots\":%d,", cfg->slots);
	printf("\"rows\":%d,\"zipf_s\":%.2f,\"hot_row_share\":%.4f,"
	       "\"sqlite\":\"%s\",\"reps\":%d,\"iters\":%ld,\"condition\":\"%s\",",
	       SQLITE_ROWS, ZIPF_S, total ? (double)hot / total : 0,
	       sqlite3_libversion(), cfg->reps, cfg->iters,
	       condition ? condition : "");
	printf("\"p50_ns_reps\":[");
	for (int i = 0; i < cfg->reps; i++)
		printf("%s%.0f", i ? "," : "", p50[i]);
	printf("],\"ops_per_s_reps\":[");
	for (int i = 0; i < cfg->reps; i++)
		printf("%s%.0f", i ? "," : "", ops[i]);
	printf("],\"mean_ns_reps\":[");
	for (int i = 0; i < cfg->reps; i++)
		printf("%s%.0f", i ? "," : "", mean[i]);
	printf("],\"p50_ns\":%.0f,\"p99_ns\":%.0f,\"p999_ns\":%.0f,"
	       "\"mean_ns\":%.0f,\"ops_per_s\":%.0f,",
	       bench_median_d(p50, cfg->reps), bench_median_d(p99, cfg->reps),
	       bench_median_d(p999, cfg->reps), bench_median_d(mean, cfg->reps),
	       bench_median_d(ops, cfg->reps));
	bench_print_env(stdout);
	printf("}\n");
	fflush(stdout);
	return 0;
}
