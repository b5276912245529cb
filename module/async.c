// SPDX-License-Identifier: GPL-2.0
/*
 * async.c: async calls and the interrupt path.
 *
 * An async call hops into the handler like any call; the handler starts a
 * device read (HOP_IOC_DEV_READ) and ends the hop as pending, so the client's
 * thread returns at once and nobody waits for the device.  When the device
 * interrupts, a kernel thread is sent into the server: it adopts the server's
 * mm, writes the data into the server's buffer, then adopts the client's mm
 * to write the reply, and posts the completion on the client's handle.
 *
 * The delivering thread is either spawned for this one completion (the
 * default, as the idea asks: threads that don't run don't exist) or a
 * kthread_worker that already exists (deliver=worker), so that the cost of
 * spawning can be measured against waking (bench: --transport irq-*).  The
 * worker never waits on a page (hop_async_deliver()).
 *
 * Lifetime of struct hop_async: see hop_internal.h.  Completion happens
 * exactly once (->completed); a device read that finishes after its call was
 * aborted still writes the server's buffer, and its completion is dropped.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/mmu_context.h>
#include <linux/uaccess.h>
#include <linux/eventfd.h>
#include "hop_internal.h"
#include "hop_trace.h"

static atomic_t hop_async_in_flight = ATOMIC_INIT(0);
static atomic_t hop_async_alive = ATOMIC_INIT(0);	/* not yet freed, for leak checks */

int hop_async_nr_alive(void)
{
	return atomic_read(&hop_async_alive);
}
static struct kthread_worker *hop_deliver_worker;

static int hop_deliver_mode = HOP_DELIVER_SPAWN;

static int hop_deliver_set(const char *val, const struct kernel_param *kp)
{
	if (sysfs_streq(val, "spawn"))
		WRITE_ONCE(hop_deliver_mode, HOP_DELIVER_SPAWN);
	else if (sysfs_streq(val, "worker"))
		WRITE_ONCE(hop_deliver_mode, HOP_DELIVER_WORKER);
	else
		return -EINVAL;
	return 0;
}

static int hop_deliver_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", READ_ONCE(hop_deliver_mode) == HOP_DELIVER_SPAWN ?
			  "spawn" : "worker");
}

static const struct kernel_param_ops hop_deliver_ops = {
	.set = hop_deliver_set,
	.get = hop_deliver_get,
};
module_param_cb(deliver, &hop_deliver_ops, NULL, 0644);
MODULE_PARM_DESC(deliver, "Who delivers device data into the server: spawn (a new kernel thread per completion, default) or worker (one existing kthread_worker)");

static void hop_async_free(struct kref *ref)
{
	struct hop_async *a = container_of(ref, struct hop_async, ref);

	kfree(a->op.data);
	mmdrop(a->client_mm);
	atomic_dec(&a->handle->unreaped);
	hop_handle_put(a->handle);
	hop_service_put(a->svc);
	kfree(a);
	atomic_dec(&hop_async_alive);
}

void hop_async_put(struct hop_async *a)
{
	kref_put(&a->ref, hop_async_free);
}

struct hop_async *hop_async_new(struct hop_handle *h, const struct hop_call *c)
{
	struct hop_service *svc = h->svc;
	struct hop_async *a;

	/*
	 * Completed calls wait on the handle until reaped: without a bound a
	 * client that never reaps would grow kernel memory without limit.
	 */
	if (atomic_inc_return(&h->unreaped) > HOP_ASYNC_MAX_UNREAPED) {
		atomic_dec(&h->unreaped);
		return ERR_PTR(-EAGAIN);
	}
	if (atomic_inc_return(&svc->async_in_flight) > HOP_ASYNC_MAX_PER_SERVICE)
		goto err_svc;
	if (atomic_inc_return(&hop_async_in_flight) > HOP_ASYNC_MAX)
		goto err_all;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a) {
		atomic_dec(&hop_async_in_flight);
		atomic_dec(&svc->async_in_flight);
		atomic_dec(&h->unreaped);
		return ERR_PTR(-ENOMEM);
	}
	atomic_inc(&hop_async_alive);
	kref_init(&a->ref);
	INIT_LIST_HEAD(&a->node);
	kref_get(&h->ref);
	a->handle = h;
	kref_get(&svc->ref);
	a->svc = svc;
	mmgrab(current->mm);
	a->client_mm = current->mm;
	a->user_data = c->user_data;
	a->resp_uaddr = c->resp;
	a->resp_cap = c->resp_cap;
	a->res.user_data = c->user_data;
	return a;

err_all:
	atomic_dec(&hop_async_in_flight);
err_svc:
	atomic_dec(&svc->async_in_flight);
	atomic_dec(&h->unreaped);
	return ERR_PTR(-EAGAIN);
}

/* Give up on a call that was refused before it began: no completion. */
void hop_async_abandon(struct hop_async *a)
{
	if (atomic_xchg(&a->completed, 1))
		return;
	atomic_dec(&hop_async_in_flight);
	atomic_dec(&a->svc->async_in_flight);
}

/* Post the result on the handle (or as a CQE).  Any context; only the first call counts. */
void hop_async_complete(struct hop_async *a, long result)
{
	struct hop_handle *h = a->handle;
	unsigned long flags;
	bool posted = false;

	if (atomic_xchg(&a->completed, 1))
		return;
	atomic_dec(&hop_async_in_flight);
	atomic_dec(&a->svc->async_in_flight);
	a->res.result = result;
	if (a->op.t_irq)
		a->res.irq_to_complete_ns = ktime_get_ns() - a->op.t_irq;
	if (a->uring_cmd) {
		trace_hop_async_complete(a->svc->name, a->user_data, result,
					 a->res.irq_to_complete_ns);
		hop_uring_complete(a);
		return;
	}
	spin_lock_irqsave(&h->lock, flags);
	if (!h->dead) {
		kref_get(&a->ref);	/* the done list's */
		list_add_tail(&a->node, &h->done);
		posted = true;
		if (h->eventfd)
			hop_eventfd_signal(h->eventfd);
	}
	spin_unlock_irqrestore(&h->lock, flags);
	trace_hop_async_complete(a->svc->name, a->user_data, result, a->res.irq_to_complete_ns);
	if (posted)
		wake_up(&h->wq);
}

/* copy_to_user() that takes no page fault: what is left. */
static unsigned long hop_copy_to_user_nofault(void __user *to, const void *from, u64 len)
{
	unsigned long left;

	pagefault_disable();
	left = copy_to_user(to, from, len);
	pagefault_enable();
	return left;
}

/*
 * Copy @len bytes of @data to @uaddr in @mm, from a kernel thread.  Without
 * @may_fault, nothing is waited for: anonymous pages are faulted in with
 * FOLL_NOWAIT, which makes an absent one at once but returns where the
 * fault would wait (a userfaultfd's answer, swap I/O), if the mmap lock is
 * free; a copy that still faults ends with -EWOULDBLOCK, and the delivery
 * goes to a thread of its own.  -ESRCH: @mm is gone.
 */
static int hop_async_copy_to(struct mm_struct *mm, u64 uaddr, const void *data, u64 len,
			     bool may_fault)
{
	void __user *to = u64_to_user_ptr(uaddr);
	unsigned long left;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	kthread_use_mm(mm);
	if (may_fault) {
		left = copy_to_user(to, data, len);
	} else {
		left = hop_copy_to_user_nofault(to, data, len);
		if (left && access_ok(to, len) && mmap_read_trylock(mm)) {
			unsigned long start = uaddr & PAGE_MASK, end = PAGE_ALIGN(uaddr + len);
			struct vm_area_struct *vma = vma_lookup(mm, start);

			/*
			 * Anonymous memory only: a file's page_mkwrite (FUSE's
			 * waits on writeback) is not covered by FOLL_NOWAIT.
			 * And the lock only if free: a writer queued behind a
			 * slow reader would hold the worker too.
			 */
			if (vma && vma_is_anonymous(vma) && end <= vma->vm_end)
				hop_fault_in_remote(mm, start, (end - start) >> PAGE_SHIFT,
						    FOLL_WRITE | FOLL_NOWAIT);
			mmap_read_unlock(mm);
			left = hop_copy_to_user_nofault(to, data, len);
		}
	}
	kthread_unuse_mm(mm);
	mmput(mm);
	if (!left)
		return 0;
	return may_fault ? -EFAULT : -EWOULDBLOCK;
}

/*
 * Into the server to leave the data where the handler asked, then into the
 * client to leave the reply.  The call's result, or -EWOULDBLOCK (only
 * without @may_fault): done again by a thread that may wait.
 */
static long hop_async_copies(struct hop_async *a, bool may_fault)
{
	u64 n = min_t(u64, a->op.len, a->resp_cap);
	int err;

	err = hop_async_copy_to(a->svc->mm, a->server_dest, a->op.data, a->op.len, may_fault);
	if (err)
		return err == -ESRCH ? -ECONNRESET : err;	/* the server is gone */
	err = hop_async_copy_to(a->client_mm, a->resp_uaddr, a->op.data, n, may_fault);
	if (err == -ESRCH)
		return a->op.len;	/* the client is gone: no one reaps it */
	return err ?: n;
}

static void hop_async_delivered(struct hop_async *a, long result)
{
	trace_hop_deliver_done(a->svc->name, a->user_data, result);
	hop_async_complete(a, result);
	hop_async_put(a);	/* the device operation's reference */
}

/* A delivery the worker left: it may wait for the pages, on its own. */
static int hop_deliver_waiting_thread(void *data)
{
	struct hop_async *a = data;

	a->res.delivered_by = HOP_DELIVER_SPAWN;
	hop_async_delivered(a, hop_async_copies(a, true));
	return 0;
}

/*
 * Runs in the delivering kernel thread.  The worker (deliver=worker) serves
 * every delivery, of every service and client, one after the other: it may
 * not wait on a page someone else controls (a reply buffer behind
 * userfaultfd or FUSE), or that someone would hold up all the others
 * (async_test worker_is_not_held_by_a_clients_blocking_page).  It copies
 * with page faults off, and leaves a delivery that would wait to a thread
 * spawned for it; a spawned thread waits for its own pages.
 */
static void hop_async_deliver(struct hop_async *a, u32 how)
{
	long result;

	a->res.delivered_by = how;
	a->res.irq_to_spawn_ns = ktime_get_ns() - a->op.t_irq;
	trace_hop_deliver_start(a->svc->name, a->user_data, how, a->res.irq_to_spawn_ns);
	result = hop_async_copies(a, how != HOP_DELIVER_WORKER);
	if (result == -EWOULDBLOCK) {
		if (!IS_ERR(kthread_run(hop_deliver_waiting_thread, a, "hop-deliver")))
			return;
		result = hop_async_copies(a, true);	/* no memory for a thread: wait here */
	}
	hop_async_delivered(a, result);
}

static int hop_deliver_thread(void *data)
{
	hop_async_deliver(data, HOP_DELIVER_SPAWN);
	return 0;
}

static void hop_deliver_work(struct kthread_work *work)
{
	hop_async_deliver(container_of(work, struct hop_async, kwork), HOP_DELIVER_WORKER);
}

/* The device finished a read: process context (IRQ thread or kworker). */
static void hop_async_dev_done(struct hop_devop *op)
{
	struct hop_async *a = container_of(op, struct hop_async, op);
	struct task_struct *t;

	trace_hop_irq(a->svc->name, a->user_data, op->len);
	if (READ_ONCE(hop_deliver_mode) == HOP_DELIVER_SPAWN) {
		t = kthread_run(hop_deliver_thread, a, "hop-deliver");
		if (!IS_ERR(t))
			return;
		/* No memory for a new thread: the existing one delivers. */
	}
	kthread_queue_work(hop_deliver_worker, &a->kwork);
}

/* HOP_IOC_DEV_READ, from the handler of an async call on @svc. */
long hop_async_dev_read(struct hop_service *svc, const struct hop_dev_read __user *uarg)
{
	struct hop_frame *f = hop_current_frame();
	struct hop_dev_read d;
	struct hop_async *a;
	int err;

	if (copy_from_user(&d, uarg, sizeof(d)))
		return -EFAULT;
	if (d.reserved || !d.len || d.offset >= HOP_DEV_SIZE || d.len > HOP_DEV_SIZE - d.offset)
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(d.dest), d.len))
		return -EFAULT;
	if (!f || f->svc != svc)
		return -EPERM;		/* not inside a handler of this service */
	a = f->async;
	if (!a)
		return -EINVAL;		/* a synchronous call has nobody to complete */
	if (a->dev_started)
		return -EBUSY;		/* one device read per call */
	a->op.data = kmalloc(d.len, GFP_KERNEL);
	if (!a->op.data)
		return -ENOMEM;
	a->op.offset = d.offset;
	a->op.len = d.len;
	a->op.done = hop_async_dev_done;
	a->server_dest = d.dest;
	kthread_init_work(&a->kwork, hop_deliver_work);
	kref_get(&a->ref);	/* the device operation's */
	a->dev_started = true;
	err = hop_device_submit(&a->op);
	if (err) {
		a->dev_started = false;
		kfree(a->op.data);
		a->op.data = NULL;
		hop_async_put(a);
	}
	return err;
}

int hop_async_init(void)
{
	hop_deliver_worker = kthread_create_worker(0, "hop-deliver-worker");
	return PTR_ERR_OR_ZERO(hop_deliver_worker);
}

void hop_async_exit(void)
{
	kthread_destroy_worker(hop_deliver_worker);
}
