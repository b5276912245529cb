// SPDX-License-Identifier: GPL-2.0
/*
 * abi_test: every bad input of every ioctl gets its exact errno and changes
 * nothing (a failed SERVE leaves the name free, a failed CALL leaves the slot
 * free).  Structures are pre-filled with junk where the kernel should write.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

#define MSG 4096

/* A valid SERVE request with one slot, for tests to spoil one field at a time. */
FIXTURE(serve)
{
	int fd;
	struct hop_serve s;
	struct hop_slot_desc d;
	char *mem;
};

FIXTURE_SETUP(serve)
{
	self->fd = open("/dev/hop", O_RDWR);
	ASSERT_GE(self->fd, 0);
	self->mem = mmap(NULL, 4 * MSG + 65536, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->d.buf = (uintptr_t)self->mem;
	self->d.stack_top = (uintptr_t)self->mem + 4 * MSG + 65536;
	self->d.tls = (uintptr_t)self->mem + 2 * MSG;
	self->d.cookie = 0;
	memset(&self->s, 0, sizeof(self->s));
	self->s.size = sizeof(self->s);
	snprintf(self->s.name, sizeof(self->s.name), "%s", hop_test_name("abi"));
	self->s.entry = (uintptr_t)&hop_test_echo;
	self->s.slots = (uintptr_t)&self->d;
	self->s.nr_slots = 1;
	self->s.msg_size = MSG;
}

FIXTURE_TEARDOWN(serve)
{
	close(self->fd);
	munmap(self->mem, 4 * MSG + 65536);
}

/* The name must still be free after a refused SERVE. */
static int name_is_free(const char *name)
{
	struct hop_connect c = { .size = sizeof(c) };
	int fd = open("/dev/hop", O_RDWR);
	long r;

	snprintf(c.name, sizeof(c.name), "%s", name);
	r = hop_test_ioctl(fd, HOP_IOC_CONNECT, &c);
	close(fd);
	if (r >= 0)
		close((int)r);
	return r == -ENOENT;
}

#define EXPECT_SERVE_FAILS(err) do { \
	EXPECT_EQ(err, hop_test_ioctl(self->fd, HOP_IOC_SERVE, &self->s)); \
	EXPECT_TRUE(name_is_free(self->s.name)); \
} while (0)

TEST_F(serve, valid_request_works_once)
{
	int other = open("/dev/hop", O_RDWR);

	ASSERT_EQ(0, hop_test_ioctl(self->fd, HOP_IOC_SERVE, &self->s));
	EXPECT_FALSE(name_is_free(self->s.name));
	/* One service per file. */
	EXPECT_EQ(-EBUSY, hop_test_ioctl(self->fd, HOP_IOC_SERVE, &self->s));
	/* Names are unique. */
	EXPECT_EQ(-EEXIST, hop_test_ioctl(other, HOP_IOC_SERVE, &self->s));
	close(other);
}

TEST_F(serve, bad_pointer)
{
	EXPECT_EQ(-EFAULT, hop_test_ioctl(self->fd, HOP_IOC_SERVE, NULL));
	EXPECT_EQ(-EFAULT, hop_test_ioctl(self->fd, HOP_IOC_SERVE, (void *)-4096L));
}

TEST_F(serve, bad_size_flags_reserved)
{
	self->s.size = sizeof(self->s) - 8;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.size = sizeof(self->s);
	self->s.flags = 1;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.flags = 0;
	self->s.reserved0 = 1;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.reserved0 = 0;
	/* A register entry must be a user address, like entry. */
	self->s.entry_regs = -4096UL;
	EXPECT_SERVE_FAILS(-EINVAL);
}

/*
 * The robust array (struct hop_slot_robust): both addresses or neither, user
 * addresses, aligned; the owner id is written only into writable memory.
 */
TEST_F(serve, bad_robust)
{
	struct hop_slot_robust r = { 0 };
	uint64_t head = (uintptr_t)self->mem + 2 * MSG + 64;
	uint64_t tid = (uintptr_t)self->mem + 2 * MSG + 128;
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	self->s.robust = 8;				/* unmapped */
	EXPECT_SERVE_FAILS(-EFAULT);
	self->s.robust = (uintptr_t)&r;
	r.head = head;					/* head without tid */
	EXPECT_SERVE_FAILS(-EINVAL);
	r.head = 0;					/* tid without head */
	r.tid = tid;
	EXPECT_SERVE_FAILS(-EINVAL);
	r.head = head + 4;				/* misaligned */
	EXPECT_SERVE_FAILS(-EINVAL);
	r.head = head;
	r.tid = tid + 2;
	EXPECT_SERVE_FAILS(-EINVAL);
	r.tid = 0xffffffff81000000ULL;			/* a kernel address */
	EXPECT_SERVE_FAILS(-EINVAL);
	r.tid = (uintptr_t)ro;				/* not writable */
	EXPECT_SERVE_FAILS(-EFAULT);
	EXPECT_EQ(0, ro[0]);
	munmap(ro, 4096);
	/* Valid: the owner id lands at tid, above every pid. */
	r.tid = tid;
	ASSERT_EQ(0, hop_test_ioctl(self->fd, HOP_IOC_SERVE, &self->s));
	EXPECT_GE(*(uint32_t *)(uintptr_t)tid, HOP_ROBUST_OWNER_MIN);
	EXPECT_LE(*(uint32_t *)(uintptr_t)tid, HOP_ROBUST_OWNER_MAX);
}

TEST_F(serve, bad_names)
{
	char good[HOP_NAME_MAX];

	memcpy(good, self->s.name, sizeof(good));
	memset(self->s.name, 0, sizeof(self->s.name));
	EXPECT_EQ(-EINVAL, hop_test_ioctl(self->fd, HOP_IOC_SERVE, &self->s));
	memset(self->s.name, 'a', sizeof(self->s.name));	/* no NUL */
	EXPECT_EQ(-EINVAL, hop_test_ioctl(self->fd, HOP_IOC_SERVE, &self->s));
	snprintf(self->s.name, sizeof(self->s.name), "a/b");
	EXPECT_EQ(-EINVAL, hop_test_ioctl(self->fd, HOP_IOC_SERVE, &self->s));
	snprintf(self->s.name, sizeof(self->s.name), "a b");
	EXPECT_EQ(-EINVAL, hop_test_ioctl(self->fd, HOP_IOC_SERVE, &self->s));
	memcpy(self->s.name, good, sizeof(good));
	EXPECT_TRUE(name_is_free(good));
}

TEST_F(serve, bad_entry_slots_mode_msg_size)
{
	self->s.entry = 0;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.entry = 0xffffffff81000000ULL;	/* a kernel address */
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.entry = (uintptr_t)&hop_test_echo;
	self->s.nr_slots = 0;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.nr_slots = HOP_MAX_SLOTS + 1;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.nr_slots = 1;
	self->s.mode = 01000;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.mode = 0;
	self->s.msg_size = MSG - 1;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.msg_size = MSG + 100;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.msg_size = HOP_MSG_MAX * 2;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.msg_size = MSG;
	self->s.slots = 0;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->s.slots = (uintptr_t)-4096L;
	EXPECT_SERVE_FAILS(-EFAULT);
}

TEST_F(serve, bad_slot_descriptors)
{
	uint64_t good_buf = self->d.buf;

	self->d.stack_top += 8;			/* not 16-byte aligned */
	EXPECT_SERVE_FAILS(-EINVAL);
	self->d.stack_top -= 8;
	self->d.tls = 0;
	EXPECT_SERVE_FAILS(-EINVAL);
	self->d.tls = (uintptr_t)self->mem;
	self->d.buf = good_buf + 64;		/* not page aligned */
	EXPECT_SERVE_FAILS(-EINVAL);
	self->d.buf = 0xffff800000000000ULL;	/* not a user address */
	EXPECT_SERVE_FAILS(-EINVAL);
	/* Page aligned user address, but nothing mapped there. */
	munmap(self->mem, 2 * MSG);
	self->d.buf = good_buf;
	EXPECT_SERVE_FAILS(-EFAULT);
}

/* ---- CONNECT ---------------------------------------------------------- */

TEST(connect_bad_inputs)
{
	struct hop_connect c;
	int fd = open("/dev/hop", O_RDWR);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EFAULT, hop_test_ioctl(fd, HOP_IOC_CONNECT, NULL));
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	snprintf(c.name, sizeof(c.name), "no-such-service-%d", getpid());
	EXPECT_EQ(-ENOENT, hop_test_ioctl(fd, HOP_IOC_CONNECT, &c));
	c.size = 8;
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CONNECT, &c));
	c.size = sizeof(c);
	c.flags = 2;
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CONNECT, &c));
	c.flags = 0;
	c.reserved = 1;
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CONNECT, &c));
	c.reserved = 0;
	memset(c.name, 0, sizeof(c.name));
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CONNECT, &c));
	memset(c.name, 'x', sizeof(c.name));
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CONNECT, &c));
	close(fd);
}

/* ---- CALL, RETURN, UNSERVE, SERVICE_INFO ------------------------------- */

static ssize_t overlong_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	(void)ctx;
	(void)req;
	(void)len;
	(void)resp;
	return (ssize_t)cap + 1;	/* the kernel refuses; libhop sends -EPROTO */
}

static ssize_t return_probe_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	struct hop_return r = { .result = 0 };
	int plain, *out = resp;
	int svcfd = *(const int *)req;

	(void)ctx;
	(void)len;
	(void)cap;
	/* Inside a hop, but on a file that is not this hop's service. */
	plain = open("/dev/hop", O_RDWR);
	out[0] = (int)hop_test_ioctl(plain, HOP_IOC_RETURN, &r);
	close(plain);
	/* On the right file: wrong slot, reserved flags, bad pointer. */
	r.slot = 12345;
	out[1] = (int)hop_test_ioctl(svcfd, HOP_IOC_RETURN, &r);
	r.slot = 0;
	r.flags = 1;
	out[2] = (int)hop_test_ioctl(svcfd, HOP_IOC_RETURN, &r);
	out[3] = (int)hop_test_ioctl(svcfd, HOP_IOC_RETURN, NULL);
	r.flags = 0;
	r.result = -512;	/* -ERESTARTSYS: kernel-internal */
	out[4] = (int)hop_test_ioctl(svcfd, HOP_IOC_RETURN, &r);
	/* Unserving the service we are running in would wait for ourselves. */
	out[5] = (int)hop_test_ioctl(svcfd, HOP_IOC_UNSERVE, NULL);
	return 6 * sizeof(int);
}

/* HOP_SYSCALL_RETURN as the handler would make it; -errno if it returns. */
static long sys_return(long result, long slot, long flags)
{
	return syscall(HOP_SYSCALL_RETURN, result, slot, flags) < 0 ? -errno : 0;
}

static ssize_t sysret_probe_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	long *out = resp;

	(void)ctx;
	(void)req;
	(void)len;
	/* The test's service has one slot, 0: every call runs on it. */
	out[0] = sys_return(0, 12345, 0);			/* another slot */
	out[1] = sys_return(0, 1L << 32, 0);			/* slot 0 in the low half */
	out[2] = sys_return(0, 0, 2);				/* unknown flag */
	out[3] = sys_return(0, 0, 1L << 32);			/* flags in the high half */
	out[4] = sys_return(0, 0, HOP_RETURN_PENDING);		/* not an async call */
	out[5] = sys_return(-512, 0, 0);			/* -ERESTARTSYS */
	out[6] = sys_return((long)cap + 1, 0, 0);		/* longer than the reply */
	return 7 * sizeof(long);
}

/*
 * HOP_SYSCALL_RETURN: -ENOSYS outside a hop, as any unknown syscall;
 * inside, each bad argument is EINVAL and the hop goes on (the handler's
 * own return then ends it).
 */
TEST(syscall_return_bad_inputs)
{
	struct hop_serve_opts one = { .size = sizeof(one), .slots = 1 };
	struct hop_service_info info;
	struct hop_test_server srv;
	struct hop_conn *conn;
	long out[8];
	int i;

	EXPECT_EQ(-ENOSYS, sys_return(0, 0, 0));
	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("sysret"), sysret_probe_handler,
					   NULL, &one, NULL));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	memset(out, 0xcc, sizeof(out));
	ASSERT_EQ(7 * sizeof(long), hop_call(conn, NULL, 0, out, sizeof(out)));
	for (i = 0; i < 7; i++) {
		TH_LOG("probe %d", i);
		EXPECT_EQ(-EINVAL, out[i]);
	}
	ASSERT_EQ(0, hop_fd_info(hop_conn_fd(conn), &info));
	EXPECT_EQ(1, info.calls);
	EXPECT_EQ(0, info.aborted);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

TEST(call_bad_inputs)
{
	struct hop_test_server srv;
	struct hop_service_info info;
	struct hop_conn *conn;
	struct hop_call c;
	char buf[16], *unmapped;
	int fd;

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("call"), hop_test_echo,
					   NULL, NULL, NULL));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	fd = hop_conn_fd(conn);
	EXPECT_EQ(-EFAULT, hop_test_ioctl(fd, HOP_IOC_CALL, NULL));
	c = hop_test_call_args("x", 1, buf, sizeof(buf));
	c.size = 8;
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CALL, &c));
	c = hop_test_call_args("x", 1, buf, sizeof(buf));
	c.flags = 1U << 7;	/* no such flag */
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CALL, &c));
	c = hop_test_call_args("x", 1, buf, sizeof(buf));
	c.user_data = 1;	/* only for HOP_CALL_ASYNC */
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CALL, &c));
	c = hop_test_call_args("x", 1, buf, sizeof(buf));
	c.flags = 4;
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_CALL, &c));
	/* Longer than the service's message size. */
	c = hop_test_call_args(malloc(MSG + 1), MSG + 1, buf, sizeof(buf));
	EXPECT_EQ(-EMSGSIZE, hop_test_ioctl(fd, HOP_IOC_CALL, &c));
	/* Kernel pointers, and unmapped ones. */
	c = hop_test_call_args((void *)0xffff888000000000UL, 1, buf, sizeof(buf));
	EXPECT_EQ(-EFAULT, hop_test_ioctl(fd, HOP_IOC_CALL, &c));
	c = hop_test_call_args("x", 1, (void *)0xffff888000000000UL, sizeof(buf));
	EXPECT_EQ(-EFAULT, hop_test_ioctl(fd, HOP_IOC_CALL, &c));
	unmapped = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(unmapped, 4096);
	c = hop_test_call_args(unmapped, 16, buf, sizeof(buf));
	EXPECT_EQ(-EFAULT, hop_test_ioctl(fd, HOP_IOC_CALL, &c));
	/* An unmapped reply buffer: the hop runs, the reply cannot be written. */
	c = hop_test_call_args("abc", 3, unmapped, 16);
	EXPECT_EQ(-EFAULT, hop_test_ioctl(fd, HOP_IOC_CALL, &c));
	/* None of that leaked a slot: the service still answers. */
	ASSERT_EQ(0, hop_fd_info(fd, &info));
	EXPECT_EQ(0, info.slots_busy);
	EXPECT_EQ(3, hop_call(conn, "abc", 3, buf, sizeof(buf)));
	/* A reply capacity smaller than the reply: the handler sees the smaller one. */
	EXPECT_EQ(-EMSGSIZE, hop_call(conn, "abcdef", 6, buf, 2));
	/* Unknown commands on a handle. */
	EXPECT_EQ(-ENOTTY, hop_test_ioctl(fd, _IO(HOP_IOC_MAGIC, 0x7f), NULL));
	EXPECT_EQ(-ENOTTY, hop_test_ioctl(fd, HOP_IOC_SERVE, NULL));
	EXPECT_EQ(-ENOTTY, hop_test_ioctl(fd, HOP_IOC_RETURN, NULL));
	/* SERVICE_INFO */
	EXPECT_EQ(-EFAULT, hop_test_ioctl(fd, HOP_IOC_SERVICE_INFO, NULL));
	memset(&info, 0, sizeof(info));
	info.flags = 1;
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_SERVICE_INFO, &info));
	memset(&info, 0, sizeof(info));
	info.reserved[2] = 1;
	EXPECT_EQ(-EINVAL, hop_test_ioctl(fd, HOP_IOC_SERVICE_INFO, &info));
	memset(&info, 0xcc, sizeof(info));
	info.flags = 0;
	memset(info.reserved, 0, sizeof(info.reserved));
	ASSERT_EQ(0, hop_test_ioctl(fd, HOP_IOC_SERVICE_INFO, &info));
	EXPECT_EQ(4, info.nr_slots);
	EXPECT_EQ(0, info.slots_busy);
	EXPECT_EQ(MSG, info.msg_size);
	EXPECT_EQ(3, info.calls);	/* the unmapped-reply hop, "abc", "abcdef" */
	EXPECT_EQ(0, info.aborted);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

TEST(return_and_unserve_bad_inputs)
{
	struct hop_return r = { .result = 0 };
	struct hop_test_server srv;
	struct hop_conn *conn;
	int plain, out[6];
	int svcfd;

	/* Outside any hop, on plain and on service files. */
	plain = open("/dev/hop", O_RDWR);
	EXPECT_EQ(-EPERM, hop_test_ioctl(plain, HOP_IOC_RETURN, &r));
	EXPECT_EQ(-EINVAL, hop_test_ioctl(plain, HOP_IOC_UNSERVE, NULL));
	EXPECT_EQ(-EINVAL, hop_test_ioctl(plain, HOP_IOC_SERVICE_INFO, &r));
	EXPECT_EQ(-ENOTTY, hop_test_ioctl(plain, HOP_IOC_CALL, NULL));
	EXPECT_EQ(-ENOTTY, hop_test_ioctl(plain, _IO('x', 1), NULL));
	close(plain);

	/* libhop's service fd is the first /dev/hop file the server opens. */
	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("ret"), return_probe_handler,
					   NULL, NULL, NULL));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	for (svcfd = 3; svcfd < 64; svcfd++) {
		memset(out, 0xcc, sizeof(out));
		if (hop_call(conn, &svcfd, sizeof(svcfd), out, sizeof(out)) != sizeof(out))
			continue;
		if (out[1] == -EBADF || out[1] == -ENOTTY)
			continue;	/* not the service file of the server */
		break;
	}
	ASSERT_LT(svcfd, 64);
	EXPECT_EQ(-EPERM, out[0]);
	EXPECT_EQ(-EINVAL, out[1]);
	EXPECT_EQ(-EINVAL, out[2]);
	EXPECT_EQ(-EFAULT, out[3]);
	EXPECT_EQ(-EINVAL, out[4]);
	EXPECT_EQ(-EDEADLK, out[5]);
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

TEST(overlong_reply_is_eproto)
{
	struct hop_test_server srv;
	struct hop_conn *conn;
	char buf[16];

	ASSERT_EQ(0, hop_test_server_start(&srv, hop_test_name("long"), overlong_handler,
					   NULL, NULL, NULL));
	ASSERT_EQ(0, hop_connect(&conn, srv.name));
	EXPECT_EQ(-EPROTO, hop_call(conn, "x", 1, buf, sizeof(buf)));
	hop_disconnect(conn);
	hop_test_server_stop(&srv);
}

TEST_HARNESS_MAIN
