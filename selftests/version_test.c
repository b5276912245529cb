// SPDX-License-Identifier: GPL-2.0
/* version_test.c: HOP_IOC_VERSION and HOP_IOC_NOP, and the errno of every bad input around them. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/hop.h>
#include "kselftest_harness.h"

/* Out fields the kernel never wrote keep this pattern, as in ntsync's tests. */
#define JUNK32 0xccccccccU

static void junk_fill(struct hop_version *v)
{
	memset(v, 0xcc, sizeof(*v));
	v->flags = 0;
	v->reserved[0] = 0;
	v->reserved[1] = 0;
}

/* The call failed with exactly this errno; v must be untouched. */
#define EXPECT_REJECTED(fd, v, err) do {					\
	EXPECT_EQ(-1, ioctl(fd, HOP_IOC_VERSION, v));				\
	EXPECT_EQ(err, errno);							\
	EXPECT_EQ(JUNK32, (v)->abi_version);					\
	EXPECT_EQ(JUNK32, (v)->max_depth);					\
	EXPECT_EQ(JUNK32, (v)->max_slots);					\
	EXPECT_EQ(JUNK32, (v)->msg_min);					\
	EXPECT_EQ(JUNK32, (v)->msg_max);					\
} while (0)

FIXTURE(hop) {
	int fd;
};

FIXTURE_SETUP(hop)
{
	self->fd = open("/dev/hop", O_RDWR | O_CLOEXEC);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "/dev/hop does not exist: is hop.ko loaded?");
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(hop)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(hop, version_writes_every_field)
{
	struct hop_version v;

	junk_fill(&v);
	ASSERT_EQ(0, ioctl(self->fd, HOP_IOC_VERSION, &v));
	EXPECT_EQ((__u32)HOP_ABI_VERSION, v.abi_version);
	EXPECT_EQ((__u32)HOP_MAX_DEPTH, v.max_depth);
	EXPECT_EQ((__u32)HOP_MAX_SLOTS, v.max_slots);
	EXPECT_EQ((__u32)HOP_MSG_MIN, v.msg_min);
	EXPECT_EQ(HOP_MSG_MAX, v.msg_max);
	/* In-fields come back as they went in. */
	EXPECT_EQ(0U, v.flags);
	EXPECT_EQ(0ULL, v.reserved[0]);
	EXPECT_EQ(0ULL, v.reserved[1]);
}

TEST_F(hop, version_rejects_flags)
{
	static const uint32_t bad[] = { 1, 2, 1U << 31, ~0U };
	struct hop_version v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		junk_fill(&v);
		v.flags = bad[i];
		EXPECT_REJECTED(self->fd, &v, EINVAL);
	}
}

TEST_F(hop, version_rejects_reserved0)
{
	struct hop_version v;

	junk_fill(&v);
	v.reserved[0] = 1;
	EXPECT_REJECTED(self->fd, &v, EINVAL);
}

TEST_F(hop, version_rejects_reserved1)
{
	struct hop_version v;

	junk_fill(&v);
	v.reserved[1] = 1ULL << 63;
	EXPECT_REJECTED(self->fd, &v, EINVAL);
}

TEST_F(hop, version_null_pointer)
{
	EXPECT_EQ(-1, ioctl(self->fd, HOP_IOC_VERSION, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(hop, version_unmapped_pointer)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, munmap(p, page));
	EXPECT_EQ(-1, ioctl(self->fd, HOP_IOC_VERSION, p));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(hop, version_readonly_pointer)
{
	long page = sysconf(_SC_PAGESIZE);
	struct hop_version *v = mmap(NULL, page, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/* Readable input, unwritable output: the copy back must fail cleanly. */
	ASSERT_NE(MAP_FAILED, v);
	junk_fill(v);
	ASSERT_EQ(0, mprotect(v, page, PROT_READ));
	EXPECT_EQ(-1, ioctl(self->fd, HOP_IOC_VERSION, v));
	EXPECT_EQ(EFAULT, errno);
	munmap(v, page);
}

TEST_F(hop, unknown_magic)
{
	struct hop_version v;

	junk_fill(&v);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(HOP_IOC_MAGIC + 1, 0x00, struct hop_version), &v));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(hop, unknown_nr)
{
	EXPECT_EQ(-1, ioctl(self->fd, _IO(HOP_IOC_MAGIC, 0xff), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO(HOP_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(hop, version_wrong_size)
{
	/* Same number, another size encoded in the command: a different command. */
	struct { struct hop_version v; uint64_t more; } big;

	memset(&big, 0, sizeof(big));
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(HOP_IOC_MAGIC, 0x00, big), &big));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(hop, nop)
{
	EXPECT_EQ(0, ioctl(self->fd, HOP_IOC_NOP, 0));
	EXPECT_EQ(0, ioctl(self->fd, HOP_IOC_NOP, 0));
}

TEST_HARNESS_MAIN
