/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hop_internal.h: the objects of hop.ko, their lifetimes and their lock order.
 *
 * Objects
 * -------
 * struct hop_service  A registered service.  Created by HOP_IOC_SERVE on a
 *     /dev/hop file (the "service file"), refcounted by a kref.  References are
 *     held by: the service file (dropped on release), every handle (a
 *     "[hop-conn]" anon file, dropped on release) and every hop frame running
 *     on one of its slots.  The last put frees it from a workqueue, because
 *     unpinning and vunmap() may sleep and the last put can come from the exit
 *     hook, which must not sleep (hooks.c).
 *
 * struct hop_frame    One hop in progress: the caller's saved state and the
 *     references to the server's identity it borrowed.  Created by HOP_IOC_CALL,
 *     destroyed by HOP_IOC_RETURN or, if the task dies mid-hop, by the exit hook.
 *     Only the hopping task itself creates, ends or unwinds its frames; other
 *     contexts (tracepoints, signal probes) may look a frame up under RCU and
 *     read it: frames come from a SLAB_TYPESAFE_BY_RCU cache, so that memory
 *     stays a frame for RCU readers, who recheck what they find (engine.c).
 *
 * struct hop_uring_task  (uring.c) The io_uring calls a task queued and not yet
 *     hopped into.  Created by the task's first HOP_URING_CALL, touched only by
 *     that task, freed when its queue is empty and no kick is queued: after the
 *     last queued hop returns or is aborted (hop_uring_kick), when a hop could
 *     not start, or when the task dies (exit hook, or the kick at exit).
 *
 * What a frame borrows: mmget() on the server mm, one count on the server's
 * files_struct and one user of its fs_struct, one on its nsproxy, the server
 * leader's credentials (one reference kept in srv_cred, one more installed
 * as the task's subjective cred), the slot and a service reference.  The caller's own mm/files/fs/cred references stay owned by the
 * frame while the hop runs and go back to the task on return.
 *
 * Locks, in the order they may nest (outer first)
 * ------------------------------------------------
 *   current->signal->cred_guard_mutex   held by hop_enter() from the switch
 *                               point's checks to the frame's push, so that
 *                               no tracer attaches in between (ptrace_attach
 *                               takes it)
 *   current->signal->exec_update_lock (rwsem, taken for write)  the same
 *                               stretch, inside the mutex as exec takes
 *                               them, so that no perf event attaches in
 *                               between (perf_event_open() holds it for
 *                               read from its ptrace check to the install);
 *                               nothing else of hop's nests in the two but
 *                               hop_tasks_lock
 *   hop_registry_lock (mutex)   the list of services, name uniqueness
 *   svc->lock (spinlock)        slot bitmap, in-flight count, dead flag
 *   task_lock(current)          swapping current->mm/files/fs
 *   hop_tasks_lock (spinlock)   the task -> innermost frame hash (writers)
 * hop_tasks_lock and svc->lock are never held together.  The exit hook takes
 * svc->lock, task_lock and hop_tasks_lock in the exiting task's process
 * context (hooks.c, exit_tramp.S), not in the kprobe handler: under
 * PREEMPT_RT all three are sleeping locks.  It still never sleeps otherwise
 * (the sleeping puts go to the reaper), so that the breakpoint-probe fallback
 * of a non-rt kernel without KPROBES_ON_FTRACE may run it atomically.
 */
#ifndef HOP_INTERNAL_H
#define HOP_INTERNAL_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/list_nulls.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/rcupdate.h>
#include <linux/hrtimer.h>
#include <linux/llist.h>
#include <linux/refcount.h>
#include <linux/kthread.h>
#include <linux/eventfd.h>
#include <linux/sched/signal.h>
#include <asm/ptrace.h>
#include <linux/hop.h>

struct mm_struct;
struct nsproxy;
struct hop_async;
struct files_struct;
struct fs_struct;
struct cred;
struct page;

/* One slot: a place in the server where one hop at a time can run. */
struct hop_slot {
	u64 stack_top;
	u64 tls;
	u64 cookie;
	u64 ubuf;		/* the buffer's address in the server */
	struct page **pages;	/* the buffer, pinned */
	unsigned int nr_pages;
	void *kbuf;		/* kernel mapping: request at 0, reply at msg_size */
	u64 robust_head;	/* robust.c: the slot's robust_list_head, 0: none */
	u32 robust_owner;	/* its owner id (HOP_ROBUST_OWNER_MIN..), 0: none */
};

struct hop_service {
	struct kref ref;
	struct list_head node;		/* hop_services, under hop_registry_lock */
	struct work_struct free_work;
	char name[HOP_NAME_MAX];
	const void *ipc_ns;		/* compared only: names are per IPC namespace */
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	u64 entry;
	u64 entry_regs;			/* HOP_IOC_CALL_REGS entry, 0: none */
	u32 msg_size;
	u64 timeout_ns;

	/* The server's identity, lent to each hop. */
	struct mm_struct *mm;		/* mmgrab(): the struct, not the address space */
	struct task_struct *leader;	/* get_task_struct(): source of files and fs */
	pid_t tgid;

	spinlock_t lock;
	bool dead;			/* no new calls; set by unserve or release */
	unsigned int in_flight;
	unsigned long *busy;		/* slot bitmap */
	wait_queue_head_t slot_wq;	/* callers waiting for a free slot */
	wait_queue_head_t drain_wq;	/* unserve waiting for in_flight == 0 */
	wait_queue_head_t hup_wq;	/* poll: service gone (handles), last handle gone (service fd) */
	atomic_t nr_handles;		/* open handles */
	bool had_handles;		/* one was ever opened: "last gone" means something */

	atomic64_t calls, aborted, faults, timeouts, client_deaths;
	atomic_t async_in_flight;	/* async calls waiting for the device */
	unsigned long locked_pages;	/* slot buffers charged to RLIMIT_MEMLOCK */
	kuid_t owner;			/* the serving user, for max_services_per_user */

	unsigned int nr_slots;
	struct hop_slot slots[];
};

/* Why a hop ended without HOP_IOC_RETURN (also a tracepoint field). */
enum hop_abort_reason {
	HOP_ABORT_FAULT = 1,		/* the handler took a fatal signal */
	HOP_ABORT_DEADLINE = 2,		/* the call's deadline expired */
	HOP_ABORT_CLIENT_DEATH = 3,	/* the hopping task exited */
	HOP_ABORT_SIGNAL = 4,		/* an unblocked signal from outside */
};

/*
 * The caller state a hop saves and restores.  The frame's memory is refcounted
 * (refs): one for the hop itself, one while the deadline timer is armed, one
 * while an abort task_work is queued; the last put frees it after RCU.
 */
struct hop_frame {
	struct hlist_nulls_node hnode;	/* hop_tasks, innermost frame only */
	struct rcu_head rcu;
	struct llist_node reap;		/* exit hook -> reaper work */
	refcount_t refs;
	struct task_struct *task;
	struct hop_frame *outer;	/* the frame this hop was made from, or NULL */
	unsigned int depth;		/* 1 for a hop made from a plain thread */
	bool ended;			/* popped; late timers and task_work do nothing */
	bool cached;			/* from hop_frame_cache, not kmalloc */
	bool has_deadline;		/* ->deadline is initialised and may be armed */
	bool regs_call;			/* HOP_IOC_CALL_REGS: the message is in registers */
	bool robust_to_reaper;		/* died atomically: the reaper walks the slot's robust list */
	struct hop_async *async;	/* HOP_CALL_ASYNC: the call being made, a reference */
	bool from_uring;		/* made by the io_uring path at syscall exit */
	void *io_uring;			/* the task's io_uring context at the call */
	struct hop_service *svc;	/* a reference */
	unsigned int slot;
	bool slot_freed;		/* let go before the frame's end (hop_frame_free_slot) */
	bool leaving;			/* done in the server: waits for the lock to leave */
	u64 reply_len;			/* HOP_IOC_RETURN's reply bytes, while the hop leaves */
	void *reply;			/* they, kept aside if the slot went first, or NULL */
	u64 req_len;
	u64 resp_uaddr;
	u64 resp_cap;
	u64 origin_uaddr;		/* where to store HOP_ORIGIN_*, or 0 */

	/* File descriptors through the call (fds.c). */
	unsigned int nreq_fds, nresp_fds;
	u32 rfds_cap;
	u64 rfds_uaddr, nrfds_uaddr;
	struct file *req_files[HOP_MAX_FDS];	/* installed in the server; a spare reference each */
	int req_fdnums[HOP_MAX_FDS];		/* their numbers there */
	struct file *resp_files[HOP_MAX_FDS];	/* attached by the handler; a reference each */
	u64 start_ns;

	/* Aborts: requested from any context, carried out by the task itself. */
	struct hrtimer deadline;
	struct callback_head abort_work;
	atomic_t abort_reason;		/* 0 or enum hop_abort_reason */
	int abort_sig;			/* the signal that caused HOP_ABORT_FAULT/SIGNAL */
	int fault_sig;			/* a fault the handler took here: discarded on unwind */

	/* Saved caller state. */
	struct pt_regs regs;
	unsigned long fsbase, gsbase;
	u32 pkru;			/* protection keys: not part of the fpstate swap */
	struct mm_struct *mm;
	struct files_struct *files;
	struct fs_struct *fs;
	struct nsproxy *nsproxy;
	const struct cred *cred;	/* the caller's subjective creds (real_cred stays) */
	sigset_t blocked;
	struct hop_rseq_saved rseq;
	unsigned int rseq_cpu;
	unsigned long rseq_switches;
	unsigned long sas_ss_sp;
	size_t sas_ss_size;
	unsigned int sas_ss_flags;
	struct syscall_user_dispatch dispatch;	/* the caller's (intercept.c) */
	bool dispatch_on;

	/* Borrowed server identity (what we installed). */
	struct mm_struct *srv_mm;
	struct files_struct *srv_files;
	struct fs_struct *srv_fs;
	struct nsproxy *srv_nsproxy;
	const struct cred *srv_cred;

	struct fpstate *caller_fpstate;	/* the task's own, swapped out for the hop */
	u8 fpu[] __aligned(64);		/* the handler's struct fpstate (identity.c) */
};

/*
 * A handle: what HOP_IOC_CONNECT returns, one per "[hop-conn]" file.  It owns
 * a service reference and the async calls made through it that have
 * completed but not been reaped.
 */
struct hop_handle {
	struct hop_service *svc;
	spinlock_t lock;		/* done, dead, eventfd */
	struct list_head done;		/* completed async calls, oldest first */
	bool dead;			/* released: completions are dropped */
	wait_queue_head_t wq;		/* poll */
	struct eventfd_ctx *eventfd;
	struct kref ref;		/* the file, and each async call in flight */
	atomic_t unreaped;		/* async calls made, not yet freed: bounded */
};

/*
 * One async call.  References: the handle's list while it waits to be reaped
 * (or the call itself until it completes), the frame while the handler runs,
 * the device operation while the device works.
 */
struct hop_devop {
	u32 offset, len;
	u8 *data;			/* HOP_DEV_SIZE bytes, filled at completion */
	u64 t_irq;			/* when the (real or simulated) interrupt came */
	struct list_head node;		/* the device's queue */
	struct hrtimer timer;		/* the timer source */
	struct work_struct bh;		/* the timer source's bottom half */
	void (*done)(struct hop_devop *op);	/* process context */
};

struct hop_async {
	struct kref ref;
	struct list_head node;		/* handle->done */
	struct hop_handle *handle;	/* a reference */
	struct hop_service *svc;	/* a reference */
	struct mm_struct *client_mm;	/* mmgrab(): the reply goes there */
	u64 user_data, resp_uaddr, resp_cap, server_dest;
	atomic_t completed;		/* 0 until exactly one completion */
	bool dev_started;
	struct hop_devop op;
	struct kthread_work kwork;	/* HOP_DELIVER_WORKER */
	struct io_uring_cmd *uring_cmd;	/* completes as a CQE instead of on the handle */
	struct hop_async_result res;
};

/* fds.c: file descriptors through a call. */
struct hop_fds;
int hop_fds_take(struct file **files, const s32 __user *ufds, unsigned int n);
void hop_fds_put(struct file **files, unsigned int n);
int hop_fds_install(struct file **files, unsigned int n, int *nums, s32 __user *unums);
void hop_fds_abort(struct hop_frame *f);
void hop_fds_abort_from_reaper(struct hop_frame *f);
void hop_fds_release(struct hop_frame *f);
long hop_fds_recv(struct hop_frame *f, const struct hop_fds __user *uarg);
long hop_fds_send(struct hop_frame *f, const struct hop_fds __user *uarg);

/* main.c */
long hop_compat_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* handle.c */
int hop_handle_create(struct hop_service *svc, int flags);
void hop_handle_put(struct hop_handle *h);

/* async.c */
struct hop_async *hop_async_new(struct hop_handle *h, const struct hop_call *c);
void hop_async_put(struct hop_async *a);
void hop_async_complete(struct hop_async *a, long result);
void hop_async_abandon(struct hop_async *a);
long hop_async_dev_read(struct hop_service *svc, const struct hop_dev_read __user *uarg);
int hop_async_nr_alive(void);
int hop_async_init(void);
void hop_async_exit(void);

/* uring.c: async calls submitted as IORING_OP_URING_CMD. */
int hop_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags);
void hop_uring_complete(struct hop_async *a);
void hop_uring_kick(void);
void hop_uring_task_dying(void);
extern atomic_t hop_uring_deferred;
int hop_uring_init(void);
void hop_uring_exit(void);

/* device.c: the slow device behind HOP_IOC_DEV_READ. */
int hop_device_submit(struct hop_devop *op);
const char *hop_device_describe(void);
int hop_device_init(void);
void hop_device_exit(void);

/* ksyms.c: kernel functions that are not exported, looked up once at load. */
struct hop_ksyms {
	void (*switch_mm_irqs_off)(struct mm_struct *prev, struct mm_struct *next,
				   struct task_struct *tsk);
	void (*membarrier_update_current_mm)(struct mm_struct *next_mm);
	void (*sync_mm_rss)(struct mm_struct *mm);	/* 6.1 only */
	void (*put_files_struct)(struct files_struct *files);
	void (*free_fs_struct)(struct fs_struct *fs);
	void (*current_save_fsgs)(void);		/* kernels without KVM */
	void (*free_nsproxy)(struct nsproxy *ns);
	void (*mm_update_next_owner)(struct mm_struct *mm);	/* CONFIG_MEMCG */
	u32 *init_pkru_value;				/* protection keys */
	bool *kprobes_all_disarmed;			/* debugfs kprobes/enabled */
	long (*do_futex)(u32 __user *uaddr, int op, u32 val, ktime_t *timeout,
			 u32 __user *uaddr2, u32 val2, u32 val3);	/* robust.c */
};
extern struct hop_ksyms hop_ksyms;
int hop_ksyms_init(void);
struct kprobe;
struct kretprobe;
/*
 * A kprobe pre-handler's way to send the probed call to @to instead, as
 * bpf_override_return() does: @to runs with the original's arguments and
 * returns to its caller.  Returns what the pre-handler returns.
 */
static inline int hop_kprobe_redirect(struct pt_regs *regs, void *to)
{
	instruction_pointer_set(regs, (unsigned long)to);
	return 1;	/* kprobes leaves the new instruction pointer alone */
}
int hop_kprobes_register(struct kprobe *kps, unsigned int n, const char *what);
void hop_kprobes_unregister(struct kprobe *kps, unsigned int n);
int hop_kretprobes_register(struct kretprobe *rps, unsigned int n, const char *what);
void hop_kretprobes_unregister(struct kretprobe *rps, unsigned int n);

/* robust.c: robust futexes on slots */
int hop_robust_setup(struct hop_service *svc, u64 uarray);
void hop_robust_free(struct hop_service *svc);
void hop_robust_abort(struct hop_service *svc, unsigned int slot);
void hop_robust_abort_from_reaper(struct hop_service *svc, unsigned int slot);
void hop_robust_exit(void);

/* registry.c */
long hop_serve(struct hop_service **published, const struct hop_serve __user *uarg);
void hop_service_shutdown(struct hop_service *svc);
long hop_unserve(struct hop_service *svc);
long hop_connect(const struct hop_connect __user *uarg);
long hop_service_info(struct hop_service *svc, struct hop_service_info __user *uarg);
void hop_service_put(struct hop_service *svc);
int hop_claim_slot(struct hop_service *svc, bool nonblock, u64 timeout_ns);
void hop_release_slot(struct hop_service *svc, unsigned int slot);
int hop_nr_services_alive(void);

/* identity.c: swapping mm, files, fs, creds, FPU, FS base, signals, rseq. */
int hop_identity_borrow(struct hop_service *svc, struct hop_frame *f);
void hop_identity_enter(struct hop_frame *f, struct hop_service *svc,
			struct hop_slot *slot);
void hop_identity_leave(struct hop_frame *f);
void hop_identity_leave_dying(struct hop_frame *f);
void hop_identity_drop_borrowed(struct hop_frame *f);
bool hop_signal_deliverable_pending(void);
void hop_caller_describe(const struct hop_frame *f, struct hop_caller *out);
extern sigset_t hop_hop_blocked;
unsigned int hop_fpu_size(void);
long hop_switch_probe(struct hop_service *svc);
int hop_identity_init(void);

/* engine.c: calls, returns and aborts. */
long hop_call(struct hop_service *svc, struct hop_handle *h, const struct hop_call __user *uarg);
int hop_call_copy(struct hop_call *c, const struct hop_call __user *uarg);
int hop_call_check(struct hop_service *svc, const struct hop_call *c);
int hop_enter(struct hop_service *svc, const struct hop_call *c, struct hop_async *async,
	      bool from_uring);
struct hop_frame *hop_current_frame(void);
long hop_return(struct hop_service *svc, const struct hop_return __user *uarg);
long hop_caller_info(struct hop_service *svc, struct hop_caller __user *uarg);
long hop_frame_fds_ioctl(struct hop_service *svc, unsigned int cmd, void __user *uarg);
long hop_call_regs(struct hop_service *svc, unsigned long arg);
long hop_return_regs(struct hop_service *svc, long result);
long hop_sys_return(struct pt_regs *regs);
/* hop_call.flags bit the kernel sets for HOP_IOC_CALL_REGS (never from user space). */
#define HOP_CALL_INTERNAL_REGS	(1U << 31)
struct hop_frame *hop_task_frame(struct task_struct *t);
unsigned long hop_task_gen(struct task_struct *t);
bool hop_task_in_service(struct task_struct *t, struct hop_service *svc);
void hop_request_abort(struct hop_frame *f, enum hop_abort_reason why, int sig);
void hop_frames_unwind_dying(bool can_sleep);
void hop_frame_put(struct hop_frame *f);
extern atomic_t hop_nr_frames;
int hop_engine_init(void);
void hop_engine_exit(void);

/* hooks.c: the do_exit kprobe, the signal_generate probe, the held stop. */
int hop_hooks_init(void);
void hop_hooks_exit(void);
void hop_stop_release_dying(void);

/* debugfs.c: /sys/kernel/debug/hop/stats */
void hop_debugfs_init(void);
void hop_debugfs_exit(void);

/* guards.c: operations refused to and about hopped tasks. */
int hop_guards_init(void);
void hop_guards_exit(void);
bool hop_guards_hold(void);
bool hop_is_foreign(struct task_struct *t);

/* oom.c: the OOM killer judges a process by a thread of its own mm. */
int hop_oom_init(void);
void hop_oom_exit(void);
unsigned long hop_oom_probes_missed(void);

/* policy.c: what a hop switches, refuses and freezes (the table). */
int hop_policy_check_caller(struct task_struct *srv);
int hop_policy_check_server(struct task_struct *srv);
int hop_policy_init(void);
void hop_policy_exit(void);
long hop_policy_handler_syscall(struct pt_regs *regs, long nr);
unsigned long hop_policy_probes_missed(void);
/* What the judge of a hopped task's syscall says besides an errno (intercept.c). */
#define HOP_SYSCALL_RUN		1L	/* let it run */
#define HOP_SYSCALL_DONE	2L	/* skip it: hop has set its registers */

/* intercept.c: a hopped task's syscalls pass through hop. */
void hop_intercept_arm(struct hop_frame *f);
void hop_intercept_disarm(struct hop_frame *f);
bool hop_task_intercepted(struct task_struct *t);
struct hop_frame *hop_intercepted_frame(void);
int hop_intercept_init(void);
void hop_intercept_exit(void);

/* exit_tramp.S: where a kprobe that overrides a function's result returns. */
void hop_override_return(void);

/*
 * A kprobe pre-handler's way to make the probed function return @value at
 * once, without running (policy.c, guards.c).  Returns what the
 * pre-handler returns.
 */
static inline int hop_kprobe_return(struct pt_regs *regs, unsigned long value)
{
	regs->ax = value;
	return hop_kprobe_redirect(regs, hop_override_return);
}

#endif /* HOP_INTERNAL_H */
