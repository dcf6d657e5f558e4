/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcp_mock.h - the recording mock behind tcp_shim.h (user space,
 * SPECBED_USER): one connected TCP socket, its view (struct sn_tcp_sock)
 * and the kernel state behind it, which the view's dynamic fields mirror.
 *
 * The mock keeps the kernel's side itself: the write and retransmit
 * queues (skbs numbered in allocation order), the page fragment, the
 * sequence numbers the effects set, the send buffer accounting, and what
 * the peer changes (ACKs free skbs, the window, SACK blocks, errors). A
 * context fills the view's configuration (tcp_mock_apply_context,
 * generated); the tape (a seeded generator) decides allocation failures,
 * page sizes, waits, backlog work and the peer.
 *
 * Every SHIM_EFFECT call appends one line to the effect log (stdout), as
 * the UDP mock does: "E <name> <arg>...", skbs as skbN, pages as pgN, user
 * pointers as user+OFF. At the end of an input the mock checks the view
 * against its own state and the bytes queued against the user's, and
 * prints "BAD <why>" lines for what differs.
 */
#ifndef SPECNET_TCP_MOCK_H
#define SPECNET_TCP_MOCK_H

#include "../generic/tcp.h"

#define TCP_MOCK_USER_MAX	70000	/* most user bytes an input maps */

struct tcp_mock_world {
	u32 dst_mtu;			/* shim_tcp_dst_mtu(), bytes */
	struct sn_tcp_net net;
	struct sn_tcp_sock sk;
};

extern struct tcp_mock_world tcp_mock_world;

/* Wire the world's pointers and set plain defaults. */
void tcp_mock_world_init(struct tcp_mock_world *w);
/* Generated from a context file (harness): configuration fields. */
void tcp_mock_apply_context(struct tcp_mock_world *w);
/* The kernel state of an established connection at sequence isn, with
 * the peer's largest window and the cached GSO segment count. */
void tcp_mock_connect(u32 isn, u32 max_window, u16 gso_segs);

/*
 * Start input number index of run seed: the peer acts (tape), then the
 * view's dynamic fields are refreshed from the kernel state, as the
 * kernel side does under the socket lock before a send. Maps the user
 * buffer (avail of its len bytes readable).
 */
void tcp_mock_begin_input(unsigned long long seed, unsigned int index,
			  const u8 *payload, u32 len, u32 avail);
const u8 *tcp_mock_user_buf(void);
/* Number of effect lines printed since the input began. */
unsigned long tcp_mock_effects(void);
/* End of input: check the view and the bytes queued (ret: the send's
 * return value). */
void tcp_mock_end_input(int ret);

#endif /* SPECNET_TCP_MOCK_H */
