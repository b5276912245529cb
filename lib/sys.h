/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sys.h: raw system calls for libhop, which returns -errno and must not touch errno. */
#ifndef HOP_LIB_SYS_H
#define HOP_LIB_SYS_H

#include <sys/syscall.h>

static inline long hop_sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile ("syscall"
			  : "=a" (ret)
			  : "a" (nr), "D" (a), "S" (b), "d" (c)
			  : "rcx", "r11", "memory");
	return ret;
}

static inline long hop_sys_ioctl(int fd, unsigned long cmd, const void *arg)
{
	return hop_sys3(SYS_ioctl, fd, (long)cmd, (long)arg);
}

static inline int hop_sys_open_dev(void)
{
	/* O_RDWR | O_CLOEXEC */
	return (int)hop_sys3(SYS_open, (long)"/dev/hop", 02000002, 0);
}

static inline long hop_sys_close(int fd)
{
	return hop_sys3(SYS_close, fd, 0, 0);
}

#endif /* HOP_LIB_SYS_H */
