// SPDX-License-Identifier: GPL-2.0
/*
 * identity_test: the handler runs as the server and as nothing else.  One
 * test per attack of issue 14 / notes/security-review.md, and one per
 * "refuse" and "freeze" row of module/policy.c's table.
 *
 * Each attack test says in its comment what it did on main before the fix
 * (65a4372, 6.12 guest, run with this file and that commit's hop.ko); "now"
 * is what the test checks.  Tests that change the calling process
 * irreversibly (seccomp, namespaces, personality, rlimits) run in a child.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <fcntl.h>
#include <termios.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/io.h>
#include <sys/user.h>
#include <sys/personality.h>
#include <net/if.h>
#include <linux/filter.h>
#include <linux/perf_event.h>
#include <linux/seccomp.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#endif

#define SERVER_FILE_FD 78	/* a file of the server's, opened by setup */
#define CLIENT_FILE_FD 79	/* a file of the client's, opened after the server forked */

/* Globals at the same address in the server (a fork of the test) and the client. */
static volatile int marker;		/* set by a signal handler, wherever it runs */
static volatile long client_var = 1;	/* what a handler must not reach in the client */
static int listen_port;			/* the server's 127.0.0.1 listener */
/* Not a constant, so the compiler does not see the fault coming. */
static volatile int *volatile fault_address = (int *)16;

static void on_signal(int sig)
{
	(void)sig;
	marker = 1;
}

static void server_setup(void)
{
	char path[] = "/tmp/hop-identity-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || dup2(fd, SERVER_FILE_FD) != SERVER_FILE_FD)
		_exit(3);
	unlink(path);
}

/* Protection keys: PKRU is user-writable without a syscall. */
static int have_ospke(void)
{
	unsigned int a = 7, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return (c >> 4) & 1;
}

static unsigned int rdpkru(void)
{
	unsigned int eax, edx;

	__asm__ volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

static void wrpkru(unsigned int v)
{
	__asm__ volatile("wrpkru" : : "a"(v), "c"(0), "d"(0));
}

/*
 * A service registered from inside a handler ("serve-nested"), with raw
 * ioctls: libhop's hop_serve() starts threads, which a handler may not.  Its
 * one slot's buffer and stack are the server's memory (the handler that
 * registers it runs there); its handler reports the effective uid it runs
 * with and ends its hop by hand.
 */
static char nested_name[HOP_NAME_MAX];	/* set by the test before it forks the server */
static int nested_svc_fd = -1;
static char nested_buf[2 * HOP_MSG_MIN] __attribute__((aligned(4096)));
static char nested_stack[64 * 1024] __attribute__((aligned(16)));

static void __attribute__((noreturn, used)) nested_entry(uint64_t cookie, uint64_t len,
							   uint64_t cap)
{
	struct hop_return r = { .result = sizeof(long), .slot = 0 };
	long euid = geteuid();

	(void)cookie; (void)len; (void)cap;
	memcpy(nested_buf + HOP_MSG_MIN, &euid, sizeof(euid));
	ioctl(nested_svc_fd, HOP_IOC_RETURN, &r);
	abort();	/* the return failed: a fault of this hop */
}

/* In a handler: serve nested_name, call it, and return what its handler said. */
static long serve_nested_and_call(void)
{
	struct hop_slot_desc d = { .stack_top = (uintptr_t)(nested_stack + sizeof(nested_stack)),
				   .buf = (uintptr_t)nested_buf };
	struct hop_serve s = { .size = sizeof(s), .entry = (uintptr_t)nested_entry,
			       .slots = (uintptr_t)&d, .nr_slots = 1, .mode = 0666,
			       .msg_size = HOP_MSG_MIN };
	struct hop_connect cn = { .size = sizeof(cn) };
	long euid = -1, r;
	struct hop_call c = { .size = sizeof(c), .req = (uintptr_t)"x", .req_len = 1,
			      .resp = (uintptr_t)&euid, .resp_cap = sizeof(euid) };
	unsigned long fs;
	int h;

	if (syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &fs))
		return -errno;
	d.tls = fs;	/* the nested handler shares this slot's TLS */
	memcpy(s.name, nested_name, sizeof(s.name));
	memcpy(cn.name, nested_name, sizeof(cn.name));
	nested_svc_fd = open("/dev/hop", O_RDWR);
	if (nested_svc_fd < 0)
		return -errno;
	r = hop_test_ioctl(nested_svc_fd, HOP_IOC_SERVE, &s);
	if (r)
		goto out;
	h = hop_test_ioctl(nested_svc_fd, HOP_IOC_CONNECT, &cn);
	if (h < 0) {
		r = h;
		goto out;
	}
	r = hop_test_ioctl(h, HOP_IOC_CALL, &c);
	close(h);
	if (r == sizeof(euid))
		r = euid;
	else if (r >= 0)
		r = -EPROTO;
out:
	close(nested_svc_fd);
	return r;
}

/* Run @cmd in the handler: -errno, or a value (unknown commands: their length). */
static long run(const char *cmd, void *resp, size_t cap)
{
	static char buf[8192];

	if (!strcmp(cmd, "marker"))
		return marker;
	if (!strcmp(cmd, "euid"))
		return geteuid();
	if (!strcmp(cmd, "serve-nested"))
		return serve_nested_and_call();
	if (!strcmp(cmd, "nap")) {
		/* Long enough for a loaded machine to act on the hop meanwhile. */
		usleep(1000 * 1000);
		return 0;
	}
	if (!strcmp(cmd, "unshare-files")) {
		int i;

		for (i = 0; i < 20; i++)
			if (unshare(CLONE_FILES))
				return -errno;
		return 0;
	}
	if (!strcmp(cmd, "open")) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	}
	if (!strcmp(cmd, "connect")) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons(listen_port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int s = socket(AF_INET, SOCK_STREAM, 0), r;

		if (s < 0)
			return -errno;
		r = connect(s, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0;
		close(s);
		return r;
	}
	if (!strcmp(cmd, "pwrite")) {
		ssize_t r;

		signal(SIGXFSZ, SIG_IGN);	/* EPERM in a handler: it is the caller's */
		r = pwrite(SERVER_FILE_FD, buf, sizeof(buf), 0);
		return r < 0 ? -errno : r;
	}
	if (!strcmp(cmd, "sigaction")) {
		struct sigaction sa = { .sa_handler = on_signal };

		return sigaction(SIGUSR1, &sa, NULL) ? -errno : 0;
	}
	if (!strcmp(cmd, "sigunblock")) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		if (sigprocmask(SIG_UNBLOCK, &set, NULL))
			return -errno;
		/* 1: SIGUSR1 is still blocked. */
		return sigprocmask(SIG_BLOCK, NULL, &set) ? -errno : sigismember(&set, SIGUSR1);
	}
	if (!strcmp(cmd, "ppoll-mask")) {
		sigset_t set;
		struct timespec ts = { 0, 0 };

		sigemptyset(&set);
		return ppoll(NULL, 0, &ts, &set) < 0 ? -errno : 0;
	}
	if (!strcmp(cmd, "segv")) {
		*fault_address = 1;
		return 0;
	}
	if (!strcmp(cmd, "sigbadhow")) {
		sigset_t set;

		sigemptyset(&set);
		return syscall(SYS_rt_sigprocmask, 99, &set, NULL, sizeof(set)) ? -errno : 0;
	}
	if (!strcmp(cmd, "segv-blocked")) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		if (sigprocmask(SIG_BLOCK, &set, NULL))
			return -errno;
		*fault_address = 1;	/* a fault, with SIGSEGV blocked */
		return 0;
	}
	if (!strcmp(cmd, "sigblock")) {
		sigset_t set, old;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		if (sigprocmask(SIG_BLOCK, &set, &old))
			return -errno;
		return sigprocmask(SIG_SETMASK, &old, NULL) ? -errno : 0;
	}
	if (!strcmp(cmd, "set_tid_address"))
		return syscall(SYS_set_tid_address, &client_var) < 0 ? -errno : 0;
	if (!strcmp(cmd, "pvwritev")) {
		long v = 666;
		struct iovec l = { &v, sizeof(v) }, r = { (void *)&client_var, sizeof(v) };

		return process_vm_writev(getpid(), &l, 1, &r, 1, 0) < 0 ? -errno : 0;
	}
	if (!strcmp(cmd, "procmem")) {
		/* The caller's memory through /proc/<its pid>/mem. */
		char path[64];
		long v = 666;
		ssize_t r;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/mem", getpid());
		fd = open(path, O_RDWR);
		if (fd < 0)
			return -errno;
		r = pwrite(fd, &v, sizeof(v), (off_t)(uintptr_t)&client_var);
		close(fd);
		return r < 0 ? -errno : 0;
	}
	if (!strcmp(cmd, "procfd")) {
		/* The caller's fd CLIENT_FILE_FD through /proc/<its pid>/fd: its length. */
		char path[64];
		ssize_t r;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", getpid(), CLIENT_FILE_FD);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -errno;
		r = pread(fd, buf, sizeof(buf), 0);
		close(fd);
		return r < 0 ? -errno : r;
	}
	if (!strcmp(cmd, "setown")) {
		/*
		 * SIGUSR1 on I/O of a server pipe, owned by the caller's
		 * process (getpid()), then the I/O.
		 */
		int p[2];
		long r = 0;

		if (pipe2(p, O_NONBLOCK))
			return -errno;
		if (fcntl(p[0], F_SETSIG, SIGUSR1) || fcntl(p[0], F_SETOWN, getpid()) ||
		    fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK) || write(p[1], "x", 1) != 1)
			r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (!strcmp(cmd, "setown-ex")) {
		struct f_owner_ex o = { .type = F_OWNER_PID, .pid = getpid() };

		return fcntl(SERVER_FILE_FD, F_SETOWN_EX, &o) ? -errno : 0;
	}
	if (!strcmp(cmd, "fiosetown")) {
		int pid = getpid(), p[2];
		long r;

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p))
			return -errno;
		r = ioctl(p[0], FIOSETOWN, &pid) ? -errno : 0;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (!strcmp(cmd, "dnotify")) {
		int d = open("/tmp", O_RDONLY | O_DIRECTORY);
		long r;

		if (d < 0)
			return -errno;
		r = fcntl(d, F_NOTIFY, DN_CREATE) ? -errno : 0;
		close(d);
		return r;
	}
	if (!strcmp(cmd, "lease"))
		return fcntl(SERVER_FILE_FD, F_SETLEASE, F_WRLCK) ? -errno : 0;
	if (!strcmp(cmd, "ctty")) {
		/* A pty of the server's made the caller's controlling terminal. */
		int m = posix_openpt(O_RDWR | O_NOCTTY), sl;
		long r;

		if (m < 0 || grantpt(m) || unlockpt(m))
			return -errno;
		sl = open(ptsname(m), O_RDWR | O_NOCTTY);
		if (sl < 0) {
			r = -errno;
			close(m);
			return r;
		}
		r = ioctl(sl, TIOCSCTTY, 0) ? -errno : 0;
		close(sl);
		close(m);
		return r;
	}
	if (!strcmp(cmd, "attr-exec-reset")) {
		/* "\n": no exec transition (SELinux commits new creds for it). */
		int fd = open("/proc/thread-self/attr/exec", O_WRONLY);
		long r;

		if (fd < 0)
			return -errno;
		r = write(fd, "\n", 1) < 0 ? -errno : 0;
		close(fd);
		return r;
	}
	if (!strcmp(cmd, "kill-own"))
		return kill(getpid(), 0) ? -errno : 0;
	if (!strcmp(cmd, "raise"))
		return raise(SIGUSR2) ? -errno : 0;
	if (!strcmp(cmd, "caller")) {
		struct hop_caller c;
		int r = hop_caller(&c);

		if (r)
			return r;
		if (cap < sizeof(c))
			return -EMSGSIZE;
		memcpy(resp, &c, sizeof(c));
		return 0;
	}
	if (!strcmp(cmd, "pkru")) {
		unsigned int before = rdpkru();

		wrpkru(before | (3U << 30));	/* deny pkey 15: the caller must not keep it */
		return before;
	}
	if (!strncmp(cmd, "sys ", 4)) {
		long nr, a0, a1, a2;

		if (sscanf(cmd + 4, "%ld %ld %ld %ld", &nr, &a0, &a1, &a2) != 4)
			return -EINVAL;
		return syscall(nr, a0, a1, a2) < 0 ? -errno : 0;
	}
	return strlen(cmd);
}

/* The reply is run()'s value (a long), or the struct hop_caller for "caller". */
static ssize_t handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	char cmd[64] = "";
	long v;

	(void)ctx;
	memcpy(cmd, req, len < sizeof(cmd) - 1 ? len : sizeof(cmd) - 1);
	v = run(cmd, resp, cap);
	if (v < 0)
		return v;
	if (!strcmp(cmd, "caller"))
		return sizeof(struct hop_caller);
	if (cap < sizeof(v))
		return -EMSGSIZE;
	memcpy(resp, &v, sizeof(v));
	return sizeof(v);
}

/* -errno of the call, or the handler's value. */
static long call(struct hop_conn *c, const char *cmd)
{
	long v = 0;
	ssize_t r = hop_call(c, cmd, strlen(cmd), &v, sizeof(v));

	return r < 0 ? r : v;
}

/* Fork, run @fn(@arg) in the child, return its exit status (or -1). */
static int in_child(int (*fn)(const char *name, void *arg), const char *name, void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(name, arg));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* A child's result: 100 + errno of the call, 100 for success. */
#define CHILD_RESULT(r) ((r) >= 0 ? 100 : 100 + (int)-(r) > 255 ? 255 : 100 + (int)-(r))

/* Loopback up in this network namespace (the test VM boots with it down). */
static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM, 0), r = -1;

	if (s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return r;
}

FIXTURE(srv)
{
	struct hop_test_server srv;
	struct hop_conn *conn;
};

FIXTURE_SETUP(srv)
{
	struct hop_serve_opts opts = { .size = sizeof(opts), .slots = 1 };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	/*
	 * The listener lives in the test's (and so the server's) netns.  A
	 * kernel without IPv4 loopback (the debug kernel's small config) gets
	 * none, and the one test that needs it skips.
	 */
	listen_port = 0;
	if (s >= 0 && !lo_up() && !bind(s, (struct sockaddr *)&a, sizeof(a)) && !listen(s, 16) &&
	    !getsockname(s, (struct sockaddr *)&a, &alen))
		listen_port = ntohs(a.sin_port);
	ASSERT_EQ(0, hop_test_server_start(&self->srv, hop_test_name("ident"), handler,
					   NULL, &opts, server_setup));
	ASSERT_EQ(0, hop_connect(&self->conn, self->srv.name));
}

FIXTURE_TEARDOWN(srv)
{
	hop_disconnect(self->conn);
	hop_test_server_stop(&self->srv);
}

/*
 * Review #1.  main: the first unshare(CLONE_FILES) succeeded, and 20 calls
 * crashed the guest (general protection fault in __kmalloc_node_noprof,
 * init killed): the server's files_struct was put twice.  Now: EPERM, and
 * the server keeps serving.
 */
TEST_F(srv, handler_unshare_is_frozen)
{
	EXPECT_EQ(-EPERM, call(self->conn, "unshare-files"));
	EXPECT_EQ(5, call(self->conn, "hello"));
}

/*
 * Review #2.  main: the call returned 0 and the client's SIGTRAP handler ran
 * inside the server (the server's marker read 1 afterwards).  Now: the hop
 * ends with EINTR before the handler runs, the signal stays pending for the
 * client, and the server's marker stays 0.
 */
TEST_F(srv, pending_blocked_signal_is_not_delivered_in_handler)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGTRAP);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	ASSERT_EQ(0, sigaction(SIGTRAP, &sa, NULL));
	ASSERT_EQ(0, raise(SIGTRAP));
	EXPECT_EQ(-EINTR, call(self->conn, "echo"));
	sigpending(&pending);
	EXPECT_TRUE(sigismember(&pending, SIGTRAP));
	EXPECT_EQ(0, marker);			/* not run in the client either */
	/* Refused as long as the client leaves it pending. */
	EXPECT_EQ(-EINTR, call(self->conn, "echo"));
	/* Let the client have its signal now; then calls work again. */
	ASSERT_EQ(0, sigprocmask(SIG_UNBLOCK, &set, NULL));
	EXPECT_EQ(1, marker);
	EXPECT_EQ(0, call(self->conn, "marker"));
	EXPECT_EQ(4, call(self->conn, "echo"));
}

static int seccomp_errno_openat(int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog)
		? -errno : 0;
}

static int client_with_seccomp(const char *name, void *arg)
{
	struct hop_conn *c;

	(void)arg;
	if (hop_connect(&c, name) || seccomp_errno_openat(EXDEV))
		return 1;
	return CHILD_RESULT(call(c, "open"));
}

/*
 * Review #3.  main: the handler's open() failed with the client's chosen
 * EXDEV.  Now: a caller under a seccomp filter is refused with EPERM.
 */
TEST_F(srv, client_seccomp_filter_is_refused)
{
	EXPECT_EQ(100 + EPERM, in_child(client_with_seccomp, self->srv.name, NULL));
	EXPECT_EQ(0, call(self->conn, "open"));
}

static int client_in_netns(const char *name, void *arg)
{
	struct hop_conn *c;

	(void)arg;
	if (hop_connect(&c, name))
		return 1;
	if (unshare(CLONE_NEWNET))
		return errno == EINVAL ? 2 : 3;		/* 2: no network namespaces */
	return CHILD_RESULT(call(c, "connect"));
}

/*
 * Review #5.  main: the handler's connect() to the server's own 127.0.0.1
 * listener failed with ENETUNREACH (the client's empty netns).  Now: the
 * handler is in the server's namespaces and connects.
 */
TEST_F(srv, handler_uses_server_network_namespace)
{
	int r;

	if (!listen_port)
		SKIP(return, "no IPv4 loopback listener on this kernel");
	/* From a client in the same namespace, as a baseline. */
	EXPECT_EQ(0, call(self->conn, "connect"));
	r = in_child(client_in_netns, self->srv.name, NULL);
	if (r == 2)
		SKIP(return, "no network namespaces on this kernel");
	EXPECT_EQ(100, r);
}

static int client_low_fsize(const char *name, void *arg)
{
	struct rlimit r = { 1024, 1024 };
	struct hop_conn *c;

	(void)arg;
	signal(SIGXFSZ, SIG_IGN);
	if (hop_connect(&c, name) || setrlimit(RLIMIT_FSIZE, &r))
		return 1;
	return CHILD_RESULT(call(c, "pwrite"));
}

/*
 * Review #6.  main: the handler's 8 KiB pwrite() wrote 1024 bytes (the
 * client's RLIMIT_FSIZE).  Now: a caller whose limit is below the
 * server's is refused with EPERM; with the server's limit the write is whole.
 */
TEST_F(srv, client_rlimit_below_server_is_refused)
{
	EXPECT_EQ(100 + EPERM, in_child(client_low_fsize, self->srv.name, NULL));
	EXPECT_EQ(8192, call(self->conn, "pwrite"));
}

struct nap_arg {
	struct hop_conn *conn;
	long result;
};

static void *nap_thread(void *p)
{
	struct nap_arg *a = p;

	a->result = call(a->conn, "nap");
	return NULL;
}

/*
 * Frozen while a sibling is hopped: the rlimits its handler runs under.
 * main: setrlimit() succeeded while the hop ran.  Now: EBUSY, and after
 * the hop it works.
 */
TEST_F(srv, sibling_setrlimit_while_hopped_is_busy)
{
	struct nap_arg a = { .conn = self->conn };
	struct rlimit r;
	pthread_t t;

	ASSERT_EQ(0, getrlimit(RLIMIT_FSIZE, &r));
	ASSERT_EQ(0, pthread_create(&t, NULL, nap_thread, &a));
	hop_test_wait_frames(1);
	EXPECT_EQ(-1, setrlimit(RLIMIT_FSIZE, &r));
	EXPECT_EQ(EBUSY, errno);
	pthread_join(t, NULL);
	EXPECT_EQ(0, a.result);
	EXPECT_EQ(0, setrlimit(RLIMIT_FSIZE, &r));
}

static int client_with_perf(const char *name, void *arg)
{
	struct perf_event_attr pe = {
		.type = PERF_TYPE_SOFTWARE, .size = sizeof(pe),
		.config = PERF_COUNT_SW_TASK_CLOCK, .sample_period = 10000,
		.sample_type = PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER,
		.sample_regs_user = 0xff, .sample_stack_user = 1024,
		.exclude_kernel = 1, .exclude_hv = 1,
	};
	struct hop_conn *c;

	(void)arg;
	if (hop_connect(&c, name) || syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0) < 0)
		return 1;
	return CHILD_RESULT(call(c, "echo"));
}

/*
 * Review #7.  main: the call succeeded and the client's ring buffer
 * sampled the handler's registers and stack.  Now: a caller with perf
 * events on itself is refused with EPERM.
 */
TEST_F(srv, client_perf_events_are_refused)
{
	EXPECT_EQ(100 + EPERM, in_child(client_with_perf, self->srv.name, NULL));
}

static int client_personality(const char *name, void *arg)
{
	struct hop_conn *c;

	(void)arg;
	if (hop_connect(&c, name) || personality(PER_LINUX | READ_IMPLIES_EXEC) < 0)
		return 1;
	return CHILD_RESULT(call(c, "echo"));
}

/* Refuse row: a personality other than the server's (main: the call ran). */
TEST_F(srv, client_personality_is_refused)
{
	EXPECT_EQ(100 + EPERM, in_child(client_personality, self->srv.name, NULL));
}

static char sud_selector;

static int client_sud(const char *name, void *arg)
{
	struct hop_conn *c;

	(void)arg;
	if (hop_connect(&c, name))
		return 1;
	sud_selector = 0;	/* SYSCALL_DISPATCH_FILTER_ALLOW */
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0, &sud_selector))
		return 2;
	return CHILD_RESULT(call(c, "echo"));
}

/*
 * Review #11.  Syscall User Dispatch: main made the hop with the caller's
 * dispatch still armed (its selector read at a caller-chosen address in
 * the server).  Now: EPERM.
 */
TEST_F(srv, client_syscall_user_dispatch_is_refused)
{
	EXPECT_EQ(100 + EPERM, in_child(client_sud, self->srv.name, NULL));
}

static int client_notsc(const char *name, void *arg)
{
	struct hop_conn *c;

	(void)arg;
	if (hop_connect(&c, name) || prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0))
		return 1;
	return CHILD_RESULT(call(c, "echo"));
}

/* Review #11.  PR_SET_TSC: main ran the handler with RDTSC faulting.  Now: EPERM. */
TEST_F(srv, client_tsc_trap_is_refused)
{
	EXPECT_EQ(100 + EPERM, in_child(client_notsc, self->srv.name, NULL));
}

/*
 * Review #9.  main: sigaction() from the handler succeeded and installed a
 * server-chosen handler in the client; the client later ran it.  Now: EPERM
 * and the client's disposition is unchanged.
 */
TEST_F(srv, handler_sigaction_is_frozen)
{
	struct sigaction sa = { .sa_handler = SIG_IGN }, now;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	EXPECT_EQ(-EPERM, call(self->conn, "sigaction"));
	ASSERT_EQ(0, sigaction(SIGUSR1, NULL, &now));
	EXPECT_EQ(SIG_IGN, now.sa_handler);
}

/*
 * Review #9.  main: set_tid_address() from the handler moved the client
 * thread's clear_child_tid to a client variable (pthread_join() hung).
 * Now: EPERM.
 */
TEST_F(srv, handler_set_tid_address_is_frozen)
{
	EXPECT_EQ(-EPERM, call(self->conn, "set_tid_address"));
}

static void *pvwritev_thread(void *p)
{
	struct nap_arg *a = p;

	a->result = call(a->conn, "pvwritev");
	return NULL;
}

struct cmd_arg {
	struct hop_conn *conn;
	const char *cmd;
	long result;
};

/* Call @cmd from a thread other than the leader: getpid() then names a task that is not hopped. */
static void *cmd_thread(void *p)
{
	struct cmd_arg *a = p;

	a->result = call(a->conn, a->cmd);
	return NULL;
}

static long call_from_thread(struct hop_conn *conn, const char *cmd)
{
	struct cmd_arg a = { .conn = conn, .cmd = cmd, .result = -ESRCH };
	pthread_t t;

	if (pthread_create(&t, NULL, cmd_thread, &a))
		return -EAGAIN;
	pthread_join(t, NULL);
	return a.result;
}

/*
 * The kernel lets a thread at its own process through /proc without a
 * ptrace check (__ptrace_may_access(): same_thread_group()), and a hopped
 * task is still of the client's process.  main (23ee924): from a hop made
 * by a thread other than the leader, the handler opened /proc/<getpid()>/mem
 * read-write and wrote client_var (666), and read the client's fd 79 through
 * /proc/<getpid()>/fd/79.  Now: the ptrace check fails for a hopped task
 * looking at its own process (EACCES), as for anyone looking at a hopped
 * task, and nothing of the client's is reached.
 */
TEST_F(srv, handler_cannot_reach_the_client_through_proc)
{
	char path[] = "/tmp/hop-identity-client-XXXXXX";
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	unlink(path);
	ASSERT_EQ(CLIENT_FILE_FD, dup2(fd, CLIENT_FILE_FD));
	close(fd);
	ASSERT_EQ(6, write(CLIENT_FILE_FD, "secret", 6));
	EXPECT_EQ(-EACCES, call_from_thread(self->conn, "procmem"));
	EXPECT_EQ(1, client_var);
	EXPECT_EQ(-EACCES, call_from_thread(self->conn, "procfd"));
	close(CLIENT_FILE_FD);
	EXPECT_EQ(5, call(self->conn, "hello"));
}

/*
 * Review #9.  main: from a hop made by a thread other than the leader, the
 * handler's process_vm_writev(getpid()) wrote the client's memory.  Now:
 * EPERM, and client_var is untouched.
 */
TEST_F(srv, handler_process_vm_writev_into_client_is_frozen)
{
	struct nap_arg a = { .conn = self->conn };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, pvwritev_thread, &a));
	pthread_join(t, NULL);
	EXPECT_EQ(-EPERM, a.result);
	EXPECT_EQ(1, client_var);
}

/*
 * Signals to the caller's process arranged for later: a file's owner (the
 * process SIGIO and F_SETSIG's signal go to) set to getpid(), which in a
 * handler is the caller's; leases and dnotify make current's process the
 * owner themselves.  main (2d65b20): the handler's F_SETOWN(getpid()) on a
 * server pipe with F_SETSIG SIGUSR1 succeeded, and its write sent SIGUSR1
 * to the client, whose handler ran after the call (marker 1);
 * F_SETOWN_EX, FIOSETOWN (on a socket), F_NOTIFY and F_SETLEASE all
 * returned 0.  Now:
 * each fails EPERM, and no signal reaches the client.
 */
TEST_F(srv, handler_cannot_aim_signals_at_the_client)
{
	struct sigaction sa = { .sa_handler = on_signal }, old;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, &old));
	marker = 0;
	EXPECT_EQ(-EPERM, call(self->conn, "setown"));
	usleep(100 * 1000);
	EXPECT_EQ(0, marker);
	EXPECT_EQ(-EPERM, call(self->conn, "setown-ex"));
	EXPECT_EQ(-EPERM, call(self->conn, "fiosetown"));
	EXPECT_EQ(-EPERM, call(self->conn, "dnotify"));
	EXPECT_EQ(-EPERM, call(self->conn, "lease"));
	EXPECT_EQ(5, call(self->conn, "hello"));
	sigaction(SIGUSR1, &old, NULL);
}

/* A session leader without a terminal calls "ctty"; then: has it one? */
static int client_without_tty(const char *name, void *arg)
{
	struct hop_conn *c;
	long r;
	int fd;

	(void)arg;
	if (setsid() < 0 || hop_connect(&c, name))
		return 1;
	r = call(c, "ctty");
	fd = open("/dev/tty", O_RDWR);
	if (fd >= 0)
		return 2;	/* the server's pty is its controlling terminal */
	return CHILD_RESULT(r);
}

/*
 * The caller's session and terminal are its process's: a handler's
 * TIOCSCTTY on a pty of the server's made it the controlling terminal of a
 * client that leads a session.  main (2d65b20): it did, and when the
 * handler closed the master the hangup killed the client with SIGHUP (the
 * server, holding the master, could send it SIGINT, SIGTSTP or SIGHUP at
 * will).  Now: EPERM, and the client has no terminal.
 */
TEST_F(srv, handler_cannot_give_the_client_a_terminal)
{
	if (access("/dev/ptmx", R_OK | W_OK))
		SKIP(return, "no /dev/ptmx");
	EXPECT_EQ(100 + EPERM, in_child(client_without_tty, self->srv.name, NULL));
}

/*
 * A task's LSM attributes (/proc/thread-self/attr: exec, fscreate,
 * sockcreate, AppArmor's change_profile) outlive the hop on the client's
 * task, and an LSM that commits new credentials for them would meet a task
 * whose cred is not its real_cred (commit_creds() BUG()s on that).  The
 * kernel refuses the write itself while the credentials are overridden
 * (proc_pid_attr_write(): EBUSY), which a hop's are because it swaps only
 * ->cred.  Seen: EBUSY under AppArmor and under SELinux (lsm=selinux, no
 * policy) in the 6.12 guest.  This test keeps it so.
 */
TEST_F(srv, handler_cannot_set_the_tasks_lsm_attributes)
{
	EXPECT_EQ(-EBUSY, call(self->conn, "attr-exec-reset"));
	EXPECT_EQ(5, call(self->conn, "hello"));
}

/* Freeze row: signals to the caller's own process (main: kill() succeeded). */
TEST_F(srv, handler_kill_of_caller_is_frozen)
{
	EXPECT_EQ(-EPERM, call(self->conn, "kill-own"));
}

/*
 * raise() in a handler is the handler's fault: main delivered or queued
 * SIGUSR2 on the client's thread (here, SIG_IGN'd by the client).  Now: the
 * hop is aborted with ECONNABORTED and nothing is queued for the client.
 */
TEST_F(srv, handler_raise_is_a_fault)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	EXPECT_EQ(-ECONNABORTED, call(self->conn, "raise"));
	sigpending(&pending);
	EXPECT_FALSE(sigismember(&pending, SIGUSR2));
	EXPECT_EQ(5, call(self->conn, "hello"));
}

/*
 * Freeze row: the handler's sigprocmask() changes nothing, but answers as
 * the kernel would (main: SIGUSR1 was unblocked, and a pending one would
 * have been delivered in the handler with the client's sigaction; blocking:
 * handler_cannot_reset_the_clients_fault_handler), and it may not wait
 * under a mask of its own.
 */
TEST_F(srv, handler_sigprocmask_leaves_the_hops_mask)
{
	EXPECT_EQ(1, call(self->conn, "sigunblock"));
	EXPECT_EQ(0, call(self->conn, "sigblock"));
	EXPECT_EQ(-EINVAL, call(self->conn, "sigbadhow"));
	EXPECT_EQ(-EPERM, call(self->conn, "ppoll-mask"));
}

static void client_segv_handler(int sig)
{
	(void)sig;
}

/*
 * Freeze row: a handler that blocks a fault signal and then faults.  The
 * kernel forces a blocked fault signal through by resetting its action to
 * SIG_DFL, and the action is the client's (sighand is not switched).  main:
 * the client's own SIGSEGV handler was gone after the call.  Now: the hop's
 * mask stays as it is (rt_sigprocmask reports it and changes nothing), the
 * fault aborts the hop as any fault, and the client's handler stays.
 */
TEST_F(srv, handler_cannot_reset_the_clients_fault_handler)
{
	struct sigaction sa = { .sa_handler = client_segv_handler }, now;

	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
	EXPECT_EQ(-ECONNABORTED, call(self->conn, "segv-blocked"));
	ASSERT_EQ(0, sigaction(SIGSEGV, NULL, &now));
	EXPECT_EQ((void *)client_segv_handler, (void *)now.sa_handler);
	signal(SIGSEGV, SIG_DFL);
	EXPECT_EQ(4, call(self->conn, "echo"));
}

/*
 * Refuse row: a client that ignores a fault signal.  The kernel forces an
 * ignored fault signal through the same way, by resetting the (client's)
 * action to SIG_DFL.  main: the call failed ECONNABORTED and left the
 * client's SIG_IGN for SIGSEGV reset to SIG_DFL.  Now: EPERM before the hop,
 * and the client's choice stays.
 */
TEST_F(srv, client_ignoring_a_fault_signal_is_refused)
{
	struct sigaction now;

	ASSERT_NE(SIG_ERR, signal(SIGSEGV, SIG_IGN));
	EXPECT_EQ(-EPERM, call(self->conn, "segv"));
	ASSERT_EQ(0, sigaction(SIGSEGV, NULL, &now));
	EXPECT_EQ(SIG_IGN, now.sa_handler);
	signal(SIGSEGV, SIG_DFL);
	EXPECT_EQ(4, call(self->conn, "echo"));
}

/*
 * Freeze rows: each of these syscalls fails with EPERM in a handler (main:
 * each ran, on the client's task).  Arguments are harmless or invalid, so
 * that on main they did nothing lasting to the test.
 */
TEST_F(srv, handler_frozen_syscalls)
{
	static const struct { const char *what; long nr, a0, a1, a2; } frozen[] = {
		{ "unshare(CLONE_FS)", SYS_unshare, CLONE_FS, 0, 0 },
		{ "setns(-1)", SYS_setns, -1, 0, 0 },
		{ "clone(bad flags)", SYS_clone, -1, 0, 0 },
		{ "personality(query)", SYS_personality, 0xffffffff, 0, 0 },
		{ "seccomp(GET_ACTION_AVAIL)", SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, 0 },
		{ "prctl(PR_SET_NAME)", SYS_prctl, PR_SET_NAME, 0, 0 },
		{ "prctl(PR_SET_NO_NEW_PRIVS)", SYS_prctl, PR_SET_NO_NEW_PRIVS, 2, 0 },
		{ "set_robust_list(0, 0)", SYS_set_robust_list, 0, 0, 0 },
		{ "rseq(NULL)", SYS_rseq, 0, 0, 0 },
		{ "rt_sigaction(query)", SYS_rt_sigaction, SIGUSR1, 0, 0 },
		{ "sigaltstack(query)", SYS_sigaltstack, 0, 0, 0 },
		{ "rt_sigtimedwait(NULL)", SYS_rt_sigtimedwait, 0, 0, 0 },
		{ "setrlimit(bad)", SYS_setrlimit, 999, 0, 0 },
		{ "prlimit64(set, bad)", SYS_prlimit64, 0, 999, 1 },
		{ "sched_setaffinity(bad)", SYS_sched_setaffinity, 0, 0, 0 },
		{ "setpriority(bad)", SYS_setpriority, 99, 0, 0 },
		{ "set_mempolicy(bad)", SYS_set_mempolicy, 99, 0, 0 },
		{ "timer_create(bad)", SYS_timer_create, 99, 0, 0 },
		{ "alarm(0)", SYS_alarm, 0, 0, 0 },
		{ "wait4(-1, NOHANG)", SYS_wait4, -1, 0, WNOHANG },
		{ "setsid()", SYS_setsid, 0, 0, 0 },
		{ "io_uring_setup(0)", SYS_io_uring_setup, 0, 0, 0 },
		{ "ptrace(bad)", SYS_ptrace, -1, 0, 0 },
		{ "pidfd_open(self)", SYS_pidfd_open, 0, 0, 0 },
		{ "perf_event_open(NULL)", SYS_perf_event_open, 0, 0, 0 },
		{ "close_range(UNSHARE)", SYS_close_range, 1000000, 1000000, 2 /* CLOSE_RANGE_UNSHARE */ },
		{ "arch_prctl(bad)", SYS_arch_prctl, 0x9999, 0, 0 },
		{ "semop(bad)", SYS_semop, -1, 0, 0 },
	};
	char cmd[64];
	unsigned int i;

	for (i = 0; i < sizeof(frozen) / sizeof(frozen[0]); i++) {
		snprintf(cmd, sizeof(cmd), "sys %ld %ld %ld %ld", frozen[i].nr, frozen[i].a0,
			 frozen[i].a1, frozen[i].a2);
		TH_LOG("%s", frozen[i].what);
		EXPECT_EQ(-EPERM, call(self->conn, cmd));
	}
	/* The allowed neighbours still work. */
	snprintf(cmd, sizeof(cmd), "sys %d %d %d %d", SYS_close_range, 1000000, 1000000, 0);
	EXPECT_EQ(0, call(self->conn, cmd));
	EXPECT_EQ(5, call(self->conn, "hello"));
}

/* int $0x80 from this 64-bit process: the ia32 syscall @nr. */
static long int80(long nr, long a, long b)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b)
			 : "r8", "r9", "r10", "r11", "memory");
	return ret;
}

#define IA32_NR_GETPID 20
#define IA32_NR_SETRLIMIT 75

static void exit_on_signal(int sig)
{
	_exit(100 + sig);
}

/*
 * Does this kernel take int $0x80?  Without IA32 emulation it is a #GP,
 * SIGSEGV.  Asked in a child, with a handler, so that the kernel does not
 * log the fault as unhandled (run-tests.sh fails a test that leaves one).
 */
static bool have_int80(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGSEGV, exit_on_signal);
		_exit(int80(IA32_NR_GETPID, 0, 0) == getpid() ? 0 : 1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/*
 * The same through a 32-bit syscall: a 64-bit process may make ia32
 * syscalls with int $0x80.  main (a sys_enter probe that knew the x86-64
 * numbers only, so ia32's 75 passed as fdatasync): setrlimit through
 * int $0x80 succeeded while the sibling was hopped.  Now: EBUSY, whatever
 * the ABI (do_prlimit() is probed), and it works before and after.
 */
TEST_F(srv, sibling_ia32_setrlimit_while_hopped_is_busy)
{
	struct nap_arg a = { .conn = self->conn };
	uint32_t *lim;	/* struct compat_rlimit, below 4 GiB for int $0x80 */
	struct rlimit r;
	pthread_t t;
	long ret;

	if (!have_int80())
		SKIP(return, "no ia32 emulation in this kernel");
	lim = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
		   -1, 0);
	ASSERT_NE(MAP_FAILED, lim);
	ASSERT_EQ(0, getrlimit(RLIMIT_FSIZE, &r));
	/* The limits it has (compat: RLIM_INFINITY is ~0U): a change of nothing. */
	lim[0] = r.rlim_cur >= 0xffffffffUL ? 0xffffffffU : (uint32_t)r.rlim_cur;
	lim[1] = r.rlim_max >= 0xffffffffUL ? 0xffffffffU : (uint32_t)r.rlim_max;
	ret = int80(IA32_NR_SETRLIMIT, RLIMIT_FSIZE, (long)lim);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, pthread_create(&t, NULL, nap_thread, &a));
	hop_test_wait_frames(1);
	EXPECT_EQ(-EBUSY, int80(IA32_NR_SETRLIMIT, RLIMIT_FSIZE, (long)lim));
	pthread_join(t, NULL);
	EXPECT_EQ(0, a.result);
	EXPECT_EQ(0, int80(IA32_NR_SETRLIMIT, RLIMIT_FSIZE, (long)lim));
	munmap(lim, 4096);
}

/* A sibling's seccomp(TSYNC) while a thread of its process is hopped. */
static int tsync_beside_a_hop(const char *name, void *arg)
{
	struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { .len = 1, .filter = f };
	struct nap_arg a = { 0 };
	pthread_t t;
	long r;

	(void)arg;
	if (hop_connect(&a.conn, name) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    pthread_create(&t, NULL, nap_thread, &a))
		return 1;
	hop_test_wait_frames(1);
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
	r = r < 0 ? -errno : 0;
	pthread_join(t, NULL);
	return a.result ? 2 : CHILD_RESULT(r);
}

/*
 * Freeze row: a filter synced onto a hopped thread would judge its
 * handler.  main: the TSYNC succeeded mid-hop.  Now: EBUSY while the hop
 * runs.
 */
TEST_F(srv, sibling_seccomp_tsync_while_hopped_is_busy)
{
	EXPECT_EQ(100 + EBUSY, in_child(tsync_beside_a_hop, self->srv.name, NULL));
}

/* Freeze row: prlimit() from another process on a process with a hop in flight. */
TEST_F(srv, prlimit_of_a_hopped_process_is_busy)
{
	struct nap_arg a = { .conn = self->conn };
	struct rlimit r;
	pthread_t t;
	pid_t me = getpid(), pid;
	int status;

	ASSERT_EQ(0, getrlimit(RLIMIT_FSIZE, &r));
	ASSERT_EQ(0, pthread_create(&t, NULL, nap_thread, &a));
	hop_test_wait_frames(1);
	pid = fork();
	if (pid == 0)
		_exit(prlimit(me, RLIMIT_FSIZE, &r, NULL) ? errno : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(EBUSY, WEXITSTATUS(status));
	pthread_join(t, NULL);
	EXPECT_EQ(0, a.result);
}

static volatile int watched;

/*
 * Refuse row: hardware breakpoints a tracer left behind (they survive
 * PTRACE_DETACH) would stop the handler where the caller chose.  main: the
 * hop was made with DR0 armed on a server address.  Now: EPERM.
 */
TEST_F(srv, client_hw_breakpoints_are_refused)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct hop_conn *c;

		if (hop_connect(&c, self->srv.name) || ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(1);
		raise(SIGSTOP);
		_exit(CHILD_RESULT(call(c, "echo")));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, ptrace(PTRACE_POKEUSER, pid,
			    offsetof(struct user, u_debugreg[0]), (void *)&watched));
	/* DR7: local enable of DR0, break on writes, 4 bytes. */
	ASSERT_EQ(0, ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[7]),
			    (void *)0xd0001UL));
	ASSERT_EQ(0, ptrace(PTRACE_DETACH, pid, 0, 0));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(100 + EPERM, WEXITSTATUS(status));
}

/*
 * Review #9 (to try): PKRU as the handler left it.  main: the caller's
 * PKRU after the call was the handler's (0xd5555554: pkey 15 denied), and
 * the handler started with the caller's.  Now: the handler starts with the
 * kernel's default for a new thread and the caller gets its own back.
 */
TEST_F(srv, handler_pkru_does_not_reach_the_caller)
{
	unsigned int before;
	long in_handler;

	if (!have_ospke())
		SKIP(return, "no protection keys (OSPKE) on this CPU");
	/* The caller's own choice (pkey 14 denied) does not reach the handler either. */
	wrpkru(rdpkru() | (3U << 28));
	before = rdpkru();
	in_handler = call(self->conn, "pkru");
	TH_LOG("PKRU: caller 0x%x, handler started with 0x%lx", before, in_handler);
	EXPECT_LE(0, in_handler);
	EXPECT_NE(before, (unsigned int)in_handler);
	EXPECT_EQ(before, rdpkru());
}

static int client_ioperm(const char *name, void *arg)
{
	struct hop_conn *c;

	(void)arg;
	if (hop_connect(&c, name))
		return 1;
	if (ioperm(0x80, 1, 1))
		return 2;		/* no I/O bitmaps here (CONFIG_X86_IOPL_IOPERM) */
	return CHILD_RESULT(call(c, "echo"));
}

/* Refuse row: an ioperm() bitmap would be lent to the handler. */
TEST_F(srv, client_ioperm_is_refused)
{
	int r = in_child(client_ioperm, self->srv.name, NULL);

	if (r == 2)
		SKIP(return, "ioperm() is not available on this kernel");
	EXPECT_EQ(100 + EOPNOTSUPP, r);
}

static int client_cpuid_faulting(const char *name, void *arg)
{
	struct hop_conn *c;

	(void)arg;
	if (hop_connect(&c, name))
		return 1;
	if (syscall(SYS_arch_prctl, 0x1012 /* ARCH_SET_CPUID */, 0))
		return errno == ENODEV ? 2 : 3;
	return CHILD_RESULT(call(c, "echo"));
}

/* Refuse row: CPUID faulting (ARCH_SET_CPUID), where the CPU has it. */
TEST_F(srv, client_cpuid_faulting_is_refused)
{
	int r = in_child(client_cpuid_faulting, self->srv.name, NULL);

	if (r == 2)
		SKIP(return, "no CPUID faulting on this CPU (ARCH_SET_CPUID: ENODEV)");
	EXPECT_EQ(100 + EPERM, r);
}

/*
 * Does this kernel take 32-bit syscalls?  Without IA32 emulation int $0x80
 * is a general protection fault, which the runner's kernel-log check would
 * rightly flag; the abi.vsyscall32 sysctl exists exactly with it.
 */
static int have_ia32(void)
{
	return !access("/proc/sys/abi/vsyscall32", F_OK);
}

/* Refuse row: a 32-bit (int $0x80) ioctl on a handle. */
TEST_F(srv, compat_caller_is_refused)
{
	struct hop_call *c;
	long r;

	if (!have_ia32())
		SKIP(return, "no 32-bit syscalls on this kernel (CONFIG_IA32_EMULATION)");
	c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
		 -1, 0);

	ASSERT_NE(MAP_FAILED, c);
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	/* ia32 ioctl is 54. */
	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "0"(54L), "b"((long)hop_conn_fd(self->conn)), "c"((long)HOP_IOC_CALL),
			   "d"((long)(uintptr_t)c)
			 : "memory");
	EXPECT_EQ(-EOPNOTSUPP, r);
	munmap(c, 4096);
}

/* hop_caller(): who made the call, as the kernel saw it (new in this change). */
TEST_F(srv, hop_caller_names_the_caller)
{
	struct hop_caller c;

	memset(&c, 0xff, sizeof(c));
	ASSERT_EQ((ssize_t)sizeof(c), hop_call(self->conn, "caller", 6, &c, sizeof(c)));
	EXPECT_EQ((__u32)getpid(), c.pid);
	EXPECT_EQ((__u32)gettid(), c.tid);
	EXPECT_EQ(getuid(), c.uid);
	EXPECT_EQ(getgid(), c.gid);
	EXPECT_EQ(geteuid(), c.euid);
	EXPECT_EQ(getegid(), c.egid);
	EXPECT_EQ(0, c.reserved[0] | c.reserved[1]);
}

TEST(hop_caller_outside_a_handler)
{
	struct hop_caller c;
	int fd = open("/dev/hop", O_RDWR);

	EXPECT_EQ(-EPERM, hop_caller(&c));
	ASSERT_LE(0, fd);
	/* Not a service file, and a service file not in a hop. */
	EXPECT_EQ(-EPERM, hop_test_ioctl(fd, HOP_IOC_CALLER, &c));
	close(fd);
}

TEST(hop_caller_from_a_server_thread_not_serving)
{
	struct hop_service *svc;
	struct hop_caller c;

	ASSERT_EQ(0, hop_serve(&svc, hop_test_name("caller-idle"), hop_test_echo, NULL, NULL));
	EXPECT_EQ(-EPERM, hop_test_ioctl(hop_service_fd(svc), HOP_IOC_CALLER, &c));
	EXPECT_EQ(0, hop_unserve(svc));
}

/* A ptrace stop of the tracee: attach while it waits for the slot. */
struct traced_arg {
	const char *name;
	int ready[2];
};

static int traced_client(const char *name, void *arg)
{
	struct traced_arg *t = arg;
	struct hop_conn *c;
	char x = 0;

	if (hop_connect(&c, name))
		return 1;
	/* The slot is busy: this call waits, and the parent attaches meanwhile. */
	if (write(t->ready[1], &x, 1) != 1)
		return 2;
	return CHILD_RESULT(call(c, "echo"));
}

/*
 * Review #8.  main: a tracer that attached (PTRACE_SEIZE) while the client
 * waited for a free slot found the hop made anyway (the ptrace check came
 * before the wait) and could read the server's memory.  Now: ptrace is
 * checked where the switch happens, and the call fails with EPERM.
 */
TEST_F(srv, tracer_attached_during_slot_wait_is_refused)
{
	struct nap_arg a = { .conn = self->conn };
	struct traced_arg t;
	pthread_t th;
	int status;
	pid_t pid;
	char x;

	ASSERT_EQ(0, pipe(t.ready));
	ASSERT_EQ(0, pthread_create(&th, NULL, nap_thread, &a));	/* holds the slot */
	usleep(100 * 1000);
	pid = fork();
	if (pid == 0)
		_exit(traced_client(self->srv.name, &t));
	ASSERT_EQ(1, read(t.ready[0], &x, 1));
	usleep(50 * 1000);			/* in the slot wait by now */
	ASSERT_EQ(0, ptrace(PTRACE_SEIZE, pid, 0, 0));
	pthread_join(th, NULL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(100 + EPERM, WEXITSTATUS(status));
	close(t.ready[0]);
	close(t.ready[1]);
}

/*
 * Fork a server that serves @name and then changes itself (@server_fn:
 * sandboxed_server, dropping_server) and wait until it is ready; it writes
 * one byte to the pipe it is given.  Returns its pid, or -1.
 */
static pid_t start_server(int (*server_fn)(const char *name, void *ready), const char *name)
{
	int ready[2];
	pid_t pid;
	char x;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		_exit(server_fn(name, ready));
	}
	close(ready[1]);
	if (pid > 0 && read(ready[0], &x, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

static void stop_server(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A server that sandboxes itself after SERVE. */
static int sandboxed_server(const char *name, void *arg)
{
	struct hop_service *svc;
	int *ready = arg;
	char x = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	server_setup();
	if (hop_serve(&svc, name, handler, NULL, NULL))
		return 1;
	if (seccomp_errno_openat(EXDEV))
		return 2;
	if (write(ready[1], &x, 1) != 1)
		return 3;
	pause();
	return 0;
}

/*
 * Review #4.  main: a server that installed a seccomp filter (TSYNC) after
 * hop_serve() had its handler's open() succeed: the filter did not apply.
 * Now: hop cannot lend a filter to a handler, so calls to a sandboxed
 * server fail with EPERM; and a sandboxed process cannot serve at all.
 */
TEST(sandboxed_server_is_refused)
{
	const char *name = hop_test_name("sandboxed");
	struct hop_conn *c;
	pid_t pid;

	pid = start_server(sandboxed_server, name);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, hop_connect(&c, name));
	EXPECT_EQ(-EPERM, call(c, "open"));
	hop_disconnect(c);
	stop_server(pid);
}

static int serve_when_sandboxed(const char *name, void *arg)
{
	struct hop_service *svc;

	(void)arg;
	if (seccomp_errno_openat(EXDEV))
		return 1;
	return CHILD_RESULT(hop_serve(&svc, name, handler, NULL, NULL));
}

TEST(sandboxed_process_cannot_serve)
{
	EXPECT_EQ(100 + EPERM, in_child(serve_when_sandboxed, hop_test_name("sbx"), NULL));
}

/* A server that drops its privileges after SERVE. */
static int dropping_server(const char *name, void *arg)
{
	struct hop_service *svc;
	int *ready = arg;
	char x = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (hop_serve(&svc, name, handler, NULL, &(struct hop_serve_opts){
			.size = sizeof(struct hop_serve_opts), .mode = 0666 }))
		return 1;
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return 2;
	if (write(ready[1], &x, 1) != 1)
		return 3;
	pause();
	return 0;
}

/*
 * Review #14.  main: the handler of a daemon that dropped to nobody after
 * hop_serve() still ran as root (credentials were taken at SERVE).  Now:
 * the server leader's credentials are read at each call.
 */
TEST(server_privilege_drop_after_serve_is_honoured)
{
	const char *name = hop_test_name("dropper");
	struct hop_conn *c;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to drop privileges");
	pid = start_server(dropping_server, name);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, hop_connect(&c, name));
	EXPECT_EQ(65534, call(c, "euid"));
	hop_disconnect(c);
	stop_server(pid);
}

/*
 * A handler may not register a service.  A service's identity is its
 * group leader's, and while the leader itself is hopped its subjective
 * credentials are the server's but its real_cred (which the next hop
 * borrows) is the client's.  main (e39b89e): the handler of a nobody
 * server, called by a root client (the test, its own group leader),
 * served a second service from the hop and called it: that handler ran in
 * the server's memory with euid 0, the client's.  Now: SERVE from a
 * hopped task fails EPERM, and nothing is registered.
 */
TEST(handler_cannot_serve)
{
	struct hop_conn *c, *nested;
	char name[HOP_NAME_MAX];
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to drop privileges");
	snprintf(name, sizeof(name), "%s", hop_test_name("servein"));
	snprintf(nested_name, sizeof(nested_name), "%s", hop_test_name("nested"));
	pid = start_server(dropping_server, name);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, hop_connect(&c, name));
	EXPECT_EQ(65534, call(c, "euid"));
	EXPECT_EQ(-EPERM, call(c, "serve-nested"));
	EXPECT_EQ(-ENOENT, hop_connect(&nested, nested_name));
	EXPECT_EQ(65534, call(c, "euid"));
	hop_disconnect(c);
	stop_server(pid);
}

/*
 * Review #12.  main: with kprobes disarmed (debugfs kprobes/enabled = 0),
 * every guard and the exit hook were off and hops went on.  Now: hops fail
 * closed with ENOLCK until kprobes are armed again.
 */
TEST_F(srv, disarmed_kprobes_fail_closed)
{
	const char *knob = "/sys/kernel/debug/kprobes/enabled";

	if (access(knob, W_OK))
		SKIP(return, "%s not writable", knob);
	ASSERT_EQ(0, hop_test_write_file(knob, "0"));
	EXPECT_EQ(-ENOLCK, call(self->conn, "echo"));
	ASSERT_EQ(0, hop_test_write_file(knob, "1"));
	EXPECT_EQ(4, call(self->conn, "echo"));
}

/*
 * A hopped task's syscalls reach hop through an ftrace hook (intercept.c).
 * It is FTRACE_OPS_FL_PERMANENT: switching ftrace off (the ftrace_enabled
 * sysctl) is refused with EBUSY while hop.ko is loaded, instead of letting
 * handlers' syscalls through unjudged.  Hops go on.
 */
TEST_F(srv, ftrace_cannot_be_switched_off_under_hops)
{
	const char *knob = "/proc/sys/kernel/ftrace_enabled";
	int fd = open(knob, O_WRONLY);

	if (fd < 0)
		SKIP(return, "%s: %s", knob, strerror(errno));
	EXPECT_EQ(-1, write(fd, "0", 1));
	EXPECT_EQ(EBUSY, errno);
	close(fd);
	EXPECT_EQ(4, call(self->conn, "echo"));
}

/* The client of objective_creds_stay_the_callers: uid 1000, naps in a nobody server. */
static int napping_client(const char *name, void *arg)
{
	struct hop_conn *c;

	(void)arg;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000) || hop_connect(&c, name))
		return 1;
	return CHILD_RESULT(call(c, "nap"));
}

/* The "Uid:" line of /proc/@pid/status: real, effective, saved, fs. */
static int proc_real_uid(pid_t pid)
{
	char path[64], line[256];
	int uid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Uid: %d", &uid) == 1)
			break;
	fclose(f);
	return uid;
}

/*
 * Review #14, the other half: while a client hops, others see it with its
 * own credentials (the objective ones: kill, renice, /proc ownership), and
 * only the handler acts with the server's (the subjective ones).  main: a
 * process of the server's user killed a uid-1000 client in mid-call
 * (kill_ok_by_cred() read the server's uid as the client's), and the
 * client's /proc status said uid 65534.  Now: EPERM, uid 1000, and the
 * call ends normally.
 */
TEST(objective_creds_stay_the_callers)
{
	const char *name = hop_test_name("objcred");
	pid_t srv, client, killer;
	int status;

	if (geteuid() != 0)
		SKIP(return, "needs root to change users");
	srv = start_server(dropping_server, name);
	ASSERT_LT(0, srv);
	client = fork();
	if (client == 0)
		_exit(napping_client(name, NULL));
	hop_test_wait_frames(1);
	EXPECT_EQ(1000, proc_real_uid(client));
	killer = fork();
	if (killer == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(1);
		_exit(kill(client, SIGKILL) ? errno : 0);
	}
	ASSERT_EQ(killer, waitpid(killer, &status, 0));
	EXPECT_EQ(EPERM, WEXITSTATUS(status));
	ASSERT_EQ(client, waitpid(client, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(100, WEXITSTATUS(status));	/* the nap's 0 */
	stop_server(srv);
}

/* Accounting (review #15): what a service pins, services per user, completions. */

static int serve_as_nobody_with_memlock(const char *name, void *arg)
{
	struct rlimit r = { 16384, 16384 };
	struct hop_serve_opts big = { .size = sizeof(big), .slots = 4 };	/* 4 x 8 KiB */
	struct hop_serve_opts small = { .size = sizeof(small), .slots = 1 };	/* 8 KiB */
	struct hop_service *svc;
	int err;

	(void)arg;
	if (setrlimit(RLIMIT_MEMLOCK, &r) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return 1;
	err = hop_serve(&svc, name, hop_test_echo, NULL, &big);
	if (err != -ENOMEM)
		return CHILD_RESULT(err);
	return hop_serve(&svc, name, hop_test_echo, NULL, &small) ? 2 : 0;
}

/*
 * main: a service pinned its slot buffers (up to 2 GiB) with no charge at
 * all.  Now: charged to RLIMIT_MEMLOCK like mlock(); over it, ENOMEM.
 */
TEST(slot_buffers_are_charged_to_memlock)
{
	if (geteuid() != 0)
		SKIP(return, "needs root to become nobody");
	EXPECT_EQ(0, in_child(serve_as_nobody_with_memlock, hop_test_name("memlock"), NULL));
}

static int serve_three_as_nobody(const char *name, void *arg)
{
	struct hop_serve_opts o = { .size = sizeof(o), .slots = 1 };
	struct hop_service *svc[3];
	char n[HOP_NAME_MAX];
	int i, err = 0;

	(void)arg;
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return 1;
	for (i = 0; i < 3; i++) {
		snprintf(n, sizeof(n), "%s-%d", name, i);
		err = hop_serve(&svc[i], n, hop_test_echo, NULL, &o);
		if (err)
			break;
	}
	/* Two served, the third refused. */
	return i == 2 ? CHILD_RESULT(err) : 10 + i;
}

/* main: no limit on services per user.  Now: max_services_per_user, EAGAIN beyond. */
TEST(services_per_user_are_capped)
{
	const char *param = "/sys/module/hop/parameters/max_services_per_user";
	char old[32] = "";
	int fd = open(param, O_RDWR), n;

	if (geteuid() != 0 || fd < 0)
		SKIP(return, "needs root and %s", param);
	n = read(fd, old, sizeof(old) - 1);
	ASSERT_LT(0, n);
	old[n] = 0;
	ASSERT_EQ(0, hop_test_write_file(param, "2"));
	EXPECT_EQ(100 + EAGAIN, in_child(serve_three_as_nobody, hop_test_name("cap"), NULL));
	EXPECT_EQ(0, hop_test_write_file(param, old));
	close(fd);
}

/*
 * main: async completions waited on the handle without bound for a client
 * that never reaped them.  Now: HOP_ASYNC_MAX_UNREAPED per handle, then
 * EAGAIN until one is reaped.
 */
TEST_F(srv, unreaped_completions_are_bounded)
{
	struct hop_async_result res;
	long v;
	int i, err = 0;

	for (i = 0; i < HOP_ASYNC_MAX_UNREAPED; i++) {
		err = hop_call_async(self->conn, "x", 1, &v, sizeof(v), i + 1);
		if (err)
			break;
	}
	EXPECT_EQ(0, err);
	EXPECT_EQ(HOP_ASYNC_MAX_UNREAPED, i);
	EXPECT_EQ(-EAGAIN, hop_call_async(self->conn, "x", 1, &v, sizeof(v), 999));
	ASSERT_EQ(0, hop_async_reap(self->conn, &res));
	EXPECT_EQ(0, hop_call_async(self->conn, "x", 1, &v, sizeof(v), 1000));
}

TEST_HARNESS_MAIN
