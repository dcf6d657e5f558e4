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

/* The bodies of the steps a residual may call inline (by code size): the
 * out-of-line functions below, which the core exports, run the same code. */
#include "tcp_shim_inline.h"

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
	return shim_tcp_dst_mtu_inline(v);
}

bool shim_tcp_queues_empty(struct sn_tcp_sock *v)
{
	return shim_tcp_queues_empty_inline(v);
}

bool shim_tcp_rtx_queue_empty(struct sn_tcp_sock *v)
{
	return shim_tcp_rtx_queue_empty_inline(v);
}

bool shim_tcp_is_send_head(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	return shim_tcp_is_send_head_inline(v, skb);
}

u32 shim_tcp_wmem_alloc(struct sn_tcp_sock *v)
{
	return shim_tcp_wmem_alloc_inline(v);
}

u32 shim_tcp_skb_truesize(struct sk_buff *skb)
{
	return shim_tcp_skb_truesize_inline(skb);
}

bool shim_tcp_skb_can_coalesce(struct sk_buff *skb, u32 i, struct page *page,
			       u32 off)
{
	return shim_tcp_skb_can_coalesce_inline(skb, i, page, off);
}

struct page *shim_tcp_pfrag_page(struct sn_tcp_sock *v)
{
	return shim_tcp_pfrag_page_inline(v);
}

u32 shim_tcp_pfrag_offset(struct sn_tcp_sock *v)
{
	return shim_tcp_pfrag_offset_inline(v);
}

u32 shim_tcp_pfrag_size(struct sn_tcp_sock *v)
{
	return shim_tcp_pfrag_size_inline(v);
}

u32 shim_tcp_max_window(struct sn_tcp_sock *v)
{
	return shim_tcp_max_window_inline(v);
}

u8 shim_tcp_num_sacks(struct sn_tcp_sock *v)
{
	return shim_tcp_num_sacks_inline(v);
}

u8 shim_tcp_dsack(struct sn_tcp_sock *v)
{
	return shim_tcp_dsack_inline(v);
}

int shim_tcp_sk_err(struct sn_tcp_sock *v)
{
	return shim_tcp_sk_err_inline(v);
}

u8 shim_tcp_sk_shutdown(struct sn_tcp_sock *v)
{
	return shim_tcp_sk_shutdown_inline(v);
}

u8 shim_tcp_sk_state(struct sn_tcp_sock *v)
{
	return sn_tcp_ksk(v)->sk_state;
}

int shim_tcp_wmem_queued(struct sn_tcp_sock *v)
{
	return shim_tcp_wmem_queued_inline(v);
}

u32 shim_tcp_snd_nxt(struct sn_tcp_sock *v)
{
	return shim_tcp_snd_nxt_inline(v);
}

struct sk_buff *shim_tcp_write_queue_tail(struct sn_tcp_sock *v)
{
	return shim_tcp_write_queue_tail_inline(v);
}

u32 shim_tcp_skb_len(struct sk_buff *skb)
{
	return shim_tcp_skb_len_inline(skb);
}

u32 shim_tcp_skb_seq(struct sk_buff *skb)
{
	return shim_tcp_skb_seq_inline(skb);
}

u32 shim_tcp_skb_end_seq(struct sk_buff *skb)
{
	return shim_tcp_skb_end_seq_inline(skb);
}

u8 shim_tcp_skb_flags(struct sk_buff *skb)
{
	return shim_tcp_skb_flags_inline(skb);
}

u8 shim_tcp_skb_eor(struct sk_buff *skb)
{
	return shim_tcp_skb_eor_inline(skb);
}

u32 shim_tcp_skb_nr_frags(struct sk_buff *skb)
{
	return shim_tcp_skb_nr_frags_inline(skb);
}

struct sk_buff *shim_tcp_send_head(struct sn_tcp_sock *v)
{
	return shim_tcp_send_head_inline(v);
}

u32 shim_tcp_skb_pcount(struct sk_buff *skb)
{
	return shim_tcp_skb_pcount_inline(skb);
}

bool shim_tcp_skb_is_last(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	return shim_tcp_skb_is_last_inline(v, skb);
}

u32 shim_tcp_packets_in_flight(struct sn_tcp_sock *v)
{
	return shim_tcp_packets_in_flight_inline(v);
}

u32 shim_tcp_snd_cwnd(struct sn_tcp_sock *v)
{
	return shim_tcp_snd_cwnd_inline(v);
}

u32 shim_tcp_wnd_end(struct sn_tcp_sock *v)
{
	return shim_tcp_wnd_end_inline(v);
}

u32 shim_tcp_snd_una(struct sn_tcp_sock *v)
{
	return shim_tcp_snd_una_inline(v);
}

u32 shim_tcp_snd_sml(struct sn_tcp_sock *v)
{
	return shim_tcp_snd_sml_inline(v);
}

u32 shim_tcp_packets_out(struct sn_tcp_sock *v)
{
	return shim_tcp_packets_out_inline(v);
}

bool shim_tcp_in_cwnd_reduction(struct sn_tcp_sock *v)
{
	return shim_tcp_in_cwnd_reduction_inline(v);
}

bool shim_tcp_xmit_plain(struct sn_tcp_sock *v)
{
	return shim_tcp_xmit_plain_inline(v);
}

u32 shim_tcp_rcv_nxt(struct sn_tcp_sock *v)
{
	return shim_tcp_rcv_nxt_inline(v);
}

u32 shim_tcp_inet_ports(struct sn_tcp_sock *v)
{
	return shim_tcp_inet_ports_inline(v);
}

bool shim_tcp_header_plain(struct sn_tcp_sock *v)
{
	return shim_tcp_header_plain_inline(v);
}

/* ---- effects ---- */

void shim_tcp_sync_mss(struct sn_tcp_sock *v, u32 pmtu, u32 mss)
{
	struct sock *sk = sn_tcp_ksk(v);
	struct inet_connection_sock *icsk = inet_csk(sk);

	if (icsk->icsk_mtup.search_high > pmtu)
		icsk->icsk_mtup.search_high = pmtu;
	icsk->icsk_pmtu_cookie = pmtu;
	tcp_sk(sk)->mss_cache = mss;
}

void shim_tcp_rate_check_app_limited(struct sn_tcp_sock *v)
{
	shim_tcp_rate_check_app_limited_inline(v);
}

int shim_sk_stream_wait_connect(struct sn_tcp_sock *v, long *timeo)
{
	return sk_stream_wait_connect(sn_tcp_ksk(v), timeo);
}

void shim_tcp_clear_async_nospace(struct sn_tcp_sock *v)
{
	shim_tcp_clear_async_nospace_inline(v);
}

bool shim_sk_flush_backlog(struct sn_tcp_sock *v)
{
	return sk_flush_backlog(sn_tcp_ksk(v));
}

struct sk_buff *shim_tcp_stream_alloc_skb(struct sn_tcp_sock *v,
					  bool force_schedule)
{
	return shim_tcp_stream_alloc_skb_inline(v, force_schedule);
}

void shim_tcp_skb_entail(struct sn_tcp_sock *v, struct sk_buff *skb, u32 seq)
{
	shim_tcp_skb_entail_inline(v, skb, seq);
}

bool shim_sk_page_frag_refill(struct sn_tcp_sock *v)
{
	struct sock *sk = sn_tcp_ksk(v);

	return sk_page_frag_refill(sk, sk_page_frag(sk));
}

/* tcp_wmem_schedule() of net/ipv4/tcp.c (static there), copied. */
int shim_tcp_wmem_schedule(struct sn_tcp_sock *v, int copy)
{
	struct sock *sk = sn_tcp_ksk(v);
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
	return skb_copy_to_page_nocache(sn_tcp_ksk(v), &it, skb, page, off, copy);
}

void shim_tcp_frag_size_add(struct sk_buff *skb, u32 i, u32 copy)
{
	shim_tcp_frag_size_add_inline(skb, i, copy);
}

void shim_tcp_fill_page_desc(struct sk_buff *skb, u32 i, struct page *page,
			     u32 off, u32 copy)
{
	shim_tcp_fill_page_desc_inline(skb, i, page, off, copy);
}

void shim_tcp_pfrag_consume(struct sn_tcp_sock *v, u32 copy)
{
	shim_tcp_pfrag_consume_inline(v, copy);
}

void shim_tcp_skb_set_flags(struct sk_buff *skb, u8 tcp_flags)
{
	shim_tcp_skb_set_flags_inline(skb, tcp_flags);
}

void shim_tcp_skb_set_end_seq(struct sk_buff *skb, u32 end_seq)
{
	shim_tcp_skb_set_end_seq_inline(skb, end_seq);
}

void shim_tcp_skb_set_eor(struct sk_buff *skb)
{
	shim_tcp_skb_set_eor_inline(skb);
}

void shim_tcp_skb_pcount_reset(struct sk_buff *skb)
{
	shim_tcp_skb_pcount_reset_inline(skb);
}

void shim_tcp_set_write_seq(struct sn_tcp_sock *v, u32 seq)
{
	shim_tcp_set_write_seq_inline(v, seq);
}

void shim_tcp_set_pushed_seq(struct sn_tcp_sock *v, u32 seq)
{
	shim_tcp_set_pushed_seq_inline(v, seq);
}

void shim_tcp_set_snd_up(struct sn_tcp_sock *v, u32 seq)
{
	shim_tcp_set_snd_up_inline(v, seq);
}

void shim_tcp_set_nonagle(struct sn_tcp_sock *v, u8 nonagle)
{
	shim_tcp_set_nonagle_inline(v, nonagle);
}

void shim_tcp_set_gso_segs(struct sn_tcp_sock *v, u16 segs)
{
	shim_tcp_set_gso_segs_inline(v, segs);
}

void shim_tcp_set_nospace(struct sn_tcp_sock *v)
{
	set_bit(SOCK_NOSPACE, &sn_tcp_ksk(v)->sk_socket->flags);
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
	shim_tcp_autocork_throttle_inline(v);
}

void shim_tcp_push_pending_frames(struct sn_tcp_sock *v, u32 mss_now,
				  int nonagle)
{
	__tcp_push_pending_frames(sn_tcp_ksk(v), mss_now, nonagle);
}

void shim_tcp_push_one(struct sn_tcp_sock *v, u32 mss_now)
{
	tcp_push_one(sn_tcp_ksk(v), mss_now);
}

void shim_tcp_mstamp_refresh(struct sn_tcp_sock *v)
{
	shim_tcp_mstamp_refresh_inline(v);
}

void shim_tcp_skb_pcount_one(struct sk_buff *skb)
{
	shim_tcp_skb_pcount_one_inline(skb);
}

bool shim_tcp_small_queue_check(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	return shim_tcp_small_queue_check_inline(v, skb);
}

int shim_tcp_transmit_skb(struct sn_tcp_sock *v, struct sk_buff *skb,
			  bool push_one)
{
	struct sock *sk = sn_tcp_ksk(v);
	gfp_t gfp = push_one ? sk->sk_allocation : sk_gfp_mask(sk, GFP_ATOMIC);

	return __tcp_transmit_skb(sk, skb, 1, gfp, tcp_sk(sk)->rcv_nxt);
}

struct sk_buff *shim_tcp_xmit_clone(struct sn_tcp_sock *v, struct sk_buff *oskb,
				    bool push_one)
{
	return shim_tcp_xmit_clone_inline(v, oskb, push_one);
}

void shim_tcp_xmit_own(struct sn_tcp_sock *v, struct sk_buff *skb, u32 hlen)
{
	shim_tcp_xmit_own_inline(v, skb, hlen);
}

u32 shim_tcp_select_window(struct sn_tcp_sock *v)
{
	return shim_tcp_select_window_inline(v);
}

void shim_tcp_put_header(struct sn_tcp_sock *v, struct sk_buff *skb, u32 ports,
			 u32 seq, u32 ack_seq, u32 doff_flags, u32 window)
{
	shim_tcp_put_header_inline(v, skb, ports, seq, ack_seq, doff_flags, window);
}

void shim_tcp_put_timestamps(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	shim_tcp_put_timestamps_inline(v, skb);
}

void shim_tcp_v4_send_check(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	shim_tcp_v4_send_check_inline(v, skb);
}

void shim_tcp_event_ack_sent(struct sn_tcp_sock *v, u32 rcv_nxt)
{
	shim_tcp_event_ack_sent_inline(v, rcv_nxt);
}

void shim_tcp_event_data_sent(struct sn_tcp_sock *v, u32 len)
{
	shim_tcp_event_data_sent_inline(v, len);
}

void shim_tcp_outsegs(struct sn_tcp_sock *v)
{
	shim_tcp_outsegs_inline(v);
}

void shim_tcp_xmit_finish(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	shim_tcp_xmit_finish_inline(v, skb);
}

int shim_ip_queue_xmit(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	return shim_ip_queue_xmit_inline(v, skb);
}

void shim_tcp_enter_cwr(struct sn_tcp_sock *v)
{
	shim_tcp_enter_cwr_inline(v);
}

void shim_tcp_update_skb_after_send(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	shim_tcp_update_skb_after_send_inline(v, skb);
}

void shim_tcp_rate_skb_sent(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	shim_tcp_rate_skb_sent_inline(v, skb);
}

void shim_tcp_event_new_data_sent(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	shim_tcp_event_new_data_sent_inline(v, skb);
}

void shim_tcp_set_snd_sml(struct sn_tcp_sock *v, u32 seq)
{
	shim_tcp_set_snd_sml_inline(v, seq);
}

void shim_tcp_chrono_rwnd(struct sn_tcp_sock *v, bool limited)
{
	shim_tcp_chrono_rwnd_inline(v, limited);
}

void shim_tcp_cwnd_validate(struct sn_tcp_sock *v, bool is_cwnd_limited)
{
	shim_tcp_cwnd_validate_inline(v, is_cwnd_limited);
}

void shim_tcp_add_prr_out(struct sn_tcp_sock *v, u32 pkts)
{
	shim_tcp_add_prr_out_inline(v, pkts);
}

void shim_tcp_schedule_loss_probe(struct sn_tcp_sock *v)
{
	shim_tcp_schedule_loss_probe_inline(v);
}

void shim_tcp_check_probe_timer(struct sn_tcp_sock *v)
{
	shim_tcp_check_probe_timer_inline(v);
}

/* tcp_tx_timestamp() of net/ipv4/tcp.c (static there), copied. */
void shim_tcp_tx_timestamp(struct sn_tcp_sock *v, u32 tsflags)
{
	struct sock *sk = sn_tcp_ksk(v);
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
	struct sock *sk = sn_tcp_ksk(v);

	tcp_unlink_write_queue(skb, sk);
	if (tcp_write_queue_empty(sk))
		tcp_chrono_stop(sk, TCP_CHRONO_BUSY);
	tcp_wmem_free_skb(sk, skb);
}

int shim_tcp_sock_error(struct sn_tcp_sock *v)
{
	return sock_error(sn_tcp_ksk(v));
}

void shim_send_sigpipe(void)
{
	send_sig(SIGPIPE, current, 0);
}

void shim_tcp_write_space(struct sn_tcp_sock *v)
{
	struct sock *sk = sn_tcp_ksk(v);

	READ_ONCE(sk->sk_write_space)(sk);
	tcp_chrono_stop(sk, TCP_CHRONO_SNDBUF_LIMITED);
}

#endif /* SPECBED_KERNEL */
