// SPDX-License-Identifier: MIT-0
/*
 * slowdev-client: one thread submits many async reads to slowdev-server
 * through io_uring and keeps computing while the device works; completions
 * arrive as CQEs, out of order (cache hits before device reads), and each
 * reply is checked against the device's known contents.
 *
 *   slowdev-client [READS [SERVICE]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/hop.h>
#include <hop.h>

#define BLOCK	128
#define MAXREADS 64

static unsigned char pattern(unsigned int i)
{
	return (unsigned char)(i * 7 + 0x5a);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Submit calls for blocks[0..n) as one batch; complete them; report. */
static int round_trip(struct io_uring *ring, struct hop_conn *conn, const uint32_t *blocks,
		      int n, const char *what)
{
	static unsigned char replies[MAXREADS][BLOCK];
	static struct hop_call calls[MAXREADS];
	struct io_uring_cqe *cqe;
	unsigned long spins = 0;
	int i, j, submitted, done = 0, bad = 0, order[MAXREADS];
	double t0 = now();

	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		hop_prep_call(sqe, conn, &calls[i], &blocks[i], sizeof(blocks[i]), replies[i], BLOCK);
		io_uring_sqe_set_data64(sqe, i);
	}
	/* Each call hops into the server's handler before this returns. */
	submitted = io_uring_submit(ring);
	printf("\n%s: submitted %d reads (blocks", what, submitted);
	for (i = 0; i < n; i++)
		printf(" %u", blocks[i]);
	printf(") in %.1f ms\n", (now() - t0) * 1e3);
	while (done < n) {
		/* Real work while the device works: nobody sleeps on it. */
		for (j = 0; j < 100000; j++)
			spins++;
		/*
		 * With DEFER_TASKRUN, completions are posted when we enter the
		 * kernel for them: a wait that returns at once does that.
		 */
		if (io_uring_wait_cqe_timeout(ring, &cqe, &(struct __kernel_timespec){ .tv_nsec = 1000 }))
			continue;
		i = (int)cqe->user_data;
		printf("  +%6.1f ms  block %2u  %s\n", (now() - t0) * 1e3, blocks[i],
		       cqe->res == BLOCK ? "ok" : strerror(-cqe->res));
		order[done++] = i;
		if (cqe->res != BLOCK) {
			bad++;
		} else {
			for (j = 0; j < BLOCK; j++)
				if (replies[i][j] != pattern(blocks[i] * BLOCK + j)) {
					bad++;
					break;
				}
		}
		io_uring_cqe_seen(ring, cqe);
	}
	printf("  completion order (by submission index):");
	for (i = 0; i < n; i++)
		printf(" %d", order[i]);
	printf("\n  meanwhile this thread counted to %lu; %d bad replies\n", spins, bad);
	return bad;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "slowdev";
	struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN };
	/* Round 2 interleaves new blocks (from the device) with cached ones. */
	static const uint32_t first[] = { 0, 1, 2, 3 };
	static const uint32_t second[] = { 4, 0, 5, 1, 6, 2, 7, 3 };
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	struct hop_conn *conn;
	struct io_uring ring;
	int i, err, bad;

	for (i = 0; (err = hop_connect(&conn, name)) == -ENOENT && i < 100; i++)
		nanosleep(&nap, NULL);
	if (err) {
		fprintf(stderr, "slowdev-client: hop_connect(%s): %s\n", name, strerror(-err));
		return 1;
	}
	/* Hop's io_uring path needs a ring whose task work waits for io_uring_enter(). */
	err = io_uring_queue_init_params(MAXREADS, &ring, &p);
	if (err) {
		fprintf(stderr, "slowdev-client: io_uring: %s\n", strerror(-err));
		return 1;
	}
	bad = round_trip(&ring, conn, first, 4, "round 1, every block from the device");
	bad += round_trip(&ring, conn, second, 8, "round 2, new blocks and cached ones");
	io_uring_queue_exit(&ring);
	hop_disconnect(conn);
	return bad != 0;
}
