// SPDX-License-Identifier: GPL-2.0
/*
 * async_test: the interrupt path.  An async call's handler starts a device
 * read and leaves the call pending; the device's interrupt sends a kernel
 * thread into the server to write the data, and the completion reaches the
 * client's handle.  Both delivery modes, eventfd and poll, limits, and calls
 * whose client, handle or server goes away while the device works.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

struct dev_req {
	unsigned int offset, len;
};

static unsigned char *server_cache;	/* where the kernel thread leaves the data */

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
	unsigned int i;
	int err;

	(void)ctx;
	(void)resp;
	(void)cap;
	if (len == 5 && !memcmp(req, "check", 5)) {
		/* Did the kernel threads write the whole buffer into our memory? */
		for (i = 0; i < HOP_DEV_SIZE; i++)
			if (server_cache[i] != hop_test_dev_pattern(i))
				return -EIO;
		return 0;
	}
	if (len == 7 && !memcmp(req, "pending", 7))
		return HOP_PENDING;	/* without a device read: refused */
	if (len != sizeof(r))
		return -EINVAL;
	memcpy(&r, req, sizeof(r));
	err = hop_dev_read(r.offset, r.len, server_cache + r.offset);
	return err ? err : HOP_PENDING;
}

static const char *device_kind(void)
{
	static char buf[32];
	FILE *f = fopen("/sys/kernel/debug/hop/device", "r");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	return buf;
}

static int set_param(const char *name, const char *val)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/hop/parameters/%s", name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(val, f);
	return fclose(f) ? -errno : 0;
}

static int wait_stat_zero(const char *key, int seconds)
{
	int i;

	for (i = 0; i < seconds * 10 && hop_test_stat(key) != 0; i++)
		usleep(100 * 1000);
	return hop_test_stat(key);
}

FIXTURE(dev)
{
	struct hop_test_server srv;
	struct hop_conn *conn;
};

FIXTURE_SETUP(dev)
{
	ASSERT_EQ(0, hop_test_server_start(&self->srv, hop_test_name("dev"), dev_handler,
					   NULL, NULL, setup_cache));
	ASSERT_EQ(0, hop_connect(&self->conn, self->srv.name));
	ASSERT_EQ(0, set_param("deliver", "spawn"));
	TH_LOG("device: %s", device_kind());
}

FIXTURE_TEARDOWN(dev)
{
	set_param("deliver", "spawn");
	if (self->conn)
		hop_disconnect(self->conn);
	hop_test_server_stop(&self->srv);
	EXPECT_EQ(0, wait_stat_zero("async", 20));
}

/* Reap @n completions (waiting up to 30 s); check replies against the pattern. */
static int reap_all(struct __test_metadata *_metadata, struct hop_conn *conn, int n,
		    unsigned char bufs[][512], const struct dev_req *reqs, unsigned int how)
{
	struct hop_async_result res;
	int got = 0, seen[64] = { 0 };
	time_t end = time(NULL) + 30;
	unsigned int i;

	while (got < n && time(NULL) < end) {
		if (hop_async_wait(conn, 1000) <= 0)
			continue;
		while (hop_async_reap(conn, &res) == 0) {
			EXPECT_LT(res.user_data, 64);
			if (res.user_data >= 64)
				continue;
			EXPECT_EQ(0, seen[res.user_data]);
			seen[res.user_data] = 1;
			EXPECT_EQ((__s64)reqs[res.user_data].len, res.result);
			EXPECT_EQ(how, res.delivered_by);
			EXPECT_GT(res.irq_to_complete_ns, 0);
			EXPECT_GE(res.irq_to_complete_ns, res.irq_to_spawn_ns);
			for (i = 0; i < reqs[res.user_data].len; i++)
				if (bufs[res.user_data][i] != hop_test_dev_pattern(reqs[res.user_data].offset + i)) {
					EXPECT_EQ(hop_test_dev_pattern(reqs[res.user_data].offset + i),
						  bufs[res.user_data][i]);
					break;
				}
			got++;
		}
	}
	return got;
}

static void submit_and_reap(struct __test_metadata *_metadata, struct hop_conn *conn,
			    unsigned int how)
{
	static unsigned char bufs[8][512];
	struct dev_req reqs[8];
	int i;

	/* Eight reads that together cover the whole device buffer. */
	for (i = 0; i < 8; i++) {
		reqs[i].offset = i * (HOP_DEV_SIZE / 8);
		reqs[i].len = HOP_DEV_SIZE / 8;
		memset(bufs[i], 0, sizeof(bufs[i]));
		ASSERT_EQ(0, hop_call_async(conn, &reqs[i], sizeof(reqs[i]), bufs[i], 512, i));
	}
	EXPECT_EQ(8, reap_all(_metadata, conn, 8, bufs, reqs, how));
	EXPECT_EQ(-EAGAIN, hop_async_reap(conn, &(struct hop_async_result){ 0 }));
	/* The data is in the server's memory too. */
	EXPECT_EQ(0, hop_call(conn, "check", 5, NULL, 0));
}

/*
 * One handle shared by threads (hop_async_reap(3): MT-Safe): four threads
 * make eight async calls each on it, then reap side by side; completions
 * belong to the handle, so each thread may get any of them, but every one
 * is reaped exactly once, with its own reply.
 */
#define SHARED_THREADS	4
#define SHARED_EACH	8
#define SHARED_CALLS	(SHARED_THREADS * SHARED_EACH)

struct shared_reaper {
	struct hop_conn *conn;
	int id, submit_errors, bad_replies;
	atomic_int *reaped;		/* per user_data: how many times */
	atomic_int *total;
	unsigned char (*bufs)[HOP_DEV_SIZE / SHARED_EACH];
	struct dev_req *reqs;
};

static void *shared_reaper_main(void *arg)
{
	struct shared_reaper *r = arg;
	struct hop_async_result res;
	time_t end = time(NULL) + 60;
	unsigned int i, ud;

	for (i = 0; i < SHARED_EACH; i++) {
		ud = r->id * SHARED_EACH + i;
		if (hop_call_async(r->conn, &r->reqs[ud], sizeof(r->reqs[ud]), r->bufs[ud],
				   sizeof(r->bufs[ud]), ud))
			r->submit_errors++;
	}
	while (atomic_load(r->total) < SHARED_CALLS && time(NULL) < end) {
		if (hop_async_wait(r->conn, 100) <= 0)
			continue;
		while (hop_async_reap(r->conn, &res) == 0) {
			atomic_fetch_add(r->total, 1);
			if (res.user_data >= SHARED_CALLS) {
				r->bad_replies++;
				continue;
			}
			ud = res.user_data;
			atomic_fetch_add(&r->reaped[ud], 1);
			if (res.result != (__s64)r->reqs[ud].len)
				r->bad_replies++;
			for (i = 0; i < r->reqs[ud].len; i++)
				if (r->bufs[ud][i] != hop_test_dev_pattern(r->reqs[ud].offset + i)) {
					r->bad_replies++;
					break;
				}
		}
	}
	return NULL;
}

TEST_F(dev, threads_share_one_handle)
{
	static unsigned char bufs[SHARED_CALLS][HOP_DEV_SIZE / SHARED_EACH];
	static struct dev_req reqs[SHARED_CALLS];
	static atomic_int reaped[SHARED_CALLS];
	struct shared_reaper r[SHARED_THREADS];
	pthread_t th[SHARED_THREADS];
	atomic_int total = 0;
	int i;

	for (i = 0; i < SHARED_CALLS; i++) {
		/* Each thread's eight reads cover the whole device buffer. */
		reqs[i].offset = (i % SHARED_EACH) * (HOP_DEV_SIZE / SHARED_EACH);
		reqs[i].len = HOP_DEV_SIZE / SHARED_EACH;
		atomic_store(&reaped[i], 0);
	}
	for (i = 0; i < SHARED_THREADS; i++) {
		r[i] = (struct shared_reaper){ .conn = self->conn, .id = i, .reaped = reaped,
					       .total = &total, .bufs = bufs, .reqs = reqs };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, shared_reaper_main, &r[i]));
	}
	for (i = 0; i < SHARED_THREADS; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, r[i].submit_errors) TH_LOG("thread %d", i);
		EXPECT_EQ(0, r[i].bad_replies) TH_LOG("thread %d", i);
	}
	EXPECT_EQ(SHARED_CALLS, atomic_load(&total));
	for (i = 0; i < SHARED_CALLS; i++)
		EXPECT_EQ(1, atomic_load(&reaped[i])) TH_LOG("user_data %d", i);
	EXPECT_EQ(-EAGAIN, hop_async_reap(self->conn, &(struct hop_async_result){ 0 }));
}

TEST_F(dev, spawned_thread_delivers)
{
	submit_and_reap(_metadata, self->conn, HOP_DELIVER_SPAWN);
}

TEST_F(dev, existing_worker_delivers)
{
	ASSERT_EQ(0, set_param("deliver", "worker"));
	submit_and_reap(_metadata, self->conn, HOP_DELIVER_WORKER);
}

TEST_F(dev, eventfd_is_signalled)
{
	struct dev_req r = { .offset = 100, .len = 16 };
	struct hop_async_result res;
	unsigned char buf[16];
	uint64_t count = 0;
	int efd = eventfd(0, 0);

	ASSERT_GE(efd, 0);
	ASSERT_EQ(0, hop_conn_set_eventfd(self->conn, efd));
	ASSERT_EQ(0, hop_call_async(self->conn, &r, sizeof(r), buf, sizeof(buf), 42));
	ASSERT_EQ(sizeof(count), read(efd, &count, sizeof(count)));	/* blocks until then */
	EXPECT_EQ(1, count);
	ASSERT_EQ(0, hop_async_reap(self->conn, &res));
	EXPECT_EQ(42, res.user_data);
	EXPECT_EQ(16, res.result);
	EXPECT_EQ(hop_test_dev_pattern(100), buf[0]);
	EXPECT_EQ(-EBADF, hop_conn_set_eventfd(self->conn, 9999));
	EXPECT_EQ(-EINVAL, hop_conn_set_eventfd(self->conn, -2));
	EXPECT_EQ(0, hop_conn_set_eventfd(self->conn, -1));
	close(efd);
}

TEST_F(dev, bad_inputs)
{
	struct dev_req r = { .offset = 0, .len = 8 };
	struct hop_async_result res;
	struct hop_call c;
	unsigned char buf[8];
	int plain;

	/* A device read from a synchronous call: nobody to complete it. */
	EXPECT_EQ(-EINVAL, hop_call(self->conn, &r, sizeof(r), buf, sizeof(buf)));
	/* Out of the device's range. */
	r.offset = HOP_DEV_SIZE - 4;
	r.len = 8;
	ASSERT_EQ(0, hop_call_async(self->conn, &r, sizeof(r), buf, sizeof(buf), 1));
	ASSERT_EQ(1, hop_async_wait(self->conn, 5000));
	ASSERT_EQ(0, hop_async_reap(self->conn, &res));
	EXPECT_EQ(-EINVAL, res.result);
	/* Pending without a device read: the kernel refuses, libhop says EPROTO. */
	ASSERT_EQ(0, hop_call_async(self->conn, "pending", 7, buf, sizeof(buf), 2));
	ASSERT_EQ(1, hop_async_wait(self->conn, 5000));
	ASSERT_EQ(0, hop_async_reap(self->conn, &res));
	EXPECT_EQ(2, res.user_data);
	EXPECT_EQ(-EPROTO, res.result);
	/* user_data on a synchronous call, reap with nothing waiting, bad pointers. */
	c = hop_test_call_args("x", 1, buf, sizeof(buf));
	c.user_data = 7;
	EXPECT_EQ(-EINVAL, hop_test_ioctl(hop_conn_fd(self->conn), HOP_IOC_CALL, &c));
	EXPECT_EQ(-EAGAIN, hop_async_reap(self->conn, &res));
	EXPECT_EQ(-EFAULT, hop_test_ioctl(hop_conn_fd(self->conn), HOP_IOC_ASYNC_REAP, NULL));
	memset(&res, 0, sizeof(res));
	res.flags = 1;
	EXPECT_EQ(-EINVAL, hop_test_ioctl(hop_conn_fd(self->conn), HOP_IOC_ASYNC_REAP, &res));
	/* DEV_READ outside any handler: not a service file, or not in a hop. */
	plain = open("/dev/hop", O_RDWR);
	EXPECT_EQ(-EPERM, hop_test_ioctl(plain, HOP_IOC_DEV_READ, &(struct hop_dev_read){ .len = 1 }));
	close(plain);
	EXPECT_EQ(-EPERM, hop_dev_read(0, 1, buf));
}

TEST_F(dev, in_flight_limit_is_eagain)
{
	static unsigned char bufs[HOP_ASYNC_MAX_PER_SERVICE + 16][16];
	struct dev_req r = { .offset = 0, .len = 16 };
	struct hop_async_result res;
	int i, ok = 0, eagain = 0, reaped = 0;
	time_t end;

	/* A slow timer, so that nothing completes while we submit. */
	if (strncmp(device_kind(), "timer", 5) == 0)
		ASSERT_EQ(0, set_param("timer_delay_us", "3000000"));
	for (i = 0; i < HOP_ASYNC_MAX_PER_SERVICE + 16; i++) {
		int err = hop_call_async(self->conn, &r, sizeof(r), bufs[i], 16, i);

		if (err == 0)
			ok++;
		else if (err == -EAGAIN)
			eagain++;
		else
			EXPECT_EQ(0, err);
	}
	EXPECT_GE(ok, HOP_ASYNC_MAX_PER_SERVICE);
	EXPECT_GT(eagain, 0);
	TH_LOG("%d accepted, %d refused with EAGAIN", ok, eagain);
	end = time(NULL) + 60;
	while (reaped < ok && time(NULL) < end)
		if (hop_async_wait(self->conn, 1000) > 0)
			while (hop_async_reap(self->conn, &res) == 0)
				reaped++;
	EXPECT_EQ(ok, reaped);
	set_param("timer_delay_us", "1000");
}

TEST_F(dev, handle_closed_with_calls_in_flight)
{
	static unsigned char bufs[4][64];
	struct dev_req r = { .offset = 64, .len = 64 };
	int i;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, hop_call_async(self->conn, &r, sizeof(r), bufs[i], 64, i));
	hop_disconnect(self->conn);
	self->conn = NULL;
	/* The reads finish into the server; their completions are dropped and freed. */
	EXPECT_EQ(0, wait_stat_zero("async", 20));
}

TEST_F(dev, client_exits_with_calls_in_flight)
{
	pid_t child = fork();
	int status;

	if (child == 0) {
		static unsigned char bufs[4][64];
		struct dev_req r = { .offset = 0, .len = 64 };
		struct hop_conn *own;
		int i;

		/* Its own handle: the inherited one is still open in the parent. */
		if (hop_connect(&own, self->srv.name))
			_exit(2);
		for (i = 0; i < 4; i++)
			if (hop_call_async(own, &r, sizeof(r), bufs[i], 64, i))
				_exit(1);
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, wait_stat_zero("async", 20));
}

TEST_F(dev, server_exits_with_calls_in_flight)
{
	static unsigned char bufs[4][64];
	struct dev_req r = { .offset = 0, .len = 64 };
	struct hop_async_result res;
	int i, reaped = 0;
	time_t end;

	if (strncmp(device_kind(), "timer", 5) == 0)
		ASSERT_EQ(0, set_param("timer_delay_us", "500000"));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, hop_call_async(self->conn, &r, sizeof(r), bufs[i], 64, i));
	hop_test_server_stop(&self->srv);
	/* The kernel thread finds no server to enter: the calls fail. */
	end = time(NULL) + 30;
	while (reaped < 4 && time(NULL) < end)
		if (hop_async_wait(self->conn, 1000) > 0)
			while (hop_async_reap(self->conn, &res) == 0) {
				EXPECT_EQ(-ECONNRESET, res.result);
				reaped++;
			}
	EXPECT_EQ(4, reaped);
	set_param("timer_delay_us", "1000");
}

/* Reap one completion (waiting up to @ms); its result, or -ETIMEDOUT. */
static long reap_one(struct hop_conn *conn, int ms, struct hop_async_result *res)
{
	long long end = hop_test_now_ms() + ms;

	do {
		if (hop_async_reap(conn, res) == 0)
			return 0;
	} while (hop_async_wait(conn, 100) >= 0 && hop_test_now_ms() < end);
	return hop_async_reap(conn, res) == 0 ? 0 : -ETIMEDOUT;
}

/*
 * The worker delivery mode has one kernel thread for every delivery, of
 * every service and client.  A client whose reply buffer lies on a page
 * that blocks (userfaultfd, FUSE) stopped it in the copy: main (7615d74)
 * delivered no other call, of anyone, until that page came (the second
 * call below was still not reaped after 5 s).  Now the worker copies with
 * page faults off and leaves a delivery that would wait to a thread of its
 * own (delivered_by: spawn).
 */
TEST_F(dev, worker_is_not_held_by_a_clients_blocking_page)
{
	struct dev_req r0 = { .offset = 0, .len = 64 }, r1 = { .offset = 64, .len = 64 };
	static unsigned char buf1[64];
	struct hop_async_result res;
	struct blocking_page b;
	unsigned int i, bad;
	int err;

	err = blocking_page_open(&b);
	if (err == -ENOSYS || err == -EPERM)
		SKIP(return, "no userfaultfd here: %s", strerror(-err));
	ASSERT_EQ(0, err);
	ASSERT_EQ(0, set_param("deliver", "worker"));
	ASSERT_EQ(0, hop_call_async(self->conn, &r0, sizeof(r0), b.page, 64, 0));
	ASSERT_EQ(0, blocking_page_wait_fault(&b));
	/* Delivery 0 waits for the page: does delivery 1 get through? */
	ASSERT_EQ(0, hop_call_async(self->conn, &r1, sizeof(r1), buf1, 64, 1));
	EXPECT_EQ(0, reap_one(self->conn, 5000, &res));
	EXPECT_EQ(1, res.user_data);
	EXPECT_EQ(64, res.result);
	EXPECT_EQ(HOP_DELIVER_WORKER, res.delivered_by);
	for (bad = 0, i = 0; i < 64; i++)
		bad += buf1[i] != hop_test_dev_pattern(64 + i);
	EXPECT_EQ(0, bad);
	ASSERT_EQ(0, blocking_page_release(&b, ""));
	ASSERT_EQ(0, reap_one(self->conn, 10000, &res));
	EXPECT_EQ(0, res.user_data);
	EXPECT_EQ(64, res.result);
	EXPECT_EQ(HOP_DELIVER_SPAWN, res.delivered_by);
	for (bad = 0, i = 0; i < 64; i++)
		bad += (unsigned char)b.page[i] != hop_test_dev_pattern(i);
	EXPECT_EQ(0, bad);
	munmap(b.page, 4096);
	close(b.uffd);
}

TEST_HARNESS_MAIN
