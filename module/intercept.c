// SPDX-License-Identifier: GPL-2.0
/*
 * intercept.c: the syscalls of a hopped task, and only of a hopped task,
 * pass through hop before they run.
 *
 * The kernel has one per-task hook at syscall entry that a module can take
 * without putting every other task on the slow path: Syscall User Dispatch.
 * A task whose SYSCALL_WORK_SYSCALL_USER_DISPATCH bit is set calls
 * syscall_user_dispatch() from syscall_trace_enter() before its syscall, and
 * no other task does.  For the length of a hop (from the outermost frame's
 * switch to its leave, identity.c) hop sets that bit on the hopped task, with
 * a dispatch configuration of its own that no user can write (below), and an
 * ftrace hook at syscall_user_dispatch() sends such a task to
 * hop_syscall_intercept() instead.  There:
 *
 *   - HOP_SYSCALL_RETURN ends the hop (engine.c, hop_sys_return()): the
 *     handler's return without an fd lookup, the LSM's ioctl hooks or
 *     do_vfs_ioctl(); the ioctl HOP_IOC_RETURN stays for the same thing;
 *   - every other syscall is judged by policy.c's handler list
 *     (hop_policy_handler_syscall()): a refused one is skipped, as Syscall
 *     User Dispatch skips one, with ax the errno.  The sys_enter tracepoint
 *     and audit do not see a skipped syscall (nor HOP_SYSCALL_RETURN);
 *     sys_exit does.
 *
 * The caller's own Syscall User Dispatch is refused at HOP_IOC_CALL
 * (policy.c), so the bit and current->syscall_dispatch are free for the
 * hop; they are saved and put back all the same.
 *
 * Failing closed.  The configuration is "every syscall is dispatched, the
 * selector at hop_intercept_selector": a kernel address, which prctl() would
 * refuse (access_ok), so the hook knows a hopped task from a real user of
 * the feature, and a byte that says SYSCALL_DISPATCH_FILTER_BLOCK.  Should
 * syscall_user_dispatch() ever run its own body for a hopped task, it sends
 * SIGSYS, which ends the hop as a handler fault, instead of letting the
 * syscall through.  The ftrace_ops is FTRACE_OPS_FL_PERMANENT: the
 * ftrace_enabled sysctl cannot switch it off while hop.ko is loaded.
 *
 * Cost: nothing for a task that is not hopped, or for a hopped task's
 * syscalls beyond syscall_trace_enter() and this hook; a task that uses
 * Syscall User Dispatch itself (Wine) pays the ftrace call at each of its
 * dispatched syscalls.
 */
#include <linux/kernel.h>
#include <linux/ftrace.h>
#include <linux/sched.h>
#include <linux/syscall_user_dispatch.h>
#include <linux/prctl.h>
#include <linux/thread_info.h>
#include <asm/syscall.h>
#include "hop_internal.h"

/* What syscall_user_dispatch() would read, if it ever ran for a hop. */
static const char hop_intercept_block = SYSCALL_DISPATCH_FILTER_BLOCK;
#define hop_intercept_selector ((char __user *)&hop_intercept_block)

/* Is @t's Syscall User Dispatch the hop's own (policy.c lets that one hop on)? */
bool hop_task_intercepted(struct task_struct *t)
{
	return READ_ONCE(t->syscall_dispatch.selector) == hop_intercept_selector;
}

/*
 * Entered in place of syscall_user_dispatch(): false lets the syscall run,
 * true skips it (syscall_trace_enter() returns -1 at once) with ax its
 * result.  orig_ax stays the syscall's number: -1 there would make
 * in_x32_syscall() true for the rest of the syscall, and the hop that an
 * io_uring kick starts at its return (uring.c) would take the task for an
 * x32 one.
 */
static bool __used hop_syscall_intercept(struct pt_regs *regs)
{
	long nr = syscall_get_nr(current, regs), ret;

	if (nr == HOP_SYSCALL_RETURN && !in_ia32_syscall())
		ret = hop_sys_return(regs);
	else
		ret = hop_policy_handler_syscall(regs, nr);
	if (ret == HOP_SYSCALL_RUN)
		return false;
	if (ret != HOP_SYSCALL_DONE)
		regs->ax = ret;
	return true;
}

static void notrace hop_intercept_ftrace(unsigned long ip, unsigned long parent_ip,
					 struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	if (hop_task_intercepted(current))
		ftrace_get_regs(fregs)->ip = (unsigned long)hop_syscall_intercept;
}

static struct ftrace_ops hop_intercept_ops = {
	.func = hop_intercept_ftrace,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_PERMANENT,
};

/*
 * A frame's switch: from the outermost one on, current's syscalls go
 * through hop.  The dispatch range's offset, which decides nothing while
 * len is 0 (the kernel's "ip - offset < len" is never true), holds the
 * innermost frame: hop_sys_return() finds it there without the task hash
 * (engine.c).
 */
void hop_intercept_arm(struct hop_frame *f)
{
	struct task_struct *tsk = current;

	if (f->outer) {
		tsk->syscall_dispatch.offset = (unsigned long)f;
		return;
	}
	f->dispatch = tsk->syscall_dispatch;
	f->dispatch_on = test_syscall_work(SYSCALL_USER_DISPATCH);
	tsk->syscall_dispatch.selector = hop_intercept_selector;
	tsk->syscall_dispatch.offset = (unsigned long)f;
	tsk->syscall_dispatch.len = 0;
	tsk->syscall_dispatch.on_dispatch = false;
	set_task_syscall_work(tsk, SYSCALL_USER_DISPATCH);
}

/* A frame's leave (also of a dying task): the outer frame's, or as before the hop. */
void hop_intercept_disarm(struct hop_frame *f)
{
	struct task_struct *tsk = current;

	if (f->outer) {
		tsk->syscall_dispatch.offset = (unsigned long)f->outer;
		return;
	}
	if (!f->dispatch_on)
		clear_task_syscall_work(tsk, SYSCALL_USER_DISPATCH);
	tsk->syscall_dispatch = f->dispatch;
}

/* Current's innermost frame; only from hop_syscall_intercept(), where it has one. */
struct hop_frame *hop_intercepted_frame(void)
{
	return (struct hop_frame *)current->syscall_dispatch.offset;
}

int hop_intercept_init(void)
{
	static char name[] = "syscall_user_dispatch";
	int err;

	err = ftrace_set_filter(&hop_intercept_ops, name, strlen(name), 0);
	if (err) {
		pr_err("hop: cannot hook syscall_user_dispatch (%d)\n", err);
		return err;
	}
	err = register_ftrace_function(&hop_intercept_ops);
	if (err) {
		pr_err("hop: cannot attach to syscall_user_dispatch (%d)\n", err);
		ftrace_free_filter(&hop_intercept_ops);
	}
	return err;
}

void hop_intercept_exit(void)
{
	unregister_ftrace_function(&hop_intercept_ops);
	ftrace_free_filter(&hop_intercept_ops);
}
