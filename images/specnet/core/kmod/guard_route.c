// SPDX-License-Identifier: GPL-2.0
/*
 * guard_route.c - the route and PMTU guards of a token.
 *
 * A residual has its route baked in: the next hop's hardware header, the
 * device, the MTU that decides fragmentation (udp.decl: rt->..., neigh->
 * hh.hh_data are static). The guard watches what can change them: the
 * FIB (a route added, replaced or deleted: the FIB notifier chain) and
 * the devices (an MTU change, a device going down: the netdevice
 * notifier chain). Both chains call us in atomic or RTNL context, so an
 * event only bumps sn_route_gen and queues the review. A send on a token
 * whose generation is behind first waits for the queued review
 * (flush_work), and sends through the generic path (a fresh route
 * lookup: correct by construction) if yet another event came meanwhile.
 * So no datagram after the event leaves on the stale route, and the
 * review itself runs in process context with the token's guard held for
 * writing (no send of the token runs meanwhile).
 *
 * The review looks the token's flow up again and compares the next hop,
 * the device and the MTU with what the residual assumed. A changed next
 * hop or device fires guard_route, an MTU that changes the fragmentation
 * of the token's datagrams fires guard_pmtu, and the token's guard
 * policy (SPECNET_GUARD_*, chosen at LOAD) decides:
 *
 * - reinforce: the residual keeps running and an egress rule moves its
 *   datagrams to the new route. The rule stands where the paper puts a
 *   netfilter rule, at the last hop before the driver: the specbed
 *   kernels have no netfilter, and a POST_ROUTING rule would run before
 *   the residual's header push anyway (the residual pushes its cached
 *   hardware header itself, it never passes ip_finish_output2). The rule
 *   matches the datagram's route (the dst the residual attached, the
 *   token's), strips the stale link-layer header and hands the IP packet
 *   to the new route's neighbour (ip_finish_output2's neigh_output, with
 *   ARP resolution where needed) on the new device, as netfilter's
 *   ip_route_me_harder() re-routes a mangled packet. A PMTU drop below
 *   the datagram sends the token's datagrams through the generic path
 *   (which fragments them) while the MTU stays low.
 * - respecialize: generic path until the application loads a residual
 *   for the new context in the token's place (LOAD with SPECNET_LOAD_
 *   REPLACE).
 * - fallback: generic path for the rest of the token's life.
 *
 * Module parameter route_guard=0 registers neither notifier: the
 * negative control, in which the residual keeps its stale route.
 */
#include "core.h"

#include <linux/if_ether.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/rculist.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <net/fib_notifier.h>
#include <net/ip.h>
#include <net/neighbour.h>
#include <net/route.h>
#include <net/sock.h>

static bool sn_route_guard_on = true;
module_param_named(route_guard, sn_route_guard_on, bool, 0444);
MODULE_PARM_DESC(route_guard, "watch routes and MTUs for live tokens (0: negative control)");

/* Bumped by every FIB or device event; tokens compare their own. */
atomic_t sn_route_gen = ATOMIC_INIT(0);
/* ktime ns of the oldest event not yet reviewed, 0 if none. */
static atomic64_t sn_route_event_ns = ATOMIC64_INIT(0);

/*
 * A reinforce rule: datagrams on the token's old route go out on the new
 * one. Read under rcu_read_lock_bh() on every transmit of the shim while
 * any rule stands; written under sn_reroutes_lock.
 */
struct sn_reroute {
	struct list_head list;
	const struct dst_entry *old;	/* the token's route (the token holds it) */
	struct rtable *rt;		/* the new route, a reference */
	struct rcu_head rcu;
};

static DEFINE_MUTEX(sn_reroutes_lock);
static LIST_HEAD(sn_reroutes);

/* The IP packet of skb, its old link-layer header stripped, out on r's
 * route: ip_finish_output2() from the neighbour on. */
static int sn_reroute_xmit(struct sk_buff *skb, const struct sn_reroute *r)
{
	struct net_device *dev = r->rt->dst.dev;
	unsigned int hh_len = LL_RESERVED_SPACE(dev);
	struct neighbour *neigh;
	bool is_v6gw = false;

	__skb_pull(skb, skb_network_offset(skb));
	skb_dst_drop(skb);
	skb_dst_set(skb, dst_clone(&r->rt->dst));
	skb->dev = dev;
	if (unlikely(skb_headroom(skb) < hh_len && dev->header_ops)) {
		skb = skb_expand_head(skb, hh_len);
		if (!skb)
			return -ENOMEM;
	}
	neigh = ip_neigh_for_gw(r->rt, skb, &is_v6gw);
	if (IS_ERR(neigh)) {
		kfree_skb(skb);
		return -EINVAL;
	}
	sn_count(SN_C_SENDS_REROUTED, 1);
	return neigh_output(neigh, skb, is_v6gw);
}

/* The shim's transmit while a rule stands (shim_egress_hook). */
static int sn_egress(struct sk_buff *skb)
{
	const struct sn_reroute *r;
	int ret;

	rcu_read_lock_bh();
	list_for_each_entry_rcu(r, &sn_reroutes, list) {
		if (r->old == skb_dst(skb)) {
			ret = sn_reroute_xmit(skb, r);
			rcu_read_unlock_bh();
			return ret;
		}
	}
	rcu_read_unlock_bh();
	return dev_queue_xmit(skb);
}

static void sn_reroute_free(struct rcu_head *head)
{
	struct sn_reroute *r = container_of(head, struct sn_reroute, rcu);

	ip_rt_put(r->rt);
	kfree(r);
}

/* Drop g's rule; the hook goes with the last rule. */
static void sn_reroute_remove(struct sn_route_guard *g)
{
	struct sn_reroute *r = g->reroute;

	if (!r)
		return;
	g->reroute = NULL;
	mutex_lock(&sn_reroutes_lock);
	list_del_rcu(&r->list);
	if (list_empty(&sn_reroutes))
		WRITE_ONCE(shim_egress_hook, NULL);
	mutex_unlock(&sn_reroutes_lock);
	call_rcu(&r->rcu, sn_reroute_free);
}

/* Move g's datagrams (on old) to rt; takes rt's reference. */
static int sn_reroute_set(struct sn_route_guard *g,
			  const struct dst_entry *old, struct rtable *rt)
{
	struct sn_reroute *r = kzalloc(sizeof(*r), GFP_KERNEL);

	if (!r)
		return -ENOMEM;
	r->old = old;
	r->rt = rt;
	sn_reroute_remove(g);
	mutex_lock(&sn_reroutes_lock);
	list_add_rcu(&r->list, &sn_reroutes);
	WRITE_ONCE(shim_egress_hook, sn_egress);
	mutex_unlock(&sn_reroutes_lock);
	g->reroute = r;
	return 0;
}

/* The next hop a route sends daddr to. */
static __be32 sn_nexthop(const struct rtable *rt, __be32 daddr)
{
	return rt->rt_gw_family == AF_INET ? rt->rt_gw4 : daddr;
}

/*
 * sn_route_guard_init(): what the residual of a token bound as b assumes,
 * read at LOAD from the route the binding holds (the route the context
 * was printed from, if nothing changed since CUSTOMIZE).
 */
void sn_route_guard_init(struct sn_route_guard *g, u32 policy,
			 const struct dst_entry *dst, __be32 daddr,
			 __be16 dport, u32 payload)
{
	const struct rtable *rt = container_of(dst, struct rtable, dst);

	memset(g, 0, sizeof(*g));
	g->policy = policy;
	g->gen = atomic_read(&sn_route_gen);
	g->dst = dst;
	g->daddr = daddr;
	g->dport = dport;
	g->payload = payload;
	g->nexthop = sn_nexthop(rt, daddr);
	g->ifindex = dst->dev->ifindex;
	g->mtu = dst_mtu(dst);
	g->cur_nexthop = g->nexthop;
	g->cur_ifindex = g->ifindex;
}

/* Under the token's guard (write side): the token is dying. */
void sn_route_guard_destroy(struct sn_route_guard *g)
{
	sn_reroute_remove(g);
}

/* The route a send of sk to g's destination finds now, or an ERR_PTR. */
static struct rtable *sn_route_now(struct sock *sk,
				   const struct sn_route_guard *g)
{
	struct inet_sock *inet = inet_sk(sk);
	struct flowi4 fl4;

	return ip_route_output_ports(sock_net(sk), &fl4, sk, g->daddr,
				     inet->inet_saddr, g->dport,
				     inet->inet_sport, IPPROTO_UDP,
				     RT_CONN_FLAGS(sk), sk->sk_bound_dev_if);
}

/* Whether an MTU change from old to new changes how the token's
 * datagrams (payload bytes + 28) are fragmented. */
static bool sn_pmtu_affects(u32 old, u32 new, u32 payload)
{
	u32 dgram = payload + sizeof(struct iphdr) + sizeof(struct udphdr);

	return old != new && dgram > min(old, new);
}

static void sn_route_fired(struct sn_route_guard *g, enum sn_counter c,
			   u64 event_ns)
{
	long ns = event_ns ? (long)(ktime_get_ns() - event_ns) : 0;

	g->firings++;
	g->reaction_ns = ns;
	sn_count(c, 1);
	atomic_long_set(&sn_counters[SN_C_GUARD_REACTION_NS_LAST], ns);
	if (ns > atomic_long_read(&sn_counters[SN_C_GUARD_REACTION_NS_MAX]))
		atomic_long_set(&sn_counters[SN_C_GUARD_REACTION_NS_MAX], ns);
}

/*
 * sn_route_review(): under the token's guard (write side), compare the
 * route a send of sk finds now with the one the residual assumes and
 * apply g's policy. gen is the generation the review started at.
 */
void sn_route_review(struct sn_route_guard *g, struct sock *sk, u32 gen,
		     u64 event_ns)
{
	struct rtable *rt = sn_route_now(sk, g);
	bool moved, pmtu;
	u32 mtu;

	if (g->state == SN_RG_FALLBACK || g->state == SN_RG_REPLACE)
		goto out;
	if (IS_ERR(rt)) {
		/* No route at all: the generic path answers with the error. */
		sn_reroute_remove(g);
		g->cur_nexthop = 0;
		g->cur_ifindex = 0;
		g->state = g->policy == SPECNET_GUARD_REINFORCE ?
			   SN_RG_GENERIC : g->policy == SPECNET_GUARD_FALLBACK ?
			   SN_RG_FALLBACK : SN_RG_REPLACE;
		sn_route_fired(g, SN_C_GUARD_ROUTE, event_ns);
		goto out;
	}
	moved = sn_nexthop(rt, g->daddr) != g->cur_nexthop ||
		rt->dst.dev->ifindex != g->cur_ifindex;
	mtu = dst_mtu(&rt->dst);
	pmtu = sn_pmtu_affects(g->mtu, mtu, READ_ONCE(g->payload));
	if (moved) {
		g->cur_nexthop = sn_nexthop(rt, g->daddr);
		g->cur_ifindex = rt->dst.dev->ifindex;
		sn_route_fired(g, SN_C_GUARD_ROUTE, event_ns);
	}
	if (pmtu && g->state != SN_RG_GENERIC_PMTU)
		sn_route_fired(g, SN_C_GUARD_PMTU, event_ns);
	if (!moved && !pmtu && g->state != SN_RG_GENERIC_PMTU &&
	    g->state != SN_RG_GENERIC)
		goto out_put;

	switch (g->policy) {
	case SPECNET_GUARD_FALLBACK:
		g->state = SN_RG_FALLBACK;
		sn_reroute_remove(g);
		break;
	case SPECNET_GUARD_RESPECIALIZE:
		g->state = SN_RG_REPLACE;
		sn_reroute_remove(g);
		break;
	default:
		if (pmtu) {
			g->state = SN_RG_GENERIC_PMTU;
			break;
		}
		if (g->cur_nexthop == g->nexthop && g->cur_ifindex == g->ifindex) {
			/* Back on the route the residual was made for. */
			sn_reroute_remove(g);
			g->state = SN_RG_SPECIALIZED;
			break;
		}
		if (moved || !g->reroute) {
			if (!sn_reroute_set(g, g->dst, rt)) {
				g->state = SN_RG_REROUTED;
				goto out;	/* the rule keeps rt */
			}
			g->state = SN_RG_GENERIC;	/* no memory for the rule */
			break;
		}
		g->state = SN_RG_REROUTED;
	}
out_put:
	ip_rt_put(rt);
out:
	WRITE_ONCE(g->gen, gen);
}

static void sn_route_work_fn(struct work_struct *w)
{
	u32 gen = atomic_read(&sn_route_gen);
	u64 event_ns = atomic64_xchg(&sn_route_event_ns, 0);

	sn_tokens_review(gen, event_ns);
}

static DECLARE_WORK(sn_route_work, sn_route_work_fn);

/* Wait for the queued review: a send calls it when its token is behind,
 * so that no datagram leaves before the review has decided. */
void sn_route_guard_sync(void)
{
	flush_work(&sn_route_work);
}

/* Any event: tokens fall behind, the review is queued. Atomic context. */
static void sn_route_event(void)
{
	atomic64_cmpxchg(&sn_route_event_ns, 0, ktime_get_ns());
	atomic_inc(&sn_route_gen);
	queue_work(system_unbound_wq, &sn_route_work);
}

static int sn_fib_event(struct notifier_block *nb, unsigned long event,
			void *ptr)
{
	const struct fib_notifier_info *info = ptr;

	if (info->family == AF_INET)
		sn_route_event();
	return NOTIFY_DONE;
}

static int sn_netdev_event(struct notifier_block *nb, unsigned long event,
			   void *ptr)
{
	switch (event) {
	case NETDEV_CHANGEMTU:
	case NETDEV_DOWN:
	case NETDEV_UP:
	case NETDEV_CHANGEADDR:
		sn_route_event();
	}
	return NOTIFY_DONE;
}

static struct notifier_block sn_fib_nb = { .notifier_call = sn_fib_event };
static struct notifier_block sn_netdev_nb = { .notifier_call = sn_netdev_event };

int sn_route_guard_start(void)
{
	int err;

	if (!sn_route_guard_on)
		return 0;
	err = register_fib_notifier(&init_net, &sn_fib_nb, NULL, NULL);
	if (err)
		return err;
	err = register_netdevice_notifier(&sn_netdev_nb);
	if (err)
		unregister_fib_notifier(&init_net, &sn_fib_nb);
	return err;
}

/* Module exit: no token lives (each pins an open of the device). */
void sn_route_guard_stop(void)
{
	if (!sn_route_guard_on)
		return;
	unregister_netdevice_notifier(&sn_netdev_nb);
	unregister_fib_notifier(&init_net, &sn_fib_nb);
	cancel_work_sync(&sn_route_work);
	rcu_barrier();		/* the rules' call_rcu */
}
