/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sys.h: raw system calls for libhop, which returns -errno and must not touch errno. */
#ifndef HOP_LIB_SYS_H
#define HOP_LIB_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

/*
 * An options struct from a caller built against a newer libhop: accepted if
 * every byte past the @known ones this libhop has is zero (an option it
 * does not know, left unset), refused otherwise (-E2BIG), as the kernel's
 * copy_struct_from_user() does.
 */
static inline int hop_opts_tail_ok(const void *opts, size_t size, size_t known)
{
	const unsigned char *p = opts;

	for (; known < size; known++)
		if (p[known])
			return 0;
	return 1;
}

static inline long hop_sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile ("syscall"
			  : "=a" (ret)
			  : "a" (nr), "D" (a), "S" (b), "d" (c)
			  : "rcx", "r11", "memory");
	return ret;
}

/*
 * A syscall whose message is six words in r8, r9, r10, r12, r13, r14 (uapi:
 * HOP_IOC_CALL_REGS, HOP_IOC_RETURN_REGS, HOP_SYSCALL_RETURN): @w goes in,
 * and comes back with what those registers hold when the syscall returns.
 */
static inline long hop_sys_words(long nr, long a, long b, long c, uint64_t w[6])
{
	register uint64_t r8 __asm__("r8") = w[0];
	register uint64_t r9 __asm__("r9") = w[1];
	register uint64_t r10 __asm__("r10") = w[2];
	register uint64_t r12 __asm__("r12") = w[3];
	register uint64_t r13 __asm__("r13") = w[4];
	register uint64_t r14 __asm__("r14") = w[5];
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret), "+r"(r8), "+r"(r9), "+r"(r10), "+r"(r12), "+r"(r13),
			   "+r"(r14)
			 : "0"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	w[0] = r8;
	w[1] = r9;
	w[2] = r10;
	w[3] = r12;
	w[4] = r13;
	w[5] = r14;
	return ret;
}

static inline long hop_sys_ioctl_words(int fd, unsigned long cmd, long arg, uint64_t w[6])
{
	return hop_sys_words(SYS_ioctl, fd, (long)cmd, arg, w);
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
