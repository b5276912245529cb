// SPDX-License-Identifier: GPL-2.0
/*
 * call_test: what a call tells its two sides beyond the bytes.  The deadline
 * bounds the wait for a slot too; the caller can tell the handler's errors
 * from hop's (hop_call_opts.origin); a handle polls EPOLLHUP once its service
 * is gone and a service fd EPOLLPRI once its last handle closed; struct
 * hop_call grows (an older, smaller one is accepted; a larger one only with
 * a zero tail).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

_Static_assert(HOP_PENDING == HOP_RESULT_PENDING, "libhop's HOP_PENDING is the ABI's");

static ssize_t handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	if (len == 3 && !memcmp(req, "nap", 3)) {
		usleep(500 * 1000);
		return 0;
	}
	if (len == 5 && !memcmp(req, "sleep", 5)) {
		sleep(2);
		return 0;
	}
	if (len == 8 && !memcmp(req, "timedout", 8))
		return -ETIMEDOUT;		/* the handler's own ETIMEDOUT */
	return hop_test_echo(ctx, req, len, resp, cap);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

FIXTURE(one_slot)
{
	struct hop_test_server srv;
	struct hop_conn *conn;
};

FIXTURE_SETUP(one_slot)
{
	struct hop_serve_opts o = { .size = sizeof(o), .slots = 1 };

	ASSERT_EQ(0, hop_test_server_start(&self->srv, hop_test_name("call"), handler, NULL,
					   &o, NULL));
	ASSERT_EQ(0, hop_connect(&self->conn, self->srv.name));
}

FIXTURE_TEARDOWN(one_slot)
{
	hop_disconnect(self->conn);
	hop_test_server_stop(&self->srv);
}

static void *nap_thread(void *conn)
{
	return (void *)(intptr_t)hop_call(conn, "nap", 3, NULL, 0);
}

static ssize_t call_with(struct hop_conn *c, const char *cmd, uint64_t timeout_ns,
			 unsigned int *origin)
{
	struct hop_call_opts o = { .size = sizeof(o), .timeout_ns = timeout_ns,
				   .origin = origin };
	char out[16];

	return hop_call_opts(c, cmd, strlen(cmd), out, sizeof(out), &o);
}

/*
 * Issue 17 (4).  main: the deadline started once a slot was claimed, so a
 * call with a 100 ms deadline behind a 500 ms hop waited for the slot and
 * then succeeded.  Now: -ETIMEDOUT after about 100 ms, without a hop.
 */
TEST_F(one_slot, deadline_covers_the_slot_wait)
{
	unsigned int origin = 0;
	long long t0;
	pthread_t t;
	void *r;

	ASSERT_EQ(0, pthread_create(&t, NULL, nap_thread, self->conn));
	usleep(100 * 1000);
	t0 = now_ms();
	EXPECT_EQ(-ETIMEDOUT, call_with(self->conn, "hello", 100 * 1000000ULL, &origin));
	EXPECT_EQ(HOP_ORIGIN_HOP, origin);
	EXPECT_GE(now_ms() - t0, 90);
	EXPECT_LT(now_ms() - t0, 450);		/* not the rest of the 500 ms hop */
	pthread_join(t, &r);
	EXPECT_EQ(0, (intptr_t)r);
}

/* Issue 17 (5): the handler's -ETIMEDOUT and a deadline's, told apart. */
TEST_F(one_slot, origin_tells_handler_from_hop)
{
	unsigned int origin = 0;

	EXPECT_EQ(-ETIMEDOUT, call_with(self->conn, "timedout", 0, &origin));
	EXPECT_EQ(HOP_ORIGIN_HANDLER, origin);
	origin = 0;
	EXPECT_EQ(-ETIMEDOUT, call_with(self->conn, "sleep", 100 * 1000000ULL, &origin));
	EXPECT_EQ(HOP_ORIGIN_HOP, origin);
	origin = 0;
	EXPECT_EQ(5, call_with(self->conn, "hello", 0, &origin));
	EXPECT_EQ(HOP_ORIGIN_HANDLER, origin);
	/* Refused before any handler: hop's. */
	origin = 0;
	{
		struct hop_call_opts o = { .size = sizeof(o), .origin = &origin };
		static char big[HOP_MSG_MIN + 1];

		EXPECT_EQ(-EMSGSIZE, hop_call_opts(self->conn, big, sizeof(big), NULL, 0, &o));
	}
	EXPECT_EQ(HOP_ORIGIN_HOP, origin);
}

/* Issue 17 (2): death notices, both ways. */
TEST_F(one_slot, handle_polls_hup_when_the_service_is_gone)
{
	struct pollfd p = { .fd = hop_conn_fd(self->conn), .events = POLLIN };

	EXPECT_EQ(0, poll(&p, 1, 0));
	hop_test_server_stop(&self->srv);
	EXPECT_EQ(1, poll(&p, 1, 5000));
	EXPECT_TRUE(p.revents & POLLHUP);
	EXPECT_EQ(-ECONNREFUSED, hop_call(self->conn, "hello", 5, NULL, 0));
}

TEST(service_fd_polls_pri_when_the_last_handle_closes)
{
	const char *name = hop_test_name("unref");
	struct hop_service *svc;
	struct hop_conn *a, *b;
	struct pollfd p = { .events = POLLPRI };

	ASSERT_EQ(0, hop_serve(&svc, name, handler, NULL, NULL));
	p.fd = hop_service_fd(svc);
	EXPECT_EQ(0, poll(&p, 1, 0));		/* no handle yet: nothing to say */
	ASSERT_EQ(0, hop_connect(&a, name));
	ASSERT_EQ(0, hop_connect(&b, name));
	EXPECT_EQ(0, poll(&p, 1, 0));
	hop_disconnect(a);
	EXPECT_EQ(0, poll(&p, 1, 0));		/* one left */
	hop_disconnect(b);
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_TRUE(p.revents & POLLPRI);
	ASSERT_EQ(0, hop_connect(&a, name));	/* a new handle clears it */
	EXPECT_EQ(0, poll(&p, 1, 0));
	hop_disconnect(a);
	EXPECT_EQ(0, hop_unserve(svc));
}

/* Issue 17 (6): struct hop_call of an older or newer size. */
TEST_F(one_slot, call_struct_sizes)
{
	char out[8];
	struct {
		struct hop_call c;
		uint64_t tail;
	} big = { .c = { .size = sizeof(big), .req = (uintptr_t)"abc", .req_len = 3,
			 .resp = (uintptr_t)out, .resp_cap = sizeof(out) } };
	int fd = hop_conn_fd(self->conn);

	big.c.size = HOP_CALL_SIZE_VER0;	/* an older caller: no origin */
	EXPECT_EQ(3, hop_test_ioctl(fd, HOP_IOC_CALL, &big));
	/* ... with the command number its header gave it (the size is in it). */
	EXPECT_EQ(3, hop_test_ioctl(fd, HOP_IOC_CALL_VER0, &big));
	big.c.size = sizeof(big);		/* a newer one, unknown tail zero */
	EXPECT_EQ(3, hop_test_ioctl(fd, HOP_IOC_CALL, &big));
	big.tail = 1;				/* unknown tail set: refused */
	EXPECT_EQ(-E2BIG, hop_test_ioctl(fd, HOP_IOC_CALL, &big));
	big.c.size = HOP_CALL_SIZE_VER0 - 8;
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CALL, &big));
	/* Async calls have no origin. */
	big.tail = 0;
	big.c.size = sizeof(big.c);
	big.c.flags = HOP_CALL_ASYNC;
	big.c.origin = (uintptr_t)out;
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CALL, &big));
}

TEST_HARNESS_MAIN
