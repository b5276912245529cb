// SPDX-License-Identifier: GPL-2.0
/*
 * identity.c: moving the current task into a service's identity and back.
 *
 * A hop changes what the task *is* to user space without changing the task:
 * its address space (mm), file table, fs (cwd, root, umask), credentials, FS
 * and GS base, FPU/vector registers, blocked signals, rseq registration and
 * sigaltstack, and namespaces (nsproxy).  Everything saved lives in the
 * hop_frame; hop_identity_leave() puts back exactly what hop_identity_enter()
 * took away.  Which state is switched, and which is refused or frozen
 * instead, is decided in policy.c's table.  The sequence for the
 * mm mirrors kthread_use_mm()/exit_mm(), which cannot be used on a user task
 * (see notes/kernel-internals.md, section 1).
 */
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/sched/signal.h>
#include <linux/mm.h>
#include <linux/fdtable.h>
#include <linux/fs_struct.h>
#include <linux/cred.h>
#include <linux/signal.h>
#include <linux/rseq.h>
#include <linux/vmalloc.h>
#include <linux/nsproxy.h>
#include <linux/pid_namespace.h>
#include <linux/user_namespace.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/pkru.h>
#include <asm/fsgsbase.h>
#include <asm/msr.h>
#include <asm/mmu_context.h>
#include "hop_internal.h"

/*
 * What stays deliverable during a hop: SIGKILL and the synchronous.  SIGSTOP
 * is held like the rest (sigprocmask() never lets a task block it; the
 * kernel itself honours a blocked SIGSTOP): a stop waits for the hop's end
 * (hooks.c, uprobe_deny_signal).
 */
sigset_t hop_hop_blocked;

static void hop_signals_init(void)
{
	sigfillset(&hop_hop_blocked);
	sigdelsetmask(&hop_hop_blocked,
		      sigmask(SIGKILL) | sigmask(SIGSEGV) |
		      sigmask(SIGBUS) | sigmask(SIGILL) | sigmask(SIGFPE) |
		      sigmask(SIGTRAP) | sigmask(SIGSYS));
}

/*
 * Swap current's blocked mask.  sigprocmask() also retargets shared pending
 * signals to other threads when a thread blocks them; a hop need not: a
 * signal that arrives for the process during the hop ends the hop
 * (hooks.c), and one already pending waits the hop's few microseconds.
 */
static void hop_set_blocked(const sigset_t *set, sigset_t *old)
{
	struct task_struct *tsk = current;

	spin_lock_irq(&tsk->sighand->siglock);
	if (old)
		*old = tsk->blocked;
	tsk->blocked = *set;
	recalc_sigpending();
	spin_unlock_irq(&tsk->sighand->siglock);
}

/*
 * Install @next as current's mm.  Callable from the exit hook, so it must not
 * sleep: interrupts go off to hold back TLB-flush IPIs while loaded_mm and
 * current->mm disagree.  The caller owns the references on both mms.
 */
static void hop_switch_mm(struct mm_struct *next)
{
	struct task_struct *tsk = current;
	struct mm_struct *prev = tsk->mm;
	unsigned long flags;

	if (HOP_NEED_SYNC_MM_RSS)
		hop_ksyms.sync_mm_rss(prev);
	local_irq_save(flags);
	/* A user task's active_mm holds no reference of its own. */
	tsk->active_mm = next;
	tsk->mm = next;
	hop_ksyms.membarrier_update_current_mm(next);
	hop_ksyms.switch_mm_irqs_off(prev, next, tsk);
	local_irq_restore(flags);
	/* Order the mm change against later user accesses, as kthread_use_mm(). */
	smp_mb();
}

static void hop_fsgs_write(unsigned long fsbase, unsigned long gsbase)
{
	unsigned long flags;

	preempt_disable();
	loadsegment(fs, 0);
	x86_fsbase_write_cpu(fsbase);
	current->thread.fsindex = 0;
	/* Without FSGSBASE the context switch trusts thread.fsbase. */
	current->thread.fsbase = fsbase;
	/* In the kernel the user GS base sits in KERNEL_GS_BASE (after swapgs). */
	local_irq_save(flags);
	wrmsrl(MSR_KERNEL_GS_BASE, gsbase);
	local_irq_restore(flags);
	current->thread.gsbase = gsbase;
	preempt_enable();
}

/*
 * The FPU/vector state.  A hop does not copy it: the handler gets an fpstate
 * of its own (in the frame), and the task's fpu->fpstate pointer is swapped
 * to it and back, the way KVM swaps in a guest's fpstate.  kernel_fpu_begin()
 * first saves the live registers into the fpstate they belong to and marks
 * them for reload (TIF_NEED_FPU_LOAD), so the return to user mode loads the
 * handler's fpstate (every component in its init state) on the way in and the
 * caller's, untouched, on the way out.  Nothing of either side's registers
 * reaches the other.
 */
unsigned int hop_fpu_size(void)
{
	return offsetof(struct fpstate, regs) + current->thread.fpu.fpstate->size;
}

static void hop_fpu_enter(struct hop_frame *f)
{
	struct fpu *fpu = &current->thread.fpu;
	struct fpstate *hfps = (struct fpstate *)f->fpu;
	struct fpstate *cfps;

	kernel_fpu_begin_mask(0);
	cfps = fpu->fpstate;
	/* The same kind of fpstate (sizes, features, XFD) in init state. */
	memcpy(hfps, cfps, offsetof(struct fpstate, regs));
	hfps->is_valloc = false;
	if (cpu_feature_enabled(X86_FEATURE_XSAVE)) {
		hfps->regs.xsave.header.xfeatures = 0;
		hfps->regs.xsave.header.xcomp_bv = cfps->regs.xsave.header.xcomp_bv;
		memset(hfps->regs.xsave.header.reserved, 0,
		       sizeof(hfps->regs.xsave.header.reserved));
		/* XRSTOR loads MXCSR whatever XSTATE_BV says. */
		hfps->regs.xsave.i387.mxcsr = MXCSR_DEFAULT;
	} else {
		memset(&hfps->regs.fxsave, 0, sizeof(hfps->regs.fxsave));
		hfps->regs.fxsave.cwd = 0x37f;
		hfps->regs.fxsave.mxcsr = MXCSR_DEFAULT;
	}
	f->caller_fpstate = cfps;
	fpu->fpstate = hfps;
	kernel_fpu_end();
}

/* Free what the handler made of its fpstate (an XFD feature it enabled). */
static void hop_fpu_drop_handlers(struct hop_frame *f, struct fpstate *now)
{
	if (now != (struct fpstate *)f->fpu && now->is_valloc)
		vfree(now);
}

/*
 * The handler's registers are not saved on the way out: its fpstate is
 * thrown away, so kernel_fpu_begin()'s XSAVE of them would be wasted (an
 * XSAVE and about 80 instructions a hop).  Under fpregs_lock(), as the FPU
 * code asks of whoever edits fpu->fpstate: the caller's fpstate goes back,
 * TIF_NEED_FPU_LOAD makes the return to user mode XRSTOR it (every
 * component: what the handler left in the live registers is overwritten),
 * and last_cpu = -1 makes sure that return does not take the live
 * registers for the caller's (fpregs_state_valid() compares it with the
 * CPU; the owner pointer is the same struct fpu before and after).  With
 * the flag set, neither a context switch nor a kernel_fpu_begin() in an
 * interrupt saves the live registers into either fpstate.
 */
static void hop_fpu_leave(struct hop_frame *f)
{
	struct fpu *fpu = &current->thread.fpu;
	struct fpstate *now;

	fpregs_lock();
	now = fpu->fpstate;
	fpu->fpstate = f->caller_fpstate;
	fpu->last_cpu = -1;
	set_thread_flag(TIF_NEED_FPU_LOAD);
	fpregs_unlock();
	hop_fpu_drop_handlers(f, now);
}

/*
 * The exit hook (must not sleep): the caller's fpstate back under the task
 * before the exit path or a core dump looks at it.  The live registers are
 * the handler's: mark them stale rather than save them.  fpregs_lock(): the
 * hook runs preemptible now (hooks.c), and neither a context switch nor a
 * softirq's kernel_fpu_begin() may see the flag and the pointer half done.
 */
static void hop_fpu_leave_dying(struct hop_frame *f)
{
	fpregs_lock();
	set_thread_flag(TIF_NEED_FPU_LOAD);
	/* vfree() may not run here; an XFD fpstate made mid-hop is leaked (rare). */
	current->thread.fpu.fpstate = f->caller_fpstate;
	fpregs_unlock();
}

/*
 * Take the references a hop borrows from the service: the address space (fails
 * once the server's last user is gone), and the file table, fs, namespaces
 * and credentials of the server's group leader as they are now (the first
 * three are gone once it has passed exit_files()/exit_fs()/
 * exit_task_namespaces()).  A leader that is itself hopped somewhere else
 * (leader->mm is not the server's) has nothing of its own to lend.
 */
int hop_identity_borrow(struct hop_service *svc, struct hop_frame *f)
{
	struct task_struct *leader = svc->leader;
	int err = -ECONNREFUSED;

	if (!mmget_not_zero(svc->mm))
		return err;
	task_lock(leader);
	if (leader->files && leader->fs && leader->nsproxy && leader->mm == svc->mm) {
		f->srv_files = leader->files;
		/*
		 * A count of one lets fdget() skip the file reference, which is
		 * wrong once two tasks use the table: take a real count.
		 */
		atomic_inc(&f->srv_files->count);
		f->srv_fs = leader->fs;
		spin_lock(&f->srv_fs->lock);
		f->srv_fs->users++;
		spin_unlock(&f->srv_fs->lock);
		f->srv_nsproxy = leader->nsproxy;
		get_nsproxy(f->srv_nsproxy);
		/* Changed only by the leader itself, under RCU: a counted copy. */
		f->srv_cred = get_task_cred(leader);
		err = 0;
	}
	task_unlock(leader);
	if (err) {
		mmput(svc->mm);
		return err;
	}
	f->srv_mm = svc->mm;
	return 0;
}

/*
 * The caller as the server sees it (HOP_IOC_CALLER): ids in the server's pid
 * and user namespaces.  Computed when asked, not at every call: the frame
 * keeps the credentials the caller had at HOP_IOC_CALL (f->cred, which no
 * one changes), and its task's ids never change.
 */
void hop_caller_describe(const struct hop_frame *f, struct hop_caller *out)
{
	struct user_namespace *uns = f->srv_cred->user_ns;
	const struct cred *cred = f->cred;
	struct pid_namespace *pns;

	memset(out, 0, sizeof(*out));
	rcu_read_lock();
	pns = task_active_pid_ns(f->svc->leader);
	if (pns) {
		out->pid = task_tgid_nr_ns(f->task, pns);
		out->tid = task_pid_nr_ns(f->task, pns);
	}
	rcu_read_unlock();
	out->uid = from_kuid_munged(uns, cred->uid);
	out->gid = from_kgid_munged(uns, cred->gid);
	out->euid = from_kuid_munged(uns, cred->euid);
	out->egid = from_kgid_munged(uns, cred->egid);
}

static void hop_nsproxy_put(struct nsproxy *ns)
{
	/* put_nsproxy(), whose free_nsproxy() is not exported. */
	if (hop_nsproxy_dec_and_test(ns))
		hop_ksyms.free_nsproxy(ns);
}

static void hop_fs_put(struct fs_struct *fs)
{
	bool last;

	spin_lock(&fs->lock);
	last = !--fs->users;
	spin_unlock(&fs->lock);
	if (last)
		hop_ksyms.free_fs_struct(fs);
}

/* Drop what hop_identity_borrow() took.  Sleeps; process context only. */
void hop_identity_drop_borrowed(struct hop_frame *f)
{
	hop_ksyms.put_files_struct(f->srv_files);
	hop_fs_put(f->srv_fs);
	hop_nsproxy_put(f->srv_nsproxy);
	put_cred(f->srv_cred);
	mmput(f->srv_mm);
}

/*
 * Swap mm, files, fs, namespaces and the subjective credentials; returns
 * nothing because nothing can fail.  The handler cannot replace files, fs or
 * nsproxy itself (unshare, setns are frozen, policy.c), so what leave puts
 * back is exactly what enter installed and the borrowed references are
 * dropped once.
 *
 * Only ->cred, the credentials the task acts with, become the server's (as
 * override_creds() does).  ->real_cred, those others see and act on it by
 * (kill_ok_by_cred(), setpriority, /proc/<tid> ownership and status, LSM
 * object labels), stay the caller's: with the server's there, any process
 * of the server's user could kill the client in mid-call (review #14).
 */
static void hop_swap_identity(struct mm_struct *mm, struct files_struct *files,
			      struct fs_struct *fs, struct nsproxy *nsproxy,
			      const struct cred *cred)
{
	struct task_struct *tsk = current;

	task_lock(tsk);
	hop_switch_mm(mm);
	tsk->files = files;
	tsk->fs = fs;
	tsk->nsproxy = nsproxy;
	task_unlock(tsk);
	/* Only current writes its own credentials; readers use RCU. */
	rcu_assign_pointer(tsk->cred, cred);
}

void hop_identity_enter(struct hop_frame *f, struct hop_service *svc,
			struct hop_slot *slot)
{
	struct task_struct *tsk = current;

	/* Caller state.  current_save_fsgs() syncs thread.fsbase/gsbase. */
	if (HOP_NEED_SAVE_FSGS_LOOKUP)
		hop_ksyms.current_save_fsgs();
	else
		current_save_fsgs();
	f->fsbase = tsk->thread.fsbase;
	f->gsbase = tsk->thread.gsbase;
	hop_fpu_enter(f);
	/*
	 * PKRU is user-writable and not restored from the FPU buffer on the
	 * way out: the handler starts with the default a new thread gets, and
	 * whatever it writes stays in the hop.
	 */
	f->pkru = read_pkru();
	if (hop_ksyms.init_pkru_value)
		write_pkru(READ_ONCE(*hop_ksyms.init_pkru_value));
	hop_set_blocked(&hop_hop_blocked, &f->blocked);
	/*
	 * A hop that io_uring_enter() starts on its way out (uring.c) can find
	 * the syscall's wait mask (IORING_ENTER_EXT_ARG) still on, the
	 * caller's own in saved_sigmask for the signal path to put back, which
	 * would put it back in the middle of the handler: the caller's is
	 * the one to keep, and the syscall's ends here, with the syscall.
	 */
	if (test_restore_sigmask()) {
		f->blocked = tsk->saved_sigmask;
		clear_restore_sigmask();
	}
	hop_rseq_park(tsk, &f->rseq);
	/* Where the task ran, and how often it was switched out (rseq, below). */
	f->rseq_cpu = raw_smp_processor_id();
	f->rseq_switches = tsk->nvcsw + tsk->nivcsw;
	f->sas_ss_sp = tsk->sas_ss_sp;
	f->sas_ss_size = tsk->sas_ss_size;
	f->sas_ss_flags = tsk->sas_ss_flags;
	tsk->sas_ss_sp = 0;
	tsk->sas_ss_size = 0;
	tsk->sas_ss_flags = SS_DISABLE;

	f->mm = tsk->mm;
	f->files = tsk->files;
	f->fs = tsk->fs;
	f->nsproxy = tsk->nsproxy;
	f->cred = tsk->cred;
	hop_swap_identity(f->srv_mm, f->srv_files, f->srv_fs, f->srv_nsproxy,
			  get_cred(f->srv_cred));
	hop_fsgs_write(slot->tls, 0);
	/* The handler's syscalls pass through hop. */
	hop_intercept_arm(f);
}

/*
 * The part of leaving that never sleeps (the exit hook, see hooks.c).  A
 * dying task keeps the hop's dispatch setting, the mark that it may hold a
 * server's mm (hop_task_intercepted()): it is unwound without
 * exec_update_lock, so a reader in mm_access() may have taken the server's
 * mm just before, and its ptrace check must still find the task foreign
 * (guards.c).  It makes no syscall again.
 */
static void hop_identity_restore_core(struct hop_frame *f, bool dying)
{
	struct task_struct *tsk = current;
	const struct cred *cred = tsk->cred;

	hop_swap_identity(f->mm, f->files, f->fs, f->nsproxy, f->cred);
	/*
	 * If the server's last thread exited during the hop, the kernel may have
	 * made this task the server mm's owner: hand it on as exit_mm() would,
	 * or it would point at this task after it is gone (review #13).
	 */
	if (hop_mm_owned_by(f->srv_mm, tsk))
		hop_ksyms.mm_update_next_owner(f->srv_mm);
	/* put_cred() is safe here: the final free goes through RCU. */
	put_cred(cred);
	hop_rseq_unpark(tsk, &f->rseq);
	if (!dying)
		hop_intercept_disarm(f);
	tsk->sas_ss_sp = f->sas_ss_sp;
	tsk->sas_ss_size = f->sas_ss_size;
	tsk->sas_ss_flags = f->sas_ss_flags;
}

void hop_identity_leave(struct hop_frame *f)
{
	hop_identity_restore_core(f, false);
	hop_fsgs_write(f->fsbase, f->gsbase);
	hop_fpu_leave(f);
	write_pkru(f->pkru);
	/* Signals that arrived during the hop are delivered now, to the caller. */
	hop_set_blocked(&f->blocked, NULL);
	/*
	 * While parked, rseq heard of no migration or preemption: if there was
	 * one, the cpu/mm_cid fields of the caller's rseq area are stale.  (No
	 * rseq critical section of the caller's can be running: it is in a
	 * syscall.)  Otherwise the refresh, and its user accesses, are skipped.
	 */
	if (raw_smp_processor_id() != f->rseq_cpu ||
	    current->nvcsw + current->nivcsw != f->rseq_switches)
		rseq_set_notify_resume(current);
}

/*
 * Is a signal pending that the hop's mask lets through?  One generated
 * after the switch aborts the hop through the signal_generate probe; this
 * finds one that was pending before (the caller blocked and raised it).
 */
bool hop_signal_deliverable_pending(void)
{
	struct task_struct *tsk = current;
	unsigned long pending;

	/* Setting the hop's mask recalculated TIF_SIGPENDING: clear, nothing to do. */
	if (!test_thread_flag(TIF_SIGPENDING))
		return false;
	spin_lock_irq(&tsk->sighand->siglock);
	pending = (tsk->pending.signal.sig[0] | tsk->signal->shared_pending.signal.sig[0]) &
		  ~tsk->blocked.sig[0];
	spin_unlock_irq(&tsk->sighand->siglock);
	/*
	 * SIGKILL and SIGSTOP never abort a hop (hooks.c, hop_sig_would_deliver):
	 * the task dies through the exit hook, or stops after the hop.  One that
	 * came between the slot claim and this check must not either, or the
	 * same SIGSTOP would fail the call with EINTR or not depending on a
	 * race (seen on the rt kernel, when fault_test had sigstop_sigcont_mid_hop).
	 */
	return pending & ~(sigmask(SIGKILL) | sigmask(SIGSTOP));
}

/*
 * The task is exiting: put back what exit_mm(), exit_files() and the futex and
 * rseq exit code will look at, what a core dump reads, and the mask the exit
 * path hands shared signals on by.
 */
void hop_identity_leave_dying(struct hop_frame *f)
{
	unsigned long flags;

	hop_identity_restore_core(f, true);
	hop_fpu_leave_dying(f);
	/*
	 * And what a core dump of the process shows of this thread, its
	 * NT_PRSTATUS note: the caller's registers, FS and GS base, not the
	 * handler's (fault_test core_of_a_client_killed_mid_hop_shows_the_client).
	 * Innermost first, so the outermost caller's are what stays.
	 */
	hop_fsgs_write(f->fsbase, f->gsbase);
	*current_pt_regs() = f->regs;
	/*
	 * And the caller's mask, which exit_signals() uses to hand shared
	 * signals on to another thread.  Irqsave: the fallback hook of
	 * hooks.c runs with interrupts off.
	 */
	spin_lock_irqsave(&current->sighand->siglock, flags);
	current->blocked = f->blocked;
	spin_unlock_irqrestore(&current->sighand->siglock, flags);
}

/*
 * HOP_IOC_SWITCH_PROBE: the floor under a hop, one switch into the service's
 * address space and back with nothing else, for the benchmarks.
 */
long hop_switch_probe(struct hop_service *svc)
{
	struct mm_struct *own = current->mm;

	if (!mmget_not_zero(svc->mm))
		return -ECONNREFUSED;
	task_lock(current);
	hop_switch_mm(svc->mm);
	hop_switch_mm(own);
	task_unlock(current);
	mmput(svc->mm);
	return 0;
}

int hop_identity_init(void)
{
	hop_signals_init();
	return 0;
}
