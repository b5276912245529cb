// SPDX-License-Identifier: MIT-0
/*
 * kv-server: a key-value store served over hop.  The table lives in this
 * process's memory; the process has no worker threads: every get and put runs
 * on a client's thread that hopped in.  A mutex per bucket keeps concurrent
 * hops apart, exactly as it would keep server threads apart.
 *
 * A handler can be stopped anywhere: a client killed mid-call, a deadline,
 * a fault.  So that a stopped put never wedges or corrupts a bucket:
 *  - the bucket locks are robust mutexes: after an aborted hop that held one,
 *    the next lock returns EOWNERDEAD instead of waiting forever;
 *  - every change is written aside and then published with one store (a new
 *    entry by linking it, a new value by flipping which of two copies is
 *    current), so whatever a stopped put left is either all there or not
 *    visible, and EOWNERDEAD needs no repair beyond pthread_mutex_consistent();
 *  - handlers take no other lock: no malloc (its arena locks are not robust),
 *    no stdio.  Entries come from a fixed pool.
 *
 * Protocol (one request, one reply): "P key value" stores, "G key" returns the
 * value or -ENOENT, "N" returns the number of keys, "R" the number of bucket
 * locks recovered from aborted hops.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hop.h>

#define BUCKETS		1024
#define MAX_ENTRIES	16384
#define KEY_MAX		64
#define VALUE_MAX	128

struct entry {
	int next;			/* index in pool, -1: end of chain */
	int cur;			/* which value is current */
	char key[KEY_MAX];
	char value[2][VALUE_MAX];
};

static struct entry pool[MAX_ENTRIES];
static int pool_used;			/* an aborted put may leak one: harmless */

static struct bucket {
	pthread_mutex_t lock;		/* robust */
	int head;			/* index in pool, -1: empty */
} table[BUCKETS];

static long nr_keys, nr_recovered;

static struct bucket *bucket_of(const char *key)
{
	unsigned long h = 5381;

	while (*key)
		h = h * 33 + (unsigned char)*key++;
	return &table[h % BUCKETS];
}

/* Lock a bucket, taking it over from a handler whose hop was aborted. */
static void bucket_lock(struct bucket *b)
{
	if (pthread_mutex_lock(&b->lock) == EOWNERDEAD) {
		/* Nothing to repair: every change is published by one store. */
		pthread_mutex_consistent(&b->lock);
		__atomic_add_fetch(&nr_recovered, 1, __ATOMIC_RELAXED);
	}
}

static struct entry *lookup(struct bucket *b, const char *key)
{
	int i;

	for (i = b->head; i >= 0; i = pool[i].next)
		if (!strcmp(pool[i].key, key))
			return &pool[i];
	return NULL;
}

static ssize_t put(const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);
	struct bucket *b = bucket_of(key);
	struct entry *e;
	int i;

	if (klen >= KEY_MAX || vlen >= VALUE_MAX)
		return -E2BIG;
	bucket_lock(b);
	e = lookup(b, key);
	if (e) {
		/* Write the copy that is not current, then flip. */
		memcpy(e->value[!e->cur], value, vlen + 1);
		__atomic_store_n(&e->cur, !e->cur, __ATOMIC_RELEASE);
	} else {
		i = __atomic_fetch_add(&pool_used, 1, __ATOMIC_RELAXED);
		if (i >= MAX_ENTRIES) {
			pthread_mutex_unlock(&b->lock);
			return -ENOSPC;
		}
		e = &pool[i];
		memcpy(e->key, key, klen + 1);
		memcpy(e->value[0], value, vlen + 1);
		e->cur = 0;
		e->next = b->head;
		/* Published: linked into the bucket. */
		__atomic_store_n(&b->head, i, __ATOMIC_RELEASE);
		__atomic_add_fetch(&nr_keys, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static ssize_t get(const char *key, char *resp, size_t cap)
{
	struct bucket *b = bucket_of(key);
	struct entry *e;
	ssize_t n = -ENOENT;

	bucket_lock(b);
	e = lookup(b, key);
	if (e) {
		n = (ssize_t)strlen(e->value[e->cur]);
		if ((size_t)n >= cap)
			n = -ENOSPC;
		else
			memcpy(resp, e->value[e->cur], (size_t)n);
	}
	pthread_mutex_unlock(&b->lock);
	return n;
}

static ssize_t kv(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	char buf[512], *key, *value;

	(void)ctx;
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, req, len);
	buf[len] = '\0';
	switch (buf[0]) {
	case 'P':
		key = strtok_r(buf + 1, " ", &value);
		return key && *value ? put(key, value) : -EINVAL;
	case 'G':
		key = buf + 2;
		return len > 2 ? get(key, resp, cap) : -EINVAL;
	case 'N':
		return snprintf(resp, cap, "%ld", __atomic_load_n(&nr_keys, __ATOMIC_RELAXED));
	case 'R':
		return snprintf(resp, cap, "%ld", __atomic_load_n(&nr_recovered, __ATOMIC_RELAXED));
	default:
		return -EINVAL;
	}
}

int main(int argc, char **argv)
{
	struct hop_serve_opts opts = { .size = sizeof(opts), .slots = 8 };
	const char *name = argc > 1 ? argv[1] : "kv";
	struct hop_service *svc;
	pthread_mutexattr_t robust;
	int i, err;

	pthread_mutexattr_init(&robust);
	pthread_mutexattr_setrobust(&robust, PTHREAD_MUTEX_ROBUST);
	for (i = 0; i < BUCKETS; i++) {
		pthread_mutex_init(&table[i].lock, &robust);
		table[i].head = -1;
	}
	err = hop_serve(&svc, name, kv, NULL, &opts);
	if (err) {
		fprintf(stderr, "kv-server: hop_serve: %s\n", strerror(-err));
		return 1;
	}
	printf("kv-server: pid %d serves \"%s\" with %u slots and no worker threads\n",
	       getpid(), name, opts.slots);
	fflush(stdout);
	pause();
	return 0;
}
