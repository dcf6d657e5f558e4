/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shim_kernel.h - the kernel side of shim.h: views next to the kernel
 * objects they show (see shim_kernel.c), and how a module binds a socket.
 */
#ifndef SPECNET_SHIM_KERNEL_H
#define SPECNET_SHIM_KERNEL_H

#include <linux/list.h>
#include "generic.h"

struct file;
struct files_struct;
struct net;
struct net_device;
struct neighbour;
struct rtable;
struct sock;
struct sn_ksock;

struct sn_kdev {
	struct sn_netdev v;
	struct net_device *dev;
	struct sn_ksock *owner;
};

struct sn_krt {
	struct sn_rtable v;
	struct rtable *rt;		/* holds a reference */
	struct sn_kdev dev;
};

struct sn_kneigh {
	struct sn_neigh v;
	struct neighbour *n;		/* holds a reference */
};

struct sn_knet {
	struct sn_net v;
	struct net *net;
};

/* A bound UDP socket: its views and the kernel objects behind them. */
struct sn_ksock {
	struct list_head list;
	int fd;
	struct files_struct *files;	/* whose descriptor fd is */
	struct file *file;		/* a reference if fput_needed */
	bool fput_needed;
	struct sock *sk;
	struct sn_socket sock;
	struct sn_sock v;
	struct sn_knet net;
	struct sn_ip_options opt;
	struct sn_krt cached;		/* the socket's sk_dst_cache */
	struct sn_krt looked_up;	/* the last route lookup */
	struct sn_kneigh neigh;		/* the last neighbour lookup */
	struct sn_ip_ident ipid;	/* the last IP ID generator lookup */
};

/* The view fields whose names are kernel macros (shim_views.c). */
struct sn_view_common {
	struct sn_net *net;
	u8 state;
	int bound_dev_if;
	u32 flags;
	__be32 daddr;
	__be32 rcv_saddr;
	__be16 dport;
	u16 num;
	__be16 conn_dport;		/* inet->cork.fl.u.ip4.fl4_dport */
};

void sn_view_set_common(struct sn_sock *v, const struct sn_view_common *c);

struct sn_ksock *sn_kernel_bind(int fd, int *err);
void sn_kernel_unbind(struct sn_ksock *ks);
int sn_kernel_bind_send(struct sn_ksock *ks, int fd);
void sn_kernel_unbind_send(struct sn_ksock *ks);
void sn_kernel_register(struct sn_ksock *ks);
void sn_kernel_unregister(struct sn_ksock *ks);

struct sk_buff;
/* Where shim_dev_queue_xmit() sends instead of dev_queue_xmit(), if set. */
extern int (*shim_egress_hook)(struct sk_buff *skb);

#endif /* SPECNET_SHIM_KERNEL_H */
