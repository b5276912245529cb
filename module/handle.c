// SPDX-License-Identifier: GPL-2.0
/*
 * handle.c: the "[hop-conn]" files that HOP_IOC_CONNECT returns: calls,
 * async completions (poll, eventfd, reap), counters and the switch probe.
 *
 * A handle lives while its file is open and while async calls made through
 * it are in flight (struct hop_handle.ref).  Closing the file marks it dead:
 * calls still in flight complete into nothing and are freed.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/file.h>
#include <linux/anon_inodes.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/eventfd.h>
#include "hop_internal.h"

static void hop_handle_free(struct kref *ref)
{
	struct hop_handle *h = container_of(ref, struct hop_handle, ref);

	if (h->eventfd)
		eventfd_ctx_put(h->eventfd);
	hop_service_put(h->svc);
	kfree(h);
}

void hop_handle_put(struct hop_handle *h)
{
	kref_put(&h->ref, hop_handle_free);
}

static int hop_handle_release(struct inode *inode, struct file *file)
{
	struct hop_handle *h = file->private_data;
	struct hop_async *a, *next;
	LIST_HEAD(unreaped);

	spin_lock_irq(&h->lock);
	h->dead = true;
	list_splice_init(&h->done, &unreaped);
	spin_unlock_irq(&h->lock);
	list_for_each_entry_safe(a, next, &unreaped, node)
		hop_async_put(a);
	/* The last handle: the service fd polls EPOLLPRI (doors' DOOR_UNREF). */
	if (atomic_dec_and_test(&h->svc->nr_handles))
		wake_up_all(&h->svc->hup_wq);
	hop_handle_put(h);
	return 0;
}

static long hop_handle_reap(struct hop_handle *h, struct hop_async_result __user *uarg)
{
	struct hop_async_result in;
	struct hop_async *a;

	if (copy_from_user(&in, uarg, sizeof(in)))
		return -EFAULT;
	if (in.flags || in.reserved)
		return -EINVAL;
	spin_lock_irq(&h->lock);
	a = list_first_entry_or_null(&h->done, struct hop_async, node);
	if (a)
		list_del_init(&a->node);
	spin_unlock_irq(&h->lock);
	if (!a)
		return -EAGAIN;
	if (copy_to_user(uarg, &a->res, sizeof(a->res))) {
		/* Put it back: nothing changes on a bad pointer. */
		spin_lock_irq(&h->lock);
		list_add(&a->node, &h->done);
		spin_unlock_irq(&h->lock);
		return -EFAULT;
	}
	hop_async_put(a);
	return 0;
}

static long hop_handle_set_eventfd(struct hop_handle *h, const __s32 __user *uarg)
{
	struct eventfd_ctx *ctx = NULL, *old;
	__s32 fd;

	if (get_user(fd, uarg))
		return -EFAULT;
	if (fd >= 0) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	} else if (fd != -1) {
		return -EINVAL;		/* -1 clears it */
	}
	spin_lock_irq(&h->lock);
	old = h->eventfd;
	h->eventfd = ctx;
	spin_unlock_irq(&h->lock);
	if (old)
		eventfd_ctx_put(old);
	return 0;
}

static __poll_t hop_handle_poll(struct file *file, poll_table *wait)
{
	struct hop_handle *h = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &h->wq, wait);
	poll_wait(file, &h->svc->hup_wq, wait);
	spin_lock_irq(&h->lock);
	if (!list_empty(&h->done))
		mask = EPOLLIN | EPOLLRDNORM;
	spin_unlock_irq(&h->lock);
	/* The service is gone (server exit, unserve): calls fail ECONNREFUSED. */
	if (READ_ONCE(h->svc->dead))
		mask |= EPOLLHUP;
	return mask;
}

static long hop_handle_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct hop_handle *h = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case HOP_IOC_CALL:
	case HOP_IOC_CALL_VER0:		/* callers built before hop_call.origin */
		return hop_call(h->svc, h, uarg);
	case HOP_IOC_CALL_REGS:
		return hop_call_regs(h->svc, arg);
	case HOP_IOC_ASYNC_REAP:
		return hop_handle_reap(h, uarg);
	case HOP_IOC_SET_EVENTFD:
		return hop_handle_set_eventfd(h, uarg);
	case HOP_IOC_SERVICE_INFO:
		return hop_service_info(h->svc, uarg);
	case HOP_IOC_SWITCH_PROBE:
		return hop_switch_probe(h->svc);
	case HOP_IOC_NOP:
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations hop_handle_fops = {
	.owner = THIS_MODULE,
	.release = hop_handle_release,
	.unlocked_ioctl = hop_handle_ioctl,
	.compat_ioctl = hop_compat_ioctl,
	.poll = hop_handle_poll,
	.uring_cmd = hop_uring_cmd,
	.llseek = noop_llseek,
};

/* Takes over the caller's reference on @svc on success. */
int hop_handle_create(struct hop_service *svc, int flags)
{
	struct hop_handle *h = kzalloc(sizeof(*h), GFP_KERNEL);
	int fd;

	if (!h)
		return -ENOMEM;
	h->svc = svc;
	spin_lock_init(&h->lock);
	INIT_LIST_HEAD(&h->done);
	init_waitqueue_head(&h->wq);
	kref_init(&h->ref);
	atomic_inc(&svc->nr_handles);
	WRITE_ONCE(svc->had_handles, true);
	fd = anon_inode_getfd("[hop-conn]", &hop_handle_fops, h, O_RDWR | flags);
	if (fd < 0) {
		atomic_dec(&svc->nr_handles);
		kfree(h);
	}
	return fd;
}
