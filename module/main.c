// SPDX-License-Identifier: GPL-2.0
/* main.c: /dev/hop, the misc device, and the ioctl dispatch. */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/hop.h>

static long hop_ioctl_version(void __user *uarg)
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

static long hop_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case HOP_IOC_VERSION:
		return hop_ioctl_version(uarg);
	case HOP_IOC_NOP:
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations hop_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = hop_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice hop_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hop",
	.fops = &hop_fops,
	.mode = 0666,
};

module_misc_device(hop_misc);

MODULE_DESCRIPTION("hop: process hopping (thread-migration IPC)");
MODULE_AUTHOR("The hop developers");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1");
