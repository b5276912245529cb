// SPDX-License-Identifier: GPL-2.0
/*
 * registry.c: services by name, their slots, handles, and access control.
 *
 * A service is created from a /dev/hop file (HOP_IOC_SERVE) and lives until
 * that file is released or HOP_IOC_UNSERVE is called, and after that until its
 * last reference is gone (see hop_internal.h for who holds references).  Its
 * name is unique within the server's IPC namespace and is freed as soon as the
 * service is shut down, even while old hops still finish.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/file.h>
#include <linux/anon_inodes.h>
#include <linux/uaccess.h>
#include <linux/cred.h>
#include <linux/seccomp.h>
#include <linux/capability.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/nsproxy.h>
#include <linux/ctype.h>
#include <linux/bitmap.h>
#include <linux/compat.h>
#include "hop_internal.h"
#include "hop_trace.h"

static DEFINE_MUTEX(hop_registry_lock);
static LIST_HEAD(hop_services);		/* live (not shut down) services */
static atomic_t hop_nr_services;	/* all services not yet freed */

/*
 * Services one user may have registered at once (a user with CAP_SYS_RESOURCE
 * is not limited).  Each pins its slot buffers, charged to the server's
 * RLIMIT_MEMLOCK like mlock() (CAP_IPC_LOCK is not limited either).
 */
static unsigned int hop_max_services_per_user = 64;
module_param_named(max_services_per_user, hop_max_services_per_user, uint, 0644);
MODULE_PARM_DESC(max_services_per_user,
		 "Services one user may serve at once (EAGAIN beyond; default 64; CAP_SYS_RESOURCE: no limit)");

/* Caller holds hop_registry_lock. */
static bool hop_user_at_limit(kuid_t uid)
{
	struct hop_service *svc;
	unsigned int n = 0;

	if (capable(CAP_SYS_RESOURCE))
		return false;
	list_for_each_entry(svc, &hop_services, node)
		if (uid_eq(svc->owner, uid))
			n++;
	return n >= READ_ONCE(hop_max_services_per_user);
}

/* Services not yet freed, shut down or not: for leak checks. */
int hop_nr_services_alive(void)
{
	return atomic_read(&hop_nr_services);
}

static const void *hop_current_ipc_ns(void)
{
	return current->nsproxy->ipc_ns;
}

/* Caller holds hop_registry_lock. */
static struct hop_service *hop_find_locked(const char *name, const void *ns)
{
	struct hop_service *svc;

	list_for_each_entry(svc, &hop_services, node)
		if (svc->ipc_ns == ns && !strcmp(svc->name, name))
			return svc;
	return NULL;
}

static void hop_slot_unpin(struct hop_slot *slot)
{
	if (slot->kbuf)
		vunmap(slot->kbuf);
	if (slot->pages) {
		unpin_user_pages_dirty_lock(slot->pages, slot->nr_pages, true);
		kvfree(slot->pages);
	}
}

static void hop_service_free_work(struct work_struct *work)
{
	struct hop_service *svc = container_of(work, struct hop_service, free_work);
	unsigned int i;

	for (i = 0; i < svc->nr_slots; i++)
		hop_slot_unpin(&svc->slots[i]);
	hop_robust_free(svc);
	account_locked_vm(svc->mm, svc->locked_pages, false);
	bitmap_free(svc->busy);
	put_task_struct(svc->leader);
	mmdrop(svc->mm);
	kfree(svc);
	atomic_dec(&hop_nr_services);
	module_put(THIS_MODULE);
}

static void hop_service_release(struct kref *ref)
{
	struct hop_service *svc = container_of(ref, struct hop_service, ref);

	/* The last put may come from the exit hook, which cannot sleep. */
	INIT_WORK(&svc->free_work, hop_service_free_work);
	schedule_work(&svc->free_work);
}

void hop_service_put(struct hop_service *svc)
{
	kref_put(&svc->ref, hop_service_release);
}

/*
 * Stop new calls and free the name.  Hops already running finish normally.
 * Idempotent.
 */
void hop_service_shutdown(struct hop_service *svc)
{
	mutex_lock(&hop_registry_lock);
	if (!list_empty(&svc->node)) {
		list_del_init(&svc->node);
		trace_hop_service_gone(svc->name, svc->tgid);
	}
	mutex_unlock(&hop_registry_lock);
	spin_lock(&svc->lock);
	svc->dead = true;
	spin_unlock(&svc->lock);
	/* Callers waiting for a slot now fail with -ECONNREFUSED. */
	wake_up_all(&svc->slot_wq);
	/* Handles poll EPOLLHUP from now on. */
	wake_up_all(&svc->hup_wq);
}

/*
 * HOP_IOC_UNSERVE: shut the service down and wait until no hop runs on it,
 * so that the server may free the slots' stacks and buffers afterwards.
 */
long hop_unserve(struct hop_service *svc)
{
	if (hop_task_in_service(current, svc))
		return -EDEADLK;
	hop_service_shutdown(svc);
	return wait_event_interruptible(svc->drain_wq, !READ_ONCE(svc->in_flight));
}

/* Claim a free slot; wait for one unless @nonblock.  Returns the index. */
static int hop_try_claim(struct hop_service *svc)
{
	int slot;

	spin_lock(&svc->lock);
	if (svc->dead) {
		slot = -ECONNREFUSED;
	} else {
		slot = find_first_zero_bit(svc->busy, svc->nr_slots);
		if (slot < svc->nr_slots) {
			__set_bit(slot, svc->busy);
			svc->in_flight++;
		} else {
			slot = -EAGAIN;
		}
	}
	spin_unlock(&svc->lock);
	return slot;
}

/*
 * wait_event_interruptible_timeout(), exclusive (one waiter per freed slot):
 * the kernel has no such macro, so it is built the way the others are.
 */
#define hop_wait_exclusive_timeout(wq, cond, timeout) ({			\
	long __ret = timeout;							\
	if (!___wait_cond_timeout(cond))					\
		__ret = ___wait_event(wq, ___wait_cond_timeout(cond),		\
				      TASK_INTERRUPTIBLE, 1, timeout,		\
				      __ret = schedule_timeout(__ret));		\
	__ret;									\
})

/* @timeout_ns: the call's deadline, which covers this wait (0: none). */
int hop_claim_slot(struct hop_service *svc, bool nonblock, u64 timeout_ns)
{
	int slot = hop_try_claim(svc);
	long left;
	int err;

	if (slot != -EAGAIN || nonblock)
		return slot;
	if (!timeout_ns) {
		err = wait_event_interruptible_exclusive(svc->slot_wq,
				(slot = hop_try_claim(svc)) != -EAGAIN);
		return err ?: slot;
	}
	left = hop_wait_exclusive_timeout(svc->slot_wq,
			(slot = hop_try_claim(svc)) != -EAGAIN,
			max_t(long, nsecs_to_jiffies(timeout_ns), 1));
	if (left < 0)
		return left;
	return left ? slot : -ETIMEDOUT;
}

void hop_release_slot(struct hop_service *svc, unsigned int slot)
{
	unsigned long flags;
	bool drained;

	spin_lock_irqsave(&svc->lock, flags);
	__clear_bit(slot, svc->busy);
	drained = !--svc->in_flight;
	spin_unlock_irqrestore(&svc->lock, flags);
	/*
	 * Wake-ups only for someone waiting.  The unlock above orders the
	 * cleared bit before the check; a waiter adds itself to the queue
	 * before it tests for a free slot (prepare_to_wait, then the test),
	 * so one of the two sees the other.
	 */
	smp_mb();
	if (waitqueue_active(&svc->slot_wq))
		wake_up(&svc->slot_wq);
	if (drained && waitqueue_active(&svc->drain_wq))
		wake_up_all(&svc->drain_wq);
}

static bool hop_user_addr_ok(u64 addr)
{
	return addr && addr < TASK_SIZE_MAX;
}

/* Pin one slot's buffer (request + reply) and map it for the kernel. */
static int hop_slot_pin(struct hop_slot *slot, const struct hop_slot_desc *d, u32 msg_size)
{
	unsigned int nr = 2 * msg_size / PAGE_SIZE;
	int pinned;

	if (!hop_user_addr_ok(d->stack_top) || !IS_ALIGNED(d->stack_top, 16) ||
	    !hop_user_addr_ok(d->tls) || !hop_user_addr_ok(d->buf) ||
	    !PAGE_ALIGNED(d->buf) || !access_ok(u64_to_user_ptr(d->buf), 2 * (u64)msg_size))
		return -EINVAL;
	slot->stack_top = d->stack_top;
	slot->tls = d->tls;
	slot->cookie = d->cookie;
	slot->ubuf = d->buf;
	slot->pages = kvcalloc(nr, sizeof(*slot->pages), GFP_KERNEL);
	if (!slot->pages)
		return -ENOMEM;
	pinned = pin_user_pages_fast(d->buf, nr, FOLL_WRITE | FOLL_LONGTERM, slot->pages);
	if (pinned != nr) {
		if (pinned > 0)
			unpin_user_pages(slot->pages, pinned);
		kvfree(slot->pages);
		slot->pages = NULL;
		return pinned < 0 ? pinned : -EFAULT;
	}
	slot->nr_pages = nr;
	slot->kbuf = vmap(slot->pages, nr, VM_MAP, PAGE_KERNEL);
	return slot->kbuf ? 0 : -ENOMEM;
}

static int hop_name_valid(const char *name)
{
	size_t len = strnlen(name, HOP_NAME_MAX);
	size_t i;

	if (len == 0 || len == HOP_NAME_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isgraph(name[i]) || name[i] == '/')
			return -EINVAL;
	return 0;
}

static int hop_serve_args_valid(const struct hop_serve *s)
{
	if (s->size != sizeof(*s) || s->flags || s->reserved0)
		return -EINVAL;
	if (s->entry_regs && !hop_user_addr_ok(s->entry_regs))
		return -EINVAL;
	if (hop_name_valid(s->name))
		return -EINVAL;
	if (!hop_user_addr_ok(s->entry) || !s->slots)
		return -EINVAL;
	if (!s->nr_slots || s->nr_slots > HOP_MAX_SLOTS)
		return -EINVAL;
	if (s->mode & ~0777)
		return -EINVAL;
	if (s->msg_size < HOP_MSG_MIN || s->msg_size > HOP_MSG_MAX ||
	    !PAGE_ALIGNED(s->msg_size))
		return -EINVAL;
	return 0;
}

/*
 * Register a service for the calling server.  @published is where the service
 * file keeps its service: it is set before the name can be found, because a
 * client may connect and hop in at once, and its handler's HOP_IOC_RETURN
 * goes through that file.  (Set after registering, a handler that ran before
 * the server's SERVE ioctl had finished got EPERM from its RETURN: found by
 * stress_test beside the kernel's selftests.)  Caller holds the file's lock.
 */
long hop_serve(struct hop_service **published,
	       const struct hop_serve __user *uarg)
{
	struct hop_slot_desc *descs;
	struct hop_service *svc;
	struct hop_serve s;
	unsigned int i;
	int err;

	if (copy_from_user(&s, uarg, sizeof(s)))
		return -EFAULT;
	err = hop_serve_args_valid(&s);
	if (err)
		return err;
	if (in_compat_syscall())
		return -EOPNOTSUPP;
	/*
	 * Not from inside a hop (policy.c): a service lends its group leader's
	 * identity, and a hopped task is two.  Its mm, files and subjective
	 * credentials are the server's, its real_cred (which a hop into the new
	 * service would borrow) the client's: the server's code would run as
	 * the client (identity_test handler_cannot_serve).
	 */
	if (hop_current_frame())
		return -EPERM;
	/* A sandboxed server cannot lend its filter to its handlers (policy.c). */
	if (current->seccomp.mode != SECCOMP_MODE_DISABLED ||
	    hop_policy_check_server(current->group_leader))
		return -EPERM;
	descs = memdup_user(u64_to_user_ptr(s.slots), array_size(s.nr_slots, sizeof(*descs)));
	if (IS_ERR(descs))
		return PTR_ERR(descs);

	err = -ENOMEM;
	svc = kzalloc(struct_size(svc, slots, s.nr_slots), GFP_KERNEL);
	if (!svc)
		goto err_descs;
	svc->busy = bitmap_zalloc(s.nr_slots, GFP_KERNEL);
	if (!svc->busy)
		goto err_svc;
	kref_init(&svc->ref);
	INIT_LIST_HEAD(&svc->node);
	spin_lock_init(&svc->lock);
	init_waitqueue_head(&svc->slot_wq);
	init_waitqueue_head(&svc->hup_wq);
	init_waitqueue_head(&svc->drain_wq);
	memcpy(svc->name, s.name, HOP_NAME_MAX);
	svc->ipc_ns = hop_current_ipc_ns();
	svc->uid = current_fsuid();
	svc->gid = current_fsgid();
	svc->mode = s.mode ?: 0600;
	svc->entry = s.entry;
	svc->entry_regs = s.entry_regs;
	svc->msg_size = s.msg_size;
	svc->timeout_ns = s.timeout_ns;
	svc->nr_slots = s.nr_slots;
	for (i = 0; i < s.nr_slots; i++) {
		err = hop_slot_pin(&svc->slots[i], &descs[i], s.msg_size);
		if (err)
			goto err_slots;
	}
	/* Owner ids for the slots' robust lists, written into the server (robust.c). */
	err = hop_robust_setup(svc, s.robust);
	if (err)
		goto err_slots;
	/* Pinned for the service's life: charged like mlock() (ENOMEM over the limit). */
	err = account_locked_vm(current->mm, (unsigned long)s.nr_slots * 2 * s.msg_size / PAGE_SIZE,
				true);
	if (err)
		goto err_robust;
	svc->locked_pages = (unsigned long)s.nr_slots * 2 * s.msg_size / PAGE_SIZE;
	svc->owner = current_uid();
	svc->mm = current->mm;
	mmgrab(svc->mm);
	svc->leader = get_task_struct(current->group_leader);
	svc->tgid = current->tgid;

	mutex_lock(&hop_registry_lock);
	if (hop_find_locked(svc->name, svc->ipc_ns)) {
		mutex_unlock(&hop_registry_lock);
		err = -EEXIST;
		goto err_identity;
	}
	if (hop_user_at_limit(svc->owner)) {
		mutex_unlock(&hop_registry_lock);
		err = -EAGAIN;
		goto err_identity;
	}
	/*
	 * Nothing fails from here on.  The mutex orders this store before any
	 * connect that finds the name.
	 */
	WRITE_ONCE(*published, svc);
	list_add_tail(&svc->node, &hop_services);
	/* A service pins the module until it is freed. */
	__module_get(THIS_MODULE);
	atomic_inc(&hop_nr_services);
	mutex_unlock(&hop_registry_lock);
	kfree(descs);
	trace_hop_service_registered(svc->name, svc->tgid, svc->nr_slots, svc->msg_size);
	return 0;

err_identity:
	put_task_struct(svc->leader);
	account_locked_vm(svc->mm, svc->locked_pages, false);
	mmdrop(svc->mm);
err_robust:
	hop_robust_free(svc);
err_slots:
	/* Slots never set up are zeroed, and unpinning them is a no-op. */
	for (i = 0; i < s.nr_slots; i++)
		hop_slot_unpin(&svc->slots[i]);
	bitmap_free(svc->busy);
err_svc:
	kfree(svc);
err_descs:
	kfree(descs);
	return err;
}

/* Access like a file: owner, group, other bits for read+write; root overrides. */
static int hop_may_connect(const struct hop_service *svc)
{
	umode_t mode = svc->mode;

	if (uid_eq(current_fsuid(), svc->uid))
		mode >>= 6;
	else if (in_group_p(svc->gid))
		mode >>= 3;
	if ((mode & 06) == 06)
		return 0;
	if (capable(CAP_DAC_OVERRIDE))
		return 0;
	return -EACCES;
}

long hop_connect(const struct hop_connect __user *uarg)
{
	struct hop_service *svc;
	struct hop_connect c;
	int fd, err;

	if (copy_from_user(&c, uarg, sizeof(c)))
		return -EFAULT;
	if (c.size != sizeof(c) || (c.flags & ~HOP_CONNECT_CLOEXEC) || c.reserved)
		return -EINVAL;
	if (hop_name_valid(c.name))
		return -EINVAL;

	mutex_lock(&hop_registry_lock);
	svc = hop_find_locked(c.name, hop_current_ipc_ns());
	if (svc)
		kref_get(&svc->ref);
	mutex_unlock(&hop_registry_lock);
	if (!svc)
		return -ENOENT;
	err = hop_may_connect(svc);
	if (err)
		goto err_put;
	/* On success the handle owns our service reference. */
	fd = hop_handle_create(svc, (c.flags & HOP_CONNECT_CLOEXEC) ? O_CLOEXEC : 0);
	if (fd < 0) {
		err = fd;
		goto err_put;
	}
	return fd;

err_put:
	hop_service_put(svc);
	return err;
}

long hop_service_info(struct hop_service *svc, struct hop_service_info __user *uarg)
{
	struct hop_service_info info;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	if (info.flags || info.reserved[0] || info.reserved[1] || info.reserved[2])
		return -EINVAL;
	spin_lock(&svc->lock);
	info.slots_busy = svc->in_flight;
	spin_unlock(&svc->lock);
	info.nr_slots = svc->nr_slots;
	info.msg_size = svc->msg_size;
	info.calls = atomic64_read(&svc->calls);
	info.aborted = atomic64_read(&svc->aborted);
	info.faults = atomic64_read(&svc->faults);
	info.timeouts = atomic64_read(&svc->timeouts);
	info.client_deaths = atomic64_read(&svc->client_deaths);
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}
