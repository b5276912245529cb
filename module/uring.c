// SPDX-License-Identifier: GPL-2.0
/*
 * uring.c: async calls submitted through io_uring (IORING_OP_URING_CMD on a
 * handle, cmd_op HOP_URING_CALL), completed as CQEs.
 *
 * The hop cannot happen inside io_uring_enter(): the submission loop would go
 * on issuing the caller's other requests with the server's address space.
 * So issuing only queues the call on the submitting task and asks for a
 * task_work at its next return to user mode; there the task hops into the
 * handler, exactly as HOP_IOC_CALL would, with io_uring_enter()'s registers
 * saved.
 *
 * Task work also runs inside syscalls: io_uring_enter()'s own wait
 * (io_uring_submit_and_wait()) runs it while it waits for completions.  A
 * hop made there would wait on as the server, and the client's reads would
 * complete into the server's memory.  So the kick first asks whether the
 * task is still inside a syscall (its result not set yet: pt_regs->ax is
 * the -ENOSYS the entry code put there).  If so, it interrupts the wait as
 * a signal would (TIF_SIGPENDING: the wait returns -EINTR, the caller's
 * submissions stand) and the kick is queued again at the return of
 * io_uring_enter() (hop_uring_enter_ret(), a kretprobe), after which the
 * task hops.  When the handler returns (or leaves the call pending on the
 * device), io_uring_enter() returns what it had returned, and the next
 * queued call, if any, hops at that same return.  One hop at a time.
 *
 * Why this is safe for a task that uses io_uring (hop refuses such tasks
 * otherwise, engine.c): the task must have exactly one ring, this one, set
 * up with IORING_SETUP_DEFER_TASKRUN, whose completions run only inside
 * io_uring_enter() on that ring, which the handler cannot reach.  io-wq
 * workers cannot be created from the hopped task (guards.c refuses clones).
 *
 * The per-task queue is only touched by the task itself, so it needs no lock
 * of its own; hop_uring_lock guards the hash that finds it.
 */
#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/slab.h>
#include <linux/hashtable.h>
#include <linux/task_work.h>
#include <linux/io_uring.h>
#include <linux/io_uring_types.h>
#include <linux/uaccess.h>
#include "hop_internal.h"

struct hop_uring_pending {
	struct list_head node;
	struct hop_async *async;	/* a reference */
	struct hop_call call;
};

struct hop_uring_task {
	struct hlist_node hnode;
	struct task_struct *task;
	struct list_head pending;
	struct callback_head kick;
	bool kick_queued;
	bool deferred;		/* waits for io_uring_enter()'s return, holding a module reference */
};

/* Tasks with a deferred kick: lets the io_uring_enter() probe return at once. */
atomic_t hop_uring_deferred = ATOMIC_INIT(0);

static DEFINE_HASHTABLE(hop_uring_tasks, 6);
static DEFINE_SPINLOCK(hop_uring_lock);

static struct hop_uring_task *hop_uring_find(struct task_struct *t)
{
	struct hop_uring_task *ut;
	unsigned long flags;

	spin_lock_irqsave(&hop_uring_lock, flags);
	hash_for_each_possible(hop_uring_tasks, ut, hnode, (unsigned long)t)
		if (ut->task == t)
			goto out;
	ut = NULL;
out:
	spin_unlock_irqrestore(&hop_uring_lock, flags);
	return ut;
}

/* Free the task's queue once nothing is in it and no kick is queued. */
static void hop_uring_maybe_free(struct hop_uring_task *ut)
{
	unsigned long flags;

	if (ut->kick_queued || ut->deferred || !list_empty(&ut->pending))
		return;
	spin_lock_irqsave(&hop_uring_lock, flags);
	hash_del(&ut->hnode);
	spin_unlock_irqrestore(&hop_uring_lock, flags);
	kfree(ut);
}

static void hop_uring_drain(struct hop_uring_task *ut, long err)
{
	struct hop_uring_pending *p, *next;

	list_for_each_entry_safe(p, next, &ut->pending, node) {
		list_del(&p->node);
		hop_async_complete(p->async, err);
		hop_async_put(p->async);
		kfree(p);
	}
}

/* Hop into the next queued call, unless a hop already runs on this task. */
static void hop_uring_start_next(struct hop_uring_task *ut)
{
	struct hop_uring_pending *p;
	int err;

	while ((p = list_first_entry_or_null(&ut->pending, struct hop_uring_pending, node))) {
		if (hop_task_frame(current))
			return;		/* its return kicks us again */
		list_del(&p->node);
		err = hop_enter(p->async->svc, &p->call, p->async, true);
		if (err)
			hop_async_complete(p->async, err);
		hop_async_put(p->async);
		kfree(p);
		if (!err)
			return;
	}
	hop_uring_maybe_free(ut);
}

/* Is current inside a syscall that has not produced its result yet? */
static bool hop_in_syscall_body(void)
{
	const struct pt_regs *regs = current_pt_regs();

	return (long)regs->orig_ax >= 0 && regs->ax == (unsigned long)-ENOSYS;
}

static void hop_uring_kick_fn(struct callback_head *cb)
{
	struct hop_uring_task *ut = container_of(cb, struct hop_uring_task, kick);

	ut->kick_queued = false;
	if (!(current->flags & PF_EXITING) && hop_in_syscall_body()) {
		/* Keep the module reference for the kick queued at the return. */
		ut->deferred = true;
		atomic_inc(&hop_uring_deferred);
		set_thread_flag(TIF_SIGPENDING);
		return;
	}
	if (current->flags & PF_EXITING) {
		hop_uring_drain(ut, -ECANCELED);
		hop_uring_maybe_free(ut);
	} else {
		hop_uring_start_next(ut);
	}
	module_put(THIS_MODULE);
}

static int hop_uring_queue_kick(struct hop_uring_task *ut);

static void hop_uring_undefer(struct hop_uring_task *ut)
{
	ut->deferred = false;
	atomic_dec(&hop_uring_deferred);
	module_put(THIS_MODULE);
}

/* io_uring_enter() of a task whose kick was deferred returns: hop at this return. */
static void hop_uring_sys_exit(void)
{
	struct hop_uring_task *ut = hop_uring_find(current);

	if (!ut || !ut->deferred)
		return;
	if (hop_uring_queue_kick(ut)) {
		hop_uring_drain(ut, -ECANCELED);
		hop_uring_undefer(ut);
		hop_uring_maybe_free(ut);
		return;
	}
	hop_uring_undefer(ut);
}

static int hop_uring_queue_kick(struct hop_uring_task *ut)
{
	int err;

	if (ut->kick_queued)
		return 0;
	/* The callback may run after every service, and its module pin, is gone. */
	__module_get(THIS_MODULE);
	init_task_work(&ut->kick, hop_uring_kick_fn);
	err = task_work_add(current, &ut->kick, TWA_RESUME);
	if (err) {
		module_put(THIS_MODULE);
		return err;
	}
	ut->kick_queued = true;
	return 0;
}

/*
 * After an io_uring-started hop ended: the next one hops at this return, or,
 * when that was the last one queued, the task's queue goes away (kmemleak
 * on the debug kernel found it kept forever here).
 */
void hop_uring_kick(void)
{
	struct hop_uring_task *ut = hop_uring_find(current);

	if (!ut)
		return;
	if (list_empty(&ut->pending))
		hop_uring_maybe_free(ut);
	else
		hop_uring_queue_kick(ut);
}

/*
 * The task dies inside a hop or with a deferred kick (exit hook, hooks.c):
 * cancel what it queued.
 */
void hop_uring_task_dying(void)
{
	struct hop_uring_task *ut = hop_uring_find(current);

	if (!ut)
		return;
	hop_uring_drain(ut, -ECANCELED);
	if (ut->deferred)
		hop_uring_undefer(ut);
	hop_uring_maybe_free(ut);
}

/* The submitting task's only ring must be this one, deferring its task work. */
static int hop_uring_ring_ok(struct io_uring_cmd *cmd)
{
	struct io_ring_ctx *ctx = cmd_to_io_kiocb(cmd)->ctx;
	struct io_uring_task *tctx = current->io_uring;
	unsigned long index, rings = 0;
	void *node;

	if (!(ctx->flags & IORING_SETUP_DEFER_TASKRUN) || !tctx)
		return -EOPNOTSUPP;
	xa_for_each(&tctx->xa, index, node)
		if (++rings > 1 || index != (unsigned long)ctx)
			return -EOPNOTSUPP;
	return rings == 1 ? 0 : -EOPNOTSUPP;
}

static void hop_uring_done_cb(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct hop_async *a = *(struct hop_async **)cmd->pdu;

	io_uring_cmd_done(cmd, a->res.result, 0, issue_flags);
	hop_async_put(a);
}

/* From hop_async_complete(), any context: post the CQE from the task. */
void hop_uring_complete(struct hop_async *a)
{
	kref_get(&a->ref);	/* until the CQE is posted */
	*(struct hop_async **)a->uring_cmd->pdu = a;
	io_uring_cmd_complete_in_task(a->uring_cmd, hop_uring_done_cb);
}

int hop_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	const struct hop_uring_call *uc = hop_uring_cmd_payload(cmd);
	struct hop_handle *h = cmd->file->private_data;
	struct hop_uring_pending *p;
	struct hop_uring_task *ut;
	struct hop_async *a;
	struct hop_call c;
	unsigned long flags;
	int err;

	if (cmd->cmd_op != HOP_URING_CALL)
		return -ENOTTY;
	if (uc->reserved)
		return -EINVAL;
	/* SQPOLL and io-wq issue from threads that never return to user mode. */
	if (current->flags & (PF_IO_WORKER | PF_KTHREAD))
		return -EOPNOTSUPP;
	err = hop_uring_ring_ok(cmd);
	if (err)
		return err;
	err = hop_call_copy(&c, u64_to_user_ptr(uc->call));
	if (err)
		return err;
	c.flags |= HOP_CALL_ASYNC | HOP_CALL_NONBLOCK;
	err = hop_call_check(h->svc, &c);
	if (err)
		return err;

	ut = hop_uring_find(current);
	if (!ut) {
		ut = kzalloc(sizeof(*ut), GFP_KERNEL);
		if (!ut)
			return -ENOMEM;
		ut->task = current;
		INIT_LIST_HEAD(&ut->pending);
		spin_lock_irqsave(&hop_uring_lock, flags);
		hash_add(hop_uring_tasks, &ut->hnode, (unsigned long)current);
		spin_unlock_irqrestore(&hop_uring_lock, flags);
	}
	p = kmalloc(sizeof(*p), GFP_KERNEL);
	if (!p) {
		err = -ENOMEM;
		goto err_ut;
	}
	a = hop_async_new(h, &c);
	if (IS_ERR(a)) {
		err = PTR_ERR(a);
		goto err_p;
	}
	a->uring_cmd = cmd;
	p->async = a;
	p->call = c;
	err = hop_uring_queue_kick(ut);
	if (err)
		goto err_a;
	list_add_tail(&p->node, &ut->pending);
	return -EIOCBQUEUED;

err_a:
	hop_async_abandon(a);
	hop_async_put(a);
err_p:
	kfree(p);
err_ut:
	hop_uring_maybe_free(ut);
	return err;
}

/*
 * The return of io_uring_enter(), where a kick deferred out of its wait is
 * queued again (hop_uring_kick_fn()).  The kick only runs inside a syscall
 * there: it is queued by a submission, in io_uring_enter(), and io_uring's
 * wait is the only syscall body that runs task work.  The return probe is
 * armed for io_uring users while a hop service exists, since the kick is
 * queued after the entry; a return it misses (all instances in use) leaves
 * the call queued until the task's next io_uring_enter() returns or it
 * exits.
 */
static int hop_uring_enter_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return hop_nr_services_alive() && current->io_uring ? 0 : 1;
}

static int hop_uring_enter_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (atomic_read(&hop_uring_deferred))
		hop_uring_sys_exit();
	return 0;
}

static struct kretprobe hop_uring_enter_probe = {
	.kp.symbol_name = "__x64_sys_io_uring_enter",
	.entry_handler = hop_uring_enter_entry,
	.handler = hop_uring_enter_ret,
	.maxactive = 512,
};

int hop_uring_init(void)
{
	int err = register_kretprobe(&hop_uring_enter_probe);

	if (err)
		pr_err("hop: cannot probe io_uring_enter (%d)\n", err);
	return err;
}

void hop_uring_exit(void)
{
	unregister_kretprobe(&hop_uring_enter_probe);
}
