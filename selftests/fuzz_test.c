// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_test: a structure-aware fuzzer of /dev/hop's ioctls, run for a bounded time with a fixed seed.
 *
 * Several threads issue random commands (every HOP_IOC_* and their
 * neighbours: wrong direction, size, number, magic) on random file
 * descriptors (/dev/hop files, services, handles, foreign fds, closed or
 * huge numbers) with argument structures that are plausible but mutated
 * (sizes, flags, reserved fields, names, lengths), and pointers that are
 * NULL, kernel addresses, unmapped, read-only, straddling a PROT_NONE page,
 * in a page another thread keeps mprotect()ing, or in a buffer another
 * thread rewrites during the call.  A closer thread closes and replaces
 * descriptors while calls run on them; the main thread kills and restarts
 * the real servers (libhop services whose handler itself fuzzes: faults,
 * sleeps, spins past its deadline, nests, returns by hand with bad
 * arguments, tries fork), so that calls actually hop, get aborted and lose
 * their service under them.
 *
 * Every result must be success or an errno the ABI can return; a crash, a
 * hang (a watchdog reports any call stuck for WATCHDOG_S and dumps the
 * kernel stack), or a kernel splat (the runner checks the log) fails.  At the
 * end, with everything closed, debugfs must show no service and no frame.
 *
 *   FUZZ_SECONDS (default 20), FUZZ_SEED (default 1), FUZZ_THREADS (default 4)
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

#define SERVERS		3
#define MAX_THREADS	16
#define POOL		24
#define PG		4096
#define WATCHDOG_S	30
#define NAMES		6	/* names that raw SERVEs and CONNECTs collide on */

/* Shared with the server processes (MAP_SHARED). */
struct shared {
	char names[SERVERS][HOP_NAME_MAX];
	atomic_long handler_ops;
};
static struct shared *sh;

/* Fuzzer state, in the test process. */
static atomic_int pool[POOL];		/* fds the fuzzer owns, -1 when empty */
static atomic_bool stop;
static unsigned char *edge;		/* PG read-write, then PG PROT_NONE */
static unsigned char *flip;		/* PG the mutator keeps mprotect()ing */
static unsigned char *ro;		/* PG read-only */
static unsigned char *racy;		/* PG the mutator keeps rewriting */
static unsigned char *arena;		/* raw services' slot memory */
static unsigned char *async_resp;	/* replies of async calls land here */
static char raw_names[NAMES][HOP_NAME_MAX];
static int devnull = -1;

static struct {
	atomic_long ops, ok, calls_ok, hops_aborted, bad;
	atomic_long per_cmd[16];
} st;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int nr_bad_logged;

/* Per fuzz thread, for the watchdog. */
static struct {
	atomic_llong since;	/* ns when the current op began, 0 when idle */
	pid_t tid;
	char what[160];
} cur[MAX_THREADS];

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static unsigned int rnd(unsigned int *seed, unsigned int n)
{
	return n ? (unsigned int)rand_r(seed) % n : 0;
}

static uint64_t rnd64(unsigned int *seed)
{
	return ((uint64_t)rand_r(seed) << 33) ^ ((uint64_t)rand_r(seed) << 11) ^ (uint64_t)rand_r(seed);
}

/*
 * Every errno that /dev/hop, its files or the VFS around them may return,
 * plus EPROTO: libhop's reply when the module refused a handler's return.
 */
static int errno_ok(long e)
{
	switch (e) {
	case EFAULT: case EINVAL: case ENOMEM: case EPERM: case EOPNOTSUPP:
	case EAGAIN: case ENOENT: case ECONNREFUSED: case ECONNRESET:
	case EBUSY: case ETIMEDOUT: case ENOTTY: case ENODEV: case EMSGSIZE:
	case ELOOP: case EINTR: case EEXIST: case EDEADLK: case ECONNABORTED:
	case EACCES: case EBADF: case EMFILE: case ENFILE: case ENOEXEC:
	case EPROTO: case E2BIG: case ENOLCK:
		return 1;
	}
	return 0;
}

static void bad(const char *what, long r, int e)
{
	atomic_fetch_add(&st.bad, 1);
	pthread_mutex_lock(&log_lock);
	if (nr_bad_logged++ < 20)
		fprintf(stderr, "# fuzz: BAD result %ld errno %d (%s) for %s\n", r, e, strerror(e), what);
	pthread_mutex_unlock(&log_lock);
}

/* --- real servers: libhop services whose handler misbehaves on purpose ---- */

static int svc_fd = -1;		/* the service file, in the server process */
static int my_index;
static __thread struct hop_conn *next_conn;
static __thread unsigned int hseed;
#if defined(HOP_IOC_DEV_READ) || defined(HOP_PENDING)
static unsigned char dev_dest[HOP_MSG_MIN];	/* where device reads land in the server */
#endif

static ssize_t fuzz_handler(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	const unsigned char *r = req;
	unsigned char op = len ? r[0] % 16 : 0;
	size_t n = len < cap ? len : cap;

	(void)ctx;
	atomic_fetch_add(&sh->handler_ops, 1);
	hseed = hseed * 1103515245u + (len > 4 ? (unsigned int)r[1] << 8 | r[2] : 7u) + 12345u;
	switch (op) {
	case 6: {				/* fault: the client gets ECONNABORTED */
		volatile int *volatile nowhere = NULL;

		*nowhere = 1;
		break;
	}
	case 7:					/* sleep, sometimes past the deadline */
		usleep(1000 * rnd(&hseed, 30));
		break;
	case 8: {				/* nest into the next server, never waiting for a slot */
		struct hop_call_opts o = { .size = sizeof(o), .flags = HOP_CALL_F_NONBLOCK };
		unsigned char inner[64];
		ssize_t got;

		if (!next_conn && hop_connect(&next_conn, sh->names[(my_index + 1) % SERVERS]))
			return -ECONNREFUSED;
		memset(inner, 0, sizeof(inner));
		inner[0] = (unsigned char)rnd(&hseed, 16);
		inner[1] = (unsigned char)rnd(&hseed, 256);
		got = hop_call_opts(next_conn, inner, sizeof(inner), resp, cap, &o);
		if (got == -ECONNREFUSED) {
			struct hop_conn *dead = next_conn;

			/* Forget it before closing: an abort may leave this handler anywhere. */
			next_conn = NULL;
			hop_disconnect(dead);
		}
		return got;
	}
	case 9: {				/* end the hop by hand, with bad arguments */
		static const int64_t results[] = { 0, 1, -EINVAL, -512, -4095, -4096, INT64_MIN, 1 << 20 };
		struct hop_return ret = {
			.result = rnd(&hseed, 2) ? (int64_t)n : results[rnd(&hseed, 8)],
			.slot = rnd(&hseed, 6),
			.flags = rnd(&hseed, 4) ? 0 : rnd(&hseed, 2) ? 1u << rnd(&hseed, 32) : 0xffffffffu,
		};

		/* Ends the hop or fails: both fine.  The ioctl or the syscall, high bits too. */
		if (rnd(&hseed, 2))
			ioctl(svc_fd, HOP_IOC_RETURN, &ret);
		else
			syscall(HOP_SYSCALL_RETURN, ret.result,
				rnd(&hseed, 4) ? (long)ret.slot : (long)ret.slot | 1L << (32 + rnd(&hseed, 31)),
				rnd(&hseed, 4) ? (long)ret.flags : (long)ret.flags | 1L << (32 + rnd(&hseed, 31)));
		break;
	}
	case 10: {				/* other ioctls from inside the hop */
		struct hop_service_info info;
		unsigned char junk[64];

		memset(&info, 0, sizeof(info));
		memset(junk, 0, sizeof(junk));
		switch (rnd(&hseed, 6)) {
		case 0: ioctl(svc_fd, HOP_IOC_SERVICE_INFO, &info); break;
		case 1: ioctl(svc_fd, HOP_IOC_NOP, 0); break;
		case 2: ioctl(svc_fd, HOP_IOC_SERVE, junk); break;
		case 3: ioctl(svc_fd, _IOC(_IOC_WRITE, HOP_IOC_MAGIC, rnd(&hseed, 16), 16), junk); break;
#ifdef HOP_IOC_DEV_READ
		case 4: {
			struct hop_dev_read d = { .offset = rnd(&hseed, 5000), .len = rnd(&hseed, 5000),
						  .dest = (uintptr_t)dev_dest };
			ioctl(svc_fd, HOP_IOC_DEV_READ, &d);
			break;
		}
#endif
		default:
			/* Unserve from inside one's own hop: must not deadlock. */
			if (!rnd(&hseed, 4))
				ioctl(svc_fd, HOP_IOC_UNSERVE, 0);
			break;
		}
		break;
	}
	case 11: {				/* fork in a handler: the guard refuses */
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		break;
	}
	case 12: {
		static const int errs[] = { EINVAL, EMSGSIZE, ENOENT, EAGAIN, EBUSY };

		return -errs[rnd(&hseed, 5)];
	}
	case 13:
		return (ssize_t)cap + 1;	/* too long: the module refuses the return */
#ifdef HOP_PENDING
	case 14:				/* async: leave it to the device */
		if (!hop_dev_read(rnd(&hseed, 64), 1 + rnd(&hseed, 64), dev_dest))
			return HOP_PENDING;
		break;
#endif
	case 15: {				/* spin until the deadline aborts us (bounded) */
		long long end = now_ns() + 1000000000LL;

		while (now_ns() < end)
			;
		break;
	}
	}
	memcpy(resp, req, n);
	return (ssize_t)n;
}

static void server_main(int idx)
{
	struct hop_serve_opts o = {
		.size = sizeof(o), .slots = 2 + idx, .msg_size = (idx == 2 ? 2 : 1) * HOP_MSG_MIN,
		.timeout_ns = (100 + 100 * idx) * 1000000ULL,
	};
	struct hop_service *svc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Handler faults must be fatal signals, which the module turns into aborts. */
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	signal(SIGILL, SIG_DFL);
	signal(SIGTRAP, SIG_DFL);
	my_index = idx;
	hseed = (unsigned int)getpid();
	if (hop_serve(&svc, sh->names[idx], fuzz_handler, NULL, &o))
		_exit(1);
	svc_fd = hop_service_fd(svc);
	for (;;)
		pause();
}

static pid_t spawn_server(int idx)
{
	pid_t pid = fork();

	if (pid == 0) {
		server_main(idx);
		_exit(0);
	}
	return pid;
}

/* --- the fuzz threads ---------------------------------------------------- */

/* A pointer for an argument of @size bytes: valid (@good) or one of the bad kinds. */
static void *pick_ptr(unsigned int *seed, void *good, size_t size)
{
	switch (rnd(seed, 16)) {
	case 0: return NULL;
	case 1: return (void *)0xffffffff81000000UL;		/* kernel text */
	case 2: return (void *)(0xffff888000000000UL + rnd(seed, 1 << 20));	/* direct map */
	case 3: return (void *)0x10000UL;			/* below mmap_min_addr */
	case 4: return (void *)(1UL << 46);			/* canonical, unmapped */
	case 5: return (void *)-1L;
	case 6: {						/* straddles PROT_NONE */
		size_t in = 1 + rnd(seed, size ? (unsigned int)size : 1);

		return edge + PG - in;
	}
	case 7: return ro + rnd(seed, 64);
	case 8: return flip + rnd(seed, 64);
	case 9: return racy + rnd(seed, 128);
	default:
		/* The half-mapped variant with the valid contents. */
		if (good && size && size < PG && !rnd(seed, 6)) {
			size_t in = 1 + rnd(seed, (unsigned int)size);

			memcpy(edge + PG - in, good, in);
			return edge + PG - in;
		}
		return good;
	}
}

/* Flip a few bits, zero or max a few fields: one mutation in a few. */
static void mutate(unsigned int *seed, void *p, size_t size)
{
	unsigned char *b = p;
	int k, n;

	if (rnd(seed, 3))
		return;
	n = 1 + rnd(seed, 3);
	for (k = 0; k < n; k++) {
		size_t at = rnd(seed, (unsigned int)size);

		switch (rnd(seed, 4)) {
		case 0: b[at] ^= 1u << rnd(seed, 8); break;
		case 1: b[at] = 0; break;
		case 2: b[at] = 0xff; break;
		default: b[at] = (unsigned char)rand_r(seed); break;
		}
	}
}

static int pick_fd(unsigned int *seed)
{
	switch (rnd(seed, 12)) {
	case 0: return -1;
	case 1: return 1 << 20;
	case 2: return devnull;					/* a character device that is not ours */
	default: return atomic_load(&pool[rnd(seed, POOL)]);
	}
}

/* Put a new fd into the pool, closing whatever it replaces. */
static void pool_put(unsigned int *seed, int fd)
{
	int old = atomic_exchange(&pool[rnd(seed, POOL)], fd);

	if (old >= 0)
		close(old);
}

static const char *pick_name(unsigned int *seed, char *buf)
{
	switch (rnd(seed, 6)) {
	case 0: case 1: return sh->names[rnd(seed, SERVERS)];
	case 2: case 3: return raw_names[rnd(seed, NAMES)];
	case 4: memset(buf, 'a' + rnd(seed, 26), HOP_NAME_MAX); return buf;	/* no NUL */
	default: snprintf(buf, HOP_NAME_MAX, "x/%u\t", rnd(seed, 9)); return buf;
	}
}

/* A plausible SERVE in the arena: a few slots, an entry that faults one way or another. */
static void fill_serve(unsigned int *seed, struct hop_serve *s, struct hop_slot_desc *d, int nd)
{
	/*
	 * Raw services live in this process: their entry must fault at the first
	 * instruction (NULL, unmapped, kernel, PROT_NONE, no-exec), never run
	 * real code on a stack other hops share.
	 */
	const uint64_t entries[] = { 0, 0x10000, 0xffffffff81000000UL,
				     (uintptr_t)edge + PG, (uintptr_t)ro };
	int i;

	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	snprintf(s->name, sizeof(s->name), "%s", raw_names[rnd(seed, NAMES)]);
	s->entry = entries[rnd(seed, 5)];
	s->nr_slots = 1 + rnd(seed, (unsigned int)nd);
	if (!rnd(seed, 20))
		s->nr_slots = rnd(seed, 2) ? 0 : HOP_MAX_SLOTS + 1;
	s->msg_size = HOP_MSG_MIN * (1 + rnd(seed, 2));
	s->mode = rnd(seed, 4) ? 0 : rnd(seed, 01000);
	s->timeout_ns = rnd(seed, 2) ? 0 : rnd(seed, 200) * 1000000ULL;
	for (i = 0; i < nd; i++) {
		unsigned char *m = arena + (size_t)rnd(seed, 4) * 16 * PG;

		d[i].buf = rnd(seed, 16) ? (uintptr_t)m : (uintptr_t)pick_ptr(seed, m, 1);
		d[i].stack_top = (uintptr_t)m + 16 * PG;
		d[i].tls = (uintptr_t)m + 4 * PG;
		d[i].cookie = rnd64(seed);
	}
	s->slots = (uintptr_t)d;
}

/* One random operation. */
static void fuzz_one(unsigned int *seed, int t)
{
	union {
		struct hop_version v;
		struct hop_serve s;
		struct hop_connect c;
		struct hop_call call;
		struct hop_return ret;
		struct hop_service_info info;
#ifdef HOP_IOC_ASYNC_REAP
		struct hop_async_result res;
		struct hop_dev_read dev;
#endif
		unsigned char raw[256];
	} a;
	struct hop_slot_desc d[4];
	unsigned char req[2 * HOP_MSG_MIN + 64], resp[2 * HOP_MSG_MIN + 64];
	char name[HOP_NAME_MAX];
	unsigned int nr = rnd(seed, 14), flags;
	unsigned long cmd;
	size_t size = 0;
	void *arg;
	int fd = pick_fd(seed), e, hopfd = -1;
	long r;

	memset(&a, 0, sizeof(a));
	switch (nr) {
	case 0:
		cmd = HOP_IOC_VERSION, size = sizeof(a.v);
		if (!rnd(seed, 4))
			a.v.flags = 1u << rnd(seed, 32);
		break;
	case 1:
		/* A fresh /dev/hop file half the time, so that SERVEs succeed. */
		if (rnd(seed, 2))
			fd = hopfd = open("/dev/hop", O_RDWR | O_CLOEXEC);
		cmd = HOP_IOC_SERVE, size = sizeof(a.s);
		fill_serve(seed, &a.s, d, 4);
		break;
	case 2:
		cmd = HOP_IOC_CONNECT, size = sizeof(a.c);
		a.c.size = sizeof(a.c);
		a.c.flags = rnd(seed, 2) ? HOP_CONNECT_CLOEXEC : rnd(seed, 4) ? 0 : 1u << rnd(seed, 32);
		snprintf(a.c.name, sizeof(a.c.name), "%s", pick_name(seed, name));
		if (!rnd(seed, 4))
			memcpy(a.c.name, pick_name(seed, name), HOP_NAME_MAX);
		break;
	case 3: case 4: case 5:
		cmd = HOP_IOC_CALL, size = sizeof(a.call);
		memset(req, 0, sizeof(req));
		req[0] = (unsigned char)rnd(seed, 16);
		req[1] = (unsigned char)rand_r(seed);
		req[2] = (unsigned char)rand_r(seed);
		a.call = hop_test_call_args(pick_ptr(seed, req, 64), rnd(seed, 2) ? 64 : rnd(seed, sizeof(req)),
					   pick_ptr(seed, resp, 64), rnd(seed, 2) ? 64 : rnd(seed, sizeof(resp)));
		a.call.flags = rnd(seed, 3) ? 0 : HOP_CALL_NONBLOCK;
		a.call.timeout_ns = rnd(seed, 2) ? 0 : rnd(seed, 300) * 1000000ULL;
#ifdef HOP_CALL_ASYNC
		if (!rnd(seed, 4)) {
			a.call.flags |= HOP_CALL_ASYNC;
			a.call.user_data = rnd64(seed);
			/* Async replies land later: never in a buffer this stack reuses. */
			a.call.resp = (uintptr_t)async_resp + (size_t)t * 256;
			a.call.resp_cap = 256;
		}
#endif
		break;
	case 6:
		cmd = HOP_IOC_RETURN, size = sizeof(a.ret);
		a.ret.result = (int64_t)rnd64(seed);
		a.ret.slot = rnd(seed, 4);
		break;
	case 7:
		cmd = HOP_IOC_UNSERVE;
		break;
	case 8:
		cmd = HOP_IOC_SERVICE_INFO, size = sizeof(a.info);
		break;
	case 9:
		cmd = rnd(seed, 2) ? HOP_IOC_NOP : HOP_IOC_SWITCH_PROBE;
		break;
#ifdef HOP_IOC_ASYNC_REAP
	case 10:
		cmd = HOP_IOC_ASYNC_REAP, size = sizeof(a.res);
		break;
	case 11:
		cmd = HOP_IOC_DEV_READ, size = sizeof(a.dev);
		a.dev.offset = rnd(seed, 5000);
		a.dev.len = rnd(seed, 5000);
		a.dev.dest = (uintptr_t)pick_ptr(seed, async_resp, 64);
		break;
	case 12: {
		int fresh = rnd(seed, 2);
		int efd = fresh ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : pick_fd(seed);

		cmd = HOP_IOC_SET_EVENTFD, size = sizeof(__s32);
		memcpy(a.raw, &efd, sizeof(efd));
		/*
		 * A fresh one joins the pool (closed later, maybe while
		 * registered; non-blocking, since the closer thread reads pool
		 * fds).  One from the pool is already owned there.
		 */
		if (efd >= 0 && fresh)
			pool_put(seed, efd);
		break;
	}
#endif
	default: {
		/* A neighbour: any direction and size, numbers around ours, other magics. */
		static const unsigned int dirs[] = { _IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE };

		cmd = _IOC(dirs[rnd(seed, 4)], rnd(seed, 8) ? HOP_IOC_MAGIC : rnd(seed, 256),
			   rnd(seed, 20), rnd(seed, 2) ? rnd(seed, 256) : rnd(seed, 1 << 14));
		size = sizeof(a.raw);
		for (e = 0; e < (int)sizeof(a.raw); e++)
			a.raw[e] = (unsigned char)rand_r(seed);
		nr = 13;
		break;
	}
	}
	/* Real sizes sometimes wrong: the command keeps its number, the struct lies. */
	if (size >= 8 && !rnd(seed, 10) && (nr == 1 || nr == 2 || nr == 3 || nr == 4 || nr == 5))
		*(uint32_t *)a.raw = rnd(seed, 2) ? (uint32_t)size + 8 * (rnd(seed, 3) - 1) : (uint32_t)rand_r(seed);
	if (size)
		mutate(seed, &a, size);
	/* The racy buffer: the same struct, rewritten by the mutator meanwhile. */
	if (size && size <= 128 && !rnd(seed, 8))
		memcpy(racy + rnd(seed, 128), &a, size);
	arg = size ? pick_ptr(seed, &a, size) : (void *)(uintptr_t)rnd64(seed);
	flags = (unsigned int)a.call.flags;

	snprintf(cur[t].what, sizeof(cur[t].what), "ioctl(fd %d, cmd %#lx nr %u, arg %p) flags %#x",
		 fd, cmd, (unsigned int)_IOC_NR(cmd), arg, flags);
	atomic_store(&cur[t].since, now_ns());
	r = ioctl(fd, cmd, arg);
	e = errno;
	atomic_store(&cur[t].since, 0);

	atomic_fetch_add(&st.ops, 1);
	atomic_fetch_add(&st.per_cmd[nr], 1);
	if (r < 0) {
		if (!errno_ok(e))
			bad(cur[t].what, r, e);
		if (e == ECONNABORTED || e == ETIMEDOUT)
			atomic_fetch_add(&st.hops_aborted, 1);
	} else {
		atomic_fetch_add(&st.ok, 1);
		if (cmd == HOP_IOC_CALL && arg == &a) {
			atomic_fetch_add(&st.calls_ok, 1);
#ifdef HOP_CALL_ASYNC
			if (!(flags & HOP_CALL_ASYNC))
#endif
			if ((unsigned long)r > a.call.resp_cap)
				bad("CALL returned more than resp_cap", r, 0);
		}
		/* New descriptors join the pool (and the harness's fds stay safe). */
		if (cmd == HOP_IOC_CONNECT && r > 2)
			pool_put(seed, (int)r);
	}
	if (hopfd >= 0) {
		if (rnd(seed, 3))
			pool_put(seed, hopfd);	/* a service (or not) to call, unserve, close */
		else
			close(hopfd);
	}
}

/* Calls through libhop on real servers, so that most hops really happen. */
static void real_call(unsigned int *seed, struct hop_conn **conns)
{
	int s = rnd(seed, SERVERS);
	unsigned char req[64], resp[64];
	long n;

	if (!conns[s] && hop_connect(&conns[s], sh->names[s]))
		return;
	memset(req, 0, sizeof(req));
	req[0] = rnd(seed, 4) ? 0 : (unsigned char)rnd(seed, 16);
	req[1] = (unsigned char)rand_r(seed);
	n = hop_call(conns[s], req, sizeof(req), resp, sizeof(resp));
	atomic_fetch_add(&st.ops, 1);
	if (n >= 0) {
		atomic_fetch_add(&st.calls_ok, 1);
		if (n > (long)sizeof(resp))
			bad("libhop call longer than resp", n, 0);
	} else if (!errno_ok(-n)) {
		bad("libhop call", n, (int)-n);
	} else if (n == -ECONNABORTED || n == -ETIMEDOUT) {
		atomic_fetch_add(&st.hops_aborted, 1);
	}
	if (n == -ECONNREFUSED) {
		hop_disconnect(conns[s]);
		conns[s] = NULL;
	}
}

struct targ {
	int t;
	unsigned int seed;
};

static void *fuzz_thread(void *p)
{
	struct targ *ta = p;
	unsigned int seed = ta->seed;
	struct hop_conn *conns[SERVERS] = { 0 };
	int i;

	cur[ta->t].tid = (pid_t)syscall(SYS_gettid);
	while (!atomic_load(&stop)) {
		if (rnd(&seed, 3)) {
			fuzz_one(&seed, ta->t);
		} else {
			snprintf(cur[ta->t].what, sizeof(cur[ta->t].what), "libhop call");
			atomic_store(&cur[ta->t].since, now_ns());
			real_call(&seed, conns);
			atomic_store(&cur[ta->t].since, 0);
		}
	}
	for (i = 0; i < SERVERS; i++)
		if (conns[i])
			hop_disconnect(conns[i]);
	return NULL;
}

/* Rewrites the racy buffer and toggles the flip page while calls use them. */
static void *mutator_thread(void *p)
{
	unsigned int seed = (unsigned int)(uintptr_t)p;
	int i;

	while (!atomic_load(&stop)) {
		for (i = 0; i < 64; i++)
			racy[rnd(&seed, PG)] = (unsigned char)rand_r(&seed);
		mprotect(flip, PG, rnd(&seed, 2) ? PROT_NONE : PROT_READ | PROT_WRITE);
		if (!rnd(&seed, 4))
			sched_yield();
	}
	mprotect(flip, PG, PROT_READ | PROT_WRITE);
	return NULL;
}

/* Closes pool fds (maybe mid-call elsewhere) and opens new /dev/hop files and handles. */
static void *closer_thread(void *p)
{
	unsigned int seed = (unsigned int)(uintptr_t)p;
	int fd;

	while (!atomic_load(&stop)) {
		switch (rnd(&seed, 4)) {
		case 0:
			fd = atomic_exchange(&pool[rnd(&seed, POOL)], -1);
			if (fd >= 0)
				close(fd);
			break;
		case 1:
			fd = open("/dev/hop", O_RDWR | O_CLOEXEC);
			if (fd >= 0)
				pool_put(&seed, fd);
			break;
		case 2: {
			struct hop_connect c = { .size = sizeof(c), .flags = HOP_CONNECT_CLOEXEC };
			int dev = open("/dev/hop", O_RDWR | O_CLOEXEC);
			char buf[HOP_NAME_MAX];
			long r;

			snprintf(c.name, sizeof(c.name), "%s", pick_name(&seed, buf));
			r = dev < 0 ? -1 : ioctl(dev, HOP_IOC_CONNECT, &c);
			if (dev >= 0)
				close(dev);
			if (r > 2)
				pool_put(&seed, (int)r);
			break;
		}
		default: {
			/* poll, read and write on hop files: not ioctls, but reachable. */
			int f = atomic_load(&pool[rnd(&seed, POOL)]);
			struct pollfd pfd = { .fd = f, .events = POLLIN | POLLOUT };
			char b[16];

			if (f < 0)
				break;
			/*
			 * Only what poll says will not block: a fuzzed ioctl
			 * (FIONBIO) may have made any of these fds blocking.
			 */
			if (poll(&pfd, 1, 0) == 1 &&
			    !((pfd.revents & POLLIN) && read(f, b, sizeof(b)) >= 0) &&
			    !((pfd.revents & POLLOUT) && write(f, b, sizeof(b)) >= 0))
				usleep(500);
			break;
		}
		}
		usleep(rnd(&seed, 2000));
	}
	return NULL;
}

/* A stuck call: say which, with the kernel stack of the stuck thread, and all blocked tasks to the log. */
static int watchdog_check(int nthreads)
{
	long long now = now_ns();
	int t, stuck = 0;

	for (t = 0; t < nthreads; t++) {
		long long since = atomic_load(&cur[t].since);
		char path[64], line[256];
		FILE *f;

		if (!since || now - since < WATCHDOG_S * 1000000000LL)
			continue;
		stuck++;
		fprintf(stderr, "# fuzz: HANG: thread %d (tid %d) in %s for %llds\n", t, cur[t].tid,
			cur[t].what, (now - since) / 1000000000LL);
		snprintf(path, sizeof(path), "/proc/self/task/%d/stack", cur[t].tid);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			fprintf(stderr, "#   %s", line);
		if (f)
			fclose(f);
	}
	if (stuck) {
		int s = open("/proc/sysrq-trigger", O_WRONLY);

		if (s >= 0 && write(s, "w", 1) != 1)
			perror("sysrq");
		if (s >= 0)
			close(s);
	}
	return stuck;
}

/*
 * A fatal signal in the fuzzer itself: say which thread was doing what (a
 * hop that leaks its handler's fault back to the caller shows up here), then
 * die of the signal so that the harness still sees it.
 */
static void crash_report(int sig, siginfo_t *si, void *uc)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	char buf[512];
	int t, n;

	unsigned long long rip = (unsigned long long)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];

	/* rip relative to crash_report: `nm` on the binary turns it into a function. */
	n = snprintf(buf, sizeof(buf), "# fuzz: CRASH signal %d code %d addr %p rip %#llx (crash_report%+lld) in pid %d tid %d\n",
		     sig, si->si_code, si->si_addr, rip, (long long)(rip - (uintptr_t)&crash_report),
		     getpid(), tid);
	if (write(2, buf, n) < 0)
		_exit(128 + sig);
	for (t = 0; t < MAX_THREADS; t++) {
		if (cur[t].tid != tid)
			continue;
		n = snprintf(buf, sizeof(buf), "# fuzz:   thread %d, %s: %s\n", t,
			     atomic_load(&cur[t].since) ? "in" : "after", cur[t].what);
		if (write(2, buf, n) < 0)
			break;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : def;
}

FIXTURE(fuzz) {};
FIXTURE_SETUP(fuzz) {}
FIXTURE_TEARDOWN(fuzz) {}

/* The harness's alarm is only a backstop: the watchdog reports hangs first, and run-tests.sh bounds the program. */
TEST_F_TIMEOUT(fuzz, ioctls, 3600)
{
	int seconds = env_int("FUZZ_SECONDS", 20);
	unsigned int seed = (unsigned int)env_int("FUZZ_SEED", 1);
	int nthreads = env_int("FUZZ_THREADS", 4);
	pthread_t th[MAX_THREADS], mut, clo;
	struct targ ta[MAX_THREADS];
	pid_t servers[SERVERS];
	long long restarts = 0, end;
	int i, stuck = 0, waited;
	unsigned char *m;

	if (nthreads < 1 || nthreads > MAX_THREADS)
		nthreads = 4;
	TH_LOG("seed %u, %d s, %d threads", seed, seconds, nthreads);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	edge = m;
	ASSERT_EQ(0, mprotect(m + PG, PG, PROT_NONE));
	flip = m + 2 * PG;
	ro = m + 3 * PG;
	ASSERT_EQ(0, mprotect(ro, PG, PROT_READ));
	racy = m + 4 * PG;
	async_resp = m + 5 * PG;	/* 3 pages: 256 bytes per thread */
	arena = mmap(NULL, 4 * 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, arena);
	for (i = 0; i < SERVERS; i++)
		snprintf(sh->names[i], HOP_NAME_MAX, "fuzz-%d-%d", getpid(), i);
	for (i = 0; i < NAMES; i++)
		snprintf(raw_names[i], HOP_NAME_MAX, "fuzzraw-%d-%d", getpid(), i);
	for (i = 0; i < POOL; i++)
		atomic_store(&pool[i], -1);
	{
		struct sigaction sa = { .sa_sigaction = crash_report, .sa_flags = SA_SIGINFO };

		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		sigaction(SIGILL, &sa, NULL);
		sigaction(SIGTRAP, &sa, NULL);
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, devnull);
	for (i = 0; i < SERVERS; i++)
		servers[i] = spawn_server(i);
	usleep(200 * 1000);

	for (i = 0; i < nthreads; i++) {
		ta[i].t = i;
		ta[i].seed = seed * 7919u + (unsigned int)i;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fuzz_thread, &ta[i]));
	}
	ASSERT_EQ(0, pthread_create(&mut, NULL, mutator_thread, (void *)(uintptr_t)(seed + 101)));
	ASSERT_EQ(0, pthread_create(&clo, NULL, closer_thread, (void *)(uintptr_t)(seed + 202)));

	/* Services destroyed under the callers: kill and restart a server now and then. */
	end = now_ns() + seconds * 1000000000LL;
	while (now_ns() < end && !stuck) {
		usleep(200 * 1000 + rnd(&seed, 600 * 1000));
		i = rnd(&seed, SERVERS);
		kill(servers[i], SIGKILL);
		waitpid(servers[i], NULL, 0);
		servers[i] = spawn_server(i);
		restarts++;
		stuck = watchdog_check(nthreads);
	}
	atomic_store(&stop, true);
	/* Calls end within their deadlines once servers stop; a thread that does not is hung. */
	for (i = 0; i < nthreads; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += WATCHDOG_S;
		if (pthread_timedjoin_np(th[i], NULL, &ts)) {
			stuck += watchdog_check(nthreads) ?: 1;
			TH_LOG("fuzz thread %d did not finish: %s", i, cur[i].what);
		}
	}
	ASSERT_EQ(0, stuck);
	pthread_join(mut, NULL);
	pthread_join(clo, NULL);
	for (i = 0; i < SERVERS; i++) {
		kill(servers[i], SIGKILL);
		waitpid(servers[i], NULL, 0);
	}
	for (i = 0; i < POOL; i++) {
		int fd = atomic_exchange(&pool[i], -1);

		if (fd >= 0)
			close(fd);
	}

	TH_LOG("%ld ops (%ld succeeded), %ld calls returned a reply, %ld hops aborted, %ld handler runs, %lld server restarts",
	       atomic_load(&st.ops), atomic_load(&st.ok), atomic_load(&st.calls_ok),
	       atomic_load(&st.hops_aborted), atomic_load(&sh->handler_ops), restarts);
	TH_LOG("per command: version %ld serve %ld connect %ld call %ld return %ld unserve %ld info %ld nop/probe %ld reap %ld devread %ld eventfd %ld other %ld",
	       st.per_cmd[0], st.per_cmd[1], st.per_cmd[2],
	       st.per_cmd[3] + st.per_cmd[4] + st.per_cmd[5], st.per_cmd[6], st.per_cmd[7],
	       st.per_cmd[8], st.per_cmd[9], st.per_cmd[10], st.per_cmd[11], st.per_cmd[12],
	       st.per_cmd[13]);
	EXPECT_EQ(0, atomic_load(&st.bad));
	/* It fuzzed something, and hopped: not a run that only collected EBADF. */
	EXPECT_GT(atomic_load(&st.ops), 1000);
	EXPECT_GT(atomic_load(&sh->handler_ops), 20);
	EXPECT_GT(atomic_load(&st.calls_ok), 20);

	/* Services and frames are freed from workqueues and after RCU: give them a moment. */
	for (waited = 0; waited < 50 && (hop_test_stat("services") || hop_test_stat("frames")); waited++)
		usleep(100 * 1000);
	EXPECT_EQ(0, hop_test_stat("services"));
	EXPECT_EQ(0, hop_test_stat("frames"));
}

TEST_HARNESS_MAIN
