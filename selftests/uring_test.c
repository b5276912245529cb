// SPDX-License-Identifier: GPL-2.0
/*
 * uring_test: async calls through io_uring.  One thread submits several
 * IORING_OP_URING_CMD calls in one io_uring_submit(); each hops into the
 * handler at the syscall's return, leaves its device read pending, and the
 * device's interrupt completes it as a CQE.  Rings that cannot be made safe
 * are refused.
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

struct dev_req {
	unsigned int offset, len;
};

static unsigned char *server_cache;
static long handler_runs;
/* At the same address in the server and the client (a fork). */
static char shared_buf[16];

static void setup_cache(void)
{
	server_cache = mmap(NULL, HOP_DEV_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (server_cache == MAP_FAILED)
		_exit(3);
}

static ssize_t dev_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	struct dev_req r;
	int err;

	(void)ctx;
	handler_runs++;
	if (len == 4 && !memcmp(req, "runs", 4)) {
		memcpy(resp, &handler_runs, sizeof(handler_runs));
		return cap >= sizeof(handler_runs) ? (ssize_t)sizeof(handler_runs) : -ENOSPC;
	}
	if (len == 4 && !memcmp(req, "peek", 4)) {
		if (cap < sizeof(shared_buf))
			return -ENOSPC;
		memcpy(resp, shared_buf, sizeof(shared_buf));
		return sizeof(shared_buf);
	}
	if (len != sizeof(r))
		return -EINVAL;
	memcpy(&r, req, sizeof(r));
	err = hop_dev_read(r.offset, r.len, server_cache + r.offset);
	return err ? err : HOP_PENDING;
}

#define CALLS 4

TEST(calls_through_io_uring_complete_as_cqes)
{
	struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN };
	static unsigned char bufs[CALLS][128];
	struct hop_call calls[CALLS];
	struct dev_req reqs[CALLS];
	struct hop_test_server srv;
	struct io_uring_cqe *cqe;
	struct hop_conn *conn;
	struct io_uring ring;
	int i, j, seen = 0;

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("uring"), dev_handler,
					   NULL, NULL, setup_cache));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	ASSERT_EQ(0, io_uring_queue_init_params(8, &ring, &p));
	for (i = 0; i < CALLS; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		reqs[i] = (struct dev_req){ .offset = 100 * i, .len = 100 };
		hop_prep_call(sqe, conn, &calls[i], &reqs[i], sizeof(reqs[i]), bufs[i], 128);
		io_uring_sqe_set_data64(sqe, 1000 + i);
	}
	/* Every call hops into the handler before io_uring_submit() returns. */
	ASSERT_EQ(CALLS, io_uring_submit(&ring));
	for (i = 0; i < CALLS; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
		j = (int)(cqe->user_data - 1000);
		ASSERT_GE(j, 0);
		ASSERT_LT(j, CALLS);
		EXPECT_EQ(100, cqe->res);
		EXPECT_EQ(hop_test_dev_pattern(reqs[j].offset), bufs[j][0]);
		EXPECT_EQ(hop_test_dev_pattern(reqs[j].offset + 99), bufs[j][99]);
		seen |= 1 << j;
		io_uring_cqe_seen(&ring, cqe);
	}
	EXPECT_EQ((1 << CALLS) - 1, seen);
	io_uring_queue_exit(&ring);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

static void *write_later(void *p)
{
	int fd = *(int *)p;

	usleep(300 * 1000);
	if (write(fd, "from-the-socket", 16) != 16)
		return (void *)1;
	return NULL;
}

/*
 * Review #10.  One io_uring_enter() submits a hop call and a read and waits
 * for both (io_uring_submit_and_wait()).  main: the hop began inside the
 * wait, so the rest of the wait ran as the server: the read's data landed
 * in the server's copy of shared_buf, the client's stayed empty, and
 * io_uring_enter() returned -ENOSYS.  Now: the wait is interrupted (-EINTR,
 * as by a signal), the hop runs at the return to user mode, and the read
 * completes into the client, whose next wait reaps both CQEs.
 */
TEST(submit_and_wait_keeps_the_wait_the_clients)
{
	struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN };
	struct hop_test_server srv;
	struct io_uring_cqe *cqe;
	struct hop_conn *conn;
	struct io_uring ring;
	struct hop_call call;
	struct io_uring_sqe *sqe;
	long runs = 0;
	char peek[16];
	int sv[2], i, ret, status, seen = 0;
	pthread_t t;
	pid_t pid;

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("uring-wait"), dev_handler,
					   NULL, NULL, setup_cache));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, io_uring_queue_init_params(8, &ring, &p));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, sv[0], shared_buf, sizeof(shared_buf), 0);
	io_uring_sqe_set_data64(sqe, 1);
	sqe = io_uring_get_sqe(&ring);
	hop_prep_call(sqe, conn, &call, "runs", 4, &runs, sizeof(runs));
	io_uring_sqe_set_data64(sqe, 2);
	ASSERT_EQ(0, pthread_create(&t, NULL, write_later, &sv[1]));
	ret = io_uring_submit_and_wait(&ring, 2);
	EXPECT_TRUE(ret == 2 || ret == -EINTR) TH_LOG("io_uring_submit_and_wait: %d", ret);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
		if (cqe->user_data == 1) {
			EXPECT_EQ(16, cqe->res);
		} else {
			EXPECT_EQ((int)sizeof(runs), cqe->res);
		}
		seen |= 1 << cqe->user_data;
		io_uring_cqe_seen(&ring, cqe);
	}
	EXPECT_EQ(6, seen);
	pthread_join(t, NULL);
	EXPECT_EQ(0, memcmp(shared_buf, "from-the-socket", 16));
	/* The server's copy was never written (asked by a child: this task has a ring). */
	pid = fork();
	if (pid == 0)
		_exit(hop_call(conn, "peek", 4, peek, sizeof(peek)) == 16 ? peek[0] : 255);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	io_uring_queue_exit(&ring);
	close(sv[0]);
	close(sv[1]);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

TEST(unsafe_rings_are_refused)
{
	struct hop_test_server srv;
	struct io_uring_cqe *cqe;
	struct hop_conn *conn;
	struct io_uring ring;
	struct hop_call call;
	struct dev_req r = { .offset = 0, .len = 8 };
	unsigned char buf[8];

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("uring-no"), dev_handler,
					   NULL, NULL, setup_cache));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	/* A ring whose task work runs at any return to user mode. */
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	hop_prep_call(io_uring_get_sqe(&ring), conn, &call, &r, sizeof(r), buf, sizeof(buf));
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(-EOPNOTSUPP, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	/* An unknown command. */
	hop_prep_call(io_uring_get_sqe(&ring), conn, &call, &r, sizeof(r), buf, sizeof(buf));
	ring.sq.sqes[(ring.sq.sqe_tail - 1) & *ring.sq.kring_mask].cmd_op = 99;
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(-ENOTTY, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

TEST_HARNESS_MAIN
