// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * version.c: the version of the libhop that was loaded, for programs to
 * compare with the one they were compiled against (HOP_VERSION_MAJOR/MINOR).
 * Not the module's ABI version: that is hop_abi_version() (client.c).
 */
#include "hop.h"

int hop_version_major(void)
{
	return HOP_VERSION_MAJOR;
}

int hop_version_minor(void)
{
	return HOP_VERSION_MINOR;
}

/*
 * liburing's io_uring_check_version(): true when this libhop is older than
 * major.minor.  The macro with this library's own numbers, so that it is
 * the loaded library that answers.
 */
bool hop_check_version(int major, int minor)
{
	return HOP_CHECK_VERSION(major, minor);
}
