/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shim.h - the one interface between the generic UDP/IPv4 send path and
 * the kernel.
 *
 * The generic path (socket.c, udp.c, ip.c, dev.c) never touches a kernel
 * object directly: every lookup and every effect goes through a function
 * declared here. The same sources compile three ways:
 *   SPECBED_KERNEL  a guest kernel module; shim_kernel.c maps each call to
 *                   the kernel function it stands for.
 *   SPECBED_USER    user space against the recording mock (../mock): each
 *                   SHIM_EFFECT call is appended to an effect log, each
 *                   SHIM_PURE lookup answers from the context or a tape.
 *   SPECBED_SPEC    the specializer's input (specializer/SUBSET.md).
 *
 * SHIM_PURE marks a lookup without side effects: when its arguments are
 * static and the declarations say so, the specializer folds it into a
 * per-instance value. SHIM_EFFECT marks everything else (allocation,
 * copy, checksum, header write, lock, transmit): kept, in order, in every
 * residual. SHIM_ERRNO marks a shim that returns 0 or a negative errno,
 * as its kernel function does: the specializer knows an error from it is
 * negative.
 *
 * Conventions: byte-order sensitive values (addresses, ports) are passed
 * as the kernel stores them (__be32, __be16); lengths and offsets are
 * bytes; a pointer into packet data is a pointer the shim handed out
 * (shim_skb_put, shim_skb_push, shim_skb_pfrag_attach), never one the
 * generic code made up.
 */
#ifndef SPECNET_SHIM_H
#define SPECNET_SHIM_H

#ifdef SPECBED_SPEC
#define SHIM_PURE	__attribute__((specbed_pure))
#define SHIM_EFFECT	__attribute__((specbed_effect))
#define SHIM_ERRNO	__attribute__((specbed_errno))
#else
#define SHIM_PURE
#define SHIM_EFFECT
#define SHIM_ERRNO
#endif

#if defined(SPECBED_KERNEL)
#include <linux/types.h>
#include <linux/stddef.h>
#elif defined(SPECBED_USER)
#include <stdint.h>
#include <stddef.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef uint16_t __be16;
typedef uint32_t __be32;
typedef uint16_t __sum16;
typedef uint32_t __wsum;
typedef _Bool bool;
#define true 1
#define false 0
#define __user
#else /* SPECBED_SPEC: no system headers, ILP32 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef unsigned short __be16;
typedef unsigned int __be32;
typedef unsigned short __sum16;
typedef unsigned int __wsum;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)
#define __user
#endif

/* Kernel objects the generic path only ever holds a handle to. */
struct sk_buff;

/* Views of kernel state, defined in generic.h. */
struct sn_socket;
struct sn_sock;
struct sn_net;
struct sn_rtable;
struct sn_netdev;
struct sn_neigh;

/* SNMP counters the send path bumps (IP_INC_STATS, UDP_INC_STATS ...). */
enum sn_mib {
	SN_MIB_IP_OUTREQUESTS,		/* IPSTATS_MIB_OUT (packets + octets) */
	SN_MIB_IP_OUTDISCARDS,
	SN_MIB_IP_OUTNOROUTES,
	SN_MIB_IP_FRAGOKS,
	SN_MIB_IP_FRAGCREATES,
	SN_MIB_IP_FRAGFAILS,
	SN_MIB_IP_OUTMCAST,		/* IPSTATS_MIB_OUTMCAST (packets + octets) */
	SN_MIB_IP_OUTBCAST,		/* IPSTATS_MIB_OUTBCAST (packets + octets) */
	SN_MIB_UDP_OUTDATAGRAMS,
	SN_MIB_UDP_SNDBUFERRORS,
};

/* ---- lookups (SHIM_PURE) ---- */

/* sockfd_lookup_light(): the socket behind a descriptor. The caller's
 * instance holds the file reference, so no fput is rendered. */
SHIM_PURE struct sn_socket *shim_sockfd_lookup(int fd);

/* ip_route_output_flow() split in two so that each result has one type:
 * the error (0 or -ENETUNREACH, -EINVAL ...) and, when it is 0, the route
 * (RCU lookup, no reference taken: see shim_dst_hold). The route's
 * fl4_saddr/fl4_daddr hold what the lookup writes back into the flow. */
SHIM_PURE int shim_ip_route_output_err(struct sn_net *net, __be32 daddr,
				       __be32 saddr, u8 tos, int oif,
				       u32 mark, u8 flow_flags, __be16 dport,
				       __be16 sport, u32 uid);
SHIM_PURE struct sn_rtable *shim_ip_route_output(struct sn_net *net,
						 __be32 daddr, __be32 saddr,
						 u8 tos, int oif, u32 mark,
						 u8 flow_flags, __be16 dport,
						 __be16 sport, u32 uid);
/* rt_genid_ipv4(): the namespace's route generation (rt_is_expired). */
SHIM_PURE int shim_rt_genid_ipv4(struct sn_net *net);
/*
 * ip_neigh_gw4(): __ipv4_neigh_lookup_noref(), else __neigh_create(); 0,
 * or its error (PTR_ERR: the ARP table is full, no memory). The entry it
 * found or made is then shim_ipv4_neigh_lookup()'s.
 */
SHIM_PURE int shim_ipv4_neigh_err(struct sn_netdev *dev, __be32 nexthop);
/* The ARP entry for a next hop that shim_ipv4_neigh_err() found (RCU). */
SHIM_PURE struct sn_neigh *shim_ipv4_neigh_lookup(struct sn_netdev *dev,
						  __be32 nexthop);
/*
 * The generator __ip_select_ident() takes for a datagram from saddr to
 * daddr: its hash (ip_idents_hash(), kernel patch 0005). Every argument
 * is fixed for a flow, so a residual takes it once, when its token is
 * loaded, and only reserves IDs per datagram (shim_ip_idents_reserve).
 */
SHIM_PURE struct sn_ip_ident *shim_ip_ident_lookup(struct sn_net *net,
						   __be32 daddr, __be32 saddr,
						   u8 protocol);
/* access_ok() on the user payload. */
SHIM_PURE bool shim_access_ok(const u8 __user *buf, u32 len);
/* sk_wmem_alloc_get(): bytes charged to the socket's send buffer. */
SHIM_PURE int shim_sk_wmem_alloc_get(struct sn_sock *sk);
/* signal_pending(current). */
SHIM_PURE bool shim_signal_pending(void);
/* ns_capable(CAP_NET_RAW) || ns_capable(CAP_NET_ADMIN) for SO_MARK. */
SHIM_PURE bool shim_capable_so_mark(struct sn_net *net);
/* test_bit(SOCK_NOSPACE, &sk->sk_socket->flags). */
SHIM_PURE bool shim_sk_test_nospace(struct sn_sock *sk);
/* inet_current_timestamp() for IP timestamp options (network order). */
SHIM_PURE __be32 shim_inet_current_timestamp(void);

/* ---- effects (SHIM_EFFECT) ---- */

/* inet_autobind(). */
SHIM_EFFECT int shim_inet_autobind(struct sn_sock *sk);
/* sock_error(): takes and clears sk->sk_err (negative errno or 0). */
SHIM_EFFECT SHIM_ERRNO int shim_sock_error(struct sn_sock *sk);
/* sk_set_bit(SOCKWQ_ASYNC_NOSPACE) + set_bit(SOCK_NOSPACE). */
SHIM_EFFECT void shim_sk_set_nospace(struct sn_sock *sk);
/* sock_wait_for_wmem(): sleeps, returns the remaining timeout (jiffies). */
SHIM_EFFECT long shim_sock_wait_for_wmem(struct sn_sock *sk, long timeo);
/* lock_sock() / release_sock(). */
SHIM_EFFECT void shim_lock_sock(struct sn_sock *sk);
SHIM_EFFECT void shim_release_sock(struct sn_sock *sk);
/* ip_local_error(): queue EMSGSIZE on the error queue (if IP_RECVERR). */
SHIM_EFFECT void shim_ip_local_error(struct sn_sock *sk, int err,
				     __be32 daddr, __be16 dport, u32 info);
/* SNMP counters; n is the octet count for the *_PO_ counters, else 1. */
SHIM_EFFECT void shim_snmp_inc(struct sn_net *net, enum sn_mib mib, u32 n);

/* Route references: dst_hold() / dst_release() (ip_rt_put). */
SHIM_EFFECT void shim_dst_hold(struct sn_rtable *rt);
SHIM_EFFECT void shim_dst_release(struct sn_rtable *rt);
/* sk_dst_set(sk, dst_clone(rt)) / sk_dst_reset(sk). */
SHIM_EFFECT void shim_sk_dst_set(struct sn_sock *sk, struct sn_rtable *rt);
SHIM_EFFECT void shim_sk_dst_reset(struct sn_sock *sk);
/* dst_confirm_neigh(). */
SHIM_EFFECT void shim_dst_confirm_neigh(struct sn_rtable *rt, __be32 daddr);
/* ip_idents_reserve() (kernel patch 0005): the first of segs IP IDs
 * from the generator of hash, host order; with shim_ip_ident_lookup() it
 * is __ip_select_ident(). */
SHIM_EFFECT u16 shim_ip_idents_reserve(u32 hash, int segs);

/* Allocation. alloc_skb_with_frags() + skb_set_owner_w() (the end of
 * sock_alloc_send_pskb()); alloc_skb(); the per-skb part of
 * __ip_append_data's accounting (destructor = sock_wfree, returns
 * skb->truesize) and the final refcount_add() on sk_wmem_alloc. */
SHIM_EFFECT struct sk_buff *shim_alloc_send_skb(struct sn_sock *sk,
						u32 header_len);
SHIM_EFFECT struct sk_buff *shim_alloc_skb(struct sn_sock *sk, u32 size);
SHIM_EFFECT u32 shim_skb_set_wfree(struct sk_buff *skb, struct sn_sock *sk);
SHIM_EFFECT void shim_sk_wmem_add(struct sn_sock *sk, u32 bytes);
SHIM_EFFECT void shim_kfree_skb(struct sk_buff *skb);
SHIM_EFFECT void shim_consume_skb(struct sk_buff *skb);
SHIM_EFFECT struct sk_buff *shim_skb_clone(struct sk_buff *skb);

/* Buffer geometry. shim_skb_setup() is what __ip_append_data does to a
 * fresh skb with inline field stores: ip_summed, skb_reserve(headroom),
 * skb_put(len) (it returns the data: the network header), and the
 * transport header thoff bytes after it. skb_put() returns the old tail,
 * __skb_trim(), skb->ip_summed, skb->csum_start/offset from a transport
 * header pointer, skb_set_dst_pending_confirm(). */
SHIM_EFFECT u8 *shim_skb_setup(struct sk_buff *skb, u8 ip_summed, u32 headroom,
			       u32 len, u32 thoff);
SHIM_EFFECT u8 *shim_skb_put(struct sk_buff *skb, u32 len);
SHIM_EFFECT void shim_skb_trim(struct sk_buff *skb, u32 len);
SHIM_EFFECT void shim_skb_set_ip_summed(struct sk_buff *skb, u8 ip_summed);
SHIM_EFFECT void shim_skb_partial_csum_set(struct sk_buff *skb, u8 *th,
					   u16 csum_offset);
SHIM_EFFECT void shim_skb_set_dst_pending_confirm(struct sk_buff *skb);
/* __ip_make_skb: priority, mark, tstamp and skb_dst_set(). */
SHIM_EFFECT void shim_skb_set_meta(struct sk_buff *skb, u32 priority,
				   u32 mark, struct sn_rtable *rt);
/* skb->dev and skb->protocol (ip_output / ip_mc_output). */
SHIM_EFFECT void shim_skb_set_dev(struct sk_buff *skb, struct sn_netdev *dev,
				  __be16 protocol);
/* Page fragments (__ip_append_data on a scatter-gather device):
 * sk_page_frag_refill() + skb_can_coalesce() / __skb_fill_page_desc();
 * returns 0, -ENOMEM or -EMSGSIZE and where to copy, and how much room the
 * page has; then pfrag->offset, the frag size and skb->len grow by len. */
SHIM_EFFECT SHIM_ERRNO int shim_skb_pfrag_attach(struct sk_buff *skb, struct sn_sock *sk,
				      u8 **to, u32 *room);
SHIM_EFFECT void shim_skb_pfrag_commit(struct sk_buff *skb, struct sn_sock *sk,
				       u32 len);
/* __ip_make_skb: __skb_pull(tmp, nhlen) and link tmp into head's
 * frag_list (len, data_len, truesize; tmp loses its owner). */
SHIM_EFFECT void shim_skb_frag_list_add(struct sk_buff *head,
					struct sk_buff *tmp, u32 nhlen);
/* ip_fraglist_init(): detach the frag_list, head becomes first_len. */
SHIM_EFFECT void shim_skb_frag_list_detach(struct sk_buff *head, u32 first_len);
/* ip_fraglist_prepare() without the header bytes: ip_summed = NONE,
 * transport header, __skb_push(hlen), network header, ip_copy_metadata.
 * Returns the new network header. */
SHIM_EFFECT u8 *shim_skb_fraglist_prepare(struct sk_buff *frag,
					  struct sk_buff *head, u32 hlen);

/* Copies and checksums. copy_from_user() returns the bytes not copied;
 * csum_and_copy_from_user() returns 0 or -EFAULT and the partial csum;
 * skb_copy_and_csum_bits() moves bytes between two of our buffers. */
SHIM_EFFECT u32 shim_copy_from_user(u8 *to, const u8 __user *from, u32 len);
SHIM_EFFECT int shim_csum_and_copy_from_user(u8 *to, const u8 __user *from,
					     u32 len, __wsum *csum);
SHIM_EFFECT __wsum shim_skb_copy_and_csum_bits(struct sk_buff *from, u32 off,
					       u8 *to, u32 len);
/* Header writes: memcpy into packet data (to was handed out by the shim). */
SHIM_EFFECT void shim_skb_store(struct sk_buff *skb, u8 *to, const void *from,
				u32 len);

/* Device hand-off. shim_skb_push_hh() is neigh_hh_output()'s copy of the
 * cached hardware header (HH_DATA_MOD bytes before the data) and
 * __skb_push(hh_len). */
SHIM_EFFECT void shim_skb_push_hh(struct sk_buff *skb, const u8 *hh_data,
				  u32 hh_len);
SHIM_EFFECT int shim_neigh_event_send(struct sn_neigh *neigh,
				      struct sk_buff *skb);
SHIM_EFFECT void shim_neigh_hh_init(struct sn_neigh *neigh);
SHIM_EFFECT void shim_neigh_confirm(struct sn_neigh *neigh);
SHIM_EFFECT int shim_dev_hard_header(struct sk_buff *skb, struct sn_netdev *dev,
				     u16 type, const u8 *daddr, u32 len);
SHIM_EFFECT int shim_dev_queue_xmit(struct sk_buff *skb);
SHIM_EFFECT int shim_dev_loopback_xmit(struct sk_buff *skb);

#endif /* SPECNET_SHIM_H */
