// SPDX-License-Identifier: GPL-2.0
/*
 * main.c: /dev/hop, the misc device, the ioctl dispatch of its files, and the
 * module's load and unload.
 *
 * A /dev/hop file starts plain (it answers VERSION, NOP and CONNECT) and
 * becomes a service file with HOP_IOC_SERVE; the service then lives as long
 * as the file (see registry.c).  Handles returned by CONNECT are separate
 * anonymous files with their own ioctls (registry.c, hop_conn_fops).
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/mutex.h>
#include "hop_internal.h"

#define CREATE_TRACE_POINTS
#include "hop_trace.h"

/* private_data of a /dev/hop file. */
struct hop_devfile {
	struct mutex lock;		/* serialises HOP_IOC_SERVE */
	struct hop_service *svc;	/* set once by SERVE, never changed after */
};

static long hop_ioctl_version(struct hop_version __user *uarg)
{
	struct hop_version v;

	if (copy_from_user(&v, uarg, sizeof(v)))
		return -EFAULT;
	if (v.flags || v.reserved[0] || v.reserved[1])
		return -EINVAL;
	v.abi_version = HOP_ABI_VERSION;
	v.max_depth = HOP_MAX_DEPTH;
	v.max_slots = HOP_MAX_SLOTS;
	v.msg_min = HOP_MSG_MIN;
	v.msg_max = HOP_MSG_MAX;
	if (copy_to_user(uarg, &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

static long hop_ioctl_serve(struct hop_devfile *df, const struct hop_serve __user *uarg)
{
	long err;

	mutex_lock(&df->lock);
	if (df->svc)
		err = -EBUSY;	/* one service per file */
	else
		err = hop_serve(&df->svc, uarg);	/* sets df->svc on success */
	mutex_unlock(&df->lock);
	return err;
}

static long hop_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct hop_devfile *df = file->private_data;
	struct hop_service *svc = READ_ONCE(df->svc);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case HOP_IOC_RETURN:
		/* Not a service file: no hop can be ended through it. */
		return svc ? hop_return(svc, uarg) : -EPERM;
	case HOP_IOC_VERSION:
		return hop_ioctl_version(uarg);
	case HOP_IOC_NOP:
		return 0;
	case HOP_IOC_SERVE:
		return hop_ioctl_serve(df, uarg);
	case HOP_IOC_CONNECT:
		return hop_connect(uarg);
	case HOP_IOC_UNSERVE:
		return svc ? hop_unserve(svc) : -EINVAL;
	case HOP_IOC_SERVICE_INFO:
		return svc ? hop_service_info(svc, uarg) : -EINVAL;
	case HOP_IOC_DEV_READ:
		return svc ? hop_async_dev_read(svc, uarg) : -EPERM;
	case HOP_IOC_CALLER:
		return svc ? hop_caller_info(svc, uarg) : -EPERM;
	case HOP_IOC_RETURN_REGS:
		return svc ? hop_return_regs(svc, (long)arg) : -EPERM;
	case HOP_IOC_RECV_FDS:
	case HOP_IOC_SEND_FDS:
		return svc ? hop_frame_fds_ioctl(svc, cmd, uarg) : -EPERM;
	default:
		return -ENOTTY;
	}
}

/*
 * 32-bit callers: another register model, and a handler frame hop cannot
 * build (README, "What a hop switches, refuses and freezes").  Every ioctl,
 * on a /dev/hop file or a handle, says so the same way.
 */
long hop_compat_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	return -EOPNOTSUPP;
}

/*
 * A service fd polls EPOLLPRI once the last handle to its service has closed
 * (after at least one was opened): doors' DOOR_UNREF.  A new handle clears it.
 */
static __poll_t hop_dev_poll(struct file *file, poll_table *wait)
{
	struct hop_devfile *df = file->private_data;
	struct hop_service *svc = READ_ONCE(df->svc);

	if (!svc)
		return 0;
	poll_wait(file, &svc->hup_wq, wait);
	return READ_ONCE(svc->had_handles) && !atomic_read(&svc->nr_handles) ? EPOLLPRI : 0;
}

static int hop_dev_open(struct inode *inode, struct file *file)
{
	struct hop_devfile *df = kzalloc(sizeof(*df), GFP_KERNEL);

	if (!df)
		return -ENOMEM;
	mutex_init(&df->lock);
	file->private_data = df;
	return 0;
}

static int hop_dev_release(struct inode *inode, struct file *file)
{
	struct hop_devfile *df = file->private_data;

	if (df->svc) {
		hop_service_shutdown(df->svc);
		hop_service_put(df->svc);
	}
	kfree(df);
	return 0;
}

static const struct file_operations hop_dev_fops = {
	.owner = THIS_MODULE,
	.open = hop_dev_open,
	.release = hop_dev_release,
	.unlocked_ioctl = hop_dev_ioctl,
	.compat_ioctl = hop_compat_ioctl,
	.poll = hop_dev_poll,
	.llseek = noop_llseek,
};

static umode_t hop_dev_mode = 0666;
module_param_named(mode, hop_dev_mode, ushort, 0444);
MODULE_PARM_DESC(mode, "Permission bits of /dev/hop (default 0666; services check their own access)");

static struct miscdevice hop_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hop",
	.fops = &hop_dev_fops,
};

static int __init hop_init(void)
{
	int err;

	err = hop_ksyms_init();
	if (err)
		return err;
	err = hop_identity_init();
	if (err)
		return err;
	err = hop_engine_init();
	if (err)
		return err;
	err = hop_async_init();
	if (err)
		goto err_engine;
	err = hop_device_init();
	if (err)
		goto err_async;
	err = hop_hooks_init();
	if (err)
		goto err_device;
	err = hop_guards_init();
	if (err)
		goto err_hooks;
	err = hop_policy_init();
	if (err)
		goto err_guards;
	err = hop_oom_init();
	if (err)
		goto err_policy;
	err = hop_intercept_init();
	if (err)
		goto err_oom;
	err = hop_uring_init();
	if (err)
		goto err_intercept;
	hop_misc.mode = hop_dev_mode & 0777;
	err = misc_register(&hop_misc);
	if (err)
		goto err_uring;
	hop_debugfs_init();
	pr_info("hop: /dev/hop ready, ABI %d\n", HOP_ABI_VERSION);
	return 0;

err_uring:
	hop_uring_exit();
err_intercept:
	hop_intercept_exit();
err_oom:
	hop_oom_exit();
err_policy:
	hop_policy_exit();
err_guards:
	hop_guards_exit();
err_hooks:
	hop_hooks_exit();
err_device:
	hop_device_exit();
err_async:
	hop_async_exit();
err_engine:
	hop_engine_exit();
	return err;
}

static void __exit hop_exit(void)
{
	hop_debugfs_exit();
	misc_deregister(&hop_misc);
	hop_uring_exit();
	hop_intercept_exit();
	hop_oom_exit();
	hop_policy_exit();
	hop_guards_exit();
	hop_hooks_exit();
	hop_engine_exit();
	hop_device_exit();
	hop_async_exit();
	hop_robust_exit();
	/* Large frames are freed with kfree_rcu(); let them go before the text does. */
	rcu_barrier();
}

module_init(hop_init);
module_exit(hop_exit);

MODULE_DESCRIPTION("hop: process hopping (thread-migration IPC)");
MODULE_AUTHOR("The hop developers");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.3");
