// SPDX-License-Identifier: GPL-2.0
/*
 * hopbench's description of the machine a result came from: kernel, CPU,
 * mitigations, PTI and PCID state, clock source, and whether it looks like
 * QEMU TCG, because numbers mean nothing without them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "hopbench.h"

static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = 0;
	return ok;
}

/* Write s as the inside of a JSON string. */
static void json_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

/* Is word a whole word of the flags line in /proc/cpuinfo? */
static bool has_word(const char *line, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = line; (p = strstr(p, word)); p += n)
		if ((p == line || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The vulnerabilities directory, condensed: entries that say "Not affected"
 * are left out, and each kept one is name=verdict with the verdict cut at the
 * first ';' (the rest is detail such as "SMT vulnerable").
 */
static void print_mitigations(FILE *f, bool *pti)
{
	const char *dir = "/sys/devices/system/cpu/vulnerabilities";
	char *names[64];
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;

	*pti = false;
	fprintf(f, "\"mitigations\":\"");
	if (!d) {
		fprintf(f, "unknown\",");
		return;
	}
	while ((e = readdir(d)) && n < 64)
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (int i = 0, first = 1; i < n; i++) {
		char path[512], v[256];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (read_line(path, v, sizeof(v)) &&
		    strcmp(v, "Not affected")) {
			v[strcspn(v, ";")] = 0;
			if (!strcmp(names[i], "meltdown") && strstr(v, "PTI"))
				*pti = true;
			fprintf(f, "%s%s=", first ? "" : "; ", names[i]);
			json_str(f, strncmp(v, "Mitigation: ", 12) ? v : v + 12);
			first = 0;
		}
		free(names[i]);
	}
	fprintf(f, "\",");
}

void bench_print_env(FILE *f)
{
	char cmdline[4096] = "", clk[64] = "unknown", model[256] = "unknown";
	char flags[8192] = "", line[8192];
	bool pti, nopcid, hyper, tcg;
	struct utsname u;
	FILE *ci;
	char date[32];
	time_t now = time(NULL);

	uname(&u);
	read_line("/proc/cmdline", cmdline, sizeof(cmdline));
	read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		  clk, sizeof(clk));
	ci = fopen("/proc/cpuinfo", "r");
	while (ci && fgets(line, sizeof(line), ci)) {
		char *v = strchr(line, ':');

		if (!v)
			continue;
		v += 1 + (v[1] == ' ');
		v[strcspn(v, "\n")] = 0;
		if (!strncmp(line, "model name", 10) && !strcmp(model, "unknown"))
			snprintf(model, sizeof(model), "%s", v);
		else if (!strncmp(line, "flags", 5) && !flags[0])
			snprintf(flags, sizeof(flags), "%s", v);
	}
	if (ci)
		fclose(ci);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));

	fprintf(f, "\"kernel\":\"");
	json_str(f, u.release);
	fprintf(f, "\",");
	print_mitigations(f, &pti);
	/*
	 * The cpuinfo flag is the truth: pti=on on a CPU that is not affected
	 * by Meltdown runs with PTI while the vulnerabilities file says "Not
	 * affected".
	 */
	pti = pti || has_word(flags, "pti");
	nopcid = has_word(cmdline, "nopcid");
	fprintf(f, "\"pti\":%s,\"nopti\":%s,\"nopcid\":%s,",
		pti ? "true" : "false",
		has_word(cmdline, "nopti") ? "true" : "false",
		nopcid ? "true" : "false");
	/* The kernel clears the pcid flag when it does not use PCID. */
	fprintf(f, "\"pcid\":%s,",
		has_word(flags, "pcid") && !nopcid ? "true" : "false");
	fprintf(f, "\"cpu\":\"");
	json_str(f, model);
	hyper = has_word(flags, "hypervisor");
	/*
	 * A hint only: QEMU's own CPU models say QEMU; under TCG with -cpu max
	 * the model can look real, so the hypervisor bit is printed too.
	 */
	tcg = hyper && strstr(model, "QEMU");
	fprintf(f, "\",\"ncpus\":%ld,\"hypervisor\":%s,\"tcg\":%s,",
		sysconf(_SC_NPROCESSORS_ONLN), hyper ? "true" : "false",
		tcg ? "true" : "false");
	fprintf(f, "\"clocksource\":\"");
	json_str(f, clk);
	fprintf(f, "\",\"date\":\"%s\",", date);
	/*
	 * From the VM runner (selftests/vm/run-vm.sh): how the guest was run
	 * (tcg, icount: every time is an instruction count, or kvm) and the
	 * commit of the tree it runs.  "host" and "unknown" outside a guest.
	 */
	fprintf(f, "\"accel\":\"");
	json_str(f, getenv("HOP_ACCEL") && *getenv("HOP_ACCEL") ?
		 getenv("HOP_ACCEL") : "host");
	fprintf(f, "\",\"commit\":\"");
	json_str(f, getenv("HOP_COMMIT") && *getenv("HOP_COMMIT") ?
		 getenv("HOP_COMMIT") : "unknown");
	fprintf(f, "\"");
}
