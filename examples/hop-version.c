// SPDX-License-Identifier: MIT-0
/* hop-version.c: ask /dev/hop which ABI it speaks and what its limits are; say which libhop this is. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/hop.h>
#include <hop.h>

int main(void)
{
	struct hop_version v = { 0 };
	int fd;

	/* Two numbers: libhop's release (hop_check_version(3)), the module's ABI (hop(4)). */
	printf("libhop %d.%d (this program was built with %d.%d)\n", hop_version_major(),
	       hop_version_minor(), HOP_VERSION_MAJOR, HOP_VERSION_MINOR);
	fd = open("/dev/hop", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "hop-version: /dev/hop: %s (is hop.ko loaded?)\n", strerror(errno));
		return 1;
	}
	if (ioctl(fd, HOP_IOC_VERSION, &v) < 0) {
		fprintf(stderr, "hop-version: HOP_IOC_VERSION: %s\n", strerror(errno));
		return 1;
	}
	printf("hop ABI version %u (this program was built for %u)\n", v.abi_version, HOP_ABI_VERSION);
	printf("  nested hops per task: %u\n", v.max_depth);
	printf("  slots per service:    %u\n", v.max_slots);
	printf("  message size:         %u .. %u bytes per direction\n", v.msg_min, v.msg_max);
	close(fd);
	return v.abi_version == HOP_ABI_VERSION ? 0 : 1;
}
