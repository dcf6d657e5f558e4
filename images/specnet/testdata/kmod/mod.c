// SPDX-License-Identifier: GPL-2.0
/*
 * mod.c - the smallest module around the generic send path: it only
 * proves that the generic sources and shim_kernel.c build against a
 * specbed kernel and link to symbols the kernel exports (modpost).
 */
#include <linux/module.h>
#include "shim_kernel.h"

EXPORT_SYMBOL_GPL(sn_sendmsg);
EXPORT_SYMBOL_GPL(sn_kernel_bind);
EXPORT_SYMBOL_GPL(sn_kernel_unbind);

MODULE_DESCRIPTION("specbed generic UDP send path (build check)");
MODULE_LICENSE("GPL");
