// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs.c: /sys/kernel/debug/hop/, what the module holds right now, so that
 * tests can check that every object created was destroyed.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include "hop_internal.h"

static struct dentry *hop_debugfs_dir;

static int hop_stats_show(struct seq_file *m, void *v)
{
	seq_printf(m, "services %d\n", hop_nr_services_alive());
	seq_printf(m, "frames %d\n", atomic_read(&hop_nr_frames));
	seq_printf(m, "async %d\n", hop_async_nr_alive());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hop_stats);

static int hop_device_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%s\n", hop_device_describe());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hop_device);

void hop_debugfs_init(void)
{
	/* Diagnostics only: a failure here must not stop the module. */
	hop_debugfs_dir = debugfs_create_dir("hop", NULL);
	debugfs_create_file("stats", 0444, hop_debugfs_dir, NULL, &hop_stats_fops);
	debugfs_create_file("device", 0444, hop_debugfs_dir, NULL, &hop_device_fops);
}

void hop_debugfs_exit(void)
{
	debugfs_remove_recursive(hop_debugfs_dir);
}
