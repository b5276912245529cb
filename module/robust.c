// SPDX-License-Identifier: GPL-2.0
/*
 * robust.c: robust futexes on slots, so that a handler's pthread robust
 * mutexes survive an aborted hop (uapi: struct hop_slot_robust).
 *
 * glibc's robust mutexes store the owner's thread id in the lock word and
 * keep the mutexes a thread holds on a list in its TLS block; when a thread
 * exits, the kernel walks that list and marks each futex the thread owned
 * FUTEX_OWNER_DIED, waking one waiter (kernel/futex/core.c,
 * exit_robust_list).  A handler runs on a slot's TLS block, which no thread
 * owns, on a task that goes on living after the hop.  So:
 *
 *  - each slot gets an owner id no thread can have (HOP_ROBUST_OWNER_MIN and
 *    up), written at SERVE where its TLS block keeps the thread id: robust
 *    mutexes then exclude between slots and between slots and threads;
 *  - when a hop is aborted, hop_robust_abort() does exit_robust_list's walk
 *    for the slot, comparing with the slot's owner id, and empties the list,
 *    since the slot's next handler starts afresh on the same block.
 *
 * The walk runs in the server's address space: on the hopped task itself
 * (abort task_work, or the exit path of a task that dies mid-hop, both still
 * in the server) or, where the exit hook is atomic (hooks.c's fallback), in
 * the reaper, on the server's mm borrowed with kthread_use_mm(); the slot
 * stays busy until it is done, so no handler runs on the list meanwhile.
 * It never sleeps on a page fault (pagefault_disable): the server's memory
 * could be backed by its own userfaultfd and stall the client's abort or the
 * reaper.  A list entry that is not resident and writable is left alone, as
 * the kernel leaves one it cannot fault in.
 *
 * Owner ids come from hop_robust_ids (an IDA: its own lock), one per slot
 * with a list, for the life of the service.
 */
#include <linux/module.h>
#include <linux/idr.h>
#include <linux/futex.h>
#include <linux/uaccess.h>
#include <linux/sched/mm.h>
#include <linux/kthread.h>
#include <asm/futex.h>
#include "hop_internal.h"

static DEFINE_IDA(hop_robust_ids);

/* As in kernel/futex/core.c: bounds a malicious or circular list. */
#define HOP_ROBUST_LIST_LIMIT	2048

/* Read the SERVE request's robust array into the slots and give out owner ids. */
int hop_robust_setup(struct hop_service *svc, u64 uarray)
{
	struct hop_slot_robust *r;
	unsigned int i;
	int err = 0, id;

	if (!uarray)
		return 0;
	r = memdup_user(u64_to_user_ptr(uarray), array_size(svc->nr_slots, sizeof(*r)));
	if (IS_ERR(r))
		return PTR_ERR(r);
	for (i = 0; i < svc->nr_slots; i++) {
		if (!r[i].head && !r[i].tid)
			continue;
		if (!r[i].head || r[i].head >= TASK_SIZE_MAX || !IS_ALIGNED(r[i].head, 8) ||
		    !r[i].tid || r[i].tid >= TASK_SIZE_MAX || !IS_ALIGNED(r[i].tid, 4)) {
			err = -EINVAL;
			goto out;
		}
	}
	for (i = 0; i < svc->nr_slots; i++) {
		struct hop_slot *slot = &svc->slots[i];

		if (!r[i].head)
			continue;
		id = ida_alloc_range(&hop_robust_ids, HOP_ROBUST_OWNER_MIN,
				     HOP_ROBUST_OWNER_MAX, GFP_KERNEL);
		if (id < 0) {
			err = id;
			goto out;
		}
		slot->robust_owner = id;
		slot->robust_head = r[i].head;
		if (put_user((u32)id, (u32 __user *)u64_to_user_ptr(r[i].tid))) {
			err = -EFAULT;
			goto out;
		}
	}
out:
	kfree(r);
	if (err)
		hop_robust_free(svc);
	return err;
}

/* Module unload: every service, and so every owner id, is gone. */
void hop_robust_exit(void)
{
	ida_destroy(&hop_robust_ids);
}

/* The service is being freed (or its SERVE failed): its owner ids go back. */
void hop_robust_free(struct hop_service *svc)
{
	unsigned int i;

	for (i = 0; i < svc->nr_slots; i++) {
		if (svc->slots[i].robust_owner)
			ida_free(&hop_robust_ids, svc->slots[i].robust_owner);
		svc->slots[i].robust_owner = 0;
		svc->slots[i].robust_head = 0;
	}
}

/* A list pointer: the entry, and bit 0 that says "PI futex". */
static int hop_robust_fetch(struct robust_list __user **entry,
			    struct robust_list __user * __user *head, bool *pi)
{
	unsigned long uentry;

	if (get_user(uentry, (unsigned long __user *)head))
		return -EFAULT;
	*entry = (void __user *)(uentry & ~1UL);
	*pi = uentry & 1;
	return 0;
}

/*
 * Wake one waiter.  Shared, as the kernel's own robust wake-up: glibc waits
 * on robust futexes without FUTEX_PRIVATE_FLAG for that reason.  With page
 * faults allowed again: the futex key of a shared wake-up pins the page
 * (get_user_pages_fast), and the word was just read or written, so resident.
 */
static void hop_robust_wake(u32 __user *uaddr)
{
	pagefault_enable();
	hop_ksyms.do_futex(uaddr, FUTEX_WAKE, 1, NULL, NULL, 0, 0);
	pagefault_disable();
}

/* kernel/futex/core.c's handle_futex_death, for owner id @owner, never sleeping on a fault. */
static int hop_robust_death(u32 __user *uaddr, u32 owner, bool pi, bool pending_op)
{
	u32 uval, nval, mval;
	int tries = 0;

	if (!IS_ALIGNED((unsigned long)uaddr, sizeof(u32)))
		return -EINVAL;
retry:
	if (get_user(uval, uaddr))
		return -EFAULT;
	if ((uval & FUTEX_TID_MASK) != owner) {
		/*
		 * The handler was unlocking, or was woken and not yet the owner:
		 * pass the wake-up on, or a waiter could sleep forever.
		 */
		if (pending_op && !pi && (!(uval & FUTEX_TID_MASK) || !(uval & FUTEX_WAITERS)))
			hop_robust_wake(uaddr);
		return 0;
	}
	mval = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
	if (futex_atomic_cmpxchg_inatomic(&nval, uaddr, uval, mval))
		return -EFAULT;
	if (nval != uval) {
		/* Raced with a waiter setting FUTEX_WAITERS; bounded like the list. */
		if (++tries > HOP_ROBUST_LIST_LIMIT)
			return -EAGAIN;
		goto retry;
	}
	/* No pi_state on a slot: PI futexes are only marked, as documented. */
	if (!pi && (uval & FUTEX_WAITERS))
		hop_robust_wake(uaddr);
	return 0;
}

/*
 * The hop on @slot of @svc was aborted: release what the slot's handler held.
 * Runs in the server's address space (see the top of the file).
 */
void hop_robust_abort(struct hop_service *svc, unsigned int slot_nr)
{
	const struct hop_slot *slot = &svc->slots[slot_nr];
	struct robust_list_head __user *head = u64_to_user_ptr(slot->robust_head);
	struct robust_list __user *entry, *next_entry, *pending;
	unsigned int limit = HOP_ROBUST_LIST_LIMIT;
	bool pi, next_pi, pip;
	long futex_offset;
	int rc;

	if (!head)
		return;
	pagefault_disable();
	if (hop_robust_fetch(&entry, &head->list.next, &pi) ||
	    get_user(futex_offset, &head->futex_offset) ||
	    hop_robust_fetch(&pending, &head->list_op_pending, &pip))
		goto out;
	while (entry != &head->list) {
		rc = hop_robust_fetch(&next_entry, &entry->next, &next_pi);
		/* The pending entry is handled last, as the kernel does. */
		if (entry != pending &&
		    hop_robust_death((void __user *)entry + futex_offset, slot->robust_owner,
				     pi, false))
			break;
		if (rc || !--limit)
			break;
		entry = next_entry;
		pi = next_pi;
	}
	if (pending)
		hop_robust_death((void __user *)pending + futex_offset, slot->robust_owner,
				 pip, true);
	/* An empty list for the slot's next handler (glibc's own initial state). */
	if (put_user((unsigned long)&head->list, (unsigned long __user *)&head->list.next) ||
	    put_user(0UL, (unsigned long __user *)&head->list_op_pending))
		pr_warn_ratelimited("hop: service %s slot %u: robust list not reset\n",
				    svc->name, slot_nr);
out:
	pagefault_enable();
}

/*
 * The same from the reaper, for a task that died mid-hop, atomically, on a
 * slot with a robust list: on the server's mm, if it still has users (a server that is
 * gone has no one left to wake).
 */
void hop_robust_abort_from_reaper(struct hop_service *svc, unsigned int slot_nr)
{
	if (!mmget_not_zero(svc->mm))
		return;
	kthread_use_mm(svc->mm);
	hop_robust_abort(svc, slot_nr);
	kthread_unuse_mm(svc->mm);
	mmput(svc->mm);
}
