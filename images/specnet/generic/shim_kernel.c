// SPDX-License-Identifier: GPL-2.0
/*
 * shim_kernel.c - shim.h on the real kernel (SPECBED_KERNEL): every shim
 * function is the kernel function, inline or macro it stands for.
 *
 * The generic path reads views (generic.h) of the kernel objects. A view
 * lives in a wrapper next to the pointer to its kernel object, so the shim
 * finds one from the other (container_of). sn_kernel_bind() makes the
 * views of a UDP socket from its descriptor: that is what a customized
 * send's CUSTOMIZE runs, and what the instance (struct sn_inst) points
 * into. The state the send path keeps (cork, write queue, IP ID) is the
 * view's own: a customized send corks in its views, not in the socket.
 *
 * Kernel functions a module cannot call (static or not exported:
 * sock_wait_for_wmem, neigh_hh_init, ip_local_error, ip_copy_metadata)
 * are copied from Linux 6.1 below, each marked so.
 */
#ifdef SPECBED_KERNEL

/* The views first: kernel headers #define some of their field names. */
#include "shim.h"
#include "generic.h"
#include "shim_kernel.h"

#include <linux/errqueue.h>
#include <linux/file.h>
#include <linux/net.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/udp.h>
#include <net/arp.h>
#include <net/inet_common.h>
#include <net/checksum.h>
#include <net/dst.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/neighbour.h>
#include <net/route.h>
#include <net/sock.h>
#include <net/udp.h>

/* The bodies of the effects a residual calls inline: the out-of-line
 * functions below, which the core exports, run the same code. */
#include "shim_inline.h"

static struct sn_kdev *kdev_of(struct sn_netdev *v)
{
	return container_of(v, struct sn_kdev, v);
}

static struct sn_krt *krt_of(struct sn_rtable *v)
{
	return container_of(v, struct sn_krt, v);
}

static struct sn_kneigh *kneigh_of(struct sn_neigh *v)
{
	return container_of(v, struct sn_kneigh, v);
}

/* ---- views ---- */

static void sn_kernel_fill_dev(struct sn_kdev *d, struct sn_ksock *owner,
			       struct net_device *dev)
{
	d->owner = owner;
	d->dev = dev;
	d->v.ifindex = dev->ifindex;
	d->v.mtu = READ_ONCE(dev->mtu);
	d->v.features = dev->features;
	d->v.hard_header_len = dev->hard_header_len;
	d->v.needed_headroom = READ_ONCE(dev->needed_headroom);
	d->v.header_ops_cache = dev->header_ops && dev->header_ops->cache;
}

static void sn_kernel_fill_rt(struct sn_krt *r, struct sn_ksock *owner,
			      struct rtable *rt)
{
	struct dst_entry *dst = &rt->dst;

	r->rt = rt;
	sn_kernel_fill_dev(&r->dev, owner, dst->dev);
	r->v.dst.dev = &r->dev.v;
	r->v.dst.obsolete = dst->obsolete;
	/* __mkroute_output() picks ip_output or ip_mc_output (not exported) */
	r->v.dst.output = dst->output == ip_output ? SN_DST_IP_OUTPUT :
						     SN_DST_IP_MC_OUTPUT;
	r->v.dst.metric_mtu = dst_metric_raw(dst, RTAX_MTU);
	r->v.dst.metric_hoplimit = dst_metric_raw(dst, RTAX_HOPLIMIT);
	r->v.dst.metric_locks = dst_metric_raw(dst, RTAX_LOCK);
	r->v.rt_genid = rt->rt_genid;
	r->v.rt_flags = rt->rt_flags;
	r->v.rt_type = rt->rt_type;
	r->v.rt_is_input = rt->rt_is_input;
	r->v.rt_uses_gateway = rt->rt_uses_gateway;
	r->v.rt_gw_family = rt->rt_gw_family;
	r->v.rt_mtu_locked = rt->rt_mtu_locked;
	r->v.rt_gw4 = rt->rt_gw4;
	r->v.rt_pmtu = time_before(jiffies, dst->expires) ? rt->rt_pmtu : 0;
}

static void sn_kernel_fill_opt(struct sn_ip_options *o, struct ip_options *opt)
{
	o->faddr = opt->faddr;
	o->nexthop = opt->nexthop;
	o->optlen = opt->optlen;
	o->srr = opt->srr;
	o->rr = opt->rr;
	o->ts = opt->ts;
	o->is_strictroute = opt->is_strictroute;
	o->rr_needaddr = opt->rr_needaddr;
	o->ts_needtime = opt->ts_needtime;
	o->ts_needaddr = opt->ts_needaddr;
	memcpy(o->__data, opt->__data, min_t(unsigned int, opt->optlen, 40));
}

/* The socket's configuration as the generic path reads it. */
static void sn_kernel_fill_sock(struct sn_ksock *ks)
{
	struct sock *sk = ks->sk;
	struct inet_sock *inet = inet_sk(sk);
	struct sn_sock *v = &ks->v;
	struct sn_view_common common;
	struct ip_options_rcu *opt;
	struct dst_entry *dst;

	ks->sock.file.f_flags = ks->file->f_flags;
	ks->sock.sk = v;
	ks->net.net = sock_net(sk);
	ks->net.v.sysctl_ip_default_ttl = READ_ONCE(ks->net.net->ipv4.sysctl_ip_default_ttl);
	ks->net.v.skb_max_alloc = SKB_MAX_ALLOC;

	common.net = &ks->net.v;
	common.state = sk->sk_state;
	common.bound_dev_if = READ_ONCE(sk->sk_bound_dev_if);
	common.flags = (sock_flag(sk, SOCK_BROADCAST) ? SN_SOCK_BROADCAST : 0) |
		       (sock_flag(sk, SOCK_LOCALROUTE) ? SN_SOCK_LOCALROUTE : 0);
	common.daddr = inet->inet_daddr;
	common.rcv_saddr = inet->inet_rcv_saddr;
	common.dport = inet->inet_dport;
	common.num = inet->inet_num;
	common.conn_dport = inet->cork.fl.u.ip4.fl4_dport;
	sn_view_set_common(v, &common);

	v->sk_socket = &ks->sock;
	v->sk_protocol = sk->sk_protocol;
	v->sk_shutdown = READ_ONCE(sk->sk_shutdown);
	v->sk_no_check_tx = sk->sk_no_check_tx;
	v->sk_sndbuf = READ_ONCE(sk->sk_sndbuf);
	v->sk_sndtimeo = sk->sk_sndtimeo;
	v->sk_priority = sk->sk_priority;
	v->sk_mark = READ_ONCE(sk->sk_mark);
	v->sk_uid = from_kuid_munged(&init_user_ns, sk->sk_uid);

	v->inet.inet_saddr = inet->inet_saddr;
	v->inet.inet_sport = inet->inet_sport;
	v->inet.uc_ttl = inet->uc_ttl;
	v->inet.mc_ttl = inet->mc_ttl;
	v->inet.tos = inet->tos;
	v->inet.pmtudisc = inet->pmtudisc;
	v->inet.mc_loop = inet->mc_loop;
	v->inet.recverr = inet->recverr;
	v->inet.transparent = inet->transparent;
	v->inet.uc_index = inet->uc_index;
	v->inet.mc_index = inet->mc_index;
	v->inet.mc_addr = inet->mc_addr;
	v->inet.conn_fl.saddr = inet->cork.fl.u.ip4.saddr;
	v->inet.conn_fl.daddr = inet->cork.fl.u.ip4.daddr;
	v->inet.inet_id = atomic_read(&inet->inet_id);
	v->up.corkflag = udp_test_bit(CORK, sk);

	rcu_read_lock();
	opt = rcu_dereference(inet->inet_opt);
	v->inet.inet_opt = NULL;
	if (opt) {
		sn_kernel_fill_opt(&ks->opt, &opt->opt);
		v->inet.inet_opt = &ks->opt;
	}
	rcu_read_unlock();

	v->sk_dst_cache = NULL;
	dst = sk_dst_get(sk);
	if (dst) {
		sn_kernel_fill_rt(&ks->cached, ks, (struct rtable *)dst);
		v->sk_dst_cache = &ks->cached.v;
	}
}

/* The UDP/IPv4 socket behind file f, with its views filled. */
static int sn_kernel_fill(struct sn_ksock *ks, int fd, struct file *f,
			  bool locked)
{
	struct socket *sock = sock_from_file(f);

	if (!sock)
		return -ENOTSOCK;
	if (sock->sk->sk_family != AF_INET || sock->sk->sk_protocol != IPPROTO_UDP)
		return -EPROTONOSUPPORT;
	ks->fd = fd;
	ks->files = current->files;
	ks->file = f;
	ks->sk = sock->sk;
	if (locked)
		lock_sock(ks->sk);
	sn_kernel_fill_sock(ks);
	if (locked)
		release_sock(ks->sk);
	return 0;
}

/*
 * sn_kernel_bind(): the views of the UDP/IPv4 socket behind fd, read
 * under lock_sock (a context or a token's views are one consistent
 * snapshot). Holds a reference to the file (and to the cached route)
 * until sn_kernel_unbind().
 */
struct sn_ksock *sn_kernel_bind(int fd, int *err)
{
	struct sn_ksock *ks;
	struct file *f;

	f = fget(fd);
	*err = -EBADF;
	if (!f)
		return NULL;
	*err = -ENOMEM;
	ks = kzalloc(sizeof(*ks), GFP_KERNEL);
	if (!ks)
		goto out_put;
	ks->fput_needed = true;
	*err = sn_kernel_fill(ks, fd, f, true);
	if (*err)
		goto out_free;
	return ks;

out_free:
	kfree(ks);
out_put:
	fput(f);
	return NULL;
}

/*
 * sn_kernel_bind_send(): bind fd into ks, a buffer of the caller, for one
 * send from this system call, as the kernel's send system calls do
 * (sockfd_lookup_light: fdget takes no file reference unless the file
 * table is shared; udp_sendmsg reads the socket's fields without
 * lock_sock, which it takes only to cork, as the generic path does
 * through shim_lock_sock). The views start as a fresh bind's (zero)
 * except the write queue's entries past qlen, which the send path never
 * reads (sn_ip_new_skb fills an entry when it takes it): zeroing them is
 * most of a bind's cost. Release with sn_kernel_unbind_send().
 */
int sn_kernel_bind_send(struct sn_ksock *ks, int fd)
{
	struct fd f = fdget(fd);
	int err;

	if (!f.file)
		return -EBADF;
	memset(ks, 0, offsetof(struct sn_ksock, v.sk_write_queue.q));
	memset((u8 *)ks + offsetofend(struct sn_ksock, v.sk_write_queue.q), 0,
	       sizeof(*ks) - offsetofend(struct sn_ksock, v.sk_write_queue.q));
	ks->fput_needed = f.flags & FDPUT_FPUT;
	err = sn_kernel_fill(ks, fd, f.file, false);
	if (err)
		fdput(f);
	return err;
}

/* The references a binding holds: routes, neighbour, file. */
static void sn_kernel_put_refs(struct sn_ksock *ks)
{
	if (ks->looked_up.rt)
		ip_rt_put(ks->looked_up.rt);
	if (ks->cached.rt)
		dst_release(&ks->cached.rt->dst);
	if (ks->neigh.n)
		neigh_release(ks->neigh.n);
	if (ks->fput_needed)
		fput(ks->file);
}

void sn_kernel_unbind(struct sn_ksock *ks)
{
	sn_kernel_put_refs(ks);
	kfree(ks);
}

void sn_kernel_unbind_send(struct sn_ksock *ks)
{
	sn_kernel_put_refs(ks);
}

/* The bound sockets: the shim's descriptor lookup answers from them. */
static DEFINE_SPINLOCK(sn_kernel_lock);
static LIST_HEAD(sn_kernel_socks);

void sn_kernel_register(struct sn_ksock *ks)
{
	spin_lock(&sn_kernel_lock);
	list_add(&ks->list, &sn_kernel_socks);
	spin_unlock(&sn_kernel_lock);
}

void sn_kernel_unregister(struct sn_ksock *ks)
{
	spin_lock(&sn_kernel_lock);
	list_del(&ks->list);
	spin_unlock(&sn_kernel_lock);
}

/* ---- lookups ---- */

struct sn_socket *shim_sockfd_lookup(int fd)
{
	struct sn_socket *found = NULL;
	struct sn_ksock *ks;

	spin_lock(&sn_kernel_lock);
	list_for_each_entry(ks, &sn_kernel_socks, list) {
		if (ks->fd == fd && ks->files == current->files) {
			found = &ks->sock;
			break;
		}
	}
	spin_unlock(&sn_kernel_lock);
	return found;
}

/* The route lookup the two shim calls split: done by the first, kept (with
 * its reference) in the socket's views until the next one. */
static int sn_kernel_route(struct sn_net *netv, __be32 daddr, __be32 saddr,
			   u8 tos, int oif, u32 mark, u8 flow_flags,
			   __be16 dport, __be16 sport, u32 uid,
			   struct sn_krt **out)
{
	struct net *net = sn_knet_of(netv)->net;
	struct sn_ksock *ks = container_of(netv, struct sn_ksock, net.v);
	struct flowi4 fl4;
	struct rtable *rt;

	flowi4_init_output(&fl4, oif, mark, tos, RT_SCOPE_UNIVERSE, IPPROTO_UDP,
			   flow_flags, daddr, saddr, dport, sport,
			   make_kuid(&init_user_ns, uid));
	rt = ip_route_output_flow(net, &fl4, ks->sk);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	if (ks->looked_up.rt)
		ip_rt_put(ks->looked_up.rt);
	sn_kernel_fill_rt(&ks->looked_up, ks, rt);
	ks->looked_up.v.fl4_saddr = fl4.saddr;
	ks->looked_up.v.fl4_daddr = fl4.daddr;
	*out = &ks->looked_up;
	return 0;
}

int shim_ip_route_output_err(struct sn_net *net, __be32 daddr, __be32 saddr,
			     u8 tos, int oif, u32 mark, u8 flow_flags,
			     __be16 dport, __be16 sport, u32 uid)
{
	struct sn_krt *r;

	return sn_kernel_route(net, daddr, saddr, tos, oif, mark, flow_flags,
			       dport, sport, uid, &r);
}

struct sn_rtable *shim_ip_route_output(struct sn_net *net, __be32 daddr,
				       __be32 saddr, u8 tos, int oif, u32 mark,
				       u8 flow_flags, __be16 dport,
				       __be16 sport, u32 uid)
{
	struct sn_ksock *ks = container_of(net, struct sn_ksock, net.v);

	/* shim_ip_route_output_err() just looked it up with these keys. */
	return &ks->looked_up.v;
}

int shim_rt_genid_ipv4(struct sn_net *net)
{
	return rt_genid_ipv4(sn_knet_of(net)->net);
}

/* ip_neigh_gw4(): lookup or create; the views keep a reference. */
int shim_ipv4_neigh_err(struct sn_netdev *devv, __be32 nexthop)
{
	struct net_device *dev = kdev_of(devv)->dev;
	struct sn_ksock *ks = kdev_of(devv)->owner;
	struct neighbour *n;

	rcu_read_lock_bh();
	n = __ipv4_neigh_lookup_noref(dev, (__force u32)nexthop);
	if (!n)
		n = __neigh_create(&arp_tbl, &nexthop, dev, false);
	if (IS_ERR(n)) {
		rcu_read_unlock_bh();
		return PTR_ERR(n);
	}
	neigh_hold(n);
	rcu_read_unlock_bh();

	/*
	 * neigh_resolve_output() caches the hardware header at the first
	 * output through a valid neighbour of a device with a header cache,
	 * and every later send copies it (neigh_hh_output). Cache it now, so
	 * that the views show what those sends see, not the state before a
	 * flow's first datagram.
	 */
	if (dev->header_ops && dev->header_ops->cache &&
	    !READ_ONCE(n->hh.hh_len) &&
	    (READ_ONCE(n->nud_state) & NUD_CONNECTED))
		neigh_hh_init(n);

	if (ks->neigh.n)
		neigh_release(ks->neigh.n);
	ks->neigh.n = n;
	ks->neigh.v.nud_state = READ_ONCE(n->nud_state);
	memcpy(ks->neigh.v.ha, n->ha, min_t(unsigned int, dev->addr_len, 8));
	if (n->output == neigh_direct_output)
		ks->neigh.v.output = SN_NEIGH_DIRECT_OUTPUT;
	else if (n->output == neigh_connected_output)
		ks->neigh.v.output = SN_NEIGH_CONNECTED_OUTPUT;
	else
		ks->neigh.v.output = SN_NEIGH_RESOLVE_OUTPUT;
	ks->neigh.v.hh.hh_len = READ_ONCE(n->hh.hh_len);
	memcpy(ks->neigh.v.hh.hh_data, n->hh.hh_data, SN_HH_DATA_MOD);
	return 0;
}

struct sn_neigh *shim_ipv4_neigh_lookup(struct sn_netdev *devv, __be32 nexthop)
{
	/* shim_ipv4_neigh_err() just found it for this next hop. */
	return &kdev_of(devv)->owner->neigh.v;
}

/* In the views, as the route: one generator per binding. */
struct sn_ip_ident *shim_ip_ident_lookup(struct sn_net *netv, __be32 daddr,
					 __be32 saddr, u8 protocol)
{
	struct sn_ksock *ks = container_of(netv, struct sn_ksock, net.v);

	ks->ipid.hash = ip_idents_hash(sn_knet_of(netv)->net, daddr, saddr,
				       protocol);
	return &ks->ipid;
}

bool shim_access_ok(const u8 __user *buf, u32 len)
{
	return shim_access_ok_inline(buf, len);
}

int shim_sk_wmem_alloc_get(struct sn_sock *sk)
{
	return shim_sk_wmem_alloc_get_inline(sk);
}

bool shim_signal_pending(void)
{
	return signal_pending(current);
}

bool shim_capable_so_mark(struct sn_net *net)
{
	struct net *kn = sn_knet_of(net)->net;

	return ns_capable(kn->user_ns, CAP_NET_RAW) ||
	       ns_capable(kn->user_ns, CAP_NET_ADMIN);
}

bool shim_sk_test_nospace(struct sn_sock *sk)
{
	return test_bit(SOCK_NOSPACE, &sn_ksk(sk)->sk_socket->flags);
}

__be32 shim_inet_current_timestamp(void)
{
	return inet_current_timestamp();
}

/* ---- effects: socket ---- */

int shim_inet_autobind(struct sn_sock *sk)
{
	return inet_send_prepare(sn_ksk(sk));
}

int shim_sock_error(struct sn_sock *sk)
{
	return shim_sock_error_inline(sk);
}

void shim_sk_set_nospace(struct sn_sock *sk)
{
	sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sn_ksk(sk));
	set_bit(SOCK_NOSPACE, &sn_ksk(sk)->sk_socket->flags);
}

/* sock_wait_for_wmem(), static in net/core/sock.c (Linux 6.1) */
long shim_sock_wait_for_wmem(struct sn_sock *sv, long timeo)
{
	struct sock *sk = sn_ksk(sv);
	DEFINE_WAIT(wait);

	sk_clear_bit(SOCKWQ_ASYNC_NOSPACE, sk);
	for (;;) {
		if (!timeo)
			break;
		if (signal_pending(current))
			break;
		set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		prepare_to_wait(sk_sleep(sk), &wait, TASK_INTERRUPTIBLE);
		if (refcount_read(&sk->sk_wmem_alloc) < READ_ONCE(sk->sk_sndbuf))
			break;
		if (READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN)
			break;
		if (READ_ONCE(sk->sk_err))
			break;
		timeo = schedule_timeout(timeo);
	}
	finish_wait(sk_sleep(sk), &wait);
	return timeo;
}

void shim_lock_sock(struct sn_sock *sk)
{
	lock_sock(sn_ksk(sk));
}

void shim_release_sock(struct sn_sock *sk)
{
	release_sock(sn_ksk(sk));
}

/* ip_local_error(), not exported by net/ipv4/ip_sockglue.c (Linux 6.1) */
void shim_ip_local_error(struct sn_sock *sv, int err, __be32 daddr,
			 __be16 port, u32 info)
{
	struct sock *sk = sn_ksk(sv);
	struct sock_exterr_skb *serr;
	struct iphdr *iph;
	struct sk_buff *skb;

	if (!inet_sk(sk)->recverr)
		return;

	skb = alloc_skb(sizeof(struct iphdr), GFP_ATOMIC);
	if (!skb)
		return;

	skb_put(skb, sizeof(struct iphdr));
	skb_reset_network_header(skb);
	iph = ip_hdr(skb);
	iph->daddr = daddr;

	serr = SKB_EXT_ERR(skb);
	serr->ee.ee_errno = err;
	serr->ee.ee_origin = SO_EE_ORIGIN_LOCAL;
	serr->ee.ee_type = 0;
	serr->ee.ee_code = 0;
	serr->ee.ee_pad = 0;
	serr->ee.ee_info = info;
	serr->ee.ee_data = 0;
	serr->addr_offset = (u8 *)&iph->daddr - skb_network_header(skb);
	serr->port = port;

	__skb_pull(skb, skb_tail_pointer(skb) - skb->data);
	skb_reset_transport_header(skb);

	if (sock_queue_err_skb(sk, skb))
		kfree_skb(skb);
}

void shim_snmp_inc(struct sn_net *netv, enum sn_mib mib, u32 n)
{
	shim_snmp_inc_inline(netv, mib, n);
}

/* ---- effects: routes ---- */

void shim_dst_hold(struct sn_rtable *rt)
{
	shim_dst_hold_inline(rt);
}

void shim_dst_release(struct sn_rtable *rt)
{
	dst_release(&krt_of(rt)->rt->dst);
}

void shim_sk_dst_set(struct sn_sock *sk, struct sn_rtable *rt)
{
	sk_dst_set(sn_ksk(sk), dst_clone(&krt_of(rt)->rt->dst));
}

void shim_sk_dst_reset(struct sn_sock *sk)
{
	sk_dst_reset(sn_ksk(sk));
}

void shim_dst_confirm_neigh(struct sn_rtable *rt, __be32 daddr)
{
	dst_confirm_neigh(&krt_of(rt)->rt->dst, &daddr);
}

u16 shim_ip_idents_reserve(u32 hash, int segs)
{
	return shim_ip_idents_reserve_inline(hash, segs);
}

/* ---- effects: skbs ---- */

struct sk_buff *shim_alloc_send_skb(struct sn_sock *sv, u32 header_len)
{
	return shim_alloc_send_skb_inline(sv, header_len);
}

struct sk_buff *shim_alloc_skb(struct sn_sock *sk, u32 size)
{
	return alloc_skb(size, sn_ksk(sk)->sk_allocation);
}

u32 shim_skb_set_wfree(struct sk_buff *skb, struct sn_sock *sk)
{
	skb->destructor = sock_wfree;
	skb->sk = sn_ksk(sk);
	return skb->truesize;
}

void shim_sk_wmem_add(struct sn_sock *sk, u32 bytes)
{
	refcount_add(bytes, &sn_ksk(sk)->sk_wmem_alloc);
}

void shim_kfree_skb(struct sk_buff *skb)
{
	kfree_skb(skb);
}

void shim_consume_skb(struct sk_buff *skb)
{
	consume_skb(skb);
}

struct sk_buff *shim_skb_clone(struct sk_buff *skb)
{
	return skb_clone(skb, GFP_ATOMIC);
}

u8 *shim_skb_setup(struct sk_buff *skb, u8 ip_summed, u32 headroom, u32 len,
		   u32 thoff)
{
	return shim_skb_setup_inline(skb, ip_summed, headroom, len, thoff);
}

u8 *shim_skb_put(struct sk_buff *skb, u32 len)
{
	return skb_put(skb, len);
}

void shim_skb_trim(struct sk_buff *skb, u32 len)
{
	__skb_trim(skb, len);
}

void shim_skb_set_ip_summed(struct sk_buff *skb, u8 ip_summed)
{
	skb->ip_summed = ip_summed;
}

void shim_skb_partial_csum_set(struct sk_buff *skb, u8 *th, u16 csum_offset)
{
	shim_skb_partial_csum_set_inline(skb, th, csum_offset);
}

void shim_skb_set_dst_pending_confirm(struct sk_buff *skb)
{
	skb_set_dst_pending_confirm(skb, 1);
}

void shim_skb_set_meta(struct sk_buff *skb, u32 priority, u32 mark,
		       struct sn_rtable *rt)
{
	shim_skb_set_meta_inline(skb, priority, mark, rt);
}

void shim_skb_set_dev(struct sk_buff *skb, struct sn_netdev *dev,
		      __be16 protocol)
{
	shim_skb_set_dev_inline(skb, dev, protocol);
}

int shim_skb_pfrag_attach(struct sk_buff *skb, struct sn_sock *sv, u8 **to,
			  u32 *room)
{
	struct sock *sk = sn_ksk(sv);
	struct page_frag *pfrag = sk_page_frag(sk);
	int i = skb_shinfo(skb)->nr_frags;

	if (!sk_page_frag_refill(sk, pfrag))
		return -ENOMEM;
	skb_zcopy_downgrade_managed(skb);
	if (!skb_can_coalesce(skb, i, pfrag->page, pfrag->offset)) {
		if (i == MAX_SKB_FRAGS)
			return -EMSGSIZE;
		__skb_fill_page_desc(skb, i, pfrag->page, pfrag->offset, 0);
		skb_shinfo(skb)->nr_frags = ++i;
		get_page(pfrag->page);
	}
	*to = page_address(pfrag->page) + pfrag->offset;
	*room = pfrag->size - pfrag->offset;
	return 0;
}

void shim_skb_pfrag_commit(struct sk_buff *skb, struct sn_sock *sv, u32 len)
{
	struct page_frag *pfrag = sk_page_frag(sn_ksk(sv));

	pfrag->offset += len;
	skb_frag_size_add(&skb_shinfo(skb)->frags[skb_shinfo(skb)->nr_frags - 1], len);
	skb_len_add(skb, len);
}

void shim_skb_frag_list_add(struct sk_buff *head, struct sk_buff *tmp,
			    u32 nhlen)
{
	struct sk_buff **tail = &skb_shinfo(head)->frag_list;

	while (*tail)
		tail = &(*tail)->next;
	__skb_pull(tmp, nhlen);
	*tail = tmp;
	tmp->next = NULL;
	head->len += tmp->len;
	head->data_len += tmp->len;
	head->truesize += tmp->truesize;
	tmp->destructor = NULL;
	tmp->sk = NULL;
}

void shim_skb_frag_list_detach(struct sk_buff *head, u32 first_len)
{
	/* ip_fraglist_init(): the generic path holds the frag_list skbs */
	skb_frag_list_init(head);
	head->data_len = first_len - skb_headlen(head);
	head->len = first_len;
}

/* ip_copy_metadata(), static in net/ipv4/ip_output.c (Linux 6.1), for the
 * fields a locally sent datagram has */
static void sn_ip_copy_metadata(struct sk_buff *to, struct sk_buff *from)
{
	to->pkt_type = from->pkt_type;
	to->priority = from->priority;
	to->protocol = from->protocol;
	to->skb_iif = from->skb_iif;
	skb_dst_drop(to);
	skb_dst_copy(to, from);
	to->dev = from->dev;
	to->mark = from->mark;
	skb_copy_hash(to, from);
}

u8 *shim_skb_fraglist_prepare(struct sk_buff *frag, struct sk_buff *head,
			      u32 hlen)
{
	skb_mark_not_on_list(frag);
	frag->ip_summed = CHECKSUM_NONE;
	skb_reset_transport_header(frag);
	__skb_push(frag, hlen);
	skb_reset_network_header(frag);
	sn_ip_copy_metadata(frag, head);
	return skb_network_header(frag);
}

/* ---- effects: copies ---- */

u32 shim_copy_from_user(u8 *to, const u8 __user *from, u32 len)
{
	return shim_copy_from_user_inline(to, from, len);
}

int shim_csum_and_copy_from_user(u8 *to, const u8 __user *from, u32 len,
				 __wsum *csum)
{
	__wsum sum = csum_and_copy_from_user(from, to, len);

	if (!sum)
		return -EFAULT;
	*csum = sum;
	return 0;
}

__wsum shim_skb_copy_and_csum_bits(struct sk_buff *from, u32 off, u8 *to,
				   u32 len)
{
	return skb_copy_and_csum_bits(from, off, to, len);
}

void shim_skb_store(struct sk_buff *skb, u8 *to, const void *from, u32 len)
{
	shim_skb_store_inline(skb, to, from, len);
}

/* ---- effects: device ---- */

void shim_skb_push_hh(struct sk_buff *skb, const u8 *hh_data, u32 hh_len)
{
	shim_skb_push_hh_inline(skb, hh_data, hh_len);
}

int shim_neigh_event_send(struct sn_neigh *neigh, struct sk_buff *skb)
{
	return neigh_event_send(kneigh_of(neigh)->n, skb);
}

/* neigh_hh_init(), static in net/core/neighbour.c (Linux 6.1) */
void shim_neigh_hh_init(struct sn_neigh *neigh)
{
	struct neighbour *n = kneigh_of(neigh)->n;
	struct net_device *dev = n->dev;
	__be16 prot = n->tbl->protocol;
	struct hh_cache	*hh = &n->hh;

	write_lock_bh(&n->lock);
	if (!hh->hh_len)
		dev->header_ops->cache(n, hh, prot);
	write_unlock_bh(&n->lock);
}

void shim_neigh_confirm(struct sn_neigh *neigh)
{
	neigh_confirm(kneigh_of(neigh)->n);
}

int shim_dev_hard_header(struct sk_buff *skb, struct sn_netdev *dev, u16 type,
			 const u8 *daddr, u32 len)
{
	return dev_hard_header(skb, kdev_of(dev)->dev, type, daddr, NULL, len);
}

/*
 * Set by a module that moves some datagrams elsewhere (the core's route
 * guard with policy reinforce, guard_route.c); NULL otherwise, so the
 * transmit costs one load and a branch more than dev_queue_xmit().
 */
int (*shim_egress_hook)(struct sk_buff *skb);

int shim_dev_queue_xmit(struct sk_buff *skb)
{
	int (*hook)(struct sk_buff *skb) = READ_ONCE(shim_egress_hook);

	if (unlikely(hook))
		return hook(skb);
	return dev_queue_xmit(skb);
}

/* ip_mc_finish_output() without BPF: the copy goes to loopback_dev. */
int shim_dev_loopback_xmit(struct sk_buff *skb)
{
	struct net *net = dev_net(skb->dev);
	struct rtable *new_rt;

	new_rt = rt_dst_clone(net->loopback_dev, skb_rtable(skb));
	if (new_rt) {
		new_rt->rt_iif = 0;
		skb_dst_drop(skb);
		skb_dst_set(skb, &new_rt->dst);
	}
	return dev_loopback_xmit(net, skb->sk, skb);
}

#endif /* SPECBED_KERNEL */
