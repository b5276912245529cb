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
 * through fget_task().  All refuse a hopped target to everyone but itself,
 * and the ptrace check refuses a hopped task its own process's other threads.
 *
 * Two kinds: refusals decided at a function's entry (hop_refusals, kprobes
 * that return the refusal in the function's place: the LSM hooks and the
 * ptrace checks) and look guards that must also see the function's end
 * (hop_guards, kretprobes: fget_task() and the /proc links, which read the
 * task's files or fs themselves).
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/file.h>
#include <linux/llist.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/proc_fs.h>
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

/*
 * Are @t's mm, files, fs and creds (maybe) the server's now?  Hopped (push
 * to pop) or switched (the dispatch marker: set after the switch, cleared
 * after the switch back, which comes after the pop), read in that order.
 */
bool hop_is_foreign(struct task_struct *t)
{
	if (hop_is_hopped(t))
		return true;
	smp_rmb();
	return hop_task_intercepted(t);
}

/*
 * Refusals: what a hopped task may not do, and what may not be done to it,
 * decided at the entry of the function that would do it.  A kprobe makes
 * the function return the refusal at once (hop_kprobe_return(), as policy.c
 * refuses prlimit), so it never runs.  Nothing it would have allocated or
 * counted is left to undo, as a refusal at its return would leave:
 * copy_process() frees the task's LSM blob only when security_task_alloc()
 * failed by itself (fault_test refused_driver_threads_leave_nothing_behind).
 * And no return-probe instance is taken for the call: a pool that ran dry,
 * hundreds of tasks inside ptrace_may_access() at once (PREEMPT_RT, where
 * task_lock() sleeps), would stop every hop (hop_guards_hold()).
 */

/* LSM hooks of task creation, exec and credential changes: not while hopped. */
static int hop_refuse_current_pre(struct kprobe *kp, struct pt_regs *regs)
{
	return hop_is_hopped(current) ? hop_kprobe_return(regs, (unsigned long)-EPERM) : 0;
}

/*
 * ptrace_may_access(task, mode): false for a hopped task, unless it asks
 * itself; and false for a hopped task asking about another thread of its
 * own process.  The kernel lets a thread at its own process without a check
 * (same_thread_group() in __ptrace_may_access()), and a hopped task is still
 * of the client's process: its handler would reach the client's memory and
 * fds through /proc/<pid>/mem and /proc/<pid>/fd (identity_test
 * handler_cannot_reach_the_client_through_proc).
 */
static bool hop_target_refused(struct task_struct *target)
{
	if (target == current)
		return false;
	if (hop_is_foreign(target))
		return true;
	return same_thread_group(target, current) && hop_is_hopped(current);
}

static int hop_refuse_ptrace_may_access_pre(struct kprobe *kp, struct pt_regs *regs)
{
	return hop_target_refused((struct task_struct *)regs->di) ? hop_kprobe_return(regs, false) : 0;
}

/* ptrace_attach() calls the static __ptrace_may_access(): its LSM hook. */
static int hop_refuse_ptrace_access_check_pre(struct kprobe *kp, struct pt_regs *regs)
{
	return hop_target_refused((struct task_struct *)regs->di) ?
	       hop_kprobe_return(regs, (unsigned long)-EPERM) : 0;
}

static struct kprobe hop_refusals[] = {
	{ .symbol_name = "security_task_alloc", .pre_handler = hop_refuse_current_pre },
	{ .symbol_name = "security_bprm_creds_for_exec", .pre_handler = hop_refuse_current_pre },
	{ .symbol_name = "security_task_fix_setuid", .pre_handler = hop_refuse_current_pre },
	{ .symbol_name = "security_task_fix_setgid", .pre_handler = hop_refuse_current_pre },
	{ .symbol_name = "security_task_fix_setgroups", .pre_handler = hop_refuse_current_pre },
	{ .symbol_name = "security_capset", .pre_handler = hop_refuse_current_pre },
	{ .symbol_name = "ptrace_may_access", .pre_handler = hop_refuse_ptrace_may_access_pre },
	{ .symbol_name = "security_ptrace_access_check",
	  .pre_handler = hop_refuse_ptrace_access_check_pre },
};

/*
 * Guards of functions that read another task's files or fs themselves
 * (fget_task(), the /proc cwd and root links): "is it hopped?" asked at
 * entry only would let a hop that begins before the read hand out the
 * server's (review #12; fault_test racing_fd_opens_never_get_the_servers_file).
 * So the guard looks at the task's hop count at entry and again at return,
 * and refuses what was read if the task's identity was foreign at either
 * end or a hop began in between (hop_task_gen(), bumped when the frame is
 * pushed, before the identity swap).  Foreign: from the frame's push to its
 * pop (hop_is_hopped()) or from the switch to the switch back, which ends
 * after the pop (the dispatch marker, hop_task_intercepted()); read in that
 * order, each after what the hopping task wrote before it.  The
 * return probe runs for every call: the calls are rare (/proc links,
 * pidfd_getfd), a missed one would be a leak.  A task looking at itself is
 * let through.  The task pointer is only compared, never followed: the
 * caller's reference may be gone by the return.
 *
 * mm_access() (/proc/<tid>/mem, maps, environ; process_vm_readv) needs no
 * look guard: it reads the mm and asks ptrace_may_access() under the
 * task's exec_update_lock, which a hop holds for write where it pushes and
 * where it pops and switches back (engine.c).  A return probe there held
 * its instance across that lock's wait, and a process stuck in exec (a
 * FUSE flush under the lock) could have emptied the pool and stopped every
 * hop (hop_guards_hold()).
 */
struct hop_look {
	struct task_struct *task;
	unsigned long gen;
	bool hopped;
	struct path *path;	/* the /proc links' result */
};

static void hop_look_begin(struct hop_look *look, struct task_struct *t)
{
	look->task = t;
	look->gen = hop_task_gen(t);
	smp_rmb();
	look->hopped = hop_is_foreign(t);
}

static bool hop_look_moved(const struct hop_look *look)
{
	smp_rmb();	/* after the read the guarded function made */
	return look->hopped || hop_task_gen(look->task) != look->gen ||
	       hop_is_foreign(look->task);
}

/* The entry of a look guard whose function takes the task first: fget_task(task, fd). */
static int hop_guard_look_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct task_struct *t = (struct task_struct *)regs->di;

	if (t == current)
		return 1;
	hop_look_begin((struct hop_look *)ri->data, t);
	return 0;
}

/* fget_task(): no file of a hopped task's (the server's) table. */
static int hop_guard_no_file(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct file *file = (struct file *)regs->ax;

	if (file && hop_look_moved((struct hop_look *)ri->data)) {
		fput(file);
		regs->ax = 0;
	}
	return 0;
}

/*
 * The task a /proc/<pid> (or .../task/<tid>) directory names, in that proc
 * mount's pid namespace; NULL if @dir is not one.  Not a reference (see
 * struct hop_look).
 */
static struct task_struct *hop_proc_dir_task(struct dentry *dir)
{
	struct task_struct *t;
	int nr;

	if (kstrtoint(dir->d_name.name, 10, &nr))
		return NULL;
	rcu_read_lock();
	t = pid_task(find_pid_ns(nr, proc_pid_ns(dir->d_sb)), PIDTYPE_PID);
	rcu_read_unlock();
	return t;
}

/* proc_cwd_link(dentry, path) and proc_root_link(): /proc/<pid>/{cwd,root}. */
static int hop_guard_proc_link_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct dentry *dentry = (struct dentry *)regs->di;
	struct hop_look *look = (struct hop_look *)ri->data;
	struct task_struct *t = hop_proc_dir_task(dentry->d_parent);

	/* Not a pid directory: proc_*_link() fails on its own. */
	if (!t || t == current)
		return 1;
	hop_look_begin(look, t);
	look->path = (struct path *)regs->si;
	return 0;
}

/*
 * The path a refused /proc link had taken: path_put() may sleep, a return
 * probe may not, so a work item drops it (flushed at unload).
 */
struct hop_path_drop {
	struct llist_node node;
	struct path path;
};

static LLIST_HEAD(hop_path_drops);

static void hop_path_drop_fn(struct work_struct *work)
{
	struct llist_node *all = llist_del_all(&hop_path_drops);
	struct hop_path_drop *d, *next;

	llist_for_each_entry_safe(d, next, all, node) {
		path_put(&d->path);
		kfree(d);
	}
}

static DECLARE_WORK(hop_path_drop_work, hop_path_drop_fn);

static int hop_guard_proc_link_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct hop_look *look = (struct hop_look *)ri->data;
	struct hop_path_drop *d;

	if (regs->ax || !hop_look_moved(look))
		return 0;
	regs->ax = (unsigned long)-EACCES;
	d = kmalloc(sizeof(*d), GFP_ATOMIC | __GFP_NOWARN);
	if (!d) {
		/* Refused all the same: the path's references stay taken. */
		pr_warn_ratelimited("hop: out of memory dropping a refused /proc link; a path stays pinned\n");
		return 0;
	}
	d->path = *look->path;
	llist_add(&d->node, &hop_path_drops);
	schedule_work(&hop_path_drop_work);
	return 0;
}

/*
 * proc_ns_get_link(dentry, inode, done): /proc/<pid>/ns/<name>, the
 * namespace the task has now; an fd of the server's would let the reader
 * setns() into it.  On success the path was already handed to the walk,
 * which drops it when this fails.
 */
static int hop_guard_ns_link_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct dentry *dentry = (struct dentry *)regs->di;
	struct task_struct *t;

	if (!dentry)
		return 1;	/* RCU walk: -ECHILD, retried with a dentry */
	t = hop_proc_dir_task(dentry->d_parent->d_parent);
	if (!t || t == current)
		return 1;
	hop_look_begin((struct hop_look *)ri->data, t);
	return 0;
}

static int hop_guard_ns_link_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (!IS_ERR((void *)regs->ax) && hop_look_moved((struct hop_look *)ri->data))
		regs->ax = (unsigned long)ERR_PTR(-EACCES);
	return 0;
}

/*
 * maxactive: tasks inside one guarded function at once.  A call that finds
 * the pool empty runs unguarded and counts in nmissed; hop_guards_hold()
 * then stops all hops.  The pool is sized for a busy machine, not the
 * kernel's default (max(10, 2 * CPUs)).
 */
#define HOP_LOOK_GUARD(sym, entry, ret) { .kp.symbol_name = sym, .entry_handler = entry, \
					 .handler = ret, .maxactive = 512, \
					 .data_size = sizeof(struct hop_look) }

static struct kretprobe hop_guards[] = {
	HOP_LOOK_GUARD("fget_task", hop_guard_look_entry, hop_guard_no_file),
	HOP_LOOK_GUARD("proc_cwd_link", hop_guard_proc_link_entry, hop_guard_proc_link_ret),
	HOP_LOOK_GUARD("proc_root_link", hop_guard_proc_link_entry, hop_guard_proc_link_ret),
	HOP_LOOK_GUARD("proc_ns_get_link", hop_guard_ns_link_entry, hop_guard_ns_link_ret),
};

/*
 * Can the refusals, the guards, and the exit hook (hooks.c) be trusted right
 * now?  Not when kprobes are disarmed (debugfs kprobes/enabled = 0), and not
 * once a look guard has run out of return-probe instances or a probe was
 * skipped by kprobes' recursion check: that call went through unguarded,
 * and hop fails closed from then on (until the module is reloaded), saying
 * why once.
 */
bool hop_guards_hold(void)
{
	const struct kretprobe *rp;
	const struct kprobe *kp;
	unsigned long missed = 0;
	unsigned int i;

	if (READ_ONCE(*hop_ksyms.kprobes_all_disarmed)) {
		pr_warn_once("hop: kprobes are disarmed: no hops (ENOLCK) until they are enabled\n");
		return false;
	}
	/*
	 * Every hop asks, so the common answer is one branch: the counters
	 * are ORed without a test each, in a loop unrolled into two loads a probe
	 * (they only ever grow, and any non-zero one fails), and only a miss
	 * walks them again for a name.
	 */
#pragma GCC unroll 16
	for (kp = hop_refusals; kp < hop_refusals + ARRAY_SIZE(hop_refusals); kp++)
		missed |= READ_ONCE(kp->nmissed);
#pragma GCC unroll 16
	for (rp = hop_guards; rp < hop_guards + ARRAY_SIZE(hop_guards); rp++)
		missed |= (unsigned long)READ_ONCE(rp->nmissed) | READ_ONCE(rp->kp.nmissed);
	missed |= hop_policy_probes_missed() | hop_oom_probes_missed();
	if (likely(!missed))
		return true;
	for (i = 0; i < ARRAY_SIZE(hop_refusals); i++) {
		if (READ_ONCE(hop_refusals[i].nmissed)) {
			pr_warn_once("hop: the probe of %s missed a call: no hops (ENOLCK) until hop.ko is reloaded\n",
				      hop_refusals[i].symbol_name);
			break;
		}
	}
	for (i = 0; i < ARRAY_SIZE(hop_guards); i++) {
		if (READ_ONCE(hop_guards[i].nmissed) || READ_ONCE(hop_guards[i].kp.nmissed)) {
			pr_warn_once("hop: guard %s missed a call: no hops (ENOLCK) until hop.ko is reloaded\n",
				      hop_guards[i].kp.symbol_name);
			break;
		}
	}
	if (hop_policy_probes_missed())
		pr_warn_once("hop: the do_prlimit/do_seccomp probe missed a call: no hops (ENOLCK) until hop.ko is reloaded\n");
	if (hop_oom_probes_missed())
		pr_warn_once("hop: an OOM killer probe missed a call: no hops (ENOLCK) until hop.ko is reloaded\n");
	return false;
}

int hop_guards_init(void)
{
	int err;

	err = hop_kprobes_register(hop_refusals, ARRAY_SIZE(hop_refusals), "hopped tasks");
	if (err)
		return err;
	err = hop_kretprobes_register(hop_guards, ARRAY_SIZE(hop_guards), "hopped tasks");
	if (err)
		hop_kprobes_unregister(hop_refusals, ARRAY_SIZE(hop_refusals));
	return err;
}

void hop_guards_exit(void)
{
	hop_kretprobes_unregister(hop_guards, ARRAY_SIZE(hop_guards));
	hop_kprobes_unregister(hop_refusals, ARRAY_SIZE(hop_refusals));
	flush_work(&hop_path_drop_work);
}
