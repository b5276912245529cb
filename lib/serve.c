// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * serve.c: the server runtime of libhop: slots, the handler entry point, and
 * the thread-local storage a handler runs with.
 *
 * A handler runs on the client's kernel task but in the server's address space,
 * so it needs a stack and a TLS block (glibc keeps errno, the stack canary and
 * malloc's per-thread state behind %fs) that belong to the server and to no
 * running thread.  libhop makes them with pthread_create() on a stack it owns:
 * glibc lays out a full thread control block at the top of that stack, and the
 * "donor" thread then leaves the kernel at once with a raw exit(2), skipping
 * glibc's thread teardown.  What remains is a valid, unused TCB and the stack
 * below it: a slot.  No server thread exists while the service idles; the TCBs
 * are reclaimed with pthread_join() when the service is destroyed.
 *
 * The module gives each slot an owner id that no thread has and writes it
 * where the TCB keeps its tid (uapi: struct hop_slot_robust), and libhop hands
 * it the TCB's robust list: so mutexes that record their owner (robust,
 * recursive, error-checking) tell slots apart, and a robust mutex held by a
 * handler whose hop was aborted comes back EOWNERDEAD, as after a thread's
 * death.  The tid is set back to 0 before pthread_join().
 *
 * Consequences for handlers (README, "Writing handlers"): malloc, stdio,
 * errno, mutexes and TLS variables work; a handler can be stopped anywhere
 * by an abort, so only robust mutexes come back from one (malloc's own locks
 * do not); pthread_self() is the slot, not a thread, and thread cancellation
 * and PI mutexes are not supported.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <linux/hop.h>
#include "hop.h"
#include "sys.h"

#define HOP_DEFAULT_SLOTS	4
#define HOP_DEFAULT_STACK	(64 * 1024)
#define HOP_DEFAULT_MSG		4096
/* Room left above the handler's stack for the donor's last frame. */
#define HOP_STACK_MARGIN	256

struct hop_slot_rt {
	struct hop_service *svc;
	unsigned int index;
	void *req;		/* request bytes: the start of the slot buffer */
	void *resp;		/* reply bytes: msg_size further */
	pthread_t donor;
	void *stack_mem;	/* guard page + stack + the donor's TCB */
	size_t stack_len;
	uintptr_t stack_top;
	uintptr_t tls;
	int donor_tid_off;	/* where the donor's TCB keeps its tid */
	uintptr_t robust_head;	/* the TCB's robust list, as the donor registered it */
};

struct hop_service {
	int fd;
	hop_handler_t fn;
	hop_regs_handler_t regs_fn;
	void *ctx;
	size_t msg_size;
	void *bufs;
	size_t bufs_len;
	unsigned int nr_slots;
	struct hop_slot_rt slots[];
};

/*
 * Offset of the tid inside glibc's struct pthread, found rather than assumed:
 * it is the one place in the first bytes of the TCB that holds gettid(), in
 * the donor and in the calling thread alike.  The kernel clears it and wakes
 * its futex when the donor has left (CLONE_CHILD_CLEARTID).
 */
static int hop_find_tid_offset(void)
{
	const int *tcb = (const int *)pthread_self();
	int tid = gettid();
	int i;

	for (i = 4; i < 1024; i++)
		if (tcb[i] == tid)
			return i * (int)sizeof(int);
	return -1;
}

/* The calling thread's robust list head (in its TCB), or 0 if it has none. */
static uintptr_t hop_find_robust_head(void)
{
	void *head = NULL;
	size_t len = 0;

	if (hop_sys3(SYS_get_robust_list, 0, (long)&head, (long)&len) < 0)
		return 0;
	return (uintptr_t)head;
}

static void *hop_donor_main(void *arg)
{
	struct hop_slot_rt *slot = arg;
	char anchor;

	slot->tls = (uintptr_t)pthread_self();
	slot->stack_top = ((uintptr_t)&anchor - HOP_STACK_MARGIN) & ~(uintptr_t)15;
	slot->donor_tid_off = hop_find_tid_offset();
	slot->robust_head = hop_find_robust_head();
	/* Leave without glibc's teardown, so the TCB stays intact for the slot. */
	for (;;)
		hop_sys3(SYS_exit, 0, 0, 0);
	return NULL;
}

/* The slot this handler runs on: TLS, so each slot sees its own. */
static __thread struct hop_slot_rt *hop_current_slot;

/* The handler's first instruction: called by the kernel, never returns. */
__attribute__((noreturn, used))
static void hop_handler_entry(struct hop_slot_rt *slot, uint64_t req_len, uint64_t resp_cap)
{
	struct hop_service *svc = slot->svc;
	struct hop_return r = { .slot = slot->index };

	hop_current_slot = slot;
	r.result = svc->fn(svc->ctx, slot->req, req_len, slot->resp, resp_cap);
	if (r.result == HOP_PENDING) {
		r.result = 0;
		r.flags = HOP_RETURN_PENDING;
	}
	/* Ends the hop; returns only if refused (or from a hop.ko without it). */
	hop_sys3(HOP_SYSCALL_RETURN, r.result, r.slot, r.flags);
	hop_sys_ioctl(svc->fd, HOP_IOC_RETURN, &r);
	r.flags = 0;
	/* Refused (e.g. a reply longer than the capacity): tell the client. */
	r.result = -EPROTO;
	hop_sys_ioctl(svc->fd, HOP_IOC_RETURN, &r);
	/* Still here: the fd is gone.  A fault aborts the hop (ECONNABORTED). */
	__builtin_trap();
}

/*
 * A register call's handler entry.  The kernel leaves the request words in
 * r8, r9, r10, r12, r13, r14 (uapi: HOP_IOC_CALL_REGS) and %rsp = stack_top
 * - 8, as after a call; the words go onto the stack as the array the C
 * entry below takes.  56 bytes keep the call 16-byte aligned.
 */
__asm__(".text\n"
	".type hop_lib_regs_entry, @function\n"
	"hop_lib_regs_entry:\n"
	"	sub $56, %rsp\n"
	"	mov %r8, 0(%rsp)\n"
	"	mov %r9, 8(%rsp)\n"
	"	mov %r10, 16(%rsp)\n"
	"	mov %r12, 24(%rsp)\n"
	"	mov %r13, 32(%rsp)\n"
	"	mov %r14, 40(%rsp)\n"
	"	mov %rsp, %rdx\n"
	"	call hop_regs_handler_entry\n"
	"	ud2\n"
	".size hop_lib_regs_entry, .-hop_lib_regs_entry\n");
void hop_lib_regs_entry(void);

/*
 * The register call's return, with the reply words in the six message
 * registers: HOP_SYSCALL_RETURN, or the ioctl where that was refused (a
 * hop.ko without it).  Returns only if both were refused.
 */
static long hop_sys_return_regs(int fd, unsigned int slot, long result, uint64_t w[HOP_REGS_WORDS])
{
	/* A refused syscall leaves the six registers, so @w, as they were. */
	hop_sys_words(HOP_SYSCALL_RETURN, result, slot, 0, w);
	return hop_sys_ioctl_words(fd, HOP_IOC_RETURN_REGS, result, w);
}

__attribute__((noreturn, used))
static void hop_regs_handler_entry(struct hop_slot_rt *slot, uint64_t req_len,
				   const uint64_t *req)
{
	struct hop_service *svc = slot->svc;
	uint64_t resp[HOP_REGS_WORDS] = { 0 };
	ssize_t r;

	hop_current_slot = slot;
	r = svc->regs_fn(svc->ctx, req, req_len, resp);
	if (r > HOP_REGS_MAX)
		r = -EPROTO;
	hop_sys_return_regs(svc->fd, slot->index, r, resp);
	memset(resp, 0, sizeof(resp));
	hop_sys_return_regs(svc->fd, slot->index, -EPROTO, resp);
	/* Still here: the fd is gone.  A fault aborts the hop (ECONNABORTED). */
	__builtin_trap();
}

static int hop_slot_make(struct hop_service *svc, struct hop_slot_rt *slot, size_t stack_size)
{
	long page = sysconf(_SC_PAGESIZE);
	pthread_attr_t attr;
	int tid_off = hop_find_tid_offset();
	volatile int *tidp;
	int tid, err;

	if (tid_off < 0)
		return -ENOTSUP;

	slot->stack_len = stack_size + page;
	slot->stack_mem = mmap(NULL, slot->stack_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (slot->stack_mem == MAP_FAILED) {
		slot->stack_mem = NULL;
		return -ENOMEM;
	}
	/* A guard page below the stack: an overflow faults instead of scribbling. */
	mprotect(slot->stack_mem, page, PROT_NONE);

	err = pthread_attr_init(&attr);
	if (err)
		goto err_unmap;
	err = pthread_attr_setstack(&attr, (char *)slot->stack_mem + page, stack_size);
	if (!err)
		err = pthread_create(&slot->donor, &attr, hop_donor_main, slot);
	pthread_attr_destroy(&attr);
	if (err)
		goto err_unmap;

	/*
	 * pthread_t is the TCB, and glibc had the kernel store the donor's tid in
	 * it before pthread_create() returned: wait until the kernel clears it.
	 */
	tidp = (volatile int *)((char *)slot->donor + tid_off);
	while ((tid = *tidp) != 0)
		hop_sys3(SYS_futex, (long)tidp, FUTEX_WAIT, tid);
	if (slot->donor_tid_off != tid_off) {
		/* The donor saw another layout: not glibc as we know it. */
		err = ENOTSUP;
		goto err_unmap;
	}
	slot->svc = svc;
	return 0;

err_unmap:
	munmap(slot->stack_mem, slot->stack_len);
	slot->stack_mem = NULL;
	return -err;
}

static void hop_slot_destroy(struct hop_slot_rt *slot)
{
	if (!slot->stack_mem)
		return;
	/*
	 * The donor is long gone: this only gives its TCB back to glibc, whose
	 * pthread_join() waits for the tid the module replaced with the slot's
	 * owner id to be 0 again.
	 */
	*(volatile int *)((char *)slot->donor + slot->donor_tid_off) = 0;
	pthread_join(slot->donor, NULL);
	munmap(slot->stack_mem, slot->stack_len);
}

static void hop_service_free(struct hop_service *svc)
{
	unsigned int i;

	for (i = 0; i < svc->nr_slots; i++)
		hop_slot_destroy(&svc->slots[i]);
	if (svc->bufs)
		munmap(svc->bufs, svc->bufs_len);
	if (svc->fd >= 0)
		hop_sys_close(svc->fd);
	free(svc);
}

static size_t hop_round_page(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (n + page - 1) & ~(page - 1);
}

int hop_serve(struct hop_service **out, const char *name, hop_handler_t fn,
	      void *ctx, const struct hop_serve_opts *opts)
{
	struct hop_serve_opts o = { .size = sizeof(o) };
	struct hop_slot_robust *robust;
	struct hop_slot_desc *descs;
	struct hop_service *svc;
	struct hop_serve req;
	size_t len, stack;
	unsigned int i;
	int err;

	if (!out || !name || !fn)
		return -EINVAL;
	len = strlen(name);
	if (len == 0 || len >= HOP_NAME_MAX)
		return -EINVAL;
	if (opts) {
		/* Callers built against libhop 0.1 pass the smaller struct. */
		if (opts->size < offsetof(struct hop_serve_opts, regs_fn))
			return -EINVAL;
		/* A newer caller's options this libhop does not know must be unset. */
		if (!hop_opts_tail_ok(opts, opts->size, sizeof(o)))
			return -E2BIG;
		memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
		o.size = sizeof(o);
	}
	if (!o.slots)
		o.slots = HOP_DEFAULT_SLOTS;
	if (o.slots > HOP_MAX_SLOTS)
		return -EINVAL;
	stack = hop_round_page(o.stack_size ? o.stack_size : HOP_DEFAULT_STACK);
	if (stack < (size_t)PTHREAD_STACK_MIN)
		stack = hop_round_page(PTHREAD_STACK_MIN);
	o.msg_size = hop_round_page(o.msg_size ? o.msg_size : HOP_DEFAULT_MSG);
	if (o.msg_size > HOP_MSG_MAX)
		return -EINVAL;

	svc = calloc(1, sizeof(*svc) + o.slots * sizeof(svc->slots[0]));
	descs = calloc(o.slots, sizeof(*descs));
	robust = calloc(o.slots, sizeof(*robust));
	if (!svc || !descs || !robust) {
		free(svc);
		free(descs);
		free(robust);
		return -ENOMEM;
	}
	svc->fd = -1;
	svc->fn = fn;
	svc->regs_fn = o.regs_fn;
	svc->ctx = ctx;
	svc->msg_size = o.msg_size;
	svc->bufs_len = o.slots * 2 * o.msg_size;
	svc->bufs = mmap(NULL, svc->bufs_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (svc->bufs == MAP_FAILED) {
		svc->bufs = NULL;
		err = -ENOMEM;
		goto err;
	}
	for (i = 0; i < o.slots; i++) {
		struct hop_slot_rt *slot = &svc->slots[i];

		slot->index = i;
		slot->req = (char *)svc->bufs + i * 2 * o.msg_size;
		slot->resp = (char *)slot->req + o.msg_size;
		err = hop_slot_make(svc, slot, stack);
		svc->nr_slots = i + 1;
		if (err)
			goto err;
		descs[i].stack_top = slot->stack_top;
		descs[i].tls = slot->tls;
		descs[i].buf = (uintptr_t)slot->req;
		descs[i].cookie = (uintptr_t)slot;
		if (slot->robust_head) {
			robust[i].head = slot->robust_head;
			robust[i].tid = (uintptr_t)slot->donor + (uintptr_t)slot->donor_tid_off;
		}
	}

	svc->fd = hop_sys_open_dev();
	if (svc->fd < 0) {
		err = svc->fd;
		goto err;
	}
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	memcpy(req.name, name, len);
	req.entry = (uintptr_t)hop_handler_entry;
	req.entry_regs = o.regs_fn ? (uintptr_t)hop_lib_regs_entry : 0;
	req.slots = (uintptr_t)descs;
	req.nr_slots = o.slots;
	req.mode = o.mode;
	req.msg_size = (uint32_t)o.msg_size;
	req.timeout_ns = o.timeout_ns;
	req.robust = (uintptr_t)robust;
	err = (int)hop_sys_ioctl(svc->fd, HOP_IOC_SERVE, &req);
	if (err)
		goto err;
	free(descs);
	free(robust);
	*out = svc;
	return 0;

err:
	free(descs);
	free(robust);
	hop_service_free(svc);
	return err;
}

int hop_dev_read(unsigned int offset, unsigned int len, void *dest)
{
	struct hop_dev_read d = { .offset = offset, .len = len, .dest = (uintptr_t)dest };
	struct hop_slot_rt *slot = hop_current_slot;

	if (!slot)
		return -EPERM;		/* not in a handler */
	return (int)hop_sys_ioctl(slot->svc->fd, HOP_IOC_DEV_READ, &d);
}

int hop_recv_fds(int *fds, unsigned int max)
{
	struct hop_fds a = { .fds = (uintptr_t)fds, .n = max };
	struct hop_slot_rt *slot = hop_current_slot;

	if (!slot)
		return -EPERM;		/* not in a handler */
	return (int)hop_sys_ioctl(slot->svc->fd, HOP_IOC_RECV_FDS, &a);
}

int hop_send_fds(const int *fds, unsigned int n)
{
	struct hop_fds a = { .fds = (uintptr_t)fds, .n = n };
	struct hop_slot_rt *slot = hop_current_slot;

	if (!slot)
		return -EPERM;
	return (int)hop_sys_ioctl(slot->svc->fd, HOP_IOC_SEND_FDS, &a);
}

int hop_caller(struct hop_caller *out)
{
	struct hop_slot_rt *slot = hop_current_slot;

	if (!slot)
		return -EPERM;		/* not in a handler */
	return (int)hop_sys_ioctl(slot->svc->fd, HOP_IOC_CALLER, out);
}

int hop_service_fd(const struct hop_service *svc)
{
	return svc ? svc->fd : -EINVAL;
}

int hop_unserve(struct hop_service *svc)
{
	long err;

	if (!svc)
		return -EINVAL;
	/* Stops new calls and waits for running handlers: then slots are free. */
	err = hop_sys_ioctl(svc->fd, HOP_IOC_UNSERVE, NULL);
	if (err)
		return (int)err;
	hop_service_free(svc);
	return 0;
}
