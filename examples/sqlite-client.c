// SPDX-License-Identifier: MIT-0
/*
 * sqlite-client: reads and updates rows of sqlite-server's table from several
 * threads, each through its own hops, then checks what it wrote.
 *
 * Each thread updates rows of its own (so that it knows what they must hold
 * afterwards) and reads random rows, the way a cache in front of a database
 * would.  Every reply is checked; the exit status is 0 only if all were right.
 *
 *   sqlite-client [THREADS [CALLS_PER_THREAD [SERVICE]]]   (default 4, 200, "sqlite")
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hop.h>

static const char *service = "sqlite";
static int calls_per_thread = 200;
static long rows;

struct worker {
	pthread_t thread;
	int id;
	long calls, errors;
};

/* One request, its reply as a string; returns the reply's length or -errno. */
static ssize_t ask(struct hop_conn *c, const char *req, char *resp, size_t cap)
{
	ssize_t n = hop_call(c, req, strlen(req), resp, cap - 1);

	if (n >= 0)
		resp[n] = '\0';
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned int seed = 12345 + w->id;
	char req[128], resp[256], want[128];
	struct hop_conn *conn;
	long id;
	int i;

	if (hop_connect(&conn, service)) {
		w->errors++;
		return NULL;
	}
	for (i = 0; i < calls_per_thread; i++) {
		/* Updates: thread w owns the rows id with id % 64 == w->id. */
		id = (long)(i % (rows / 64)) * 64 + w->id + 1;
		snprintf(req, sizeof(req), "set %ld written-by-thread-%d-call-%d", id, w->id, i);
		if (ask(conn, req, resp, sizeof(resp)) < 0)
			w->errors++;
		snprintf(req, sizeof(req), "get %ld", id);
		snprintf(want, sizeof(want), "%ld written-by-thread-%d-call-%d ", id, w->id, i);
		if (ask(conn, req, resp, sizeof(resp)) < 0 || strncmp(resp, want, strlen(want)))
			w->errors++;
		/* A read of any row: it exists and answers for itself. */
		id = rand_r(&seed) % rows + 1;
		snprintf(req, sizeof(req), "get %ld", id);
		snprintf(want, sizeof(want), "%ld ", id);
		if (ask(conn, req, resp, sizeof(resp)) < 0 || strncmp(resp, want, strlen(want)))
			w->errors++;
		w->calls += 3;
	}
	hop_disconnect(conn);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	struct timespec t0, t1, nap = { 0, 50 * 1000 * 1000 };
	struct hop_conn *conn;
	struct worker *w;
	long calls = 0, errors = 0;
	char resp[64];
	int i, err, tries;
	double secs;

	if (argc > 2)
		calls_per_thread = atoi(argv[2]);
	if (argc > 3)
		service = argv[3];
	if (threads < 1 || threads > 64 || calls_per_thread < 1) {
		fprintf(stderr, "usage: sqlite-client [THREADS (1..64) [CALLS_PER_THREAD [SERVICE]]]\n");
		return 2;
	}
	/* The server may still be building its table. */
	for (tries = 0; (err = hop_connect(&conn, service)) == -ENOENT && tries < 200; tries++)
		nanosleep(&nap, NULL);
	if (err) {
		fprintf(stderr, "sqlite-client: hop_connect(%s): %s\n", service, strerror(-err));
		return 1;
	}
	if (ask(conn, "count", resp, sizeof(resp)) < 0 || (rows = atol(resp)) < 64) {
		fprintf(stderr, "sqlite-client: the table needs at least 64 rows\n");
		return 1;
	}
	/* A bad request gets an error, not a reply. */
	if (ask(conn, "drop table kv", resp, sizeof(resp)) != -EINVAL ||
	    ask(conn, "get 0", resp, sizeof(resp)) != -ENOENT) {
		fprintf(stderr, "sqlite-client: a bad request was answered\n");
		return 1;
	}
	w = calloc(threads, sizeof(*w));
	if (!w)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < threads; i++) {
		w[i].id = i;
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		calls += w[i].calls;
		errors += w[i].errors;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("sqlite-client: %d threads made %ld calls (reads and updates of a %ld-row table) "
	       "in %.2f s (%.0f/s under emulation), %ld wrong answers\n",
	       threads, calls, rows, secs, calls / secs, errors);
	hop_disconnect(conn);
	free(w);
	return errors != 0;
}
