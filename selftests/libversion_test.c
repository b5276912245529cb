// SPDX-License-Identifier: GPL-2.0
/*
 * libversion_test: libhop's own version (hop/version.h, hop_version_major(),
 * hop_version_minor(), hop_check_version(), HOP_CHECK_VERSION()) against the
 * one version, MODULE_VERSION() in module/main.c, and against what the
 * shared library exports.  Needs no /dev/hop: it runs on the host too
 * (build/selftests/libversion_test from the repository root).  The
 * installed hop.pc and headers are compared in selftests/install_test.sh.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <hop.h>
#include "kselftest_harness.h"

/* This program is build/selftests/NAME: the tree is two levels up. */
static void tree_path(char *out, size_t len, const char *rel)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	int up;

	out[0] = 0;
	if (n <= 0)
		return;
	exe[n] = 0;
	for (up = 0; up < 3; up++) {
		slash = strrchr(exe, '/');
		if (!slash)
			return;
		*slash = 0;
	}
	if ((size_t)snprintf(out, len, "%s/%s", exe, rel) >= len)
		out[0] = 0;
}

/* The first line of @path that sscanf()s @fmt into two ints. */
static int scan_pair(const char *rel, const char *fmt, int *a, int *b)
{
	char path[PATH_MAX], line[512];
	FILE *f;
	int found = 0;

	tree_path(path, sizeof(path), rel);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, fmt, a, b) == 2;
	fclose(f);
	return found ? 0 : -1;
}

TEST(macros_and_functions_agree)
{
	EXPECT_EQ(HOP_VERSION_MAJOR, hop_version_major());
	EXPECT_EQ(HOP_VERSION_MINOR, hop_version_minor());
	EXPECT_LE(0, hop_version_major());
	EXPECT_LE(0, hop_version_minor());
}

/* The version comes from MODULE_VERSION(); dkms.conf and libhop.map follow it. */
TEST(the_one_version)
{
	int major, minor;

	ASSERT_EQ(0, scan_pair("module/main.c", "MODULE_VERSION(\"%d.%d\");", &major, &minor));
	EXPECT_EQ(major, HOP_VERSION_MAJOR);
	EXPECT_EQ(minor, HOP_VERSION_MINOR);
	ASSERT_EQ(0, scan_pair("dkms.conf", "PACKAGE_VERSION=\"%d.%d\"", &major, &minor));
	EXPECT_EQ(major, HOP_VERSION_MAJOR);
	EXPECT_EQ(minor, HOP_VERSION_MINOR);
}

/*
 * liburing's semantics: true when the library is older than major.minor,
 * false when it is that version or newer.  The function (the library's
 * numbers) and the macro (this program's) agree, since both are 0.3 here.
 */
TEST(check_version_is_true_only_for_newer_versions)
{
	const int M = HOP_VERSION_MAJOR, m = HOP_VERSION_MINOR;
	const struct {
		int major, minor;
		bool newer;
	} cases[] = {
		{ M, m, false },		/* this very version */
		{ M, m + 1, true },
		{ M, INT_MAX, true },
		{ M + 1, 0, true },
		{ M + 1, -1, true },		/* a newer major, whatever the minor */
		{ INT_MAX, INT_MAX, true },
		{ M, m - 1, false },
		{ M, 0, false },
		{ M, -1, false },
		{ M - 1, INT_MAX, false },	/* an older major, whatever the minor */
		{ 0, 0, false },
		{ -1, 0, false },
		{ INT_MIN, INT_MIN, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ(cases[i].newer, hop_check_version(cases[i].major, cases[i].minor))
			TH_LOG("hop_check_version(%d, %d) in %d.%d", cases[i].major, cases[i].minor, M, m);
		EXPECT_EQ(cases[i].newer, HOP_CHECK_VERSION(cases[i].major, cases[i].minor))
			TH_LOG("HOP_CHECK_VERSION(%d, %d) in %d.%d", cases[i].major, cases[i].minor, M, m);
	}
}

/* The macro works in #if, as liburing's does, and says the same. */
TEST(check_version_macro_in_the_preprocessor)
{
#if HOP_CHECK_VERSION(HOP_VERSION_MAJOR, HOP_VERSION_MINOR)
	bool same_version_is_older = true;
#else
	bool same_version_is_older = false;
#endif
#if HOP_CHECK_VERSION(HOP_VERSION_MAJOR, HOP_VERSION_MINOR + 1)
	bool next_minor_is_newer = true;
#else
	bool next_minor_is_newer = false;
#endif
	EXPECT_FALSE(same_version_is_older);
	EXPECT_TRUE(next_minor_is_newer);
}

/*
 * The shared library build/lib/libhop.so.0 (this program links libhop.a):
 * the three functions are exported under the LIBHOP_0.3 node and answer
 * what the static library answers.
 */
TEST(shared_library_exports_them_at_libhop_0_3)
{
	int (*major)(void), (*minor)(void);
	bool (*check)(int, int);
	char path[PATH_MAX];
	void *lib;

	tree_path(path, sizeof(path), "build/lib/libhop.so.0");
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	ASSERT_NE(NULL, lib) TH_LOG("dlopen %s: %s", path, dlerror());
	major = (int (*)(void))dlvsym(lib, "hop_version_major", "LIBHOP_0.3");
	minor = (int (*)(void))dlvsym(lib, "hop_version_minor", "LIBHOP_0.3");
	check = (bool (*)(int, int))dlvsym(lib, "hop_check_version", "LIBHOP_0.3");
	ASSERT_NE(NULL, major);
	ASSERT_NE(NULL, minor);
	ASSERT_NE(NULL, check);
	/* Not under an older node: a program built against 0.2 cannot bind them. */
	EXPECT_EQ(NULL, dlvsym(lib, "hop_check_version", "LIBHOP_0.2"));
	EXPECT_EQ(HOP_VERSION_MAJOR, major());
	EXPECT_EQ(HOP_VERSION_MINOR, minor());
	EXPECT_FALSE(check(HOP_VERSION_MAJOR, HOP_VERSION_MINOR));
	EXPECT_TRUE(check(HOP_VERSION_MAJOR, HOP_VERSION_MINOR + 1));
	EXPECT_TRUE(check(HOP_VERSION_MAJOR + 1, 0));
	EXPECT_FALSE(check(HOP_VERSION_MAJOR, HOP_VERSION_MINOR - 1));
	dlclose(lib);
}

/* The newest node of libhop.map is this version: new symbols go there. */
TEST(newest_map_node_is_this_version)
{
	char path[PATH_MAX], line[256];
	int major, minor, last_major = -1, last_minor = -1;
	FILE *f;

	tree_path(path, sizeof(path), "lib/libhop.map");
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "LIBHOP_%d.%d {", &major, &minor) == 2) {
			last_major = major;
			last_minor = minor;
		}
	fclose(f);
	EXPECT_EQ(HOP_VERSION_MAJOR, last_major);
	EXPECT_EQ(HOP_VERSION_MINOR, last_minor);
}

TEST_HARNESS_MAIN
