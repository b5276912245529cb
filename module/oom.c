// SPDX-License-Identifier: GPL-2.0
/*
 * oom.c: what the OOM killer sees of a process with hopped threads.
 *
 * The OOM killer takes a process's memory to be that of its first thread
 * with an mm (find_lock_task_mm()), and a process to share an mm when that
 * same thread has it (process_shares_mm()).  A hopped thread's mm is a
 * server's.  A client whose leader was hopped when its memory cgroup ran out
 * was scored and killed for the server's memory, and with it every process
 * "sharing" that mm: the server (fault_test
 * oom_killing_a_hopped_client_spares_the_server).  The OOM reaper is then
 * queued for that mm too.
 *
 * The two helpers are inlined into the OOM killer itself, so hop takes the
 * functions around them, with a kprobe at each entry that sends the call to
 * a function here while any frame exists (it changes the instruction
 * pointer, as bpf_override_return() does; the function here runs with the
 * original's arguments and returns to its caller):
 *
 *   oom_badness()          a copy that scores the process by a thread with
 *                          an mm of its own; a process whose threads are all
 *                          hopped scores by its oom_score_adj alone (its
 *                          mm is out of reach until a hop ends, and cannot
 *                          grow meanwhile: each thread runs in a server)
 *   oom_kill_process()     for a victim whose first thread with an mm is
 *                          foreign: SIGKILL to its process and nothing else
 *                          (below); any other victim: the kernel's own
 *   find_lock_task_mm(),   copies that pass over foreign threads, for their
 *   process_shares_mm()    callers elsewhere: whose oom_score_adj a write to
 *                          /proc/<pid>/oom_score_adj also sets, what
 *                          process_mrelease() reaps
 *
 * Foreign: hopped, or between the switch and the switch back
 * (hop_is_foreign(), guards.c).  A probe that missed a call (kprobes'
 * recursion check) let the original run: hop_guards_hold() then stops all
 * hops (ENOLCK).
 *
 * Left: the kernel's own kill also kills the processes whose first thread
 * shares the victim's mm, so a client hopped into a server the OOM killer
 * picks dies with it (a hop into a dying server would otherwise finish); a
 * memory cgroup with memory.oom.group kills its other members without this
 * check; and a leader that hops between the check here and the kernel's own
 * pick, a few hundred instructions later, would still be taken for the
 * server's mm.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/oom.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include "hop_internal.h"

/* find_lock_task_mm(), passing over foreign threads: the one found is locked. */
static struct task_struct *hop_find_lock_task_mm(struct task_struct *p)
{
	struct task_struct *t;

	rcu_read_lock();
	for_each_thread(p, t) {
		task_lock(t);
		/* Under task_lock: a hop's switch of t->mm waits for us. */
		if (likely(t->mm) && !hop_is_foreign(t))
			goto found;
		task_unlock(t);
	}
	t = NULL;
found:
	rcu_read_unlock();
	return t;
}

/* process_shares_mm(): the first thread with an mm of its own decides.  Caller holds RCU. */
static bool hop_process_shares_mm(struct task_struct *p, struct mm_struct *mm)
{
	struct task_struct *t;

	for_each_thread(p, t) {
		struct mm_struct *t_mm = READ_ONCE(t->mm);

		if (t_mm && !hop_is_foreign(t))
			return t_mm == mm;
	}
	return false;
}

/*
 * mm/oom_kill.c's oom_badness() (6.1 and 6.12 read alike), with the copy
 * of find_lock_task_mm() above.
 */
static long hop_oom_badness(struct task_struct *p, unsigned long totalpages)
{
	struct task_struct *t;
	long points = 0;
	long adj;

	if (is_global_init(p) || (p->flags & PF_KTHREAD))
		return LONG_MIN;
	t = hop_find_lock_task_mm(p);
	if (!t) {
		bool has_mm = false;

		/* No thread of its own mm: all hopped, or an mm-less process. */
		rcu_read_lock();
		for_each_thread(p, t)
			has_mm |= READ_ONCE(t->mm) != NULL;
		rcu_read_unlock();
		if (!has_mm)
			return LONG_MIN;
		adj = (long)READ_ONCE(p->signal->oom_score_adj);
		if (adj == OOM_SCORE_ADJ_MIN)
			return LONG_MIN;
	} else {
		adj = (long)t->signal->oom_score_adj;
		if (adj == OOM_SCORE_ADJ_MIN || test_bit(MMF_OOM_SKIP, &t->mm->flags) ||
		    in_vfork(t)) {
			task_unlock(t);
			return LONG_MIN;
		}
		points = get_mm_rss(t->mm) + get_mm_counter(t->mm, MM_SWAPENTS) +
			 mm_pgtables_bytes(t->mm) / PAGE_SIZE;
		task_unlock(t);
	}
	adj *= totalpages / 1000;
	return points + adj;
}

/*
 * oom_kill_process(oc, message) for a chosen victim whose first thread with
 * an mm is foreign: the kernel's would take the server's mm for the
 * victim's, kill the server with it and reap it.  Killing the victim's
 * process is what frees its memory: each hopped thread's exit puts its own
 * mm back first (hooks.c).  Marking the victim (memory reserves, and the
 * OOM killer waits for it) and reaping its mm are left out, since both act
 * on the mm it has now: the OOM killer may pick another victim before this
 * one is gone.  Consumes the victim's reference, as the kernel's does.
 */
static void hop_oom_kill_hopped(struct oom_control *oc, const char *message)
{
	struct task_struct *victim = oc->chosen;

	pr_err("%s: Killed process %d (%s), in a hop: its own memory is freed as it exits\n",
	       message, task_pid_nr(victim), victim->comm);
	send_sig_info(SIGKILL, SEND_SIG_PRIV, victim);
	put_task_struct(victim);
}

/* Is the thread the kernel's own find_lock_task_mm() would take foreign? */
static bool hop_first_mm_thread_foreign(struct task_struct *p)
{
	struct task_struct *t;
	bool foreign = false;

	rcu_read_lock();
	for_each_thread(p, t) {
		if (READ_ONCE(t->mm)) {
			foreign = hop_is_foreign(t);
			break;
		}
	}
	rcu_read_unlock();
	return foreign;
}

static int hop_find_lock_task_mm_pre(struct kprobe *kp, struct pt_regs *regs)
{
	return atomic_read(&hop_nr_frames) ? hop_kprobe_redirect(regs, hop_find_lock_task_mm) : 0;
}

static int hop_process_shares_mm_pre(struct kprobe *kp, struct pt_regs *regs)
{
	return atomic_read(&hop_nr_frames) ? hop_kprobe_redirect(regs, hop_process_shares_mm) : 0;
}

static int hop_oom_badness_pre(struct kprobe *kp, struct pt_regs *regs)
{
	return atomic_read(&hop_nr_frames) ? hop_kprobe_redirect(regs, hop_oom_badness) : 0;
}

static int hop_oom_kill_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct oom_control *oc = (struct oom_control *)regs->di;

	if (!atomic_read(&hop_nr_frames) || !hop_first_mm_thread_foreign(oc->chosen))
		return 0;	/* the kernel's own */
	return hop_kprobe_redirect(regs, hop_oom_kill_hopped);
}

static struct kprobe hop_oom_probes[] = {
	{ .symbol_name = "find_lock_task_mm", .pre_handler = hop_find_lock_task_mm_pre },
	{ .symbol_name = "process_shares_mm", .pre_handler = hop_process_shares_mm_pre },
	{ .symbol_name = "oom_badness", .pre_handler = hop_oom_badness_pre },
	{ .symbol_name = "oom_kill_process", .pre_handler = hop_oom_kill_pre },
};

unsigned long hop_oom_probes_missed(void)
{
	unsigned long missed = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hop_oom_probes); i++)
		missed |= READ_ONCE(hop_oom_probes[i].nmissed);
	return missed;
}

int hop_oom_init(void)
{
	return hop_kprobes_register(hop_oom_probes, ARRAY_SIZE(hop_oom_probes), "the OOM killer");
}

void hop_oom_exit(void)
{
	hop_kprobes_unregister(hop_oom_probes, ARRAY_SIZE(hop_oom_probes));
}
