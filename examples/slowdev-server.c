// SPDX-License-Identifier: MIT-0
/*
 * slowdev-server: serves reads from the module's slow device (QEMU's edu PCI
 * device, where present) with a cache in its own memory.  A read of a block
 * already in the cache is answered at once; any other read starts a device
 * transfer and leaves the call pending: when the device interrupts, a kernel
 * thread enters this process, writes the block into the cache, and completes
 * the client's call.  This process has no threads that wait for the device
 * (or for anything else): it sleeps in pause().
 *
 * Request: a block number (uint32_t).  Reply: the block's BLOCK bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/hop.h>
#include <hop.h>

#define BLOCK	128
#define BLOCKS	(HOP_DEV_SIZE / BLOCK)

static unsigned char cache[HOP_DEV_SIZE];
/*
 * Blocks read from the device before.  The kernel thread writes a block into
 * the cache when its interrupt comes, which the server never sees: a block
 * asked for again is served from the cache, so a client must not re-read a
 * block before its first read completed (slowdev-client reads in two rounds).
 */
static volatile int requested[BLOCKS];

static ssize_t slowdev(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	uint32_t block;
	int err;

	(void)ctx;
	if (len != sizeof(block) || cap < BLOCK)
		return -EINVAL;
	memcpy(&block, req, sizeof(block));
	if (block >= BLOCKS)
		return -EINVAL;
	if (requested[block]) {
		memcpy(resp, cache + block * BLOCK, BLOCK);	/* a hit: no device */
		return BLOCK;
	}
	err = hop_dev_read(block * BLOCK, BLOCK, cache + block * BLOCK);
	if (err)
		return err;
	requested[block] = 1;
	return HOP_PENDING;
}

int main(int argc, char **argv)
{
	struct hop_serve_opts opts = { .size = sizeof(opts), .slots = 4 };
	const char *name = argc > 1 ? argv[1] : "slowdev";
	struct hop_service *svc;
	char device[32] = "?";
	FILE *f;
	int err;

	err = hop_serve(&svc, name, slowdev, NULL, &opts);
	if (err) {
		fprintf(stderr, "slowdev-server: hop_serve: %s\n", strerror(-err));
		return 1;
	}
	f = fopen("/sys/kernel/debug/hop/device", "r");
	if (f) {
		if (fgets(device, sizeof(device), f))
			device[strcspn(device, "\n")] = 0;
		fclose(f);
	}
	printf("slowdev-server: pid %d serves \"%s\": %d blocks of %d bytes from the %s device\n",
	       getpid(), name, BLOCKS, BLOCK, device);
	fflush(stdout);
	pause();
	return 0;
}
