// SPDX-License-Identifier: MIT-0
/*
 * kv-server: a key-value store served over hop.  The table lives in this
 * process's memory; the process has no worker threads: every get and put runs
 * on a client's thread that hopped in.  A mutex per bucket keeps concurrent
 * hops apart, exactly as it would keep server threads apart.
 *
 * Protocol (one request, one reply): "P key value" stores, "G key" returns the
 * value or -ENOENT, "N" returns the number of keys.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hop.h>

#define BUCKETS 1024

struct entry {
	struct entry *next;
	char *key, *value;
};

static struct bucket {
	pthread_mutex_t lock;
	struct entry *head;
} table[BUCKETS];

static long nr_keys;
static pthread_mutex_t nr_lock = PTHREAD_MUTEX_INITIALIZER;

static struct bucket *bucket_of(const char *key)
{
	unsigned long h = 5381;

	while (*key)
		h = h * 33 + (unsigned char)*key++;
	return &table[h % BUCKETS];
}

static ssize_t put(char *key, const char *value)
{
	struct bucket *b = bucket_of(key);
	struct entry *e;
	char *v = strdup(value);

	if (!v)
		return -ENOMEM;
	pthread_mutex_lock(&b->lock);
	for (e = b->head; e; e = e->next)
		if (!strcmp(e->key, key))
			break;
	if (e) {
		free(e->value);
		e->value = v;
	} else {
		e = malloc(sizeof(*e));
		if (!e || !(e->key = strdup(key))) {
			pthread_mutex_unlock(&b->lock);
			free(e);
			free(v);
			return -ENOMEM;
		}
		e->value = v;
		e->next = b->head;
		b->head = e;
		pthread_mutex_lock(&nr_lock);
		nr_keys++;
		pthread_mutex_unlock(&nr_lock);
	}
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static ssize_t get(const char *key, char *resp, size_t cap)
{
	struct bucket *b = bucket_of(key);
	struct entry *e;
	ssize_t n = -ENOENT;

	pthread_mutex_lock(&b->lock);
	for (e = b->head; e; e = e->next)
		if (!strcmp(e->key, key)) {
			n = snprintf(resp, cap, "%s", e->value);
			if ((size_t)n >= cap)
				n = -ENOSPC;
			break;
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
		pthread_mutex_lock(&nr_lock);
		len = (size_t)snprintf(resp, cap, "%ld", nr_keys);
		pthread_mutex_unlock(&nr_lock);
		return (ssize_t)len;
	default:
		return -EINVAL;
	}
}

int main(int argc, char **argv)
{
	struct hop_serve_opts opts = { .size = sizeof(opts), .slots = 8 };
	const char *name = argc > 1 ? argv[1] : "kv";
	struct hop_service *svc;
	int i, err;

	for (i = 0; i < BUCKETS; i++)
		pthread_mutex_init(&table[i].lock, NULL);
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
