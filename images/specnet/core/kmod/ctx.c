// SPDX-License-Identifier: GPL-2.0
/*
 * ctx.c - binding a socket for a send, and CUSTOMIZE: the binding's
 * values as a specialization context (specbed.context/v1 JSON).
 *
 * The context is printed from the shim's views, the same structures the
 * generic path reads, so a residual specialized on it sees exactly what
 * the generic path would have seen: a value the views do not carry
 * cannot leak into a specialization. The keys and their order follow
 * images/specnet/generic/udp.decl; the host checks every guest context
 * against that file (ctxschema.Check).
 */
#include "core.h"
#include "tcp_shim_kernel.h"
#include "tcp_token.h"

#include <linux/errno.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/uaccess.h>

/* What udp_sendmsg() puts in its flow for a send without control
 * messages (udp.c: sn_get_rttos, sn_inet_sk_flowi_flags). */
static u8 sn_flow_tos(const struct sn_sock *v, u32 send_flags)
{
	u8 tos = v->inet.tos & SN_IPTOS_TOS_MASK;

	if ((v->sk_flags & SN_SOCK_LOCALROUTE) ||
	    (send_flags & SN_MSG_DONTROUTE) ||
	    (v->inet.inet_opt && v->inet.inet_opt->is_strictroute))
		tos |= SN_RTO_ONLINK;
	return tos;
}

/*
 * The route lookup and neighbour lookup a send to b's destination makes
 * (udp_sendmsg, ip_finish_output2). They leave their results, with
 * references, in the views (shim_kernel.c), and their errors in b.
 */
static void sn_binding_lookup(struct sn_binding *b, u32 send_flags)
{
	struct sn_sock *v = &b->ks->v;
	struct sn_rtable *rt;
	__be32 daddr, saddr = v->inet.inet_saddr, nexthop;
	__be16 dport;
	int oif = v->sk_bound_dev_if;

	if (b->um.msg_name) {
		daddr = b->name.sin_addr;
		dport = b->name.sin_port;
	} else {
		daddr = v->inet.inet_daddr;
		dport = v->inet.inet_dport;
	}
	if (v->inet.inet_opt && v->inet.inet_opt->srr)
		daddr = v->inet.inet_opt->faddr;
	if ((daddr & htonl(0xf0000000)) == htonl(0xe0000000)) {
		if (!oif)
			oif = v->inet.mc_index;
		if (!saddr)
			saddr = v->inet.mc_addr;
	} else if (!oif) {
		oif = v->inet.uc_index;
	}
	b->rt_genid = shim_rt_genid_ipv4(v->sk_net);
	b->route_err = shim_ip_route_output_err(v->sk_net, daddr, saddr,
				sn_flow_tos(v, send_flags), oif, v->sk_mark,
				v->inet.transparent ? SN_FLOWI_FLAG_ANYSRC : 0,
				dport, v->inet.inet_sport, v->sk_uid);
	if (b->route_err)
		return;
	rt = shim_ip_route_output(v->sk_net, daddr, saddr, 0, oif, 0, 0, dport,
				  v->inet.inet_sport, v->sk_uid);
	b->inst.rt = rt;
	/* The IP ID generator of the datagrams (ip_select_ident()): the
	 * flow the lookup wrote back, as __ip_make_skb() copies it. */
	b->inst.ipid = shim_ip_ident_lookup(v->sk_net, rt->fl4_daddr,
					    rt->fl4_saddr, v->sk_protocol);
	/* A connected send uses the socket's cached route while it is valid. */
	if (!b->um.msg_name && v->sk_dst_cache)
		rt = v->sk_dst_cache;
	nexthop = rt->rt_gw_family == SN_AF_INET ? rt->rt_gw4 : rt->fl4_daddr;
	if (rt == v->sk_dst_cache)
		nexthop = rt->rt_gw_family == SN_AF_INET ? rt->rt_gw4 : daddr;
	b->neigh_err = shim_ipv4_neigh_err(rt->dst.dev, nexthop);
	if (!b->neigh_err)
		b->inst.neigh = shim_ipv4_neigh_lookup(rt->dst.dev, nexthop);
	else
		b->inst.neigh = &b->ks->neigh.v;	/* zeroes: never used */
}

static int sn_binding_dest(struct sn_binding *b,
			   const struct specnet_sockaddr_in *dest)
{
	memset(b, 0, sizeof(*b));
	if (dest->family != 0 && dest->family != AF_INET)
		return -EAFNOSUPPORT;
	if (dest->family) {
		b->name.sin_family = dest->family;
		b->name.sin_port = (__force __be16)dest->port;
		b->name.sin_addr = (__force __be32)dest->addr;
		b->um.msg_name = &b->name;
		b->um.msg_namelen = sizeof(b->name);
	}
	b->inst.um = &b->um;
	return 0;
}

/*
 * sn_binding_init(): bind fd and dest (family 0: the connected peer).
 * With lookups, also find the route and neighbour (CUSTOMIZE, LOAD); the
 * generic path finds its own on every send.
 */
int sn_binding_init(struct sn_binding *b, int fd,
		    const struct specnet_sockaddr_in *dest, u32 send_flags,
		    bool lookups)
{
	int err;

	err = sn_binding_dest(b, dest);
	if (err)
		return err;
	b->ks = sn_kernel_bind(fd, &err);
	if (!b->ks)
		return err;
	b->inst.sock = &b->ks->sock;
	if (lookups)
		sn_binding_lookup(b, send_flags);
	return 0;
}

void sn_binding_destroy(struct sn_binding *b)
{
	if (b->ks)
		sn_kernel_unbind(b->ks);
	b->ks = NULL;
}

/*
 * sn_binding_init_send(): bind fd and dest for one send of the generic
 * path, the views in ks (sn_kernel_bind_send: no allocation, no file
 * reference unless the file table is shared, no lock_sock, as the send
 * system call). Undo with sn_binding_destroy_send(); ks stays the
 * caller's.
 */
int sn_binding_init_send(struct sn_binding *b, struct sn_ksock *ks, int fd,
			 const struct specnet_sockaddr_in *dest)
{
	int err;

	err = sn_binding_dest(b, dest);
	if (err)
		return err;
	err = sn_kernel_bind_send(ks, fd);
	if (err)
		return err;
	b->ks = ks;
	b->inst.sock = &ks->sock;
	return 0;
}

void sn_binding_destroy_send(struct sn_binding *b)
{
	if (b->ks)
		sn_kernel_unbind_send(b->ks);
	b->ks = NULL;
}

/* References the binding holds: file, cached route, route, neighbour. */
int sn_binding_refs(const struct sn_binding *b)
{
	const struct sn_ksock *ks = b->ks;

	return 1 + !!ks->cached.rt + !!ks->looked_up.rt + !!ks->neigh.n;
}

/* ---- JSON ---- */

struct sn_json {
	char *buf;
	size_t len, size;
	bool first;
	size_t env;		/* where the environment's values start */
};

static __printf(2, 3) void sn_json_raw(struct sn_json *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(j->buf + j->len, j->len < j->size ? j->size - j->len : 0,
		      fmt, ap);
	va_end(ap);
	/* Keep counting past the end: the caller learns the size needed. */
	j->len += n;
}

static void sn_json_key(struct sn_json *j, const char *prefix, const char *key,
			const char *kind)
{
	sn_json_raw(j, "%s\n\t\t\"%s%s\": {\"type\": \"%s\", \"value\": ",
		    j->first ? "" : ",", prefix, key, kind);
	j->first = false;
}

static void sn_json_int(struct sn_json *j, const char *prefix, const char *key,
			const char *kind, long long v)
{
	sn_json_key(j, prefix, key, kind);
	sn_json_raw(j, "%lld}", v);
}

static void sn_json_ip(struct sn_json *j, const char *prefix, const char *key,
		       __be32 v)
{
	sn_json_key(j, prefix, key, "ipv4");
	sn_json_raw(j, "\"%pI4\"}", &v);
}

static void sn_json_ptr(struct sn_json *j, const char *prefix, const char *key,
			const void *v)
{
	sn_json_key(j, prefix, key, "ptr");
	sn_json_raw(j, "\"%s\"}", v ? "nonnull" : "null");
}

static void sn_json_bytes(struct sn_json *j, const char *prefix,
			  const char *key, const u8 *v, size_t n)
{
	size_t i;

	sn_json_key(j, prefix, key, "bytes");
	sn_json_raw(j, "\"");
	for (i = 0; i < n; i++)
		sn_json_raw(j, "%02x", v[i]);
	sn_json_raw(j, "\"}");
}

/* A route's fields; the socket's cached route also has obsolete and genid. */
static void sn_json_route(struct sn_json *j, const char *p,
			  const struct sn_rtable *rt, bool cached)
{
	const struct sn_netdev *dev = rt->dst.dev;

	sn_json_ptr(j, p, "dst.dev", dev);
	sn_json_int(j, p, "dst.dev->ifindex", "s32", dev->ifindex);
	sn_json_int(j, p, "dst.dev->mtu", "u32", dev->mtu);
	sn_json_int(j, p, "dst.dev->features", "u32", dev->features);
	sn_json_int(j, p, "dst.dev->hard_header_len", "u16",
		    dev->hard_header_len);
	sn_json_int(j, p, "dst.dev->needed_headroom", "u16",
		    dev->needed_headroom);
	sn_json_int(j, p, "dst.dev->header_ops_cache", "u8",
		    dev->header_ops_cache);
	if (cached)
		sn_json_int(j, p, "dst.obsolete", "s32", rt->dst.obsolete);
	sn_json_int(j, p, "dst.output", "s32", rt->dst.output);
	sn_json_int(j, p, "dst.metric_mtu", "u32", rt->dst.metric_mtu);
	sn_json_int(j, p, "dst.metric_hoplimit", "u32", rt->dst.metric_hoplimit);
	sn_json_int(j, p, "dst.metric_locks", "u32", rt->dst.metric_locks);
	if (cached)
		sn_json_int(j, p, "rt_genid", "s32", rt->rt_genid);
	sn_json_int(j, p, "rt_flags", "u32", rt->rt_flags);
	sn_json_int(j, p, "rt_type", "u16", rt->rt_type);
	sn_json_int(j, p, "rt_uses_gateway", "u8", rt->rt_uses_gateway);
	sn_json_int(j, p, "rt_gw_family", "u8", rt->rt_gw_family);
	sn_json_int(j, p, "rt_mtu_locked", "u8", rt->rt_mtu_locked);
	sn_json_ip(j, p, "rt_gw4", rt->rt_gw4);
	sn_json_int(j, p, "rt_pmtu", "u32", rt->rt_pmtu);
	if (!cached) {
		sn_json_ip(j, p, "fl4_saddr", rt->fl4_saddr);
		sn_json_ip(j, p, "fl4_daddr", rt->fl4_daddr);
	}
}

static void sn_json_msg(struct sn_json *j, const struct sn_user_msg *um)
{
	const struct sn_sockaddr_in *n = um->msg_name;
	const char *p = "um->";

	sn_json_ptr(j, p, "msg_name", n);
	if (n) {
		sn_json_int(j, p, "msg_name->sin_family", "u16", n->sin_family);
		sn_json_int(j, p, "msg_name->sin_port", "u16",
			    (__force u16)n->sin_port);
		sn_json_ip(j, p, "msg_name->sin_addr", n->sin_addr);
	}
	sn_json_int(j, p, "msg_namelen", "s32", um->msg_namelen);
	sn_json_bytes(j, p, "msg_control", um->msg_control,
		      sizeof(um->msg_control));
	sn_json_int(j, p, "msg_controllen", "u32", um->msg_controllen);
}

static void sn_json_opt(struct sn_json *j, const struct sn_ip_options *o)
{
	const char *p = "sock->sk->inet.inet_opt->";

	sn_json_ip(j, p, "faddr", o->faddr);
	sn_json_int(j, p, "optlen", "u8", o->optlen);
	sn_json_int(j, p, "srr", "u8", o->srr);
	sn_json_int(j, p, "rr", "u8", o->rr);
	sn_json_int(j, p, "ts", "u8", o->ts);
	sn_json_int(j, p, "is_strictroute", "u8", o->is_strictroute);
	sn_json_int(j, p, "rr_needaddr", "u8", o->rr_needaddr);
	sn_json_int(j, p, "ts_needtime", "u8", o->ts_needtime);
	sn_json_int(j, p, "ts_needaddr", "u8", o->ts_needaddr);
	sn_json_bytes(j, p, "__data", o->__data, sizeof(o->__data));
}

static void sn_json_sock(struct sn_json *j, const struct sn_socket *s)
{
	const struct sn_sock *v = s->sk;
	const struct sn_inet_sock *in = &v->inet;
	const char *p = "sock->sk->";

	sn_json_int(j, "sock->", "file.f_flags", "u32", s->file.f_flags);
	sn_json_ptr(j, "sock->", "sk", v);
	sn_json_ptr(j, p, "sk_net", v->sk_net);
	sn_json_int(j, p, "sk_net->sysctl_ip_default_ttl", "s32",
		    v->sk_net->sysctl_ip_default_ttl);
	sn_json_int(j, p, "sk_net->skb_max_alloc", "u32",
		    v->sk_net->skb_max_alloc);
	sn_json_int(j, p, "sk_state", "u8", v->sk_state);
	sn_json_int(j, p, "sk_protocol", "u8", v->sk_protocol);
	sn_json_int(j, p, "sk_shutdown", "u8", v->sk_shutdown);
	sn_json_int(j, p, "sk_no_check_tx", "u8", v->sk_no_check_tx);
	sn_json_int(j, p, "sk_bound_dev_if", "s32", v->sk_bound_dev_if);
	sn_json_int(j, p, "sk_sndbuf", "s32", v->sk_sndbuf);
	/* long is 32 bits on the guests */
	sn_json_int(j, p, "sk_sndtimeo", "s32", (s32)v->sk_sndtimeo);
	sn_json_int(j, p, "sk_priority", "u32", v->sk_priority);
	sn_json_int(j, p, "sk_mark", "u32", v->sk_mark);
	sn_json_int(j, p, "sk_flags", "u32", v->sk_flags);
	sn_json_int(j, p, "sk_uid", "u32", v->sk_uid);
	sn_json_ip(j, p, "inet.inet_saddr", in->inet_saddr);
	sn_json_ip(j, p, "inet.inet_daddr", in->inet_daddr);
	sn_json_int(j, p, "inet.inet_dport", "u16", (__force u16)in->inet_dport);
	sn_json_int(j, p, "inet.inet_sport", "u16", (__force u16)in->inet_sport);
	sn_json_int(j, p, "inet.inet_num", "u16", in->inet_num);
	sn_json_int(j, p, "inet.uc_ttl", "s16", in->uc_ttl);
	sn_json_int(j, p, "inet.mc_ttl", "u8", in->mc_ttl);
	sn_json_int(j, p, "inet.tos", "u8", in->tos);
	sn_json_int(j, p, "inet.pmtudisc", "u8", in->pmtudisc);
	sn_json_int(j, p, "inet.mc_loop", "u8", in->mc_loop);
	sn_json_int(j, p, "inet.recverr", "u8", in->recverr);
	sn_json_int(j, p, "inet.transparent", "u8", in->transparent);
	sn_json_int(j, p, "inet.uc_index", "s32", in->uc_index);
	sn_json_int(j, p, "inet.mc_index", "s32", in->mc_index);
	sn_json_ip(j, p, "inet.mc_addr", in->mc_addr);
	sn_json_ip(j, p, "inet.conn_fl.saddr", in->conn_fl.saddr);
	sn_json_ip(j, p, "inet.conn_fl.daddr", in->conn_fl.daddr);
	sn_json_int(j, p, "inet.conn_fl.fl4_dport", "u16",
		    (__force u16)in->conn_fl.fl4_dport);
	sn_json_int(j, p, "up.corkflag", "u8", v->up.corkflag);
	sn_json_ptr(j, p, "inet.inet_opt", in->inet_opt);
	if (in->inet_opt)
		sn_json_opt(j, in->inet_opt);
	sn_json_ptr(j, p, "sk_dst_cache", v->sk_dst_cache);
	if (v->sk_dst_cache)
		sn_json_route(j, "sock->sk->sk_dst_cache->", v->sk_dst_cache,
			      true);
}

static void sn_json_neigh(struct sn_json *j, const struct sn_neigh *n)
{
	const char *p = "neigh->";

	sn_json_int(j, p, "nud_state", "u8", n->nud_state);
	sn_json_bytes(j, p, "ha", n->ha, sizeof(n->ha));
	sn_json_int(j, p, "output", "s32", n->output);
	sn_json_int(j, p, "hh.hh_len", "u32", n->hh.hh_len);
	sn_json_bytes(j, p, "hh.hh_data", n->hh.hh_data, sizeof(n->hh.hh_data));
}

/* The context of b, in udp.decl's order. */
static void sn_json_context(struct sn_json *j, const struct sn_binding *b,
			    int fd, u32 adu, u32 send_flags)
{
	j->first = true;
	sn_json_raw(j, "{\n\t\"schema\": \"specbed.context/v1\",\n"
		    "\t\"label\": \"guest\",\n\t\"values\": {");
	sn_json_int(j, "", "fd", "s32", fd);
	sn_json_int(j, "", "adu", "u32", adu);
	sn_json_int(j, "", "send_flags", "u32", send_flags);
	j->env = j->len;
	sn_json_msg(j, &b->um);
	sn_json_sock(j, b->inst.sock);
	sn_json_int(j, "", "rt_genid", "s32", b->rt_genid);
	sn_json_int(j, "", "route_err", "s32", b->route_err);
	sn_json_route(j, "rt->", b->inst.rt, false);
	sn_json_int(j, "", "neigh_err", "s32", b->neigh_err);
	sn_json_neigh(j, b->inst.neigh);
	sn_json_raw(j, "\n\t}\n}\n");
}

/* Room for a context with every optional part (about 9 KB). */
#define SN_CONTEXT_MAX	16384

/*
 * sn_context_digest(): the 64-bit FNV-1a hash of b's context JSON from
 * the first value after "send_flags" to the end: the environment the
 * residual was specialized for (socket, route, neighbour), without the
 * application's inputs fd, adu and send_flags, which the residual guards
 * per send. specializer/compile.ContextDigest hashes the same bytes of
 * the context CUSTOMIZE printed; LOAD compares the two (ESTALE).
 */
static int sn_json_digest(const struct sn_json *j, u64 *digest)
{
	u64 h = 0xcbf29ce484222325ULL;
	size_t i;

	if (j->len > j->size)
		return -ENOSPC;
	for (i = j->env; i < j->len; i++) {
		h ^= (u8)j->buf[i];
		h *= 0x100000001b3ULL;
	}
	*digest = h;
	return 0;
}

int sn_context_digest(const struct sn_binding *b, int fd, u64 *digest)
{
	struct sn_json j = { .size = SN_CONTEXT_MAX };
	int err;

	j.buf = kmalloc(j.size, GFP_KERNEL);
	if (!j.buf)
		return -ENOMEM;
	sn_json_context(&j, b, fd, 0, 0);
	err = sn_json_digest(&j, digest);
	kfree(j.buf);
	return err;
}

/*
 * The context of a TCP socket's view, in tcp.decl's terms: the values
 * (adu, send_flags first, as in every context), the guards' values, the
 * route's MTU and the configuration tcp.decl calls static.
 */
static void sn_tcp_json_context(struct sn_json *j, const struct sn_tcp_sock *v,
				u32 dst_mtu, u32 adu, u32 send_flags)
{
	const struct sn_tcp_net *n = v->sk_net;
	const char *p = "tp->";

	j->first = true;
	sn_json_raw(j, "{\n\t\"schema\": \"specbed.context/v1\",\n"
		    "\t\"label\": \"guest\",\n\t\"values\": {");
	sn_json_int(j, "", "adu", "u32", adu);
	sn_json_int(j, "", "send_flags", "u32", send_flags);
	j->env = j->len;
	sn_json_int(j, "", "gso_segs", "u32", v->gso_segs);
	sn_json_int(j, "", "dst_mtu", "u32", dst_mtu);
	sn_json_ptr(j, p, "sk_net", n);
	sn_json_int(j, p, "sk_net->sysctl_tcp_autocorking", "u8",
		    n->sysctl_tcp_autocorking);
	sn_json_int(j, p, "sk_net->sysctl_tcp_notsent_lowat", "u32",
		    n->sysctl_tcp_notsent_lowat);
	sn_json_int(j, p, "sk_net->sysctl_max_skb_frags", "u32",
		    n->sysctl_max_skb_frags);
	sn_json_int(j, p, "sk_net->sysctl_tcp_min_snd_mss", "s32",
		    n->sysctl_tcp_min_snd_mss);
	sn_json_int(j, p, "sk_sndbuf", "s32", v->sk_sndbuf);
	/* long is 32 bits on the guests */
	sn_json_int(j, p, "sk_sndtimeo", "s32", (s32)v->sk_sndtimeo);
	sn_json_int(j, p, "sk_tsflags", "u32", v->sk_tsflags);
	sn_json_int(j, p, "sk_gso_max_size", "u32", v->sk_gso_max_size);
	sn_json_int(j, p, "sk_gso_max_segs", "u16", v->sk_gso_max_segs);
	sn_json_int(j, p, "icsk_pmtu_cookie", "u32", v->icsk_pmtu_cookie);
	sn_json_int(j, p, "mss_cache", "u32", v->mss_cache);
	sn_json_int(j, p, "mss_clamp", "u16", v->mss_clamp);
	sn_json_int(j, p, "icsk_ext_hdr_len", "u16", v->icsk_ext_hdr_len);
	sn_json_int(j, p, "mtup_enabled", "u8", v->mtup_enabled);
	sn_json_int(j, p, "mtup_search_low", "s32", v->mtup_search_low);
	sn_json_int(j, p, "tcp_header_len", "u16", v->tcp_header_len);
	sn_json_int(j, p, "tstamp_ok", "u8", v->tstamp_ok);
	sn_json_int(j, p, "nonagle", "u8", v->nonagle);
	sn_json_int(j, p, "notsent_lowat", "u32", v->notsent_lowat);
	sn_json_raw(j, "\n\t}\n}\n");
}

int sn_tcp_context_digest(const struct sn_tcp_token *tt, u64 *digest)
{
	struct sn_json j = { .size = SN_CONTEXT_MAX };
	const struct sn_tcp_sock *v;
	u32 dst_mtu;
	int err;

	j.buf = kmalloc(j.size, GFP_KERNEL);
	if (!j.buf)
		return -ENOMEM;
	v = sn_tcp_token_view(tt, &dst_mtu);
	sn_tcp_json_context(&j, v, dst_mtu, 0, 0);
	err = sn_json_digest(&j, digest);
	kfree(j.buf);
	return err;
}

/* Hand the context in j to the caller: ENOSPC with the size it needs. */
static long sn_context_out(struct specnet_customize __user *arg,
			   const struct specnet_customize *c,
			   const struct sn_json *j)
{
	long err = -ENOSPC;

	if (j->len <= j->size && j->len <= c->ctx_size) {
		err = 0;
		if (copy_to_user(u64_to_user_ptr(c->ctx_buf), j->buf, j->len))
			return -EFAULT;
	}
	if (put_user((u32)j->len, &arg->ctx_len))
		err = -EFAULT;
	return err;
}

/* CUSTOMIZE of a TCP socket: its view, read under the socket lock. */
long sn_tcp_customize(struct specnet_customize __user *arg,
		      const struct specnet_customize *c)
{
	struct sn_json j = { .size = SN_CONTEXT_MAX };
	const struct sn_tcp_sock *v;
	struct sn_tcp_token *tt;
	u32 adu, dst_mtu;
	int err;

	tt = sn_tcp_token_bind(c->fd, &err);
	if (!tt)
		return err;
	err = -ENOMEM;
	j.buf = kmalloc(j.size, GFP_KERNEL);
	if (!j.buf)
		goto out;
	adu = sn_tcp_token_adu(tt);
	v = sn_tcp_token_view(tt, &dst_mtu);
	sn_tcp_json_context(&j, v, dst_mtu, adu ? adu : c->adu, c->send_flags);
	err = sn_context_out(arg, c, &j);
	kfree(j.buf);
out:
	sn_tcp_token_destroy(tt);
	kfree(tt);
	return err;
}

long sn_customize(struct specnet_customize __user *arg)
{
	struct specnet_customize c;
	struct sn_binding b;
	struct sn_json j = { .size = SN_CONTEXT_MAX };
	u32 adu;
	long err;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	if (c.reserved || c.adu > 65535)
		return -EINVAL;
	err = sn_binding_init(&b, c.fd, &c.dest, c.send_flags, true);
	if (err == -EPROTONOSUPPORT)
		return sn_tcp_customize(arg, &c);	/* perhaps TCP */
	if (err)
		return err;
	/* Without a route the context has no route to describe. */
	err = b.route_err;
	if (err)
		goto out_unbind;
	err = -ENOMEM;
	j.buf = kmalloc(j.size, GFP_KERNEL);
	if (!j.buf)
		goto out_unbind;
	/* An application that committed to a data unit size with SO_ADU
	 * gets that size specialized in, whatever the request says. */
	adu = sn_sock_adu(b.ks);
	sn_json_context(&j, &b, c.fd, adu ? adu : c.adu, c.send_flags);
	err = sn_context_out(arg, &c, &j);
	kfree(j.buf);
out_unbind:
	sn_binding_destroy(&b);
	return err;
}
