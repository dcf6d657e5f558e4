/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shim_inline.h - the shim's per-send effects on an skb as inline
 * functions, for residual modules (SPECBED_KERNEL).
 *
 * A residual keeps every shim effect of its send, in order, as a call
 * (shim.h). Most of those calls only store a few skb fields or copy a
 * header: out of line, each cost a call, a return and the argument
 * shuffling around them, more than the stores themselves, and a header
 * copy of constant length stayed a memcpy() call. Compiled into the
 * residual, they are the same effects on the same fields in the same
 * order, with the residual's constant lengths folded.
 *
 * Only effects that need no more than the skb, the user buffer and the
 * views are here: <net/sock.h> defines macros named like the views'
 * fields (sk_net, sk_state ...), so effects on the socket stay calls.
 * shim_kernel.c includes this file too: the out-of-line functions shim.h
 * declares, which the core exports, run these bodies.
 *
 * generic.h includes it last in a residual's build (SPECNET_RESIDUAL,
 * specializer/compile/kmod/Kbuild), where it maps the shim's names to
 * the inline functions and undefines the kernel macros named like view
 * fields: a residual includes no kernel header after generic.h, and its
 * code reads those fields.
 */
#ifndef SPECNET_SHIM_INLINE_H
#define SPECNET_SHIM_INLINE_H

#include "shim_kernel.h"

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/uaccess.h>
#include <net/dst.h>

/* net/ip.h, which includes <net/sock.h>; shim_kernel.c includes both,
 * so the compiler checks that the two agree (kernel patch 0005). */
u32 ip_idents_reserve(u32 hash, int segs);

/*
 * A route view's dst_entry. struct rtable (net/route.h, which includes
 * <net/sock.h>) starts with it; shim_kernel.c asserts the offset.
 */
static inline struct dst_entry *sn_krt_dst(struct sn_rtable *v)
{
	return (struct dst_entry *)container_of(v, struct sn_krt, v)->rt;
}

static inline bool shim_access_ok_inline(const u8 __user *buf, u32 len)
{
	return access_ok(buf, len);
}

static inline void shim_dst_hold_inline(struct sn_rtable *rt)
{
	dst_hold(sn_krt_dst(rt));
}

static inline u16 shim_ip_idents_reserve_inline(u32 hash, int segs)
{
	return ip_idents_reserve(hash, segs);
}

static inline u8 *shim_skb_setup_inline(struct sk_buff *skb, u8 ip_summed,
					u32 headroom, u32 len, u32 thoff)
{
	u8 *data;

	skb->ip_summed = ip_summed;
	skb->csum = 0;
	skb_reserve(skb, headroom);
	data = skb_put(skb, len);
	skb_set_network_header(skb, 0);
	skb->transport_header = skb->network_header + thoff;
	return data;
}

static inline void shim_skb_partial_csum_set_inline(struct sk_buff *skb,
						    u8 *th, u16 csum_offset)
{
	skb->csum_start = th - skb->head;
	skb->csum_offset = csum_offset;
}

static inline void shim_skb_set_meta_inline(struct sk_buff *skb, u32 priority,
					    u32 mark, struct sn_rtable *rt)
{
	skb->priority = priority;
	skb->mark = mark;
	skb->tstamp = 0;
	skb_dst_set(skb, sn_krt_dst(rt));
}

static inline void shim_skb_set_dev_inline(struct sk_buff *skb,
					   struct sn_netdev *dev,
					   __be16 protocol)
{
	skb->dev = container_of(dev, struct sn_kdev, v)->dev;
	skb->protocol = protocol;
}

static inline u32 shim_copy_from_user_inline(u8 *to, const u8 __user *from,
					     u32 len)
{
	return copy_from_user(to, from, len);
}

static inline void shim_skb_store_inline(struct sk_buff *skb, u8 *to,
					 const void *from, u32 len)
{
	memcpy(to, from, len);
}

/* neigh_hh_output(): headroom was reserved (LL_RESERVED_SPACE) */
static inline void shim_skb_push_hh_inline(struct sk_buff *skb,
					   const u8 *hh_data, u32 hh_len)
{
	memcpy(skb->data - HH_DATA_MOD, hh_data, HH_DATA_MOD);
	__skb_push(skb, hh_len);
}

#ifdef SPECNET_RESIDUAL
#define shim_access_ok			shim_access_ok_inline
#define shim_dst_hold			shim_dst_hold_inline
#define shim_ip_idents_reserve		shim_ip_idents_reserve_inline
#define shim_skb_setup			shim_skb_setup_inline
#define shim_skb_partial_csum_set	shim_skb_partial_csum_set_inline
#define shim_skb_set_meta		shim_skb_set_meta_inline
#define shim_skb_set_dev		shim_skb_set_dev_inline
#define shim_copy_from_user		shim_copy_from_user_inline
#define shim_skb_store			shim_skb_store_inline
#define shim_skb_push_hh		shim_skb_push_hh_inline

/* net/flow.h's and linux/in.h's, named like fields of struct sn_flowi4
 * and struct sn_sockaddr_in (generic.h). */
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

#endif /* SPECNET_SHIM_INLINE_H */
