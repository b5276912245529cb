// SPDX-License-Identifier: GPL-2.0
/*
 * policy.c: what a hop does with each piece of the caller's task state,
 * decided once, here.  Default-deny: state without a row is refused.
 *
 * A hop runs server code on the client's task.  Every piece of state that
 * the kernel reads from `current` on the handler's behalf gets one of three
 * decisions (the README's table "What a hop switches, refuses and freezes" is
 * this one, row for row):
 *
 *   switch  the server's for the hop, the caller's back after (identity.c)
 *   refuse  a caller that has it gets an exact errno at HOP_IOC_CALL and
 *           nothing changes (hop_policy_check_caller(), below)
 *   freeze  a handler may not change it: the syscall fails with EPERM
 *           inside a hop and the state stays as it was (hop_policy_handler_syscall())
 *   caller  stays the caller's on purpose, with the reason
 *
 *  state                          decision  why / errno
 *  -----------------------------  --------  ---------------------------------
 *  mm (address space, CR3)        switch    the handler is server code
 *  files (fd table)               switch    the server's fds
 *  fs (cwd, root, umask)          switch    the server's paths
 *  credentials the task acts with switch    the server group leader's, read
 *    (subjective: ->cred)                   at each call (a server that drops
 *                                           privileges after SERVE is honoured)
 *  credentials others see it by   caller    ->real_cred: kill, setpriority,
 *    (objective: ->real_cred)               /proc/<tid> (identity.c); with the
 *                                           server's, its user could kill the
 *                                           client mid-call
 *  nsproxy (net, ipc, uts, mnt,   switch    the server leader's at each call:
 *    time, cgroup namespaces)               its sockets, names, mounts
 *  FS/GS base, FPU/vector regs    switch    the slot's TLS; an fpstate of the
 *                                           handler's own, in init state
 *  PKRU (protection keys)         switch    the kernel's default for a new
 *                                           thread; the caller's back after
 *  blocked signal mask            switch    only KILL and the handler's own
 *                                           faults are deliverable; a stop
 *                                           (SIGSTOP, group stop, cgroup
 *                                           freeze) waits for the hop's end
 *                                           (hooks.c)
 *  rseq, sigaltstack              switch    parked for the hop
 *  general registers              switch    saved; the handler starts clean
 *  pending deliverable signal     refuse*   EINTR: a signal the hop mask lets
 *                                           through was already pending (the
 *                                           hop is aborted before the handler
 *                                           runs one instruction); not KILL
 *                                           or STOP, which never abort a hop
 *  ptrace (being traced)          refuse    EPERM, checked where the switch
 *                                           happens under cred_guard_mutex,
 *                                           so no tracer attaches in between
 *  seccomp filter (caller)        refuse    EPERM: its filter would judge the
 *                                           handler's syscalls
 *  seccomp filter (server leader) refuse    EPERM at SERVE and at each call:
 *                                           hop cannot apply it to handlers
 *  Syscall User Dispatch          refuse    EPERM: it would trap the handler;
 *                                           the hop uses it for its own
 *                                           (intercept.c): saved, set, back
 *  PR_SET_TSC, ARCH_SET_CPUID     refuse    EPERM: faults chosen by the caller
 *  hardware breakpoints           refuse    EPERM: ptrace_bps left behind
 *  perf events on the task        refuse    EPERM: samples would record the
 *                                           handler's registers and stack
 *  a fault signal ignored         refuse    EPERM: SEGV, BUS, ILL, FPE, TRAP,
 *                                           SYS; a handler's fault would
 *                                           reset the caller's SIG_IGN
 *  personality                    refuse    EPERM unless equal to the server's
 *                                           (READ_IMPLIES_EXEC, layout flags)
 *  rlimits FSIZE, NOFILE, AS,     refuse    EPERM if the caller's soft limit
 *    DATA, MEMLOCK, MSGQUEUE                is below the server's: a client
 *                                           could make the handler fail where
 *                                           it chose (a torn write).  Frozen
 *                                           while any thread of the group is
 *                                           hopped (setrlimit/prlimit: EBUSY)
 *  32-bit syscall, ioperm,        refuse    EOPNOTSUPP (engine.c)
 *    shadow stack, FS/GS selector
 *  io_uring of the caller         refuse    EOPNOTSUPP unless the io_uring
 *                                           path made the call (uring.c)
 *  signal handlers (sighand)      freeze    rt_sigaction, rt_sigreturn,
 *                                           sigaltstack: they outlive the hop
 *  signal mask                    freeze    rt_sigprocmask answers and
 *                                           changes nothing: no unblocking,
 *                                           and no blocking of the fault
 *                                           signals (a blocked fault would
 *                                           reset the caller's sigaction);
 *                                           ppoll/pselect6/epoll_pwait only
 *                                           without a wait mask (EPERM)
 *  pending signals of the caller  freeze    rt_sigtimedwait, rt_sigsuspend,
 *                                           signalfd: the caller's signals
 *  signals to the caller's group  freeze    kill/tkill/tgkill to the caller's
 *                                           own process (except to itself:
 *                                           raise() and abort() are faults);
 *                                           a file owner that is (F_SETOWN)
 *                                           or may be (F_SETOWN_EX,
 *                                           FIOSETOWN, SIOCSPGRP) the
 *                                           caller's, F_SETLEASE, F_NOTIFY
 *  the caller's terminal          freeze    ioctl TIOCSCTTY, TIOCNOTTY,
 *    and session                            TIOCSPGRP, TIOCSTI, TIOCCONS
 *  clear_child_tid, robust list,  freeze    set_tid_address, set_robust_list,
 *    rseq, personality, seccomp,            rseq, personality, seccomp,
 *    no_new_privs, name, ...                prctl (but PR_GET_*)
 *  fd table / fs / namespaces     freeze    unshare, setns, close_range(
 *    replaced                               CLOSE_RANGE_UNSHARE)
 *  task creation, exec            freeze    clone, clone3, fork, vfork, execve;
 *                                           a driver's thread of the caller's
 *                                           (vhost) at the LSM hook (guards.c)
 *  serving (HOP_IOC_SERVE)        freeze    a service lends its leader's
 *                                           identity, and a hopped task has
 *                                           two: the server's mm and cred,
 *                                           the client's real_cred, which
 *                                           the next hop would borrow
 *                                           (registry.c)
 *  credentials                    freeze    setuid family, capset (also the
 *                                           LSM guards, guards.c)
 *  scheduling, affinity,          freeze    sched_set*, setpriority,
 *    mempolicy, I/O priority                set_mempolicy, ioprio_set
 *  the caller's memory            freeze    process_vm_readv/writev, ptrace,
 *                                           pidfd_open/getfd/send_signal;
 *                                           /proc/<own pid>/mem, fd, ...:
 *                                           EACCES, the ptrace check fails
 *                                           for its own process (guards.c)
 *  process timers, children,      freeze    timer_create, setitimer, alarm,
 *    session, SysV undo                     wait4, waitid, setsid, setpgid,
 *                                           semop, semtimedop
 *  everything else                freeze    any syscall not on the handler
 *                                           list below fails with EPERM
 *  the process's memory, to the   caller    scored and killed by a thread of
 *    OOM killer                             its own mm (oom.c)
 *  CPU time, scheduling class     caller    the caller pays for its call and
 *    and priority, cgroup                   runs at its own priority: that is
 *                                           the point of process hopping
 *  pid, tid                       caller    getpid() names the caller; a
 *                                           handler asks hop_caller() for it
 *  rlimits above the server's     caller    they lend the handler room; they
 *                                           cannot make it fail
 *
 * (*) checked after the switch: a signal that arrives between the check and
 * the switch would otherwise slip through, so the hop is made and aborted at
 * once instead.
 *
 * The freeze rows are enforced for the hopped task alone: from the switch to
 * the leave its syscalls pass through hop_policy_handler_syscall() before
 * they run (intercept.c; ptrace and seccomp would have run first, and a
 * hopped task has neither).  A denied syscall never runs: it is skipped
 * with ax the error, as seccomp's SECCOMP_RET_ERRNO skips one.  Other
 * tasks' syscalls do not pass
 * through hop at all; the rows about them (setrlimit/prlimit, seccomp TSYNC
 * on a process with a hopped thread) are kprobes on do_prlimit() and
 * do_seccomp(), which only those calls reach.  The interception fails
 * closed on its own (intercept.c); the kprobes, the LSM and ptrace guards
 * (guards.c) and the exit hook (hooks.c) depend on kprobes, so when kprobes
 * are disarmed or a probe missed a call, no hop is made any more
 * (hop_guards_hold(): ENOLCK).
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seccomp.h>
#include <linux/perf_event.h>
#include <linux/personality.h>
#include <linux/kprobes.h>
#include <linux/prctl.h>
#include <linux/signal.h>
#include <linux/thread_info.h>
#include <linux/uaccess.h>
#include <linux/close_range.h>
#include <linux/fcntl.h>
#include <linux/sockios.h>
#include <linux/termios.h>
#include <asm/unistd.h>
#include <asm/syscall.h>
#include "hop_internal.h"

/*
 * The syscalls a handler may make.  What is not here fails with EPERM inside
 * a hop.  A few are allowed only with certain arguments (hop_args_ok()).
 */
static const unsigned short hop_handler_syscalls[] = {
	/* I/O on the server's fds */
	__NR_read, __NR_write, __NR_pread64, __NR_pwrite64, __NR_readv, __NR_writev,
	__NR_preadv, __NR_pwritev, __NR_preadv2, __NR_pwritev2, __NR_lseek, __NR_close,
	__NR_close_range, __NR_dup, __NR_dup2, __NR_dup3, __NR_fcntl, __NR_flock,
	__NR_fsync, __NR_fdatasync, __NR_ftruncate, __NR_fallocate, __NR_sendfile,
	__NR_splice, __NR_tee, __NR_copy_file_range, __NR_sync_file_range,
	__NR_fadvise64, __NR_readahead, __NR_ioctl, __NR_pipe, __NR_pipe2,
	__NR_eventfd, __NR_eventfd2, __NR_memfd_create, __NR_timerfd_create,
	__NR_timerfd_settime, __NR_timerfd_gettime, __NR_inotify_init1,
	__NR_inotify_add_watch, __NR_inotify_rm_watch,
	/* paths, in the server's fs */
	__NR_open, __NR_openat, __NR_openat2, __NR_creat, __NR_stat, __NR_fstat,
	__NR_lstat, __NR_newfstatat, __NR_statx, __NR_access, __NR_faccessat,
	__NR_faccessat2, __NR_readlink, __NR_readlinkat, __NR_getdents,
	__NR_getdents64, __NR_mkdir, __NR_mkdirat, __NR_rmdir, __NR_unlink,
	__NR_unlinkat, __NR_rename, __NR_renameat, __NR_renameat2, __NR_link,
	__NR_linkat, __NR_symlink, __NR_symlinkat, __NR_chmod, __NR_fchmod,
	__NR_fchmodat, __NR_fchown, __NR_truncate, __NR_utimensat, __NR_statfs,
	__NR_fstatfs, __NR_getcwd, __NR_chdir, __NR_fchdir, __NR_umask,
	__NR_getxattr, __NR_lgetxattr, __NR_fgetxattr, __NR_listxattr,
	__NR_flistxattr, __NR_setxattr, __NR_fsetxattr, __NR_removexattr,
	__NR_fremovexattr,
	/* the server's memory */
	__NR_mmap, __NR_munmap, __NR_mprotect, __NR_mremap, __NR_madvise, __NR_brk,
	__NR_msync, __NR_mincore, __NR_mlock, __NR_mlock2, __NR_munlock,
	__NR_pkey_mprotect, __NR_pkey_alloc, __NR_pkey_free, __NR_membarrier,
	__NR_shmget, __NR_shmat, __NR_shmdt, __NR_shmctl, __NR_get_mempolicy,
	/* waiting and time */
	__NR_futex, __NR_futex_waitv, __NR_sched_yield, __NR_nanosleep,
	__NR_clock_nanosleep, __NR_clock_gettime, __NR_clock_getres,
	__NR_gettimeofday, __NR_time, __NR_getrandom, __NR_poll, __NR_ppoll,
	__NR_select, __NR_pselect6, __NR_epoll_create, __NR_epoll_create1,
	__NR_epoll_ctl, __NR_epoll_wait, __NR_epoll_pwait, __NR_epoll_pwait2,
	__NR_pause, __NR_restart_syscall,
	/* sockets, in the server's network namespace */
	__NR_socket, __NR_socketpair, __NR_connect, __NR_accept, __NR_accept4,
	__NR_bind, __NR_listen, __NR_sendto, __NR_recvfrom, __NR_sendmsg,
	__NR_recvmsg, __NR_sendmmsg, __NR_recvmmsg, __NR_shutdown,
	__NR_getsockname, __NR_getpeername, __NR_setsockopt, __NR_getsockopt,
	/* SysV messages and POSIX queues, in the server's IPC namespace */
	__NR_msgget, __NR_msgsnd, __NR_msgrcv, __NR_msgctl, __NR_semget,
	__NR_semctl, __NR_mq_open, __NR_mq_unlink, __NR_mq_timedsend,
	__NR_mq_timedreceive, __NR_mq_getsetattr,
	/* reading who and where it runs */
	__NR_getpid, __NR_gettid, __NR_getppid, __NR_getuid, __NR_geteuid,
	__NR_getgid, __NR_getegid, __NR_getgroups, __NR_getresuid, __NR_getresgid,
	__NR_getpgrp, __NR_getpgid, __NR_getsid, __NR_uname, __NR_sysinfo,
	__NR_getrusage, __NR_times, __NR_getcpu, __NR_sched_getaffinity,
	__NR_sched_getparam, __NR_sched_getscheduler, __NR_sched_getattr,
	__NR_sched_get_priority_max, __NR_sched_get_priority_min,
	__NR_sched_rr_get_interval, __NR_getpriority, __NR_getrlimit, __NR_capget,
	/* with argument checks (hop_args_ok) */
	__NR_rt_sigprocmask, __NR_kill, __NR_tkill, __NR_tgkill, __NR_prlimit64,
	__NR_prctl, __NR_arch_prctl,
	/* ending: the hop is unwound by the exit hook (docs/faults.md) */
	__NR_exit, __NR_exit_group,
};

static DECLARE_BITMAP(hop_allowed, NR_syscalls);

/* Is @nr, a pid number in current's namespace, a task of current's process? */
static bool hop_pid_is_own_group(pid_t nr)
{
	struct task_struct *t;
	bool own;

	if (nr <= 0)
		return true;	/* a process group or everyone: includes the caller */
	rcu_read_lock();
	t = pid_task(find_vpid(nr), PIDTYPE_PID);
	own = t && same_thread_group(t, current);
	rcu_read_unlock();
	return own;
}

/*
 * The handler's mask is the hop's: rt_sigprocmask() is answered here for a
 * hopped task and changes nothing (hop_hopped_sigprocmask()).  glibc's own
 * SIG_SETMASK always clears its two internal signals, so refusing would
 * break every libc function that saves and restores the mask.  The syscalls
 * that install a temporary mask for a wait (ppoll, pselect6, epoll_pwait*)
 * would deliver with it on the way out: they are allowed without one only.
 */
static bool hop_no_wait_sigmask(long nr, const struct pt_regs *regs)
{
	switch (nr) {
	case __NR_ppoll:
		return !regs->r10;
	case __NR_pselect6:
		return !regs->r9;
	case __NR_epoll_pwait:
	case __NR_epoll_pwait2:
		return !regs->r8;
	}
	return true;
}

/*
 * A file's owner is the process its SIGIO (or F_SETSIG's signal) goes to.
 * In a handler getpid() names the caller's process, and leases and dnotify
 * take current's process as the owner themselves: signals to the caller
 * arranged for after the hop (the kill freeze row, by another door).  Only
 * F_SETOWN with a pid outside the caller's process (or 0, none) is let
 * through: F_SETOWN_EX's pid is in memory the server's other threads could
 * change after the check.
 */
static bool hop_fcntl_ok(const struct pt_regs *regs)
{
	switch ((unsigned int)regs->si) {
	case F_SETOWN:
		return !regs->dx || !hop_pid_is_own_group((int)regs->dx);
	case F_SETOWN_EX:
	case F_SETLEASE:
	case F_NOTIFY:
		return false;
	}
	return true;
}

/*
 * ioctls that act on the caller's process through a file of the server's:
 * its session's controlling terminal (taking one, dropping it, the
 * foreground group, input injected as if typed there, the console) and a
 * socket's owner (FIOSETOWN, SIOCSPGRP: as F_SETOWN, the pid in memory).
 */
static bool hop_ioctl_ok(const struct pt_regs *regs)
{
	switch ((unsigned int)regs->si) {
	case TIOCSCTTY:
	case TIOCNOTTY:
	case TIOCSPGRP:
	case TIOCSTI:
	case TIOCCONS:
	case FIOSETOWN:
	case SIOCSPGRP:
		return false;
	}
	return true;
}

/* The argument checks of the syscalls allowed with conditions. */
static bool hop_args_ok(long nr, const struct pt_regs *regs)
{
	switch (nr) {
	case __NR_ppoll:
	case __NR_pselect6:
	case __NR_epoll_pwait:
	case __NR_epoll_pwait2:
		return hop_no_wait_sigmask(nr, regs);
	case __NR_kill:
		/* Not the caller's own process, which the handler is not. */
		return !hop_pid_is_own_group(regs->di);
	case __NR_tkill:
	case __NR_tgkill:
		/* To itself: a fault of the hop (hop_self_signal()), never sent. */
		return !hop_pid_is_own_group(regs->di);
	case __NR_prlimit64:
		return !regs->dx;		/* reading only */
	case __NR_prctl:
		switch (regs->di) {
		case PR_GET_NAME: case PR_GET_DUMPABLE: case PR_GET_NO_NEW_PRIVS:
		case PR_GET_TIMERSLACK:
			return true;
		}
		return false;
	case __NR_arch_prctl:
		return regs->di == ARCH_GET_FS || regs->di == ARCH_GET_GS;
	case __NR_close_range:
		return !(regs->dx & CLOSE_RANGE_UNSHARE);
	case __NR_fcntl:
		return hop_fcntl_ok(regs);
	case __NR_ioctl:
		return hop_ioctl_ok(regs);
	}
	return true;
}

/*
 * raise() and abort() in a handler: a signal the task sends itself is the
 * handler's fault, like a SIGSEGV.  It is not sent (the caller's sigaction
 * would run it, or it would stay pending for the caller); the hop is
 * aborted with ECONNABORTED instead.  Signal 0 only asks whether the task
 * exists.
 */
static bool hop_self_signal(long nr, const struct pt_regs *regs)
{
	struct hop_frame *f;
	int sig;

	/* The number first: the pid lookups are for these two only. */
	if (nr == __NR_tkill && (pid_t)regs->di == task_pid_vnr(current))
		sig = regs->si;
	else if (nr == __NR_tgkill && (pid_t)regs->si == task_pid_vnr(current) &&
		 (pid_t)regs->di == task_tgid_vnr(current))
		sig = regs->dx;
	else
		return false;
	if (sig <= 0 || sig >= _NSIG)
		return false;	/* the kernel's own checks answer */
	f = hop_current_frame();
	if (f) {
		int queued = f->fault_sig;

		hop_request_abort(f, HOP_ABORT_FAULT, sig);
		/* Nothing was queued: the abort must not dequeue a caller's signal. */
		f->fault_sig = queued;
	}
	return true;
}

/*
 * rt_sigprocmask() of a hopped task, done here: the mask stays the hop's.
 * Unblocking would let a caller's signal run in the handler with the
 * caller's sigaction; blocking one of the fault signals the hop leaves
 * deliverable would make the kernel force the fault through by resetting
 * its action, which is the caller's, to SIG_DFL.  Everything else the hop's
 * mask already blocks.  So the call is checked and answered as the kernel
 * would (the old mask, EINVAL, EFAULT) and changes nothing.
 */
static long hop_hopped_sigprocmask(const struct pt_regs *regs)
{
	sigset_t __user *nset = (sigset_t __user *)regs->si;
	sigset_t __user *oset = (sigset_t __user *)regs->dx;
	sigset_t old = current->blocked, new;

	if (regs->r10 != sizeof(sigset_t))
		return -EINVAL;
	if (nset) {
		if (copy_from_user(&new, nset, sizeof(new)))
			return -EFAULT;
		switch ((int)regs->di) {
		case SIG_BLOCK:
		case SIG_UNBLOCK:
		case SIG_SETMASK:
			break;
		default:
			return -EINVAL;
		}
	}
	if (oset && copy_to_user(oset, &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

/*
 * A syscall of a hopped task (intercept.c), judged by the handler list,
 * 64-bit syscalls only: HOP_SYSCALL_RUN lets it run; anything else is its
 * result, and it does not run.
 */
long hop_policy_handler_syscall(struct pt_regs *regs, long nr)
{
	if (in_ia32_syscall())
		return -EPERM;
	if (hop_self_signal(nr, regs))
		return 0;
	if (nr < 0 || nr >= NR_syscalls || !test_bit(nr, hop_allowed) || !hop_args_ok(nr, regs))
		return -EPERM;
	if (nr == __NR_rt_sigprocmask)
		return hop_hopped_sigprocmask(regs);
	return HOP_SYSCALL_RUN;
}

/* Does any thread of @p's process hop right now?  Caller holds RCU. */
static bool hop_group_hopped(struct task_struct *p)
{
	struct task_struct *t;

	for_each_thread(p, t)
		if (hop_task_frame(t))
			return true;
	return false;
}

static bool hop_group_hopped_now(struct task_struct *p)
{
	bool busy;

	if (!atomic_read(&hop_nr_frames))
		return false;
	rcu_read_lock();
	busy = hop_group_hopped(p);
	rcu_read_unlock();
	return busy;
}

/* The probed function returns -EBUSY at once, without running. */
static int hop_refuse_busy(struct pt_regs *regs)
{
	return hop_kprobe_return(regs, (unsigned long)-EBUSY);
}

/*
 * do_prlimit(tsk, resource, new, old), under setrlimit, prlimit64 and
 * their compat forms: no new limit for a process while one of its threads
 * hops (the limits a handler was let in with, hop_policy_check_caller()).
 */
static int hop_prlimit_pre(struct kprobe *p, struct pt_regs *regs)
{
	if (regs->dx && hop_group_hopped_now((struct task_struct *)regs->di))
		return hop_refuse_busy(regs);
	return 0;
}

/* do_seccomp(op, flags, uargs): a filter synced onto a hopped thread would judge its handler. */
static int hop_seccomp_pre(struct kprobe *p, struct pt_regs *regs)
{
	if (regs->di == SECCOMP_SET_MODE_FILTER && (regs->si & SECCOMP_FILTER_FLAG_TSYNC) &&
	    hop_group_hopped_now(current))
		return hop_refuse_busy(regs);
	return 0;
}

static struct kprobe hop_policy_probes[] = {
	{ .symbol_name = "do_prlimit", .pre_handler = hop_prlimit_pre },
	{ .symbol_name = "do_seccomp", .pre_handler = hop_seccomp_pre },
};

/* Calls that went through unrefused (hop_guards_hold()). */
unsigned long hop_policy_probes_missed(void)
{
	return READ_ONCE(hop_policy_probes[0].nmissed) | READ_ONCE(hop_policy_probes[1].nmissed);
}

/*
 * Does @tsk ignore a signal a handler's fault raises?  The kernel forces an
 * ignored (or blocked) fault signal through by resetting its action to
 * SIG_DFL (force_sig_info_to_task()), and the action is the caller's: a
 * server could take back the caller's choice.  Read without the siglock:
 * a sibling that changes it meanwhile changes its own process's state.
 */
static bool hop_ignores_a_fault_signal(struct task_struct *tsk)
{
	const struct k_sigaction *a = tsk->sighand->action;

#define HOP_IGN(sig) (READ_ONCE(a[(sig) - 1].sa.sa_handler) == SIG_IGN)
	return HOP_IGN(SIGSEGV) | HOP_IGN(SIGBUS) | HOP_IGN(SIGILL) | HOP_IGN(SIGFPE) |
	       HOP_IGN(SIGTRAP) | HOP_IGN(SIGSYS);
#undef HOP_IGN
}

/*
 * The refusals of the table above that the caller's own state decides.
 * Called by the caller itself, before anything is changed; @srv is the
 * server's group leader.
 */
int hop_policy_check_caller(struct task_struct *srv)
{
	struct task_struct *tsk = current;
	const struct rlimit *mine = tsk->signal->rlim, *theirs = srv->signal->rlim;

	if (tsk->seccomp.mode != SECCOMP_MODE_DISABLED)
		return -EPERM;
	if (hop_ignores_a_fault_signal(tsk))
		return -EPERM;
	/* A nested hop's caller is a handler, with the hop's own (intercept.c). */
	if (test_syscall_work(SYSCALL_USER_DISPATCH) && !hop_task_intercepted(tsk))
		return -EPERM;
	if (test_thread_flag(TIF_NOTSC) || test_thread_flag(TIF_NOCPUID))
		return -EPERM;
	if (hop_task_has_hw_breakpoints(tsk) || hop_task_has_perf_events(tsk))
		return -EPERM;
	if (tsk->personality != READ_ONCE(srv->personality))
		return -EPERM;
	/*
	 * Every hop asks: the six comparisons are written out and ORed, one
	 * branch instead of a loop over a table of limits (about 60
	 * instructions less a call).
	 */
#define HOP_BELOW(r) (READ_ONCE(mine[r].rlim_cur) < READ_ONCE(theirs[r].rlim_cur))
	if (HOP_BELOW(RLIMIT_FSIZE) | HOP_BELOW(RLIMIT_NOFILE) | HOP_BELOW(RLIMIT_AS) |
	    HOP_BELOW(RLIMIT_DATA) | HOP_BELOW(RLIMIT_MEMLOCK) | HOP_BELOW(RLIMIT_MSGQUEUE))
		return -EPERM;
#undef HOP_BELOW
	return 0;
}

/* The server's side: a sandboxed server cannot lend its handlers its filter. */
int hop_policy_check_server(struct task_struct *srv)
{
	return READ_ONCE(srv->seccomp.mode) != SECCOMP_MODE_DISABLED ? -EPERM : 0;
}

int hop_policy_init(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hop_handler_syscalls); i++)
		__set_bit(hop_handler_syscalls[i], hop_allowed);
	return hop_kprobes_register(hop_policy_probes, ARRAY_SIZE(hop_policy_probes),
				    "do_prlimit/do_seccomp");
}

void hop_policy_exit(void)
{
	hop_kprobes_unregister(hop_policy_probes, ARRAY_SIZE(hop_policy_probes));
}
