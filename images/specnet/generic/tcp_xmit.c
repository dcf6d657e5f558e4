// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_xmit.c - the fast case of Linux 6.1's TCP transmit engine
 * (net/ipv4/tcp_output.c): __tcp_push_pending_frames() and tcp_push_one()
 * with tcp_write_xmit()'s loop over new data whose skbs hold at most one
 * MSS each: the congestion window test (tcp_cwnd_test), the receive
 * window test (tcp_snd_wnd_test), Nagle (tcp_nagle_test with
 * tcp_nagle_check and tcp_minshall_check), the skb's segment count
 * (tcp_init_tso_segs), and after the loop the accounting tcp_write_xmit()
 * decides (chronographs, cwnd validation, PRR, the loss probe).
 *
 * The steps between the decisions are the kernel's own (tcp_shim.h):
 * tcp_small_queue_check(), tcp_event_new_data_sent() and the accounting
 * functions, exported by the specbed kernel (images/kernel/patches/0008).
 * __tcp_transmit_skb() is rendered for a data segment of one MSS with a
 * plain header (sn_tcp_transmit_skb: the TCP header built here, the
 * clone, window, checksum, events and IP output are the kernel's steps).
 *
 * What this rendering leaves to the kernel's tcp_write_xmit() (the shims
 * shim_tcp_push_pending_frames and shim_tcp_push_one), so that
 * correctness there rests on the kernel:
 *  - MTU probing (tcp_mtu_probe runs first in a push of pending frames;
 *    tcp.decl makes icsk_mtup.enabled static) and a route that can GSO
 *    (sk_gso_max_size, static: TSO skbs take tcp_tso_segs,
 *    tcp_tso_should_defer, tcp_mss_split_point and tso_fragment);
 *  - repair mode's send queue and internal pacing (shim_tcp_xmit_plain);
 *  - an skb longer than the MSS met in the loop (built before an MSS
 *    change, or under GSO): the loop stops there, accounts for what it
 *    sent as the kernel's does, and the kernel's engine goes on (or
 *    does all of it, when that skb was the first).
 * A push_one of 2 (the loss probe's) is the kernel's only.
 */
#include "tcp.h"

#define SN_TCP_CLOSE	7	/* TCP_CLOSE */

/* tcp_cwnd_test() for an skb of one segment: may it go now? */
static bool sn_tcp_cwnd_room(struct sn_tcp_sock *tp, u8 tcp_flags)
{
	/* Don't be strict about the congestion window for the final FIN. */
	if (tcp_flags & SN_TCPHDR_FIN)
		return true;
	return shim_tcp_packets_in_flight(tp) < shim_tcp_snd_cwnd(tp);
}

/* tcp_minshall_check(): a sent small segment is not yet acknowledged. */
static bool sn_tcp_minshall_check(struct sn_tcp_sock *tp)
{
	u32 snd_sml = shim_tcp_snd_sml(tp);

	return sn_tcp_after(snd_sml, shim_tcp_snd_una(tp)) &&
	       !sn_tcp_after(snd_sml, shim_tcp_snd_nxt(tp));
}

/* tcp_nagle_test() with tcp_nagle_check(): may an skb of len bytes go
 * now, by Nagle's rule? */
static bool sn_tcp_nagle_test(struct sn_tcp_sock *tp, u32 len, u8 tcp_flags,
			      u32 mss_now, int nonagle)
{
	if (nonagle & SN_TCP_NAGLE_PUSH)
		return true;
	/* Urgent data (tcp_urg_mode) and the final FIN go at once. */
	if (tp->snd_up != shim_tcp_snd_una(tp) || (tcp_flags & SN_TCPHDR_FIN))
		return true;
	/* Only a partial segment waits: corked, or while a small segment
	 * sent earlier is unacknowledged (Minshall's variant). */
	if (len >= mss_now)
		return true;
	if (nonagle & SN_TCP_NAGLE_CORK)
		return false;
	return nonagle || !shim_tcp_packets_out(tp) || !sn_tcp_minshall_check(tp);
}

/* The accounting at the end of tcp_write_xmit(). */
static void sn_tcp_write_xmit_done(struct sn_tcp_sock *tp, u32 sent_pkts,
				   bool is_rwnd_limited)
{
	bool is_cwnd_limited;

	shim_tcp_chrono_rwnd(tp, is_rwnd_limited);
	is_cwnd_limited = shim_tcp_packets_in_flight(tp) >= shim_tcp_snd_cwnd(tp);
	if (sent_pkts || is_cwnd_limited)
		shim_tcp_cwnd_validate(tp, is_cwnd_limited);
	if (sent_pkts) {
		if (shim_tcp_in_cwnd_reduction(tp))
			shim_tcp_add_prr_out(tp, sent_pkts);
		/* one loss probe per tail loss episode */
		shim_tcp_schedule_loss_probe(tp);
	}
}

#define SN_TCPHDR_SYN	0x02
#define SN_TCPHDR_URG	0x20

/*
 * Whether __tcp_transmit_skb()'s fast case takes skb: not a SYN, no
 * urgent pointer to carry (tcp_urg_mode() with the segment below
 * snd_up), a plain header (shim_tcp_header_plain).
 */
static bool sn_tcp_transmit_fast(struct sn_tcp_sock *tp, struct sn_tcp_skb *skb)
{
	if (skb->tcp_flags & (SN_TCPHDR_SYN | SN_TCPHDR_URG))
		return false;
	/* tcp_urg_mode() && before(seq, snd_up), the call last: snd_up
	 * lags the data sent unless MSG_OOB moved it */
	if (sn_tcp_before(skb->seq, tp->snd_up) &&
	    tp->snd_up != shim_tcp_snd_una(tp))
		return false;
	return shim_tcp_header_plain(tp);
}

/*
 * __tcp_transmit_skb(sk, skb, 1, gfp, tp->rcv_nxt) of an skb of one
 * segment (tcp_set_skb_tso_segs ran): a clone of it goes to IP with its
 * TCP header, the length and options of which the socket's configuration
 * fixes (timestamps or none); sequence numbers, window and timestamps
 * are the send's. Every other case is the kernel's.
 */
static int sn_tcp_transmit_skb(struct sn_tcp_sock *tp, struct sn_tcp_skb *skb,
			       bool push_one)
{
	struct sk_buff *clone;
	u32 hlen = SN_TCPHDR_LEN;
	u32 rcv_nxt, window;
	int err;

	if (!sn_tcp_transmit_fast(tp, skb))
		return shim_tcp_transmit_skb(tp, skb->skb, push_one);
	rcv_nxt = shim_tcp_rcv_nxt(tp);
	clone = shim_tcp_xmit_clone(tp, skb->skb, push_one);
	if (!clone)
		return -SN_ENOBUFS;
	/* tcp_established_options(): timestamps, when negotiated */
	if (tp->tstamp_ok)
		hlen += SN_TCPOLEN_TSTAMP_ALIGNED;
	shim_tcp_xmit_own(tp, clone, hlen);
	window = shim_tcp_select_window(tp);
	shim_tcp_put_header(tp, clone, shim_tcp_inet_ports(tp), skb->seq,
			    rcv_nxt, (hlen >> 2) << 12 | skb->tcp_flags,
			    window);
	if (tp->tstamp_ok)
		shim_tcp_put_timestamps(tp, clone);
	shim_tcp_v4_send_check(tp, clone);
	if (skb->tcp_flags & SN_TCPHDR_ACK)
		shim_tcp_event_ack_sent(tp, rcv_nxt);
	if (skb->len)
		shim_tcp_event_data_sent(tp, skb->len);
	if (sn_tcp_after(skb->end_seq, shim_tcp_snd_nxt(tp)) ||
	    skb->seq == skb->end_seq)
		shim_tcp_outsegs(tp);
	shim_tcp_xmit_finish(tp, clone);

	err = shim_ip_queue_xmit(tp, clone);
	if (err > 0) {
		shim_tcp_enter_cwr(tp);
		/* net_xmit_eval(): congestion is no loss */
		if (err == SN_NET_XMIT_CN)
			err = 0;
	}
	if (!err) {
		shim_tcp_update_skb_after_send(tp, skb->skb);
		shim_tcp_rate_skb_sent(tp, skb->skb);
	}
	return err;
}

/* What one turn of tcp_write_xmit()'s loop did with the send head. */
#define SN_XMIT_SENT	0	/* sent: the loop goes on */
#define SN_XMIT_HELD	1	/* a window, Nagle or TSQ held it back */
#define SN_XMIT_RWND	2	/* the receive window held it back */
#define SN_XMIT_KERNEL	3	/* several segments: the kernel's engine */

/*
 * One turn of tcp_write_xmit()'s loop on the send head, skb (its fields
 * as the view of the write queue's tail has them, or read for it).
 */
static int sn_tcp_xmit_skb(struct sn_tcp_sock *tp, struct sn_tcp_skb *skb,
			   u32 mss_now, int nonagle, bool push_one)
{
	if (skb->len > mss_now)
		return SN_XMIT_KERNEL;
	/* tcp_init_tso_segs(): one segment, whatever it said */
	if (shim_tcp_skb_pcount(skb->skb) != 1)
		shim_tcp_skb_pcount_one(skb->skb);

	if (!sn_tcp_cwnd_room(tp, skb->tcp_flags))
		return SN_XMIT_HELD;
	/* tcp_snd_wnd_test(): the segment ends inside the window */
	if (sn_tcp_after(skb->end_seq, shim_tcp_wnd_end(tp)))
		return SN_XMIT_RWND;
	/* Nagle holds back only the queue's last skb. */
	if (!(nonagle & SN_TCP_NAGLE_PUSH) && !shim_tcp_skb_is_last(tp, skb->skb))
		nonagle = SN_TCP_NAGLE_PUSH;
	if (!sn_tcp_nagle_test(tp, skb->len, skb->tcp_flags, mss_now, nonagle))
		return SN_XMIT_HELD;
	if (shim_tcp_small_queue_check(tp, skb->skb))
		return SN_XMIT_HELD;
	/* An empty skb: a sender sleeps for memory after queueing it; no
	 * pure ACK goes out of the write queue. */
	if (skb->end_seq == skb->seq)
		return SN_XMIT_HELD;
	if (sn_tcp_transmit_skb(tp, skb, push_one))
		return SN_XMIT_HELD;

	shim_tcp_event_new_data_sent(tp, skb->skb);
	/* tcp_minshall_update() */
	if (skb->len < mss_now)
		shim_tcp_set_snd_sml(tp, skb->end_seq);
	return SN_XMIT_SENT;
}

/*
 * tcp_write_xmit() without push_one, for skbs of one segment: true when
 * nothing is in flight and the queue holds data that cannot go now (the
 * caller arms the probe timer). *rest: the loop met an skb of several
 * segments, which the kernel's engine must send (see top).
 */
static bool sn_tcp_write_xmit(struct sn_tcp_sock *tp, u32 mss_now, int nonagle,
			      bool *rest)
{
	struct sn_tcp_skb skb;
	u32 sent_pkts = 0;
	int st = SN_XMIT_HELD;

	shim_tcp_mstamp_refresh(tp);
	while ((skb.skb = shim_tcp_send_head(tp))) {
		skb.len = shim_tcp_skb_len(skb.skb);
		skb.seq = shim_tcp_skb_seq(skb.skb);
		skb.end_seq = shim_tcp_skb_end_seq(skb.skb);
		skb.tcp_flags = shim_tcp_skb_flags(skb.skb);
		st = sn_tcp_xmit_skb(tp, &skb, mss_now, nonagle, false);
		if (st != SN_XMIT_SENT)
			break;
		sent_pkts++;
	}
	*rest = st == SN_XMIT_KERNEL;
	/* Handed over untouched: the kernel's engine does all of it. */
	if (*rest && !sent_pkts)
		return false;
	sn_tcp_write_xmit_done(tp, sent_pkts, st == SN_XMIT_RWND);
	if (sent_pkts)
		return false;
	/* !tcp_write_queue_empty(): write_seq != snd_nxt */
	return !shim_tcp_packets_out(tp) && tp->write_seq != shim_tcp_snd_nxt(tp);
}

/* Whether the kernel's engine takes the whole push (see top). */
static bool sn_tcp_xmit_kernel(struct sn_tcp_sock *tp, bool push_one)
{
	if (tp->sk_gso_max_size)
		return true;
	if (!push_one && tp->mtup_enabled)
		return true;
	return !shim_tcp_xmit_plain(tp);
}

/* __tcp_push_pending_frames() */
void sn_tcp_push_pending_frames(struct sn_tcp_sock *tp, u32 mss_now,
				int nonagle)
{
	bool rest;

	if (sn_tcp_xmit_kernel(tp, false)) {
		shim_tcp_push_pending_frames(tp, mss_now, nonagle);
		return;
	}
	if (tp->sk_state == SN_TCP_CLOSE)
		return;
	if (sn_tcp_write_xmit(tp, mss_now, nonagle, &rest))
		shim_tcp_check_probe_timer(tp);
	if (rest)
		shim_tcp_push_pending_frames(tp, mss_now, nonagle);
}

/*
 * tcp_push_one(): tcp_write_xmit() with push_one on the send head, which
 * the caller found to be skb, the write queue's tail it just filled.
 */
void sn_tcp_push_one(struct sn_tcp_sock *tp, u32 mss_now,
		     struct sn_tcp_skb *skb)
{
	int st;

	if (sn_tcp_xmit_kernel(tp, true)) {
		shim_tcp_push_one(tp, mss_now);
		return;
	}
	shim_tcp_mstamp_refresh(tp);
	st = sn_tcp_xmit_skb(tp, skb, mss_now, SN_TCP_NAGLE_PUSH, true);
	if (st == SN_XMIT_KERNEL) {
		shim_tcp_push_one(tp, mss_now);
		return;
	}
	sn_tcp_write_xmit_done(tp, st == SN_XMIT_SENT, st == SN_XMIT_RWND);
}
