/* shim.h: the tiny test path's kernel interface (same shape as images/specnet/generic/shim.h). */
#ifndef TINY_SHIM_H
#define TINY_SHIM_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed int s32;
typedef _Bool bool;

#define true 1
#define false 0
#define NULL ((void *)0)

#ifdef SPECBED_SPEC
#define SHIM_PURE __attribute__((specbed_pure))
#define SHIM_EFFECT __attribute__((specbed_effect))
#else
#define SHIM_PURE
#define SHIM_EFFECT
#endif

struct sock;
struct rtable;
struct sk_buff;
struct net_device;

SHIM_PURE struct rtable *shim_route_output(struct sock *sk, u32 daddr, u8 tos);
SHIM_PURE int shim_dst_check(struct rtable *rt);
SHIM_EFFECT struct sk_buff *shim_alloc_skb(struct sock *sk, u32 size, int nonblock);
SHIM_EFFECT u8 *shim_skb_put(struct sk_buff *skb, u32 len);
SHIM_EFFECT int shim_copy_from_user(u8 *to, const u8 *from, u32 len);
SHIM_EFFECT u32 shim_csum_partial(const u8 *buf, u32 len, u32 sum);
SHIM_EFFECT int shim_dev_xmit(struct net_device *dev, struct sk_buff *skb);
SHIM_EFFECT void shim_free_skb(struct sk_buff *skb);
SHIM_EFFECT u16 shim_next_ip_id(struct sock *sk);

#endif
