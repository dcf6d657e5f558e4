/* SPDX-License-Identifier: GPL-2.0 */
/*
 * core.h - what the files of the core module share.
 */
#ifndef SPECNET_CORE_H
#define SPECNET_CORE_H

#include "shim_kernel.h"
#include "specnet_uapi.h"

#include <linux/atomic.h>

/* /proc/specnet's counters, in the order it prints them. */
enum sn_counter {
	SN_C_TOKENS_LIVE,
	SN_C_RESIDUALS,
	SN_C_RESIDUAL_BYTES,
	SN_C_SENDS_SPECIALIZED,
	SN_C_SENDS_GENERIC,
	SN_C_FALLBACKS,
	SN_C_REFUSED,
	SN_C_GUARD_CLOSE,
	SN_C_GUARD_ROUTE,
	SN_C_GUARD_PMTU,
	SN_C_SOCKETS_MARKED,
	SN_C_REFS_HELD,
	SN_C_SENDS_GUARDED,
	SN_C_SENDS_REROUTED,
	SN_C_GUARD_REACTION_NS_LAST,
	SN_C_GUARD_REACTION_NS_MAX,
	SN_C_GUARD_CLOSE_WAITS,
	SN_C_COUNT
};

extern atomic_long_t sn_counters[SN_C_COUNT];

static inline void sn_count(enum sn_counter c, long n)
{
	atomic_long_add(n, &sn_counters[c]);
}

/*
 * A socket bound for one send: the shim's views of the socket plus the
 * destination and the route and neighbour a send to it finds. CUSTOMIZE
 * prints it, LOAD keeps it in a token, SEND_GENERIC makes one per send
 * (in a reused buffer, see token.c).
 */
struct sn_binding {
	struct sn_ksock *ks;
	struct sn_sockaddr_in name;
	struct sn_user_msg um;
	struct sn_inst inst;
	int rt_genid;
	int route_err;
	int neigh_err;
};

int sn_binding_init(struct sn_binding *b, int fd,
		    const struct specnet_sockaddr_in *dest, u32 send_flags,
		    bool lookups);
void sn_binding_destroy(struct sn_binding *b);
int sn_binding_init_send(struct sn_binding *b, struct sn_ksock *ks, int fd,
			 const struct specnet_sockaddr_in *dest);
void sn_binding_destroy_send(struct sn_binding *b);
int sn_binding_refs(const struct sn_binding *b);
int sn_context_digest(const struct sn_binding *b, int fd, u64 *digest);
u32 sn_sock_adu(const struct sn_ksock *ks);

struct file;
long sn_customize(struct specnet_customize __user *arg);
long sn_load(struct file *owner, struct specnet_load __user *arg);
long sn_send(struct file *owner, struct specnet_send __user *arg);
long sn_send_generic(struct specnet_send_generic __user *arg);
long sn_release(struct file *owner, struct specnet_release __user *arg);
void sn_tokens_release_file(struct file *owner);
void sn_tokens_exit(void);
int sn_customized_send_init(void);
void sn_customized_send_exit(void);
int sn_close_guard_init(void);
void sn_close_guard_exit(void);

/*
 * The route and PMTU guards of a token (guard_route.c): what its residual
 * assumes about the route, and where the token's sends go now. Written
 * under the token's guard (write side); SEND reads state and gen.
 */
enum sn_route_state {
	SN_RG_SPECIALIZED,	/* the residual on the route it was made for */
	SN_RG_REROUTED,		/* the residual, its datagrams moved (reinforce) */
	SN_RG_GENERIC,		/* generic path: no route (reinforce) */
	SN_RG_GENERIC_PMTU,	/* generic path while the MTU is too low (reinforce) */
	SN_RG_REPLACE,		/* generic path until a LOAD replaces the token */
	SN_RG_FALLBACK,		/* generic path for good */
};

struct sn_reroute;
struct dst_entry;

struct sn_route_guard {
	u32 policy;			/* SPECNET_GUARD_* */
	u32 gen;			/* sn_route_gen at the last review */
	enum sn_route_state state;
	u32 payload;			/* bytes per send (the ADU) */
	const struct dst_entry *dst;	/* the token's route (held by it) */
	__be32 daddr;
	__be16 dport;
	__be32 nexthop, cur_nexthop;	/* made for / now */
	int ifindex, cur_ifindex;	/* made for / now */
	u32 mtu;			/* bytes, what the residual assumes */
	struct sn_reroute *reroute;	/* reinforce's rule, or NULL */
	u32 firings;
	long reaction_ns;		/* event to the last firing's switch */
};

extern atomic_t sn_route_gen;

/* Whether a token's send must take the generic path: its route changed
 * and the review has not looked yet, or a guard switched it. */
static inline bool sn_route_diverts(const struct sn_route_guard *g)
{
	return READ_ONCE(g->gen) != (u32)atomic_read(&sn_route_gen) ||
	       READ_ONCE(g->state) >= SN_RG_GENERIC;
}

void sn_route_guard_init(struct sn_route_guard *g, u32 policy,
			 const struct dst_entry *dst, __be32 daddr,
			 __be16 dport, u32 payload);
void sn_route_guard_destroy(struct sn_route_guard *g);
struct sock;
void sn_route_review(struct sn_route_guard *g, struct sock *sk, u32 gen,
		     u64 event_ns);
void sn_tokens_review(u32 gen, u64 event_ns);
int sn_route_guard_start(void);
void sn_route_guard_stop(void);
void sn_route_guard_sync(void);

struct seq_file;
void sn_residuals_show(struct seq_file *m);

extern unsigned long sn_budget_bytes;

#endif /* SPECNET_CORE_H */
