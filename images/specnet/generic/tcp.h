/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcp.h - state and helpers of the generic TCP/IPv4 send path (tcp.c):
 * Linux 6.1's tcp_sendmsg_locked() up to tcp_push(), and the transmit
 * engine's fast case behind it (tcp_xmit.c).
 *
 * struct sn_tcp_sock is the view of a connected TCP socket (struct sock,
 * inet_connection_sock, tcp_sock) the send path reads, with the kernel's
 * field names. Configuration fields are what tcp.decl may call static
 * (the kernel side refuses setsockopt on a specialized socket). The
 * fields marked dynamic are state: the generic path writes the view and
 * makes the same change in the kernel through a shim effect (tcp_shim.h),
 * and re-reads through SHIM_PURE lookups what others may have changed
 * while it slept or flushed the backlog (sn_tcp_reread).
 *
 * What the write queue's tail is to the send path is in wq_tail: the
 * kernel skb behind it (NULL: the queue is empty) and the fields of it
 * tcp_sendmsg_locked() reads. An empty queue shows eor = 1: nothing can
 * join it, the same decision as the kernel's "no tail" (tcp.c
 * sn_tcp_tail_room).
 *
 * Not rendered (outside a plain established TCP socket's send, or compiled
 * out of the specbed kernels): MSG_ZEROCOPY, TCP Fast Open (MSG_FASTOPEN,
 * defer_connect), repair mode, MPTCP, TCP-MD5, BPF header options, control
 * messages (sock_cmsg_send: a customized send passes none), ECN (decided
 * per packet in tcp_transmit_skb, after tcp_push: it takes no option
 * space).
 */
#ifndef SPECNET_TCP_H
#define SPECNET_TCP_H

#include "generic.h"
#include "tcp_shim.h"

#define SN_TCP_ESTABLISHED_F	(1 << 1)	/* TCPF_ESTABLISHED */
#define SN_TCP_CLOSE_WAIT_F	(1 << 8)	/* TCPF_CLOSE_WAIT */

#define SN_MSG_EOR		0x80
#define SN_MSG_NOSIGNAL		0x4000
#define SN_MSG_FASTOPEN		0x20000000
#define SN_MSG_ZEROCOPY		0x4000000

#define SN_TCP_NAGLE_OFF	1	/* TCP_NODELAY */
#define SN_TCP_NAGLE_CORK	2	/* TCP_CORK */
#define SN_TCP_NAGLE_PUSH	4	/* cork or nodelay just set: push */

#define SN_TCPHDR_FIN		0x01
#define SN_TCPHDR_PSH		0x08
#define SN_TCPHDR_ACK		0x10

#define SN_TCPHDR_LEN			20	/* sizeof(struct tcphdr) */
#define SN_TCPOLEN_TSTAMP_ALIGNED	12
#define SN_TCPOLEN_SACK_BASE_ALIGNED	4
#define SN_TCPOLEN_SACK_PERBLOCK	8
#define SN_MAX_TCP_OPTION_SPACE		40
#define SN_TCP_MSS_DEFAULT		536

/* What sn_tcp_send_segments() returns besides 0 (all data copied) and a
 * negative errno: where tcp_sendmsg_locked() would jump. */
#define SN_TCP_WAIT_FOR_SPACE	1	/* goto wait_for_space */
#define SN_TCP_RESTART		2	/* goto restart (the backlog ran) */
#define SN_TCP_NEW_SEGMENT	3	/* goto new_segment (frags full) */

/* The namespace's TCP sysctls the send path reads. */
struct sn_tcp_net {
	int sysctl_tcp_min_snd_mss;	/* bytes */
	u8 sysctl_tcp_autocorking;
	u32 sysctl_tcp_notsent_lowat;	/* bytes */
	u32 sysctl_max_skb_frags;	/* fragments per skb, 1..MAX_SKB_FRAGS */
};

/* The skb at the write queue's tail (see top). */
struct sn_tcp_skb {
	struct sk_buff *skb;
	u32 len;			/* skb->len: payload bytes */
	u32 seq;			/* TCP_SKB_CB(skb)->seq */
	u32 end_seq;			/* TCP_SKB_CB(skb)->end_seq */
	u8 tcp_flags;			/* TCP_SKB_CB(skb)->tcp_flags */
	u8 eor;				/* TCP_SKB_CB(skb)->eor */
	u32 nr_frags;			/* skb_shinfo(skb)->nr_frags */
};

struct sn_tcp_sock {
	struct sn_tcp_net *sk_net;
	int sk_sndbuf;			/* bytes */
	long sk_sndtimeo;		/* jiffies */
	u32 sk_tsflags;			/* SO_TIMESTAMPING */
	u32 sk_gso_max_size;		/* bytes; 0: the route cannot GSO */
	u16 sk_gso_max_segs;
	u32 icsk_pmtu_cookie;		/* the MTU mss_cache was sized for */
	u32 mss_cache;			/* bytes */
	u16 mss_clamp;			/* rx_opt.mss_clamp: the peer's MSS */
	u16 icsk_ext_hdr_len;		/* bytes of IP options */
	u8 mtup_enabled;		/* icsk_mtup.enabled (MTU probing) */
	int mtup_search_low;		/* icsk_mtup.search_low: bytes */
	u16 tcp_header_len;		/* bytes the MSS assumes (options in) */
	u8 tstamp_ok;			/* rx_opt.tstamp_ok */
	u8 nonagle;			/* TCP_NAGLE_OFF | TCP_NAGLE_CORK */
	u32 notsent_lowat;		/* TCP_NOTSENT_LOWAT; 0: the sysctl */
	/* dynamic */
	u8 sk_state;
	u8 nonagle_push;		/* the TCP_NAGLE_PUSH bit of tp->nonagle */
	u8 num_sacks;			/* rx_opt.num_sacks */
	u8 dsack;			/* rx_opt.dsack */
	u16 gso_segs;
	int sk_wmem_queued;		/* bytes */
	u32 write_seq;
	u32 pushed_seq;
	u32 snd_up;
	u32 max_window;			/* bytes */
	struct sn_tcp_skb wq_tail;
};

/* The locals of tcp_sendmsg_locked() its loop keeps across jumps (tcp.c;
 * here because a residual declares them too). */
struct sn_tcp_send {
	const u8 __user *iov_base;	/* msg->msg_iter: one user range */
	u32 iov_len;			/* bytes */
	u32 iov_off;			/* bytes the iterator advanced */
	u32 flags;
	int copied;			/* bytes queued so far */
	int mss_now;			/* bytes */
	int size_goal;			/* bytes */
	int process_backlog;		/* skbs since the backlog was flushed */
	long timeo;			/* jiffies */
	/* The write queue's tail: read from the view once, then kept here,
	 * where the specializer follows every change the send makes (it
	 * reads kernel memory again at run time: others may write it). */
	struct sn_tcp_skb tail;
};

/* What a customized TCP send binds per instance (tcp.decl "instance"). */
struct sn_tcp_inst {
	struct sn_tcp_sock *tp;
};

/* before() / after() of include/net/tcp.h: sequence number order. */
static inline bool sn_tcp_before(u32 seq1, u32 seq2)
{
	return (s32)(seq1 - seq2) < 0;
}

static inline bool sn_tcp_after(u32 seq2, u32 seq1)
{
	return sn_tcp_before(seq1, seq2);
}

/* tcp.c */
int sn_tcp_sendmsg_locked(struct sn_tcp_sock *tp, const u8 __user *buf,
			  u32 len, u32 flags);
int sn_tcp_send_mss(struct sn_tcp_sock *tp, int *size_goal, u32 flags);
void sn_tcp_mark_push(struct sn_tcp_sock *tp, struct sn_tcp_skb *skb);
void sn_tcp_push(struct sn_tcp_sock *tp, struct sn_tcp_skb *skb, u32 flags,
		 int mss_now, int nonagle, int size_goal);
int sn_tcp_send_segments(struct sn_tcp_sock *tp, struct sn_tcp_send *s,
			 bool force_new);
int sn_tcp_restart(struct sn_tcp_sock *tp, struct sn_tcp_send *s);
void sn_tcp_reread_peer(struct sn_tcp_sock *tp);
void sn_tcp_reread(struct sn_tcp_sock *tp, struct sn_tcp_send *s);
void sn_tcp_skb_set_flags(struct sn_tcp_skb *skb, u8 tcp_flags);
void sn_tcp_set_write_seq(struct sn_tcp_sock *tp, u32 seq);

/* tcp_xmit.c: the transmit engine's fast case */
void sn_tcp_push_pending_frames(struct sn_tcp_sock *tp, u32 mss_now,
				int nonagle);
void sn_tcp_push_one(struct sn_tcp_sock *tp, u32 mss_now,
		     struct sn_tcp_skb *skb);

/* tcp_copy.c: a shim to the specializer (see there) */
SHIM_EFFECT int sn_tcp_copy_to_skb(struct sn_tcp_sock *tp, const u8 __user *from,
				   struct sn_tcp_skb *skb, int copy, int copied,
				   int *done);

/* tcp_slow.c: shims to the specializer (see there) */
SHIM_EFFECT SHIM_ERRNO int sn_tcp_send_slow(struct sn_tcp_sock *tp,
					     struct sn_tcp_send *s, int st);
SHIM_EFFECT void sn_tcp_remove_empty_skb(struct sn_tcp_sock *tp,
					 struct sn_tcp_send *s);
SHIM_EFFECT SHIM_ERRNO int sn_tcp_send_error(struct sn_tcp_sock *tp,
					      u32 flags, int err);

/* A residual module calls the TCP shim's cheapest steps inline. */
#if defined(SPECBED_KERNEL) && defined(SPECNET_RESIDUAL)
#include "tcp_shim_inline.h"
#endif

#endif /* SPECNET_TCP_H */
