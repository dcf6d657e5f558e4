// SPDX-License-Identifier: GPL-2.0
/*
 * mod.c - the smallest module around the generic TCP send path: it only
 * proves that tcp.c, tcp_copy.c, tcp_slow.c and tcp_shim_kernel.c build
 * against a specbed kernel and link to symbols the kernel exports
 * (modpost).
 */
#include <linux/module.h>
#include "tcp_shim_kernel.h"

EXPORT_SYMBOL_GPL(sn_tcp_sendmsg_locked);
EXPORT_SYMBOL_GPL(sn_tcp_kernel_bind);
EXPORT_SYMBOL_GPL(sn_tcp_kernel_refresh);

MODULE_DESCRIPTION("specbed generic TCP send path (build check)");
MODULE_LICENSE("GPL");
