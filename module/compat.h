/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h: the differences between the 6.1 and 6.12 kernels hop supports, in
 * one place, force-included into every source file by Kbuild so that the rest
 * of the module carries no version #ifdefs.
 */
#ifndef HOP_COMPAT_H
#define HOP_COMPAT_H

#include <linux/version.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <asm/prctl.h>
#include <linux/hop.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#error "hop supports Linux 6.1 and 6.12"
#endif

#define HOP_KERNEL_6_12 (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0))

/* The rseq registration a hop parks for its duration (6.12 added rseq_len). */
struct hop_rseq_saved {
	struct rseq __user *rseq;
	u32 len;
	u32 sig;
};

static inline void hop_rseq_park(struct task_struct *t, struct hop_rseq_saved *s)
{
	s->rseq = t->rseq;
	s->sig = t->rseq_sig;
	t->rseq = NULL;
	t->rseq_sig = 0;
#if HOP_KERNEL_6_12
	s->len = t->rseq_len;
	t->rseq_len = 0;
#else
	s->len = 0;
#endif
}

static inline void hop_rseq_unpark(struct task_struct *t, const struct hop_rseq_saved *s)
{
	t->rseq = s->rseq;
	t->rseq_sig = s->sig;
#if HOP_KERNEL_6_12
	t->rseq_len = s->len;
#endif
}

/* User shadow stacks (6.6+) keep an SSP that points into the caller's mm. */
static inline bool hop_shadow_stack_enabled(struct task_struct *t)
{
#if HOP_KERNEL_6_12 && defined(CONFIG_X86_USER_SHADOW_STACK)
	return t->thread.features & ARCH_SHSTK_SHSTK;
#else
	return false;
#endif
}

/* nsproxy's count became a refcount_t in 6.5; put_nsproxy() without its free. */
#include <linux/nsproxy.h>
static inline bool hop_nsproxy_dec_and_test(struct nsproxy *ns)
{
#if HOP_KERNEL_6_12
	return refcount_dec_and_test(&ns->count);
#else
	return atomic_dec_and_test(&ns->count);
#endif
}

/*
 * mm->owner (CONFIG_MEMCG): the task whose memory cgroup the mm is charged
 * to.  When the server's last thread exits during a hop, the kernel picks a
 * task that uses the mm as the new owner, which can be the hopped client;
 * the client's task must hand it on when it leaves the mm (identity.c).
 */
#define HOP_MM_HAS_OWNER IS_ENABLED(CONFIG_MEMCG)
static inline bool hop_mm_owned_by(struct mm_struct *mm, struct task_struct *t)
{
#ifdef CONFIG_MEMCG
	return READ_ONCE(mm->owner) == t;
#else
	return false;
#endif
}

/* Perf events attached to the task (6.1 has one context per PMU type). */
#include <linux/perf_event.h>
static inline bool hop_task_has_perf_events(struct task_struct *t)
{
#if HOP_KERNEL_6_12
	return READ_ONCE(t->perf_event_ctxp) != NULL;
#else
	int i;

	for (i = 0; i < perf_nr_task_contexts; i++)
		if (READ_ONCE(t->perf_event_ctxp[i]))
			return true;
	return false;
#endif
}

/* Hardware breakpoints a tracer left on the task (they survive PTRACE_DETACH). */
static inline bool hop_task_has_hw_breakpoints(struct task_struct *t)
{
	/* HBP_NUM is 4 on x86: one test of the four slots ORed. */
	BUILD_BUG_ON(HBP_NUM != 4);
	return ((unsigned long)READ_ONCE(t->thread.ptrace_bps[0]) |
		(unsigned long)READ_ONCE(t->thread.ptrace_bps[1]) |
		(unsigned long)READ_ONCE(t->thread.ptrace_bps[2]) |
		(unsigned long)READ_ONCE(t->thread.ptrace_bps[3])) != 0;
}

/* 6.1 keeps per-task RSS deltas (SPLIT_RSS_COUNTING) that must be folded in. */
#if HOP_KERNEL_6_12
#define HOP_NEED_SYNC_MM_RSS 0
#else
#define HOP_NEED_SYNC_MM_RSS 1
#endif

/*
 * current_save_fsgs() is exported only for KVM (process_64.c): a kernel
 * built without KVM (the debug guest kernel) has it, unexported, and ksyms.c
 * looks it up there.
 */
#define HOP_NEED_SAVE_FSGS_LOOKUP (!IS_ENABLED(CONFIG_KVM))

/* dequeue_signal() lost its task argument in 6.9 (it is always current). */
static inline int hop_dequeue_signal(sigset_t *mask, kernel_siginfo_t *info,
				     enum pid_type *type)
{
#if HOP_KERNEL_6_12
	return dequeue_signal(mask, info, type);
#else
	return dequeue_signal(current, mask, info, type);
#endif
}

/* eventfd_signal() lost its count argument in 6.8. */
#include <linux/eventfd.h>
static inline void hop_eventfd_signal(struct eventfd_ctx *ctx)
{
#if HOP_KERNEL_6_12
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/*
 * get_user_pages_remote() that only faults pages in (no page array); it
 * lost its vmas argument in 6.5.  Caller holds @mm's mmap_lock.
 */
#include <linux/mm.h>
static inline long hop_fault_in_remote(struct mm_struct *mm, unsigned long start,
				       unsigned long nr_pages, unsigned int gup_flags)
{
#if HOP_KERNEL_6_12
	return get_user_pages_remote(mm, start, nr_pages, gup_flags, NULL, NULL);
#else
	return get_user_pages_remote(mm, start, nr_pages, gup_flags, NULL, NULL, NULL);
#endif
}

/* PCI_IRQ_LEGACY was renamed PCI_IRQ_INTX in 6.8. */
#if HOP_KERNEL_6_12
#define HOP_PCI_IRQ_INTX PCI_IRQ_INTX
#else
#define HOP_PCI_IRQ_INTX PCI_IRQ_LEGACY
#endif

/* Where a URING_CMD's payload is: 6.1 copies a pointer, 6.12 keeps the SQE. */
#include <linux/io_uring.h>
#if HOP_KERNEL_6_12
#include <linux/io_uring/cmd.h>
#endif
static inline const struct hop_uring_call *hop_uring_cmd_payload(struct io_uring_cmd *cmd)
{
#if HOP_KERNEL_6_12
	return io_uring_sqe_cmd(cmd->sqe);
#else
	return cmd->cmd;
#endif
}

#endif /* HOP_COMPAT_H */
