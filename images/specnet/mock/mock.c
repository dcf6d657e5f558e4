// SPDX-License-Identifier: GPL-2.0
/*
 * mock.c - the recording mock of shim.h: a user-space stand-in for the
 * kernel that logs every effect and models just enough of an sk_buff
 * (head, data, tail, network/transport offsets, page-fragment bytes,
 * frag_list) for the bytes handed to the device to be the packet.
 *
 * Lookups a context fixes (socket, routes, neighbour, route generation)
 * answer from the world and draw nothing from the tape, so that a
 * residual that folded them sees the same tape as the generic path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mock.h"

struct mock_world mock_world;

#define MOCK_SKB_MAX	4096
#define MOCK_PFRAG_MAX	65536
#define MOCK_FRAGS_MAX	64
#define MOCK_TRUESIZE_OVERHEAD	256	/* stand-in for SKB_TRUESIZE() */
#define MOCK_HEX_MAX	96		/* longer byte ranges are hashed */

struct mock_skb {
	int live;
	u8 *head;
	u32 size;			/* allocated bytes */
	u32 data, tail;			/* offsets from head */
	int nh, th;			/* offsets from head, -1 unset */
	u8 ip_summed;
	u32 csum_start, csum_offset;
	u8 *pfrag;			/* page fragment bytes, after tail */
	u32 pfrag_len;
	int frag_list[MOCK_FRAGS_MAX];	/* skb numbers */
	int nr_fraglist;
	int owned;			/* charged to the socket */
	u32 truesize;
	int pending_confirm;
};

/* Skbs are numbered from 1 in allocation order; 0 is unused. */
static struct mock_skb skbs[MOCK_SKB_MAX];
static int nskbs;

static u8 user_mem[MOCK_USER_MAX];
static u32 user_len, user_avail;

static unsigned long long tape_seed;
static unsigned int tape_input;
static u32 tape_count[32];

static unsigned long effects;
static long wmem_charged;		/* bytes charged by the mock's skbs */
static int nospace;
static u32 ident_counter;

/* ---- tape ---- */

static u64 mix64(u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

u32 mock_tape(u32 purpose)
{
	u64 x = tape_seed * 0x9e3779b97f4a7c15ULL;

	x = mix64(x ^ ((u64)tape_input << 20) ^ purpose);
	x = mix64(x ^ tape_count[purpose & 31]++);
	return (u32)(x >> 32);
}

enum {
	TAPE_WMEM, TAPE_SIGNAL, TAPE_SOCKERR, TAPE_ALLOC, TAPE_XMIT,
	TAPE_NEIGH, TAPE_HDR, TAPE_CLONE, TAPE_CAP, TAPE_TIME, TAPE_AUTOBIND,
	TAPE_PFRAG, TAPE_ROOM, TAPE_IDENT, TAPE_LOOP,
};

/* true with probability percent/100 */
static int tape_chance(u32 purpose, u32 percent)
{
	return mock_tape(purpose) % 100 < percent;
}

/* ---- log ---- */

static u64 fnv1a(const u8 *p, u32 n)
{
	u64 h = 0xcbf29ce484222325ULL;
	u32 i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void log_begin(const char *name)
{
	effects++;
	printf("E %s", name);
}

static void log_end(void)
{
	putchar('\n');
}

static void log_u(const char *key, u64 v)
{
	printf(" %s=%llu", key, (unsigned long long)v);
}

static void log_i(const char *key, long long v)
{
	printf(" %s=%lld", key, v);
}

static void log_bytes(const char *key, const u8 *p, u32 n)
{
	u32 i;

	if (n > MOCK_HEX_MAX) {
		printf(" %s=len%u:%016llx", key, n, (unsigned long long)fnv1a(p, n));
		return;
	}
	printf(" %s=", key);
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	if (!n)
		printf("-");
}

static int skb_num(struct sk_buff *skb)
{
	long n = (long)(size_t)skb;

	if (n <= 0 || n > nskbs || !skbs[n].live) {
		fprintf(stderr, "mock: bad skb handle %ld\n", n);
		abort();
	}
	return (int)n;
}

static struct mock_skb *skb_of(struct sk_buff *skb)
{
	return &skbs[skb_num(skb)];
}

static void log_skb(const char *key, struct sk_buff *skb)
{
	if (!skb)
		printf(" %s=null", key);
	else
		printf(" %s=skb%d", key, skb_num(skb));
}

/* A pointer the shim handed out: into some skb's head or page frag. */
static void log_ptr(const char *key, const u8 *p)
{
	int i;

	for (i = 1; i <= nskbs; i++) {
		struct mock_skb *s = &skbs[i];

		if (!s->live)
			continue;
		if (p >= s->head && p <= s->head + s->size) {
			printf(" %s=skb%d+%ld", key, i, (long)(p - s->head));
			return;
		}
		if (s->pfrag && p >= s->pfrag && p <= s->pfrag + MOCK_PFRAG_MAX) {
			printf(" %s=skb%d.pfrag+%ld", key, i, (long)(p - s->pfrag));
			return;
		}
	}
	if (p >= user_mem && p <= user_mem + MOCK_USER_MAX) {
		printf(" %s=user+%ld", key, (long)(p - user_mem));
		return;
	}
	printf(" %s=?", key);
}

static const char *obj_name(const void *p)
{
	struct mock_world *w = &mock_world;

	if (!p)
		return "null";
	if (p == &w->sk)
		return "sk";
	if (p == &w->net)
		return "net";
	if (p == &w->rt)
		return "rt";
	if (p == &w->rt_cached)
		return "rt_cached";
	if (p == &w->dev)
		return "dev";
	if (p == &w->dev_cached)
		return "dev_cached";
	if (p == &w->neigh)
		return "neigh";
	return "?";
}

static void log_obj(const char *key, const void *p)
{
	printf(" %s=%s", key, obj_name(p));
}

unsigned long mock_effects(void)
{
	return effects;
}

/* ---- world ---- */

void mock_world_init(struct mock_world *w)
{
	memset(w, 0, sizeof(*w));
	w->um.msg_name = &w->addr;
	w->sock.sk = &w->sk;
	w->sk.sk_net = &w->net;
	w->sk.sk_socket = &w->sock;
	w->sk.sk_dst_cache = &w->rt_cached;
	w->sk.inet.inet_opt = &w->opt;
	w->rt_cached.dst.dev = &w->dev_cached;
	w->rt.dst.dev = &w->dev;
}

void mock_begin_input(unsigned long long seed, unsigned int index,
		      const u8 *payload, u32 len, u32 avail)
{
	tape_seed = seed;
	tape_input = index;
	memset(tape_count, 0, sizeof(tape_count));
	if (len > MOCK_USER_MAX)
		len = MOCK_USER_MAX;
	if (avail > len)
		avail = len;
	memcpy(user_mem, payload, len);
	user_len = len;
	user_avail = avail;
	effects = 0;
}

const u8 *mock_user_buf(void)
{
	return user_mem;
}

/* Skbs still held: the socket's write queue and their frag lists. */
static void mark_held(int *held, int n)
{
	int i;

	if (held[n])
		return;
	held[n] = 1;
	for (i = 0; i < skbs[n].nr_fraglist; i++)
		mark_held(held, skbs[n].frag_list[i]);
}

void mock_end_input(void)
{
	static int held[MOCK_SKB_MAX];
	struct sn_skb_queue *q = &mock_world.sk.sk_write_queue;
	u32 i;
	int n;

	memset(held, 0, sizeof(held));
	for (i = 0; i < q->qlen; i++)
		mark_held(held, skb_num(q->q[i].skb));
	for (n = 1; n <= nskbs; n++) {
		if (skbs[n].live && !held[n])
			printf("LEAK skb%d\n", n);
	}
}

/* ---- lookups ---- */

struct sn_socket *shim_sockfd_lookup(int fd)
{
	return fd == mock_world.fd ? &mock_world.sock : NULL;
}

int shim_ip_route_output_err(struct sn_net *net, __be32 daddr, __be32 saddr,
			     u8 tos, int oif, u32 mark, u8 flow_flags,
			     __be16 dport, __be16 sport, u32 uid)
{
	return mock_world.route_err;
}

struct sn_rtable *shim_ip_route_output(struct sn_net *net, __be32 daddr,
				       __be32 saddr, u8 tos, int oif, u32 mark,
				       u8 flow_flags, __be16 dport,
				       __be16 sport, u32 uid)
{
	return &mock_world.rt;
}

int shim_rt_genid_ipv4(struct sn_net *net)
{
	return mock_world.rt_genid;
}

int shim_ipv4_neigh_err(struct sn_netdev *dev, __be32 nexthop)
{
	return mock_world.neigh_err;
}

struct sn_neigh *shim_ipv4_neigh_lookup(struct sn_netdev *dev, __be32 nexthop)
{
	return &mock_world.neigh;
}

/*
 * The generator's hash is a function of the flow, as the kernel's keyed
 * hash: a residual whose loader passed other addresses logs other IDs.
 */
struct sn_ip_ident *shim_ip_ident_lookup(struct sn_net *net, __be32 daddr,
					 __be32 saddr, u8 protocol)
{
	mock_world.ipid.hash = (u32)mix64(((u64)daddr << 32) ^ saddr ^
					  protocol);
	return &mock_world.ipid;
}

/* The user range lies below TASK_SIZE unless it is absurdly long. */
bool shim_access_ok(const u8 __user *buf, u32 len)
{
	return len <= 0x40000000U;
}

/* Other sockets' data fill the send buffer now and then (tape). */
int shim_sk_wmem_alloc_get(struct sn_sock *sk)
{
	if (tape_chance(TAPE_WMEM, 3))
		return 3 * sk->sk_sndbuf;
	return (int)wmem_charged;
}

bool shim_signal_pending(void)
{
	return tape_chance(TAPE_SIGNAL, 30);
}

bool shim_capable_so_mark(struct sn_net *net)
{
	return tape_chance(TAPE_CAP, 70);
}

bool shim_sk_test_nospace(struct sn_sock *sk)
{
	return nospace;
}

__be32 shim_inet_current_timestamp(void)
{
	return mock_tape(TAPE_TIME);
}

/* ---- effects: socket ---- */

int shim_inet_autobind(struct sn_sock *sk)
{
	int err = tape_chance(TAPE_AUTOBIND, 10) ? -SN_EAGAIN : 0;

	log_begin("inet_autobind");
	log_i("ret", err);
	log_end();
	return err;
}

int shim_sock_error(struct sn_sock *sk)
{
	int err = tape_chance(TAPE_SOCKERR, 2) ? -111 : 0;	/* ECONNREFUSED */

	log_begin("sock_error");
	log_i("ret", err);
	log_end();
	return err;
}

void shim_sk_set_nospace(struct sn_sock *sk)
{
	nospace = 1;
	log_begin("sk_set_nospace");
	log_end();
}

long shim_sock_wait_for_wmem(struct sn_sock *sk, long timeo)
{
	long left = timeo > 1000 ? timeo : timeo / 2;

	nospace = 0;
	log_begin("sock_wait_for_wmem");
	log_i("timeo", timeo);
	log_i("ret", left);
	log_end();
	return left;
}

void shim_lock_sock(struct sn_sock *sk)
{
	log_begin("lock_sock");
	log_end();
}

void shim_release_sock(struct sn_sock *sk)
{
	log_begin("release_sock");
	log_end();
}

void shim_ip_local_error(struct sn_sock *sk, int err, __be32 daddr,
			 __be16 dport, u32 info)
{
	log_begin("ip_local_error");
	log_i("err", err);
	log_u("daddr", daddr);
	log_u("dport", dport);
	log_u("info", info);
	log_end();
}

void shim_snmp_inc(struct sn_net *net, enum sn_mib mib, u32 n)
{
	log_begin("snmp_inc");
	log_u("mib", mib);
	log_u("n", n);
	log_end();
}

/* ---- effects: routes ---- */

void shim_dst_hold(struct sn_rtable *rt)
{
	log_begin("dst_hold");
	log_obj("rt", rt);
	log_end();
}

void shim_dst_release(struct sn_rtable *rt)
{
	log_begin("dst_release");
	log_obj("rt", rt);
	log_end();
}

void shim_sk_dst_set(struct sn_sock *sk, struct sn_rtable *rt)
{
	log_begin("sk_dst_set");
	log_obj("rt", rt);
	log_end();
}

void shim_sk_dst_reset(struct sn_sock *sk)
{
	log_begin("sk_dst_reset");
	log_end();
}

void shim_dst_confirm_neigh(struct sn_rtable *rt, __be32 daddr)
{
	log_begin("dst_confirm_neigh");
	log_obj("rt", rt);
	log_u("daddr", daddr);
	log_end();
}

u16 shim_ip_idents_reserve(u32 hash, int segs)
{
	u16 id = (u16)(hash + ident_counter);

	ident_counter += segs;
	log_begin("ip_idents_reserve");
	log_u("hash", hash);
	log_i("segs", segs);
	log_u("ret", id);
	log_end();
	return id;
}

/* ---- effects: skbs ---- */

static struct sk_buff *skb_new(u32 size, int owned, struct sn_sock *sk)
{
	struct mock_skb *s;

	if (nskbs + 1 >= MOCK_SKB_MAX) {
		fprintf(stderr, "mock: out of skbs\n");
		abort();
	}
	s = &skbs[++nskbs];
	memset(s, 0, sizeof(*s));
	s->live = 1;
	s->size = size;
	s->head = calloc(1, size ? size : 1);
	s->nh = -1;
	s->th = -1;
	s->truesize = size + MOCK_TRUESIZE_OVERHEAD;
	if (owned) {
		s->owned = 1;
		wmem_charged += s->truesize;
	}
	return (struct sk_buff *)(size_t)nskbs;
}

static void skb_free(int n)
{
	struct mock_skb *s = &skbs[n];
	int i;

	for (i = 0; i < s->nr_fraglist; i++)
		skb_free(s->frag_list[i]);
	if (s->owned)
		wmem_charged -= s->truesize;
	free(s->head);
	free(s->pfrag);
	s->head = NULL;
	s->pfrag = NULL;
	s->live = 0;
}

struct sk_buff *shim_alloc_send_skb(struct sn_sock *sk, u32 header_len)
{
	struct sk_buff *skb = NULL;

	if (!tape_chance(TAPE_ALLOC, 2))
		skb = skb_new(header_len, 1, sk);
	log_begin("alloc_send_skb");
	log_u("size", header_len);
	log_skb("ret", skb);
	log_end();
	return skb;
}

struct sk_buff *shim_alloc_skb(struct sn_sock *sk, u32 size)
{
	struct sk_buff *skb = NULL;

	if (!tape_chance(TAPE_ALLOC, 2))
		skb = skb_new(size, 0, sk);
	log_begin("alloc_skb");
	log_u("size", size);
	log_skb("ret", skb);
	log_end();
	return skb;
}

u32 shim_skb_set_wfree(struct sk_buff *skb, struct sn_sock *sk)
{
	struct mock_skb *s = skb_of(skb);

	s->owned = 1;
	log_begin("skb_set_wfree");
	log_skb("skb", skb);
	log_u("ret", s->truesize);
	log_end();
	return s->truesize;
}

void shim_sk_wmem_add(struct sn_sock *sk, u32 bytes)
{
	wmem_charged += bytes;
	log_begin("sk_wmem_add");
	log_u("bytes", bytes);
	log_end();
}

void shim_kfree_skb(struct sk_buff *skb)
{
	log_begin("kfree_skb");
	log_skb("skb", skb);
	log_end();
	skb_free(skb_num(skb));
}

void shim_consume_skb(struct sk_buff *skb)
{
	log_begin("consume_skb");
	log_skb("skb", skb);
	log_end();
	skb_free(skb_num(skb));
}

/* Flatten skb n's bytes from data on: linear, page frags, frag_list. */
static u32 skb_linearize(int n, u8 *out, u32 max)
{
	struct mock_skb *s = &skbs[n];
	u32 len = 0;
	int i;

	if (s->tail > s->data) {
		len = s->tail - s->data;
		if (len > max)
			abort();
		memcpy(out, s->head + s->data, len);
	}
	if (s->pfrag_len) {
		if (len + s->pfrag_len > max)
			abort();
		memcpy(out + len, s->pfrag, s->pfrag_len);
		len += s->pfrag_len;
	}
	for (i = 0; i < s->nr_fraglist; i++)
		len += skb_linearize(s->frag_list[i], out + len, max - len);
	return len;
}

struct sk_buff *shim_skb_clone(struct sk_buff *skb)
{
	static u8 buf[1 << 17];
	struct mock_skb *s = skb_of(skb), *c;
	struct sk_buff *clone = NULL;
	u32 len;

	if (!tape_chance(TAPE_CLONE, 3)) {
		len = skb_linearize(skb_num(skb), buf, sizeof(buf));
		clone = skb_new(len, 0, NULL);
		c = skb_of(clone);
		memcpy(c->head, buf, len);
		c->tail = len;
		c->nh = s->nh >= 0 ? s->nh - (int)s->data : -1;
		c->th = s->th >= 0 ? s->th - (int)s->data : -1;
		c->ip_summed = s->ip_summed;
		c->csum_start = s->csum_start - s->data;
		c->csum_offset = s->csum_offset;
	}
	log_begin("skb_clone");
	log_skb("skb", skb);
	log_skb("ret", clone);
	log_end();
	return clone;
}

u8 *shim_skb_setup(struct sk_buff *skb, u8 ip_summed, u32 headroom, u32 len,
		   u32 thoff)
{
	struct mock_skb *s = skb_of(skb);
	u8 *p;

	if (s->tail || headroom + len > s->size || thoff > len) {
		fprintf(stderr, "mock: skb_setup over\n");
		abort();
	}
	s->ip_summed = ip_summed;
	s->data = s->tail = headroom;
	p = s->head + s->tail;
	s->nh = s->data;
	s->th = s->data + thoff;
	s->tail += len;
	log_begin("skb_setup");
	log_skb("skb", skb);
	log_u("summed", ip_summed);
	log_u("headroom", headroom);
	log_u("len", len);
	log_u("thoff", thoff);
	log_end();
	return p;
}

u8 *shim_skb_put(struct sk_buff *skb, u32 len)
{
	struct mock_skb *s = skb_of(skb);
	u8 *p = s->head + s->tail;

	if (s->pfrag_len || s->tail + len > s->size) {
		fprintf(stderr, "mock: skb_put over\n");
		abort();
	}
	s->tail += len;
	log_begin("skb_put");
	log_skb("skb", skb);
	log_u("len", len);
	log_end();
	return p;
}


void shim_skb_trim(struct sk_buff *skb, u32 len)
{
	struct mock_skb *s = skb_of(skb);

	if (s->pfrag_len || len > s->tail - s->data)
		abort();
	s->tail = s->data + len;
	log_begin("skb_trim");
	log_skb("skb", skb);
	log_u("len", len);
	log_end();
}

void shim_skb_set_ip_summed(struct sk_buff *skb, u8 ip_summed)
{
	skb_of(skb)->ip_summed = ip_summed;
	log_begin("skb_set_ip_summed");
	log_skb("skb", skb);
	log_u("v", ip_summed);
	log_end();
}

void shim_skb_partial_csum_set(struct sk_buff *skb, u8 *th, u16 csum_offset)
{
	struct mock_skb *s = skb_of(skb);

	s->csum_start = th - s->head;
	s->csum_offset = csum_offset;
	log_begin("skb_partial_csum_set");
	log_skb("skb", skb);
	log_ptr("th", th);
	log_u("off", csum_offset);
	log_end();
}

void shim_skb_set_dst_pending_confirm(struct sk_buff *skb)
{
	skb_of(skb)->pending_confirm = 1;
	log_begin("skb_set_dst_pending_confirm");
	log_skb("skb", skb);
	log_end();
}

void shim_skb_set_meta(struct sk_buff *skb, u32 priority, u32 mark,
		       struct sn_rtable *rt)
{
	log_begin("skb_set_meta");
	log_skb("skb", skb);
	log_u("priority", priority);
	log_u("mark", mark);
	log_obj("rt", rt);
	log_end();
}

void shim_skb_set_dev(struct sk_buff *skb, struct sn_netdev *dev,
		      __be16 protocol)
{
	log_begin("skb_set_dev");
	log_skb("skb", skb);
	log_obj("dev", dev);
	log_u("proto", protocol);
	log_end();
}

int shim_skb_pfrag_attach(struct sk_buff *skb, struct sn_sock *sk, u8 **to,
			  u32 *room)
{
	struct mock_skb *s = skb_of(skb);
	int err = 0;

	if (tape_chance(TAPE_PFRAG, 2)) {
		err = -SN_ENOMEM;
	} else {
		if (!s->pfrag)
			s->pfrag = calloc(1, MOCK_PFRAG_MAX);
		*to = s->pfrag + s->pfrag_len;
		/* what is left of the page frag: 1 .. 4096 bytes */
		*room = 1 + mock_tape(TAPE_ROOM) % 4096;
		if (*room > MOCK_PFRAG_MAX - s->pfrag_len)
			*room = MOCK_PFRAG_MAX - s->pfrag_len;
	}
	log_begin("skb_pfrag_attach");
	log_skb("skb", skb);
	log_i("ret", err);
	if (!err)
		log_u("room", *room);
	log_end();
	return err;
}

void shim_skb_pfrag_commit(struct sk_buff *skb, struct sn_sock *sk, u32 len)
{
	struct mock_skb *s = skb_of(skb);

	s->pfrag_len += len;
	log_begin("skb_pfrag_commit");
	log_skb("skb", skb);
	log_u("len", len);
	log_end();
}

void shim_skb_frag_list_add(struct sk_buff *head, struct sk_buff *tmp,
			    u32 nhlen)
{
	struct mock_skb *h = skb_of(head), *t = skb_of(tmp);

	if (h->nr_fraglist == MOCK_FRAGS_MAX || nhlen > t->tail - t->data)
		abort();
	t->data += nhlen;			/* __skb_pull() */
	if (t->owned) {				/* tmp_skb->destructor = NULL */
		t->owned = 0;
		wmem_charged -= t->truesize;
		h->truesize += t->truesize;
		if (h->owned)
			wmem_charged += t->truesize;
	}
	h->frag_list[h->nr_fraglist++] = skb_num(tmp);
	log_begin("skb_frag_list_add");
	log_skb("head", head);
	log_skb("skb", tmp);
	log_u("nhlen", nhlen);
	log_end();
}

void shim_skb_frag_list_detach(struct sk_buff *head, u32 first_len)
{
	struct mock_skb *h = skb_of(head);
	int i;

	/* The frag_list skbs become skbs of their own again; the driver
	 * will free each. */
	for (i = 0; i < h->nr_fraglist; i++)
		skbs[h->frag_list[i]].live = 1;
	h->nr_fraglist = 0;
	if (first_len != h->tail - h->data + h->pfrag_len)
		abort();
	log_begin("skb_frag_list_detach");
	log_skb("skb", head);
	log_u("first_len", first_len);
	log_end();
}

u8 *shim_skb_fraglist_prepare(struct sk_buff *frag, struct sk_buff *head,
			      u32 hlen)
{
	struct mock_skb *f = skb_of(frag), *h = skb_of(head);

	f->ip_summed = SN_CHECKSUM_NONE;
	f->th = f->data;
	if (hlen > f->data)
		abort();
	f->data -= hlen;
	f->nh = f->data;
	f->pending_confirm = h->pending_confirm;
	log_begin("skb_fraglist_prepare");
	log_skb("skb", frag);
	log_skb("from", head);
	log_u("hlen", hlen);
	log_end();
	return f->head + f->data;
}

/* ---- effects: copies ---- */

/* Copy from the user buffer; returns the bytes that fault. */
static u32 user_copy(u8 *to, const u8 __user *from, u32 len)
{
	long off = from - user_mem;
	u32 ok = 0;

	if (off >= 0 && (u32)off < user_avail)
		ok = user_avail - off < len ? user_avail - off : len;
	memcpy(to, from, ok);
	return len - ok;
}

/* csum_partial(): a 32-bit ones' complement sum of 16-bit LE words. */
static u32 csum_partial(const u8 *p, u32 len, u32 sum)
{
	u64 s = sum;
	u32 i;

	for (i = 0; i + 1 < len; i += 2)
		s += p[i] | (p[i + 1] << 8);
	if (len & 1)
		s += p[len - 1];
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (u32)s;
}

u32 shim_copy_from_user(u8 *to, const u8 __user *from, u32 len)
{
	u32 left = user_copy(to, from, len);

	log_begin("copy_from_user");
	log_ptr("to", to);
	log_ptr("from", from);
	log_u("len", len);
	log_bytes("bytes", to, len - left);
	log_u("ret", left);
	log_end();
	return left;
}

int shim_csum_and_copy_from_user(u8 *to, const u8 __user *from, u32 len,
				 __wsum *csum)
{
	u32 left = user_copy(to, from, len);
	int err = left ? -SN_EFAULT : 0;

	if (!err)
		*csum = csum_partial(to, len, 0);
	log_begin("csum_and_copy_from_user");
	log_ptr("to", to);
	log_ptr("from", from);
	log_u("len", len);
	log_bytes("bytes", to, len - left);
	log_i("ret", err);
	if (!err)
		log_u("csum", *csum);
	log_end();
	return err;
}

__wsum shim_skb_copy_and_csum_bits(struct sk_buff *from, u32 off, u8 *to,
				   u32 len)
{
	struct mock_skb *s = skb_of(from);
	__wsum csum;

	if (s->pfrag_len || off + len > s->tail - s->data)
		abort();
	memcpy(to, s->head + s->data + off, len);
	csum = csum_partial(to, len, 0);
	log_begin("skb_copy_and_csum_bits");
	log_skb("skb", from);
	log_u("off", off);
	log_ptr("to", to);
	log_bytes("bytes", to, len);
	log_u("ret", csum);
	log_end();
	return csum;
}

void shim_skb_store(struct sk_buff *skb, u8 *to, const void *from, u32 len)
{
	struct mock_skb *s = skb_of(skb);

	if (to < s->head || to + len > s->head + s->size) {
		fprintf(stderr, "mock: store outside skb%d\n", skb_num(skb));
		abort();
	}
	memcpy(to, from, len);
	log_begin("skb_store");
	log_skb("skb", skb);
	log_ptr("to", to);
	log_bytes("bytes", from, len);
	log_end();
}

/* ---- effects: device ---- */

void shim_skb_push_hh(struct sk_buff *skb, const u8 *hh_data, u32 hh_len)
{
	struct mock_skb *s = skb_of(skb);

	if (hh_len > SN_HH_DATA_MOD || s->data < SN_HH_DATA_MOD)
		abort();
	memcpy(s->head + s->data - SN_HH_DATA_MOD, hh_data, SN_HH_DATA_MOD);
	s->data -= hh_len;
	log_begin("skb_push_hh");
	log_skb("skb", skb);
	log_bytes("hh", hh_data, SN_HH_DATA_MOD);
	log_u("len", hh_len);
	log_end();
}

int shim_neigh_event_send(struct sn_neigh *neigh, struct sk_buff *skb)
{
	int queued = tape_chance(TAPE_NEIGH, 50);

	log_begin("neigh_event_send");
	log_obj("neigh", neigh);
	log_skb("skb", skb);
	log_i("ret", queued);
	log_end();
	if (queued)	/* the arp queue holds it; drop it from the model */
		skb_free(skb_num(skb));
	return queued;
}

void shim_neigh_hh_init(struct sn_neigh *neigh)
{
	log_begin("neigh_hh_init");
	log_obj("neigh", neigh);
	log_end();
}

void shim_neigh_confirm(struct sn_neigh *neigh)
{
	log_begin("neigh_confirm");
	log_obj("neigh", neigh);
	log_end();
}

/* eth_header(): destination, our address (00:00:5e:00:53:NN, the
 * documentation range, NN the ifindex), type. */
int shim_dev_hard_header(struct sk_buff *skb, struct sn_netdev *dev, u16 type,
			 const u8 *daddr, u32 len)
{
	struct mock_skb *s = skb_of(skb);
	int ret = dev->hard_header_len;
	u8 *h;

	if (tape_chance(TAPE_HDR, 2))
		ret = -SN_EINVAL;
	if (ret > 0) {
		if ((u32)ret > s->data)
			abort();
		s->data -= ret;
		h = s->head + s->data;
		memset(h, 0, ret);
		memcpy(h, daddr, ret < 6 ? ret : 6);
		if (ret >= 14) {
			h[6] = 0x00; h[7] = 0x00; h[8] = 0x5e;
			h[9] = 0x00; h[10] = 0x53; h[11] = (u8)dev->ifindex;
			h[12] = type >> 8;
			h[13] = type & 0xff;
		}
	}
	log_begin("dev_hard_header");
	log_skb("skb", skb);
	log_obj("dev", dev);
	log_u("type", type);
	log_bytes("daddr", daddr, 6);
	log_u("len", len);
	log_i("ret", ret);
	log_end();
	return ret;
}

static void log_packet(const char *name, struct sk_buff *skb, int ret)
{
	static u8 buf[1 << 17];
	struct mock_skb *s = skb_of(skb);
	u32 len = skb_linearize(skb_num(skb), buf, sizeof(buf));
	u32 i;

	log_begin(name);
	log_skb("skb", skb);
	log_u("len", len);
	log_i("nh", s->nh >= 0 ? s->nh - (int)s->data : -1);
	log_u("summed", s->ip_summed);
	if (s->ip_summed == SN_CHECKSUM_PARTIAL) {
		log_u("csum_start", s->csum_start - s->data);
		log_u("csum_off", s->csum_offset);
	}
	log_u("confirm", s->pending_confirm);
	log_i("ret", ret);
	printf(" bytes=");
	for (i = 0; i < len; i++)
		printf("%02x", buf[i]);
	log_end();
}

int shim_dev_queue_xmit(struct sk_buff *skb)
{
	u32 r = mock_tape(TAPE_XMIT) % 100;
	int ret = SN_NET_XMIT_SUCCESS;

	if (r < 3)
		ret = SN_NET_XMIT_DROP;
	else if (r < 5)
		ret = SN_NET_XMIT_CN;
	else if (r < 7)
		ret = -SN_ENOBUFS;
	log_packet("dev_queue_xmit", skb, ret);
	skb_free(skb_num(skb));
	return ret;
}

int shim_dev_loopback_xmit(struct sk_buff *skb)
{
	log_packet("dev_loopback_xmit", skb, 0);
	skb_free(skb_num(skb));
	return 0;
}
