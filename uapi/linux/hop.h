/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hop: process hopping (thread-migration IPC) for Linux, the ioctl ABI of /dev/hop.
 *
 * Every structure has fixed-width fields, pointers travel as __u64, and each
 * command struct that can grow starts with a size field.  Unknown flag bits and
 * non-zero reserved fields are rejected with -EINVAL so that they can be given
 * a meaning later.
 *
 * Object model, in one paragraph: a server opens /dev/hop and turns that file
 * into a *service* with HOP_IOC_SERVE.  A client opens /dev/hop and asks for a
 * *handle* to a service by name with HOP_IOC_CONNECT; the handle is a new file
 * descriptor that can be passed over a UNIX socket like any other.  HOP_IOC_CALL
 * on a handle moves the calling thread into the server (address space, files,
 * cwd, credentials) and returns to user mode at the service's entry point on one
 * of its slots; the handler ends the hop with HOP_IOC_RETURN on the service file,
 * and the client's HOP_IOC_CALL returns the handler's result.
 */
#ifndef _UAPI_LINUX_HOP_H
#define _UAPI_LINUX_HOP_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define HOP_ABI_VERSION		1

#define HOP_NAME_MAX		64	/* service name buffer, NUL included */
#define HOP_MAX_SLOTS		1024	/* slots per service */
#define HOP_MAX_DEPTH		8	/* nested hops per task */
#define HOP_MSG_MIN		4096	/* msg_size bounds, bytes per direction */
#define HOP_MSG_MAX		(1U << 20)

/* HOP_IOC_VERSION: flags in (must be 0), everything else out. */
struct hop_version {
	__u32 flags;
	__u32 abi_version;
	__u32 max_depth;
	__u32 max_slots;
	__u32 msg_min;
	__u32 msg_max;
	__u64 reserved[2];
};

/*
 * One slot: what one concurrent hop needs inside the server.  The handler runs
 * with %rsp = stack_top - 8 (stack_top 16-byte aligned), FS base = tls, and the
 * arguments (cookie, request length, reply capacity) in %rdi, %rsi, %rdx.  The
 * request is at buf, the reply goes to buf + msg_size; buf is page aligned and
 * 2 * msg_size bytes long, and the module pins it for the life of the service.
 */
struct hop_slot_desc {
	__u64 stack_top;
	__u64 tls;
	__u64 buf;
	__u64 cookie;
};

/* HOP_IOC_SERVE: turn this /dev/hop file into a service. */
struct hop_serve {
	__u32 size;		/* sizeof(struct hop_serve) */
	__u32 flags;		/* none defined: 0 */
	char name[HOP_NAME_MAX];/* NUL-terminated, 1..63 printable bytes, no '/' */
	__u64 entry;		/* handler entry point in the server */
	__u64 slots;		/* pointer to struct hop_slot_desc[nr_slots] */
	__u32 nr_slots;		/* 1..HOP_MAX_SLOTS: the concurrency limit */
	__u32 mode;		/* access bits 0..0777 for owner/group/other; 0: 0600 */
	__u32 msg_size;		/* bytes per direction, page multiple, HOP_MSG_MIN..MAX */
	__u32 reserved0;
	__u64 timeout_ns;	/* default deadline for each call, 0: none */
	__u64 entry_regs;	/* entry for register calls (HOP_IOC_CALL_REGS), 0: none */
	__u64 robust;		/* pointer to struct hop_slot_robust[nr_slots], 0: none */
};

/*
 * Robust mutexes in handlers (HOP_IOC_SERVE's robust, optional).  A slot's
 * TLS block is a thread's, but no thread runs on it: the module gives each
 * slot an owner id that no thread can have (HOP_ROBUST_OWNER_MIN and up,
 * above every pid) and writes it at SERVE to the u32 at tid, where the TLS
 * block keeps its thread id (glibc's robust mutexes store it in the lock
 * word).  head is the robust_list_head of the TLS block, as
 * get_robust_list(2) reports it for the thread that made the block.
 *
 * When a hop is aborted (deadline, fault, signal, client death), the module
 * does for the slot what exit does for a thread: each futex on the slot's
 * list, and the one in list_op_pending, whose owner is the slot gets
 * FUTEX_OWNER_DIED and wakes one waiter, and the list is emptied for the
 * slot's next handler.  PI futexes are not supported on slots.  Both
 * addresses 0: this slot has no robust list.  The server writes tid back to 0
 * itself once the service is gone, if it wants to reclaim the TLS block with
 * pthread_join().
 */
struct hop_slot_robust {
	__u64 head;		/* struct robust_list_head in the server, 8-aligned */
	__u64 tid;		/* __u32 the module writes the owner id to, 4-aligned */
};
#define HOP_ROBUST_OWNER_MIN	0x20000000U	/* pid_max is at most 1 << 22 */
#define HOP_ROBUST_OWNER_MAX	0x3fffffffU	/* FUTEX_TID_MASK */

/* HOP_IOC_CONNECT: open a handle (a new fd) to a service by name. */
#define HOP_CONNECT_CLOEXEC	(1U << 0)
struct hop_connect {
	__u32 size;		/* sizeof(struct hop_connect) */
	__u32 flags;		/* HOP_CONNECT_* */
	char name[HOP_NAME_MAX];
	__u64 reserved;
};

/*
 * HOP_IOC_CALL on a handle: returns the reply length or -errno.
 *
 * With HOP_CALL_ASYNC the hop runs the handler as usual, but the call does
 * not wait for the reply: the ioctl returns 0 as soon as the handler has
 * returned or has left the call pending on a device operation
 * (HOP_IOC_DEV_READ, then HOP_RETURN_PENDING).  The reply is written to
 * resp when the call completes, and the completion (user_data, result) is
 * read with HOP_IOC_ASYNC_REAP; the handle polls readable (and its eventfd,
 * if set, is signalled) while completions wait to be reaped.
 */
#define HOP_CALL_NONBLOCK	(1U << 0)	/* no free slot: -EAGAIN, not wait */
#define HOP_CALL_ASYNC		(1U << 1)	/* complete through REAP, not now */
struct hop_call {
	__u32 size;		/* sizeof(struct hop_call); HOP_CALL_SIZE_VER0 is accepted */
	__u32 flags;		/* HOP_CALL_* */
	__u64 req;		/* request bytes in the caller */
	__u64 req_len;		/* <= the service's msg_size */
	__u64 resp;		/* reply buffer in the caller */
	__u64 resp_cap;		/* capacity; the handler sees min(resp_cap, msg_size) */
	__u64 timeout_ns;	/* deadline for this call, slot wait included; 0: the service's */
	__u64 user_data;	/* HOP_CALL_ASYNC: returned by REAP; else must be 0 */
	__u64 origin;		/* 0, or where to store a __u32 HOP_ORIGIN_* (synchronous calls) */
	/* File descriptors through a synchronous call (0 .. HOP_MAX_FDS each way). */
	__u64 fds;		/* const __s32[nfds]: sent with the request */
	__u64 rfds;		/* __s32[rfds_cap]: receive the fds the handler sends back */
	__u64 nrfds;		/* 0, or where to store a __u32: how many were received */
	__u32 nfds;
	__u32 rfds_cap;
};
#define HOP_CALL_SIZE_VER0	56	/* without origin and fds */

/*
 * File descriptors through a call, as doors' DOOR_DESCRIPTOR and binder's fd
 * objects: the caller's fds are installed in the server's table (close-on-
 * exec) before the handler runs, which reads their numbers with
 * HOP_IOC_RECV_FDS; the handler attaches fds of its own to the reply with
 * HOP_IOC_SEND_FDS, and they are installed in the caller's table when the
 * call returns.  A bad fd is -EBADF, more than HOP_MAX_FDS (or than rfds_cap)
 * -E2BIG, no room in the receiver's table -EMFILE; a failure installs
 * nothing anywhere.  A call aborted after the request's fds were installed
 * closes them in the server (those the handler has not replaced).
 */
#define HOP_MAX_FDS		16
struct hop_fds {
	__u64 fds;		/* __s32[n] */
	__u32 n;		/* RECV: room; SEND: how many */
	__u32 flags;		/* 0 */
};

/*
 * Who produced a synchronous call's result, stored at hop_call.origin when
 * the call returns: the handler (its reply length or its -errno), or hop
 * itself (a refusal, an abort, a deadline: the call did not get a handler's
 * answer).  A handler that returns -ETIMEDOUT is HOP_ORIGIN_HANDLER; a
 * deadline that expired is HOP_ORIGIN_HOP.
 */
#define HOP_ORIGIN_HANDLER	1
#define HOP_ORIGIN_HOP		2

/*
 * A handler's "the device will answer" (libhop's HOP_PENDING): outside the
 * range of -errno and of reply lengths, so it cannot be mistaken for either.
 */
#define HOP_RESULT_PENDING	(-4097)

/* Limits on async calls waiting for their device: over them, -EAGAIN. */
#define HOP_ASYNC_MAX_PER_SERVICE	64
#define HOP_ASYNC_MAX			1024
/* Per handle: async calls made and not yet reaped (or their CQE posted). */
#define HOP_ASYNC_MAX_UNREAPED		256

/* HOP_IOC_ASYNC_REAP on a handle: one completed async call, or -EAGAIN. */
struct hop_async_result {
	__u64 user_data;
	__s64 result;		/* reply length or -errno */
	__u64 irq_to_spawn_ns;	/* device interrupt to delivery thread running */
	__u64 irq_to_complete_ns; /* device interrupt to completion posted */
	__u32 flags;		/* in: 0 */
	__u32 delivered_by;	/* HOP_DELIVER_* that carried it, 0 if none */
	__u64 reserved;
};
#define HOP_DELIVER_SPAWN	1	/* a kernel thread created for this completion */
#define HOP_DELIVER_WORKER	2	/* a kernel thread that already existed */

/*
 * HOP_IOC_DEV_READ on the service file, from inside the handler of an async
 * call: start a read of len bytes at offset from the module's slow device
 * (QEMU's edu device, or a timer standing in for it).  When the device's
 * interrupt arrives, a kernel thread enters the server's address space and
 * writes the data to dest (server memory), then completes the client's call
 * with the same bytes as the reply.
 */
#define HOP_DEV_SIZE		2048	/* the device's data, in bytes */
struct hop_dev_read {
	__u32 offset;
	__u32 len;		/* 1..HOP_DEV_SIZE - offset */
	__u64 dest;		/* where in the server the data goes */
	__u64 reserved;
};

/* HOP_IOC_RETURN on the service file, from inside the handler. */
#define HOP_RETURN_PENDING	(1U << 0)	/* async call: the device completes it */
struct hop_return {
	__s64 result;		/* reply length (<= reply capacity) or -errno */
	__u32 slot;		/* the slot index the hop runs on */
	__u32 flags;		/* HOP_RETURN_* */
};

/* HOP_IOC_SERVICE_INFO on a service file or a handle. */
struct hop_service_info {
	__u32 flags;		/* in: 0 */
	__u32 nr_slots;
	__u32 slots_busy;
	__u32 msg_size;
	__u64 calls;		/* hops completed by HOP_IOC_RETURN */
	__u64 aborted;		/* hops aborted, all reasons */
	__u64 faults;		/* handler faults (signals) */
	__u64 timeouts;		/* deadlines expired */
	__u64 client_deaths;	/* clients that died inside the handler */
	__u64 reserved[3];
};

/*
 * io_uring: IORING_OP_URING_CMD on a handle with cmd_op HOP_URING_CALL and
 * this payload in the SQE's command area makes an async call (as
 * HOP_CALL_ASYNC, never waiting for a slot); the CQE carries the result
 * (reply length or -errno) and the SQE's user_data.  The submitting thread
 * must have one ring only, set up with IORING_SETUP_SINGLE_ISSUER |
 * IORING_SETUP_DEFER_TASKRUN (else -EOPNOTSUPP), and no SQPOLL.
 */
#define HOP_URING_CALL		1
struct hop_uring_call {
	__u64 call;		/* pointer to struct hop_call, read at submission */
	__u64 reserved;
};

/*
 * HOP_IOC_CALLER on the service file, from inside the handler: who made the
 * hop being served, as the kernel saw the caller at HOP_IOC_CALL (doors'
 * door_ucred(), binder's calling uid).  Ids are in the server's pid and user
 * namespaces; a caller not visible there reads as 0 (pid, tid) or the
 * overflow id 65534 (uid, gid).  -EPERM outside a handler of this service.
 */
struct hop_caller {
	__u32 pid;		/* the caller's process (thread group) */
	__u32 tid;		/* the caller's thread */
	__u32 uid, gid;		/* real */
	__u32 euid, egid;	/* effective: what access checks used */
	__u64 reserved[2];	/* 0 */
};

/*
 * Register calls: a request and a reply of at most HOP_REG_WORDS 64-bit
 * words travel in registers, with no buffer, no copy and no shared memory
 * (the microkernel fast path).
 *
 *   client: ioctl(handle, HOP_IOC_CALL_REGS, len | flags) with the request
 *           words in %r8, %r9, %r10, %r12, %r13, %r14; len is 0..48 bytes,
 *           flags HOP_CALL_REGS_NONBLOCK.  On success the ioctl returns the
 *           reply length (0..48) and the reply words are in the same six
 *           registers (words past the reply are zero); on failure -errno and
 *           the six registers are the caller's own.  Every other register is
 *           preserved as for any syscall.
 *   handler: entered at the service's entry_regs with %rdi = slot cookie,
 *           %rsi = request length, %rdx = HOP_REG_WORDS * 8, %rsp = stack_top
 *           - 8, and the request words in those six registers (the others
 *           zero).  It ends the hop with ioctl(service fd, HOP_IOC_RETURN_REGS,
 *           result) with the reply words in the six registers; result is the
 *           reply length (0..48) or -errno.
 */
#define HOP_REG_WORDS		6
#define HOP_CALL_REGS_NONBLOCK	(1U << 8)	/* as HOP_CALL_NONBLOCK */

/*
 * The handler's return as a syscall of its own: what HOP_IOC_RETURN and
 * HOP_IOC_RETURN_REGS do, without the ioctl (no fd, no struct to copy).
 * Only a hopped task's syscalls reach hop.ko this way; anywhere else the
 * kernel answers -ENOSYS, as for any number it does not know.
 *
 *   syscall(HOP_SYSCALL_RETURN, result, slot, flags)
 *
 * result, slot and flags as in struct hop_return; for a register call the
 * reply words are in the six message registers and flags must be 0.  It
 * ends the innermost hop of the calling task and does not return; refused,
 * it returns -errno in the handler (EINVAL, EPERM as the ioctls).
 */
#define HOP_SYSCALL_RETURN	0x486f70	/* "Hop" */

#define HOP_IOC_MAGIC		0xB7

#define HOP_IOC_VERSION		_IOWR(HOP_IOC_MAGIC, 0x00, struct hop_version)
#define HOP_IOC_SERVE		_IOW(HOP_IOC_MAGIC, 0x01, struct hop_serve)
#define HOP_IOC_CONNECT		_IOW(HOP_IOC_MAGIC, 0x02, struct hop_connect)
#define HOP_IOC_CALL		_IOW(HOP_IOC_MAGIC, 0x03, struct hop_call)
/* The same command as built against the first struct hop_call (56 bytes). */
#define HOP_IOC_CALL_VER0	_IOC(_IOC_WRITE, HOP_IOC_MAGIC, 0x03, HOP_CALL_SIZE_VER0)
#define HOP_IOC_RETURN		_IOW(HOP_IOC_MAGIC, 0x04, struct hop_return)
#define HOP_IOC_UNSERVE		_IO(HOP_IOC_MAGIC, 0x05)
#define HOP_IOC_SERVICE_INFO	_IOWR(HOP_IOC_MAGIC, 0x06, struct hop_service_info)
/*
 * Floors for the benchmarks: a syscall that does nothing, and one mm switch.
 * Not part of the stable ABI: they exist for bench/ and may change or go
 * (as may hop_async_result's irq_to_* timing fields and delivered_by).
 */
#define HOP_IOC_NOP		_IO(HOP_IOC_MAGIC, 0x07)
#define HOP_IOC_SWITCH_PROBE	_IO(HOP_IOC_MAGIC, 0x08)
/* The async path. */
#define HOP_IOC_DEV_READ	_IOW(HOP_IOC_MAGIC, 0x09, struct hop_dev_read)
#define HOP_IOC_ASYNC_REAP	_IOWR(HOP_IOC_MAGIC, 0x0a, struct hop_async_result)
#define HOP_IOC_SET_EVENTFD	_IOW(HOP_IOC_MAGIC, 0x0b, __s32)
#define HOP_IOC_CALLER		_IOR(HOP_IOC_MAGIC, 0x0c, struct hop_caller)
#define HOP_IOC_CALL_REGS	_IO(HOP_IOC_MAGIC, 0x0d)
#define HOP_IOC_RETURN_REGS	_IO(HOP_IOC_MAGIC, 0x0e)
#define HOP_IOC_RECV_FDS	_IOW(HOP_IOC_MAGIC, 0x0f, struct hop_fds)	/* returns n */
#define HOP_IOC_SEND_FDS	_IOW(HOP_IOC_MAGIC, 0x10, struct hop_fds)

#endif /* _UAPI_LINUX_HOP_H */
