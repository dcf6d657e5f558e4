/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcp_shim_kernel.h - the kernel side of tcp_shim.h: the view of a TCP
 * socket next to the socket it shows (tcp_shim_kernel.c).
 */
#ifndef SPECNET_TCP_SHIM_KERNEL_H
#define SPECNET_TCP_SHIM_KERNEL_H

#include "tcp.h"

struct sock;
struct rw_semaphore;

/* A TCP socket's view and the socket behind it. */
struct sn_tcp_ksock {
	struct sock *sk;		/* holds a reference (sock_hold) */
	struct sn_tcp_net net;
	struct sn_tcp_sock v;
	/*
	 * The core's token guard (read side) the send holds, or NULL, and
	 * whether the token is still live: shim_sk_stream_wait_memory()
	 * drops the guard while it sleeps, so that a close of the socket's
	 * descriptor (the guard's write side) need not wait for the peer.
	 */
	struct rw_semaphore *guard;
	const bool *live;
	/* tp->tcp_wstamp_ns before shim_tcp_xmit_clone moved it (ns), for
	 * shim_tcp_update_skb_after_send: __tcp_transmit_skb's local. */
	u64 prior_wstamp;
};

/* The view fields whose names are kernel macros (tcp_shim_views.c). */
void sn_tcp_view_set_common(struct sn_tcp_sock *v, struct sn_tcp_net *net,
			    u8 state);

/* Fill the view's configuration from a connected socket (its lock held). */
void sn_tcp_kernel_bind(struct sn_tcp_ksock *ks, struct sock *sk);
/* Read the view's state from the socket before a send (its lock held). */
void sn_tcp_kernel_refresh(struct sn_tcp_ksock *ks);

#endif /* SPECNET_TCP_SHIM_KERNEL_H */
