// SPDX-License-Identifier: MIT-0
/*
 * kv-client: many threads put and get keys in kv-server concurrently, each
 * through its own hops, then check every value and the key count.
 *
 *   kv-client [THREADS [KEYS_PER_THREAD [SERVICE]]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <hop.h>

static const char *service = "kv";
static int keys_per_thread = 200;

struct worker {
	pthread_t thread;
	int id;
	long calls;
	int errors;
};

static ssize_t call(struct hop_conn *c, const char *req, char *resp, size_t cap)
{
	return hop_call(c, req, strlen(req), resp, cap);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct hop_conn *conn;
	char req[128], want[64], resp[128];
	ssize_t n;
	int i;

	if (hop_connect(&conn, service)) {
		w->errors++;
		return NULL;
	}
	for (i = 0; i < keys_per_thread; i++) {
		snprintf(want, sizeof(want), "value-%d-%d", w->id, i);
		snprintf(req, sizeof(req), "P key-%d-%d %s", w->id, i, want);
		if (call(conn, req, resp, sizeof(resp)) != 0)
			w->errors++;
		snprintf(req, sizeof(req), "G key-%d-%d", w->id, i);
		n = call(conn, req, resp, sizeof(resp) - 1);
		if (n < 0 || (resp[n] = '\0', strcmp(resp, want)))
			w->errors++;
		w->calls += 2;
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
	long calls = 0, keys;
	char resp[32];
	int i, errors = 0, err, tries;
	double secs;

	if (argc > 2)
		keys_per_thread = atoi(argv[2]);
	if (argc > 3)
		service = argv[3];
	for (tries = 0; (err = hop_connect(&conn, service)) == -ENOENT && tries < 100; tries++)
		nanosleep(&nap, NULL);
	if (err) {
		fprintf(stderr, "kv-client: hop_connect(%s): %s\n", service, strerror(-err));
		return 1;
	}
	w = calloc(threads, sizeof(*w));
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
	if (call(conn, "N", resp, sizeof(resp) - 1) < 0)
		errors++;
	keys = atol(resp);
	printf("kv-client: %d threads made %ld hops in %.2f s (%.0f/s under emulation), "
	       "%d wrong answers; server holds %ld keys (expected %d)\n",
	       threads, calls, secs, calls / secs, errors, keys, threads * keys_per_thread);
	hop_disconnect(conn);
	return errors || keys != (long)threads * keys_per_thread;
}
