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
 * the handler raised it itself (a fault), in which case it is discarded.
 *
 * get_signal (kprobe): a stop waits for the hop, as it waits for any
 * syscall.  The handler's stack is its slot's, so a task stopped in the
 * handler would keep the slot, and any lock the handler holds, for as long
 * as the client stays stopped, past any deadline (the deadline's abort is a
 * task_work, and a stopped task runs none).  SIGSTOP itself is in the hop's
 * signal mask (identity.c), so the hopped thread never dequeues it; but a
 * group stop begun by another thread of the client, and a cgroup freeze, set
 * JOBCTL_STOP_PENDING or JOBCTL_TRAP_FREEZE on the hopped task, and
 * get_signal() acts on those whatever the mask.  While a hop runs and
 * nothing else is pending, the probe answers get_signal() itself: it clears
 * TIF_SIGPENDING and returns "no signal", leaving the job control state as
 * the kernel set it, so the task is counted in the group stop (or the
 * freeze) as a task still in a syscall is.  The hop's end recalculates
 * TIF_SIGPENDING with the caller's mask (identity.c), and the task stops on
 * its way back to the caller's code.  Anything else pending goes to the
 * real get_signal(): a fatal signal, and the task_work of an abort, which
 * ends the hop first (a fault, a signal from outside, the deadline), after
 * which the stop is the caller's own.  fault_test's *_waits_for_the_hop.
 */
#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/tracepoint.h>
#include <linux/sched/signal.h>
#include <linux/sched/jobctl.h>
#include <linux/task_work.h>
#include <linux/freezer.h>
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

static void hop_check_task(struct task_struct *t, int sig)
{
	struct hop_frame *f = hop_task_frame(t);

	if (!f || !hop_sig_would_deliver(t, sig))
		return;
	/* The frame may have been reused meanwhile (engine.c): pin it, check it. */
	if (!refcount_inc_not_zero(&f->refs))
		return;
	if (READ_ONCE(f->task) == t)
		/* Anything a task sends itself while hopped is the handler's doing. */
		hop_request_abort(f, t == current ? HOP_ABORT_FAULT : HOP_ABORT_SIGNAL, sig);
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
 * Is a stop or a freeze all that brings current into get_signal()?  Read
 * without the siglock by the probe, and again under it by the answer: a
 * signal or task_work that comes in between sets what the second reading
 * sees.  Deliverable signals and the task_work of an abort go to the real
 * get_signal(), and so does the system freezer (suspend).
 */
static bool hop_only_a_stop_pending(struct task_struct *tsk)
{
	unsigned long jobctl = READ_ONCE(tsk->jobctl);

	if (!(jobctl & (JOBCTL_STOP_PENDING | JOBCTL_TRAP_FREEZE)) || (jobctl & JOBCTL_TRAP_MASK))
		return false;
	if (test_tsk_thread_flag(tsk, TIF_NOTIFY_SIGNAL) || task_work_pending(tsk) ||
	    freezing(tsk))
		return false;
	if ((READ_ONCE(tsk->signal->flags) & SIGNAL_GROUP_EXIT) ||
	    READ_ONCE(tsk->signal->group_exec_task))
		return false;
	return !((READ_ONCE(tsk->pending.signal.sig[0]) |
		  READ_ONCE(tsk->signal->shared_pending.signal.sig[0])) & ~tsk->blocked.sig[0]);
}

static bool hop_current_hopped(void)
{
	bool hopped;

	rcu_read_lock();
	hopped = hop_task_frame(current) != NULL;
	rcu_read_unlock();
	return hopped;
}

/* In get_signal()'s place, in the task's own context: "no signal now". */
static bool hop_get_signal_held(struct ksignal *ksig)
{
	struct task_struct *tsk = current;

	spin_lock_irq(&tsk->sighand->siglock);
	/*
	 * Under the siglock nothing can be sent: what is pending now is all
	 * there is.  If something came since the probe looked, TIF_SIGPENDING
	 * stays set and the next pass goes to the real get_signal().
	 */
	if (hop_only_a_stop_pending(tsk) && hop_current_hopped())
		clear_thread_flag(TIF_SIGPENDING);
	spin_unlock_irq(&tsk->sighand->siglock);
	return false;
}

static int hop_get_signal_pre(struct kprobe *p, struct pt_regs *regs)
{
	if (!atomic_read(&hop_nr_frames) || (current->flags & PF_KTHREAD))
		return 0;
	if (!hop_only_a_stop_pending(current) || !hop_current_hopped())
		return 0;
	return hop_kprobe_redirect(regs, hop_get_signal_held);
}

static struct kprobe hop_stop_probe = {
	.symbol_name = "get_signal",
	.pre_handler = hop_get_signal_pre,
};

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
		pr_err("hop: cannot hook get_signal (%d)\n", err);
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
