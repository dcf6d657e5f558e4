// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_mock.c - the recording mock of tcp_shim.h (see tcp_mock.h).
 *
 * Lookups the generic path makes of state it mirrors (tail, window, SACK
 * blocks) answer from the mock's kernel state and draw nothing from the
 * tape, so a residual that reads less sees the same tape as the generic
 * path; effects draw from the tape in the order they are called.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "tcp_mock.h"

struct tcp_mock_world tcp_mock_world;

#define SKB_MAX		65536
#define FRAGS_MAX	17
#define QUEUE_MAX	4096
/* SKB_TRUESIZE() of an skb with MAX_TCP_HEADER of headroom (bytes): a
 * stand-in, the mock only needs it constant. */
#define SKB_TRUESIZE_EMPTY	768
#define ESTABLISHED	1
#define SYN_SENT	2
#define CLOSE_WAIT	8
#define CLOSE		7
#define ECONNRESET	104

struct mock_skb {
	int live;
	u32 len, seq, end_seq, truesize;
	u8 tcp_flags, eor;
	u32 nr_frags;
	int page[FRAGS_MAX];
	u32 off[FRAGS_MAX], flen[FRAGS_MAX];
	int inflight;			/* in the qdisc or device */
	u32 pcount;			/* tcp_skb_pcount() */
};

static struct mock_skb skbs[SKB_MAX];	/* numbered from 1 */
static int nskbs;

/* The write queue (unsent) and the retransmit queue (sent, unacked), in
 * sequence order. */
struct queue {
	int n;
	int q[QUEUE_MAX];
};

static struct queue wq, rtx;

/* What the kernel holds; the view's dynamic fields mirror it. */
static struct {
	u32 write_seq, pushed_seq, snd_up;
	u8 nonagle;			/* with the TCP_NAGLE_PUSH bit */
	u16 gso_segs;
	int wmem_queued;		/* bytes */
	u32 max_window;			/* bytes */
	u8 num_sacks, dsack, state, shutdown;
	int err;
	int pfrag_page;
	u32 pfrag_off, pfrag_size;	/* bytes */
	int npages;
	/* The transmit engine's state (tcp_xmit.c): the peer sets it
	 * between sends. snd_wnd in bytes; left_out are sent segments
	 * SACKed or marked lost; tsq_room 0: TCP small queues hold back
	 * a second skb in flight. */
	u32 cwnd, snd_wnd, left_out, snd_sml;
	u8 plain, cwr, tsq_room;
} k;

static u32 ctx_max_window;		/* the driver's, the peer's usual */

static u8 user_mem[TCP_MOCK_USER_MAX];
static u32 user_len, user_avail;

static unsigned long long tape_seed;
static unsigned int tape_input;
static u32 tape_count[32];
static unsigned long effects;

/* Bytes copied into pages during this input, and their hash. */
static u32 copied_bytes;
static u64 copied_hash;

enum {
	TAPE_PEER, TAPE_ALLOC, TAPE_PAGE, TAPE_SCHED, TAPE_WAIT, TAPE_FLUSH,
	TAPE_CONNECT, TAPE_XMIT, TAPE_HDR,
};

/*
 * __tcp_transmit_skb()'s fast case (tcp_xmit.c): the socket's ports (as
 * the kernel stores them, network order), what the peer moves between
 * sends (rcv_nxt, ts_recent; hdr_plain 0: SACK blocks or ECN make the
 * header the kernel's), the clock tsval reads (ms), and the clone being
 * built: the skb it copies (0: none), its header bytes and how many the
 * effects wrote.
 */
#define MOCK_SPORT	40000
#define MOCK_DPORT	5001
#define CLONE_BASE	(1 << 20)	/* clone handles: CLONE_BASE + skb */

static struct {
	u32 rcv_nxt, ts_recent, clock;
	u8 hdr_plain;
} x;

static struct {
	int skb;
	u32 hlen, written;		/* bytes */
	u8 hdr[60];
} xc;

static u64 mix64(u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static u32 tape(u32 purpose)
{
	u64 x = tape_seed * 0x9e3779b97f4a7c15ULL;

	x = mix64(x ^ ((u64)tape_input << 20) ^ purpose ^ 0x7c9);
	x = mix64(x ^ tape_count[purpose & 31]++);
	return (u32)(x >> 32);
}

static int chance(u32 purpose, u32 percent)
{
	return tape(purpose) % 100 < percent;
}

static u64 fnv1a(u64 h, const u8 *p, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ---- log ---- */

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

static int skb_no(struct sk_buff *skb)
{
	long n = (long)(size_t)skb;

	if (n < 1 || n > nskbs || !skbs[n].live) {
		printf("BAD skb handle %ld\n", n);
		exit(3);
	}
	return (int)n;
}

static void log_skb(const char *key, struct sk_buff *skb)
{
	printf(" %s=skb%d", key, skb_no(skb));
}

static void log_sk(struct sn_tcp_sock *sk)
{
	if (sk != &tcp_mock_world.sk) {
		printf("BAD socket pointer\n");
		exit(3);
	}
	printf(" sk");
}

static struct mock_skb *mskb(struct sk_buff *skb)
{
	return &skbs[skb_no(skb)];
}

/* ---- queues ---- */

static void q_push(struct queue *q, int n)
{
	if (q->n == QUEUE_MAX) {
		printf("BAD queue full\n");
		exit(3);
	}
	q->q[q->n++] = n;
}

static int q_pop(struct queue *q)
{
	int n = q->q[0];

	memmove(q->q, q->q + 1, --q->n * sizeof(q->q[0]));
	return n;
}

static void skb_free(int n)
{
	k.wmem_queued -= skbs[n].truesize;
	skbs[n].live = 0;
}

/* Transmit the head of the write queue: it goes to the retransmit queue
 * and sits in the qdisc until TX completion. */
static void xmit_head(void)
{
	int n = q_pop(&wq);

	skbs[n].inflight = 1;
	q_push(&rtx, n);
}

/* The peer acknowledges everything sent, the device completes it. */
static void ack_all(void)
{
	while (rtx.n)
		skb_free(q_pop(&rtx));
}

static u32 snd_nxt(void)
{
	return wq.n ? skbs[wq.q[0]].seq : k.write_seq;
}

static u32 snd_una(void)
{
	return rtx.n ? skbs[rtx.q[0]].seq : snd_nxt();
}

/* ---- world ---- */

void tcp_mock_world_init(struct tcp_mock_world *w)
{
	memset(w, 0, sizeof(*w));
	w->sk.sk_net = &w->net;
	w->dst_mtu = 1500;
}

void tcp_mock_connect(u32 isn, u32 max_window, u16 gso_segs)
{
	struct sn_tcp_sock *sk = &tcp_mock_world.sk;

	memset(&k, 0, sizeof(k));
	k.write_seq = k.pushed_seq = k.snd_up = isn;
	k.nonagle = sk->nonagle;
	k.gso_segs = gso_segs;
	k.max_window = ctx_max_window = max_window;
	k.state = ESTABLISHED;
	k.snd_sml = isn;
	memset(&x, 0, sizeof(x));
	x.rcv_nxt = ~isn;
	x.ts_recent = isn >> 3;
	sk->write_seq = sk->pushed_seq = sk->snd_up = isn;
	sk->gso_segs = gso_segs;
}

/* The peer and the device between two sends. */
static void peer_acts(void)
{
	u32 r = tape(TAPE_PEER);

	if (r % 100 < 60)
		ack_all();
	while (wq.n && chance(TAPE_PEER, 60))
		xmit_head();
	k.num_sacks = chance(TAPE_PEER, 4);
	k.dsack = chance(TAPE_PEER, 2);
	k.max_window = chance(TAPE_PEER, 3) ? ctx_max_window / 2 + 1 : ctx_max_window;
	r = tape(TAPE_PEER) % 200;
	k.state = r == 0 ? CLOSE_WAIT : r == 1 ? SYN_SENT : ESTABLISHED;
	if (chance(TAPE_PEER, 1))
		k.err = ECONNRESET;
	/* shutdown(SHUT_WR) by another thread of the application */
	k.shutdown = chance(TAPE_PEER, 1) ? SN_SEND_SHUTDOWN : 0;
	/* setsockopt(TCP_NODELAY) just set the push bit (generic sends) */
	if (chance(TAPE_PEER, 3))
		k.nonagle |= SN_TCP_NAGLE_PUSH;
	/* the windows, losses and what holds the engine back */
	k.cwnd = chance(TAPE_PEER, 10) ? 1 + tape(TAPE_PEER) % 3 : 10;
	k.snd_wnd = chance(TAPE_PEER, 8) ? tape(TAPE_PEER) % 4344 : 1 << 20;
	k.left_out = chance(TAPE_PEER, 5) ? tape(TAPE_PEER) % 3 : 0;
	k.plain = !chance(TAPE_PEER, 3);
	k.cwr = chance(TAPE_PEER, 5);
	k.tsq_room = !chance(TAPE_PEER, 5);
	/* what the peer sent us, on a tape of its own (TAPE_HDR) */
	if (chance(TAPE_HDR, 50))
		x.rcv_nxt += tape(TAPE_HDR) % 3000;
	if (chance(TAPE_HDR, 50))
		x.ts_recent += tape(TAPE_HDR) % 100;
	x.hdr_plain = !chance(TAPE_HDR, 4);
}

/* The kernel side's view refresh under the socket lock. */
static void refresh_view(void)
{
	struct sn_tcp_sock *sk = &tcp_mock_world.sk;
	struct sn_tcp_skb *t = &sk->wq_tail;

	sk->sk_state = k.state;
	sk->num_sacks = k.num_sacks;
	sk->dsack = k.dsack;
	sk->max_window = k.max_window;
	sk->sk_wmem_queued = k.wmem_queued;
	sk->gso_segs = k.gso_segs;
	sk->nonagle_push = k.nonagle & SN_TCP_NAGLE_PUSH;
	sk->write_seq = k.write_seq;
	sk->pushed_seq = k.pushed_seq;
	sk->snd_up = k.snd_up;
	memset(t, 0, sizeof(*t));
	if (!wq.n) {
		t->eor = 1;
		return;
	}
	{
		int n = wq.q[wq.n - 1];
		struct mock_skb *m = &skbs[n];

		t->skb = (struct sk_buff *)(size_t)n;
		t->len = m->len;
		t->seq = m->seq;
		t->end_seq = m->end_seq;
		t->tcp_flags = m->tcp_flags;
		t->eor = m->eor;
		t->nr_frags = m->nr_frags;
	}
}

void tcp_mock_begin_input(unsigned long long seed, unsigned int index,
			  const u8 *payload, u32 len, u32 avail)
{
	tape_seed = seed;
	tape_input = index;
	memset(tape_count, 0, sizeof(tape_count));
	effects = 0;
	copied_bytes = 0;
	copied_hash = 0xcbf29ce484222325ULL;
	user_len = len < TCP_MOCK_USER_MAX ? len : TCP_MOCK_USER_MAX;
	user_avail = avail < user_len ? avail : user_len;
	memcpy(user_mem, payload, user_len);
	peer_acts();
	refresh_view();
}

const u8 *tcp_mock_user_buf(void)
{
	return user_mem;
}

unsigned long tcp_mock_effects(void)
{
	return effects;
}

void tcp_mock_end_input(int ret)
{
	struct sn_tcp_sock *sk = &tcp_mock_world.sk;
	u64 want;

	if (sk->write_seq != k.write_seq)
		printf("BAD view write_seq %u, socket %u\n", sk->write_seq, k.write_seq);
	if (sk->pushed_seq != k.pushed_seq)
		printf("BAD view pushed_seq %u, socket %u\n", sk->pushed_seq, k.pushed_seq);
	if (sk->snd_up != k.snd_up)
		printf("BAD view snd_up %u, socket %u\n", sk->snd_up, k.snd_up);
	if (sk->gso_segs != k.gso_segs)
		printf("BAD view gso_segs %u, socket %u\n", sk->gso_segs, k.gso_segs);
	if ((sk->nonagle | sk->nonagle_push) != k.nonagle)
		printf("BAD view nonagle %u, socket %u\n", sk->nonagle | sk->nonagle_push, k.nonagle);
	if (sk->sk_wmem_queued != k.wmem_queued)
		printf("BAD view sk_wmem_queued %d, socket %d\n", sk->sk_wmem_queued, k.wmem_queued);
	if (ret < 0 && copied_bytes)
		printf("BAD %u bytes queued by a send that returned %d\n", copied_bytes, ret);
	if (ret >= 0 && copied_bytes != (u32)ret)
		printf("BAD %u bytes queued, the send returned %d\n", copied_bytes, ret);
	if (ret > 0 && (u32)ret <= user_len) {
		want = fnv1a(0xcbf29ce484222325ULL, user_mem, ret);
		if (want != copied_hash)
			printf("BAD the bytes queued are not the user's first %d\n", ret);
	}
	printf("S write_seq=%u wmem_queued=%d wq=%d rtx=%d\n", k.write_seq,
	       k.wmem_queued, wq.n, rtx.n);
}

/* ---- lookups ---- */

u32 shim_tcp_dst_mtu(struct sn_tcp_sock *sk)
{
	return tcp_mock_world.dst_mtu;
}

bool shim_tcp_queues_empty(struct sn_tcp_sock *sk)
{
	return !wq.n && !rtx.n;
}

bool shim_tcp_rtx_queue_empty(struct sn_tcp_sock *sk)
{
	return !rtx.n;
}

bool shim_tcp_is_send_head(struct sn_tcp_sock *sk, struct sk_buff *skb)
{
	return wq.n && wq.q[0] == skb_no(skb);
}

u32 shim_tcp_wmem_alloc(struct sn_tcp_sock *sk)
{
	u32 sum = 1;		/* sk_wmem_alloc starts at 1 */
	int i;

	for (i = 0; i < rtx.n; i++)
		if (skbs[rtx.q[i]].inflight)
			sum += skbs[rtx.q[i]].truesize;
	return sum;
}

u32 shim_tcp_skb_truesize(struct sk_buff *skb)
{
	return mskb(skb)->truesize;
}

bool shim_tcp_skb_can_coalesce(struct sk_buff *skb, u32 i, struct page *page,
			       u32 off)
{
	struct mock_skb *m = mskb(skb);

	return i && m->page[i - 1] == (int)(size_t)page &&
	       m->off[i - 1] + m->flen[i - 1] == off;
}

struct page *shim_tcp_pfrag_page(struct sn_tcp_sock *sk)
{
	return (struct page *)(size_t)k.pfrag_page;
}

u32 shim_tcp_pfrag_offset(struct sn_tcp_sock *sk)
{
	return k.pfrag_off;
}

u32 shim_tcp_pfrag_size(struct sn_tcp_sock *sk)
{
	return k.pfrag_size;
}

u32 shim_tcp_max_window(struct sn_tcp_sock *sk)
{
	return k.max_window;
}

u8 shim_tcp_num_sacks(struct sn_tcp_sock *sk)
{
	return k.num_sacks;
}

u8 shim_tcp_dsack(struct sn_tcp_sock *sk)
{
	return k.dsack;
}

int shim_tcp_sk_err(struct sn_tcp_sock *sk)
{
	return k.err;
}

u8 shim_tcp_sk_shutdown(struct sn_tcp_sock *sk)
{
	return k.shutdown;
}

u8 shim_tcp_sk_state(struct sn_tcp_sock *sk)
{
	return k.state;
}

int shim_tcp_wmem_queued(struct sn_tcp_sock *sk)
{
	return k.wmem_queued;
}

u32 shim_tcp_snd_nxt(struct sn_tcp_sock *sk)
{
	return snd_nxt();
}

struct sk_buff *shim_tcp_write_queue_tail(struct sn_tcp_sock *sk)
{
	return wq.n ? (struct sk_buff *)(size_t)wq.q[wq.n - 1] : NULL;
}

u32 shim_tcp_skb_len(struct sk_buff *skb)
{
	return mskb(skb)->len;
}

u32 shim_tcp_skb_seq(struct sk_buff *skb)
{
	return mskb(skb)->seq;
}

u32 shim_tcp_skb_end_seq(struct sk_buff *skb)
{
	return mskb(skb)->end_seq;
}

u8 shim_tcp_skb_flags(struct sk_buff *skb)
{
	return mskb(skb)->tcp_flags;
}

u8 shim_tcp_skb_eor(struct sk_buff *skb)
{
	return mskb(skb)->eor;
}

u32 shim_tcp_skb_nr_frags(struct sk_buff *skb)
{
	return mskb(skb)->nr_frags;
}

struct sk_buff *shim_tcp_send_head(struct sn_tcp_sock *sk)
{
	return wq.n ? (struct sk_buff *)(size_t)wq.q[0] : NULL;
}

u32 shim_tcp_skb_pcount(struct sk_buff *skb)
{
	return mskb(skb)->pcount;
}

bool shim_tcp_skb_is_last(struct sn_tcp_sock *sk, struct sk_buff *skb)
{
	return wq.n && wq.q[wq.n - 1] == skb_no(skb);
}

u32 shim_tcp_packets_in_flight(struct sn_tcp_sock *sk)
{
	return rtx.n - (k.left_out < (u32)rtx.n ? k.left_out : (u32)rtx.n);
}

u32 shim_tcp_snd_cwnd(struct sn_tcp_sock *sk)
{
	return k.cwnd;
}

u32 shim_tcp_wnd_end(struct sn_tcp_sock *sk)
{
	return snd_una() + k.snd_wnd;
}

u32 shim_tcp_snd_una(struct sn_tcp_sock *sk)
{
	return snd_una();
}

u32 shim_tcp_snd_sml(struct sn_tcp_sock *sk)
{
	return k.snd_sml;
}

u32 shim_tcp_packets_out(struct sn_tcp_sock *sk)
{
	return rtx.n;
}

bool shim_tcp_in_cwnd_reduction(struct sn_tcp_sock *sk)
{
	return k.cwr;
}

bool shim_tcp_xmit_plain(struct sn_tcp_sock *sk)
{
	return k.plain;
}

u32 shim_tcp_rcv_nxt(struct sn_tcp_sock *sk)
{
	return x.rcv_nxt;
}

u32 shim_tcp_inet_ports(struct sn_tcp_sock *sk)
{
	return (u32)htons(MOCK_SPORT) | (u32)htons(MOCK_DPORT) << 16;
}

bool shim_tcp_header_plain(struct sn_tcp_sock *sk)
{
	return x.hdr_plain && !k.num_sacks && !k.dsack;
}

/* ---- effects ---- */

void shim_tcp_sync_mss(struct sn_tcp_sock *sk, u32 pmtu, u32 mss)
{
	log_begin("tcp_sync_mss");
	log_sk(sk);
	log_u("pmtu", pmtu);
	log_u("mss", mss);
	log_end();
}

void shim_tcp_rate_check_app_limited(struct sn_tcp_sock *sk)
{
	log_begin("tcp_rate_check_app_limited");
	log_sk(sk);
	log_end();
}

int shim_sk_stream_wait_connect(struct sn_tcp_sock *sk, long *timeo)
{
	log_begin("sk_stream_wait_connect");
	log_sk(sk);
	log_i("timeo", *timeo);
	log_end();
	if (!*timeo)
		return -SN_EAGAIN;
	if (chance(TAPE_CONNECT, 50))
		return -SN_EPIPE;
	k.state = ESTABLISHED;
	return 0;
}

void shim_tcp_clear_async_nospace(struct sn_tcp_sock *sk)
{
	log_begin("sk_clear_bit_async_nospace");
	log_sk(sk);
	log_end();
}

bool shim_sk_flush_backlog(struct sn_tcp_sock *sk)
{
	bool ran = chance(TAPE_FLUSH, 30);

	log_begin("sk_flush_backlog");
	log_sk(sk);
	log_u("ran", ran);
	log_end();
	if (ran) {
		ack_all();
		/* a reset was among what the backlog held: tcp_reset()
		 * sets the error and tcp_done() closes the socket */
		if (chance(TAPE_FLUSH, 10)) {
			k.err = ECONNRESET;
			k.state = CLOSE;
		}
	}
	return ran;
}

struct sk_buff *shim_tcp_stream_alloc_skb(struct sn_tcp_sock *sk,
					  bool force_schedule)
{
	struct mock_skb *m;

	log_begin("tcp_stream_alloc_skb");
	log_sk(sk);
	log_u("force", force_schedule);
	if (chance(TAPE_ALLOC, 2) || nskbs + 1 >= SKB_MAX) {
		printf(" = NULL");
		log_end();
		return NULL;
	}
	m = &skbs[++nskbs];
	memset(m, 0, sizeof(*m));
	m->live = 1;
	m->truesize = SKB_TRUESIZE_EMPTY;
	printf(" = skb%d", nskbs);
	log_end();
	return (struct sk_buff *)(size_t)nskbs;
}

void shim_tcp_skb_entail(struct sn_tcp_sock *sk, struct sk_buff *skb, u32 seq)
{
	struct mock_skb *m = mskb(skb);

	log_begin("tcp_skb_entail");
	log_sk(sk);
	log_skb("skb", skb);
	log_u("seq", seq);
	log_end();
	if (seq != k.write_seq)
		printf("BAD entail at %u, write_seq %u\n", seq, k.write_seq);
	m->seq = m->end_seq = seq;
	m->tcp_flags = SN_TCPHDR_ACK;
	q_push(&wq, skb_no(skb));
	k.wmem_queued += m->truesize;
}

bool shim_sk_page_frag_refill(struct sn_tcp_sock *sk)
{
	bool ok = true;

	log_begin("sk_page_frag_refill");
	log_sk(sk);
	if (!k.pfrag_page || k.pfrag_off + 32 > k.pfrag_size) {
		if (chance(TAPE_PAGE, 3)) {
			ok = false;
		} else {
			k.pfrag_page = ++k.npages;
			k.pfrag_off = 0;
			k.pfrag_size = chance(TAPE_PAGE, 20) ? 4096 : 32768;
		}
	}
	log_u("ok", ok);
	log_end();
	return ok;
}

int shim_tcp_wmem_schedule(struct sn_tcp_sock *sk, int copy)
{
	u32 r = tape(TAPE_SCHED) % 100;
	int got = r < 1 ? 0 : r < 3 ? copy / 2 : copy;

	log_begin("tcp_wmem_schedule");
	log_sk(sk);
	log_i("copy", copy);
	log_i("got", got);
	log_end();
	return got;
}

int shim_tcp_copy_to_page(struct sn_tcp_sock *sk, const u8 __user *from,
			  struct sk_buff *skb, struct page *page, u32 off,
			  u32 copy)
{
	struct mock_skb *m = mskb(skb);
	long at = (long)(from - user_mem);

	log_begin("skb_copy_to_page_nocache");
	log_sk(sk);
	printf(" from=user+%ld", at);
	log_skb("skb", skb);
	printf(" page=pg%d", (int)(size_t)page);
	log_u("off", off);
	log_u("copy", copy);
	if (at < 0 || at + copy > user_avail) {
		printf(" = -EFAULT");
		log_end();
		return -SN_EFAULT;
	}
	printf(" bytes=%016llx", (unsigned long long)fnv1a(0xcbf29ce484222325ULL, from, copy));
	log_end();
	if (at != copied_bytes)
		printf("BAD copy from user+%ld after %u bytes\n", at, copied_bytes);
	copied_hash = fnv1a(copied_hash, from, copy);
	copied_bytes += copy;
	m->len += copy;
	m->truesize += copy;
	k.wmem_queued += copy;
	return 0;
}

void shim_tcp_frag_size_add(struct sk_buff *skb, u32 i, u32 copy)
{
	struct mock_skb *m = mskb(skb);

	log_begin("skb_frag_size_add");
	log_skb("skb", skb);
	log_u("i", i);
	log_u("copy", copy);
	log_end();
	if (i >= m->nr_frags)
		printf("BAD frag %u of %u\n", i, m->nr_frags);
	else
		m->flen[i] += copy;
}

void shim_tcp_fill_page_desc(struct sk_buff *skb, u32 i, struct page *page,
			     u32 off, u32 copy)
{
	struct mock_skb *m = mskb(skb);

	log_begin("skb_fill_page_desc");
	log_skb("skb", skb);
	log_u("i", i);
	printf(" page=pg%d", (int)(size_t)page);
	log_u("off", off);
	log_u("copy", copy);
	log_end();
	if (i != m->nr_frags || i >= FRAGS_MAX) {
		printf("BAD frag %u after %u\n", i, m->nr_frags);
		return;
	}
	m->page[i] = (int)(size_t)page;
	m->off[i] = off;
	m->flen[i] = copy;
	m->nr_frags = i + 1;
}

void shim_tcp_pfrag_consume(struct sn_tcp_sock *sk, u32 copy)
{
	log_begin("pfrag_consume");
	log_sk(sk);
	log_u("copy", copy);
	log_end();
	k.pfrag_off += copy;
	if (k.pfrag_off > k.pfrag_size)
		printf("BAD page fragment overrun\n");
}

void shim_tcp_skb_set_flags(struct sk_buff *skb, u8 tcp_flags)
{
	log_begin("tcp_skb_set_flags");
	log_skb("skb", skb);
	log_u("flags", tcp_flags);
	log_end();
	mskb(skb)->tcp_flags = tcp_flags;
}

void shim_tcp_skb_set_end_seq(struct sk_buff *skb, u32 end_seq)
{
	struct mock_skb *m = mskb(skb);

	log_begin("tcp_skb_set_end_seq");
	log_skb("skb", skb);
	log_u("end_seq", end_seq);
	log_end();
	m->end_seq = end_seq;
	if (m->end_seq - m->seq != m->len)
		printf("BAD skb%d: %u bytes, sequence %u..%u\n", skb_no(skb),
		       m->len, m->seq, m->end_seq);
}

void shim_tcp_skb_set_eor(struct sk_buff *skb)
{
	log_begin("tcp_skb_set_eor");
	log_skb("skb", skb);
	log_end();
	mskb(skb)->eor = 1;
}

void shim_tcp_skb_pcount_reset(struct sk_buff *skb)
{
	log_begin("tcp_skb_pcount_set0");
	log_skb("skb", skb);
	log_end();
	mskb(skb)->pcount = 0;
}

void shim_tcp_set_write_seq(struct sn_tcp_sock *sk, u32 seq)
{
	log_begin("tcp_set_write_seq");
	log_sk(sk);
	log_u("seq", seq);
	log_end();
	k.write_seq = seq;
}

void shim_tcp_set_pushed_seq(struct sn_tcp_sock *sk, u32 seq)
{
	log_begin("tcp_set_pushed_seq");
	log_sk(sk);
	log_u("seq", seq);
	log_end();
	k.pushed_seq = seq;
}

void shim_tcp_set_snd_up(struct sn_tcp_sock *sk, u32 seq)
{
	log_begin("tcp_set_snd_up");
	log_sk(sk);
	log_u("seq", seq);
	log_end();
	k.snd_up = seq;
}

void shim_tcp_set_nonagle(struct sn_tcp_sock *sk, u8 nonagle)
{
	log_begin("tcp_set_nonagle");
	log_sk(sk);
	log_u("nonagle", nonagle);
	log_end();
	k.nonagle = nonagle;
}

void shim_tcp_set_gso_segs(struct sn_tcp_sock *sk, u16 segs)
{
	log_begin("tcp_set_gso_segs");
	log_sk(sk);
	log_u("segs", segs);
	log_end();
	k.gso_segs = segs;
}

void shim_tcp_set_nospace(struct sn_tcp_sock *sk)
{
	log_begin("set_bit_sock_nospace");
	log_sk(sk);
	log_end();
}

int shim_sk_stream_wait_memory(struct sn_tcp_sock *sk, long *timeo)
{
	u32 r = tape(TAPE_WAIT) % 100;
	int err = 0;

	log_begin("sk_stream_wait_memory");
	log_sk(sk);
	log_i("timeo", *timeo);
	if (k.err || (k.shutdown & SN_SEND_SHUTDOWN))
		err = -SN_EPIPE;
	else if (!*timeo)
		err = -SN_EAGAIN;
	else if (r < 5)
		err = *timeo == 0x7fffffff ? -SN_ERESTARTSYS : -SN_EINTR;
	log_i("err", err);
	log_end();
	if (err)
		return err;
	/* The peer acknowledged everything the device sent. */
	while (wq.n)
		xmit_head();
	ack_all();
	if (*timeo != 0x7fffffff && *timeo > 0)
		*timeo -= 1;
	return 0;
}

void shim_tcp_autocork_throttle(struct sn_tcp_sock *sk)
{
	log_begin("tcp_autocork_throttle");
	log_sk(sk);
	log_end();
}

void shim_tcp_push_pending_frames(struct sn_tcp_sock *sk, u32 mss_now,
				  int nonagle)
{
	log_begin("__tcp_push_pending_frames");
	log_sk(sk);
	log_u("mss", mss_now);
	log_i("nonagle", nonagle);
	log_end();
	/* Nagle and cork hold a short tail while data is in flight. */
	while (wq.n) {
		struct mock_skb *m = &skbs[wq.q[0]];

		if (m->len < mss_now && rtx.n &&
		    ((nonagle & SN_TCP_NAGLE_CORK) || !(nonagle & SN_TCP_NAGLE_OFF)) &&
		    !(nonagle & SN_TCP_NAGLE_PUSH))
			break;
		xmit_head();
	}
}

void shim_tcp_push_one(struct sn_tcp_sock *sk, u32 mss_now)
{
	log_begin("tcp_push_one");
	log_sk(sk);
	log_u("mss", mss_now);
	log_end();
	if (wq.n)
		xmit_head();
}

void shim_tcp_mstamp_refresh(struct sn_tcp_sock *sk)
{
	x.clock += 1 + tape(TAPE_HDR) % 3;
	log_begin("tcp_mstamp_refresh");
	log_sk(sk);
	log_end();
}

void shim_tcp_skb_pcount_one(struct sk_buff *skb)
{
	log_begin("tcp_set_skb_tso_segs");
	log_skb("skb", skb);
	log_end();
	mskb(skb)->pcount = 1;
}

bool shim_tcp_small_queue_check(struct sn_tcp_sock *sk, struct sk_buff *skb)
{
	bool held = !k.tsq_room && rtx.n > 1;

	log_begin("tcp_small_queue_check");
	log_sk(sk);
	log_skb("skb", skb);
	log_u("held", held);
	log_end();
	return held;
}

int shim_tcp_transmit_skb(struct sn_tcp_sock *sk, struct sk_buff *skb,
			  bool push_one)
{
	struct mock_skb *m = mskb(skb);
	int err = chance(TAPE_XMIT, 2) ? -SN_ENOBUFS : 0;

	log_begin("__tcp_transmit_skb");
	log_sk(sk);
	log_skb("skb", skb);
	log_u("seq", m->seq);
	log_u("end_seq", m->end_seq);
	log_u("flags", m->tcp_flags);
	log_u("push_one", push_one);
	log_i("err", err);
	log_end();
	if (m->pcount != 1)
		printf("BAD skb%d sent with %u segments\n", skb_no(skb), m->pcount);
	return err;
}

void shim_tcp_event_new_data_sent(struct sn_tcp_sock *sk, struct sk_buff *skb)
{
	log_begin("tcp_event_new_data_sent");
	log_sk(sk);
	log_skb("skb", skb);
	log_end();
	if (!wq.n || wq.q[0] != skb_no(skb)) {
		printf("BAD skb%d sent is not the send head\n", skb_no(skb));
		return;
	}
	xmit_head();
}

void shim_tcp_set_snd_sml(struct sn_tcp_sock *sk, u32 seq)
{
	log_begin("tcp_minshall_update");
	log_sk(sk);
	log_u("snd_sml", seq);
	log_end();
	k.snd_sml = seq;
}

void shim_tcp_chrono_rwnd(struct sn_tcp_sock *sk, bool limited)
{
	log_begin(limited ? "tcp_chrono_start_rwnd" : "tcp_chrono_stop_rwnd");
	log_sk(sk);
	log_end();
}

void shim_tcp_cwnd_validate(struct sn_tcp_sock *sk, bool is_cwnd_limited)
{
	log_begin("tcp_cwnd_validate");
	log_sk(sk);
	log_u("cwnd_limited", is_cwnd_limited);
	log_end();
}

void shim_tcp_add_prr_out(struct sn_tcp_sock *sk, u32 pkts)
{
	log_begin("tcp_prr_out_add");
	log_sk(sk);
	log_u("pkts", pkts);
	log_end();
}

void shim_tcp_schedule_loss_probe(struct sn_tcp_sock *sk)
{
	log_begin("tcp_schedule_loss_probe");
	log_sk(sk);
	log_end();
}

void shim_tcp_check_probe_timer(struct sn_tcp_sock *sk)
{
	log_begin("tcp_check_probe_timer");
	log_sk(sk);
	log_end();
}

void shim_tcp_tx_timestamp(struct sn_tcp_sock *sk, u32 tsflags)
{
	log_begin("tcp_tx_timestamp");
	log_sk(sk);
	log_u("tsflags", tsflags);
	log_end();
}

void shim_tcp_remove_skb(struct sn_tcp_sock *sk, struct sk_buff *skb)
{
	int n = skb_no(skb);

	log_begin("tcp_remove_empty_skb");
	log_sk(sk);
	log_skb("skb", skb);
	log_end();
	if (!wq.n || wq.q[wq.n - 1] != n) {
		printf("BAD skb%d is not the write queue's tail\n", n);
		return;
	}
	wq.n--;
	skb_free(n);
}

int shim_tcp_sock_error(struct sn_tcp_sock *sk)
{
	int err = -k.err;

	log_begin("sock_error");
	log_sk(sk);
	log_i("err", err);
	log_end();
	k.err = 0;
	return err;
}

void shim_send_sigpipe(void)
{
	log_begin("send_sig_sigpipe");
	log_end();
}

void shim_tcp_write_space(struct sn_tcp_sock *sk)
{
	log_begin("sk_write_space");
	log_sk(sk);
	log_end();
}

/* ---- __tcp_transmit_skb()'s steps ---- */

/* The clone being built, from its handle. */
static int clone_of(struct sk_buff *clone)
{
	long n = (long)(size_t)clone - CLONE_BASE;

	if (!xc.skb || n != xc.skb) {
		printf("BAD clone handle %ld (building the clone of skb%d)\n",
		       (long)(size_t)clone, xc.skb);
		exit(3);
	}
	return (int)n;
}

static void log_clone(struct sk_buff *clone)
{
	printf(" clone=skb%d", clone_of(clone));
}

static void log_hex(const char *key, const u8 *p, u32 n)
{
	u32 i;

	printf(" %s=", key);
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
}

struct sk_buff *shim_tcp_xmit_clone(struct sn_tcp_sock *sk, struct sk_buff *skb,
				    bool push_one)
{
	struct mock_skb *m = mskb(skb);
	bool fail = chance(TAPE_XMIT, 1);

	log_begin("tcp_xmit_clone");
	log_sk(sk);
	log_skb("skb", skb);
	log_u("push_one", push_one);
	log_u("fail", fail);
	log_end();
	if (m->pcount != 1)
		printf("BAD skb%d sent with %u segments\n", skb_no(skb), m->pcount);
	if (xc.skb)
		printf("BAD clone of skb%d still being built\n", xc.skb);
	if (fail)
		return NULL;
	memset(&xc, 0, sizeof(xc));
	xc.skb = skb_no(skb);
	return (struct sk_buff *)(size_t)(CLONE_BASE + xc.skb);
}

void shim_tcp_xmit_own(struct sn_tcp_sock *sk, struct sk_buff *clone, u32 hlen)
{
	u32 want = SN_TCPHDR_LEN + (sk->tstamp_ok ? SN_TCPOLEN_TSTAMP_ALIGNED : 0);

	log_begin("tcp_xmit_own");
	log_sk(sk);
	log_clone(clone);
	log_u("hlen", hlen);
	log_end();
	if (hlen != want || hlen > sizeof(xc.hdr))
		printf("BAD header of %u bytes, the socket's options take %u\n", hlen, want);
	else
		xc.hlen = hlen;
}

u32 shim_tcp_select_window(struct sn_tcp_sock *sk)
{
	u32 window = tape(TAPE_HDR) % 65536;

	log_begin("tcp_select_window");
	log_sk(sk);
	log_u("window", window);
	log_end();
	return window;
}

static void put_be16(u8 *p, u32 v)
{
	u16 be = htons((u16)v);

	memcpy(p, &be, 2);
}

static void put_be32(u8 *p, u32 v)
{
	u32 be = htonl(v);

	memcpy(p, &be, 4);
}

void shim_tcp_put_header(struct sn_tcp_sock *sk, struct sk_buff *clone,
			 u32 ports, u32 seq, u32 ack_seq, u32 doff_flags,
			 u32 window)
{
	struct mock_skb *m = &skbs[clone_of(clone)];
	u16 sport = (u16)ports, dport = (u16)(ports >> 16);
	u8 *h = xc.hdr;

	memcpy(h, &sport, 2);
	memcpy(h + 2, &dport, 2);
	put_be32(h + 4, seq);
	put_be32(h + 8, ack_seq);
	put_be16(h + 12, doff_flags);
	put_be16(h + 14, window);
	memset(h + 16, 0, 4);		/* check, urg_ptr */
	xc.written = SN_TCPHDR_LEN;
	log_begin("tcp_put_header");
	log_sk(sk);
	log_clone(clone);
	log_hex("th", h, SN_TCPHDR_LEN);
	log_end();
	if (ports != shim_tcp_inet_ports(sk))
		printf("BAD header ports %#x, the socket's %#x\n", ports,
		       shim_tcp_inet_ports(sk));
	if (seq != m->seq || ack_seq != x.rcv_nxt)
		printf("BAD header seq %u ack %u, skb%d seq %u, rcv_nxt %u\n",
		       seq, ack_seq, xc.skb, m->seq, x.rcv_nxt);
	if ((doff_flags & 0xff) != m->tcp_flags || (doff_flags >> 12) * 4 != xc.hlen)
		printf("BAD header doff/flags %#x, skb%d flags %#x, %u header bytes\n",
		       doff_flags, xc.skb, m->tcp_flags, xc.hlen);
}

void shim_tcp_put_timestamps(struct sn_tcp_sock *sk, struct sk_buff *clone)
{
	u8 *o = xc.hdr + SN_TCPHDR_LEN;

	clone_of(clone);
	if (xc.written != SN_TCPHDR_LEN)
		printf("BAD options before the header\n");
	/* NOP, NOP, TIMESTAMP, TCPOLEN_TIMESTAMP */
	put_be32(o, 0x0101080a);
	put_be32(o + 4, x.clock);
	put_be32(o + 8, x.ts_recent);
	xc.written += SN_TCPOLEN_TSTAMP_ALIGNED;
	log_begin("tcp_put_timestamps");
	log_sk(sk);
	log_clone(clone);
	log_hex("opt", o, SN_TCPOLEN_TSTAMP_ALIGNED);
	log_end();
}

void shim_tcp_v4_send_check(struct sn_tcp_sock *sk, struct sk_buff *clone)
{
	log_begin("tcp_v4_send_check");
	log_sk(sk);
	log_clone(clone);
	log_end();
	if (xc.written != xc.hlen || !xc.hlen)
		printf("BAD checksum over %u header bytes written of %u\n",
		       xc.written, xc.hlen);
}

void shim_tcp_event_ack_sent(struct sn_tcp_sock *sk, u32 rcv_nxt)
{
	log_begin("tcp_event_ack_sent");
	log_sk(sk);
	log_u("rcv_nxt", rcv_nxt);
	log_end();
}

void shim_tcp_event_data_sent(struct sn_tcp_sock *sk, u32 len)
{
	log_begin("tcp_event_data_sent");
	log_sk(sk);
	log_u("len", len);
	log_end();
	if (len != skbs[xc.skb].len)
		printf("BAD data sent %u bytes, skb%d holds %u\n", len, xc.skb,
		       skbs[xc.skb].len);
}

void shim_tcp_outsegs(struct sn_tcp_sock *sk)
{
	log_begin("tcp_mib_outsegs");
	log_sk(sk);
	log_end();
}

void shim_tcp_xmit_finish(struct sn_tcp_sock *sk, struct sk_buff *clone)
{
	log_begin("tcp_xmit_finish");
	log_sk(sk);
	log_clone(clone);
	log_end();
}

int shim_ip_queue_xmit(struct sn_tcp_sock *sk, struct sk_buff *clone)
{
	u32 r = tape(TAPE_XMIT) % 100;
	int err = r < 1 ? -SN_ENETUNREACH : r < 2 ? SN_NET_XMIT_DROP :
		  r < 4 ? SN_NET_XMIT_CN : 0;

	log_begin("ip_queue_xmit");
	log_sk(sk);
	log_clone(clone);
	log_hex("hdr", xc.hdr, xc.written);
	log_i("err", err);
	log_end();
	if (xc.written != xc.hlen || !xc.hlen)
		printf("BAD clone of skb%d queued with %u of %u header bytes\n",
		       xc.skb, xc.written, xc.hlen);
	xc.skb = 0;		/* IP owns it now */
	return err;
}

void shim_tcp_enter_cwr(struct sn_tcp_sock *sk)
{
	log_begin("tcp_enter_cwr");
	log_sk(sk);
	log_end();
}

void shim_tcp_update_skb_after_send(struct sn_tcp_sock *sk, struct sk_buff *skb)
{
	log_begin("tcp_update_skb_after_send");
	log_sk(sk);
	log_skb("skb", skb);
	log_end();
}

void shim_tcp_rate_skb_sent(struct sn_tcp_sock *sk, struct sk_buff *skb)
{
	log_begin("tcp_rate_skb_sent");
	log_sk(sk);
	log_skb("skb", skb);
	log_end();
}
