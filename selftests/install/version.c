// SPDX-License-Identifier: GPL-2.0
/*
 * version.c: built by install_test.sh with only `pkg-config --cflags --libs
 * hop` against an installed libhop, it prints the version it was compiled
 * against (HOP_VERSION_MAJOR.MINOR from the installed <hop/version.h>) and
 * the one the installed libhop.so answers at run time, as
 * "compiled M.m loaded M.m older-than-self N older-than-next N"; the
 * script compares them with `pkg-config --modversion hop` and
 * MODULE_VERSION.  Needs no /dev/hop.
 */
#include <stdio.h>
#include <hop.h>

int main(void)
{
	printf("compiled %d.%d loaded %d.%d older-than-self %d older-than-next %d\n",
	       HOP_VERSION_MAJOR, HOP_VERSION_MINOR, hop_version_major(), hop_version_minor(),
	       hop_check_version(hop_version_major(), hop_version_minor()),
	       hop_check_version(hop_version_major(), hop_version_minor() + 1));
	return 0;
}
