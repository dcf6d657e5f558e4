// SPDX-License-Identifier: GPL-2.0
/*
 * ip.c - IPv4 layer of the generic UDP/IPv4 send path.
 *
 * Renders, from Linux 6.1: ip_route_output_flow() (net/ipv4/route.c, the
 * lookup itself is the shim's), sk_dst_check() with ipv4_dst_check() and
 * rt_is_expired(), ipv4_mtu(), ip_setup_cork(), __ip_append_data(),
 * ip_generic_getfrag(), ip_make_skb(), ip_append_data(), __ip_make_skb(),
 * ip_options_build() (net/ipv4/ip_options.c), ip_select_ident(),
 * ip_send_skb(), ip_local_out(), ip_output(), ip_mc_output(),
 * __ip_finish_output(), ip_do_fragment() with ip_fraglist_init() /
 * ip_fraglist_prepare() and ip_options_fragment(), and the inline helpers
 * of include/net/ip.h and include/net/route.h they use.
 */
#include "generic.h"

#define SN_RTAX_MTU_LOCKED	(1 << 2)	/* 1 << RTAX_MTU */

/*
 * ip_route_output_flow() without XFRM: the RCU lookup, the reference
 * __mkroute_output takes, and what the lookup writes back into the flow.
 */
struct sn_rtable *sn_ip_route_output_flow(struct sn_net *net,
					  struct sn_flowi4 *fl4, int *errp)
{
	struct sn_rtable *rt;
	int err;

	err = shim_ip_route_output_err(net, fl4->daddr, fl4->saddr,
				       fl4->flowi4_tos, fl4->flowi4_oif,
				       fl4->flowi4_mark, fl4->flowi4_flags,
				       fl4->fl4_dport, fl4->fl4_sport,
				       fl4->flowi4_uid);
	if (err) {
		*errp = err;
		return NULL;
	}
	rt = shim_ip_route_output(net, fl4->daddr, fl4->saddr, fl4->flowi4_tos,
				  fl4->flowi4_oif, fl4->flowi4_mark,
				  fl4->flowi4_flags, fl4->fl4_dport,
				  fl4->fl4_sport, fl4->flowi4_uid);
	shim_dst_hold(rt);
	fl4->saddr = rt->fl4_saddr;
	fl4->daddr = rt->fl4_daddr;
	fl4->flowi4_oif = rt->dst.dev->ifindex;	/* flowi4_proto is set */
	return rt;
}

/*
 * sk_dst_check() with ipv4_dst_check(): the socket's cached route, unless
 * a PMTU or redirect update killed it (obsolete) or the namespace's
 * routes changed since it was made (rt_is_expired; the device's
 * namespace is the socket's).
 */
struct sn_rtable *sn_sk_dst_check(struct sn_sock *sk)
{
	struct sn_rtable *rt = sk->sk_dst_cache;

	if (!rt)
		return NULL;
	shim_dst_hold(rt);				/* sk_dst_get() */
	if (rt->dst.obsolete &&
	    (rt->dst.obsolete != SN_DST_OBSOLETE_FORCE_CHK ||
	     rt->rt_genid != shim_rt_genid_ipv4(sk->sk_net))) {
		shim_sk_dst_reset(sk);
		shim_dst_release(rt);
		return NULL;
	}
	return rt;
}

/* ip_mtu_locked() */
static bool sn_ip_mtu_locked(struct sn_rtable *rt)
{
	return rt->rt_mtu_locked || (rt->dst.metric_locks & SN_RTAX_MTU_LOCKED);
}

/*
 * dst_mtu(): ipv4_mtu() = ip_dst_mtu_maybe_forward(dst, false). Device
 * MTUs are at most 65535 and there is no lwtunnel headroom, so the final
 * min() and subtraction are not rendered.
 */
static u32 sn_dst_mtu(struct sn_rtable *rt)
{
	u32 mtu = rt->rt_pmtu;

	if (mtu)
		return mtu;
	mtu = rt->dst.metric_mtu;
	if (mtu)
		return mtu;
	mtu = rt->dst.dev->mtu;
	if (sn_ip_mtu_locked(rt)) {
		if (rt->rt_uses_gateway && mtu > 576)
			mtu = 576;
	}
	return mtu;
}

/* ip_sk_use_pmtu() */
static bool sn_ip_sk_use_pmtu(struct sn_sock *sk)
{
	return sk->inet.pmtudisc < SN_IP_PMTUDISC_PROBE;
}

/* ip_sk_ignore_df() */
static bool sn_ip_sk_ignore_df(struct sn_sock *sk)
{
	return sk->inet.pmtudisc < SN_IP_PMTUDISC_DO ||
	       sk->inet.pmtudisc == SN_IP_PMTUDISC_OMIT;
}

/*
 * ip_dont_fragment(). Its IP_PMTUDISC_DO case is not rendered: its only
 * caller here, __ip_make_skb(), tests IP_PMTUDISC_DO before calling it.
 */
static bool sn_ip_dont_fragment(struct sn_sock *sk, struct sn_rtable *rt)
{
	return sk->inet.pmtudisc == SN_IP_PMTUDISC_WANT && !sn_ip_mtu_locked(rt);
}

/* ip_skb_dst_mtu() for a full socket, not forwarding. */
static u32 sn_ip_skb_dst_mtu(struct sn_sock *sk, struct sn_rtable *rt)
{
	if (sn_ip_sk_use_pmtu(sk))
		return sn_dst_mtu(rt);
	return rt->dst.dev->mtu;
}

/* ip_select_ttl() with ip4_dst_hoplimit() */
static u8 sn_ip_select_ttl(struct sn_sock *sk, struct sn_rtable *rt)
{
	int ttl = sk->inet.uc_ttl;

	if (ttl < 0) {
		ttl = rt->dst.metric_hoplimit;
		if (ttl == 0)
			ttl = sk->sk_net->sysctl_ip_default_ttl;
	}
	return ttl;
}

/*
 * ip_setup_cork(), none of whose failures can happen here, so they are
 * not rendered:
 * - no route (-EFAULT): udp_sendmsg() appends without a route only to
 *   frames pending on the write queue (it uncorks a socket whose queue
 *   is empty), and ip_append_data() sets up no cork then;
 * - no memory for the options (-ENOBUFS): the cork refers to the
 *   socket's options instead of copying them (they do not change while
 *   a customized send runs);
 * - an MTU below 68 (-ENETUNREACH, inetdev_valid_mtu()): device and route
 *   MTUs are at least 68 (ETH_MIN_MTU, fib metrics).
 */
static void sn_ip_setup_cork(struct sn_sock *sk, struct sn_inet_cork *cork,
			     struct sn_ipcm_cookie *ipc, struct sn_rtable **rtp)
{
	struct sn_rtable *rt = *rtp;

	cork->fragsize = sn_ip_sk_use_pmtu(sk) ? sn_dst_mtu(rt) :
						 rt->dst.dev->mtu;
	if (ipc->opt) {
		cork->opt = ipc->opt;
		cork->flags |= SN_IPCORK_OPT;
		cork->addr = ipc->addr;
	}
	cork->dst = rt;
	/* We stole this route, caller should not release it. */
	*rtp = NULL;

	cork->length = 0;
	cork->ttl = ipc->ttl;
	cork->tos = ipc->tos;
	cork->mark = ipc->mark;
	cork->priority = ipc->priority;
}

/*
 * ip_generic_getfrag(): copy the next len bytes of the payload; sum them
 * unless the device will (CHECKSUM_PARTIAL).
 */
static int sn_ip_generic_getfrag(struct sn_msghdr *msg, u8 *to, int len,
				 int odd, struct sn_skb *skb)
{
	const u8 __user *from = msg->iov_base + msg->iov_off;
	__wsum csum = 0;

	if (skb->ip_summed == SN_CHECKSUM_PARTIAL) {
		if (shim_copy_from_user(to, from, len))
			return -SN_EFAULT;
	} else {
		if (shim_csum_and_copy_from_user(to, from, len, &csum))
			return -SN_EFAULT;
		skb->csum = sn_csum_block_add(skb->csum, csum, odd);
	}
	msg->iov_off += len;
	return 0;
}

/* __ip_flush_pending_frames() with ip_cork_release() */
static void sn___ip_flush_pending_frames(struct sn_skb_queue *queue,
					 struct sn_inet_cork *cork)
{
	while (queue->qlen) {
		queue->qlen--;
		shim_kfree_skb(queue->q[queue->qlen].skb);
	}
	cork->flags &= ~SN_IPCORK_OPT;
	cork->opt = NULL;
	/* dst_release(); a queue with skbs always has its route */
	shim_dst_release(cork->dst);
	cork->dst = NULL;
}

/* A new skb takes the next entry of the queue. */
static struct sn_skb *sn_ip_new_skb(struct sn_skb_queue *queue,
				    struct sk_buff *kskb, int csummode)
{
	struct sn_skb *skb = &queue->q[queue->qlen];

	skb->skb = kskb;
	skb->dst = NULL;
	skb->len = 0;
	skb->data_len = 0;
	skb->fraglist_len = 0;
	skb->csum = 0;
	skb->ip_summed = csummode;
	skb->pending_confirm = 0;
	return skb;
}

/*
 * __ip_append_data(): append length bytes (the first transhdrlen of them a
 * transport header still to be written) to the queue, in skbs that are
 * each one IP fragment once the header is added. No XFRM (exthdrlen and
 * trailer_len 0), no GSO (paged only for huge fragments), no zerocopy, no
 * timestamps.
 *
 * The kernel enters its loop at alloc_new_skb when the queue is empty; a
 * zero copy does the same here (length is at least the UDP header then).
 */
static int sn___ip_append_data(struct sn_sock *sk, struct sn_flowi4 *fl4,
			       struct sn_skb_queue *queue,
			       struct sn_inet_cork *cork,
			       struct sn_msghdr *from, int length,
			       int transhdrlen, u32 flags)
{
	struct sn_inet_sock *inet = &sk->inet;
	struct sn_skb *skb = NULL;
	struct sn_ip_options *opt = cork->opt;
	struct sn_rtable *rt = cork->dst;
	struct sn_netdev *dev = rt->dst.dev;
	int hh_len;
	int mtu;
	int copy;
	int err;
	int offset = 0;
	unsigned int maxfraglen, fragheaderlen, maxnonfragsize;
	int csummode = SN_CHECKSUM_NONE;
	u32 wmem_alloc_delta = 0;

	if (queue->qlen)
		skb = &queue->q[queue->qlen - 1];	/* skb_peek_tail() */

	mtu = cork->fragsize;
	/* LL_RESERVED_SPACE() */
	hh_len = ((dev->hard_header_len + dev->needed_headroom) &
		  ~(SN_HH_DATA_MOD - 1)) + SN_HH_DATA_MOD;

	fragheaderlen = SN_IPHDR_LEN + (opt ? opt->optlen : 0);
	maxfraglen = ((mtu - fragheaderlen) & ~7) + fragheaderlen;
	maxnonfragsize = sn_ip_sk_ignore_df(sk) ? SN_IP_MAX_MTU : mtu;

	if (cork->length + length > maxnonfragsize - fragheaderlen) {
		shim_ip_local_error(sk, SN_EMSGSIZE, fl4->daddr,
				    inet->inet_dport,
				    mtu - (opt ? opt->optlen : 0));
		return -SN_EMSGSIZE;
	}

	/*
	 * transhdrlen > 0 means that this is the first fragment and we wish
	 * it won't be fragmented in the future.
	 */
	if (transhdrlen &&
	    length + fragheaderlen <= mtu &&
	    dev->features & (SN_NETIF_F_HW_CSUM | SN_NETIF_F_IP_CSUM) &&
	    !(flags & SN_MSG_MORE))
		csummode = SN_CHECKSUM_PARTIAL;

	cork->length += length;

	while (length > 0) {
		/* Check if the remaining data fits into current packet. */
		copy = 0;
		if (skb) {
			copy = mtu - skb->len;
			if (copy < length)
				copy = maxfraglen - skb->len;
		}
		if (copy <= 0) {
			struct sn_skb *skb_prev = skb;
			struct sk_buff *kskb;
			u8 *data;
			unsigned int datalen;
			unsigned int fraglen;
			unsigned int fraggap;
			unsigned int alloclen, alloc_extra;
			unsigned int pagedlen;
			bool charged;

			fraggap = 0;
			if (skb_prev)
				fraggap = skb_prev->len - maxfraglen;

			/* If remaining data exceeds the mtu, we know we need
			 * more fragment(s). */
			datalen = length + fraggap;
			if (datalen > mtu - fragheaderlen)
				datalen = maxfraglen - fragheaderlen;
			fraglen = datalen + fragheaderlen;
			pagedlen = 0;

			alloc_extra = hh_len + 15;

			if ((flags & SN_MSG_MORE) &&
			    !(dev->features & SN_NETIF_F_SG))
				alloclen = mtu;
			else if (fraglen + alloc_extra <
					 sk->sk_net->skb_max_alloc ||
				 !(dev->features & SN_NETIF_F_SG))
				alloclen = fraglen;
			else {
				alloclen = fragheaderlen + transhdrlen + fraggap;
				pagedlen = datalen - transhdrlen - fraggap;
			}

			alloclen += alloc_extra;

			/* The rendering's bound on the queue (SN_QUEUE_MAX). */
			err = -SN_EMSGSIZE;
			if (queue->qlen == SN_QUEUE_MAX)
				goto error;

			if (transhdrlen) {
				kskb = sn_sock_alloc_send_skb(sk, alloclen,
						flags & SN_MSG_DONTWAIT, &err);
				charged = true;
			} else {
				kskb = NULL;
				if (shim_sk_wmem_alloc_get(sk) + wmem_alloc_delta <=
				    2 * sk->sk_sndbuf)
					kskb = shim_alloc_skb(sk, alloclen);
				if (!kskb)
					err = -SN_ENOBUFS;
				charged = false;
			}
			if (!kskb)
				goto error;

			/* Fill in the control structures */
			skb = sn_ip_new_skb(queue, kskb, csummode);
			/* ip_summed, skb_reserve(), and where to start
			 * putting bytes: skb_put(), the headers */
			data = shim_skb_setup(kskb, csummode, hh_len,
					      fraglen - pagedlen, fragheaderlen);
			skb->len = fraglen - pagedlen;
			skb->tailroom = alloclen - hh_len - skb->len;
			skb->nh = data;
			data += fragheaderlen;

			if (fraggap) {
				skb->csum = shim_skb_copy_and_csum_bits(
					skb_prev->skb, maxfraglen,
					data + transhdrlen, fraggap);
				skb_prev->csum = sn_csum_sub(skb_prev->csum,
							     skb->csum);
				data += fraggap;
				shim_skb_trim(skb_prev->skb, maxfraglen);
				skb_prev->len = maxfraglen;
				skb_prev->tailroom += fraggap;
			}

			copy = datalen - transhdrlen - fraggap - pagedlen;
			if (copy > 0 &&
			    sn_ip_generic_getfrag(from, data + transhdrlen, copy,
						  fraggap, skb) < 0) {
				err = -SN_EFAULT;
				shim_kfree_skb(kskb);
				goto error;
			}

			offset += copy;
			length -= copy + transhdrlen;
			transhdrlen = 0;
			csummode = SN_CHECKSUM_NONE;

			if ((flags & SN_MSG_CONFIRM) && !skb_prev) {
				shim_skb_set_dst_pending_confirm(kskb);
				skb->pending_confirm = 1;
			}

			/* Put the packet on the pending queue. Only the skb
			 * sock_alloc_send_skb made has a destructor. */
			if (!charged)
				wmem_alloc_delta += shim_skb_set_wfree(kskb, sk);
			queue->qlen++;			/* __skb_queue_tail() */
			continue;
		}

		if (copy > length)
			copy = length;

		/*
		 * The kernel also asks skb_tailroom(skb) >= copy. It always
		 * holds here: without scatter-gather a corked skb has room for
		 * an MTU (alloclen = mtu) and never holds more, and a
		 * non-corked one gets here for at most 7 bytes with at least
		 * 15 bytes of tail room (alloc_extra).
		 */
		if (!(dev->features & SN_NETIF_F_SG)) {
			unsigned int off = skb->len;
			u8 *to = shim_skb_put(skb->skb, copy);

			skb->len += copy;
			skb->tailroom -= copy;
			if (sn_ip_generic_getfrag(from, to, copy, off, skb) < 0) {
				shim_skb_trim(skb->skb, off);
				skb->len = off;
				skb->tailroom += copy;
				err = -SN_EFAULT;
				goto error;
			}
		} else {
			u8 *to;
			u32 room;

			err = shim_skb_pfrag_attach(skb->skb, sk, &to, &room);
			if (err)
				goto error;	/* -ENOMEM or -EMSGSIZE */
			if (copy > (int)room)
				copy = room;
			if (sn_ip_generic_getfrag(from, to, copy, skb->len,
						  skb) < 0)
				goto error_efault;
			shim_skb_pfrag_commit(skb->skb, sk, copy);
			skb->len += copy;
			skb->data_len += copy;
			wmem_alloc_delta += copy;
		}
		offset += copy;
		length -= copy;
	}

	if (wmem_alloc_delta)
		shim_sk_wmem_add(sk, wmem_alloc_delta);
	return 0;

error_efault:
	err = -SN_EFAULT;
error:
	cork->length -= length;
	shim_snmp_inc(sk->sk_net, SN_MIB_IP_OUTDISCARDS, 1);
	shim_sk_wmem_add(sk, wmem_alloc_delta);
	return err;
}

/*
 * ip_options_build(): the options go after the fixed header; a source
 * route gets the final destination, record-route and timestamp options
 * our address (ip_rt_get_source() of an output route is the header's
 * saddr) and the time. Offsets in opt are from the start of the IP
 * header, as in the kernel.
 */
static void sn_put_be32(u8 *p, __be32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void sn_ip_options_build(struct sn_ip_info *ip,
				struct sn_ip_options *opt, __be32 daddr)
{
	u32 k;

	for (k = 0; k < opt->optlen; k++)
		ip->opt[k] = opt->__data[k];
	ip->optlen = opt->optlen;

	if (opt->srr)
		sn_put_be32(ip->opt + opt->srr - SN_IPHDR_LEN +
			    opt->__data[opt->srr - SN_IPHDR_LEN + 1] - 4,
			    daddr);
	if (opt->rr_needaddr)
		sn_put_be32(ip->opt + opt->rr - SN_IPHDR_LEN +
			    opt->__data[opt->rr - SN_IPHDR_LEN + 2] - 5,
			    ip->saddr);
	if (opt->ts_needaddr)
		sn_put_be32(ip->opt + opt->ts - SN_IPHDR_LEN +
			    opt->__data[opt->ts - SN_IPHDR_LEN + 2] - 9,
			    ip->saddr);
	if (opt->ts_needtime)
		sn_put_be32(ip->opt + opt->ts - SN_IPHDR_LEN +
			    opt->__data[opt->ts - SN_IPHDR_LEN + 2] - 5,
			    shim_inet_current_timestamp());
}

/*
 * ip_select_ident(): a connected socket numbers its datagrams itself;
 * a datagram that must not be fragmented gets 0; the others the hashed
 * generator (__ip_select_ident: the flow's generator, then its next ID).
 */
static void sn_ip_select_ident(struct sn_sock *sk, struct sn_ip_info *ip)
{
	struct sn_ip_ident *gen;

	if (sk->inet.inet_daddr) {
		sk->inet.inet_id += 1;		/* atomic_add_return() */
		ip->id = sk->inet.inet_id;
		return;
	}
	if ((ip->frag_off & SN_IP_DF) && !ip->ignore_df) {
		ip->id = 0;
		return;
	}
	gen = shim_ip_ident_lookup(sk->sk_net, ip->daddr, ip->saddr,
				   ip->protocol);
	ip->id = shim_ip_idents_reserve(gen->hash, 1);
}

/*
 * __ip_make_skb(): turn the queue into one datagram (q[0] the head, the
 * rest its frag_list) and decide its IP header. The queue is never empty
 * here: a datagram always starts with its transport header.
 */
static int sn___ip_make_skb(struct sn_sock *sk, struct sn_flowi4 *fl4,
			    struct sn_skb_queue *queue,
			    struct sn_inet_cork *cork, struct sn_ip_info *ip)
{
	struct sn_inet_sock *inet = &sk->inet;
	struct sn_skb *skb = &queue->q[0];
	struct sn_rtable *rt = cork->dst;
	struct sn_ip_options *opt = NULL;
	u32 nhlen = SN_IPHDR_LEN + (cork->opt ? cork->opt->optlen : 0);
	u16 df = 0;
	u32 i;

	for (i = 1; i < queue->qlen; i++) {
		struct sn_skb *tmp = &queue->q[i];

		shim_skb_frag_list_add(skb->skb, tmp->skb, nhlen);
		tmp->len -= nhlen;			/* __skb_pull() */
		skb->len += tmp->len;
		skb->fraglist_len += tmp->len;
	}

	/* Unless user demanded real pmtu discovery (IP_PMTUDISC_DO), we
	 * allow to fragment the frame generated here. */
	ip->ignore_df = sn_ip_sk_ignore_df(sk);

	/* DF bit is set when we want to see DF on outgoing frames. */
	if (inet->pmtudisc == SN_IP_PMTUDISC_DO ||
	    inet->pmtudisc == SN_IP_PMTUDISC_PROBE ||
	    (skb->len <= sn_dst_mtu(rt) && sn_ip_dont_fragment(sk, rt)))
		df = SN_IP_DF;

	if (cork->flags & SN_IPCORK_OPT)
		opt = cork->opt;

	if (cork->ttl != 0)
		ip->ttl = cork->ttl;
	else if (rt->rt_type == SN_RTN_MULTICAST)
		ip->ttl = inet->mc_ttl;
	else
		ip->ttl = sn_ip_select_ttl(sk, rt);

	ip->ihl = 5;
	ip->tos = (cork->tos != -1) ? cork->tos : inet->tos;
	ip->frag_off = df;
	ip->protocol = sk->sk_protocol;
	ip->saddr = fl4->saddr;			/* ip_copy_addrs() */
	ip->daddr = fl4->daddr;
	ip->optlen = 0;
	sn_ip_select_ident(sk, ip);

	if (opt) {
		ip->ihl += opt->optlen >> 2;
		sn_ip_options_build(ip, opt, cork->addr);
	}

	/* skb->priority, mark, tstamp; skb_dst_set() steals rt from cork.dst */
	shim_skb_set_meta(skb->skb,
			  (cork->tos != -1) ? cork->priority : sk->sk_priority,
			  cork->mark, rt);
	cork->dst = NULL;
	skb->dst = rt;

	/* ip_cork_release(): the route went to the skb. */
	cork->flags &= ~SN_IPCORK_OPT;
	cork->opt = NULL;
	return 1;
}

/*
 * ip_make_skb(): the lockless datagram of a non-corked send, built in
 * the caller's queue. Returns 1 with a datagram, 0 for MSG_PROBE (no
 * skb), or an error.
 */
int sn_ip_make_skb(struct sn_sock *sk, struct sn_flowi4 *fl4,
		   struct sn_msghdr *msg, int length, int transhdrlen,
		   struct sn_ipcm_cookie *ipc, struct sn_rtable **rtp,
		   struct sn_inet_cork *cork, struct sn_skb_queue *queue,
		   struct sn_ip_info *ip, u32 flags)
{
	int err;

	if (flags & SN_MSG_PROBE)
		return 0;

	queue->qlen = 0;
	cork->flags = 0;
	cork->addr = 0;
	cork->opt = NULL;
	sn_ip_setup_cork(sk, cork, ipc, rtp);

	err = sn___ip_append_data(sk, fl4, queue, cork, msg, length,
				  transhdrlen, flags);
	if (err) {
		sn___ip_flush_pending_frames(queue, cork);
		return err;
	}

	return sn___ip_make_skb(sk, fl4, queue, cork, ip);
}

/* ip_append_data(): corked sends append to the socket's write queue. */
int sn_ip_append_data(struct sn_sock *sk, struct sn_flowi4 *fl4,
		      struct sn_msghdr *msg, int length, int transhdrlen,
		      struct sn_ipcm_cookie *ipc, struct sn_rtable **rtp,
		      u32 flags)
{
	if (flags & SN_MSG_PROBE)
		return 0;

	if (!sk->sk_write_queue.qlen)
		sn_ip_setup_cork(sk, &sk->inet.cork, ipc, rtp);
	else
		transhdrlen = 0;

	return sn___ip_append_data(sk, fl4, &sk->sk_write_queue,
				   &sk->inet.cork, msg, length, transhdrlen,
				   flags);
}

/* Dequeue entry from into to (the queue moves its skbs). */
static void sn_skb_move(struct sn_skb *to, struct sn_skb *from)
{
	to->skb = from->skb;
	to->dst = from->dst;
	to->nh = from->nh;
	to->len = from->len;
	to->data_len = from->data_len;
	to->fraglist_len = from->fraglist_len;
	to->tailroom = from->tailroom;
	to->csum = from->csum;
	to->ip_summed = from->ip_summed;
	to->pending_confirm = from->pending_confirm;
}

/*
 * ip_finish_skb(): __ip_make_skb() on the socket's write queue; the skbs
 * move to the caller's datagram. The queue is not empty: a corked socket
 * always has its first skb queued (udp_sendmsg uncorks an empty one).
 */
void sn_ip_finish_skb(struct sn_sock *sk, struct sn_flowi4 *fl4,
		      struct sn_skb_queue *dgram, struct sn_ip_info *ip)
{
	struct sn_skb_queue *queue = &sk->sk_write_queue;
	u32 i;

	for (i = 0; i < queue->qlen; i++)
		sn_skb_move(&dgram->q[i], &queue->q[i]);
	dgram->qlen = queue->qlen;
	queue->qlen = 0;
	sn___ip_make_skb(sk, fl4, dgram, &sk->inet.cork, ip);
}

/* ip_flush_pending_frames() */
void sn_ip_flush_pending_frames(struct sn_sock *sk)
{
	sn___ip_flush_pending_frames(&sk->sk_write_queue, &sk->inet.cork);
}

/*
 * ip_send_check() = ip_fast_csum() over the header, here from the values
 * (the header bytes are a local handed to the shim): the sum of its
 * 16-bit words in memory order.
 */
static __sum16 sn_ip_fast_csum(struct sn_ip_info *ip, u32 tot_len,
			       u16 frag_off)
{
	u32 sum;
	u32 k;

	sum = (0x40 | ip->ihl) | ((u32)ip->tos << 8);
	sum += sn_htons(tot_len);
	sum += sn_htons(ip->id);
	sum += sn_htons(frag_off);
	sum += ip->ttl | ((u32)ip->protocol << 8);
	sum += (ip->saddr & 0xffff) + (ip->saddr >> 16);
	sum += (ip->daddr & 0xffff) + (ip->daddr >> 16);
	for (k = 0; k < ip->optlen; k += 2)
		sum += ip->opt[k] | ((u32)ip->opt[k + 1] << 8);
	return sn_csum_fold(sum);
}

/* Write the IP header of skb: the bytes at skb_network_header(). */
void sn_ip_write_header(struct sn_skb *skb, struct sn_ip_info *ip,
			u32 tot_len, u16 frag_off)
{
	struct sn_iphdr h;
	u32 k;

	h.ihl_version = 0x40 | ip->ihl;
	h.tos = ip->tos;
	h.tot_len = sn_htons(tot_len);
	h.id = sn_htons(ip->id);
	h.frag_off = sn_htons(frag_off);
	h.ttl = ip->ttl;
	h.protocol = ip->protocol;
	h.check = sn_ip_fast_csum(ip, tot_len, frag_off);
	h.saddr = ip->saddr;
	h.daddr = ip->daddr;
	for (k = 0; k < ip->optlen; k++)
		h.opt[k] = ip->opt[k];
	shim_skb_store(skb->skb, skb->nh, &h, ip->ihl * 4);
}

/*
 * ip_options_fragment(): options without the copied bit become NOOPs
 * in every fragment after the first. The socket's options went through
 * ip_options_compile(), which refuses malformed lengths, so the kernel's
 * length check never fires and is not rendered.
 */
static void sn_ip_options_fragment(struct sn_ip_info *ip)
{
	u32 p = 0;
	int l = ip->optlen;
	int optlen;
	int k;

	while (l > 0) {
		switch (ip->opt[p]) {
		case SN_IPOPT_END:
			return;
		case SN_IPOPT_NOOP:
			l--;
			p++;
			continue;
		}
		optlen = ip->opt[p + 1];
		if (!(ip->opt[p] & SN_IPOPT_COPY)) {
			for (k = 0; k < optlen; k++)
				ip->opt[p + k] = SN_IPOPT_NOOP;
		}
		l -= optlen;
		p += optlen;
	}
}

/*
 * ip_do_fragment() on a datagram whose frag_list __ip_append_data built:
 * every frag_list skb already is one fragment (the head's data is
 * maxfraglen - hlen, a multiple of 8, the others too but the last), so
 * the kernel's geometry checks pass and its copying slow path
 * (ip_frag_next) is never taken; neither is rendered. The next
 * fragment's header is prepared before the previous one goes down.
 */
static int sn_ip_do_fragment(struct sn_sock *sk, struct sn_skb_queue *dgram,
			     struct sn_ip_info *ip, struct sn_rtable *rt)
{
	struct sn_skb *skb = &dgram->q[0];
	u32 hlen = ip->ihl * 4;
	u32 offset = 0;
	u32 i, j;
	int err;

	/* ip_fraglist_init() */
	skb->len -= skb->fraglist_len;
	skb->fraglist_len = 0;
	shim_skb_frag_list_detach(skb->skb, skb->len);
	sn_ip_write_header(skb, ip, skb->len, SN_IP_MF);

	for (i = 1; i <= dgram->qlen; i++) {
		if (i < dgram->qlen) {
			struct sn_skb *frag = &dgram->q[i];
			u16 frag_off;

			/* ip_fraglist_prepare() */
			frag->nh = shim_skb_fraglist_prepare(frag->skb, skb->skb,
							     hlen);
			frag->len += hlen;
			frag->ip_summed = SN_CHECKSUM_NONE;
			offset += skb->len - hlen;
			frag_off = offset >> 3;
			if (i + 1 < dgram->qlen)
				frag_off |= SN_IP_MF;
			/* ip_options_fragment() on the first copy: the
			 * later ones copy its header. */
			if (i == 1 && ip->optlen)
				sn_ip_options_fragment(ip);
			sn_ip_write_header(frag, ip, frag->len, frag_off);
		}

		err = sn_ip_finish_output2(sk, skb, ip, rt);
		if (err) {
			/* kfree_skb_list(iter.frag) */
			for (j = i; j < dgram->qlen; j++)
				shim_kfree_skb(dgram->q[j].skb);
			shim_snmp_inc(sk->sk_net, SN_MIB_IP_FRAGFAILS, 1);
			return err;
		}
		shim_snmp_inc(sk->sk_net, SN_MIB_IP_FRAGCREATES, 1);
		if (i < dgram->qlen)
			skb = &dgram->q[i];		/* ip_fraglist_next() */
	}
	shim_snmp_inc(sk->sk_net, SN_MIB_IP_FRAGOKS, 1);
	return 0;
}

/*
 * ip_finish_output() / __ip_finish_output() without BPF, XFRM or GSO:
 * fragment what exceeds the MTU. A datagram with DF set never does here
 * (__ip_append_data refused it), so ip_fragment()'s ICMP branch is not
 * rendered.
 */
static int sn_ip_finish_output(struct sn_sock *sk, struct sn_skb_queue *dgram,
			       struct sn_ip_info *ip, struct sn_rtable *rt)
{
	u32 mtu = sn_ip_skb_dst_mtu(sk, rt);

	if (dgram->q[0].len > mtu)
		return sn_ip_do_fragment(sk, dgram, ip, rt);
	return sn_ip_finish_output2(sk, &dgram->q[0], ip, rt);
}

/* ip_output() */
static int sn_ip_output(struct sn_sock *sk, struct sn_skb_queue *dgram,
			struct sn_ip_info *ip, struct sn_rtable *rt)
{
	struct sn_skb *skb = &dgram->q[0];

	shim_snmp_inc(sk->sk_net, SN_MIB_IP_OUTREQUESTS, skb->len);
	shim_skb_set_dev(skb->skb, rt->dst.dev, sn_htons(SN_ETH_P_IP));
	return sn_ip_finish_output(sk, dgram, ip, rt);
}

/*
 * ip_mc_output(): multicasts are looped back to local listeners
 * (IP_MULTICAST_LOOP; no multicast routing in the specbed kernels) and
 * must not leave the host with TTL 0; broadcasts are looped back too.
 */
static int sn_ip_mc_output(struct sn_sock *sk, struct sn_skb_queue *dgram,
			   struct sn_ip_info *ip, struct sn_rtable *rt)
{
	struct sn_skb *skb = &dgram->q[0];
	struct sk_buff *newskb;

	shim_snmp_inc(sk->sk_net, SN_MIB_IP_OUTREQUESTS, skb->len);
	shim_skb_set_dev(skb->skb, rt->dst.dev, sn_htons(SN_ETH_P_IP));

	if (rt->rt_flags & SN_RTCF_MULTICAST) {
		if (sk->inet.mc_loop) {			/* sk_mc_loop() */
			newskb = shim_skb_clone(skb->skb);
			if (newskb)
				sn_ip_mc_finish_output(newskb);
		}

		/* Multicasts with ttl 0 must not go beyond the host */
		if (ip->ttl == 0) {
			shim_kfree_skb(skb->skb);
			return 0;
		}
	}

	if (rt->rt_flags & SN_RTCF_BROADCAST) {
		newskb = shim_skb_clone(skb->skb);
		if (newskb)
			sn_ip_mc_finish_output(newskb);
	}

	return sn_ip_finish_output(sk, dgram, ip, rt);
}

/*
 * ip_send_skb() -> ip_local_out() -> __ip_local_out() (no netfilter, no
 * l3mdev: the LOCAL_OUT hook lets it through) -> dst_output().
 */
int sn_ip_send_skb(struct sn_sock *sk, struct sn_skb_queue *dgram,
		   struct sn_ip_info *ip)
{
	struct sn_skb *skb = &dgram->q[0];
	struct sn_rtable *rt = skb->dst;
	int err;

	/* __ip_local_out(): tot_len and the header checksum */
	sn_ip_write_header(skb, ip, skb->len, ip->frag_off);

	/* dst_output(): rt->dst.output */
	switch (rt->dst.output) {
	case SN_DST_IP_MC_OUTPUT:
		err = sn_ip_mc_output(sk, dgram, ip, rt);
		break;
	default:
		err = sn_ip_output(sk, dgram, ip, rt);
		break;
	}

	if (err) {
		if (err > 0)		/* net_xmit_errno() */
			err = err != SN_NET_XMIT_CN ? -SN_ENOBUFS : 0;
		if (err)
			shim_snmp_inc(sk->sk_net, SN_MIB_IP_OUTDISCARDS, 1);
	}
	return err;
}
