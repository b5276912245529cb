/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hop_testlib.h: what the hop selftests share: starting a server process that
 * serves one handler, unique names, raw ioctls, a page that blocks until
 * told (userfaultfd).  Header-only because every test is its own program.
 */
#ifndef HOP_TESTLIB_H
#define HOP_TESTLIB_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <poll.h>
#include <linux/userfaultfd.h>
#include <linux/hop.h>
#include <hop.h>

/*
 * The harness kills a case after 30 s by default.  run-tests.sh already
 * bounds every program (TEST_TIMEOUT: 120 s, 600 s on the debug kernel,
 * where KASAN and lockdep make the same work several times slower), so the
 * harness's alarm is only a backstop; included after kselftest_harness.h,
 * this applies to every TEST() below it.
 */
#ifdef TEST_TIMEOUT_DEFAULT
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 3600
#endif

/* A name no other test uses at the same time. */
static inline const char *hop_test_name(const char *base)
{
	static char buf[HOP_NAME_MAX];
	static int seq;

	snprintf(buf, sizeof(buf), "%s-%d-%d", base, getpid(), seq++);
	return buf;
}

/* ioctl() that returns -errno like the module does, for exact-errno checks. */
static inline long hop_test_ioctl(int fd, unsigned long cmd, const void *arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

/* Write @s to @path (a sysctl, a cgroup file, /dev/kmsg): 0 or -errno. */
static inline int hop_test_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), r;

	if (fd < 0)
		return -errno;
	r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -errno;
	close(fd);
	return r;
}

struct hop_test_server {
	pid_t pid;
	char name[HOP_NAME_MAX];
};

/*
 * Fork a server that runs @setup (may be NULL), serves @fn as @name and then
 * sleeps until killed.  Returns 0 once the service is registered, or the
 * -errno hop_serve() returned in the child.
 */
static inline int hop_test_server_start(struct hop_test_server *srv, const char *name,
					 hop_handler_t fn, void *ctx,
					 const struct hop_serve_opts *opts,
					 void (*setup)(void))
{
	int pipefd[2], err = -EIO;
	char c;

	snprintf(srv->name, sizeof(srv->name), "%s", name);
	if (pipe(pipefd))
		return -errno;
	srv->pid = fork();
	if (srv->pid < 0)
		return -errno;
	if (srv->pid == 0) {
		struct hop_service *svc;

		close(pipefd[0]);
		/* A test that dies must not leave its server behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (setup)
			setup();
		err = hop_serve(&svc, name, fn, ctx, opts);
		if (write(pipefd[1], &err, sizeof(err)) != sizeof(err))
			_exit(2);
		close(pipefd[1]);
		if (err)
			_exit(1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	if (read(pipefd[0], &err, sizeof(err)) != sizeof(err))
		err = -EIO;
	/*
	 * Then the end of file, which comes when the server has closed its
	 * write end: a test that counts the server's fds (call_test) must
	 * not see that one come and go.
	 */
	while (read(pipefd[0], &c, 1) > 0)
		;
	close(pipefd[0]);
	if (err) {
		waitpid(srv->pid, NULL, 0);
		srv->pid = 0;
	}
	return err;
}

/* Kill the server and reap it; returns its wait status. */
static inline int hop_test_server_stop(struct hop_test_server *srv)
{
	int status = 0;

	if (srv->pid > 0) {
		kill(srv->pid, SIGKILL);
		waitpid(srv->pid, &status, 0);
		srv->pid = 0;
	}
	return status;
}

/* A count from /sys/kernel/debug/hop/stats ("services", "frames", "async"), or -1. */
static inline int hop_test_stat(const char *key)
{
	FILE *f = fopen("/sys/kernel/debug/hop/stats", "r");
	char k[32];
	int v, found = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%31s %d", k, &v) == 2)
		if (!strcmp(k, key))
			found = v;
	fclose(f);
	return found;
}

/* CLOCK_MONOTONIC in ms, for tests that bound or measure a wait. */
static inline long long hop_test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Wait (up to 10 s) until at least @n hops are in flight machine-wide
 * (debugfs "frames"): a test that acts on a hop from outside starts once it
 * runs, not after a guessed sleep.  Without debugfs: 200 ms, a guess.
 */
static inline void hop_test_wait_frames(int n)
{
	long long t0 = hop_test_now_ms();

	if (hop_test_stat("frames") < 0) {
		usleep(200 * 1000);
		return;
	}
	while (hop_test_stat("frames") < n && hop_test_now_ms() - t0 < 10000)
		usleep(1000);
}

/* hop_call() with a deadline of @timeout_ms (0: the service's). */
static inline ssize_t hop_test_call_ms(struct hop_conn *c, const void *req, size_t len,
				       void *resp, size_t cap, unsigned long long timeout_ms)
{
	struct hop_call_opts o = { .size = sizeof(o), .timeout_ns = timeout_ms * 1000000ULL };

	return hop_call_opts(c, req, len, resp, cap, &o);
}

/* The slow device's data: byte i of the device (module/device.c). */
static inline unsigned char hop_test_dev_pattern(unsigned int i)
{
	return (unsigned char)(i * 7 + 0x5a);
}

/* Fill a hop_call for the raw ioctl. */
static inline struct hop_call hop_test_call_args(const void *req, size_t req_len,
						 void *resp, size_t resp_cap)
{
	struct hop_call c;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.req = (unsigned long)req;
	c.req_len = req_len;
	c.resp = (unsigned long)resp;
	c.resp_cap = resp_cap;
	return c;
}

/* A trivial handler: copy the request to the reply. */
static inline ssize_t hop_test_echo(void *ctx, const void *req, size_t len,
				    void *resp, size_t cap)
{
	(void)ctx;
	if (len > cap)
		return -EMSGSIZE;
	memcpy(resp, req, len);
	return (ssize_t)len;
}

/*
 * A page that faults until the test says otherwise, for tests of a wait on
 * the caller's memory: a userfaultfd range in missing mode, with no thread
 * serving it.
 */
struct blocking_page {
	int uffd;
	char *page;
};

static inline int blocking_page_open(struct blocking_page *b)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;

	b->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (b->uffd < 0)
		return -errno;
	if (ioctl(b->uffd, UFFDIO_API, &api))
		return -errno;
	b->page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->page == MAP_FAILED)
		return -errno;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (unsigned long)b->page;
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	return ioctl(b->uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

/* Wait (10 s) until a thread is stopped in a fault on the page. */
static inline int blocking_page_wait_fault(struct blocking_page *b)
{
	struct pollfd p = { .fd = b->uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&p, 1, 10000) != 1)
		return -ETIMEDOUT;
	if (read(b->uffd, &msg, sizeof(msg)) != sizeof(msg))
		return -errno;
	return msg.event == UFFD_EVENT_PAGEFAULT ? 0 : -EPROTO;
}

/* Map the page, holding @text, and let the faulting thread go on. */
static inline int blocking_page_release(struct blocking_page *b, const char *text)
{
	static char src[4096] __attribute__((aligned(4096)));
	struct uffdio_copy copy = {
		.dst = (unsigned long)b->page, .src = (unsigned long)src, .len = 4096,
	};

	memset(src, 0, sizeof(src));
	strcpy(src, text);
	return ioctl(b->uffd, UFFDIO_COPY, &copy) ? -errno : 0;
}

#endif /* HOP_TESTLIB_H */
