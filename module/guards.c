// SPDX-License-Identifier: GPL-2.0
/*
 * guards.c: what a hopped task, and others looking at it, may not do.
 *
 * A handler runs on the client's task with the server's mm, files, fs and
 * credentials.  Some operations act on the task as a whole and would mix the
 * two identities for good: fork/clone (a child that is half client, half
 * server), execve (new credentials computed from the server's, committed to
 * the client), and credential changes (rlimit accounting moved to another
 * user for a task that returns to the client).  They fail with -EPERM while
 * a task is hopped.  Refusal happens at the LSM hooks the kernel already calls
 * for these operations, so the failure is the kernel's own error path.
 *
 * And while a task is hopped, other tasks (its sibling threads first of all)
 * could reach the server through it: /proc/<tid>/mem, maps, cwd and fd, and
 * process_vm_readv pass through ptrace_may_access(), PTRACE_ATTACH through
 * security_ptrace_access_check(), and /proc/<tid>/fd/N and pidfd_getfd()
 * through fget_task().  All refuse a hopped target to everyone but itself.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/file.h>
#include <linux/sched.h>
#include "hop_internal.h"

static bool hop_is_hopped(struct task_struct *t)
{
	bool hopped;

	if (!atomic_read(&hop_nr_frames))
		return false;
	rcu_read_lock();
	hopped = hop_task_frame(t) != NULL;
	rcu_read_unlock();
	return hopped;
}

/* LSM hooks: arm the return probe only when current is hopped. */
static int hop_guard_current_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return hop_is_hopped(current) ? 0 : 1;
}

static int hop_guard_eperm(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	regs->ax = (unsigned long)-EPERM;
	return 0;
}

/* ptrace_may_access(task, mode): false for a hopped task, unless it asks itself. */
static int hop_guard_target_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct task_struct *target = (struct task_struct *)regs->di;

	return target != current && hop_is_hopped(target) ? 0 : 1;
}

static int hop_guard_false(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	regs->ax = 0;
	return 0;
}

/* fget_task(task, fd): no file of a hopped task's (the server's) table. */
static int hop_guard_no_file(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct file *file = (struct file *)regs->ax;

	if (file) {
		fput(file);
		regs->ax = 0;
	}
	return 0;
}

/*
 * maxactive: tasks inside one guarded function at once.  A call that finds
 * the pool empty runs unguarded and counts in nmissed; hop_guards_hold()
 * then stops all hops.  The pool is sized for a busy machine, not the
 * kernel's default (max(10, 2 * CPUs)).
 */
#define HOP_GUARD(sym, entry, ret) { .kp.symbol_name = sym, .entry_handler = entry, \
				    .handler = ret, .maxactive = 512 }

static struct kretprobe hop_guards[] = {
	HOP_GUARD("security_task_alloc", hop_guard_current_entry, hop_guard_eperm),
	HOP_GUARD("security_bprm_creds_for_exec", hop_guard_current_entry, hop_guard_eperm),
	HOP_GUARD("security_task_fix_setuid", hop_guard_current_entry, hop_guard_eperm),
	HOP_GUARD("security_task_fix_setgid", hop_guard_current_entry, hop_guard_eperm),
	HOP_GUARD("security_task_fix_setgroups", hop_guard_current_entry, hop_guard_eperm),
	HOP_GUARD("security_capset", hop_guard_current_entry, hop_guard_eperm),
	HOP_GUARD("ptrace_may_access", hop_guard_target_entry, hop_guard_false),
	/* ptrace_attach() calls the static __ptrace_may_access(): its LSM hook. */
	HOP_GUARD("security_ptrace_access_check", hop_guard_target_entry, hop_guard_eperm),
	HOP_GUARD("fget_task", hop_guard_target_entry, hop_guard_no_file),
};

/*
 * Can the guards, and the exit hook (hooks.c), be trusted right now?  Not
 * when kprobes are disarmed (debugfs kprobes/enabled = 0), and not once a
 * guard has run out of return-probe instances or was skipped by kprobes'
 * recursion check: that call went through unguarded, and hop fails closed
 * from then on (until the module is reloaded), saying why once.
 */
bool hop_guards_hold(void)
{
	const struct kretprobe *rp;
	unsigned long missed = 0;
	unsigned int i;

	if (READ_ONCE(*hop_ksyms.kprobes_all_disarmed)) {
		pr_warn_once("hop: kprobes are disarmed: no hops (ENOLCK) until they are enabled\n");
		return false;
	}
	/*
	 * Every hop asks, so the common answer is one branch: the counters
	 * are ORed without a test each, in a loop unrolled into 18 loads
	 * (they only ever grow, and any non-zero one fails), and only a miss
	 * walks them again for a name.
	 */
#pragma GCC unroll 16
	for (rp = hop_guards; rp < hop_guards + ARRAY_SIZE(hop_guards); rp++)
		missed |= (unsigned long)READ_ONCE(rp->nmissed) | READ_ONCE(rp->kp.nmissed);
	missed |= hop_policy_probes_missed();
	if (likely(!missed))
		return true;
	for (i = 0; i < ARRAY_SIZE(hop_guards); i++) {
		if (READ_ONCE(hop_guards[i].nmissed) || READ_ONCE(hop_guards[i].kp.nmissed)) {
			pr_warn_once("hop: guard %s missed a call: no hops (ENOLCK) until hop.ko is reloaded\n",
				      hop_guards[i].kp.symbol_name);
			break;
		}
	}
	if (hop_policy_probes_missed())
		pr_warn_once("hop: the do_prlimit/do_seccomp probe missed a call: no hops (ENOLCK) until hop.ko is reloaded\n");
	return false;
}

int hop_guards_init(void)
{
	struct kretprobe *rps[ARRAY_SIZE(hop_guards)];
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(hop_guards); i++)
		rps[i] = &hop_guards[i];
	err = register_kretprobes(rps, ARRAY_SIZE(rps));
	if (err)
		pr_err("hop: cannot guard hopped tasks (%d): kretprobes are required\n", err);
	return err;
}

void hop_guards_exit(void)
{
	struct kretprobe *rps[ARRAY_SIZE(hop_guards)];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hop_guards); i++)
		rps[i] = &hop_guards[i];
	unregister_kretprobes(rps, ARRAY_SIZE(rps));
}
