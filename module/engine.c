// SPDX-License-Identifier: GPL-2.0
/*
 * engine.c: the hop itself.  HOP_IOC_CALL turns the calling task into the
 * service's handler; HOP_IOC_RETURN turns it back into the caller; an abort
 * (fault, deadline, outside signal) does the same without the handler's help,
 * and the exit hook does it for a task that dies mid-hop.
 *
 * Frame lifetime: a frame is pushed by HOP_IOC_CALL and popped exactly once,
 * by the task itself: in HOP_IOC_RETURN, in an abort task_work, or in the
 * do_exit hook.  Only the innermost frame of each task is in hop_tasks; the
 * others hang off ->outer.  Popping sets ->ended, so a deadline timer or an
 * abort task_work that races with the pop does nothing but drop its reference.
 *
 * Frame memory comes from a SLAB_TYPESAFE_BY_RCU cache, so that the next hop
 * reuses a hot frame at once instead of waiting out a grace period (and no
 * zeroing: init_on_alloc skips such caches).  The price is the classic one:
 * an RCU reader may find a frame that was freed and reused meanwhile.  So
 * the task hash is an hlist_nulls (a lookup that strays into another chain
 * because its node was reused starts over), a reader that acts on a frame
 * takes a reference and checks f->task again (hop_check_task in hooks.c),
 * and readers that only ask "is this task hopped?" may see a frame just
 * popped, which errs on the safe side.  A task whose FPU state is larger
 * than the cache's objects (AMX) gets a kmalloc'd frame freed after RCU.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/hashtable.h>
#include <linux/rculist_nulls.h>
#include <linux/uaccess.h>
#include <linux/pagemap.h>
#include <linux/task_work.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/ptrace.h>
#include <linux/ktime.h>
#include <linux/ratelimit.h>
#include <linux/compat.h>
#include <asm/segment.h>
#include <asm/unistd.h>
#include <asm/processor-flags.h>
#include "hop_internal.h"
#include "hop_trace.h"

#define HOP_TASKS_BITS 8
static struct hlist_nulls_head hop_tasks[1 << HOP_TASKS_BITS];
static DEFINE_SPINLOCK(hop_tasks_lock);
static struct kmem_cache *hop_frame_cache;
/*
 * One cached frame per CPU held back from the slab: the last one freed
 * there, handed to the next hop on that CPU with one this_cpu_xchg()
 * instead of kmem_cache_alloc() and kmem_cache_free() (about 170
 * instructions a hop).  It is still a frame of the typesafe cache, popped
 * and unhashed with refs at 0, so RCU readers that meet it behave as with
 * a slab-cached one (top of this file).  Emptied at unload.
 */
static DEFINE_PER_CPU(struct hop_frame *, hop_frame_spare);
static unsigned int hop_frame_fpu_max;	/* FPU bytes a cached frame holds */
/* Frames alive anywhere: lets the hooks return at once in the common case. */
atomic_t hop_nr_frames = ATOMIC_INIT(0);

static void hop_abort_work_fn(struct callback_head *cb);
static bool hop_frame_leave(struct hop_frame *f);
static LLIST_HEAD(hop_reap_list);
static void hop_reap_fn(struct work_struct *work);
static DECLARE_WORK(hop_reap_work, hop_reap_fn);

/*
 * Caller holds rcu_read_lock() or is @t itself.  May return a frame of @t
 * that is being popped (see the top of this file); never misses one.
 */
struct hop_frame *hop_task_frame(struct task_struct *t)
{
	unsigned int b = hash_ptr(t, HOP_TASKS_BITS);
	struct hlist_nulls_node *n;
	struct hop_frame *f;

again:
	hlist_nulls_for_each_entry_rcu(f, n, &hop_tasks[b], hnode)
		if (READ_ONCE(f->task) == t)
			return f;
	/* Ended in another chain: a node on the way was reused.  Again. */
	if (get_nulls_value(n) != b)
		goto again;
	return NULL;
}

struct hop_frame *hop_current_frame(void)
{
	struct hop_frame *f;

	if (!atomic_read(&hop_nr_frames))
		return NULL;
	rcu_read_lock();
	f = hop_task_frame(current);
	rcu_read_unlock();
	return f;
}

/* Is @t (current) running a handler of @svc, at any depth? */
bool hop_task_in_service(struct task_struct *t, struct hop_service *svc)
{
	struct hop_frame *f;

	for (f = hop_current_frame(); f; f = f->outer)
		if (f->svc == svc)
			return true;
	return false;
}

/*
 * Hops begun, per chain of hop_tasks.  A guard that lets another task read
 * @t's files or fs compares it before and after the read (guards.c): a hop
 * that began in between, and swapped in the server's, moved it.  Bumped
 * before the frame is published, so before the identity swap, whose
 * task_lock() orders it for a reader that takes the same lock.
 */
static atomic_long_t hop_tasks_gen[1 << HOP_TASKS_BITS];

unsigned long hop_task_gen(struct task_struct *t)
{
	return atomic_long_read(&hop_tasks_gen[hash_ptr(t, HOP_TASKS_BITS)]);
}

static void hop_frame_push(struct hop_frame *f)
{
	unsigned long flags;

	atomic_inc(&hop_nr_frames);
	spin_lock_irqsave(&hop_tasks_lock, flags);
	if (f->outer)
		hlist_nulls_del_rcu(&f->outer->hnode);
	hlist_nulls_add_head_rcu(&f->hnode, &hop_tasks[hash_ptr(f->task, HOP_TASKS_BITS)]);
	/* After the frame: a guard that sees the new count finds the frame too. */
	smp_wmb();
	atomic_long_inc(&hop_tasks_gen[hash_ptr(f->task, HOP_TASKS_BITS)]);
	spin_unlock_irqrestore(&hop_tasks_lock, flags);
}

static void hop_frame_pop(struct hop_frame *f)
{
	unsigned long flags;

	spin_lock_irqsave(&hop_tasks_lock, flags);
	hlist_nulls_del_rcu(&f->hnode);
	if (f->outer)
		hlist_nulls_add_head_rcu(&f->outer->hnode,
					 &hop_tasks[hash_ptr(f->task, HOP_TASKS_BITS)]);
	spin_unlock_irqrestore(&hop_tasks_lock, flags);
	WRITE_ONCE(f->ended, true);
	atomic_dec(&hop_nr_frames);
}

static struct hop_frame *hop_frame_alloc(void)
{
	unsigned int fpu = hop_fpu_size();
	struct hop_frame *f;

	if (likely(fpu <= hop_frame_fpu_max)) {
		f = this_cpu_xchg(hop_frame_spare, NULL);
		if (!f)
			f = kmem_cache_alloc(hop_frame_cache, GFP_KERNEL);
		if (f)
			f->cached = true;
	} else {
		f = kmalloc(struct_size(f, fpu, fpu), GFP_KERNEL);
		if (f)
			f->cached = false;
	}
	return f;
}

/* A cached frame back: the CPU's spare if it has none (any context). */
static void hop_frame_cache_free(struct hop_frame *f)
{
	if (this_cpu_cmpxchg(hop_frame_spare, NULL, f))
		kmem_cache_free(hop_frame_cache, f);
}

/* Only for a frame that was never published (hop_enter's error paths). */
static void hop_frame_free_unused(struct hop_frame *f)
{
	if (f->cached)
		hop_frame_cache_free(f);
	else
		kfree(f);
}

/* Any context: the deadline timer drops its reference in hard irq. */
void hop_frame_put(struct hop_frame *f)
{
	if (!refcount_dec_and_test(&f->refs))
		return;
	if (f->cached)
		hop_frame_cache_free(f);
	else
		kfree_rcu(f, rcu);
}

/*
 * Ask the task to abort @f (and any hop nested in it).  Any context, including
 * hard interrupts and the signal path under siglock.  The task does the work
 * in task_work, which runs before it returns to user mode or dequeues a signal.
 */
void hop_request_abort(struct hop_frame *f, enum hop_abort_reason why, int sig)
{
	/*
	 * A fault is always the task's own (current == f->task): remember the
	 * signal even if another abort is already on its way, so that whichever
	 * abort unwinds this frame discards it before the caller could get it.
	 */
	if (why == HOP_ABORT_FAULT)
		f->fault_sig = sig;
	/* Found under RCU, the frame may be on its way out: no reference, no abort. */
	if (READ_ONCE(f->ended) || !refcount_inc_not_zero(&f->refs))
		return;
	if (atomic_cmpxchg(&f->abort_reason, 0, why) != 0) {
		hop_frame_put(f);
		return;
	}
	f->abort_sig = sig;
	/* The callback may run after the service, and its module pin, are gone. */
	__module_get(THIS_MODULE);
	if (task_work_add(f->task, &f->abort_work, TWA_SIGNAL)) {
		/* The task is exiting: the exit hook cleans up. */
		hop_frame_put(f);
		module_put(THIS_MODULE);
	}
}

static enum hrtimer_restart hop_deadline_fire(struct hrtimer *timer)
{
	struct hop_frame *f = container_of(timer, struct hop_frame, deadline);

	if (!READ_ONCE(f->ended))
		hop_request_abort(f, HOP_ABORT_DEADLINE, 0);
	hop_frame_put(f);	/* the timer's reference */
	return HRTIMER_NORESTART;
}

static void hop_deadline_arm(struct hop_frame *f, u64 timeout_ns)
{
	refcount_inc(&f->refs);
	hrtimer_start(&f->deadline, ns_to_ktime(timeout_ns), HRTIMER_MODE_REL);
}

/* @may_wait: false in the exit hook, which cannot wait for a running callback. */
static void hop_deadline_disarm(struct hop_frame *f, bool may_wait)
{
	int cancelled;

	if (!f->has_deadline)
		return;
	cancelled = may_wait ? hrtimer_cancel(&f->deadline)
			     : hrtimer_try_to_cancel(&f->deadline);
	/* 1: we stopped it, so its reference is ours to drop. */
	if (cancelled == 1)
		hop_frame_put(f);
}

/*
 * Let @f's slot go once the caller is current again, before anything touches
 * the caller's memory (hop_reply_out()).  Once only.
 */
static void hop_frame_free_slot(struct hop_frame *f)
{
	if (!f->slot_freed) {
		f->slot_freed = true;
		hop_release_slot(f->svc, f->slot);
	}
}

/*
 * Keep @f's reply (HOP_IOC_RETURN's reply_len bytes in the slot) aside, in
 * f->reply, so that the slot can go before the reply reaches the caller.
 * False without memory for it.
 */
static bool hop_frame_keep_reply(struct hop_frame *f)
{
	struct hop_service *svc = f->svc;

	if (f->reply || !f->reply_len)
		return true;
	f->reply = kvmalloc(f->reply_len, GFP_KERNEL);
	if (!f->reply)
		return false;
	memcpy(f->reply, svc->slots[f->slot].kbuf + svc->msg_size, f->reply_len);
	return true;
}

/*
 * The slot, let go while the task still leaves the server: the handler is
 * done with it, and its reply is kept aside.  Without memory for the reply
 * the slot stays until the frame's end.
 */
static void hop_frame_free_slot_leaving(struct hop_frame *f)
{
	if (hop_frame_keep_reply(f))
		hop_frame_free_slot(f);
}

/* Release what the frame held once the caller's identity is back. */
static void hop_frame_finish(struct hop_frame *f)
{
	kvfree(f->reply);
	f->reply = NULL;
	hop_fds_release(f);
	hop_identity_drop_borrowed(f);
	hop_frame_free_slot(f);
	if (f->async)
		hop_async_put(f->async);
	hop_service_put(f->svc);
	hop_frame_put(f);
}

/*
 * The conditions under which a hop cannot be made safe that only the caller
 * itself can change; policy.c has the rest, checked where the switch happens
 * (README, "What a hop switches, refuses and freezes").
 */
static int hop_may_hop(bool from_uring)
{
	struct task_struct *tsk = current;

	if (in_compat_syscall() || test_thread_flag(TIF_ADDR32))
		return -EOPNOTSUPP;	/* 32-bit tasks: another register model */
	if (hop_shadow_stack_enabled(tsk))
		return -EOPNOTSUPP;	/* the SSP points into the caller's mm */
	if (test_thread_flag(TIF_IO_BITMAP))
		return -EOPNOTSUPP;	/* ioperm() would be lent to the handler */
	/*
	 * io-wq workers would be born in the server, and io_uring task_work
	 * would run in it.  The io_uring path checked that the task's only
	 * ring defers its task work to io_uring_enter() (handle.c).
	 */
	if (tsk->io_uring && !from_uring)
		return -EOPNOTSUPP;
	if (tsk->thread.fsindex || tsk->thread.gsindex)
		return -EOPNOTSUPP;	/* only FS/GS bases are saved, not selectors */
	return 0;
}

/* The six registers of a register call's message (uapi: HOP_IOC_CALL_REGS). */
static void hop_words_get(const struct pt_regs *r, u64 w[HOP_REG_WORDS])
{
	w[0] = r->r8;
	w[1] = r->r9;
	w[2] = r->r10;
	w[3] = r->r12;
	w[4] = r->r13;
	w[5] = r->r14;
}

/* Words past @len bytes are zero: nothing of the sender's registers beyond. */
static void hop_words_put(struct pt_regs *r, u64 w[HOP_REG_WORDS], unsigned int len)
{
	unsigned int i;

	for (i = DIV_ROUND_UP(len, 8); i < HOP_REG_WORDS; i++)
		w[i] = 0;
	r->r8 = w[0];
	r->r9 = w[1];
	r->r10 = w[2];
	r->r12 = w[3];
	r->r13 = w[4];
	r->r14 = w[5];
}

static void hop_regs_for_handler(struct pt_regs *regs, struct hop_frame *f,
				 struct hop_service *svc, struct hop_slot *slot,
				 u64 req_len, u64 resp_cap)
{
	u64 w[HOP_REG_WORDS];

	if (f->regs_call)
		hop_words_get(&f->regs, w);	/* the caller's, saved in the frame */
	memset(regs, 0, sizeof(*regs));
	if (f->regs_call)
		hop_words_put(regs, w, req_len);
	regs->ip = f->regs_call ? svc->entry_regs : svc->entry;
	/* As if the handler had been called: the return address slot below top. */
	regs->sp = slot->stack_top - 8;
	/* Never user-controlled flags: IRET from CPL0 would honour IOPL/NT/TF. */
	regs->flags = X86_EFLAGS_IF | X86_EFLAGS_FIXED;
	regs->cs = __USER_CS;
	regs->ss = __USER_DS;
	/* rcx/r11 equal to ip/flags let the exit path use SYSRET. */
	regs->cx = regs->ip;
	regs->r11 = regs->flags;
	regs->di = slot->cookie;
	regs->si = req_len;
	regs->dx = resp_cap;
	/* Not a syscall any more: no restart may rewind ip into the handler. */
	regs->orig_ax = -1;
}

/*
 * An io_uring hop starts at the return of whatever syscall the task made
 * (uring.c), which may have ended with a restart code for a signal that is
 * not there: the caller gets it back as the kernel would with no handler,
 * restarted after the hop, never as a kernel-internal errno.
 */
static void hop_restart_fixup(struct pt_regs *regs)
{
	if ((long)regs->orig_ax < 0)
		return;
	switch ((long)regs->ax) {
	case -ERESTARTNOHAND:
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
		regs->ax = regs->orig_ax;
		regs->ip -= 2;
		break;
	case -ERESTART_RESTARTBLOCK:
		regs->ax = __NR_restart_syscall;
		regs->ip -= 2;
		break;
	}
}

/*
 * Read a struct hop_call of the caller's size: an older, smaller one reads
 * its missing fields as 0; a larger one is refused (E2BIG) unless its
 * unknown tail is 0 (copy_struct_from_user()).
 */
int hop_call_copy(struct hop_call *c, const struct hop_call __user *uarg)
{
	size_t ksize = sizeof(*c);
	u32 usize;

	if (get_user(usize, &uarg->size))
		return -EFAULT;
	if (usize < HOP_CALL_SIZE_VER0)
		return -EINVAL;
	/*
	 * copy_struct_from_user(), spelled out so that the copy is
	 * _copy_from_user(): hardened usercopy's check of a variable-sized
	 * copy into a stack object walks the stack frames (about 45
	 * instructions a call), and the bound here is ours, min(usize, ksize).
	 */
	if (usize > ksize) {
		int ret = check_zeroed_user((const u8 __user *)uarg + ksize, usize - ksize);

		if (ret <= 0)
			return ret ?: -E2BIG;
	} else if (usize < ksize) {
		memset((u8 *)c + usize, 0, ksize - usize);
	}
	if (_copy_from_user(c, uarg, min_t(size_t, usize, ksize)))
		return -EFAULT;
	c->size = ksize;
	return 0;
}

/* Checks shared by HOP_IOC_CALL and the io_uring path. */
int hop_call_check(struct hop_service *svc, const struct hop_call *c)
{
	if (c->size != sizeof(*c) || (c->flags & ~(HOP_CALL_NONBLOCK | HOP_CALL_ASYNC)) ||
	    (c->user_data && !(c->flags & HOP_CALL_ASYNC)) ||
	    ((c->origin || c->nfds || c->rfds_cap || c->nrfds) && (c->flags & HOP_CALL_ASYNC)))
		return -EINVAL;
	if (c->nfds > HOP_MAX_FDS || c->rfds_cap > HOP_MAX_FDS)
		return -E2BIG;
	if (c->req_len > svc->msg_size)
		return -EMSGSIZE;
	if ((c->req_len && !access_ok(u64_to_user_ptr(c->req), c->req_len)) ||
	    (c->resp_cap && !access_ok(u64_to_user_ptr(c->resp), c->resp_cap)))
		return -EFAULT;
	return 0;
}

/*
 * The caller's two exec locks, which the switch point holds (hop_enter()):
 * cred_guard_mutex, then exec_update_lock for write, in exec's order.
 */
static bool hop_exec_locks_tryget(void)
{
	struct signal_struct *sig = current->signal;

	if (!mutex_trylock(&sig->cred_guard_mutex))
		return false;
	if (down_write_trylock(&sig->exec_update_lock))
		return true;
	mutex_unlock(&sig->cred_guard_mutex);
	return false;
}

static int hop_exec_locks_get_killable(void)
{
	struct signal_struct *sig = current->signal;
	int err;

	err = mutex_lock_killable(&sig->cred_guard_mutex);
	if (err)
		return err;
	err = down_write_killable(&sig->exec_update_lock);
	if (err)
		mutex_unlock(&sig->cred_guard_mutex);
	return err;
}

static void hop_exec_locks_put(void)
{
	up_write(&current->signal->exec_update_lock);
	mutex_unlock(&current->signal->cred_guard_mutex);
}

/*
 * Claim a slot, copy the request into it, borrow the server's identity and
 * take the caller's exec locks; on success all four are held, the slot's
 * index is in *@idxp, and *@timeout_ns (0: no deadline) is what is left of
 * the deadline.  The deadline bounds the slot waits, measured afresh before
 * each; the waits for the caller's own memory and own exec locks are the
 * caller's, and end with a fatal signal, like any syscall's.
 *
 * Nothing here waits on what the caller controls while it holds a slot, or
 * a few such callers would stop the service for everyone, with no
 * deadline to end it (the deadline covers the handler): not its memory (a
 * page behind userfaultfd or FUSE), not its own process's exec locks (an
 * exec in another thread holds them while it reads its binary).  The
 * request is copied with page faults off; a fault lets the slot go, brings
 * the page in without it and starts over (fault_test
 * client_memory_that_blocks_holds_no_slot).  The locks are tried; if busy,
 * the slot goes, they are waited for, and kept: with them held the slot is
 * claimed without waiting, or they go and a slot is waited for.  Keeping
 * them matters on PREEMPT_RT, where a trylock fails while anyone waits:
 * threads of one process that each gave the locks back after the wait
 * never got them by trylock again (hop_test threads_share_one_handle).
 */
/* What is left of a deadline of @timeout_ns from @start_ns (0: none), or -ETIMEDOUT. */
static int hop_deadline_left(u64 start_ns, u64 timeout_ns, u64 *left_ns)
{
	u64 waited;

	if (!timeout_ns)
		return 0;
	waited = ktime_get_ns() - start_ns;
	if (waited >= timeout_ns)
		return -ETIMEDOUT;
	*left_ns = timeout_ns - waited;
	return 0;
}

static int hop_enter_claim(struct hop_service *svc, const struct hop_call *c,
			   struct hop_frame *f, u64 *timeout_nsp, int *idxp)
{
	bool nonblock = c->flags & HOP_CALL_NONBLOCK;
	u64 timeout_ns = *timeout_nsp;
	u64 start_ns = timeout_ns ? ktime_get_ns() : 0;
	u64 left_ns = timeout_ns;
	bool locked = false;
	int idx, err;

	for (;;) {
		err = hop_deadline_left(start_ns, timeout_ns, &left_ns);
		if (err)
			goto out_unlock;
		idx = hop_claim_slot(svc, nonblock || locked, left_ns);
		if (idx == -EAGAIN && locked && !nonblock) {
			/* No slot free: wait for one without the locks. */
			hop_exec_locks_put();
			locked = false;
			continue;
		}
		if (idx < 0) {
			err = idx;
			goto out_unlock;
		}
		err = hop_deadline_left(start_ns, timeout_ns, &left_ns);
		if (err)
			goto out_slot;
		/*
		 * _copy_from_user(): copy_from_user() without hardened
		 * usercopy's object walk, which on a vmap'd buffer looks the
		 * area up on every call.  The bound is ours: req_len <=
		 * msg_size, the request half of the slot's own mapping.  A
		 * register call has nothing to copy.
		 */
		if (!(c->flags & HOP_CALL_INTERNAL_REGS) && c->req_len) {
			void __user *req = u64_to_user_ptr(c->req);
			unsigned long left;

			pagefault_disable();
			left = _copy_from_user(svc->slots[idx].kbuf, req, c->req_len);
			pagefault_enable();
			if (unlikely(left)) {
				hop_release_slot(svc, idx);
				if (locked)
					hop_exec_locks_put();
				locked = false;
				if (fault_in_readable(req, c->req_len))
					return -EFAULT;
				/* A page that comes back absent each time: still killable. */
				if (fatal_signal_pending(current))
					return -EINTR;
				continue;
			}
		}
		err = hop_identity_borrow(svc, f);
		if (err)
			goto out_slot;
		if (locked || hop_exec_locks_tryget())
			break;
		hop_identity_drop_borrowed(f);
		hop_release_slot(svc, idx);
		err = hop_exec_locks_get_killable();
		if (err)
			return err;
		locked = true;
	}
	*idxp = idx;
	*timeout_nsp = left_ns;
	return 0;

out_slot:
	hop_release_slot(svc, idx);
out_unlock:
	if (locked)
		hop_exec_locks_put();
	return err;
}

/*
 * Make the hop: from here the task returns to user mode in the handler.
 * @regs_ax_back: an io_uring-started hop returns the interrupted syscall's own
 * result when it ends, not the handler's (the caller of io_uring_enter() gets
 * its return value untouched).
 */
int hop_enter(struct hop_service *svc, const struct hop_call *c, struct hop_async *async,
	      bool from_uring)
{
	struct pt_regs *regs = current_pt_regs();
	struct hop_frame *outer, *f;
	struct hop_slot *slot;
	unsigned int depth;
	u64 timeout_ns;
	int idx, err;

	err = hop_may_hop(from_uring);
	if (err)
		return err;
	outer = hop_current_frame();
	depth = outer ? outer->depth + 1 : 1;
	if (depth > HOP_MAX_DEPTH)
		return -ELOOP;
	f = hop_frame_alloc();
	if (!f)
		return -ENOMEM;
	f->nresp_fds = 0;
	f->nreq_fds = 0;
	/* The request's fds, from the caller's table (-EBADF: nothing taken). */
	if (c->nfds) {
		err = hop_fds_take(f->req_files, u64_to_user_ptr(c->fds), c->nfds);
		if (err)
			goto err_free;
		f->nreq_fds = c->nfds;
	}
	/* The deadline starts now: the slot wait counts against it. */
	timeout_ns = c->timeout_ns ?: svc->timeout_ns;
	err = hop_enter_claim(svc, c, f, &timeout_ns, &idx);
	if (err)
		goto err_free;
	slot = &svc->slots[idx];
	/*
	 * The switch point.  The slot wait and the request copy may have
	 * blocked: what others could change meanwhile is checked now.  Those
	 * who attach to a task check ptrace_may_access() and attach under
	 * one of the caller's two locks: a tracer under cred_guard_mutex, a
	 * perf event under exec_update_lock (read; so do mm_access() and
	 * pidfd_getfd()).  From the frame's push on the guards refuse them
	 * (guards.c), so holding both from the checks to the push leaves no
	 * gap: an attach that passed its check before the push is done before
	 * the checks here see it (fault_test racing_perf_events_*).
	 */
	if (current->ptrace)
		err = -EPERM;		/* a tracer would see and poke the handler */
	else if (!hop_guards_hold())
		err = -ENOLCK;		/* a guard is down: fail closed */
	else
		err = hop_policy_check_server(svc->leader) ?:
		      hop_policy_check_caller(svc->leader);
	if (err) {
		hop_exec_locks_put();
		goto err_borrowed;
	}

	refcount_set(&f->refs, 1);
	f->task = current;
	f->outer = outer;
	f->depth = depth;
	f->ended = false;
	f->from_uring = from_uring;
	f->regs_call = c->flags & HOP_CALL_INTERNAL_REGS;
	f->io_uring = current->io_uring;
	if (async)
		kref_get(&async->ref);
	f->async = async;
	kref_get(&svc->ref);
	f->svc = svc;
	f->slot = idx;
	f->slot_freed = false;
	f->leaving = false;
	f->reply_len = 0;
	f->reply = NULL;
	f->req_len = c->req_len;
	f->resp_uaddr = c->resp;
	f->origin_uaddr = c->origin;
	f->rfds_cap = c->rfds_cap;
	f->rfds_uaddr = c->rfds;
	f->nrfds_uaddr = c->nrfds;
	f->resp_cap = f->regs_call ? HOP_REG_WORDS * 8 : min_t(u64, c->resp_cap, svc->msg_size);
	/* A clock read only for a listener of hop_return's latency field. */
	f->start_ns = trace_hop_return_enabled() ? ktime_get_ns() : 0;
	atomic_set(&f->abort_reason, 0);
	f->abort_sig = 0;
	f->fault_sig = 0;
	init_task_work(&f->abort_work, hop_abort_work_fn);
	/* A timer only for a call that has a deadline (hop_deadline_disarm). */
	f->has_deadline = timeout_ns != 0;
	if (f->has_deadline) {
		hrtimer_init(&f->deadline, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
		f->deadline.function = hop_deadline_fire;
	}
	f->regs = *regs;
	if (from_uring)
		hop_restart_fixup(&f->regs);

	trace_hop_call(svc->name, idx, c->req_len, depth);
	hop_frame_push(f);
	hop_exec_locks_put();
	hop_identity_enter(f, svc, slot);
	/*
	 * The request's fds into the server's table, before the handler runs.
	 * The frame keeps a spare reference to each (fds.c).  No room: the hop
	 * is undone here and the call fails, with nothing installed.
	 */
	if (f->nreq_fds) {
		unsigned int i;

		for (i = 0; i < f->nreq_fds; i++)
			get_file(f->req_files[i]);
		err = hop_fds_install(f->req_files, f->nreq_fds, f->req_fdnums, NULL);
		if (err) {
			hop_fds_put(f->req_files, f->nreq_fds);	/* the spares */
			if (hop_frame_leave(f))
				hop_frame_finish(f);	/* drops the others (hop_fds_release) */
			return err;
		}
	}
	if (f->has_deadline)
		hop_deadline_arm(f, timeout_ns);
	hop_regs_for_handler(regs, f, svc, slot, c->req_len, f->resp_cap);
	/*
	 * A signal the hop mask lets through that was pending before the
	 * switch would be delivered to the handler with the caller's
	 * sigaction: end the hop before the handler's first instruction.
	 */
	if (hop_signal_deliverable_pending())
		hop_request_abort(f, HOP_ABORT_SIGNAL, 0);
	trace_hop_handler_enter(svc->name, idx, depth);
	return 0;

err_borrowed:
	hop_identity_drop_borrowed(f);
	hop_release_slot(svc, idx);
err_free:
	hop_fds_put(f->req_files, f->nreq_fds);
	hop_frame_free_unused(f);
	return err;
}

/* Where the caller asked (hop_call.origin): who produced its result. */
static void hop_set_origin(u64 uaddr, u32 origin)
{
	/* Best effort: the result itself is what the call returns. */
	if (uaddr)
		(void)put_user(origin, (u32 __user *)u64_to_user_ptr(uaddr));
}

/* HOP_IOC_CALL. */
long hop_call(struct hop_service *svc, struct hop_handle *h, const struct hop_call __user *uarg)
{
	struct hop_async *async = NULL;
	struct hop_call c;
	int err;

	err = hop_call_copy(&c, uarg);
	if (err)
		return err;
	err = hop_call_check(svc, &c);
	if (err)
		goto out;
	if (c.flags & HOP_CALL_ASYNC) {
		async = hop_async_new(h, &c);
		if (IS_ERR(async))
			return PTR_ERR(async);
	}
	err = hop_enter(svc, &c, async, false);
	if (async) {
		/* Refused before the hop: the ioctl says so, no completion follows. */
		if (err)
			hop_async_abandon(async);
		hop_async_put(async);
	}
out:
	/*
	 * Refused before any handler ran (async calls have no origin).  Not
	 * when dying: a hop whose undoing was killed is still in the server's
	 * mm, which the write would reach (hop_frame_leave()).
	 */
	if (err && !fatal_signal_pending(current))
		hop_set_origin(c.origin, HOP_ORIGIN_HOP);
	/* 0 becomes the handler's %rax. */
	return err;
}

/*
 * Leave @f: caller identity and registers back, @result in the caller's %rax.
 * The pop and the switch back happen under exec_update_lock (write), as the
 * push did in hop_enter(): mm_access() reads a task's mm and then asks
 * ptrace_may_access() under that lock (read), so it sees the task hopped
 * with either mm, or back with its own, never the server's mm from a task
 * that no longer looks hopped (fault_test racing_vm_reads_*).  A dying task
 * is unwound without it (hop_frames_unwind_dying()).
 *
 * The wait for the lock is killable: a reader may hold it as long as it
 * likes (below), and the reader may be another process, which names a
 * thread of the caller's that is not hopped.  False, with nothing undone but
 * the deadline and the slot (both of which the exit unwinding knows), when a
 * fatal signal came meanwhile: the caller stops there, and the task dies on
 * its way out of the kernel (SIGKILL is pending), where the exit hook
 * unwinds the frame (fault_test killed_while_its_hop_waits_to_leave).
 */
static bool hop_frame_leave(struct hop_frame *f)
{
	hop_deadline_disarm(f, true);
	/*
	 * Taken: by a reader of this process, which may hold it as long as it
	 * likes (kcmp() reads its argument from user memory under it), so the
	 * slot goes before the wait (fault_test
	 * exec_lock_held_by_a_reader_holds_no_slot).
	 */
	if (unlikely(!down_write_trylock(&current->signal->exec_update_lock))) {
		f->leaving = true;
		hop_frame_free_slot_leaving(f);
		if (down_write_killable(&current->signal->exec_update_lock))
			return false;
	}
	hop_frame_pop(f);
	hop_identity_leave(f);
	up_write(&current->signal->exec_update_lock);
	*current_pt_regs() = f->regs;
	/*
	 * A handler that set up io_uring left io-wq state on this task that
	 * would act with the server's mm and files later: the task cannot be
	 * trusted any more (README, "What a hop switches, refuses and freezes").
	 */
	if (unlikely(current->io_uring != f->io_uring)) {
		pr_warn_ratelimited("hop: handler of %s used io_uring; killing task %d\n",
				    f->svc->name, task_pid_nr(current));
		force_sig(SIGKILL);
	}
	return true;
}

/*
 * The reply's fds into the caller's table (now current's), all or none, and
 * their count where the caller asked.  A failure makes the call fail with
 * that errno.  An error reply carries no fds.
 */
static long hop_return_fds(struct hop_frame *f, long result)
{
	u32 __user *count = u64_to_user_ptr(f->nrfds_uaddr);
	int nums[HOP_MAX_FDS];
	long err;

	if (result < 0) {
		hop_fds_put(f->resp_files, f->nresp_fds);
		f->nresp_fds = 0;
	}
	/* The count first: a fault there leaves nothing installed. */
	if (count && put_user(f->nresp_fds, count))
		return result < 0 ? result : -EFAULT;	/* hop_fds_release() drops them */
	err = hop_fds_install(f->resp_files, f->nresp_fds, nums,
			      u64_to_user_ptr(f->rfds_uaddr));
	if (err) {
		if (count)
			put_user(0, count);
		return err;
	}
	f->nresp_fds = 0;	/* the caller's table owns them now */
	return result;
}

/*
 * The reply into the caller's buffer (current is the caller again), and the
 * slot let go, which must not wait on the caller's memory (as in
 * hop_enter()): the copy runs with page faults off, and a part that
 * faulted is finished from a copy of it once the slot is free.  Returns
 * @result, or the errno that replaces it.
 */
static long hop_reply_out(struct hop_frame *f, long result)
{
	struct hop_service *svc = f->svc;
	/* result <= resp_cap <= msg_size: within the reply half (see hop_enter). */
	const u8 *reply = f->reply ?: svc->slots[f->slot].kbuf + svc->msg_size;
	u8 __user *to = u64_to_user_ptr(f->resp_uaddr);
	unsigned long left = 0, done;
	bool kept = true;

	if (result > 0) {
		/* _copy_to_user(): no hardened-usercopy walk (hop_enter()). */
		pagefault_disable();
		left = _copy_to_user(to, reply, result);
		pagefault_enable();
		if (unlikely(left))
			kept = hop_frame_keep_reply(f);	/* result == f->reply_len */
	}
	hop_frame_free_slot(f);
	if (likely(!left))
		return result;
	if (!kept)
		return -ENOMEM;
	done = result - left;
	return copy_to_user(to + done, (u8 *)f->reply + done, left) ? -EFAULT : result;
}

/* HOP_IOC_RECV_FDS, HOP_IOC_SEND_FDS: only inside a handler of @svc. */
long hop_frame_fds_ioctl(struct hop_service *svc, unsigned int cmd, void __user *uarg)
{
	struct hop_frame *f = hop_current_frame();

	if (!f || f->svc != svc)
		return -EPERM;
	return cmd == HOP_IOC_RECV_FDS ? hop_fds_recv(f, uarg) : hop_fds_send(f, uarg);
}

/*
 * End @f, the innermost hop of current, with @r: the caller's result, and
 * current is the caller again.  Refused: the handler's errno, and the hop
 * goes on.  Either way the value is what the syscall returns to whoever
 * current now is.
 */
static long hop_return_frame(struct hop_frame *f, const struct hop_return *r)
{
	struct hop_service *svc = f->svc;
	u32 origin = HOP_ORIGIN_HANDLER;
	long result;

	if (r->flags & ~HOP_RETURN_PENDING)
		return -EINVAL;
	if (r->slot != f->slot || f->regs_call)
		return -EINVAL;
	/* Kernel-internal errnos (-ERESTART*) would make the caller restart. */
	if (r->result > (s64)f->resp_cap || r->result < -511)
		return -EINVAL;
	/* Pending needs an async call whose device read was started. */
	if ((r->flags & HOP_RETURN_PENDING) && !(f->async && f->async->dev_started))
		return -EINVAL;

	f->reply_len = max_t(s64, r->result, 0);
	if (!hop_frame_leave(f))
		return -EINTR;	/* dying: hop_frame_leave() */
	result = hop_reply_out(f, r->result);
	if (result != r->result)
		origin = HOP_ORIGIN_HOP;
	/* The slot is free: what follows may wait on the caller's memory. */
	if (f->nresp_fds || f->nrfds_uaddr) {
		long with_fds = hop_return_fds(f, result);

		if (with_fds != result)
			origin = HOP_ORIGIN_HOP;
		result = with_fds;
	}
	hop_set_origin(f->origin_uaddr, origin);
	atomic64_inc(&svc->calls);
	trace_hop_return(svc->name, f->slot, result,
			 f->start_ns ? ktime_get_ns() - f->start_ns : 0);
	if (f->async) {
		/* Done now, or when the device interrupts (pending). */
		if (!(r->flags & HOP_RETURN_PENDING))
			hop_async_complete(f->async, result);
		result = 0;
	}
	if (f->from_uring) {
		/* io_uring_enter() returns what it returned before the hop. */
		result = f->regs.ax;
		hop_uring_kick();
	}
	hop_frame_finish(f);
	/* The caller's HOP_IOC_CALL returns this. */
	return result;
}

/* HOP_IOC_CALL_REGS on a handle: @arg is the request length and flags. */
long hop_call_regs(struct hop_service *svc, unsigned long arg)
{
	struct hop_call c = {
		.size = sizeof(c),
		.flags = HOP_CALL_INTERNAL_REGS,
		.req_len = arg & 0xff,
		.resp_cap = HOP_REG_WORDS * 8,
	};

	if (arg & ~(0xffUL | HOP_CALL_REGS_NONBLOCK))
		return -EINVAL;
	if (c.req_len > HOP_REG_WORDS * 8)
		return -EMSGSIZE;
	if (!svc->entry_regs)
		return -EOPNOTSUPP;	/* the service has no register entry */
	if (arg & HOP_CALL_REGS_NONBLOCK)
		c.flags |= HOP_CALL_NONBLOCK;
	/* 0 becomes the handler's %rax, like HOP_IOC_CALL. */
	return hop_enter(svc, &c, NULL, false);
}

/* HOP_IOC_RETURN. */
long hop_return(struct hop_service *svc, const struct hop_return __user *uarg)
{
	struct hop_frame *f;
	struct hop_return r;

	if (copy_from_user(&r, uarg, sizeof(r)))
		return -EFAULT;
	f = hop_current_frame();
	if (!f || f->svc != svc)
		return -EPERM;
	return hop_return_frame(f, &r);
}

/* As hop_return_frame(), for a register call: the reply is in the six message registers. */
static long hop_return_regs_frame(struct hop_frame *f, long result)
{
	struct hop_service *svc = f->svc;
	u64 w[HOP_REG_WORDS];

	if (!f->regs_call || result > HOP_REG_WORDS * 8 || result < -511)
		return -EINVAL;
	hop_words_get(current_pt_regs(), w);
	if (!hop_frame_leave(f))
		return -EINTR;	/* dying: hop_frame_leave() */
	if (result >= 0)
		hop_words_put(current_pt_regs(), w, result);
	atomic64_inc(&svc->calls);
	trace_hop_return(svc->name, f->slot, result,
			 f->start_ns ? ktime_get_ns() - f->start_ns : 0);
	hop_frame_finish(f);
	return result;
}

/* HOP_IOC_RETURN_REGS. */
long hop_return_regs(struct hop_service *svc, long result)
{
	struct hop_frame *f = hop_current_frame();

	if (!f || f->svc != svc)
		return -EPERM;
	return hop_return_regs_frame(f, result);
}

/*
 * HOP_SYSCALL_RETURN (uapi), from intercept.c before the syscall would run:
 * the return of the ioctls above, its arguments in registers.  Sets what
 * the syscall returns, to the caller (the hop ended) or to the handler
 * (refused).
 */
long hop_sys_return(struct pt_regs *regs)
{
	struct hop_frame *f = hop_intercepted_frame();
	struct hop_return r = {
		.result = regs->di, .slot = (u32)regs->si, .flags = (u32)regs->dx,
	};
	long ret;

	if (regs->si != r.slot || regs->dx != r.flags)
		ret = -EINVAL;
	else if (f->regs_call)
		ret = r.slot != f->slot || r.flags ? -EINVAL : hop_return_regs_frame(f, r.result);
	else
		ret = hop_return_frame(f, &r);
	/* The caller's registers now, if the hop ended. */
	current_pt_regs()->ax = ret;
	return HOP_SYSCALL_DONE;
}

/* HOP_IOC_CALLER: the caller of the hop of @svc that current is serving. */
long hop_caller_info(struct hop_service *svc, struct hop_caller __user *uarg)
{
	struct hop_frame *f = hop_current_frame();
	struct hop_caller who;

	if (!f || f->svc != svc)
		return -EPERM;
	hop_caller_describe(f, &who);
	return copy_to_user(uarg, &who, sizeof(who)) ? -EFAULT : 0;
}

static long hop_abort_errno(enum hop_abort_reason why)
{
	switch (why) {
	case HOP_ABORT_FAULT:
		return -ECONNABORTED;
	case HOP_ABORT_DEADLINE:
		return -ETIMEDOUT;
	case HOP_ABORT_SIGNAL:
		return -EINTR;
	default:
		return -ECONNRESET;
	}
}

static void hop_count_abort(struct hop_frame *f, enum hop_abort_reason why)
{
	struct hop_service *svc = f->svc;

	atomic64_inc(&svc->aborted);
	if (why == HOP_ABORT_FAULT) {
		atomic64_inc(&svc->faults);
		pr_warn_ratelimited("hop: handler of service %s (server %d) took signal %d on slot %u; hop aborted\n",
				    svc->name, svc->tgid, f->abort_sig, f->slot);
	} else if (why == HOP_ABORT_DEADLINE) {
		atomic64_inc(&svc->timeouts);
	} else if (why == HOP_ABORT_CLIENT_DEATH) {
		atomic64_inc(&svc->client_deaths);
	}
	trace_hop_abort(svc->name, f->slot, why, f->abort_sig);
}

/* Remove the fault signal the handler took, so it never reaches the caller. */
static void hop_discard_signal(int sig)
{
	kernel_siginfo_t info;
	enum pid_type type;
	sigset_t mask;

	siginitsetinv(&mask, sigmask(sig));
	spin_lock_irq(&current->sighand->siglock);
	hop_dequeue_signal(&mask, &info, &type);
	spin_unlock_irq(&current->sighand->siglock);
}

/* task_work: the task aborts @f and every hop nested inside it. */
static void hop_abort_work_fn(struct callback_head *cb)
{
	struct hop_frame *target = container_of(cb, struct hop_frame, abort_work);
	enum hop_abort_reason why = atomic_read(&target->abort_reason);
	struct hop_frame *f;

	/*
	 * Dying (a leave killed in its wait for exec_update_lock, or any
	 * SIGKILL): the exit hook unwinds every frame, and knows which have
	 * let their slot go already.
	 */
	if (READ_ONCE(target->ended) || (current->flags & PF_EXITING) ||
	    fatal_signal_pending(current))
		goto out;
	do {
		f = hop_current_frame();
		if (f->fault_sig)
			hop_discard_signal(f->fault_sig);
		hop_count_abort(f, f == target ? why : HOP_ABORT_SIGNAL);
		/*
		 * Still in f's server: its request's fds are closed there, and
		 * the robust mutexes its handler held are marked dead there.
		 */
		hop_fds_abort(f);
		hop_robust_abort(f->svc, f->slot);
		if (!hop_frame_leave(f))
			goto out;	/* dying: the exit hook unwinds the rest */
		if (f->async)
			hop_async_complete(f->async, hop_abort_errno(why));
		/* Nested callers see their hop fail too; the outermost wins %rax. */
		if (!f->from_uring)
			current_pt_regs()->ax = hop_abort_errno(why);
		/* Before the caller's memory is touched (hop_reply_out()). */
		hop_frame_free_slot(f);
		hop_set_origin(f->origin_uaddr, HOP_ORIGIN_HOP);
		if (f != target)
			hop_frame_finish(f);
	} while (f != target);
	if (target->from_uring)
		hop_uring_kick();
	hop_frame_finish(target);
out:
	hop_frame_put(target);
	module_put(THIS_MODULE);
}

static void hop_reap_fn(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&hop_reap_list);
	struct hop_frame *f, *next;

	llist_for_each_entry_safe(f, next, list, reap) {
		/* The slot's robust mutexes, then the slot (see hop_frames_unwind_dying). */
		if (f->robust_to_reaper) {
			hop_robust_abort_from_reaper(f->svc, f->slot);
			hop_release_slot(f->svc, f->slot);
		}
		/* The request's fds out of the server's table, while the frame holds it. */
		hop_fds_abort_from_reaper(f);
		kvfree(f->reply);	/* kept aside by a leave that was killed */
		f->reply = NULL;
		hop_identity_drop_borrowed(f);
		if (f->async)
			hop_async_put(f->async);
		hop_service_put(f->svc);
		hop_frame_put(f);
	}
}

/*
 * The current task is exiting inside one or more hops (do_exit hook: in the
 * task's process context, @can_sleep, or atomic on the fallback of hooks.c).
 * Put the task's own mm, files, fs and credentials back before exit_mm()
 * writes clear_child_tid and walks the robust futex list, and leave the
 * sleeping puts to the reaper.
 */
void hop_frames_unwind_dying(bool can_sleep)
{
	struct hop_frame *f;

	while ((f = hop_current_frame())) {
		hop_deadline_disarm(f, false);
		hop_frame_pop(f);
		if (f->leaving) {
			/*
			 * Killed while it waited to leave (hop_frame_leave()):
			 * its handler had returned, or its abort had closed the
			 * request's fds and the slot's robust mutexes.  The slot
			 * may serve another call by now (unless there was no
			 * memory to keep the reply aside): nothing of it is
			 * touched again.  The request's fds are the server's
			 * (or were closed): only the frame's spares go.
			 */
			hop_fds_release(f);
			f->robust_to_reaper = false;
		} else {
			/*
			 * Still in f's server.  Where this may sleep, the
			 * request's fds are closed and the slot's robust mutexes
			 * marked dead here, as an abort does, so that the slot
			 * is free by the time the client's death can be seen
			 * (waitpid).  Atomically the walk may not fault or wake:
			 * the reaper does it, and the slot stays busy until
			 * then, so no new handler runs on the list.
			 */
			f->robust_to_reaper = !can_sleep && f->svc->slots[f->slot].robust_head;
			if (can_sleep) {
				hop_fds_abort(f);
				hop_robust_abort(f->svc, f->slot);
			}
		}
		hop_identity_leave_dying(f);
		hop_count_abort(f, HOP_ABORT_CLIENT_DEATH);
		if (f->async)
			hop_async_complete(f->async, -ECONNRESET);
		if (!f->robust_to_reaper)
			hop_frame_free_slot(f);
		llist_add(&f->reap, &hop_reap_list);
	}
	hop_stop_release_dying();
	hop_uring_task_dying();
	schedule_work(&hop_reap_work);
}

int hop_engine_init(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hop_tasks); i++)
		INIT_HLIST_NULLS_HEAD(&hop_tasks[i], i);
	/* Sized for the FPU state of an ordinary task (the loading one). */
	hop_frame_fpu_max = hop_fpu_size();
	hop_frame_cache = kmem_cache_create("hop_frame",
					    offsetof(struct hop_frame, fpu) + hop_frame_fpu_max,
					    64, SLAB_TYPESAFE_BY_RCU, NULL);
	return hop_frame_cache ? 0 : -ENOMEM;
}

/* Module unload: the reaper may still hold the last frames. */
void hop_engine_exit(void)
{
	int cpu;

	flush_work(&hop_reap_work);
	/* kfree_rcu()'d frames first; the cache waits for RCU itself. */
	rcu_barrier();
	/* No frame is alive now, so nothing refills a spare behind this. */
	for_each_possible_cpu(cpu)
		if (per_cpu(hop_frame_spare, cpu))
			kmem_cache_free(hop_frame_cache, per_cpu(hop_frame_spare, cpu));
	kmem_cache_destroy(hop_frame_cache);
}
