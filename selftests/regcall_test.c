// SPDX-License-Identifier: GPL-2.0
/*
 * regcall_test: register calls (HOP_IOC_CALL_REGS, hop_call_regs()).  A
 * request and a reply of at most six words travel in registers: the
 * handler sees exactly the request's words (the rest zero), the caller gets
 * exactly the reply's words (the rest zero), and every bad input has its
 * errno.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

static struct hop_service *regs_svc;	/* in the server: its own service */
volatile int *volatile regs_bad_pointer = (int *)16;

/*
 * Commands in word 0: 1 echo the words reversed; 2 reply with all six words
 * as seen; 3 reply 49 bytes (too long); 4 end a register call with the
 * buffer return; 5 fault; 6 nap 300 ms, then echo.
 */
static ssize_t regs_handler(void *ctx, const uint64_t req[6], size_t len, uint64_t resp[6])
{
	struct hop_return r = { .result = 0 };
	unsigned int i, n = (len + 7) / 8;

	(void)ctx;
	switch (len ? req[0] : 0) {
	case 1:
		for (i = 0; i < n; i++)
			resp[i] = req[n - 1 - i];
		return len;
	case 2:
		for (i = 0; i < 6; i++)
			resp[i] = req[i];
		return 48;
	case 3:
		return 49;
	case 4:
		return hop_test_ioctl(hop_service_fd(regs_svc), HOP_IOC_RETURN, &r);
	case 5:
		*regs_bad_pointer = 1;
		return 0;
	case 6:
		usleep(300 * 1000);
		resp[0] = req[0];
		return 8;
	}
	return -EINVAL;
}

static ssize_t buf_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	/* A buffer call that tries to end with the register return. */
	if (len == 3 && !memcmp(req, "reg", 3))
		return hop_test_ioctl(hop_service_fd(regs_svc), HOP_IOC_RETURN_REGS, (void *)0);
	return hop_test_echo(ctx, req, len, resp, cap);
}

static pid_t start_server(const char *name, int with_regs, unsigned int slots)
{
	struct hop_serve_opts o = { .size = sizeof(o), .slots = slots,
				    .regs_fn = with_regs ? regs_handler : NULL };
	int p[2], err = -EIO;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		err = hop_serve(&regs_svc, name, buf_handler, NULL, &o);
		if (write(p[1], &err, sizeof(err)) != sizeof(err) || err)
			_exit(1);
		for (;;)
			pause();
	}
	if (read(p[0], &err, sizeof(err)) != sizeof(err) || err)
		pid = -1;
	close(p[0]);
	close(p[1]);
	return pid;
}

FIXTURE(regs)
{
	pid_t pid;
	struct hop_conn *conn;
};

FIXTURE_SETUP(regs)
{
	const char *name = hop_test_name("regs");

	self->pid = start_server(name, 1, 1);
	ASSERT_LT(0, self->pid);
	ASSERT_EQ(0, hop_connect(&self->conn, name));
}

FIXTURE_TEARDOWN(regs)
{
	hop_disconnect(self->conn);
	kill(self->pid, SIGKILL);
	waitpid(self->pid, NULL, 0);
}

TEST_F(regs, words_travel_both_ways)
{
	uint64_t req[6] = { 1, 22, 333, 4444, 55555, 666666 }, resp[6];
	size_t len;

	for (len = 8; len <= 48; len += 8) {
		memset(resp, 0xee, sizeof(resp));
		ASSERT_EQ((ssize_t)len, hop_call_regs(self->conn, req, len, resp, 0));
		EXPECT_EQ(req[len / 8 - 1], resp[0]);
		EXPECT_EQ(1, resp[len / 8 - 1]);
		/* Words past the reply are zero, not the handler's registers. */
		if (len < 48)
			EXPECT_EQ(0, resp[5]);
	}
}

TEST_F(regs, handler_sees_only_the_request_words)
{
	uint64_t req[6] = { 2, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555 }, resp[6];

	/* 12 bytes: words 0 and 1; the rest of req must not reach the handler. */
	ASSERT_EQ(48, hop_call_regs(self->conn, req, 12, resp, 0));
	EXPECT_EQ(2, resp[0]);
	EXPECT_EQ(0x1111, resp[1]);
	EXPECT_EQ(0, resp[2] | resp[3] | resp[4] | resp[5]);
	/* A zero-length call is a call too. */
	EXPECT_EQ(-EINVAL, hop_call_regs(self->conn, req, 0, resp, 0));
}

TEST_F(regs, bad_input_has_its_errno)
{
	uint64_t req[6] = { 3 }, resp[6];
	int fd = hop_conn_fd(self->conn);

	EXPECT_EQ(-EPROTO, hop_call_regs(self->conn, req, 8, resp, 0));	/* reply of 49 */
	/* The buffer return refused in a register call: the handler passes on its EINVAL. */
	req[0] = 4;
	EXPECT_EQ(-EINVAL, hop_call_regs(self->conn, req, 8, resp, 0));
	EXPECT_EQ(-EINVAL, hop_call_regs(self->conn, req, 49, resp, 0));
	EXPECT_EQ(-EINVAL, hop_call_regs(self->conn, req, 8, resp, 99));
	EXPECT_EQ(-EMSGSIZE, hop_test_ioctl(fd, HOP_IOC_CALL_REGS, (void *)49));
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CALL_REGS, (void *)(8 | (1UL << 9))));
	/* The register return outside a hop, on a plain /dev/hop file. */
	fd = open("/dev/hop", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EPERM, hop_test_ioctl(fd, HOP_IOC_RETURN_REGS, (void *)0));
	close(fd);
	/* The service still works. */
	req[0] = 1;
	EXPECT_EQ(8, hop_call_regs(self->conn, req, 8, resp, 0));
}

TEST_F(regs, buffer_call_cannot_end_with_register_return)
{
	char out[8];

	EXPECT_EQ(-EINVAL, hop_call(self->conn, "reg", 3, out, sizeof(out)));
}

TEST_F(regs, fault_aborts_and_caller_keeps_its_words)
{
	uint64_t req[6] = { 5, 7, 7, 7, 7, 7 }, resp[6] = { 9, 9, 9, 9, 9, 9 };

	EXPECT_EQ(-ECONNABORTED, hop_call_regs(self->conn, req, 48, resp, 0));
	EXPECT_EQ(9, resp[0]);		/* nothing written on failure */
	req[0] = 1;
	EXPECT_EQ(16, hop_call_regs(self->conn, req, 16, resp, 0));
}

static void *nap(void *p)
{
	uint64_t req[6] = { 6 }, resp[6];

	*(ssize_t *)((void **)p)[1] = hop_call_regs(((void **)p)[0], req, 8, resp, 0);
	return NULL;
}

TEST_F(regs, nonblock_without_a_free_slot)
{
	uint64_t req[6] = { 1 }, resp[6];
	ssize_t napped = 0;
	void *arg[2] = { self->conn, &napped };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, nap, arg));
	usleep(100 * 1000);
	EXPECT_EQ(-EAGAIN, hop_call_regs(self->conn, req, 8, resp, HOP_CALL_F_NONBLOCK));
	pthread_join(t, NULL);
	EXPECT_EQ(8, napped);
}

TEST(service_without_register_entry)
{
	const char *name = hop_test_name("noregs");
	uint64_t req[6] = { 1 }, resp[6];
	struct hop_conn *c;
	pid_t pid = start_server(name, 0, 1);

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, hop_connect(&c, name));
	EXPECT_EQ(-EOPNOTSUPP, hop_call_regs(c, req, 8, resp, 0));
	hop_disconnect(c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST_HARNESS_MAIN
