/* tiny.h: structures of the tiny send path used by the specializer's own tests. */
#ifndef TINY_H
#define TINY_H

#include "shim.h"

#define MSG_DONTWAIT 0x40
#define MSG_MORE 0x8000
#define NETIF_F_HW_CSUM 0x8
#define EMSGSIZE 90
#define ENOBUFS 105
#define EAGAIN 11
#define EINVAL 22
#define ENOTCONN 107
#define TCP_ESTABLISHED 1
#define IPHDR_LEN 20
#define UDPHDR_LEN 8

struct net_device {
	u32 mtu;
	u32 features;
	u16 hard_header_len;
	u8 hh[14];
};

struct rtable {
	struct net_device *dev;
	u32 gateway;
	int obsolete;
};

struct inet_opt {
	u32 saddr;
	u32 daddr;
	u16 sport;
	u16 dport;
	u8 tos;
	u8 ttl;
	u8 mc_ttl;
	u8 pmtudisc;
};

struct sock {
	struct inet_opt inet;
	u32 flags;
	u32 wmem_queued;
	int state;
	struct rtable *dst_cache;
	u32 sndbuf;
};

/* Values bound per instance: one compiled residual serves many sockets. */
struct tiny_inst {
	struct sock *sk;
	struct rtable *rt;
};

int tiny_send(struct sock *sk, const u8 *buf, u32 len, u32 flags);

#endif
