// SPDX-License-Identifier: GPL-2.0
/*
 * fds.c: file descriptors through a call (uapi: HOP_MAX_FDS, HOP_IOC_RECV_FDS,
 * HOP_IOC_SEND_FDS).
 *
 * Lifetimes.  The request's files are taken from the caller's table (one
 * reference each, in the frame) before the switch and installed in the
 * server's table right after it; the frame keeps a second reference to each
 * until the hop ends, only to recognise them: an aborted hop closes an fd
 * of the request only if it still holds the very file it was given.  The
 * reply's files are taken from the server's table by HOP_IOC_SEND_FDS (a
 * reference each, in the frame) and installed in the caller's table when the
 * call returns, or dropped if it does not.  A hop aborted in the client's
 * context, or whose client dies in process context, closes the request's fds
 * in the server's table itself; a client that dies where the exit hook is
 * atomic leaves that to the reaper (hop_fds_abort_from_reaper).
 *
 * Installing is all or nothing: every number is reserved first
 * (get_unused_fd_flags, -EMFILE), then the numbers are published, then the
 * files installed (fd_install cannot fail).
 */
#include <linux/file.h>
#include <linux/fdtable.h>
#include <linux/fcntl.h>
#include <linux/uaccess.h>
#include <linux/sched/task.h>
#include "hop_internal.h"

/* Take a reference to each of @n fds of current's table. */
int hop_fds_take(struct file **files, const s32 __user *ufds, unsigned int n)
{
	s32 fds[HOP_MAX_FDS];
	unsigned int i;

	if (n > HOP_MAX_FDS)
		return -E2BIG;
	if (copy_from_user(fds, ufds, n * sizeof(*fds)))
		return -EFAULT;
	for (i = 0; i < n; i++) {
		files[i] = fds[i] >= 0 ? fget(fds[i]) : NULL;
		if (!files[i]) {
			hop_fds_put(files, i);
			return -EBADF;
		}
	}
	return 0;
}

void hop_fds_put(struct file **files, unsigned int n)
{
	while (n)
		fput(files[--n]);
}

/*
 * Install @n files in current's table, close-on-exec, all or none; their
 * numbers go to @nums and, if @unums, to user memory first.  On success the
 * table owns the references; on failure they are still the caller's.
 */
int hop_fds_install(struct file **files, unsigned int n, int *nums, s32 __user *unums)
{
	unsigned int i;
	int fd;

	for (i = 0; i < n; i++) {
		fd = get_unused_fd_flags(O_CLOEXEC);
		if (fd < 0)
			goto unwind;
		nums[i] = fd;
	}
	if (unums && n && copy_to_user(unums, nums, n * sizeof(*nums))) {
		fd = -EFAULT;
		goto unwind;
	}
	for (i = 0; i < n; i++)
		fd_install(nums[i], files[i]);
	return 0;

unwind:
	while (i)
		put_unused_fd(nums[--i]);
	return fd;
}

/*
 * The hop was aborted: close, in current's (the server's) table, each fd of
 * the request that still holds the file it was given, and drop the frame's
 * references.  Process context.
 */
void hop_fds_abort(struct hop_frame *f)
{
	struct file *now;
	unsigned int i;

	for (i = 0; i < f->nreq_fds; i++) {
		now = fget(f->req_fdnums[i]);
		if (now == f->req_files[i])
			close_fd(f->req_fdnums[i]);
		if (now)
			fput(now);
	}
	hop_fds_release(f);
}

/*
 * The client died mid-hop (the reaper, a kworker): the same as
 * hop_fds_abort(), in the table the hop lent the client, which the frame
 * still holds (f->srv_files).  close_fd() acts on current's table, so the
 * kworker borrows that one for the moment, as a hop borrows it for a client,
 * and has its own back before it runs anything else.
 */
void hop_fds_abort_from_reaper(struct hop_frame *f)
{
	struct files_struct *own;

	if (!f->nreq_fds || !f->srv_files) {
		hop_fds_release(f);
		return;
	}
	task_lock(current);
	own = current->files;
	current->files = f->srv_files;
	task_unlock(current);
	hop_fds_abort(f);
	task_lock(current);
	current->files = own;
	task_unlock(current);
}

/* Drop what the frame holds: the request's spare references, an unsent reply's files. */
void hop_fds_release(struct hop_frame *f)
{
	hop_fds_put(f->req_files, f->nreq_fds);
	f->nreq_fds = 0;
	hop_fds_put(f->resp_files, f->nresp_fds);
	f->nresp_fds = 0;
}

/* HOP_IOC_RECV_FDS: the numbers of the request's fds in the server's table. */
long hop_fds_recv(struct hop_frame *f, const struct hop_fds __user *uarg)
{
	s32 nums[HOP_MAX_FDS];
	struct hop_fds a;
	unsigned int n;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags)
		return -EINVAL;
	n = min(a.n, f->nreq_fds);
	/*
	 * Through the stack: hardened usercopy refuses copies out of a slab
	 * object its cache did not whitelist (the frame's cache whitelists
	 * nothing).
	 */
	memcpy(nums, f->req_fdnums, n * sizeof(s32));
	if (n && copy_to_user(u64_to_user_ptr(a.fds), nums, n * sizeof(s32)))
		return -EFAULT;
	return f->nreq_fds;
}

/* HOP_IOC_SEND_FDS: attach fds of the server's to the reply (replacing any). */
long hop_fds_send(struct hop_frame *f, const struct hop_fds __user *uarg)
{
	struct file *files[HOP_MAX_FDS];
	struct hop_fds a;
	int err;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags)
		return -EINVAL;
	if (a.n > HOP_MAX_FDS || a.n > f->rfds_cap)
		return -E2BIG;
	err = hop_fds_take(files, u64_to_user_ptr(a.fds), a.n);
	if (err)
		return err;
	hop_fds_put(f->resp_files, f->nresp_fds);
	memcpy(f->resp_files, files, a.n * sizeof(*files));
	f->nresp_fds = a.n;
	return 0;
}
