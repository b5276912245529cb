// SPDX-License-Identifier: GPL-2.0
/*
 * hop_test: the synchronous hop.  The handler runs in the server (its memory,
 * files, cwd, credentials) on the caller's thread; concurrency and slot limits;
 * nesting to the depth limit; access control and handle passing; refusals.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <liburing.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

/* ---- the handler sees the server ----------------------------------------- */

#define SERVER_FD_NUMBER 77

static long server_global = 0x5e4fe4;
static int server_fd = -1;

static void setup_server_identity(void)
{
	char dir[] = "/tmp/hop-test-XXXXXX";

	server_global = 0x5e7e5e;	/* a value only the server process has */
	if (!mkdtemp(dir) || chdir(dir))
		_exit(3);
	server_fd = open("file", O_RDWR | O_CREAT, 0600);
	if (server_fd < 0 || write(server_fd, "server-file", 11) != 11)
		_exit(3);
	/* At a number the caller does not use, to show it is not the caller's. */
	if (dup2(server_fd, SERVER_FD_NUMBER) < 0)
		_exit(3);
	close(server_fd);
	server_fd = SERVER_FD_NUMBER;
	/* Serve with other credentials than the (root) caller's. */
	if (setresgid(4321, 4321, 4321) || setresuid(1234, 1234, 1234))
		_exit(3);
}

struct identity_reply {
	long global;
	char file[16];
	char cwd[64];
	uid_t uid, euid;
	gid_t gid;
	pid_t pid, tid;
	int bad_addr_errno;
};

static ssize_t identity_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	struct identity_reply *r = resp;
	int pfd[2];

	(void)ctx;
	if (cap < sizeof(*r))
		return -ENOSPC;
	memset(r, 0, sizeof(*r));
	r->global = server_global;
	if (pread(server_fd, r->file, sizeof(r->file) - 1, 0) < 0)
		return -errno;
	if (!getcwd(r->cwd, sizeof(r->cwd)))
		return -errno;
	r->uid = getuid();
	r->euid = geteuid();
	r->gid = getgid();
	r->pid = getpid();
	r->tid = gettid();
	/* The request names a client address: it must not be readable here. */
	if (len == sizeof(void *) && !pipe(pfd)) {
		void *addr;

		memcpy(&addr, req, sizeof(addr));
		r->bad_addr_errno = write(pfd[1], addr, 8) < 0 ? errno : 0;
		close(pfd[0]);
		close(pfd[1]);
	}
	return sizeof(*r);
}

TEST(handler_sees_server_not_client)
{
	struct hop_test_server srv;
	struct identity_reply r;
	struct hop_conn *conn;
	void *client_only;
	ssize_t n;

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("ident"), identity_handler,
					   NULL, NULL, setup_server_identity));
	/* A page only the client maps, at an address the server never maps. */
	client_only = mmap((void *)0x6e0000000000UL, 4096, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_NE(MAP_FAILED, client_only);
	memset(client_only, 0xab, 4096);

	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	memset(&r, 0xcc, sizeof(r));
	n = hop_call(conn, &client_only, sizeof(client_only), &r, sizeof(r));
	ASSERT_EQ((ssize_t)sizeof(r), n);
	EXPECT_EQ(0x5e7e5e, r.global);
	EXPECT_STREQ("server-file", r.file);
	EXPECT_EQ(0, strncmp(r.cwd, "/tmp/hop-test-", 14));
	EXPECT_EQ(1234, r.uid);
	EXPECT_EQ(1234, r.euid);
	EXPECT_EQ(4321, r.gid);
	/* The kernel still sees the caller's task. */
	EXPECT_EQ(getpid(), r.pid);
	EXPECT_EQ(gettid(), r.tid);
	EXPECT_EQ(EFAULT, r.bad_addr_errno);
	/* And the caller is itself again. */
	EXPECT_EQ(0x5e4fe4, server_global);
	EXPECT_EQ(0, getuid());
	EXPECT_EQ(0, geteuid());
	EXPECT_EQ(-1, fcntl(SERVER_FD_NUMBER, F_GETFD));
	EXPECT_EQ(EBADF, errno);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

/* ---- concurrency and slots ----------------------------------------------- */

static atomic_long served;

static ssize_t counting_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	long n;

	(void)ctx;
	if (len == 5 && !memcmp(req, "count", 5)) {
		n = atomic_load(&served);
		memcpy(resp, &n, sizeof(n));
		return sizeof(n);
	}
	if (len == 5 && !memcmp(req, "sleep", 5)) {
		usleep(300 * 1000);
		return 0;
	}
	atomic_fetch_add(&served, 1);
	/* Yield inside the handler so hops overlap and slots run out. */
	sched_yield();
	return hop_test_echo(ctx, req, len, resp, cap);
}

#define CLIENT_PROCS	3
#define CLIENT_THREADS	4
#define CALLS_PER_THREAD 150

struct client_thread {
	const char *name;
	int id;
	int errors;
};

static void *client_thread_main(void *arg)
{
	struct client_thread *ct = arg;
	struct hop_conn *conn;
	char req[64], resp[64];
	int i, len;

	if (hop_connect(&conn, ct->name)) {
		ct->errors = CALLS_PER_THREAD;
		return NULL;
	}
	for (i = 0; i < CALLS_PER_THREAD; i++) {
		len = snprintf(req, sizeof(req), "pid %d thread %d call %d", getpid(), ct->id, i);
		memset(resp, 0, sizeof(resp));
		if (hop_call(conn, req, len, resp, sizeof(resp)) != len || memcmp(req, resp, len))
			ct->errors++;
	}
	hop_disconnect(conn);
	return NULL;
}

TEST(many_clients_many_threads_exact_counts)
{
	struct hop_serve_opts opts = { .size = sizeof(opts), .slots = 2 };
	struct hop_test_server srv;
	struct hop_conn *conn;
	int p, status, bad = 0;
	long count = -1;

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("count"), counting_handler,
					   NULL, &opts, NULL));
	for (p = 0; p < CLIENT_PROCS; p++) {
		if (fork() == 0) {
			struct client_thread ct[CLIENT_THREADS];
			pthread_t th[CLIENT_THREADS];
			int t, errors = 0;

			for (t = 0; t < CLIENT_THREADS; t++) {
				ct[t] = (struct client_thread){ .name = srv.name, .id = t };
				pthread_create(&th[t], NULL, client_thread_main, &ct[t]);
			}
			for (t = 0; t < CLIENT_THREADS; t++) {
				pthread_join(th[t], NULL);
				errors += ct[t].errors;
			}
			_exit(errors ? 1 : 0);
		}
	}
	for (p = 0; p < CLIENT_PROCS; p++) {
		wait(&status);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	EXPECT_EQ(0, bad);
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	ASSERT_EQ((ssize_t)sizeof(count), hop_call(conn, "count", 5, &count, sizeof(count)));
	EXPECT_EQ(CLIENT_PROCS * CLIENT_THREADS * CALLS_PER_THREAD, count);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

/*
 * One handle shared by threads (hop(7), "Threads"; hop_call(3) says MT-Safe):
 * every call is a hop of its own on a slot of its own.  The handler counts
 * the hops running at once; each reply must be its own request's.
 */
#define SHARED_THREADS	6
#define SHARED_CALLS	100

static atomic_int overlap_now, overlap_max;

static ssize_t overlap_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	int now, max;

	if (len == 3 && !memcmp(req, "max", 3)) {
		max = atomic_load(&overlap_max);
		memcpy(resp, &max, sizeof(max));
		return sizeof(max);
	}
	now = atomic_fetch_add(&overlap_now, 1) + 1;
	max = atomic_load(&overlap_max);
	while (now > max && !atomic_compare_exchange_weak(&overlap_max, &max, now))
		;
	usleep(1000);		/* long enough for another thread to take the other slot */
	atomic_fetch_sub(&overlap_now, 1);
	return hop_test_echo(ctx, req, len, resp, cap);
}

struct shared_thread {
	struct hop_conn *conn;
	int id, errors;
};

static void *shared_thread_main(void *arg)
{
	struct shared_thread *st = arg;
	char req[64], resp[64];
	int i, len;

	for (i = 0; i < SHARED_CALLS; i++) {
		len = snprintf(req, sizeof(req), "thread %d call %d", st->id, i);
		memset(resp, 0, sizeof(resp));
		if (hop_call(st->conn, req, len, resp, sizeof(resp)) != len || memcmp(req, resp, len))
			st->errors++;
	}
	return NULL;
}

TEST(threads_share_one_handle)
{
	struct hop_serve_opts opts = { .size = sizeof(opts), .slots = 2 };
	struct shared_thread st[SHARED_THREADS];
	pthread_t th[SHARED_THREADS];
	struct hop_service_info info;
	struct hop_test_server srv;
	struct hop_conn *conn;
	int t, max = -1;

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("shared"), overlap_handler,
					   NULL, &opts, NULL));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	for (t = 0; t < SHARED_THREADS; t++) {
		st[t] = (struct shared_thread){ .conn = conn, .id = t };
		ASSERT_EQ(0, pthread_create(&th[t], NULL, shared_thread_main, &st[t]));
	}
	for (t = 0; t < SHARED_THREADS; t++) {
		pthread_join(th[t], NULL);
		EXPECT_EQ(0, st[t].errors) TH_LOG("thread %d", t);
	}
	/* Both slots were in use at once through the one handle, never more. */
	ASSERT_EQ((ssize_t)sizeof(max), hop_call(conn, "max", 3, &max, sizeof(max)));
	EXPECT_EQ(2, max);
	ASSERT_EQ(0, hop_fd_info(hop_conn_fd(conn), &info));
	EXPECT_EQ((__u64)SHARED_THREADS * SHARED_CALLS + 1, info.calls);
	EXPECT_EQ(0, info.slots_busy);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

static void *sleeper_main(void *arg)
{
	struct hop_conn *conn = arg;

	return (void *)hop_call(conn, "sleep", 5, NULL, 0);
}

TEST(no_free_slot_waits_or_eagain)
{
	struct hop_serve_opts opts = { .size = sizeof(opts), .slots = 1 };
	struct hop_call_opts nb = { .size = sizeof(nb), .flags = HOP_CALL_F_NONBLOCK };
	struct hop_test_server srv;
	struct hop_conn *conn;
	struct hop_service_info info;
	pthread_t sleeper;
	long long t0;
	void *ret;
	char buf[8];

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("slot"), counting_handler,
					   NULL, &opts, NULL));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	t0 = hop_test_now_ms();
	ASSERT_EQ(0, pthread_create(&sleeper, NULL, sleeper_main, conn));
	/* Wait until the sleeper holds the only slot. */
	do {
		ASSERT_EQ(0, hop_fd_info(hop_conn_fd(conn), &info));
	} while (info.slots_busy == 0 && hop_test_now_ms() - t0 < 5000);
	ASSERT_EQ(1, info.slots_busy);
	EXPECT_EQ(-EAGAIN, hop_call_opts(conn, "x", 1, buf, sizeof(buf), &nb));
	/* Blocking: waits for the sleeper, then runs. */
	EXPECT_EQ(1, hop_call(conn, "x", 1, buf, sizeof(buf)));
	pthread_join(sleeper, &ret);
	EXPECT_EQ(0, (long)ret);
	EXPECT_GE(hop_test_now_ms() - t0, 250);
	ASSERT_EQ(0, hop_fd_info(hop_conn_fd(conn), &info));
	EXPECT_EQ(0, info.slots_busy);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

/* ---- nesting ---------------------------------------------------------- */

static struct hop_conn *self_conn;
static char nest_name[HOP_NAME_MAX];

/* Request: how many more levels to go down.  Reply: the deepest result. */
static ssize_t nest_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	long more, result;

	(void)ctx;
	(void)cap;
	if (len != sizeof(more))
		return -EINVAL;
	memcpy(&more, req, sizeof(more));
	if (more == 0) {
		result = 0;
	} else {
		long inner = -1;
		ssize_t n;

		if (!self_conn && hop_connect(&self_conn, nest_name))
			return -ENOTCONN;
		more--;
		n = hop_call(self_conn, &more, sizeof(more), &inner, sizeof(inner));
		result = n == sizeof(inner) ? inner : n;
	}
	memcpy(resp, &result, sizeof(result));
	return sizeof(result);
}

TEST(nesting_to_the_limit_and_past_it)
{
	struct hop_serve_opts opts = { .size = sizeof(opts), .slots = HOP_MAX_DEPTH + 2 };
	struct hop_test_server srv;
	struct hop_conn *conn;
	long more, result;

	snprintf(nest_name, sizeof(nest_name), "%s", hop_test_name("nest"));
	ASSERT_EQ(0, hop_test_server_start(&srv, nest_name, nest_handler, NULL, &opts, NULL));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	/* Depth d means d hops on the stack; the client's call is depth 1. */
	more = HOP_MAX_DEPTH - 1;
	result = -1;
	ASSERT_EQ((ssize_t)sizeof(result), hop_call(conn, &more, sizeof(more), &result, sizeof(result)));
	EXPECT_EQ(0, result);
	/* One more level: the innermost hop is refused with ELOOP. */
	more = HOP_MAX_DEPTH;
	result = -1;
	ASSERT_EQ((ssize_t)sizeof(result), hop_call(conn, &more, sizeof(more), &result, sizeof(result)));
	EXPECT_EQ(-ELOOP, result);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

/* A chain across three server processes: A calls B calls C. */
static char chain_next[HOP_NAME_MAX];

static ssize_t chain_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	struct hop_conn *next;
	char tag[32];
	ssize_t n;
	int k;

	(void)ctx;
	k = snprintf(tag, sizeof(tag), "%ld:", server_global);
	if (!chain_next[0]) {
		memcpy(resp, req, len);
		return len;
	}
	if (hop_connect(&next, chain_next))
		return -ENOTCONN;
	n = hop_call(next, req, len, resp, cap);
	hop_disconnect(next);
	if (n < 0 || (size_t)n + k > cap)
		return n < 0 ? n : -ENOSPC;
	memmove((char *)resp + k, resp, n);
	memcpy(resp, tag, k);
	return n + k;
}

static int chain_tag;
static void setup_chain(void)
{
	server_global = chain_tag;
}

TEST(chain_across_three_servers)
{
	struct hop_test_server a, b, c;
	char name_a[HOP_NAME_MAX], name_b[HOP_NAME_MAX], name_c[HOP_NAME_MAX];
	struct hop_conn *conn;
	char resp[128] = "";
	ssize_t n;

	snprintf(name_c, sizeof(name_c), "%s", hop_test_name("chain-c"));
	snprintf(name_b, sizeof(name_b), "%s", hop_test_name("chain-b"));
	snprintf(name_a, sizeof(name_a), "%s", hop_test_name("chain-a"));
	chain_tag = 3;
	chain_next[0] = 0;
	ASSERT_EQ(0, hop_test_server_start(&c, name_c, chain_handler, NULL, NULL, setup_chain));
	chain_tag = 2;
	snprintf(chain_next, sizeof(chain_next), "%s", name_c);
	ASSERT_EQ(0, hop_test_server_start(&b, name_b, chain_handler, NULL, NULL, setup_chain));
	chain_tag = 1;
	snprintf(chain_next, sizeof(chain_next), "%s", name_b);
	ASSERT_EQ(0, hop_test_server_start(&a, name_a, chain_handler, NULL, NULL, setup_chain));
	ASSERT_EQ(0, hop_connect(&conn, name_a));
	n = hop_call(conn, "end", 3, resp, sizeof(resp) - 1);
	ASSERT_GT(n, 0);
	resp[n] = 0;
	EXPECT_STREQ("1:2:end", resp);
	hop_disconnect(conn);
	hop_test_server_stop(&a);
	hop_test_server_stop(&b);
	hop_test_server_stop(&c);
}

/* ---- access -------------------------------------------------------------- */

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "h", .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -errno;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

TEST(access_denied_to_other_uid_but_passed_handle_works)
{
	struct hop_test_server srv;
	struct hop_conn *conn;
	int sv[2], status;
	pid_t child;

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("acl"), hop_test_echo,
					   NULL, NULL, NULL));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	child = fork();
	if (child == 0) {
		struct hop_conn *c;
		char buf[8];
		int fd;

		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(10);
		/* Mode 0600, owner root: uid 1000 may not connect. */
		if (hop_connect(&c, srv.name) != -EACCES)
			_exit(11);
		fd = recv_fd(sv[1]);
		if (fd < 0 || hop_conn_from_fd(&c, fd))
			_exit(12);
		if (hop_call(c, "pass", 4, buf, sizeof(buf)) != 4 || memcmp(buf, "pass", 4))
			_exit(13);
		hop_disconnect(c);
		_exit(0);
	}
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	ASSERT_EQ(0, send_fd(sv[0], hop_conn_fd(conn)));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

TEST(mode_grants_others)
{
	struct hop_serve_opts opts = { .size = sizeof(opts), .mode = 0606 };
	struct hop_test_server srv;
	int status;
	pid_t child;

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("acl-o"), hop_test_echo,
					   NULL, &opts, NULL));
	child = fork();
	if (child == 0) {
		struct hop_conn *c;
		char buf[8];

		/* Neither owner nor group: the "other" bits decide. */
		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(10);
		if (hop_connect(&c, srv.name))
			_exit(11);
		_exit(hop_call(c, "ok", 2, buf, sizeof(buf)) == 2 ? 0 : 12);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	hop_test_server_stop(&srv);
}

TEST(closed_handle_is_ebadf)
{
	struct hop_test_server srv;
	struct hop_call c;
	struct hop_conn *conn;
	char buf[8];
	int fd;

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("closed"), hop_test_echo,
					   NULL, NULL, NULL));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	fd = hop_conn_fd(conn);
	ASSERT_EQ(0, close(fd));
	c = hop_test_call_args("x", 1, buf, sizeof(buf));
	EXPECT_EQ(-EBADF, hop_test_ioctl(fd, HOP_IOC_CALL, &c));
	free(conn);
	hop_test_server_stop(&srv);
}

/* ---- refusals ------------------------------------------------------------ */

TEST(traced_caller_is_refused)
{
	struct hop_test_server srv;
	int status;
	pid_t child;

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("traced"), hop_test_echo,
					   NULL, NULL, NULL));
	child = fork();
	if (child == 0) {
		struct hop_conn *c;
		char buf[8];

		if (hop_connect(&c, srv.name))
			_exit(10);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(11);
		_exit(hop_call(c, "x", 1, buf, sizeof(buf)) == -EPERM ? 0 : 12);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	hop_test_server_stop(&srv);
}

TEST(io_uring_caller_is_refused)
{
	struct hop_test_server srv;
	struct io_uring ring;
	struct hop_conn *conn;
	char buf[8];

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("uring"), hop_test_echo,
					   NULL, NULL, NULL));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	EXPECT_EQ(1, hop_call(conn, "x", 1, buf, sizeof(buf)));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	EXPECT_EQ(-EOPNOTSUPP, hop_call(conn, "x", 1, buf, sizeof(buf)));
	io_uring_queue_exit(&ring);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

TEST_HARNESS_MAIN
