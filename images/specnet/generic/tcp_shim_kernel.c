// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_shim_kernel.c - tcp_shim.h on the real kernel (SPECBED_KERNEL):
 * every shim is the kernel function, inline or macro it stands for, on
 * the socket behind the view (struct sn_tcp_ksock).
 *
 * The caller holds the socket lock, as tcp_sendmsg() does around
 * tcp_sendmsg_locked(), and refreshes the view's state first
 * (sn_tcp_kernel_refresh). The generic path changes the socket only
 * through the effects below, and mirrors each change in the view.
 *
 * Functions the shim calls that Linux 6.1 does not export: 0007 exports
 * tcp_stream_alloc_skb, tcp_skb_entail, sk_forced_mem_schedule (in
 * tcp_wmem_schedule, copied below), __tcp_push_pending_frames,
 * tcp_push_one and tcp_chrono_stop; 0008 the transmit engine's steps
 * (tcp_mstamp_refresh, tcp_small_queue_check, __tcp_transmit_skb,
 * tcp_event_new_data_sent, tcp_cwnd_validate, tcp_schedule_loss_probe,
 * tcp_chrono_start) and the steps of __tcp_transmit_skb (tcp_select_window,
 * tcp_event_ack_sent, tcp_event_data_sent, tcp_update_skb_after_send,
 * tcp_rate_skb_sent). A module build needs the specbed kernel
 * (images/kernel/patches).
 */
#ifdef SPECBED_KERNEL

/* The views first: kernel headers #define some of their field names. */
#include "tcp_shim_kernel.h"

#include <linux/rwsem.h>
#include <linux/sched/signal.h>
#include <linux/skbuff.h>
#include <linux/uio.h>
#include <net/ip.h>
#include <net/sock.h>
#include <net/tcp.h>

static struct sock *ksk(struct sn_tcp_sock *v)
{
	return container_of(v, struct sn_tcp_ksock, v)->sk;
}

/* ---- views ---- */

void sn_tcp_kernel_bind(struct sn_tcp_ksock *ks, struct sock *sk)
{
	struct net *net = sock_net(sk);
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct tcp_sock *tp = tcp_sk(sk);
	struct sn_tcp_sock *v = &ks->v;

	ks->sk = sk;
	ks->net.sysctl_tcp_min_snd_mss = READ_ONCE(net->ipv4.sysctl_tcp_min_snd_mss);
	ks->net.sysctl_tcp_autocorking = READ_ONCE(net->ipv4.sysctl_tcp_autocorking);
	ks->net.sysctl_tcp_notsent_lowat = READ_ONCE(net->ipv4.sysctl_tcp_notsent_lowat);
	ks->net.sysctl_max_skb_frags = READ_ONCE(sysctl_max_skb_frags);
	v->sk_sndbuf = READ_ONCE(sk->sk_sndbuf);
	v->sk_sndtimeo = sk->sk_sndtimeo;
	v->sk_tsflags = sk->sk_tsflags;
	/* 6.1's tcp_xmit_size_goal() reads the limit whatever
	 * sk_can_gso() says: a zero limit is what makes one MSS per skb. */
	v->sk_gso_max_size = sk->sk_gso_max_size;
	v->sk_gso_max_segs = sk->sk_gso_max_segs;
	v->icsk_pmtu_cookie = icsk->icsk_pmtu_cookie;
	v->mss_cache = tp->mss_cache;
	v->mss_clamp = tp->rx_opt.mss_clamp;
	v->icsk_ext_hdr_len = icsk->icsk_ext_hdr_len;
	v->mtup_enabled = icsk->icsk_mtup.enabled;
	v->mtup_search_low = icsk->icsk_mtup.search_low;
	v->tcp_header_len = tp->tcp_header_len;
	v->tstamp_ok = tp->rx_opt.tstamp_ok;
	v->nonagle = tp->nonagle & (TCP_NAGLE_OFF | TCP_NAGLE_CORK);
	v->notsent_lowat = READ_ONCE(tp->notsent_lowat);
	sn_tcp_kernel_refresh(ks);
}

void sn_tcp_kernel_refresh(struct sn_tcp_ksock *ks)
{
	struct sock *sk = ks->sk;
	struct tcp_sock *tp = tcp_sk(sk);
	struct sn_tcp_sock *v = &ks->v;
	struct sk_buff *skb = tcp_write_queue_tail(sk);
	struct sn_tcp_skb *t = &v->wq_tail;

	sn_tcp_view_set_common(v, &ks->net, sk->sk_state);
	v->nonagle_push = tp->nonagle & TCP_NAGLE_PUSH;
	v->num_sacks = tp->rx_opt.num_sacks;
	v->dsack = tp->rx_opt.dsack;
	v->gso_segs = tp->gso_segs;
	v->sk_wmem_queued = READ_ONCE(sk->sk_wmem_queued);
	v->write_seq = tp->write_seq;
	v->pushed_seq = tp->pushed_seq;
	v->snd_up = tp->snd_up;
	v->max_window = tp->max_window;
	memset(t, 0, sizeof(*t));
	if (!skb) {
		t->eor = 1;	/* nothing to join (tcp.h) */
		return;
	}
	t->skb = skb;
	t->len = skb->len;
	t->seq = TCP_SKB_CB(skb)->seq;
	t->end_seq = TCP_SKB_CB(skb)->end_seq;
	t->tcp_flags = TCP_SKB_CB(skb)->tcp_flags;
	t->eor = TCP_SKB_CB(skb)->eor;
	t->nr_frags = skb_shinfo(skb)->nr_frags;
}

/* ---- lookups ---- */

u32 shim_tcp_dst_mtu(struct sn_tcp_sock *v)
{
	const struct dst_entry *dst = __sk_dst_get(ksk(v));

	return dst ? dst_mtu(dst) : 0;
}

bool shim_tcp_queues_empty(struct sn_tcp_sock *v)
{
	return tcp_rtx_and_write_queues_empty(ksk(v));
}

bool shim_tcp_rtx_queue_empty(struct sn_tcp_sock *v)
{
	return tcp_rtx_queue_empty(ksk(v));
}

bool shim_tcp_is_send_head(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	return skb == tcp_send_head(ksk(v));
}

u32 shim_tcp_wmem_alloc(struct sn_tcp_sock *v)
{
	return refcount_read(&ksk(v)->sk_wmem_alloc);
}

u32 shim_tcp_skb_truesize(struct sk_buff *skb)
{
	return skb->truesize;
}

bool shim_tcp_skb_can_coalesce(struct sk_buff *skb, u32 i, struct page *page,
			       u32 off)
{
	return skb_can_coalesce(skb, i, page, off);
}

struct page *shim_tcp_pfrag_page(struct sn_tcp_sock *v)
{
	return sk_page_frag(ksk(v))->page;
}

u32 shim_tcp_pfrag_offset(struct sn_tcp_sock *v)
{
	return sk_page_frag(ksk(v))->offset;
}

u32 shim_tcp_pfrag_size(struct sn_tcp_sock *v)
{
	return sk_page_frag(ksk(v))->size;
}

u32 shim_tcp_max_window(struct sn_tcp_sock *v)
{
	return tcp_sk(ksk(v))->max_window;
}

u8 shim_tcp_num_sacks(struct sn_tcp_sock *v)
{
	return tcp_sk(ksk(v))->rx_opt.num_sacks;
}

u8 shim_tcp_dsack(struct sn_tcp_sock *v)
{
	return tcp_sk(ksk(v))->rx_opt.dsack;
}

int shim_tcp_sk_err(struct sn_tcp_sock *v)
{
	return READ_ONCE(ksk(v)->sk_err);
}

u8 shim_tcp_sk_shutdown(struct sn_tcp_sock *v)
{
	return READ_ONCE(ksk(v)->sk_shutdown);
}

u8 shim_tcp_sk_state(struct sn_tcp_sock *v)
{
	return ksk(v)->sk_state;
}

int shim_tcp_wmem_queued(struct sn_tcp_sock *v)
{
	return READ_ONCE(ksk(v)->sk_wmem_queued);
}

u32 shim_tcp_snd_nxt(struct sn_tcp_sock *v)
{
	return READ_ONCE(tcp_sk(ksk(v))->snd_nxt);
}

struct sk_buff *shim_tcp_write_queue_tail(struct sn_tcp_sock *v)
{
	return tcp_write_queue_tail(ksk(v));
}

u32 shim_tcp_skb_len(struct sk_buff *skb)
{
	return skb->len;
}

u32 shim_tcp_skb_seq(struct sk_buff *skb)
{
	return TCP_SKB_CB(skb)->seq;
}

u32 shim_tcp_skb_end_seq(struct sk_buff *skb)
{
	return TCP_SKB_CB(skb)->end_seq;
}

u8 shim_tcp_skb_flags(struct sk_buff *skb)
{
	return TCP_SKB_CB(skb)->tcp_flags;
}

u8 shim_tcp_skb_eor(struct sk_buff *skb)
{
	return TCP_SKB_CB(skb)->eor;
}

u32 shim_tcp_skb_nr_frags(struct sk_buff *skb)
{
	return skb_shinfo(skb)->nr_frags;
}

struct sk_buff *shim_tcp_send_head(struct sn_tcp_sock *v)
{
	return tcp_send_head(ksk(v));
}

u32 shim_tcp_skb_pcount(struct sk_buff *skb)
{
	return tcp_skb_pcount(skb);
}

bool shim_tcp_skb_is_last(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	return tcp_skb_is_last(ksk(v), skb);
}

u32 shim_tcp_packets_in_flight(struct sn_tcp_sock *v)
{
	return tcp_packets_in_flight(tcp_sk(ksk(v)));
}

u32 shim_tcp_snd_cwnd(struct sn_tcp_sock *v)
{
	return tcp_snd_cwnd(tcp_sk(ksk(v)));
}

u32 shim_tcp_wnd_end(struct sn_tcp_sock *v)
{
	return tcp_wnd_end(tcp_sk(ksk(v)));
}

u32 shim_tcp_snd_una(struct sn_tcp_sock *v)
{
	return tcp_sk(ksk(v))->snd_una;
}

u32 shim_tcp_snd_sml(struct sn_tcp_sock *v)
{
	return tcp_sk(ksk(v))->snd_sml;
}

u32 shim_tcp_packets_out(struct sn_tcp_sock *v)
{
	return tcp_sk(ksk(v))->packets_out;
}

bool shim_tcp_in_cwnd_reduction(struct sn_tcp_sock *v)
{
	return tcp_in_cwnd_reduction(ksk(v));
}

bool shim_tcp_xmit_plain(struct sn_tcp_sock *v)
{
	struct sock *sk = ksk(v);
	struct tcp_sock *tp = tcp_sk(sk);

	if (unlikely(tp->repair) && tp->repair_queue == TCP_SEND_QUEUE)
		return false;
	return !tcp_needs_internal_pacing(sk);
}

u32 shim_tcp_rcv_nxt(struct sn_tcp_sock *v)
{
	return tcp_sk(ksk(v))->rcv_nxt;
}

u32 shim_tcp_inet_ports(struct sn_tcp_sock *v)
{
	const struct inet_sock *inet = inet_sk(ksk(v));

	return (__force u32)inet->inet_sport |
	       (__force u32)inet->inet_dport << 16;
}

bool shim_tcp_header_plain(struct sn_tcp_sock *v)
{
	struct sock *sk = ksk(v);
	struct tcp_sock *tp = tcp_sk(sk);

	/* tcp_ecn_send() does nothing without ECN */
	if (tp->ecn_flags & TCP_ECN_OK)
		return false;
	if (tp->rx_opt.num_sacks || tp->rx_opt.dsack)
		return false;
#ifdef CONFIG_TCP_MD5SIG
	if (rcu_access_pointer(tp->md5sig_info))
		return false;
#endif
	if (static_branch_unlikely(&tcp_tx_delay_enabled) && tp->tcp_tx_delay)
		return false;
	return inet_csk(sk)->icsk_af_ops == &ipv4_specific;
}

/* ---- effects ---- */

void shim_tcp_sync_mss(struct sn_tcp_sock *v, u32 pmtu, u32 mss)
{
	struct sock *sk = ksk(v);
	struct inet_connection_sock *icsk = inet_csk(sk);

	if (icsk->icsk_mtup.search_high > pmtu)
		icsk->icsk_mtup.search_high = pmtu;
	icsk->icsk_pmtu_cookie = pmtu;
	tcp_sk(sk)->mss_cache = mss;
}

void shim_tcp_rate_check_app_limited(struct sn_tcp_sock *v)
{
	tcp_rate_check_app_limited(ksk(v));
}

int shim_sk_stream_wait_connect(struct sn_tcp_sock *v, long *timeo)
{
	return sk_stream_wait_connect(ksk(v), timeo);
}

void shim_tcp_clear_async_nospace(struct sn_tcp_sock *v)
{
	sk_clear_bit(SOCKWQ_ASYNC_NOSPACE, ksk(v));
}

bool shim_sk_flush_backlog(struct sn_tcp_sock *v)
{
	return sk_flush_backlog(ksk(v));
}

struct sk_buff *shim_tcp_stream_alloc_skb(struct sn_tcp_sock *v,
					  bool force_schedule)
{
	struct sock *sk = ksk(v);

	return tcp_stream_alloc_skb(sk, 0, sk->sk_allocation, force_schedule);
}

void shim_tcp_skb_entail(struct sn_tcp_sock *v, struct sk_buff *skb, u32 seq)
{
	struct sock *sk = ksk(v);
	struct tcp_sock *tp = tcp_sk(sk);
	u8 nonagle = tp->nonagle;

	/* tcp_skb_entail() takes the sequence number from the socket,
	 * which the generic path keeps equal to the view's: seq. It also
	 * clears TCP_NAGLE_PUSH, which the generic path does itself
	 * (shim_tcp_set_nonagle): keep the bit for it. */
	tcp_skb_entail(sk, skb);
	tp->nonagle = nonagle;
	WARN_ON_ONCE(TCP_SKB_CB(skb)->seq != seq);
}

bool shim_sk_page_frag_refill(struct sn_tcp_sock *v)
{
	struct sock *sk = ksk(v);

	return sk_page_frag_refill(sk, sk_page_frag(sk));
}

/* tcp_wmem_schedule() of net/ipv4/tcp.c (static there), copied. */
int shim_tcp_wmem_schedule(struct sn_tcp_sock *v, int copy)
{
	struct sock *sk = ksk(v);
	int left;

	if (likely(sk_wmem_schedule(sk, copy)))
		return copy;

	/* We could be in trouble if we have nothing queued.
	 * Use whatever is left in sk->sk_forward_alloc and tcp_wmem[0]
	 * to guarantee some progress.
	 */
	left = sock_net(sk)->ipv4.sysctl_tcp_wmem[0] - sk->sk_wmem_queued;
	if (left > 0)
		sk_forced_mem_schedule(sk, min(left, copy));
	return min(copy, sk->sk_forward_alloc);
}

int shim_tcp_copy_to_page(struct sn_tcp_sock *v, const u8 __user *from,
			  struct sk_buff *skb, struct page *page, u32 off,
			  u32 copy)
{
	struct iovec iov;
	struct iov_iter it;
	int err;

	err = import_single_range(WRITE, (void __user *)from, copy, &iov, &it);
	if (err)
		return err;
	return skb_copy_to_page_nocache(ksk(v), &it, skb, page, off, copy);
}

void shim_tcp_frag_size_add(struct sk_buff *skb, u32 i, u32 copy)
{
	skb_frag_size_add(&skb_shinfo(skb)->frags[i], copy);
}

void shim_tcp_fill_page_desc(struct sk_buff *skb, u32 i, struct page *page,
			     u32 off, u32 copy)
{
	skb_fill_page_desc(skb, i, page, off, copy);
	page_ref_inc(page);
}

void shim_tcp_pfrag_consume(struct sn_tcp_sock *v, u32 copy)
{
	sk_page_frag(ksk(v))->offset += copy;
}

void shim_tcp_skb_set_flags(struct sk_buff *skb, u8 tcp_flags)
{
	TCP_SKB_CB(skb)->tcp_flags = tcp_flags;
}

void shim_tcp_skb_set_end_seq(struct sk_buff *skb, u32 end_seq)
{
	TCP_SKB_CB(skb)->end_seq = end_seq;
}

void shim_tcp_skb_set_eor(struct sk_buff *skb)
{
	TCP_SKB_CB(skb)->eor = 1;
}

void shim_tcp_skb_pcount_reset(struct sk_buff *skb)
{
	tcp_skb_pcount_set(skb, 0);
}

void shim_tcp_set_write_seq(struct sn_tcp_sock *v, u32 seq)
{
	WRITE_ONCE(tcp_sk(ksk(v))->write_seq, seq);
}

void shim_tcp_set_pushed_seq(struct sn_tcp_sock *v, u32 seq)
{
	tcp_sk(ksk(v))->pushed_seq = seq;
}

void shim_tcp_set_snd_up(struct sn_tcp_sock *v, u32 seq)
{
	tcp_sk(ksk(v))->snd_up = seq;
}

void shim_tcp_set_nonagle(struct sn_tcp_sock *v, u8 nonagle)
{
	tcp_sk(ksk(v))->nonagle = nonagle;
}

void shim_tcp_set_gso_segs(struct sn_tcp_sock *v, u16 segs)
{
	tcp_sk(ksk(v))->gso_segs = segs;
}

void shim_tcp_set_nospace(struct sn_tcp_sock *v)
{
	set_bit(SOCK_NOSPACE, &ksk(v)->sk_socket->flags);
}

/*
 * The socket lock is released while the send sleeps, and so is the
 * token's guard: a close that waits for the guard would otherwise wait
 * for the peer's ACKs. A token the close killed meanwhile ends the send
 * as a closed socket does (EPIPE); the caller holds its own reference
 * on the socket.
 */
int shim_sk_stream_wait_memory(struct sn_tcp_sock *v, long *timeo)
{
	struct sn_tcp_ksock *ks = container_of(v, struct sn_tcp_ksock, v);
	int err;

	if (ks->guard)
		up_read(ks->guard);
	err = sk_stream_wait_memory(ks->sk, timeo);
	if (ks->guard) {
		down_read(ks->guard);
		if (!err && !READ_ONCE(*ks->live))
			err = -EPIPE;
	}
	return err;
}

void shim_tcp_autocork_throttle(struct sn_tcp_sock *v)
{
	struct sock *sk = ksk(v);

	/* avoid atomic op if TSQ_THROTTLED bit is already set */
	if (!test_bit(TSQ_THROTTLED, &sk->sk_tsq_flags)) {
		NET_INC_STATS(sock_net(sk), LINUX_MIB_TCPAUTOCORKING);
		set_bit(TSQ_THROTTLED, &sk->sk_tsq_flags);
		smp_mb__after_atomic();
	}
}

void shim_tcp_push_pending_frames(struct sn_tcp_sock *v, u32 mss_now,
				  int nonagle)
{
	__tcp_push_pending_frames(ksk(v), mss_now, nonagle);
}

void shim_tcp_push_one(struct sn_tcp_sock *v, u32 mss_now)
{
	tcp_push_one(ksk(v), mss_now);
}

void shim_tcp_mstamp_refresh(struct sn_tcp_sock *v)
{
	tcp_mstamp_refresh(tcp_sk(ksk(v)));
}

/* tcp_set_skb_tso_segs() of an skb of at most one MSS (static there). */
void shim_tcp_skb_pcount_one(struct sk_buff *skb)
{
	tcp_skb_pcount_set(skb, 1);
	TCP_SKB_CB(skb)->tcp_gso_size = 0;
}

bool shim_tcp_small_queue_check(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	return tcp_small_queue_check(ksk(v), skb, 0);
}

int shim_tcp_transmit_skb(struct sn_tcp_sock *v, struct sk_buff *skb,
			  bool push_one)
{
	struct sock *sk = ksk(v);
	gfp_t gfp = push_one ? sk->sk_allocation : sk_gfp_mask(sk, GFP_ATOMIC);

	return __tcp_transmit_skb(sk, skb, 1, gfp, tcp_sk(sk)->rcv_nxt);
}

struct sk_buff *shim_tcp_xmit_clone(struct sn_tcp_sock *v, struct sk_buff *oskb,
				    bool push_one)
{
	struct sn_tcp_ksock *ks = container_of(v, struct sn_tcp_ksock, v);
	struct sock *sk = ks->sk;
	struct tcp_sock *tp = tcp_sk(sk);
	gfp_t gfp = push_one ? sk->sk_allocation : sk_gfp_mask(sk, GFP_ATOMIC);
	struct sk_buff *skb;

	ks->prior_wstamp = tp->tcp_wstamp_ns;
	tp->tcp_wstamp_ns = max(tp->tcp_wstamp_ns, tp->tcp_clock_cache);
	skb_set_delivery_time(oskb, tp->tcp_wstamp_ns, true);
	tcp_skb_tsorted_save(oskb) {
		if (unlikely(skb_cloned(oskb)))
			skb = pskb_copy(oskb, gfp);
		else
			skb = skb_clone(oskb, gfp);
	} tcp_skb_tsorted_restore(oskb);
	if (unlikely(!skb))
		return NULL;
	/* skb->dev is aliased with skb->rbnode.rb_left */
	skb->dev = NULL;
	return skb;
}

void shim_tcp_xmit_own(struct sn_tcp_sock *v, struct sk_buff *skb, u32 hlen)
{
	struct sock *sk = ksk(v);

	skb->ooo_okay = sk_wmem_alloc_get(sk) < SKB_TRUESIZE(1);
	skb->pfmemalloc = 0;
	skb_push(skb, hlen);
	skb_reset_transport_header(skb);
	skb_orphan(skb);
	skb->sk = sk;
	/* a data segment: never a pure ACK's __sock_wfree */
	skb->destructor = tcp_wfree;
	refcount_add(skb->truesize, &sk->sk_wmem_alloc);
	skb_set_dst_pending_confirm(skb, READ_ONCE(sk->sk_dst_pending_confirm));
	skb_shinfo(skb)->gso_type = sk->sk_gso_type;
}

u32 shim_tcp_select_window(struct sn_tcp_sock *v)
{
	return tcp_select_window(ksk(v));
}

void shim_tcp_put_header(struct sn_tcp_sock *v, struct sk_buff *skb, u32 ports,
			 u32 seq, u32 ack_seq, u32 doff_flags, u32 window)
{
	struct tcphdr *th = (struct tcphdr *)skb->data;

	th->source = (__force __be16)(ports & 0xffff);
	th->dest = (__force __be16)(ports >> 16);
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack_seq);
	*(((__be16 *)th) + 6) = htons(doff_flags);
	th->window = htons(window);
	th->check = 0;
	th->urg_ptr = 0;
}

/* tcp_options_write() of OPTION_TS alone (static there). */
void shim_tcp_put_timestamps(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	struct tcp_sock *tp = tcp_sk(ksk(v));
	__be32 *ptr = (__be32 *)(tcp_hdr(skb) + 1);

	*ptr++ = htonl((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) |
		       (TCPOPT_TIMESTAMP << 8) | TCPOLEN_TIMESTAMP);
	*ptr++ = htonl(tcp_skb_timestamp(skb) + tp->tsoffset);
	*ptr = htonl(tp->rx_opt.ts_recent);
}

void shim_tcp_v4_send_check(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	tcp_v4_send_check(ksk(v), skb);
}

void shim_tcp_event_ack_sent(struct sn_tcp_sock *v, u32 rcv_nxt)
{
	tcp_event_ack_sent(ksk(v), rcv_nxt);
}

void shim_tcp_event_data_sent(struct sn_tcp_sock *v, u32 len)
{
	struct sock *sk = ksk(v);
	struct tcp_sock *tp = tcp_sk(sk);

	tcp_event_data_sent(tp, sk);
	WRITE_ONCE(tp->data_segs_out, tp->data_segs_out + 1);
	WRITE_ONCE(tp->bytes_sent, tp->bytes_sent + len);
}

void shim_tcp_outsegs(struct sn_tcp_sock *v)
{
	TCP_ADD_STATS(sock_net(ksk(v)), TCP_MIB_OUTSEGS, 1);
}

void shim_tcp_xmit_finish(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	struct sock *sk = ksk(v);

	tcp_sk(sk)->segs_out++;
	skb_set_hash_from_sk(skb, sk);
	skb_shinfo(skb)->gso_segs = 1;
	skb_shinfo(skb)->gso_size = tcp_skb_mss(skb);
	/* Cleanup our debris for IP stacks */
	memset(skb->cb, 0, max(sizeof(struct inet_skb_parm),
			       sizeof(struct inet6_skb_parm)));
}

int shim_ip_queue_xmit(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	struct sock *sk = ksk(v);

	return ip_queue_xmit(sk, skb, &inet_sk(sk)->cork.fl);
}

void shim_tcp_enter_cwr(struct sn_tcp_sock *v)
{
	tcp_enter_cwr(ksk(v));
}

void shim_tcp_update_skb_after_send(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	struct sn_tcp_ksock *ks = container_of(v, struct sn_tcp_ksock, v);

	tcp_update_skb_after_send(ks->sk, skb, ks->prior_wstamp);
}

void shim_tcp_rate_skb_sent(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	tcp_rate_skb_sent(ksk(v), skb);
}

void shim_tcp_event_new_data_sent(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	tcp_event_new_data_sent(ksk(v), skb);
}

void shim_tcp_set_snd_sml(struct sn_tcp_sock *v, u32 seq)
{
	tcp_sk(ksk(v))->snd_sml = seq;
}

void shim_tcp_chrono_rwnd(struct sn_tcp_sock *v, bool limited)
{
	if (limited)
		tcp_chrono_start(ksk(v), TCP_CHRONO_RWND_LIMITED);
	else
		tcp_chrono_stop(ksk(v), TCP_CHRONO_RWND_LIMITED);
}

void shim_tcp_cwnd_validate(struct sn_tcp_sock *v, bool is_cwnd_limited)
{
	tcp_cwnd_validate(ksk(v), is_cwnd_limited);
}

void shim_tcp_add_prr_out(struct sn_tcp_sock *v, u32 pkts)
{
	tcp_sk(ksk(v))->prr_out += pkts;
}

void shim_tcp_schedule_loss_probe(struct sn_tcp_sock *v)
{
	tcp_schedule_loss_probe(ksk(v), false);
}

void shim_tcp_check_probe_timer(struct sn_tcp_sock *v)
{
	tcp_check_probe_timer(ksk(v));
}

/* tcp_tx_timestamp() of net/ipv4/tcp.c (static there), copied. */
void shim_tcp_tx_timestamp(struct sn_tcp_sock *v, u32 tsflags)
{
	struct sock *sk = ksk(v);
	struct sk_buff *skb = tcp_write_queue_tail(sk);

	if (unlikely(!skb))
		skb = skb_rb_last(&sk->tcp_rtx_queue);

	if (tsflags && skb) {
		struct skb_shared_info *shinfo = skb_shinfo(skb);
		struct tcp_skb_cb *tcb = TCP_SKB_CB(skb);

		sock_tx_timestamp(sk, tsflags, &shinfo->tx_flags);
		if (tsflags & SOF_TIMESTAMPING_TX_ACK)
			tcb->txstamp_ack = 1;
		if (tsflags & SOF_TIMESTAMPING_TX_RECORD_MASK)
			shinfo->tskey = TCP_SKB_CB(skb)->seq + skb->len - 1;
	}
}

void shim_tcp_remove_skb(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	struct sock *sk = ksk(v);

	tcp_unlink_write_queue(skb, sk);
	if (tcp_write_queue_empty(sk))
		tcp_chrono_stop(sk, TCP_CHRONO_BUSY);
	tcp_wmem_free_skb(sk, skb);
}

int shim_tcp_sock_error(struct sn_tcp_sock *v)
{
	return sock_error(ksk(v));
}

void shim_send_sigpipe(void)
{
	send_sig(SIGPIPE, current, 0);
}

void shim_tcp_write_space(struct sn_tcp_sock *v)
{
	struct sock *sk = ksk(v);

	READ_ONCE(sk->sk_write_space)(sk);
	tcp_chrono_stop(sk, TCP_CHRONO_SNDBUF_LIMITED);
}

#endif /* SPECBED_KERNEL */
