// SPDX-License-Identifier: GPL-2.0
/*
 * stress_test: many clients and servers for a bounded time (STRESS_SECONDS,
 * default 15) while a driver kills clients and servers at random and some
 * handlers fault, nest or overrun their deadline.  Every call must end with
 * a correct reply or one of the documented errnos, and once everything is
 * gone the module must hold no service and no hop (debugfs stats).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

#define SERVERS		3
#define CLIENTS		5
#define THREADS		3
#define SEED		20261121

struct shared {
	atomic_long ok, documented, bad;
	int last_bad;
	char names[SERVERS][HOP_NAME_MAX];
};
static struct shared *sh;
static int my_index;		/* which server this process is */
/* Per slot: each slot has its own TLS, so concurrent hops never share it. */
static __thread struct hop_conn *next_conn;

static ssize_t stress_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	const unsigned char *r = req;
	volatile int *volatile nowhere = NULL;

	(void)ctx;
	if (len < 2 || len > cap)
		return -EINVAL;
	switch (r[0]) {
	case 'f':
		*nowhere = 1;		/* fault: the client gets ECONNABORTED */
		break;
	case 's':
		usleep(1000 * r[1]);	/* sometimes past the deadline */
		break;
	case 'n': {			/* nest into the next server */
		unsigned char inner[64];
		ssize_t n;

		if (!next_conn && hop_connect(&next_conn, sh->names[(my_index + 1) % SERVERS]))
			return -ECONNREFUSED;
		memcpy(inner, req, len);
		inner[0] = 'e';
		n = hop_call(next_conn, inner, len, resp, cap);
		if (n == -ECONNREFUSED) {
			struct hop_conn *dead = next_conn;

			/*
			 * An abort (deadline, client death) abandons a handler
			 * wherever it is: forget the handle before closing it,
			 * so no abort can leave a closed one behind.
			 */
			next_conn = NULL;
			hop_disconnect(dead);
		}
		if (n < 0)
			return n;
		((unsigned char *)resp)[0] = 'n' + 1;
		return n;
	}
	}
	memcpy(resp, req, len);
	((unsigned char *)resp)[0] = r[0] + 1;
	return (ssize_t)len;
}

static void server_main(int idx)
{
	struct hop_serve_opts o = { .size = sizeof(o), .slots = 4, .timeout_ns = 50 * 1000 * 1000 };
	struct hop_service *svc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	my_index = idx;
	if (hop_serve(&svc, sh->names[idx], stress_handler, NULL, &o))
		_exit(1);
	for (;;)
		pause();
}

static int documented(long err)
{
	return err == -ECONNREFUSED || err == -ECONNABORTED || err == -ETIMEDOUT ||
	       err == -ENOENT || err == -EAGAIN;
}

static void *client_thread(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	struct hop_conn *conns[SERVERS] = { 0 };
	unsigned char req[48], resp[48];
	long n;
	int s, k;

	for (;;) {
		s = rand_r(&seed) % SERVERS;
		if (!conns[s]) {
			n = hop_connect(&conns[s], sh->names[s]);
			if (n) {
				conns[s] = NULL;
				atomic_fetch_add(documented(n) ? &sh->documented : &sh->bad, 1);
				usleep(1000);
				continue;
			}
		}
		k = rand_r(&seed) % 100;
		req[0] = k < 3 ? 'f' : k < 8 ? 's' : k < 30 ? 'n' : 'e';
		req[1] = (unsigned char)(rand_r(&seed) % 80);
		memset(req + 2, k, sizeof(req) - 2);
		n = hop_call(conns[s], req, sizeof(req), resp, sizeof(resp));
		if (n == (long)sizeof(req) && resp[0] == req[0] + 1 && !memcmp(resp + 1, req + 1, sizeof(req) - 1)) {
			atomic_fetch_add(&sh->ok, 1);
		} else if (n < 0 && documented(n)) {
			atomic_fetch_add(&sh->documented, 1);
			if (n == -ECONNREFUSED) {
				hop_disconnect(conns[s]);
				conns[s] = NULL;
			}
		} else {
			atomic_fetch_add(&sh->bad, 1);
			sh->last_bad = (int)n;
		}
	}
	return NULL;
}

static void client_main(unsigned int seed)
{
	pthread_t th[THREADS];
	int t;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, client_thread, (void *)(uintptr_t)(seed * 31 + t));
	for (;;)
		pause();
}

static pid_t spawn(void (*fn)(int), int arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	return pid;
}

static void client_entry(int seed)
{
	client_main((unsigned int)seed);
}

TEST(random_kills_under_load)
{
	pid_t servers[SERVERS], clients[CLIENTS];
	const char *env = getenv("STRESS_SECONDS");
	int seconds = env ? atoi(env) : 15;
	unsigned int seed = SEED;
	long long rounds = 0, kills = 0;
	time_t end;
	int i, waited;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	for (i = 0; i < SERVERS; i++)
		snprintf(sh->names[i], HOP_NAME_MAX, "stress-%d-%d", getpid(), i);
	for (i = 0; i < SERVERS; i++)
		servers[i] = spawn(server_main, i);
	for (i = 0; i < CLIENTS; i++)
		clients[i] = spawn(client_entry, SEED + i);

	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		usleep(100 * 1000 + rand_r(&seed) % 200000);
		i = rand_r(&seed) % (SERVERS + CLIENTS);
		if (i < SERVERS) {
			kill(servers[i], SIGKILL);
			waitpid(servers[i], NULL, 0);
			servers[i] = spawn(server_main, i);
		} else {
			i -= SERVERS;
			kill(clients[i], SIGKILL);
			waitpid(clients[i], NULL, 0);
			clients[i] = spawn(client_entry, (int)(SEED + 100 + rounds));
		}
		kills++;
		rounds++;
	}
	for (i = 0; i < CLIENTS; i++) {
		kill(clients[i], SIGKILL);
		waitpid(clients[i], NULL, 0);
	}
	for (i = 0; i < SERVERS; i++) {
		kill(servers[i], SIGKILL);
		waitpid(servers[i], NULL, 0);
	}
	TH_LOG("%d s: %lld kills, %ld correct replies, %ld documented errors, %ld bad (last %d)",
	       seconds, kills, atomic_load(&sh->ok), atomic_load(&sh->documented),
	       atomic_load(&sh->bad), sh->last_bad);
	EXPECT_EQ(0, atomic_load(&sh->bad));
	EXPECT_GT(atomic_load(&sh->ok), 100);
	EXPECT_GT(kills, 5);
	/* Services are freed from a workqueue: give it a moment. */
	for (waited = 0; waited < 50 && (hop_test_stat("services") || hop_test_stat("frames")); waited++)
		usleep(100 * 1000);
	EXPECT_EQ(0, hop_test_stat("services"));
	EXPECT_EQ(0, hop_test_stat("frames"));
}

TEST_HARNESS_MAIN
