/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhop: serve and call hop services (process hopping over /dev/hop).
 *
 * Every function returns 0 or a non-negative count on success and -errno on
 * failure; none of them sets errno for its own errors or prints anything.
 */
#ifndef HOP_H
#define HOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
/* The ABI's types (struct hop_caller, hop_async_result, ...): hop.h is complete. */
#include <linux/hop.h>
/* HOP_VERSION_MAJOR, HOP_VERSION_MINOR: the libhop this is compiled against. */
#include <hop/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A handler runs inside the server process, on the client's thread, on one of
 * the service's slots.  It returns the reply length (<= resp_cap) or -errno,
 * which the client's hop_call() returns.
 */
typedef ssize_t (*hop_handler_t)(void *ctx, const void *req, size_t req_len,
				 void *resp, size_t resp_cap);

/*
 * Register calls (hop_call_regs): request and reply of at most
 * HOP_REGS_MAX bytes, as six 64-bit words that travel in registers, with no
 * buffer and no copy.  The handler returns the reply length (<= 48) or -errno.
 */
#define HOP_REGS_WORDS	6
#define HOP_REGS_MAX	(HOP_REGS_WORDS * 8)
typedef ssize_t (*hop_regs_handler_t)(void *ctx, const uint64_t req[HOP_REGS_WORDS],
				      size_t req_len, uint64_t resp[HOP_REGS_WORDS]);

struct hop_service;
struct hop_conn;

struct hop_serve_opts {
	size_t size;		/* sizeof(struct hop_serve_opts), for growth */
	unsigned int slots;	/* concurrency limit; 0: 4 */
	size_t stack_size;	/* per slot; 0: 64 KiB */
	size_t msg_size;	/* request and reply capacity; 0: 4 KiB */
	unsigned int mode;	/* access bits like a file's; 0: 0600 */
	uint64_t timeout_ns;	/* default deadline per call; 0: none */
	/* since libhop 0.2 (a smaller size leaves them 0) */
	hop_regs_handler_t regs_fn;	/* handler of register calls; NULL: none */
};

int hop_serve(struct hop_service **svc, const char *name, hop_handler_t fn,
	      void *ctx, const struct hop_serve_opts *opts);
int hop_unserve(struct hop_service *svc);
/* The service's /dev/hop file descriptor (for poll, info, passing). */
int hop_service_fd(const struct hop_service *svc);

int hop_connect(struct hop_conn **conn, const char *name);
/* Adopt a handle fd received from elsewhere (e.g. SCM_RIGHTS); takes ownership. */
int hop_conn_from_fd(struct hop_conn **conn, int fd);
int hop_conn_fd(const struct hop_conn *conn);
ssize_t hop_call(struct hop_conn *conn, const void *req, size_t req_len,
		 void *resp, size_t resp_cap);

#define HOP_CALL_F_NONBLOCK	(1U << 0)	/* no free slot: -EAGAIN */
struct hop_call_opts {
	size_t size;		/* sizeof(struct hop_call_opts) */
	unsigned int flags;	/* HOP_CALL_F_* */
	uint64_t timeout_ns;	/* the deadline, slot wait included; 0: the service's */
	/* since libhop 0.2 (a smaller size leaves them 0) */
	unsigned int *origin;	/* out, if not NULL: HOP_ORIGIN_HANDLER or HOP_ORIGIN_HOP */
	const int *fds;		/* fds sent with the request (<= HOP_MAX_FDS) */
	unsigned int nfds;
	int *rfds;		/* room for the fds the handler sends back */
	unsigned int rfds_cap;	/* <= HOP_MAX_FDS */
	unsigned int *nrfds;	/* out, if not NULL: how many came back in rfds */
};
ssize_t hop_call_opts(struct hop_conn *conn, const void *req, size_t req_len,
		      void *resp, size_t resp_cap,
		      const struct hop_call_opts *opts);
int hop_disconnect(struct hop_conn *conn);
/*
 * A register call: @req_len (<= HOP_REGS_MAX) bytes of @req, reply words
 * into @resp.  Returns the reply length or -errno (-EOPNOTSUPP: the service
 * has no regs_fn).  @flags: 0 or HOP_CALL_F_NONBLOCK.
 */
ssize_t hop_call_regs(struct hop_conn *conn, const uint64_t req[HOP_REGS_WORDS], size_t req_len,
		      uint64_t resp[HOP_REGS_WORDS], unsigned int flags);

/* The module's ABI version, or -errno (e.g. -ENOENT without /dev/hop). */
int hop_abi_version(void);

/*
 * libhop's own version (since libhop 0.3), as liburing's: the macros are the
 * libhop compiled against, the functions the one loaded at run time.  Both
 * checks are true when that libhop is OLDER than major.minor, so
 * "if (hop_check_version(0, 3)) fail" refuses a libhop before 0.3.  Not
 * the module's ABI version (hop_abi_version()), which is numbered apart.
 */
#define HOP_CHECK_VERSION(major, minor)						\
	((major) > HOP_VERSION_MAJOR ||						\
	 ((major) == HOP_VERSION_MAJOR && (minor) > HOP_VERSION_MINOR))
int hop_version_major(void);
int hop_version_minor(void);
bool hop_check_version(int major, int minor);

/*
 * Async calls.  The handler runs at once on the caller's thread, as for
 * hop_call(); it may start a read from the module's slow device with
 * hop_dev_read() and return HOP_PENDING, and the caller's thread is free
 * again.  When the device interrupts, a kernel thread writes the data into
 * the server (at dest) and the reply (the same bytes) into resp, and the
 * completion waits on the handle: poll its fd (hop_conn_fd) for POLLIN, or
 * set an eventfd, then hop_async_reap().
 */
#define HOP_PENDING	((ssize_t)HOP_RESULT_PENDING)	/* a handler's "the device will answer" */
struct hop_async_result;
int hop_call_async(struct hop_conn *conn, const void *req, size_t req_len,
		   void *resp, size_t resp_cap, uint64_t user_data);
/* One completion, or -EAGAIN when none is waiting. */
int hop_async_reap(struct hop_conn *conn, struct hop_async_result *res);
/* Wait up to timeout_ms (-1: forever) for a completion: 1, 0 on timeout, or -errno. */
int hop_async_wait(struct hop_conn *conn, int timeout_ms);
/*
 * The same async call through io_uring: fill an SQE (IORING_OP_URING_CMD on
 * the handle) and *call, which must stay valid until io_uring_submit().  The
 * CQE's res is the reply length or -errno, its user_data the SQE's.  The
 * thread's only ring must be set up with IORING_SETUP_SINGLE_ISSUER |
 * IORING_SETUP_DEFER_TASKRUN (liburing: io_uring_queue_init_params()).
 */
struct io_uring_sqe;
struct hop_call;
void hop_prep_call(struct io_uring_sqe *sqe, struct hop_conn *conn, struct hop_call *call,
		   const void *req, size_t req_len, void *resp, size_t resp_cap);

/* Signal this eventfd on every completion (-1: stop). */
int hop_conn_set_eventfd(struct hop_conn *conn, int efd);
/* In a handler of an async call: read len bytes at offset of the device into dest. */
int hop_dev_read(unsigned int offset, unsigned int len, void *dest);

/*
 * In a handler: who made the call being served (pid, tid, uid, gid, euid,
 * egid as the kernel saw the caller at HOP_IOC_CALL, in the server's pid and
 * user namespaces; struct hop_caller in <linux/hop.h>).  -EPERM outside a
 * handler.  The handler runs with the server's credentials: this is how it
 * decides whether this caller may do what it asks.
 */
struct hop_caller;
int hop_caller(struct hop_caller *out);
/*
 * In a handler: the fds sent with the request, installed in the server's
 * table (close-on-exec) before the handler ran; returns how many there are
 * (up to @max numbers stored in @fds).  And fds of the server's to send back
 * with the reply (replacing any sent before), installed in the caller's
 * table when the call returns.  -EPERM outside a handler.
 */
int hop_recv_fds(int *fds, unsigned int max);
int hop_send_fds(const int *fds, unsigned int n);

/* Counters of a service, through its service fd or any handle to it. */
struct hop_service_info;
int hop_fd_info(int fd, struct hop_service_info *info);

#ifdef __cplusplus
}
#endif

#endif /* HOP_H */
