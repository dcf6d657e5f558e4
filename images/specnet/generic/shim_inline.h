/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shim_inline.h - the shim's per-send effects as inline
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
 * The effects here are those of every datagram: the socket's error and
 * send buffer checks, the skb's allocation, geometry, metadata and
 * headers, the copy, the IP ID and the SNMP counters (whose switch on a
 * constant counter folds away). The rest (waits, errors, fragments, the
 * transmit with its egress hook) stay calls. shim_kernel.c includes this
 * file too: the out-of-line functions shim.h declares, which the core
 * exports, run these bodies.
 *
 * generic.h includes it last in a residual's build (SPECNET_RESIDUAL,
 * specializer/compile/kmod/Kbuild), where it maps the names of the
 * effects a residual inlines (a choice by code size, at the end of this
 * file) to the inline functions. The kernel headers they need are
 * shim_inline_kernel.h's, which a residual's build precompiles.
 */
#ifndef SPECNET_SHIM_INLINE_H
#define SPECNET_SHIM_INLINE_H

#include "shim_kernel.h"
#include "shim_inline_kernel.h"

/* The kernel objects behind the views (shim_kernel.h). */
static inline struct sock *sn_ksk(struct sn_sock *v)
{
	return container_of(v, struct sn_ksock, v)->sk;
}

static inline struct sn_knet *sn_knet_of(struct sn_net *v)
{
	return container_of(v, struct sn_knet, v);
}

/* A route view's dst_entry. */
static inline struct dst_entry *sn_krt_dst(struct sn_rtable *v)
{
	return &container_of(v, struct sn_krt, v)->rt->dst;
}

static inline int shim_sock_error_inline(struct sn_sock *sk)
{
	return sock_error(sn_ksk(sk));
}

static inline int shim_sk_wmem_alloc_get_inline(struct sn_sock *sk)
{
	return sk_wmem_alloc_get(sn_ksk(sk));
}

static inline struct sk_buff *shim_alloc_send_skb_inline(struct sn_sock *sv,
							 u32 header_len)
{
	struct sock *sk = sn_ksk(sv);
	struct sk_buff *skb;
	int err;

	skb = alloc_skb_with_frags(header_len, 0, 0, &err, sk->sk_allocation);
	if (skb)
		skb_set_owner_w(skb, sk);
	return skb;
}

static inline void shim_snmp_inc_inline(struct sn_net *netv, enum sn_mib mib,
					u32 n)
{
	struct net *net = sn_knet_of(netv)->net;

	switch (mib) {
	case SN_MIB_IP_OUTREQUESTS:
		IP_UPD_PO_STATS(net, IPSTATS_MIB_OUT, n);
		break;
	case SN_MIB_IP_OUTDISCARDS:
		IP_INC_STATS(net, IPSTATS_MIB_OUTDISCARDS);
		break;
	case SN_MIB_IP_OUTNOROUTES:
		IP_INC_STATS(net, IPSTATS_MIB_OUTNOROUTES);
		break;
	case SN_MIB_IP_FRAGOKS:
		IP_INC_STATS(net, IPSTATS_MIB_FRAGOKS);
		break;
	case SN_MIB_IP_FRAGCREATES:
		IP_INC_STATS(net, IPSTATS_MIB_FRAGCREATES);
		break;
	case SN_MIB_IP_FRAGFAILS:
		IP_INC_STATS(net, IPSTATS_MIB_FRAGFAILS);
		break;
	case SN_MIB_IP_OUTMCAST:
		IP_UPD_PO_STATS(net, IPSTATS_MIB_OUTMCAST, n);
		break;
	case SN_MIB_IP_OUTBCAST:
		IP_UPD_PO_STATS(net, IPSTATS_MIB_OUTBCAST, n);
		break;
	case SN_MIB_UDP_OUTDATAGRAMS:
		UDP_INC_STATS(net, UDP_MIB_OUTDATAGRAMS, 0);
		break;
	case SN_MIB_UDP_SNDBUFERRORS:
		UDP_INC_STATS(net, UDP_MIB_SNDBUFERRORS, 0);
		break;
	}
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

/*
 * memcpy() of a header into an skb. Headers sit at 4-byte aligned
 * offsets of an skb's data (the kernel's own header writes assume it:
 * struct iphdr's __be32 fields), and the residual's header copies are
 * locals or views with 32-bit fields; but the compiler only sees u8
 * pointers. On a machine without efficient unaligned access (the
 * SA-1110) it then calls memcpy() for every header, so the aligned case,
 * checked, is told: it becomes a few word loads and stores.
 */
static inline void sn_header_copy(void *to, const void *from, u32 len)
{
	if (!IS_ENABLED(CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS) &&
	    IS_ALIGNED((unsigned long)to | (unsigned long)from, 4))
		memcpy(__builtin_assume_aligned(to, 4),
		       __builtin_assume_aligned(from, 4), len);
	else
		memcpy(to, from, len);
}

static inline void shim_skb_store_inline(struct sk_buff *skb, u8 *to,
					 const void *from, u32 len)
{
	sn_header_copy(to, from, len);
}

/* neigh_hh_output(): headroom was reserved (LL_RESERVED_SPACE) */
static inline void shim_skb_push_hh_inline(struct sk_buff *skb,
					   const u8 *hh_data, u32 hh_len)
{
	sn_header_copy(skb->data - HH_DATA_MOD, hh_data, HH_DATA_MOD);
	__skb_push(skb, hh_len);
}

#ifdef SPECNET_RESIDUAL
/*
 * Which effects a residual inlines is a size choice: the shipped residual
 * stays within 1/20 of the kernel's send path on every platform
 * (specializer/compile TestShippedSizeRatio), and each inlined effect
 * saves only a call's few instructions per send. Bytes below are the
 * typical residual module's .text, the effect inlined against called
 * (i486 / p3 / sa1100; with every effect inlined the module was
 * 1270 / 1183 / 1784 bytes, 5.6 / 5.2 / 7.3%).
 *
 * Inlined everywhere, the cheapest: the access check (-1 / -8 / -4
 * bytes), the IP ID (a direct call of the kernel's function: 0 / -16 /
 * 0), the checksum offsets (0 / 0 / +4), the device and protocol stores
 * (0 / 0 / +4), the send buffer read (+16 / +32 / -8) and the header
 * copy (+16 / 0 / +56: on the SA-1110 sn_header_copy()'s word stores,
 * which the call runs too). And the skb's geometry (+48 / +32 / +56),
 * the dearest: on the SA-1110 it saves 15 instructions per datagram
 * (64 bytes: 1958 to 1943, 0.503 to 0.499 of sendto()) and leaves the
 * module 1212 bytes, 4.9% (1/20.3).
 */
#define shim_access_ok			shim_access_ok_inline
#define shim_ip_idents_reserve		shim_ip_idents_reserve_inline
#define shim_skb_partial_csum_set	shim_skb_partial_csum_set_inline
#define shim_skb_set_dev		shim_skb_set_dev_inline
#define shim_sk_wmem_alloc_get		shim_sk_wmem_alloc_get_inline
#define shim_skb_store			shim_skb_store_inline
#define shim_skb_setup			shim_skb_setup_inline
/*
 * x86 only, where the counters and the copy measured no bigger inline
 * than called (0 / -16 bytes each). On the SA-1110 the counters alone
 * were +228 bytes (ARM's per-CPU updates are no single instructions) and
 * the copy +100: they stay calls there.
 */
#ifdef CONFIG_X86
#define shim_snmp_inc			shim_snmp_inc_inline
#define shim_copy_from_user		shim_copy_from_user_inline
#endif
/*
 * Calls everywhere: the socket error (+16 / +32 / +56 bytes), the skb
 * allocation (+32 / +16 / +44), the route's reference (+48 / +24 /
 * +84, a WARN on ARM), the metadata with the route (+64 / +48 / +52)
 * and the cached link header (+48 / +32 / +56): together they took the
 * x86 residuals past 5%.
 */

#endif

#endif /* SPECNET_SHIM_INLINE_H */
