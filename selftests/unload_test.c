// SPDX-License-Identifier: GPL-2.0
/*
 * unload_test: hop.ko refuses to unload while a service exists or a hop
 * runs, unloads once they are gone, and loads again.  Needs $HOP_KO (the
 * test VM sets it) to load the module back.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <time.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

static long delete_hop(void)
{
	return syscall(SYS_delete_module, "hop", O_NONBLOCK) ? -errno : 0;
}

static long load_hop(void)
{
	const char *ko = getenv("HOP_KO");
	int fd;
	long r;

	if (!ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return r;
}

static long delete_hop_retry(void)
{
	long r;
	int i;

	/* The last service is freed from a workqueue just after its file. */
	for (i = 0; i < 50; i++) {
		r = delete_hop();
		if (r != -EWOULDBLOCK && r != -EAGAIN)
			return r;
		usleep(100 * 1000);
	}
	return r;
}

static ssize_t slow_echo(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	usleep(500 * 1000);
	return hop_test_echo(ctx, req, len, resp, cap);
}

TEST(refused_while_in_use_then_unloads_and_reloads)
{
	struct hop_test_server srv;
	struct hop_conn *conn;
	pid_t child;
	int status;

	if (!getenv("HOP_KO"))
		SKIP(return, "HOP_KO not set (run in the test VM)");
	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("unload"), slow_echo,
					   NULL, NULL, NULL));
	/* A service exists (held by the server's file). */
	EXPECT_EQ(-EWOULDBLOCK, delete_hop());
	/* A hop runs whose server is already gone. */
	child = fork();
	if (child == 0) {
		char buf[8];

		if (hop_connect(&conn, srv.name))
			_exit(10);
		_exit(hop_call(conn, "abc", 3, buf, sizeof(buf)) == 3 ? 0 : 11);
	}
	usleep(200 * 1000);
	hop_test_server_stop(&srv);
	EXPECT_EQ(-EWOULDBLOCK, delete_hop());
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Nothing left: it unloads, and loads again. */
	ASSERT_EQ(0, delete_hop_retry());
	EXPECT_EQ(-1, access("/dev/hop", F_OK));
	ASSERT_EQ(0, load_hop());
	EXPECT_EQ(0, access("/dev/hop", F_OK));
}

TEST_HARNESS_MAIN
