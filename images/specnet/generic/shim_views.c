// SPDX-License-Identifier: GPL-2.0
/*
 * shim_views.c - view fields whose names are kernel macros.
 *
 * The views keep the kernel's field names (sk_state, inet_daddr ...). In
 * the kernel headers several of them are macros for the sock_common
 * storage (#define sk_state __sk_common.skc_state), so shim_kernel.c,
 * which includes those headers, cannot name them; this file includes
 * only the generic headers and sets them for it.
 */
#ifdef SPECBED_KERNEL

#include "shim_kernel.h"

void sn_view_set_common(struct sn_sock *v, const struct sn_view_common *c)
{
	v->sk_net = c->net;
	v->sk_state = c->state;
	v->sk_bound_dev_if = c->bound_dev_if;
	v->sk_flags = c->flags;
	v->inet.inet_daddr = c->daddr;
	v->inet.inet_rcv_saddr = c->rcv_saddr;
	v->inet.inet_dport = c->dport;
	v->inet.inet_num = c->num;
	v->inet.conn_fl.fl4_dport = c->conn_dport;
}

#endif /* SPECBED_KERNEL */
