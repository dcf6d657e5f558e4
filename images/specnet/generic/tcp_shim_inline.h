/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcp_shim_inline.h - the TCP shim's per-skb and per-segment steps as
 * inline functions, for residual modules (SPECBED_KERNEL), as
 * shim_inline.h does for UDP's per-datagram effects.
 *
 * A residual keeps every kernel step of a send as a shim call, in order:
 * the rendered transmit engine (tcp_xmit.c) about 30 per segment sent,
 * tcp.c's queueing a dozen per skb; most are a field read or a few
 * stores, the rest a call of an exported kernel function. Out of line,
 * each cost the residual a call into the core module, its return and
 * the argument shuffling, and the kernel functions a second call.
 * Compiled into the residual, they are the same steps on the same fields
 * in the same order; a kernel function is called once, from the
 * residual. The specializer's input (tcp_shim.h, the mock) is unchanged.
 *
 * tcp_shim_kernel.c includes this file too: the out-of-line functions
 * tcp_shim.h declares, which the core exports (and the non-residual
 * paths and the kernel's fallbacks call), run these bodies. tcp.h
 * includes it last in a residual's build (SPECNET_RESIDUAL,
 * specializer/compile/kmod/Kbuild), where it maps the names of the steps
 * a residual inlines (a choice by code size, at the end of this file) to
 * the inline functions. The kernel headers they need are
 * shim_inline_kernel.h's, which a residual's build precompiles. The
 * steps of the slow cases (waits, errors, the kernel's own engine) stay
 * calls.
 */
#ifndef SPECNET_TCP_SHIM_INLINE_H
#define SPECNET_TCP_SHIM_INLINE_H

#include "tcp_shim_kernel.h"
#include "shim_inline_kernel.h"

/* The socket behind a view (struct sn_tcp_ksock). */
static inline struct sock *sn_tcp_ksk(struct sn_tcp_sock *v)
{
	return container_of(v, struct sn_tcp_ksock, v)->sk;
}

static inline u32 shim_tcp_dst_mtu_inline(struct sn_tcp_sock *v)
{
	const struct dst_entry *dst = __sk_dst_get(sn_tcp_ksk(v));

	return dst ? dst_mtu(dst) : 0;
}

static inline bool shim_tcp_queues_empty_inline(struct sn_tcp_sock *v)
{
	return tcp_rtx_and_write_queues_empty(sn_tcp_ksk(v));
}

static inline bool shim_tcp_rtx_queue_empty_inline(struct sn_tcp_sock *v)
{
	return tcp_rtx_queue_empty(sn_tcp_ksk(v));
}

static inline bool shim_tcp_is_send_head_inline(struct sn_tcp_sock *v,
						struct sk_buff *skb)
{
	return skb == tcp_send_head(sn_tcp_ksk(v));
}

static inline u32 shim_tcp_wmem_alloc_inline(struct sn_tcp_sock *v)
{
	return refcount_read(&sn_tcp_ksk(v)->sk_wmem_alloc);
}

static inline u32 shim_tcp_skb_truesize_inline(struct sk_buff *skb)
{
	return skb->truesize;
}

static inline bool
shim_tcp_skb_can_coalesce_inline(struct sk_buff *skb, u32 i, struct page *page,
				 u32 off)
{
	return skb_can_coalesce(skb, i, page, off);
}

static inline struct page *shim_tcp_pfrag_page_inline(struct sn_tcp_sock *v)
{
	return sk_page_frag(sn_tcp_ksk(v))->page;
}

static inline u32 shim_tcp_pfrag_offset_inline(struct sn_tcp_sock *v)
{
	return sk_page_frag(sn_tcp_ksk(v))->offset;
}

static inline u32 shim_tcp_pfrag_size_inline(struct sn_tcp_sock *v)
{
	return sk_page_frag(sn_tcp_ksk(v))->size;
}

static inline u32 shim_tcp_max_window_inline(struct sn_tcp_sock *v)
{
	return tcp_sk(sn_tcp_ksk(v))->max_window;
}

static inline u8 shim_tcp_num_sacks_inline(struct sn_tcp_sock *v)
{
	return tcp_sk(sn_tcp_ksk(v))->rx_opt.num_sacks;
}

static inline u8 shim_tcp_dsack_inline(struct sn_tcp_sock *v)
{
	return tcp_sk(sn_tcp_ksk(v))->rx_opt.dsack;
}

static inline int shim_tcp_sk_err_inline(struct sn_tcp_sock *v)
{
	return READ_ONCE(sn_tcp_ksk(v)->sk_err);
}

static inline u8 shim_tcp_sk_shutdown_inline(struct sn_tcp_sock *v)
{
	return READ_ONCE(sn_tcp_ksk(v)->sk_shutdown);
}

static inline int shim_tcp_wmem_queued_inline(struct sn_tcp_sock *v)
{
	return READ_ONCE(sn_tcp_ksk(v)->sk_wmem_queued);
}

static inline u32 shim_tcp_snd_nxt_inline(struct sn_tcp_sock *v)
{
	return READ_ONCE(tcp_sk(sn_tcp_ksk(v))->snd_nxt);
}

static inline struct sk_buff *
shim_tcp_write_queue_tail_inline(struct sn_tcp_sock *v)
{
	return tcp_write_queue_tail(sn_tcp_ksk(v));
}

static inline u32 shim_tcp_skb_len_inline(struct sk_buff *skb)
{
	return skb->len;
}

static inline u32 shim_tcp_skb_seq_inline(struct sk_buff *skb)
{
	return TCP_SKB_CB(skb)->seq;
}

static inline u32 shim_tcp_skb_end_seq_inline(struct sk_buff *skb)
{
	return TCP_SKB_CB(skb)->end_seq;
}

static inline u8 shim_tcp_skb_flags_inline(struct sk_buff *skb)
{
	return TCP_SKB_CB(skb)->tcp_flags;
}

static inline u8 shim_tcp_skb_eor_inline(struct sk_buff *skb)
{
	return TCP_SKB_CB(skb)->eor;
}

static inline u32 shim_tcp_skb_nr_frags_inline(struct sk_buff *skb)
{
	return skb_shinfo(skb)->nr_frags;
}

static inline struct sk_buff *shim_tcp_send_head_inline(struct sn_tcp_sock *v)
{
	return tcp_send_head(sn_tcp_ksk(v));
}

static inline u32 shim_tcp_skb_pcount_inline(struct sk_buff *skb)
{
	return tcp_skb_pcount(skb);
}

static inline bool shim_tcp_skb_is_last_inline(struct sn_tcp_sock *v,
					       struct sk_buff *skb)
{
	return tcp_skb_is_last(sn_tcp_ksk(v), skb);
}

static inline u32 shim_tcp_packets_in_flight_inline(struct sn_tcp_sock *v)
{
	return tcp_packets_in_flight(tcp_sk(sn_tcp_ksk(v)));
}

static inline u32 shim_tcp_snd_cwnd_inline(struct sn_tcp_sock *v)
{
	return tcp_snd_cwnd(tcp_sk(sn_tcp_ksk(v)));
}

static inline u32 shim_tcp_wnd_end_inline(struct sn_tcp_sock *v)
{
	return tcp_wnd_end(tcp_sk(sn_tcp_ksk(v)));
}

static inline u32 shim_tcp_snd_una_inline(struct sn_tcp_sock *v)
{
	return tcp_sk(sn_tcp_ksk(v))->snd_una;
}

static inline u32 shim_tcp_snd_sml_inline(struct sn_tcp_sock *v)
{
	return tcp_sk(sn_tcp_ksk(v))->snd_sml;
}

static inline u32 shim_tcp_packets_out_inline(struct sn_tcp_sock *v)
{
	return tcp_sk(sn_tcp_ksk(v))->packets_out;
}

static inline bool shim_tcp_in_cwnd_reduction_inline(struct sn_tcp_sock *v)
{
	return tcp_in_cwnd_reduction(sn_tcp_ksk(v));
}

static inline bool shim_tcp_xmit_plain_inline(struct sn_tcp_sock *v)
{
	struct sock *sk = sn_tcp_ksk(v);
	struct tcp_sock *tp = tcp_sk(sk);

	if (unlikely(tp->repair) && tp->repair_queue == TCP_SEND_QUEUE)
		return false;
	return !tcp_needs_internal_pacing(sk);
}

static inline u32 shim_tcp_rcv_nxt_inline(struct sn_tcp_sock *v)
{
	return tcp_sk(sn_tcp_ksk(v))->rcv_nxt;
}

static inline u32 shim_tcp_inet_ports_inline(struct sn_tcp_sock *v)
{
	const struct inet_sock *inet = inet_sk(sn_tcp_ksk(v));

	/* inet_dport: shim_inline_kernel.h undefines that macro for the views */
	return (__force u32)inet->inet_sport |
	       (__force u32)inet->sk.__sk_common.skc_dport << 16;
}

static inline bool shim_tcp_header_plain_inline(struct sn_tcp_sock *v)
{
	struct sock *sk = sn_tcp_ksk(v);
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

static inline void shim_tcp_rate_check_app_limited_inline(struct sn_tcp_sock *v)
{
	tcp_rate_check_app_limited(sn_tcp_ksk(v));
}

static inline void shim_tcp_clear_async_nospace_inline(struct sn_tcp_sock *v)
{
	sk_clear_bit(SOCKWQ_ASYNC_NOSPACE, sn_tcp_ksk(v));
}

static inline struct sk_buff *
shim_tcp_stream_alloc_skb_inline(struct sn_tcp_sock *v, bool force_schedule)
{
	struct sock *sk = sn_tcp_ksk(v);

	return tcp_stream_alloc_skb(sk, 0, sk->sk_allocation, force_schedule);
}

static inline void shim_tcp_skb_entail_inline(struct sn_tcp_sock *v,
					      struct sk_buff *skb, u32 seq)
{
	struct sock *sk = sn_tcp_ksk(v);
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

static inline void
shim_tcp_frag_size_add_inline(struct sk_buff *skb, u32 i, u32 copy)
{
	skb_frag_size_add(&skb_shinfo(skb)->frags[i], copy);
}

static inline void
shim_tcp_fill_page_desc_inline(struct sk_buff *skb, u32 i, struct page *page,
			       u32 off, u32 copy)
{
	skb_fill_page_desc(skb, i, page, off, copy);
	page_ref_inc(page);
}

static inline void
shim_tcp_pfrag_consume_inline(struct sn_tcp_sock *v, u32 copy)
{
	sk_page_frag(sn_tcp_ksk(v))->offset += copy;
}

static inline void
shim_tcp_skb_set_flags_inline(struct sk_buff *skb, u8 tcp_flags)
{
	TCP_SKB_CB(skb)->tcp_flags = tcp_flags;
}

static inline void
shim_tcp_skb_set_end_seq_inline(struct sk_buff *skb, u32 end_seq)
{
	TCP_SKB_CB(skb)->end_seq = end_seq;
}

static inline void shim_tcp_skb_set_eor_inline(struct sk_buff *skb)
{
	TCP_SKB_CB(skb)->eor = 1;
}

static inline void shim_tcp_skb_pcount_reset_inline(struct sk_buff *skb)
{
	tcp_skb_pcount_set(skb, 0);
}

static inline void shim_tcp_set_write_seq_inline(struct sn_tcp_sock *v, u32 seq)
{
	WRITE_ONCE(tcp_sk(sn_tcp_ksk(v))->write_seq, seq);
}

static inline void
shim_tcp_set_pushed_seq_inline(struct sn_tcp_sock *v, u32 seq)
{
	tcp_sk(sn_tcp_ksk(v))->pushed_seq = seq;
}

static inline void shim_tcp_set_snd_up_inline(struct sn_tcp_sock *v, u32 seq)
{
	tcp_sk(sn_tcp_ksk(v))->snd_up = seq;
}

static inline void shim_tcp_set_nonagle_inline(struct sn_tcp_sock *v,
					       u8 nonagle)
{
	tcp_sk(sn_tcp_ksk(v))->nonagle = nonagle;
}

static inline void shim_tcp_set_gso_segs_inline(struct sn_tcp_sock *v, u16 segs)
{
	tcp_sk(sn_tcp_ksk(v))->gso_segs = segs;
}

static inline void shim_tcp_autocork_throttle_inline(struct sn_tcp_sock *v)
{
	struct sock *sk = sn_tcp_ksk(v);

	/* avoid atomic op if TSQ_THROTTLED bit is already set */
	if (!test_bit(TSQ_THROTTLED, &sk->sk_tsq_flags)) {
		NET_INC_STATS(sock_net(sk), LINUX_MIB_TCPAUTOCORKING);
		set_bit(TSQ_THROTTLED, &sk->sk_tsq_flags);
		smp_mb__after_atomic();
	}
}

static inline void shim_tcp_mstamp_refresh_inline(struct sn_tcp_sock *v)
{
	tcp_mstamp_refresh(tcp_sk(sn_tcp_ksk(v)));
}

/* tcp_set_skb_tso_segs() of an skb of at most one MSS (static there). */
static inline void shim_tcp_skb_pcount_one_inline(struct sk_buff *skb)
{
	tcp_skb_pcount_set(skb, 1);
	TCP_SKB_CB(skb)->tcp_gso_size = 0;
}

static inline bool
shim_tcp_small_queue_check_inline(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	return tcp_small_queue_check(sn_tcp_ksk(v), skb, 0);
}

static inline struct sk_buff *
shim_tcp_xmit_clone_inline(struct sn_tcp_sock *v, struct sk_buff *oskb,
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

static inline void shim_tcp_xmit_own_inline(struct sn_tcp_sock *v,
					    struct sk_buff *skb, u32 hlen)
{
	struct sock *sk = sn_tcp_ksk(v);

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

static inline u32 shim_tcp_select_window_inline(struct sn_tcp_sock *v)
{
	return tcp_select_window(sn_tcp_ksk(v));
}

static inline void shim_tcp_put_header_inline(struct sn_tcp_sock *v,
					      struct sk_buff *skb, u32 ports,
					      u32 seq, u32 ack_seq,
					      u32 doff_flags, u32 window)
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
static inline void
shim_tcp_put_timestamps_inline(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	struct tcp_sock *tp = tcp_sk(sn_tcp_ksk(v));
	__be32 *ptr = (__be32 *)(tcp_hdr(skb) + 1);

	*ptr++ = htonl((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) |
		       (TCPOPT_TIMESTAMP << 8) | TCPOLEN_TIMESTAMP);
	*ptr++ = htonl(tcp_skb_timestamp(skb) + tp->tsoffset);
	*ptr = htonl(tp->rx_opt.ts_recent);
}

static inline void
shim_tcp_v4_send_check_inline(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	tcp_v4_send_check(sn_tcp_ksk(v), skb);
}

static inline void
shim_tcp_event_ack_sent_inline(struct sn_tcp_sock *v, u32 rcv_nxt)
{
	tcp_event_ack_sent(sn_tcp_ksk(v), rcv_nxt);
}

static inline void
shim_tcp_event_data_sent_inline(struct sn_tcp_sock *v, u32 len)
{
	struct sock *sk = sn_tcp_ksk(v);
	struct tcp_sock *tp = tcp_sk(sk);

	tcp_event_data_sent(tp, sk);
	WRITE_ONCE(tp->data_segs_out, tp->data_segs_out + 1);
	WRITE_ONCE(tp->bytes_sent, tp->bytes_sent + len);
}

static inline void shim_tcp_outsegs_inline(struct sn_tcp_sock *v)
{
	TCP_ADD_STATS(sock_net(sn_tcp_ksk(v)), TCP_MIB_OUTSEGS, 1);
}

static inline void shim_tcp_xmit_finish_inline(struct sn_tcp_sock *v,
					       struct sk_buff *skb)
{
	struct sock *sk = sn_tcp_ksk(v);

	tcp_sk(sk)->segs_out++;
	skb_set_hash_from_sk(skb, sk);
	skb_shinfo(skb)->gso_segs = 1;
	skb_shinfo(skb)->gso_size = tcp_skb_mss(skb);
	/* Cleanup our debris for IP stacks */
	memset(skb->cb, 0, max(sizeof(struct inet_skb_parm),
			       sizeof(struct inet6_skb_parm)));
}

static inline int shim_ip_queue_xmit_inline(struct sn_tcp_sock *v,
					    struct sk_buff *skb)
{
	struct sock *sk = sn_tcp_ksk(v);

	return ip_queue_xmit(sk, skb, &inet_sk(sk)->cork.fl);
}

static inline void shim_tcp_enter_cwr_inline(struct sn_tcp_sock *v)
{
	tcp_enter_cwr(sn_tcp_ksk(v));
}

static inline void
shim_tcp_update_skb_after_send_inline(struct sn_tcp_sock *v,
				      struct sk_buff *skb)
{
	struct sn_tcp_ksock *ks = container_of(v, struct sn_tcp_ksock, v);

	tcp_update_skb_after_send(ks->sk, skb, ks->prior_wstamp);
}

static inline void
shim_tcp_rate_skb_sent_inline(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	tcp_rate_skb_sent(sn_tcp_ksk(v), skb);
}

static inline void
shim_tcp_event_new_data_sent_inline(struct sn_tcp_sock *v, struct sk_buff *skb)
{
	tcp_event_new_data_sent(sn_tcp_ksk(v), skb);
}

static inline void shim_tcp_set_snd_sml_inline(struct sn_tcp_sock *v, u32 seq)
{
	tcp_sk(sn_tcp_ksk(v))->snd_sml = seq;
}

static inline void shim_tcp_chrono_rwnd_inline(struct sn_tcp_sock *v,
					       bool limited)
{
	if (limited)
		tcp_chrono_start(sn_tcp_ksk(v), TCP_CHRONO_RWND_LIMITED);
	else
		tcp_chrono_stop(sn_tcp_ksk(v), TCP_CHRONO_RWND_LIMITED);
}

static inline void
shim_tcp_cwnd_validate_inline(struct sn_tcp_sock *v, bool is_cwnd_limited)
{
	tcp_cwnd_validate(sn_tcp_ksk(v), is_cwnd_limited);
}

static inline void shim_tcp_add_prr_out_inline(struct sn_tcp_sock *v, u32 pkts)
{
	tcp_sk(sn_tcp_ksk(v))->prr_out += pkts;
}

static inline void shim_tcp_schedule_loss_probe_inline(struct sn_tcp_sock *v)
{
	tcp_schedule_loss_probe(sn_tcp_ksk(v), false);
}

static inline void shim_tcp_check_probe_timer_inline(struct sn_tcp_sock *v)
{
	tcp_check_probe_timer(sn_tcp_ksk(v));
}

#ifdef SPECNET_RESIDUAL
/*
 * Which steps a residual inlines is a size choice, as in shim_inline.h:
 * the shipped typical residual stays within a quarter of the kernel's
 * TCP send path on every platform (specnet.TCPMaxKernelRatio,
 * specializer/compile TestShippedSizeRatio), and each inlined step saves
 * a call's few instructions per skb or segment. With every step inline
 * the typical residual's module had 4442 / 4581 / 4832 bytes of .text
 * (i486 / p3 / sa1100: 1/3.0, 1/2.8, 1/2.7 of the kernel's path), with
 * none 2879 / 2883 / 3164.
 *
 * A step is inlined where, the others chosen, the .text of the typical
 * and the one-MSS residuals' modules together is no bigger with it
 * inline than called (or a few bytes bigger for a call per segment,
 * below): on x86 the i486's and the p3's together, on ARM the
 * SA-1110's. The bytes below are that difference, inline against
 * called (i486 / p3 / sa1100, both residuals together).
 *
 * Everywhere: field reads and stores of the socket and the skb, most
 * per skb or segment: snd_una (-208 / -155 / -112), snd_nxt (-84 / -49
 * / -40), packets out (-64 / -89 / -36), last in the queue (-64 / -51 /
 * -52), the skb's truesize (-64 / -48 / -64), its flags store (-69 /
 * -25 / -4), segment count (+1 / -42 / -40), length, sequence numbers
 * and flags (0 / -19..-35 / -8..-28 each), one segment's count (0 / -56
 * / -12), snd_sml and its store (-64 / -46 / -40, -16 / -32 / -8), the
 * window's end (-16 / 0 / -4), rcv_nxt (0 / -19 / -8) and the shutdown
 * bits (-68 / +25 / -20).
 */
#define shim_tcp_skb_truesize		shim_tcp_skb_truesize_inline
#define shim_tcp_skb_len		shim_tcp_skb_len_inline
#define shim_tcp_skb_seq		shim_tcp_skb_seq_inline
#define shim_tcp_skb_end_seq		shim_tcp_skb_end_seq_inline
#define shim_tcp_skb_flags		shim_tcp_skb_flags_inline
#define shim_tcp_skb_pcount		shim_tcp_skb_pcount_inline
#define shim_tcp_skb_is_last		shim_tcp_skb_is_last_inline
#define shim_tcp_snd_nxt		shim_tcp_snd_nxt_inline
#define shim_tcp_snd_una		shim_tcp_snd_una_inline
#define shim_tcp_snd_sml		shim_tcp_snd_sml_inline
#define shim_tcp_packets_out		shim_tcp_packets_out_inline
#define shim_tcp_wnd_end		shim_tcp_wnd_end_inline
#define shim_tcp_rcv_nxt		shim_tcp_rcv_nxt_inline
#define shim_tcp_sk_shutdown		shim_tcp_sk_shutdown_inline
#define shim_tcp_skb_set_flags		shim_tcp_skb_set_flags_inline
#define shim_tcp_skb_pcount_one		shim_tcp_skb_pcount_one_inline
#define shim_tcp_set_snd_sml		shim_tcp_set_snd_sml_inline
/*
 * x86 only: the send buffer read (-16 / -8 / +4), the EOR and pushed_seq
 * stores (-3 / -11 / +12, -23 / +2 / +28), prr_out (-2 / +1 / +12), the
 * OUTSEGS counter (-16 / -16 / +60: ARM's per-CPU add is no single
 * instruction) and the direct calls of tcp_v4_send_check, tcp_enter_cwr
 * and tcp_event_new_data_sent (0 / 0 / +8 each: on the SA-1110 the
 * socket's load from the view costs more than the call it replaces),
 * and tcp_rate_skb_sent's call per segment (below).
 */
#ifdef CONFIG_X86
#define shim_tcp_wmem_alloc		shim_tcp_wmem_alloc_inline
#define shim_tcp_skb_set_eor		shim_tcp_skb_set_eor_inline
#define shim_tcp_set_pushed_seq		shim_tcp_set_pushed_seq_inline
#define shim_tcp_add_prr_out		shim_tcp_add_prr_out_inline
#define shim_tcp_v4_send_check		shim_tcp_v4_send_check_inline
#define shim_tcp_outsegs		shim_tcp_outsegs_inline
#define shim_tcp_enter_cwr		shim_tcp_enter_cwr_inline
#define shim_tcp_event_new_data_sent	shim_tcp_event_new_data_sent_inline
#define shim_tcp_rate_skb_sent		shim_tcp_rate_skb_sent_inline
#endif
/*
 * SA-1110 only: the tests of the retransmit queue and the send head
 * (+16 / -8 / -4, +23 / +7 / -4), max_window and the SACK count (0 / +16
 * / 0 each), the socket error (0 / +32 / -8), the queued bytes (+48 / 0 /
 * 0), the congestion window (+62 / +76 / -40) and the ports (+48 / +19 /
 * -12).
 *
 * And a few bytes more for a step run per segment sent, where at most
 * 8 bytes a residual buy one call into the core fewer per segment (a
 * kernel function then called directly from the residual): on the
 * SA-1110 the calls of tcp_v4_send_check, tcp_event_new_data_sent,
 * tcp_rate_skb_sent, tcp_select_window and tcp_event_ack_sent (+8 each)
 * and of ip_queue_xmit (+16), on x86 tcp_rate_skb_sent (0 / +16). Those
 * six took the SA-1110's residuals from 2968 and 2072 bytes to 2996 and
 * 2100; event_ack_sent and select_window would add +32 / +16 and +32 /
 * 0 on x86, ip_queue_xmit +32 / +40.
 */
#ifdef CONFIG_ARM
#define shim_tcp_rtx_queue_empty	shim_tcp_rtx_queue_empty_inline
#define shim_tcp_is_send_head		shim_tcp_is_send_head_inline
#define shim_tcp_max_window		shim_tcp_max_window_inline
#define shim_tcp_num_sacks		shim_tcp_num_sacks_inline
#define shim_tcp_sk_err			shim_tcp_sk_err_inline
#define shim_tcp_wmem_queued		shim_tcp_wmem_queued_inline
#define shim_tcp_snd_cwnd		shim_tcp_snd_cwnd_inline
#define shim_tcp_inet_ports		shim_tcp_inet_ports_inline
#define shim_tcp_v4_send_check		shim_tcp_v4_send_check_inline
#define shim_tcp_event_new_data_sent	shim_tcp_event_new_data_sent_inline
#define shim_tcp_rate_skb_sent		shim_tcp_rate_skb_sent_inline
#define shim_tcp_select_window		shim_tcp_select_window_inline
#define shim_tcp_event_ack_sent		shim_tcp_event_ack_sent_inline
#define shim_ip_queue_xmit		shim_ip_queue_xmit_inline
#endif
/*
 * Calls, bigger inline on every platform: the clone (+672 /
 * +496 / +420), the ownership (+538 / +538 / +512), the timestamps and
 * the header (+288 / +256 / +452, +64 / +72 / +100), the finish (+208 /
 * +448 / +156), the entail (+197 / +235 / +292), the probe timer (+224 /
 * +246 / +248), the plain-header and plain-transmit tests (+160 / +139
 * / +136, +159 / +113 / +96), the queues-empty test (+178 / +145 /
 * +108), the send head (+80 / +348 / +176), the data-sent event (+128 /
 * +144 / +108), packets in flight (+96 / +152 / +100), the RWND chrono
 * (+141 / +101 / +108), autocork (+64 / +64 / +160), the allocation (+48
 * / +48 / +36), the after-send accounting (+32 / +120 / +24), the others
 * +3 to +80 (async nospace, the clock refresh, the small-queue check,
 * the CWR test, cwnd validation, the loss probe, the D-SACK read; on x86
 * select_window, the ACK-sent event and ip_queue_xmit too); steps
 * neither residual calls stay calls. All inline, they took the residual
 * past a quarter of the kernel's path.
 */
#endif

#endif /* SPECNET_TCP_SHIM_INLINE_H */
