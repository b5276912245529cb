// SPDX-License-Identifier: GPL-2.0
/*
 * robust_test: pthread robust mutexes in handlers survive an aborted hop.
 *
 * A handler that holds a robust mutex when its hop is aborted (deadline,
 * fault, client killed) stops wherever it was.  The next pthread_mutex_lock()
 * of that mutex, by another handler or by a server thread, must return
 * EOWNERDEAD, and one that was already waiting must be woken to get it: what
 * the kernel does for a thread that exits holding one.  And robust mutexes
 * must exclude between slots at all, which needs each slot to have an owner
 * id of its own.
 *
 * On main before this test (c5ea347), whose slots' TLS blocks held tid 0
 * (their donor threads had exited): a robust mutex was "locked" by storing
 * 0 in it, which is no lock at all.  A trylock from a second slot succeeded
 * while the first slot held it (slots_exclude, client_killed_... and
 * waiter_is_woken gave up waiting for EBUSY after 5 s), and the lock after
 * an abort returned 0 at once instead of EOWNERDEAD (deadline_... and
 * fault_...): 1 of 6 passed, abort_without_lock_marks_nothing.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

/* The server's mutex: static, so it is at the same address in every fork. */
static pthread_mutex_t robust_lock;
volatile int *volatile robust_bad_pointer = (int *)16;

static void init_robust_lock(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pthread_mutex_init(&robust_lock, &a))
		_exit(3);
	pthread_mutexattr_destroy(&a);
}

/*
 * H: take the lock and spin until aborted.  F: take it and fault.
 * S: spin without it.  T: trylock (0 or -errno), unlocked again.
 * L: lock; reply "D" if the owner had died (made consistent), else "O".
 */
static ssize_t robust_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	char cmd = len ? *(const char *)req : 0;
	int r;

	(void)ctx;
	(void)cap;
	switch (cmd) {
	case 'H':
		if (pthread_mutex_lock(&robust_lock))
			return -EIO;
		/* fallthrough */
	case 'S':
		for (;;)
			__asm__ volatile("" ::: "memory");
	case 'F':
		if (pthread_mutex_lock(&robust_lock))
			return -EIO;
		*robust_bad_pointer = 1;
		return -EIO;
	case 'T':
		r = pthread_mutex_trylock(&robust_lock);
		if (r == 0)
			pthread_mutex_unlock(&robust_lock);
		if (r == EOWNERDEAD) {
			pthread_mutex_consistent(&robust_lock);
			pthread_mutex_unlock(&robust_lock);
		}
		return -r;
	case 'L':
		r = pthread_mutex_lock(&robust_lock);
		if (r == EOWNERDEAD)
			pthread_mutex_consistent(&robust_lock);
		else if (r)
			return -r;
		pthread_mutex_unlock(&robust_lock);
		*(char *)resp = r == EOWNERDEAD ? 'D' : 'O';
		return 1;
	}
	return -EINVAL;
}

/* One call with a deadline; the reply byte in *out. */
static ssize_t robust_call(struct hop_conn *c, char cmd, uint64_t timeout_ms, char *out)
{
	char resp[8] = "";
	ssize_t r = hop_test_call_ms(c, &cmd, 1, resp, sizeof(resp), timeout_ms);

	if (out)
		*out = resp[0];
	return r;
}

/* Wait until some slot holds the lock: trylock from another slot says EBUSY. */
static int wait_until_held(struct hop_conn *c)
{
	long long end = hop_test_now_ms() + 5000;

	while (hop_test_now_ms() < end) {
		if (robust_call(c, 'T', 2000, NULL) == -EBUSY)
			return 0;
		usleep(10 * 1000);
	}
	return -1;
}

/*
 * Fork a client that calls 'H' (take the lock and spin) with a deadline of
 * @timeout_ms (0: none, the test kills it); it exits 0 if the call timed out.
 */
static pid_t start_holder(const char *service, uint64_t timeout_ms)
{
	pid_t child = fork();

	if (child == 0) {
		struct hop_conn *c;

		if (hop_connect(&c, service))
			_exit(2);
		_exit(robust_call(c, 'H', timeout_ms, NULL) == -ETIMEDOUT ? 0 : 1);
	}
	return child;
}

FIXTURE(robust)
{
	struct hop_test_server srv;
	struct hop_conn *c;
};

FIXTURE_SETUP(robust)
{
	struct hop_serve_opts o = { .size = sizeof(o), .slots = 4 };

	ASSERT_EQ(0, hop_test_server_start(&self->srv, hop_test_name("robust"), robust_handler,
					   NULL, &o, init_robust_lock));
	ASSERT_EQ(0, hop_connect(&self->c, self->srv.name));
}

FIXTURE_TEARDOWN(robust)
{
	hop_disconnect(self->c);
	hop_test_server_stop(&self->srv);
}

/* Three rounds: the slot's list must be usable again after each recovery. */
TEST_F(robust, deadline_abort_marks_owner_dead)
{
	char out;
	int i;

	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-ETIMEDOUT, robust_call(self->c, 'H', 200, NULL));
		ASSERT_EQ(1, robust_call(self->c, 'L', 3000, &out));
		EXPECT_EQ('D', out);
		/* Made consistent and unlocked: an ordinary lock now. */
		ASSERT_EQ(1, robust_call(self->c, 'L', 3000, &out));
		EXPECT_EQ('O', out);
	}
}

TEST_F(robust, fault_marks_owner_dead)
{
	char out;

	EXPECT_EQ(-ECONNABORTED, robust_call(self->c, 'F', 3000, NULL));
	ASSERT_EQ(1, robust_call(self->c, 'L', 3000, &out));
	EXPECT_EQ('D', out);
}

/* A handler aborted without holding the lock leaves it alone. */
TEST_F(robust, abort_without_lock_marks_nothing)
{
	char out;

	EXPECT_EQ(-ETIMEDOUT, robust_call(self->c, 'S', 200, NULL));
	ASSERT_EQ(1, robust_call(self->c, 'L', 3000, &out));
	EXPECT_EQ('O', out);
}

TEST_F(robust, slots_exclude)
{
	pid_t child = start_holder(self->srv.name, 1000);

	ASSERT_GE(child, 0);
	EXPECT_EQ(0, wait_until_held(self->c));
	waitpid(child, NULL, 0);
}

/* The client dies mid-call: the exit path recovers the lock too. */
TEST_F(robust, client_killed_marks_owner_dead)
{
	char out;
	pid_t child = start_holder(self->srv.name, 0);

	ASSERT_GE(child, 0);
	ASSERT_EQ(0, wait_until_held(self->c)) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ASSERT_EQ(1, robust_call(self->c, 'L', 3000, &out));
	EXPECT_EQ('D', out);
}

/*
 * A handler already waiting for the lock (asleep in FUTEX_WAIT, with
 * FUTEX_WAITERS set) is woken when the holder's hop is aborted, not when its
 * own deadline comes.
 */
TEST_F(robust, waiter_is_woken)
{
	long long t0;
	char out;
	pid_t child = start_holder(self->srv.name, 1500);

	ASSERT_GE(child, 0);
	ASSERT_EQ(0, wait_until_held(self->c)) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	t0 = hop_test_now_ms();
	ASSERT_EQ(1, robust_call(self->c, 'L', 10000, &out));
	EXPECT_EQ('D', out);
	EXPECT_LT(hop_test_now_ms() - t0, 8000);
	waitpid(child, NULL, 0);
}

TEST_HARNESS_MAIN
