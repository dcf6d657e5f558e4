/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mock.h - the recording mock behind shim.h (user space, SPECBED_USER).
 *
 * The mock owns a small world: one socket, its sock, the network
 * namespace, a cached route and a looked-up route with a device each, a
 * neighbour and the socket's IP options. A context fills the world's
 * configuration (mock_apply_context, generated from a context file);
 * the tape (a seeded generator) answers the lookups a context does not
 * fix and decides the outcome of effects (allocation failure, short user
 * buffer, driver verdict ...).
 *
 * Every SHIM_EFFECT call appends one line to the effect log (stdout):
 *   E <name> <arg>...
 * Arguments are printed so that two runs of different code over the same
 * world print the same text: skbs by allocation number (skb3), pointers
 * into packet data as skb3+42, user pointers as user+0, world objects by
 * name (sk, rt, dev ...), byte ranges as their hex (or length and FNV-1a
 * hash when long).
 */
#ifndef SPECNET_MOCK_H
#define SPECNET_MOCK_H

#include "../generic/generic.h"

#define MOCK_USER_MAX	70000	/* most user bytes an input maps */

struct mock_world {
	int fd;
	int route_err;			/* shim_ip_route_output_err() */
	int neigh_err;			/* shim_ipv4_neigh_err() */
	int rt_genid;			/* shim_rt_genid_ipv4() */
	struct sn_user_msg um;
	struct sn_sockaddr_in addr;
	struct sn_socket sock;
	struct sn_sock sk;
	struct sn_net net;
	struct sn_ip_options opt;
	struct sn_rtable rt_cached;
	struct sn_netdev dev_cached;
	struct sn_rtable rt;
	struct sn_netdev dev;
	struct sn_neigh neigh;
	struct sn_ip_ident ipid;		/* shim_ip_ident_lookup() */
};

extern struct mock_world mock_world;

/* Wire the world's pointers and set plain defaults. */
void mock_world_init(struct mock_world *w);
/* Generated from a context file (harness): configuration fields. */
void mock_apply_context(struct mock_world *w);

/* Start input number index of run seed: reseeds the tape, maps the user
 * buffer (avail of its len bytes readable), clears per-input state. */
void mock_begin_input(unsigned long long seed, unsigned int index,
		      const u8 *payload, u32 len, u32 avail);
/* Where the payload lives for the send path. */
const u8 *mock_user_buf(void);
/* End of input: report skbs nobody holds any more (leaks). */
void mock_end_input(void);
/* Number of effect lines printed since the input began. */
unsigned long mock_effects(void);

/* The tape: a deterministic stream per (seed, input, purpose). */
u32 mock_tape(u32 purpose);

#endif /* SPECNET_MOCK_H */
