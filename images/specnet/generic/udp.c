// SPDX-License-Identifier: GPL-2.0
/*
 * udp.c - UDP layer of the generic UDP/IPv4 send path.
 *
 * Renders, from Linux 6.1 net/ipv4/udp.c: udp_sendmsg(), udp_send_skb(),
 * udp4_hwcsum(), udp_csum() (include/net/udp.h),
 * udp_push_pending_frames() and udp_flush_pending_frames(), with
 * ipcm_init_sk(), get_rttos() and inet_sk_flowi_flags() from the headers.
 */
#include "generic.h"

#define SN_UDP_CSUM_OFFSET	6	/* offsetof(struct udphdr, check) */

/* ipcm_init_sk() */
static void sn_ipcm_init_sk(struct sn_ipcm_cookie *ipc, struct sn_sock *sk)
{
	ipc->mark = sk->sk_mark;
	ipc->oif = sk->sk_bound_dev_if;
	ipc->addr = sk->inet.inet_saddr;
	ipc->opt = NULL;
	ipc->ttl = 0;
	ipc->tos = -1;
	ipc->priority = 0;
}

/* get_rttos(): RT_TOS() of the message's or the socket's TOS. */
static u8 sn_get_rttos(struct sn_ipcm_cookie *ipc, struct sn_inet_sock *inet)
{
	if (ipc->tos != -1)
		return ipc->tos & SN_IPTOS_TOS_MASK;
	return inet->tos & SN_IPTOS_TOS_MASK;
}

/*
 * inet_sk_flowi_flags(): transparent (IP_TRANSPARENT) sockets may send
 * from any address. hdrincl is a raw socket option, always 0 here.
 */
static u8 sn_inet_sk_flowi_flags(struct sn_inet_sock *inet)
{
	if (inet->transparent)
		return SN_FLOWI_FLAG_ANYSRC;
	return 0;
}

/* csum_partial() over the UDP header (check 0): the two 32-bit words. */
static __wsum sn_csum_udphdr(__be16 source, __be16 dest, __be16 len,
			     __wsum sum)
{
	sum = sn_csum_add(sum, (u32)source | ((u32)dest << 16));
	return sn_csum_add(sum, (u32)len);
}

/*
 * udp_csum(): the header, the head's payload and every frag_list skb.
 * The header's fields are passed by value: the header itself is a local
 * whose address goes to the shim.
 */
static __wsum sn_udp_csum(struct sn_skb_queue *dgram, __be16 source,
			  __be16 dest, __be16 len)
{
	__wsum csum;
	u32 i;

	csum = sn_csum_udphdr(source, dest, len, dgram->q[0].csum);
	for (i = 1; i < dgram->qlen; i++)
		csum = sn_csum_add(csum, dgram->q[i].csum);
	return csum;
}

/*
 * udp_send_skb(): fill in the UDP header and its checksum (none, by the
 * device (CHECKSUM_PARTIAL) or in software), then ip_send_skb(). UDP-Lite
 * and GSO are not rendered.
 */
static int sn_udp_send_skb(struct sn_sock *sk, struct sn_flowi4 *fl4,
			   struct sn_skb_queue *dgram, struct sn_ip_info *ip)
{
	struct sn_inet_sock *inet = &sk->inet;
	struct sn_skb *skb = &dgram->q[0];
	struct sn_udphdr uh;
	u32 offset = ip->ihl * 4;		/* skb_transport_offset() */
	u32 len = skb->len - offset;
	__sum16 check = 0;
	int err;

	uh.source = inet->inet_sport;
	uh.dest = fl4->fl4_dport;
	uh.len = sn_htons(len);

	if (sk->sk_no_check_tx) {			/* UDP csum off */
		skb->ip_summed = SN_CHECKSUM_NONE;
		shim_skb_set_ip_summed(skb->skb, SN_CHECKSUM_NONE);
	} else if (skb->ip_summed == SN_CHECKSUM_PARTIAL) {
		/*
		 * udp4_hwcsum(): the device sums from the transport header
		 * on; the header carries the pseudo-header sum. A head with
		 * a frag_list is never CHECKSUM_PARTIAL here (see
		 * __ip_append_data), so its software branch is not rendered.
		 */
		shim_skb_partial_csum_set(skb->skb, skb->nh + offset,
					  SN_UDP_CSUM_OFFSET);
		check = ~sn_csum_tcpudp_magic(fl4->saddr, fl4->daddr, len,
					      SN_IPPROTO_UDP, 0);
	} else {
		check = sn_csum_tcpudp_magic(fl4->saddr, fl4->daddr, len,
					     sk->sk_protocol,
					     sn_udp_csum(dgram, inet->inet_sport,
							 fl4->fl4_dport,
							 sn_htons(len)));
		if (check == 0)
			check = SN_CSUM_MANGLED_0;
	}
	uh.check = check;
	shim_skb_store(skb->skb, skb->nh + offset, &uh, SN_UDPHDR_LEN);

	err = sn_ip_send_skb(sk, dgram, ip);
	if (err) {
		if (err == -SN_ENOBUFS && !inet->recverr) {
			shim_snmp_inc(sk->sk_net, SN_MIB_UDP_SNDBUFERRORS, 1);
			err = 0;
		}
	} else {
		shim_snmp_inc(sk->sk_net, SN_MIB_UDP_OUTDATAGRAMS, 1);
	}
	return err;
}

/* udp_push_pending_frames(): send what corked sends queued. */
static int sn_udp_push_pending_frames(struct sn_sock *sk)
{
	struct sn_flowi4 *fl4 = &sk->inet.cork_fl;
	struct sn_skb_queue dgram;
	struct sn_ip_info ip;
	int err;

	sn_ip_finish_skb(sk, fl4, &dgram, &ip);
	err = sn_udp_send_skb(sk, fl4, &dgram, &ip);

	sk->up.len = 0;
	sk->up.pending = 0;
	return err;
}

/* udp_flush_pending_frames() */
static void sn_udp_flush_pending_frames(struct sn_sock *sk)
{
	if (sk->up.pending) {
		sk->up.len = 0;
		sk->up.pending = 0;
		sn_ip_flush_pending_frames(sk);
	}
}

/*
 * udp_sendmsg(). The socket lock is only taken for corking; the
 * non-corked send builds its datagram in a local queue (ip_make_skb).
 */
int sn_udp_sendmsg(struct sn_sock *sk, struct sn_msghdr *msg, u32 len)
{
	struct sn_inet_sock *inet = &sk->inet;
	struct sn_udp_sock *up = &sk->up;
	struct sn_sockaddr_in *usin = msg->msg_name;
	struct sn_flowi4 fl4_stack;
	struct sn_flowi4 *fl4;
	int ulen = len;
	struct sn_ipcm_cookie ipc = { 0 };
	struct sn_rtable *rt = NULL;
	int connected = 0;
	__be32 daddr, faddr, saddr;
	__be16 dport;
	u8 tos;
	int err;
	int corkreq = up->corkflag || (msg->msg_flags & SN_MSG_MORE);
	struct sn_inet_cork cork;
	struct sn_skb_queue queue;
	struct sn_ip_info ip;

	if (len > 0xFFFF)
		return -SN_EMSGSIZE;

	/* Check the flags. */
	if (msg->msg_flags & SN_MSG_OOB)	/* BSD compatibility */
		return -SN_EOPNOTSUPP;

	fl4 = &inet->cork_fl;
	if (up->pending) {
		/*
		 * There are pending frames. The socket lock must be held
		 * while it's corked.
		 */
		shim_lock_sock(sk);
		if (up->pending) {
			if (up->pending != SN_AF_INET) {
				shim_release_sock(sk);
				return -SN_EINVAL;
			}
			goto do_append_data;
		}
		shim_release_sock(sk);
	}
	ulen += SN_UDPHDR_LEN;

	/* Get and verify the address. */
	if (usin) {
		if (msg->msg_namelen < (int)sizeof(*usin))
			return -SN_EINVAL;
		if (usin->sin_family != SN_AF_INET) {
			if (usin->sin_family != SN_AF_UNSPEC)
				return -SN_EAFNOSUPPORT;
		}

		daddr = usin->sin_addr;
		dport = usin->sin_port;
		if (dport == 0)
			return -SN_EINVAL;
	} else {
		if (sk->sk_state != SN_TCP_ESTABLISHED)
			return -SN_EDESTADDRREQ;
		daddr = inet->inet_daddr;
		dport = inet->inet_dport;
		/* Open fast path for connected socket. Route will not be
		 * used, if at least one option is set. */
		connected = 1;
	}

	sn_ipcm_init_sk(&ipc, sk);

	/*
	 * The kernel tests err < 0 once, after both parsers; each test here
	 * follows its parser's call, so a specialization decides it per
	 * outcome of the call (specializer/spec/split.go) and an error path
	 * the context leaves in the residual (SO_MARK without CAP_NET_ADMIN)
	 * does not make what the message set (TOS, TTL) dynamic.
	 */
	if (msg->msg_controllen) {
		err = sn_udp_cmsg_send(sk, msg);
		if (err > 0) {
			err = sn_ip_cmsg_send(sk, msg, &ipc);
			if (err < 0)
				return err;
		} else if (err < 0) {
			return err;
		}
		connected = 0;
	}
	/*
	 * The socket's options, unless the control messages brought some:
	 * they cannot here (IP_RETOPTS is not rendered). The kernel copies
	 * inet_opt under RCU; the options of the view do not change under us.
	 */
	if (inet->inet_opt)
		ipc.opt = inet->inet_opt;

	saddr = ipc.addr;
	ipc.addr = faddr = daddr;

	if (ipc.opt && ipc.opt->srr) {
		if (!daddr)
			return -SN_EINVAL;
		faddr = ipc.opt->faddr;
		connected = 0;
	}
	tos = sn_get_rttos(&ipc, inet);
	if ((sk->sk_flags & SN_SOCK_LOCALROUTE) ||
	    (msg->msg_flags & SN_MSG_DONTROUTE) ||
	    (ipc.opt && ipc.opt->is_strictroute)) {
		tos |= SN_RTO_ONLINK;
		connected = 0;
	}

	if (sn_ipv4_is_multicast(daddr)) {
		if (!ipc.oif)
			ipc.oif = inet->mc_index;
		if (!saddr)
			saddr = inet->mc_addr;
		connected = 0;
	} else if (!ipc.oif) {
		ipc.oif = inet->uc_index;
	}
	/* The local broadcast case with an oif only matters for L3 master
	 * devices, which the specbed kernels do not have. */

	fl4 = &inet->conn_fl;
	if (connected)
		rt = sn_sk_dst_check(sk);

	if (!rt) {
		fl4 = &fl4_stack;
		/* flowi4_init_output() */
		fl4->flowi4_oif = ipc.oif;
		fl4->flowi4_mark = ipc.mark;
		fl4->flowi4_tos = tos;
		fl4->flowi4_scope = 0;		/* RT_SCOPE_UNIVERSE */
		fl4->flowi4_proto = sk->sk_protocol;
		fl4->flowi4_flags = sn_inet_sk_flowi_flags(inet);
		fl4->daddr = faddr;
		fl4->saddr = saddr;
		fl4->fl4_dport = dport;
		fl4->fl4_sport = inet->inet_sport;
		fl4->flowi4_uid = sk->sk_uid;

		rt = sn_ip_route_output_flow(sk->sk_net, fl4, &err);
		if (!rt) {
			if (err == -SN_ENETUNREACH)
				shim_snmp_inc(sk->sk_net, SN_MIB_IP_OUTNOROUTES, 1);
			goto out;
		}

		err = -SN_EACCES;
		if ((rt->rt_flags & SN_RTCF_BROADCAST) &&
		    !(sk->sk_flags & SN_SOCK_BROADCAST))
			goto out;
		if (connected)
			shim_sk_dst_set(sk, rt);
	}

	if (msg->msg_flags & SN_MSG_CONFIRM) {
		/* do_confirm */
		if (msg->msg_flags & SN_MSG_PROBE)
			shim_dst_confirm_neigh(rt, fl4->daddr);
		if ((msg->msg_flags & SN_MSG_PROBE) && !len) {
			err = 0;
			goto out;
		}
	}

	saddr = fl4->saddr;
	if (!ipc.addr)
		daddr = ipc.addr = fl4->daddr;

	/* Lockless fast path for the non-corking case. */
	if (!corkreq) {
		err = sn_ip_make_skb(sk, fl4, msg, ulen, SN_UDPHDR_LEN, &ipc,
				     &rt, &cork, &queue, &ip, msg->msg_flags);
		if (err > 0)
			err = sn_udp_send_skb(sk, fl4, &queue, &ip);
		goto out;
	}

	shim_lock_sock(sk);
	if (up->pending) {
		/* The socket is already corked while preparing it. */
		shim_release_sock(sk);
		err = -SN_EINVAL;
		goto out;
	}
	/* Now cork the socket to pend data. */
	fl4 = &inet->cork_fl;
	fl4->daddr = daddr;
	fl4->saddr = saddr;
	fl4->fl4_dport = dport;
	fl4->fl4_sport = inet->inet_sport;
	up->pending = SN_AF_INET;

do_append_data:
	up->len += ulen;
	err = sn_ip_append_data(sk, fl4, msg, ulen, SN_UDPHDR_LEN, &ipc, &rt,
				corkreq ? msg->msg_flags | SN_MSG_MORE :
					  msg->msg_flags);
	if (err)
		sn_udp_flush_pending_frames(sk);
	else if (!corkreq)
		err = sn_udp_push_pending_frames(sk);
	else if (!sk->sk_write_queue.qlen)
		up->pending = 0;
	shim_release_sock(sk);

out:
	if (rt)
		shim_dst_release(rt);		/* ip_rt_put() */
	if (!err)
		return len;
	/*
	 * ENOBUFS = no kernel mem, SOCK_NOSPACE = no sndbuf space.
	 */
	if (err == -SN_ENOBUFS || shim_sk_test_nospace(sk))
		shim_snmp_inc(sk->sk_net, SN_MIB_UDP_SNDBUFERRORS, 1);
	return err;
}
