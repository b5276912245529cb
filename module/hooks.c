// SPDX-License-Identifier: GPL-2.0
/*
 * hooks.c: where hop learns that a hopped task is dying or being signalled.
 *
 * do_exit (kprobe): a task that exits mid-hop must get its own mm, files, fs
 * and credentials back before exit_mm() clears clear_child_tid, walks the
 * robust futex list and drops the mm, or those would act on the server.
 * A kprobe handler runs with preemption off, and the unwinding takes
 * spinlock_t locks (task_lock, the service's lock, wait queues, the uring
 * table) and mm_update_next_owner()'s tasklist_lock: under PREEMPT_RT those
 * are sleeping locks, which must not be taken there ("BUG: scheduling while
 * atomic" on the rt kernel, found by stress_test).  So the handler does not
 * unwind: it sends the task through hop_exit_trampoline (exit_tramp.S),
 * which calls hop_exit_unwind() in the task's own process context, at the
 * same point of do_exit(), and then lets do_exit() go on.  This needs the
 * probe to sit on do_exit()'s ftrace call (KPROBES_ON_FTRACE, as on Debian's
 * kernels); a breakpoint probe would have to emulate the instruction it
 * replaced, so there the handler unwinds in place as before, which is only
 * correct without PREEMPT_RT, and hop refuses to load on an rt kernel
 * without an ftrace-based probe.
 *
 * signal_generate (tracepoint): a signal that a hopped task does not block
 * would be delivered while it runs as the server: its own signal handler would
 * run at a client address in the server's address space, or a fatal default
 * action would dump the server's memory in the client's name.  Such a signal
 * aborts the hop instead (engine.c), and the client gets it afterwards, unless
 * the handler raised it itself (a fault), in which case it is discarded.  One
 * from outside ends every hop the task is in, nested ones too (fault_test
 * outside_signal_in_a_nested_hop_reaches_only_the_client: the client's core
 * dump held the outer server's memory, when only the inner hop ended).  The
 * abort is task_work, which get_signal() runs before it looks at signals;
 * one queued after that, with the signal, is run first all the same: the
 * uprobe_deny_signal probe below sends get_signal() round again.
 *
 * uprobe_deny_signal (kprobe): a stop waits for the hop, as it waits for any
 * syscall.  The handler's stack is its slot's, so a task stopped in the
 * handler would keep the slot, and any lock the handler holds, for as long
 * as the client stays stopped, past any deadline (the deadline's abort is a
 * task_work, and a stopped task runs none).  SIGSTOP itself is in the hop's
 * signal mask (identity.c), so the hopped thread never dequeues it; but a
 * group stop begun by another thread of the client and a cgroup (v2) freeze
 * set JOBCTL_STOP_PENDING or JOBCTL_TRAP_FREEZE on the hopped task, and
 * get_signal() acts on those whatever the mask.  (The freezers, suspend's
 * and cgroup v1's, still freeze the task where it is.)  While a
 * hop runs and nothing else is pending, get_signal() is told "no signal
 * now" where it asks uprobe_deny_signal(), the way uprobes hold signals off
 * a task that single-steps: TIF_SIGPENDING is cleared under the siglock and
 * the job control state is left as the kernel set it, so the task is
 * counted in the group stop (or the freeze) as a task still in a syscall
 * is.  The hop's end recalculates TIF_SIGPENDING with the caller's mask
 * (identity.c), and the task stops on its way back to the caller's code.
 * fault_test's *_waits_for_the_hop.
 */
#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/tracepoint.h>
#include <linux/sched/signal.h>
#include <linux/sched/jobctl.h>
#include <linux/freezer.h>
#include <linux/task_work.h>
#include <linux/uprobes.h>
#include <trace/events/signal.h>
#include "hop_internal.h"

/* Where hop_exit_trampoline resumes do_exit(): just past its ftrace call. */
unsigned long hop_do_exit_resume;
void hop_exit_trampoline(void);
void hop_exit_unwind(void);

static void hop_exit_unwind_current(bool can_sleep)
{
	if (atomic_read(&hop_nr_frames))
		hop_frames_unwind_dying(can_sleep);
	else if (atomic_read(&hop_uring_deferred))
		hop_uring_task_dying();
}

/*
 * From hop_exit_trampoline, in process context, for the exiting task.  The
 * module reference taken by the probe handler keeps this text alive until
 * here; what runs after the put is the return and the trampoline's last
 * three instructions, the same window as at the end of any module function
 * that drops its own module's last reference (hop_abort_work_fn).
 */
void hop_exit_unwind(void)
{
	hop_exit_unwind_current(true);
	module_put(THIS_MODULE);
}

static int hop_do_exit_pre(struct kprobe *p, struct pt_regs *regs)
{
	if (current->flags & PF_KTHREAD)
		return 0;
	/* The common case, no hops anywhere: one read each, do_exit() goes on. */
	if (!atomic_read(&hop_nr_frames) && !atomic_read(&hop_uring_deferred))
		return 0;
	if (!hop_do_exit_resume) {
		hop_exit_unwind_current(false);
		return 0;
	}
	__module_get(THIS_MODULE);
	/* Non-zero: kprobes leaves the new instruction pointer alone. */
	instruction_pointer_set(regs, (unsigned long)hop_exit_trampoline);
	return 1;
}

static struct kprobe hop_exit_probe = {
	.symbol_name = "do_exit",
	.pre_handler = hop_do_exit_pre,
};

/* Would @sig, sent to @t, be delivered to @t now? */
static bool hop_sig_would_deliver(struct task_struct *t, int sig)
{
	return !sigismember(&t->blocked, sig) && sig != SIGKILL && sig != SIGSTOP;
}

/*
 * A signal from outside ends every hop @t is in, not only the innermost: a
 * handler that called another service is the caller of the inner hop, and
 * the signal is for neither.  @inner is pinned and @t's; so is each frame
 * the walk keeps.  One that ended meanwhile ends the walk: the task has
 * left it, and every hop inside it.
 */
static void hop_abort_from_outside(struct task_struct *t, struct hop_frame *inner, int sig)
{
	struct hop_frame *f = inner, *outer;

	while ((outer = READ_ONCE(f->outer))) {
		if (!refcount_inc_not_zero(&outer->refs))
			break;
		if (READ_ONCE(outer->task) != t) {
			hop_frame_put(outer);
			break;
		}
		if (f != inner)
			hop_frame_put(f);
		f = outer;
	}
	hop_request_abort(f, HOP_ABORT_SIGNAL, sig);
	if (f != inner)
		hop_frame_put(f);
}

static void hop_check_task(struct task_struct *t, int sig)
{
	struct hop_frame *f = hop_task_frame(t);

	if (!f || !hop_sig_would_deliver(t, sig))
		return;
	/* The frame may have been reused meanwhile (engine.c): pin it, check it. */
	if (!refcount_inc_not_zero(&f->refs))
		return;
	if (READ_ONCE(f->task) != t) {
		hop_frame_put(f);
		return;
	}
	/* Anything a task sends itself while hopped is the handler's doing. */
	if (t == current)
		hop_request_abort(f, HOP_ABORT_FAULT, sig);
	else
		hop_abort_from_outside(t, f, sig);
	hop_frame_put(f);
}

/* Runs under the target's siglock with interrupts off. */
static void hop_signal_generate(void *data, int sig, struct kernel_siginfo *info,
				struct task_struct *task, int group, int result)
{
	struct task_struct *t;

	if (!atomic_read(&hop_nr_frames) || result != TRACE_SIGNAL_DELIVERED)
		return;
	rcu_read_lock();
	if (!group) {
		hop_check_task(task, sig);
	} else {
		for_each_thread(task, t)
			hop_check_task(t, sig);
	}
	rcu_read_unlock();
}

/*
 * May current's stop (or freeze) wait?  Asked for a hopped task: a stop or
 * a cgroup (v2) freeze is after it, and nothing is pending that the hop lets
 * through (SIGKILL, a group exit or exec, a ptrace trap; a signal from
 * outside comes with its abort's task_work, which hop_deny_signal() sees
 * first).  Exact under the siglock, which every sender and freezer takes to
 * change any of it.
 */
static bool hop_stop_may_wait(struct task_struct *tsk)
{
	unsigned long jobctl = READ_ONCE(tsk->jobctl);

	if (!(jobctl & (JOBCTL_STOP_PENDING | JOBCTL_TRAP_FREEZE)))
		return false;
	if ((jobctl & JOBCTL_TRAP_MASK) || (READ_ONCE(tsk->signal->flags) & SIGNAL_GROUP_EXIT) ||
	    READ_ONCE(tsk->signal->group_exec_task))
		return false;
	return !((READ_ONCE(tsk->pending.signal.sig[0]) |
		  READ_ONCE(tsk->signal->shared_pending.signal.sig[0])) &
		 ~READ_ONCE(tsk->blocked.sig[0]));
}

static bool hop_single_steps_a_uprobe(struct task_struct *tsk)
{
#ifdef CONFIG_UPROBES
	return tsk->utask && tsk->utask->active_uprobe;
#else
	return false;
#endif
}

/*
 * In uprobe_deny_signal()'s place, for a hopped task, in its own context
 * (below).  Decided under the siglock, which every sender, stopper and
 * freezer takes, so nothing changes between the answer and get_signal()'s
 * return.  "Not now", TIF_SIGPENDING kept, while task_work is pending: an
 * abort queued since get_signal() ran the task's task_work (a signal from
 * outside, a deadline) must run before any signal is dequeued, or the
 * signal would be delivered in the server; the exit loop calls get_signal()
 * again, which runs it first.  "Not now", TIF_SIGPENDING cleared, for a
 * stop or a freeze that may wait, as uprobe_deny_signal() does for a task
 * that single-steps.  Reached only for a hopped task (the probe checked),
 * and nothing here ends its hop: only the task's own task_work does.
 */
static bool hop_deny_signal(void)
{
	struct task_struct *tsk = current;
	bool deny = false;

	/*
	 * The freezers (suspend, cgroup v1) freeze the task where it is, as
	 * get_signal() would next: they freeze every task, or all of the
	 * client's (a cgroup v1 freezer also freezes a handler asleep in a
	 * freezable wait, without get_signal(): a leftover, docs/faults.md).
	 */
	try_to_freeze();
	spin_lock_irq(&tsk->sighand->siglock);
	if (test_thread_flag(TIF_NOTIFY_SIGNAL) || task_work_pending(tsk)) {
		deny = true;
	} else if (hop_stop_may_wait(tsk)) {
		clear_thread_flag(TIF_SIGPENDING);
		deny = true;
	}
	spin_unlock_irq(&tsk->sighand->siglock);
	return deny;
}

/*
 * get_signal() asks uprobe_deny_signal() after it has run the task's
 * task_work and found a signal pending, and before it takes the siglock to
 * act on anything: the one point where a stop can be answered with "not now"
 * after the abort of a nested hop, the start of an io_uring hop or a
 * handler's fput(), all task_work, have happened.  A task that single-steps
 * a uprobe keeps the kernel's own answer (it denies every signal).
 */
static int hop_deny_signal_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct task_struct *tsk = current;

	if (!atomic_read(&hop_nr_frames) || hop_single_steps_a_uprobe(tsk) || !hop_current_frame())
		return 0;
	return hop_kprobe_redirect(regs, hop_deny_signal);
}

static struct kprobe hop_stop_probe = {
	.symbol_name = "uprobe_deny_signal",
	.pre_handler = hop_deny_signal_pre,
};

/*
 * A task that ends mid-hop, with a stop held: exit_signals() counts it in the
 * group stop only if TIF_SIGPENDING says something is pending (the handler
 * may end its thread with exit(), which leaves no group exit behind).
 */
void hop_stop_release_dying(void)
{
	if (READ_ONCE(current->jobctl) & (JOBCTL_PENDING_MASK | JOBCTL_TRAP_FREEZE))
		set_thread_flag(TIF_SIGPENDING);
}

static struct tracepoint *hop_tp_signal_generate;

static void hop_find_tracepoint(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "signal_generate"))
		hop_tp_signal_generate = tp;
}

int hop_hooks_init(void)
{
	int err;

	err = register_kprobe(&hop_exit_probe);
	if (err) {
		pr_err("hop: cannot hook do_exit (%d): kprobes are required\n", err);
		return err;
	}
	if (hop_exit_probe.flags & KPROBE_FLAG_FTRACE) {
		hop_do_exit_resume = (unsigned long)hop_exit_probe.addr + MCOUNT_INSN_SIZE;
	} else if (IS_ENABLED(CONFIG_PREEMPT_RT)) {
		pr_err("hop: the do_exit probe is not ftrace-based: cannot unwind exiting tasks on PREEMPT_RT\n");
		err = -EOPNOTSUPP;
		goto err_kprobe;
	}
	for_each_kernel_tracepoint(hop_find_tracepoint, NULL);
	if (!hop_tp_signal_generate) {
		pr_err("hop: tracepoint signal_generate not found\n");
		err = -ENOENT;
		goto err_kprobe;
	}
	err = register_kprobe(&hop_stop_probe);
	if (err) {
		pr_err("hop: cannot hook uprobe_deny_signal (%d): needs CONFIG_UPROBES\n", err);
		goto err_kprobe;
	}
	err = tracepoint_probe_register(hop_tp_signal_generate, hop_signal_generate, NULL);
	if (err) {
		pr_err("hop: cannot attach to signal_generate (%d)\n", err);
		goto err_stop_probe;
	}
	return 0;

err_stop_probe:
	unregister_kprobe(&hop_stop_probe);
err_kprobe:
	unregister_kprobe(&hop_exit_probe);
	return err;
}

void hop_hooks_exit(void)
{
	tracepoint_probe_unregister(hop_tp_signal_generate, hop_signal_generate, NULL);
	unregister_kprobe(&hop_stop_probe);
	unregister_kprobe(&hop_exit_probe);
	/* No probe may still be running when the module text goes away. */
	tracepoint_synchronize_unregister();
}
