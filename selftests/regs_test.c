// SPDX-License-Identifier: GPL-2.0
/*
 * regs_test: register hygiene across a hop.  The caller loads canaries into
 * every general register it may, every XMM register, MXCSR and the x87 control
 * word, and calls a raw service whose entry point (assembly, no libc) dumps
 * what it was entered with.  The handler must see only its arguments, a
 * clean vector state and its own FS base; the caller must get every canary
 * back.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <asm/prctl.h>
#include "kselftest_harness.h"
#include "hop_testlib.h"

struct regdump {
	uint64_t gpr[16];	/* rax rbx rcx rdx rsi rdi rbp rsp r8..r15 */
	uint64_t rflags;	/* 128 */
	uint64_t fsbase;	/* 136 */
	uint32_t mxcsr;		/* 144 */
	uint16_t fcw;		/* 148 */
	uint16_t pad;
	uint8_t xmm[16][16];	/* 152 */
};
#define DUMP_SIZE 408
_Static_assert(sizeof(struct regdump) == DUMP_SIZE, "layout used by the assembly");

enum { RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP, R8, R9, R10, R11, R12, R13, R14, R15 };

/* Read by the server's entry code; set in the server process before serving. */
long regs_server_fd;
long regs_return_cmd;

long canary_call(long fd, long cmd, void *arg, struct regdump *after,
		 const struct regdump *canary);
void hop_regs_entry(void);

__asm__(
	".text\n"
	".globl hop_regs_entry\n"
	"hop_regs_entry:\n"
	"	mov %rax, 0(%rdi)\n	mov %rbx, 8(%rdi)\n	mov %rcx, 16(%rdi)\n"
	"	mov %rdx, 24(%rdi)\n	mov %rsi, 32(%rdi)\n	mov %rdi, 40(%rdi)\n"
	"	mov %rbp, 48(%rdi)\n	mov %rsp, 56(%rdi)\n	mov %r8, 64(%rdi)\n"
	"	mov %r9, 72(%rdi)\n	mov %r10, 80(%rdi)\n	mov %r11, 88(%rdi)\n"
	"	mov %r12, 96(%rdi)\n	mov %r13, 104(%rdi)\n	mov %r14, 112(%rdi)\n"
	"	mov %r15, 120(%rdi)\n"
	"	pushfq\n	pop %rax\n	mov %rax, 128(%rdi)\n"
	"	stmxcsr 144(%rdi)\n	fnstcw 148(%rdi)\n"
	"	movdqu %xmm0, 152(%rdi)\n	movdqu %xmm1, 168(%rdi)\n"
	"	movdqu %xmm2, 184(%rdi)\n	movdqu %xmm3, 200(%rdi)\n"
	"	movdqu %xmm4, 216(%rdi)\n	movdqu %xmm5, 232(%rdi)\n"
	"	movdqu %xmm6, 248(%rdi)\n	movdqu %xmm7, 264(%rdi)\n"
	"	movdqu %xmm8, 280(%rdi)\n	movdqu %xmm9, 296(%rdi)\n"
	"	movdqu %xmm10, 312(%rdi)\n	movdqu %xmm11, 328(%rdi)\n"
	"	movdqu %xmm12, 344(%rdi)\n	movdqu %xmm13, 360(%rdi)\n"
	"	movdqu %xmm14, 376(%rdi)\n	movdqu %xmm15, 392(%rdi)\n"
	/* arch_prctl(ARCH_GET_FS, &dump->fsbase) */
	"	lea 136(%rdi), %rsi\n	mov $0x1003, %edi\n	mov $158, %eax\n	syscall\n"
	/* ioctl(regs_server_fd, HOP_IOC_RETURN, &(struct hop_return){408, 0, 0}) */
	"	sub $24, %rsp\n	movq $408, 0(%rsp)\n	movq $0, 8(%rsp)\n"
	"	mov regs_server_fd(%rip), %rdi\n	mov regs_return_cmd(%rip), %rsi\n"
	"	mov %rsp, %rdx\n	mov $16, %eax\n	syscall\n"
	"	ud2\n"

	".globl canary_call\n"
	"canary_call:\n"
	"	push %rbx\n	push %rbp\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	push %rcx\n"
	"	ldmxcsr 144(%r8)\n	fldcw 148(%r8)\n"
	"	movdqu 152(%r8), %xmm0\n	movdqu 168(%r8), %xmm1\n"
	"	movdqu 184(%r8), %xmm2\n	movdqu 200(%r8), %xmm3\n"
	"	movdqu 216(%r8), %xmm4\n	movdqu 232(%r8), %xmm5\n"
	"	movdqu 248(%r8), %xmm6\n	movdqu 264(%r8), %xmm7\n"
	"	movdqu 280(%r8), %xmm8\n	movdqu 296(%r8), %xmm9\n"
	"	movdqu 312(%r8), %xmm10\n	movdqu 328(%r8), %xmm11\n"
	"	movdqu 344(%r8), %xmm12\n	movdqu 360(%r8), %xmm13\n"
	"	movdqu 376(%r8), %xmm14\n	movdqu 392(%r8), %xmm15\n"
	"	mov 8(%r8), %rbx\n	mov 48(%r8), %rbp\n	mov 72(%r8), %r9\n"
	"	mov 80(%r8), %r10\n	mov 96(%r8), %r12\n	mov 104(%r8), %r13\n"
	"	mov 112(%r8), %r14\n	mov 120(%r8), %r15\n	mov 64(%r8), %r8\n"
	"	mov $16, %eax\n	syscall\n"
	"	pop %rcx\n"
	"	mov %rax, 0(%rcx)\n	mov %rbx, 8(%rcx)\n	mov %rdx, 24(%rcx)\n"
	"	mov %rsi, 32(%rcx)\n	mov %rdi, 40(%rcx)\n	mov %rbp, 48(%rcx)\n"
	"	mov %r8, 64(%rcx)\n	mov %r9, 72(%rcx)\n	mov %r10, 80(%rcx)\n"
	"	mov %r12, 96(%rcx)\n	mov %r13, 104(%rcx)\n	mov %r14, 112(%rcx)\n"
	"	mov %r15, 120(%rcx)\n"
	"	stmxcsr 144(%rcx)\n	fnstcw 148(%rcx)\n"
	"	movdqu %xmm0, 152(%rcx)\n	movdqu %xmm1, 168(%rcx)\n"
	"	movdqu %xmm2, 184(%rcx)\n	movdqu %xmm3, 200(%rcx)\n"
	"	movdqu %xmm4, 216(%rcx)\n	movdqu %xmm5, 232(%rcx)\n"
	"	movdqu %xmm6, 248(%rcx)\n	movdqu %xmm7, 264(%rcx)\n"
	"	movdqu %xmm8, 280(%rcx)\n	movdqu %xmm9, 296(%rcx)\n"
	"	movdqu %xmm10, 312(%rcx)\n	movdqu %xmm11, 328(%rcx)\n"
	"	movdqu %xmm12, 344(%rcx)\n	movdqu %xmm13, 360(%rcx)\n"
	"	movdqu %xmm14, 376(%rcx)\n	movdqu %xmm15, 392(%rcx)\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbp\n	pop %rbx\n"
	"	ret\n");

#define MSG 4096
#define STACK (64 * 1024)

struct raw_server {
	pid_t pid;
	char name[HOP_NAME_MAX];
	uint64_t stack_top, tls, cookie;
};

/* A service registered with raw ioctls: no libhop, entry = hop_regs_entry. */
static int raw_server_start(struct raw_server *rs)
{
	int pipefd[2], err;

	snprintf(rs->name, sizeof(rs->name), "%s", hop_test_name("regs"));
	if (pipe(pipefd))
		return -errno;
	rs->pid = fork();
	if (rs->pid == 0) {
		struct hop_slot_desc d;
		struct hop_serve s;
		char *stack, *buf, *tls;
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		buf = mmap(NULL, 2 * MSG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		tls = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		fd = open("/dev/hop", O_RDWR);
		regs_server_fd = fd;
		regs_return_cmd = HOP_IOC_RETURN;
		d.stack_top = (uintptr_t)stack + STACK;
		d.tls = (uintptr_t)tls + 2048;
		d.buf = (uintptr_t)buf;
		d.cookie = (uintptr_t)buf + MSG;	/* the dump goes to the reply */
		memset(&s, 0, sizeof(s));
		s.size = sizeof(s);
		snprintf(s.name, sizeof(s.name), "%s", rs->name);
		s.entry = (uintptr_t)hop_regs_entry;
		s.slots = (uintptr_t)&d;
		s.nr_slots = 1;
		s.msg_size = MSG;
		err = (int)hop_test_ioctl(fd, HOP_IOC_SERVE, &s);
		if (write(pipefd[1], &err, sizeof(err)) != sizeof(err) ||
		    write(pipefd[1], &d, sizeof(d)) != sizeof(d))
			_exit(2);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	{
		struct hop_slot_desc d;

		if (read(pipefd[0], &err, sizeof(err)) != sizeof(err) ||
		    read(pipefd[0], &d, sizeof(d)) != sizeof(d))
			err = -EIO;
		rs->stack_top = d.stack_top;
		rs->tls = d.tls;
		rs->cookie = d.cookie;
	}
	close(pipefd[0]);
	return err;
}

static uint64_t canary(int i)
{
	return 0xc0ffee0000000000ULL | ((uint64_t)i << 8) | 0x5a;
}

TEST(handler_sees_no_caller_register_and_caller_gets_all_back)
{
	struct regdump want, after, dump;
	struct raw_server rs;
	struct hop_call c;
	unsigned long fs_before = 0, fs_after = 0;
	int fd, conn, i, j;
	long ret;

	ASSERT_EQ(0, raw_server_start(&rs));
	fd = open("/dev/hop", O_RDWR);
	ASSERT_GE(fd, 0);
	{
		struct hop_connect cn = { .size = sizeof(cn) };

		snprintf(cn.name, sizeof(cn.name), "%s", rs.name);
		conn = (int)hop_test_ioctl(fd, HOP_IOC_CONNECT, &cn);
		ASSERT_GE(conn, 0);
	}
	memset(&want, 0, sizeof(want));
	for (i = 0; i < 16; i++)
		want.gpr[i] = canary(i);
	for (i = 0; i < 16; i++)
		for (j = 0; j < 16; j++)
			want.xmm[i][j] = (uint8_t)(0xa0 + i + j);
	want.mxcsr = 0x7f80;	/* round toward zero: not the default */
	want.fcw = 0x27f;	/* 53-bit precision: not the default */

	memset(&dump, 0xcc, sizeof(dump));
	memset(&after, 0xcc, sizeof(after));
	c = hop_test_call_args("regs", 4, &dump, sizeof(dump));
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_before);
	ret = canary_call(conn, HOP_IOC_CALL, &c, &after, &want);
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_after);
	ASSERT_EQ(DUMP_SIZE, ret);

	/* The caller: everything but rax (the result), rcx and r11 (syscall ABI). */
	EXPECT_EQ(DUMP_SIZE, after.gpr[RAX]);
	for (i = 0; i < 16; i++) {
		if (i == RAX || i == RCX || i == R11 || i == RSP)
			continue;
		if (i == RDI || i == RSI || i == RDX)
			continue;	/* syscall arguments, checked below */
		EXPECT_EQ(want.gpr[i], after.gpr[i]) TH_LOG("caller gpr %d", i);
	}
	EXPECT_EQ((uint64_t)conn, after.gpr[RDI]);
	EXPECT_EQ((uint64_t)HOP_IOC_CALL, after.gpr[RSI]);
	EXPECT_EQ((uint64_t)(uintptr_t)&c, after.gpr[RDX]);
	EXPECT_EQ(0, memcmp(want.xmm, after.xmm, sizeof(want.xmm)));
	EXPECT_EQ(want.mxcsr, after.mxcsr);
	EXPECT_EQ(want.fcw, after.fcw);
	EXPECT_EQ(fs_before, fs_after);

	/* The handler: its arguments, its stack and TLS, nothing else. */
	EXPECT_EQ(0, dump.gpr[RAX]);
	EXPECT_EQ(0, dump.gpr[RBX]);
	EXPECT_EQ((uint64_t)(uintptr_t)hop_regs_entry, dump.gpr[RCX]);
	EXPECT_EQ(sizeof(dump), dump.gpr[RDX]);		/* reply capacity */
	EXPECT_EQ(4, dump.gpr[RSI]);			/* request length */
	EXPECT_EQ(rs.cookie, dump.gpr[RDI]);
	EXPECT_EQ(0, dump.gpr[RBP]);
	EXPECT_EQ(rs.stack_top - 8, dump.gpr[RSP]);
	for (i = R8; i <= R15; i++)
		if (i != R11)
			EXPECT_EQ(0, dump.gpr[i]) TH_LOG("handler gpr %d", i);
	EXPECT_EQ(0x202, dump.gpr[R11]);
	EXPECT_EQ(0x202, dump.rflags);
	EXPECT_EQ(rs.tls, dump.fsbase);
	EXPECT_EQ(0x1f80, dump.mxcsr);
	EXPECT_EQ(0x37f, dump.fcw);
	for (i = 0; i < 16; i++)
		for (j = 0; j < 16; j++)
			EXPECT_EQ(0, dump.xmm[i][j]) TH_LOG("handler xmm%d byte %d", i, j);
	/* No canary anywhere in what the handler saw. */
	for (i = 0; i < (int)(sizeof(dump) / 8); i++)
		for (j = 0; j < 16; j++)
			EXPECT_NE(canary(j), ((uint64_t *)&dump)[i]);

	close(conn);
	close(fd);
	kill(rs.pid, SIGKILL);
	waitpid(rs.pid, NULL, 0);
}

TEST_HARNESS_MAIN
