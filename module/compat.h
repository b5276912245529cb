/* SPDX-License-Identifier: GPL-2.0 */
/* compat.h: the differences between the 6.1 and 6.12 kernels hop supports, in one place. */
#ifndef HOP_COMPAT_H
#define HOP_COMPAT_H

#include <linux/version.h>

#endif /* HOP_COMPAT_H */
