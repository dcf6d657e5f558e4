// SPDX-License-Identifier: GPL-2.0
/*
 * dev.c - hand-off from IPv4 to the device in the generic UDP/IPv4 send
 * path.
 *
 * Renders, from Linux 6.1: ip_finish_output2() (net/ipv4/ip_output.c)
 * with ip_neigh_for_gw() (include/net/route.h), sock_confirm_neigh(),
 * neigh_output(), neigh_hh_output() (include/net/neighbour.h), the three
 * neigh->output functions neigh_direct_output(), neigh_connected_output()
 * and neigh_resolve_output() with neigh_event_send() (net/core/neighbour.c),
 * and ip_mc_finish_output(). dev_queue_xmit() is the driver's side.
 */
#include "generic.h"

/* neigh_hh_output(): prepend the cached hardware header. Ethernet-like
 * headers are at most HH_DATA_MOD bytes; headroom was reserved by
 * __ip_append_data (LL_RESERVED_SPACE), so the kernel's checks hold. */
static int sn_neigh_hh_output(struct sn_neigh *neigh, struct sn_skb *skb)
{
	shim_skb_push_hh(skb->skb, neigh->hh.hh_data, neigh->hh.hh_len);
	return shim_dev_queue_xmit(skb->skb);
}

/* dev_hard_header() then dev_queue_xmit(); the skb is freed on error. */
static int sn_neigh_header_xmit(struct sn_neigh *neigh, struct sn_skb *skb,
				struct sn_netdev *dev)
{
	if (shim_dev_hard_header(skb->skb, dev, SN_ETH_P_IP, neigh->ha,
				 skb->len) >= 0)
		return shim_dev_queue_xmit(skb->skb);
	shim_kfree_skb(skb->skb);
	return -SN_EINVAL;
}

/*
 * neigh_resolve_output(): an entry that is not valid yet queues the
 * packet until ARP answers; a valid one fills the header cache on first
 * use and sends.
 */
static int sn_neigh_resolve_output(struct sn_neigh *neigh, struct sn_skb *skb,
				   struct sn_netdev *dev)
{
	/* neigh_event_send() */
	if (!(neigh->nud_state &
	      (SN_NUD_CONNECTED | SN_NUD_DELAY | SN_NUD_PROBE))) {
		if (shim_neigh_event_send(neigh, skb->skb))
			return 0;
	}
	if (dev->header_ops_cache && !neigh->hh.hh_len)
		shim_neigh_hh_init(neigh);
	return sn_neigh_header_xmit(neigh, skb, dev);
}

/* neigh_output() */
static int sn_neigh_output(struct sn_neigh *neigh, struct sn_skb *skb,
			   struct sn_netdev *dev)
{
	if ((neigh->nud_state & SN_NUD_CONNECTED) && neigh->hh.hh_len)
		return sn_neigh_hh_output(neigh, skb);

	switch (neigh->output) {
	case SN_NEIGH_DIRECT_OUTPUT:
		return shim_dev_queue_xmit(skb->skb);
	case SN_NEIGH_CONNECTED_OUTPUT:
		return sn_neigh_header_xmit(neigh, skb, dev);
	default:
		return sn_neigh_resolve_output(neigh, skb, dev);
	}
}

/*
 * ip_finish_output2(): count multicast and broadcast output, find the
 * next hop's neighbour (ip_neigh_for_gw: the gateway, else the
 * destination), confirm it if the send asked to (MSG_CONFIRM), send.
 * No lwtunnel; headroom is already LL_RESERVED_SPACE.
 */
int sn_ip_finish_output2(struct sn_sock *sk, struct sn_skb *skb,
			 struct sn_ip_info *ip, struct sn_rtable *rt)
{
	struct sn_netdev *dev = rt->dst.dev;
	struct sn_neigh *neigh;
	__be32 nexthop;
	int err;

	if (rt->rt_type == SN_RTN_MULTICAST)
		shim_snmp_inc(sk->sk_net, SN_MIB_IP_OUTMCAST, skb->len);
	else if (rt->rt_type == SN_RTN_BROADCAST)
		shim_snmp_inc(sk->sk_net, SN_MIB_IP_OUTBCAST, skb->len);

	nexthop = ip->daddr;
	if (rt->rt_gw_family == SN_AF_INET)
		nexthop = rt->rt_gw4;
	/* ip_neigh_gw4(): __ipv4_neigh_lookup_noref() or __neigh_create() */
	err = shim_ipv4_neigh_err(dev, nexthop);
	if (err) {
		/* "No header cache and no neighbour!" */
		shim_kfree_skb(skb->skb);
		return err;
	}
	neigh = shim_ipv4_neigh_lookup(dev, nexthop);

	/* sock_confirm_neigh() */
	if (skb->pending_confirm)
		shim_neigh_confirm(neigh);
	return sn_neigh_output(neigh, skb, dev);
}

/* ip_mc_finish_output(): a looped-back copy goes to the loopback device
 * (rt_dst_clone on loopback_dev, dev_loopback_xmit). */
int sn_ip_mc_finish_output(struct sk_buff *newskb)
{
	return shim_dev_loopback_xmit(newskb);
}
