/* SPDX-License-Identifier: GPL-2.0 */
/*
 * generic.h - state and helpers of the generic UDP/IPv4 send path.
 *
 * The structs below are views of the kernel objects the send path reads,
 * with the kernel's field names (struct sock, inet_sock, udp_sock,
 * rtable, net_device, neighbour). Configuration fields are what the
 * declarations (udp.decl) may call static; the fields marked "dynamic"
 * are state the send path itself changes. The generic code never writes
 * a configuration field: kernel state it must change is changed through
 * a shim effect.
 *
 * An sk_buff is opaque (struct sk_buff behind the shim). What the kernel
 * reads back from its skbs while building a datagram (len, csum,
 * ip_summed, where the network header is) the generic path keeps itself
 * in struct sn_skb, so that lengths stay visible to the specializer.
 *
 * Not rendered (compiled out of the specbed kernels or outside a plain
 * UDP socket's path): UDP-Lite, UDP GSO (UDP_SEGMENT), MSG_ZEROCOPY,
 * SO_TXTIME and TX timestamps, cgroup BPF, netfilter hooks, XFRM
 * (dst.header_len and trailer_len are 0), l3mdev, lwtunnel, IPv6.
 */
#ifndef SPECNET_GENERIC_H
#define SPECNET_GENERIC_H

#include "shim.h"

/* errno values (include/uapi/asm-generic/errno*.h) */
#define SN_EPERM		1
#define SN_EINTR		4
#define SN_EBADF		9
#define SN_EAGAIN		11
#define SN_ENOMEM		12
#define SN_EACCES		13
#define SN_EFAULT		14
#define SN_EINVAL		22
#define SN_EPIPE		32
#define SN_EDESTADDRREQ		89
#define SN_EMSGSIZE		90
#define SN_EOPNOTSUPP		95
#define SN_EAFNOSUPPORT		97
#define SN_ENOBUFS		105
#define SN_ENETUNREACH		101
#define SN_ERESTARTSYS		512

/* Returned by a residual whose guard failed (udp.decl fallback). */
#define SN_SPEC_FALLBACK	(-4095)

#define SN_AF_UNSPEC		0
#define SN_AF_INET		2
#define SN_IPPROTO_UDP		17
#define SN_ETH_P_IP		0x0800
#define SN_TCP_ESTABLISHED	1
#define SN_O_NONBLOCK		04000
#define SN_SEND_SHUTDOWN	2
#define SN_MAX_RW_COUNT		0x7ffff000U	/* INT_MAX & PAGE_MASK */

/* msg_flags (include/linux/socket.h) */
#define SN_MSG_OOB		0x1
#define SN_MSG_DONTROUTE	0x4
#define SN_MSG_PROBE		0x10
#define SN_MSG_DONTWAIT		0x40
#define SN_MSG_CONFIRM		0x800
#define SN_MSG_MORE		0x8000
#define SN_MSG_SPLICE_PAGES	0x8000000
#define SN_MSG_INTERNAL_SENDMSG_FLAGS	SN_MSG_SPLICE_PAGES

/* control messages */
#define SN_SOL_IP		0
#define SN_SOL_SOCKET		1
#define SN_SOL_UDP		17
#define SN_IP_TOS		1
#define SN_IP_TTL		2
#define SN_IP_PKTINFO		8
#define SN_SO_MARK		36
#define SN_SCM_RIGHTS		1
#define SN_SCM_CREDENTIALS	2
#define SN_CMSG_HDRLEN		12	/* sizeof(struct cmsghdr), ILP32 */
#define SN_CMSG_MAX		64	/* the kernel copy of msg_control */

/* IP */
#define SN_IP_DF		0x4000
#define SN_IP_MF		0x2000
#define SN_IP_OFFSET		0x1fff
#define SN_IP_MAX_MTU		0xffff
#define SN_IPHDR_LEN		20
#define SN_UDPHDR_LEN		8
#define SN_IPTOS_TOS_MASK	0x1e
#define SN_RTO_ONLINK		0x01
#define SN_CSUM_MANGLED_0	0xffff
#define SN_IP_PMTUDISC_DONT	0
#define SN_IP_PMTUDISC_WANT	1
#define SN_IP_PMTUDISC_DO	2
#define SN_IP_PMTUDISC_PROBE	3
#define SN_IP_PMTUDISC_INTERFACE 4
#define SN_IP_PMTUDISC_OMIT	5
#define SN_IPOPT_END		0
#define SN_IPOPT_NOOP		1
#define SN_IPOPT_COPY		0x80
#define SN_FLOWI_FLAG_ANYSRC	0x01
#define SN_IPCORK_OPT		1

/* routes */
#define SN_RTN_UNICAST		1
#define SN_RTN_LOCAL		2
#define SN_RTN_BROADCAST	3
#define SN_RTN_MULTICAST	5
#define SN_RTCF_BROADCAST	0x10000000
#define SN_RTCF_MULTICAST	0x20000000
#define SN_RTCF_LOCAL		0x80000000
#define SN_DST_OBSOLETE_FORCE_CHK (-1)
#define SN_RTAX_LOCK_MTU	(1 << 2)	/* 1 << RTAX_MTU in metrics lock */

/* devices */
#define SN_NETIF_F_SG		(1 << 0)
#define SN_NETIF_F_IP_CSUM	(1 << 1)
#define SN_NETIF_F_HW_CSUM	(1 << 3)
#define SN_HH_DATA_MOD		16
#define SN_CHECKSUM_NONE	0
#define SN_CHECKSUM_PARTIAL	3
#define SN_NET_XMIT_SUCCESS	0x00
#define SN_NET_XMIT_DROP	0x01
#define SN_NET_XMIT_CN		0x02
#define SN_NET_XMIT_MASK	0x0f

/* neighbours */
#define SN_NUD_REACHABLE	0x02
#define SN_NUD_DELAY		0x08
#define SN_NUD_PROBE		0x10
#define SN_NUD_NOARP		0x40
#define SN_NUD_PERMANENT	0x80
#define SN_NUD_CONNECTED	(SN_NUD_PERMANENT | SN_NUD_NOARP | SN_NUD_REACHABLE)

/* sock_flags bits */
#define SN_SOCK_BROADCAST	(1 << 6)
#define SN_SOCK_LOCALROUTE	(1 << 13)

/* Most skbs one datagram may take (the kernel has no such limit; ours
 * bounds the stack a module's send path uses, under the kernel's 1 KB
 * frame warning: 20 fragments of a 1500-byte MTU carry 29 KB). More is
 * refused with -EMSGSIZE. */
#define SN_QUEUE_MAX		20

struct sn_sockaddr_in {
	u16 sin_family;
	__be16 sin_port;
	__be32 sin_addr;		/* sin_addr.s_addr */
	u8 sin_zero[8];
};

/*
 * What the caller of sendmsg() passed besides the payload, in kernel
 * memory (the copies __sys_sendto / ____sys_sendmsg make): the
 * destination and the control messages. A customized send fixes them.
 */
struct sn_user_msg {
	struct sn_sockaddr_in *msg_name;	/* NULL: no address given */
	int msg_namelen;
	u8 msg_control[SN_CMSG_MAX];
	u32 msg_controllen;
};

/* struct msghdr while the send path runs; the payload iterator is a
 * single user range (import_single_range). */
struct sn_msghdr {
	struct sn_sockaddr_in *msg_name;
	int msg_namelen;
	const u8 *msg_control;
	u32 msg_controllen;
	u32 msg_flags;
	const u8 __user *iov_base;	/* msg_iter */
	u32 iov_len;
	u32 iov_off;			/* how far msg_iter has advanced */
};

struct sn_ip_options {
	__be32 faddr;
	__be32 nexthop;
	u8 optlen;
	u8 srr;
	u8 rr;
	u8 ts;
	u8 is_strictroute;
	u8 rr_needaddr;
	u8 ts_needtime;
	u8 ts_needaddr;
	u8 __data[40];
};

struct sn_net {
	int sysctl_ip_default_ttl;
	/* SKB_MAX_ALLOC of the running kernel: the largest linear buffer of
	 * an order-2 allocation (depends on skb_shared_info and the cache
	 * line), a build constant the guest reports with the namespace. */
	u32 skb_max_alloc;
};

struct sn_hh_cache {
	u32 hh_len;
	u8 hh_data[SN_HH_DATA_MOD];	/* right-aligned: HH_DATA_OFF */
};

/* How neigh->output sends: the three functions arp_constructor picks. */
enum sn_neigh_output {
	SN_NEIGH_DIRECT_OUTPUT,		/* neigh_direct_output */
	SN_NEIGH_CONNECTED_OUTPUT,	/* neigh_connected_output */
	SN_NEIGH_RESOLVE_OUTPUT,	/* neigh_resolve_output */
};

struct sn_neigh {
	u8 nud_state;
	u8 ha[8];			/* hardware address */
	int output;			/* enum sn_neigh_output */
	struct sn_hh_cache hh;
};

struct sn_netdev {
	int ifindex;
	u32 mtu;
	u32 features;			/* NETIF_F_* */
	u16 hard_header_len;
	u16 needed_headroom;
	u8 header_ops_cache;		/* dev->header_ops->cache != NULL */
};

/* Which function dst.output is (set by __mkroute_output). */
enum sn_dst_output {
	SN_DST_IP_OUTPUT,		/* ip_output */
	SN_DST_IP_MC_OUTPUT,		/* ip_mc_output */
};

struct sn_dst {
	struct sn_netdev *dev;
	int obsolete;
	int output;			/* enum sn_dst_output */
	u32 metric_mtu;			/* dst_metric_raw(dst, RTAX_MTU) */
	u32 metric_hoplimit;		/* dst_metric_raw(dst, RTAX_HOPLIMIT) */
	u32 metric_locks;		/* dst_metric(dst, RTAX_LOCK) */
};

struct sn_rtable {
	struct sn_dst dst;
	int rt_genid;
	u32 rt_flags;
	u16 rt_type;
	u8 rt_is_input;
	u8 rt_uses_gateway;
	u8 rt_gw_family;		/* 0 or AF_INET */
	u8 rt_mtu_locked;
	__be32 rt_gw4;
	u32 rt_pmtu;			/* learned PMTU; 0 once dst.expires passed */
	/* What ip_route_output_key_hash_rcu() wrote back into the flow. */
	__be32 fl4_saddr;
	__be32 fl4_daddr;
};

/* struct flowi4: the parts the UDP send path sets and reads. */
struct sn_flowi4 {
	int flowi4_oif;
	u32 flowi4_mark;
	u8 flowi4_tos;
	u8 flowi4_scope;
	u8 flowi4_proto;
	u8 flowi4_flags;
	__be32 saddr;
	__be32 daddr;
	__be16 fl4_sport;
	__be16 fl4_dport;
	u32 flowi4_uid;
};

/* What the generic path knows about one skb it built (see top). */
struct sn_skb {
	struct sk_buff *skb;
	struct sn_rtable *dst;		/* skb_dst() */
	u8 *nh;				/* skb_network_header() */
	u32 len;			/* skb->len */
	u32 data_len;			/* bytes in page frags */
	u32 fraglist_len;		/* bytes in the frag_list skbs */
	u32 tailroom;			/* a lower bound of skb_tailroom() */
	__wsum csum;			/* skb->csum */
	u8 ip_summed;
	u8 pending_confirm;		/* skb->dst_pending_confirm */
};

/* An sk_buff_head: the write queue, or a datagram (q[0] the head skb,
 * q[1..] its frag_list once __ip_make_skb has run). */
struct sn_skb_queue {
	u32 qlen;
	struct sn_skb q[SN_QUEUE_MAX];
};

/* struct ipcm_cookie */
struct sn_ipcm_cookie {
	u32 mark;			/* sockc.mark */
	__be32 addr;
	int oif;
	struct sn_ip_options *opt;
	u8 ttl;
	s16 tos;
	s8 priority;
};

/* struct inet_cork (opt points at the options instead of a kmalloc'd
 * copy: the options are the socket's and do not change under us). */
struct sn_inet_cork {
	u32 flags;
	__be32 addr;
	struct sn_ip_options *opt;
	u32 fragsize;
	int length;
	struct sn_rtable *dst;
	u8 ttl;
	s16 tos;
	s8 priority;
	u32 mark;
};

/* The IP header of a datagram as __ip_make_skb decides it, before the
 * bytes are written (the kernel keeps this in the header and IPCB). */
struct sn_ip_info {
	u8 ihl;				/* 32-bit words */
	u8 tos;
	u8 ttl;
	u8 protocol;
	u16 frag_off;			/* host order: IP_DF | IP_MF | offset */
	u16 id;				/* host order */
	__be32 saddr;
	__be32 daddr;
	u8 ignore_df;			/* skb->ignore_df */
	u8 optlen;			/* IPCB(skb)->opt.optlen */
	u8 opt[40];
};

/* The header bytes as they go into the skb. */
struct sn_iphdr {
	u8 ihl_version;
	u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	u8 ttl;
	u8 protocol;
	__sum16 check;
	__be32 saddr;
	__be32 daddr;
	u8 opt[40];
};

struct sn_udphdr {
	__be16 source;
	__be16 dest;
	__be16 len;
	__sum16 check;
};

struct sn_inet_sock {
	__be32 inet_saddr;
	__be32 inet_rcv_saddr;
	__be32 inet_daddr;
	__be16 inet_dport;
	__be16 inet_sport;
	u16 inet_num;
	s16 uc_ttl;
	u8 mc_ttl;
	u8 tos;
	u8 pmtudisc;
	u8 mc_loop;
	u8 recverr;
	u8 hdrincl;
	u8 transparent;
	int uc_index;
	int mc_index;
	__be32 mc_addr;
	struct sn_ip_options *inet_opt;
	/* The flow ip4_datagram_connect() left in inet->cork.fl: what a
	 * connected send() uses with the cached route. The kernel reuses
	 * that storage for corked sends (cork_fl below), so a corked sendto()
	 * on a connected socket changes the addresses of later send()s; the
	 * rendering keeps the two apart and does not reproduce that quirk. */
	struct sn_flowi4 conn_fl;
	/* dynamic */
	u32 inet_id;
	struct sn_inet_cork cork;
	struct sn_flowi4 cork_fl;	/* inet->cork.fl.u.ip4 of a corked send */
};

struct sn_udp_sock {
	u8 corkflag;			/* UDP_CORK */
	/* dynamic */
	u16 pending;
	u32 len;
};

struct sn_sock {
	struct sn_net *sk_net;
	struct sn_socket *sk_socket;
	u8 sk_state;
	u8 sk_protocol;
	u8 sk_shutdown;
	u8 sk_no_check_tx;
	int sk_bound_dev_if;
	int sk_sndbuf;
	long sk_sndtimeo;
	u32 sk_priority;
	u32 sk_mark;
	u32 sk_flags;			/* 1 << SOCK_* */
	u32 sk_uid;
	struct sn_rtable *sk_dst_cache;
	struct sn_inet_sock inet;
	struct sn_udp_sock up;
	/* dynamic */
	struct sn_skb_queue sk_write_queue;
};

struct sn_file {
	u32 f_flags;
};

struct sn_socket {
	struct sn_file file;		/* sock->file */
	struct sn_sock *sk;
};

/*
 * The IP ID generator of a flow: ip_idents_hash() of its destination,
 * source and protocol under the namespace's key (kernel patch 0005).
 */
struct sn_ip_ident {
	u32 hash;
};

/* What a customized send binds per instance (udp.decl "instance"). */
struct sn_inst {
	struct sn_user_msg *um;
	struct sn_socket *sock;
	struct sn_rtable *rt;
	struct sn_neigh *neigh;
	struct sn_ip_ident *ipid;
};

/* ---- helpers (include/linux/byteorder, include/net/checksum.h,
 * lib/checksum.c): plain C so that static operands fold ---- */

static inline u16 sn_swab16(u16 x)
{
	return (u16)((x << 8) | (x >> 8));
}

static inline u32 sn_swab32(u32 x)
{
	return (x << 24) | ((x & 0xff00) << 8) | ((x >> 8) & 0xff00) |
	       (x >> 24);
}

/* The guests are little-endian (i386, ARM). */
static inline __be16 sn_htons(u16 x)
{
	return sn_swab16(x);
}

static inline u16 sn_ntohs(__be16 x)
{
	return sn_swab16(x);
}

static inline __be32 sn_htonl(u32 x)
{
	return sn_swab32(x);
}

static inline u32 sn_get_u32(const u8 *p)
{
	return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) |
	       ((u32)p[3] << 24);
}

static inline __wsum sn_csum_add(__wsum csum, __wsum addend)
{
	u32 res = csum + addend;

	return res + (res < addend);
}

static inline __wsum sn_csum_sub(__wsum csum, __wsum addend)
{
	return sn_csum_add(csum, ~addend);
}

static inline __wsum sn_csum_block_add(__wsum csum, __wsum csum2, int offset)
{
	u32 sum = csum2;

	/* rotate sum to align it with a 16b boundary */
	if (offset & 1)
		sum = (sum >> 8) | (sum << 24);
	return sn_csum_add(csum, sum);
}

static inline __sum16 sn_csum_fold(__wsum csum)
{
	u32 sum = csum;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__sum16)~sum;
}

/* csum_tcpudp_nofold() of lib/checksum.c (from64to32 of the sum). */
static inline __wsum sn_csum_tcpudp_nofold(__be32 saddr, __be32 daddr,
					   u32 len, u8 proto, __wsum sum)
{
	u64 s = sum;

	s += saddr;
	s += daddr;
	s += (proto + len) << 8;	/* little-endian */
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	return (__wsum)s;
}

static inline __sum16 sn_csum_tcpudp_magic(__be32 saddr, __be32 daddr,
					   u32 len, u8 proto, __wsum sum)
{
	return sn_csum_fold(sn_csum_tcpudp_nofold(saddr, daddr, len, proto,
						  sum));
}

static inline bool sn_ipv4_is_multicast(__be32 addr)
{
	return (addr & sn_htonl(0xf0000000)) == sn_htonl(0xe0000000);
}

static inline bool sn_ipv4_is_lbcast(__be32 addr)
{
	return addr == sn_htonl(0xffffffff);
}

/* ---- calls between the layers ---- */

/* socket.c */
int sn_sendmsg(int fd, struct sn_user_msg *um, const u8 __user *buf, u32 len,
	       u32 flags);
struct sk_buff *sn_sock_alloc_send_skb(struct sn_sock *sk, u32 size,
				       int noblock, int *errcode);
int sn_udp_cmsg_send(struct sn_sock *sk, struct sn_msghdr *msg);
int sn_ip_cmsg_send(struct sn_sock *sk, struct sn_msghdr *msg,
		    struct sn_ipcm_cookie *ipc);

/* udp.c */
int sn_udp_sendmsg(struct sn_sock *sk, struct sn_msghdr *msg, u32 len);

/* ip.c */
struct sn_rtable *sn_ip_route_output_flow(struct sn_net *net,
					  struct sn_flowi4 *fl4, int *errp);
struct sn_rtable *sn_sk_dst_check(struct sn_sock *sk);
int sn_ip_make_skb(struct sn_sock *sk, struct sn_flowi4 *fl4,
		   struct sn_msghdr *msg, int length, int transhdrlen,
		   struct sn_ipcm_cookie *ipc, struct sn_rtable **rtp,
		   struct sn_inet_cork *cork, struct sn_skb_queue *queue,
		   struct sn_ip_info *ip, u32 flags);
int sn_ip_append_data(struct sn_sock *sk, struct sn_flowi4 *fl4,
		      struct sn_msghdr *msg, int length, int transhdrlen,
		      struct sn_ipcm_cookie *ipc, struct sn_rtable **rtp,
		      u32 flags);
void sn_ip_finish_skb(struct sn_sock *sk, struct sn_flowi4 *fl4,
		      struct sn_skb_queue *dgram, struct sn_ip_info *ip);
void sn_ip_flush_pending_frames(struct sn_sock *sk);
int sn_ip_send_skb(struct sn_sock *sk, struct sn_skb_queue *dgram,
		   struct sn_ip_info *ip);
void sn_ip_write_header(struct sn_skb *skb, struct sn_ip_info *ip,
			u32 tot_len, u16 frag_off);

/* dev.c */
int sn_ip_finish_output2(struct sn_sock *sk, struct sn_skb *skb,
			 struct sn_ip_info *ip, struct sn_rtable *rt);
int sn_ip_mc_finish_output(struct sk_buff *newskb);

/* A residual module calls the shim's per-send skb effects inline. */
#if defined(SPECBED_KERNEL) && defined(SPECNET_RESIDUAL)
#include "shim_inline.h"
#endif

#endif /* SPECNET_GENERIC_H */
