// SPDX-License-Identifier: GPL-2.0
/*
 * Latency histograms for the JSON lines: log-scale buckets, 8 per power of
 * two (each bucket about 9 % wide), from 1 ns to 2^64 ns, so that one
 * histogram holds a 5 us hop call and a 20 ms scheduler stall alike.
 * report.py plots them.
 */
#include "hopbench.h"

static unsigned int bucket_of(uint64_t ns)
{
	unsigned int octave, sub;

	if (ns < 8)
		return (unsigned int)ns;	/* exact below 8 */
	octave = 63 - __builtin_clzll(ns);
	/* The three bits below the leading one pick the sub-bucket. */
	sub = (unsigned int)(ns >> (octave - 3)) & 7;
	return octave * 8 + sub;
}

static uint64_t bucket_low(unsigned int b)
{
	unsigned int octave = b / 8, sub = b % 8;

	if (b < 8)
		return b;
	return (8ull | sub) << (octave - 3);
}

void bench_hist_add(struct bench_hist *h, uint64_t ns)
{
	h->count[bucket_of(ns)]++;
}

void bench_hist_print_json(FILE *f, const struct bench_hist *h)
{
	bool first = true;

	fprintf(f, "\"hist\":[");
	for (unsigned int b = 0; b < BENCH_HIST_BUCKETS; b++) {
		if (!h->count[b])
			continue;
		fprintf(f, "%s[%llu,%llu]", first ? "" : ",",
			(unsigned long long)bucket_low(b),
			(unsigned long long)h->count[b]);
		first = false;
	}
	fprintf(f, "],");
}
