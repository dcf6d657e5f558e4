/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shim_inline_kernel.h - the kernel headers shim_inline.h's and
 * tcp_shim_inline.h's effects need.
 *
 * Parsed afresh, these headers (net/sock.h and all it pulls in) took
 * about 0.7 s of every residual's compile, twenty times the residual's
 * own code: most of a cold specialization's round trip. So a residual's
 * build includes this file first, precompiled: the compile driver
 * (specializer/compile) makes its .gch once per recipe with the
 * residual's own command line, and the residual's command includes it in
 * place of the headers kbuild forces in (-include), which the .gch
 * carries. The code is the same either way (specializer/compile
 * TestPrecompiledHeadersSameCode).
 *
 * In a residual's build (SPECNET_RESIDUAL) it also undefines the kernel
 * macros named like view fields (<net/sock.h>'s sk_net, sk_state ...,
 * <net/flow.h>'s fl4_dport ...): generic.h declares those fields, and
 * included first, this file comes before generic.h. The core module's
 * shim (shim_kernel.c) reads the kernel's fields through those macros
 * and keeps them.
 */
#ifndef SPECNET_SHIM_INLINE_KERNEL_H
#define SPECNET_SHIM_INLINE_KERNEL_H

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/uaccess.h>
#include <net/dst.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/udp.h>

#ifdef SPECNET_RESIDUAL
/* net/sock.h's and net/inet_sock.h's (struct sn_sock), net/flow.h's
 * (struct sn_flowi4) and linux/in.h's (struct sn_sockaddr_in). */
#undef sk_net
#undef sk_state
#undef sk_flags
#undef sk_bound_dev_if
#undef inet_daddr
#undef inet_rcv_saddr
#undef inet_dport
#undef inet_num
#undef fl4_sport
#undef fl4_dport
#undef flowi4_oif
#undef flowi4_mark
#undef flowi4_tos
#undef flowi4_scope
#undef flowi4_proto
#undef flowi4_flags
#undef flowi4_uid
#undef sin_zero
#endif

#endif /* SPECNET_SHIM_INLINE_KERNEL_H */
