// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_shim_views.c - TCP view fields whose names are kernel macros
 * (sk_state, sk_net: #define sk_state __sk_common.skc_state): set here,
 * where only the generic headers are included (see shim_views.c).
 */
#ifdef SPECBED_KERNEL

#include "tcp_shim_kernel.h"

void sn_tcp_view_set_common(struct sn_tcp_sock *v, struct sn_tcp_net *net,
			    u8 state)
{
	v->sk_net = net;
	v->sk_state = state;
}

#endif /* SPECBED_KERNEL */
