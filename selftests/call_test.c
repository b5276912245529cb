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

/* Fds in use in current's table: the server's in a handler (/proc/self is the caller's there). */
static int count_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static int last_received = -1;		/* in the server: the fd number it got */

/* fd commands, run in the handler; the reply is an int or a short string. */
static ssize_t fd_command(const char *cmd, size_t len, void *resp, size_t cap)
{
	int fds[HOP_MAX_FDS + 1], n, p[2], r = 0;

	if (len == 5 && !memcmp(cmd, "write", 5)) {
		/* Write into the fd the caller sent; say whether it was close-on-exec. */
		n = hop_recv_fds(fds, HOP_MAX_FDS);
		if (n != 1)
			return n < 0 ? n : -EPROTO;
		r = fcntl(fds[0], F_GETFD) == FD_CLOEXEC;
		if (write(fds[0], "hi", 2) != 2)
			r = -errno;
		close(fds[0]);
	} else if (len == 4 && !memcmp(cmd, "back", 4)) {
		/* A pipe of the server's, its read end sent back. */
		if (pipe(p) || write(p[1], "srv", 3) != 3)
			return -errno;
		r = hop_send_fds(&p[0], 1);
		close(p[0]);
		close(p[1]);
	} else if (len == 7 && !memcmp(cmd, "toomany", 7)) {
		for (n = 0; n <= HOP_MAX_FDS; n++)
			fds[n] = 0;
		r = hop_send_fds(fds, 2);	/* more than the caller's rfds_cap of 1 */
	} else if (len == 5 && !memcmp(cmd, "count", 5)) {
		r = count_fds();
	} else if (len == 4 && !memcmp(cmd, "hold", 4)) {
		/* Keep the received fd and overrun the deadline. */
		n = hop_recv_fds(fds, 1);
		last_received = n == 1 ? fds[0] : -1;
		sleep(2);
	} else if (len == 9 && !memcmp(cmd, "holdwrite", 9)) {
		/* Keep the received fd, say so through it, and overrun. */
		n = hop_recv_fds(fds, 1);
		if (n != 1 || write(fds[0], "x", 1) != 1)
			return -EPROTO;
		sleep(3);
	} else if (len == 4 && !memcmp(cmd, "held", 4)) {
		/* Is the fd of the aborted call still open in the server? */
		r = last_received >= 0 && fcntl(last_received, F_GETFD) >= 0;
	} else {
		return -EINVAL;
	}
	if (r < 0)
		return r;
	if (cap < sizeof(r))
		return -EMSGSIZE;
	memcpy(resp, &r, sizeof(r));
	return sizeof(r);
}

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
	if (len >= 3 && !memcmp(req, "fd:", 3))
		return fd_command((const char *)req + 3, len - 3, resp, cap);
	return hop_test_echo(ctx, req, len, resp, cap);
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
	t0 = hop_test_now_ms();
	EXPECT_EQ(-ETIMEDOUT, call_with(self->conn, "hello", 100 * 1000000ULL, &origin));
	EXPECT_EQ(HOP_ORIGIN_HOP, origin);
	EXPECT_GE(hop_test_now_ms() - t0, 90);
	EXPECT_LT(hop_test_now_ms() - t0, 450);		/* not the rest of the 500 ms hop */
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

/*
 * Issue 17 (6): libhop's option structs grow the same way.  On main before
 * this test (ebf9875) a newer caller's unknown, non-zero options were
 * silently ignored: both -E2BIG cases returned 3 and 0.
 */
TEST_F(one_slot, opts_struct_sizes)
{
	char out[8];
	struct {
		struct hop_call_opts o;
		uint64_t tail;
	} call = { .o = { .size = sizeof(call) } };
	struct {
		struct hop_serve_opts o;
		uint64_t tail;
	} serve = { .o = { .size = sizeof(serve) } };
	struct hop_service *svc;

	/* Newer, unknown options unset: accepted. */
	EXPECT_EQ(3, hop_call_opts(self->conn, "abc", 3, out, sizeof(out), &call.o));
	/* An option this libhop does not know, set: refused, nothing done. */
	call.tail = 1;
	EXPECT_EQ(-E2BIG, hop_call_opts(self->conn, "abc", 3, out, sizeof(out), &call.o));
	serve.tail = 1;
	EXPECT_EQ(-E2BIG, hop_serve(&svc, hop_test_name("opts"), hop_test_echo, NULL, &serve.o));
	serve.tail = 0;
	ASSERT_EQ(0, hop_serve(&svc, hop_test_name("opts"), hop_test_echo, NULL, &serve.o));
	EXPECT_EQ(0, hop_unserve(svc));
}


static long fd_call(struct hop_conn *c, const char *cmd, const int *fds, unsigned int nfds,
		    int *rfds, unsigned int rfds_cap, unsigned int *nrfds)
{
	struct hop_call_opts o = { .size = sizeof(o), .fds = fds, .nfds = nfds,
				   .rfds = rfds, .rfds_cap = rfds_cap, .nrfds = nrfds };
	int v = 0;
	ssize_t r = hop_call_opts(c, cmd, strlen(cmd), &v, sizeof(v), &o);

	return r < 0 ? r : v;
}

/* Issue 17 (1): an fd into the server, installed close-on-exec. */
TEST_F(one_slot, fds_travel_with_the_request)
{
	int p[2];
	char buf[4] = "";

	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(1, fd_call(self->conn, "fd:write", &p[1], 1, NULL, 0, NULL));
	EXPECT_EQ(2, read(p[0], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "hi", 2));
	close(p[0]);
	close(p[1]);
}

/* ... and back with the reply, into the caller's table. */
TEST_F(one_slot, fds_travel_with_the_reply)
{
	unsigned int n = 99;
	int r[2] = { -1, -1 }, before = count_fds();
	char buf[4] = "";

	EXPECT_EQ(0, fd_call(self->conn, "fd:back", NULL, 0, r, 2, &n));
	ASSERT_EQ(1, n);
	EXPECT_EQ(FD_CLOEXEC, fcntl(r[0], F_GETFD));
	EXPECT_EQ(3, read(r[0], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "srv", 3));
	EXPECT_EQ(before + 1, count_fds());
	close(r[0]);
}

/* Every bad input: its errno, nothing installed anywhere, no reference left. */
TEST_F(one_slot, fd_errors_install_nothing)
{
	int many[HOP_MAX_FDS + 1], r[2], i, mine = count_fds();
	int theirs = fd_call(self->conn, "fd:count", NULL, 0, NULL, 0, NULL);
	unsigned int n = 99;
	int bad = 1000;

	ASSERT_LT(0, theirs);
	for (i = 0; i <= HOP_MAX_FDS; i++)
		many[i] = 0;
	EXPECT_EQ(-EBADF, fd_call(self->conn, "fd:write", &bad, 1, NULL, 0, NULL));
	EXPECT_EQ(-E2BIG, fd_call(self->conn, "fd:write", many, HOP_MAX_FDS + 1, NULL, 0, NULL));
	EXPECT_EQ(-E2BIG, fd_call(self->conn, "fd:back", NULL, 0, r, HOP_MAX_FDS + 1, &n));
	/* The handler sends more than the caller has room for: its hop_send_fds fails. */
	EXPECT_EQ(-E2BIG, fd_call(self->conn, "fd:toomany", NULL, 0, r, 1, &n));
	EXPECT_EQ(0, n);
	EXPECT_EQ(mine, count_fds());
	EXPECT_EQ(theirs, fd_call(self->conn, "fd:count", NULL, 0, NULL, 0, NULL));
	/* Outside a handler. */
	EXPECT_EQ(-EPERM, hop_recv_fds(r, 1));
	EXPECT_EQ(-EPERM, hop_send_fds(r, 1));
}

/* No room in the caller's table: -EMFILE, nothing installed, the server unchanged. */
TEST_F(one_slot, no_room_for_the_reply_fds)
{
	int theirs = fd_call(self->conn, "fd:count", NULL, 0, NULL, 0, NULL);
	int dups[1024], k = 0, r[1];
	unsigned int n = 99;

	while (k < 1024 && (dups[k] = dup(0)) >= 0)
		k++;
	ASSERT_EQ(EMFILE, errno);
	EXPECT_EQ(-EMFILE, fd_call(self->conn, "fd:back", NULL, 0, r, 1, &n));
	EXPECT_EQ(0, n);
	while (k)
		close(dups[--k]);
	EXPECT_EQ(theirs, fd_call(self->conn, "fd:count", NULL, 0, NULL, 0, NULL));
}

/* A call aborted after its fds were installed closes them in the server. */
TEST_F(one_slot, aborted_call_closes_its_fds_in_the_server)
{
	struct hop_call_opts o = { .size = sizeof(o), .timeout_ns = 200 * 1000000ULL };
	int p[2], v;

	ASSERT_EQ(0, pipe(p));
	o.fds = &p[1];
	o.nfds = 1;
	EXPECT_EQ(-ETIMEDOUT, hop_call_opts(self->conn, "fd:hold", 7, &v, sizeof(v), &o));
	EXPECT_EQ(0, fd_call(self->conn, "fd:held", NULL, 0, NULL, 0, NULL));
	close(p[0]);
	close(p[1]);
}

/*
 * A client that dies mid-call: the fds its request installed in the server
 * are closed there too, so the last writer of this pipe goes away and its
 * reader sees end of file.  On main before this test (ef7cf4e) the write end
 * stayed in the server's table: no POLLHUP within 3 s.
 */
TEST_F(one_slot, client_death_closes_its_fds_in_the_server)
{
	struct pollfd pfd;
	int p[2];
	char c;
	pid_t child;

	ASSERT_EQ(0, pipe(p));
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		struct hop_call_opts o = { .size = sizeof(o), .fds = &p[1], .nfds = 1 };
		int v;

		close(p[0]);
		hop_call_opts(self->conn, "fd:holdwrite", 12, &v, sizeof(v), &o);
		_exit(0);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	/* The handler holds the fd once it has written through it. */
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_EQ(1, read(p[0], &c, 1));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	EXPECT_EQ(1, poll(&pfd, 1, 3000));
	EXPECT_EQ(0, read(p[0], &c, 1));	/* end of file: no writer left */
	close(p[0]);
}

TEST_HARNESS_MAIN
