/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcp_shim.h - the interface between the generic TCP send path (tcp.c)
 * and the kernel: what tcp_sendmsg_locked() calls and tcp.c does not
 * render, one shim per kernel function, inline or macro.
 *
 * The markers and conventions are shim.h's (SHIM_PURE, SHIM_EFFECT,
 * SHIM_ERRNO; lengths in bytes). The TCP shims live in a header of their
 * own so that the UDP path, its core module and the shim list the core
 * exports (core.Exports reads shim.h) stay as they are.
 *
 * Kernel state the generic path reads lives in the socket's view (struct
 * sn_tcp_sock in tcp.h). A SHIM_EFFECT never writes the view: what the
 * generic path must know after an effect (an skb's truesize, the page
 * fragment it may copy into, what the backlog changed) it reads back
 * through a SHIM_PURE lookup and stores itself, so that the specializer
 * sees every change of the view.
 */
#ifndef SPECNET_TCP_SHIM_H
#define SPECNET_TCP_SHIM_H

#include "shim.h"

struct sn_tcp_sock;

/* What a page fragment is to the generic path: a handle. */
struct page;

/* ---- lookups (SHIM_PURE) ---- */

/* dst_mtu(__sk_dst_get(sk)), or 0 when the socket has no cached route. */
SHIM_PURE u32 shim_tcp_dst_mtu(struct sn_tcp_sock *sk);
/* tcp_rtx_and_write_queues_empty(sk). */
SHIM_PURE bool shim_tcp_queues_empty(struct sn_tcp_sock *sk);
/* tcp_rtx_queue_empty(sk). */
SHIM_PURE bool shim_tcp_rtx_queue_empty(struct sn_tcp_sock *sk);
/* skb == tcp_send_head(sk): the skb is the first unsent one. */
SHIM_PURE bool shim_tcp_is_send_head(struct sn_tcp_sock *sk,
				     struct sk_buff *skb);
/* refcount_read(&sk->sk_wmem_alloc): bytes in flight below the socket. */
SHIM_PURE u32 shim_tcp_wmem_alloc(struct sn_tcp_sock *sk);
/* skb->truesize. */
SHIM_PURE u32 shim_tcp_skb_truesize(struct sk_buff *skb);
/* skb_can_coalesce(skb, i, pfrag->page, pfrag->offset): the last of the
 * skb's i fragments ends where the page fragment's free part starts. */
SHIM_PURE bool shim_tcp_skb_can_coalesce(struct sk_buff *skb, u32 i,
					 struct page *page, u32 off);
/* What sk_page_frag(sk) holds after a refill: its page, the offset of its
 * free part and its size (bytes). */
SHIM_PURE struct page *shim_tcp_pfrag_page(struct sn_tcp_sock *sk);
SHIM_PURE u32 shim_tcp_pfrag_offset(struct sn_tcp_sock *sk);
SHIM_PURE u32 shim_tcp_pfrag_size(struct sn_tcp_sock *sk);
/*
 * The socket's state as the backlog (ACKs processed while the send slept
 * or flushed the backlog) left it: tp->max_window, rx_opt.num_sacks,
 * rx_opt.dsack, sk->sk_err, sk->sk_shutdown, sk->sk_wmem_queued,
 * tp->snd_nxt, sk->sk_state, and the write queue's tail
 * (tcp_write_queue_tail(): NULL when the queue is empty) with its length,
 * sequence numbers, flags, EOR mark and fragment count.
 */
SHIM_PURE u32 shim_tcp_max_window(struct sn_tcp_sock *sk);
SHIM_PURE u8 shim_tcp_num_sacks(struct sn_tcp_sock *sk);
SHIM_PURE u8 shim_tcp_dsack(struct sn_tcp_sock *sk);
SHIM_PURE int shim_tcp_sk_err(struct sn_tcp_sock *sk);
SHIM_PURE u8 shim_tcp_sk_shutdown(struct sn_tcp_sock *sk);
SHIM_PURE u8 shim_tcp_sk_state(struct sn_tcp_sock *sk);
SHIM_PURE int shim_tcp_wmem_queued(struct sn_tcp_sock *sk);
SHIM_PURE u32 shim_tcp_snd_nxt(struct sn_tcp_sock *sk);
SHIM_PURE struct sk_buff *shim_tcp_write_queue_tail(struct sn_tcp_sock *sk);
SHIM_PURE u32 shim_tcp_skb_len(struct sk_buff *skb);
SHIM_PURE u32 shim_tcp_skb_seq(struct sk_buff *skb);
SHIM_PURE u32 shim_tcp_skb_end_seq(struct sk_buff *skb);
SHIM_PURE u8 shim_tcp_skb_flags(struct sk_buff *skb);
SHIM_PURE u8 shim_tcp_skb_eor(struct sk_buff *skb);
SHIM_PURE u32 shim_tcp_skb_nr_frags(struct sk_buff *skb);

/*
 * The transmit engine's state (tcp_xmit.c): tcp_send_head(sk) (NULL when
 * every skb went out), tcp_skb_pcount(skb), whether skb is the write
 * queue's last, tcp_packets_in_flight(tp), tcp_snd_cwnd(tp),
 * tcp_wnd_end(tp) (snd_una + snd_wnd), tp->snd_una, tp->snd_sml and
 * tp->packets_out; tcp_in_cwnd_reduction(sk) (CWR or Recovery).
 * shim_tcp_xmit_plain(): neither repair mode's send queue nor internal
 * pacing (tcp_needs_internal_pacing) is in the way: the engine's rendered
 * case may run.
 */
SHIM_PURE struct sk_buff *shim_tcp_send_head(struct sn_tcp_sock *sk);
SHIM_PURE u32 shim_tcp_skb_pcount(struct sk_buff *skb);
SHIM_PURE bool shim_tcp_skb_is_last(struct sn_tcp_sock *sk,
				    struct sk_buff *skb);
SHIM_PURE u32 shim_tcp_packets_in_flight(struct sn_tcp_sock *sk);
SHIM_PURE u32 shim_tcp_snd_cwnd(struct sn_tcp_sock *sk);
SHIM_PURE u32 shim_tcp_wnd_end(struct sn_tcp_sock *sk);
SHIM_PURE u32 shim_tcp_snd_una(struct sn_tcp_sock *sk);
SHIM_PURE u32 shim_tcp_snd_sml(struct sn_tcp_sock *sk);
SHIM_PURE u32 shim_tcp_packets_out(struct sn_tcp_sock *sk);
SHIM_PURE bool shim_tcp_in_cwnd_reduction(struct sn_tcp_sock *sk);
SHIM_PURE bool shim_tcp_xmit_plain(struct sn_tcp_sock *sk);
/*
 * __tcp_transmit_skb()'s state (tcp_xmit.c renders its fast case):
 * tp->rcv_nxt; inet->inet_sport | inet->inet_dport << 16 (both network
 * order, as the header carries them); shim_tcp_header_plain(): the header
 * holds no more than timestamps and no ECN mark, the checksum and the
 * queueing are IPv4's: ECN not negotiated (tcp_ecn_send() then does
 * nothing), no SACK blocks to send (rx_opt.num_sacks and dsack
 * zero), no TCP-MD5 key, no transmit delay (TCP_TX_DELAY), the socket's
 * icsk_af_ops is ipv4_specific.
 */
SHIM_PURE u32 shim_tcp_rcv_nxt(struct sn_tcp_sock *sk);
SHIM_PURE u32 shim_tcp_inet_ports(struct sn_tcp_sock *sk);
SHIM_PURE bool shim_tcp_header_plain(struct sn_tcp_sock *sk);

/* ---- effects (SHIM_EFFECT) ---- */

/* The stores of tcp_sync_mss(sk, pmtu) (tcp.c computes mss): lower
 * icsk_mtup.search_high to pmtu, icsk_pmtu_cookie = pmtu, mss_cache = mss. */
SHIM_EFFECT void shim_tcp_sync_mss(struct sn_tcp_sock *sk, u32 pmtu, u32 mss);
/* tcp_rate_check_app_limited(sk). */
SHIM_EFFECT void shim_tcp_rate_check_app_limited(struct sn_tcp_sock *sk);
/* sk_stream_wait_connect(sk, &timeo): 0 or a negative errno. */
SHIM_EFFECT SHIM_ERRNO int shim_sk_stream_wait_connect(struct sn_tcp_sock *sk,
							long *timeo);
/* sk_clear_bit(SOCKWQ_ASYNC_NOSPACE, sk). */
SHIM_EFFECT void shim_tcp_clear_async_nospace(struct sn_tcp_sock *sk);
/* sk_flush_backlog(sk): processes the backlog; true if it held packets. */
SHIM_EFFECT bool shim_sk_flush_backlog(struct sn_tcp_sock *sk);
/* tcp_stream_alloc_skb(sk, 0, sk->sk_allocation, force_schedule): an skb
 * with MAX_TCP_HEADER of headroom, charged to the socket, or NULL. */
SHIM_EFFECT struct sk_buff *shim_tcp_stream_alloc_skb(struct sn_tcp_sock *sk,
						      bool force_schedule);
/*
 * tcp_skb_entail(): the skb's control block gets seq = end_seq = seq and
 * the ACK flag, the skb goes to the tail of the write queue and its
 * truesize is charged to sk_wmem_queued and the forward allocation;
 * tcp_slow_start_after_idle_check(). (The TCP_NAGLE_PUSH bit it clears is
 * the generic path's: tcp.c.)
 */
SHIM_EFFECT void shim_tcp_skb_entail(struct sn_tcp_sock *sk,
				     struct sk_buff *skb, u32 seq);
/* sk_page_frag_refill(sk, sk_page_frag(sk)): false when out of memory. */
SHIM_EFFECT bool shim_sk_page_frag_refill(struct sn_tcp_sock *sk);
/* tcp_wmem_schedule(sk, copy): the bytes of copy the socket may charge. */
SHIM_EFFECT int shim_tcp_wmem_schedule(struct sn_tcp_sock *sk, int copy);
/*
 * skb_copy_to_page_nocache(): copy bytes from the user at from into the
 * page at off, grow the skb (len, data_len, truesize) and charge the
 * socket (sk_wmem_queued, forward allocation). 0 or -EFAULT.
 */
SHIM_EFFECT SHIM_ERRNO int shim_tcp_copy_to_page(struct sn_tcp_sock *sk,
						  const u8 __user *from,
						  struct sk_buff *skb,
						  struct page *page, u32 off,
						  u32 copy);
/* skb_frag_size_add(&skb_shinfo(skb)->frags[i], copy). */
SHIM_EFFECT void shim_tcp_frag_size_add(struct sk_buff *skb, u32 i, u32 copy);
/* skb_fill_page_desc(skb, i, page, off, copy) and page_ref_inc(page). */
SHIM_EFFECT void shim_tcp_fill_page_desc(struct sk_buff *skb, u32 i,
					 struct page *page, u32 off, u32 copy);
/* pfrag->offset += copy on sk_page_frag(sk). */
SHIM_EFFECT void shim_tcp_pfrag_consume(struct sn_tcp_sock *sk, u32 copy);
/* The skb's control block: tcp_flags, end_seq, eor; and
 * tcp_skb_pcount_set(skb, 0). */
SHIM_EFFECT void shim_tcp_skb_set_flags(struct sk_buff *skb, u8 tcp_flags);
SHIM_EFFECT void shim_tcp_skb_set_end_seq(struct sk_buff *skb, u32 end_seq);
SHIM_EFFECT void shim_tcp_skb_set_eor(struct sk_buff *skb);
SHIM_EFFECT void shim_tcp_skb_pcount_reset(struct sk_buff *skb);
/* The socket's sequence numbers and Nagle state: WRITE_ONCE(tp->write_seq),
 * tp->pushed_seq, tp->snd_up, tp->nonagle, tp->gso_segs. */
SHIM_EFFECT void shim_tcp_set_write_seq(struct sn_tcp_sock *sk, u32 seq);
SHIM_EFFECT void shim_tcp_set_pushed_seq(struct sn_tcp_sock *sk, u32 seq);
SHIM_EFFECT void shim_tcp_set_snd_up(struct sn_tcp_sock *sk, u32 seq);
SHIM_EFFECT void shim_tcp_set_nonagle(struct sn_tcp_sock *sk, u8 nonagle);
SHIM_EFFECT void shim_tcp_set_gso_segs(struct sn_tcp_sock *sk, u16 segs);
/* set_bit(SOCK_NOSPACE, &sk->sk_socket->flags). */
SHIM_EFFECT void shim_tcp_set_nospace(struct sn_tcp_sock *sk);
/* sk_stream_wait_memory(sk, &timeo): sleeps with the socket released
 * (the backlog runs); 0 or a negative errno. */
SHIM_EFFECT SHIM_ERRNO int shim_sk_stream_wait_memory(struct sn_tcp_sock *sk,
						       long *timeo);
/* The TSQ_THROTTLED half of tcp_push()'s autocork: if the bit is clear,
 * NET_INC_STATS(LINUX_MIB_TCPAUTOCORKING) and set it. */
SHIM_EFFECT void shim_tcp_autocork_throttle(struct sn_tcp_sock *sk);
/* __tcp_push_pending_frames(sk, mss_now, nonagle): the kernel's engine,
 * for what tcp_xmit.c leaves to it. */
SHIM_EFFECT void shim_tcp_push_pending_frames(struct sn_tcp_sock *sk,
					      u32 mss_now, int nonagle);
/* tcp_push_one(sk, mss_now). */
SHIM_EFFECT void shim_tcp_push_one(struct sn_tcp_sock *sk, u32 mss_now);
/*
 * The transmit engine's steps (tcp_xmit.c renders the decisions between
 * them): tcp_mstamp_refresh(tp); tcp_skb_pcount_set(skb, 1) with
 * tcp_gso_size 0 (tcp_set_skb_tso_segs() of an skb of at most one MSS);
 * tcp_small_queue_check(sk, skb, 0), which sets TSQ_THROTTLED when it
 * holds the skb back; __tcp_transmit_skb(sk, skb, 1, gfp, tp->rcv_nxt):
 * a clone of skb to IP with its TCP header, 0 or a negative errno (gfp
 * as tcp_push_one() takes it when push_one, else as
 * __tcp_push_pending_frames()); tcp_event_new_data_sent(sk, skb): snd_nxt,
 * the skb to the retransmit queue, packets_out, the RTO; tp->snd_sml
 * (tcp_minshall_update); tcp_chrono_start/stop(sk,
 * TCP_CHRONO_RWND_LIMITED); tcp_cwnd_validate(sk, is_cwnd_limited);
 * tp->prr_out += pkts; tcp_schedule_loss_probe(sk, false);
 * tcp_check_probe_timer(sk).
 */
SHIM_EFFECT void shim_tcp_mstamp_refresh(struct sn_tcp_sock *sk);
SHIM_EFFECT void shim_tcp_skb_pcount_one(struct sk_buff *skb);
SHIM_EFFECT bool shim_tcp_small_queue_check(struct sn_tcp_sock *sk,
					    struct sk_buff *skb);
SHIM_EFFECT SHIM_ERRNO int shim_tcp_transmit_skb(struct sn_tcp_sock *sk,
						  struct sk_buff *skb,
						  bool push_one);
SHIM_EFFECT void shim_tcp_event_new_data_sent(struct sn_tcp_sock *sk,
					      struct sk_buff *skb);
SHIM_EFFECT void shim_tcp_set_snd_sml(struct sn_tcp_sock *sk, u32 seq);
SHIM_EFFECT void shim_tcp_chrono_rwnd(struct sn_tcp_sock *sk, bool limited);
SHIM_EFFECT void shim_tcp_cwnd_validate(struct sn_tcp_sock *sk,
					bool is_cwnd_limited);
SHIM_EFFECT void shim_tcp_add_prr_out(struct sn_tcp_sock *sk, u32 pkts);
SHIM_EFFECT void shim_tcp_schedule_loss_probe(struct sn_tcp_sock *sk);
SHIM_EFFECT void shim_tcp_check_probe_timer(struct sn_tcp_sock *sk);
/*
 * The steps of __tcp_transmit_skb(sk, skb, 1, gfp, rcv_nxt) for one data
 * segment (tcp_xmit.c renders the header and the decisions):
 * shim_tcp_xmit_clone(): tp->tcp_wstamp_ns = max(tcp_wstamp_ns,
 * tcp_clock_cache), skb's delivery time, the clone (pskb_copy when skb
 * is cloned already; gfp as shim_tcp_transmit_skb takes it), clone->dev
 * = NULL; NULL when out of memory. The kernel side keeps the prior
 * tcp_wstamp_ns for shim_tcp_update_skb_after_send.
 * shim_tcp_xmit_own(): ooo_okay, pfmemalloc = 0, skb_push(clone, hlen)
 * (hlen: header bytes, options in), the transport header, skb_orphan,
 * the socket as owner with tcp_wfree and clone->truesize charged to
 * sk_wmem_alloc, the route's pending confirmation, gso_type.
 * shim_tcp_select_window(): tcp_select_window(sk), the window field
 * (scaled, host order).
 * shim_tcp_put_header(): the 20 bytes of struct tcphdr: ports (as
 * shim_tcp_inet_ports has them), seq and ack_seq (host order), the word
 * of doff and flags (host order), window, check 0, urg_ptr 0.
 * shim_tcp_put_timestamps(): tcp_options_write() of the timestamps option
 * alone (NOP, NOP, TIMESTAMP, 10, tsval = tcp_skb_timestamp(clone) +
 * tsoffset, tsecr = rx_opt.ts_recent).
 * shim_tcp_v4_send_check(): tcp_v4_send_check(sk, clone).
 * shim_tcp_event_ack_sent(): tcp_event_ack_sent(sk, rcv_nxt).
 * shim_tcp_event_data_sent(): tcp_event_data_sent(tp, sk), data_segs_out
 * += 1, bytes_sent += len (payload bytes).
 * shim_tcp_outsegs(): TCP_ADD_STATS(TCP_MIB_OUTSEGS, 1).
 * shim_tcp_xmit_finish(): segs_out += 1, skb_set_hash_from_sk, gso_segs
 * = 1, gso_size = tcp_skb_mss(clone), the control block cleared for IP.
 * shim_ip_queue_xmit(): ip_queue_xmit(sk, clone, &inet->cork.fl): 0, a
 * negative errno or NET_XMIT_DROP / NET_XMIT_CN.
 * shim_tcp_enter_cwr(), shim_tcp_update_skb_after_send(sk, skb, prior
 * wstamp), shim_tcp_rate_skb_sent(sk, skb): the kernel functions.
 */
SHIM_EFFECT struct sk_buff *shim_tcp_xmit_clone(struct sn_tcp_sock *sk,
						struct sk_buff *skb,
						bool push_one);
SHIM_EFFECT void shim_tcp_xmit_own(struct sn_tcp_sock *sk,
				   struct sk_buff *clone, u32 hlen);
SHIM_EFFECT u32 shim_tcp_select_window(struct sn_tcp_sock *sk);
SHIM_EFFECT void shim_tcp_put_header(struct sn_tcp_sock *sk,
				     struct sk_buff *clone, u32 ports, u32 seq,
				     u32 ack_seq, u32 doff_flags, u32 window);
SHIM_EFFECT void shim_tcp_put_timestamps(struct sn_tcp_sock *sk,
					 struct sk_buff *clone);
SHIM_EFFECT void shim_tcp_v4_send_check(struct sn_tcp_sock *sk,
					struct sk_buff *clone);
SHIM_EFFECT void shim_tcp_event_ack_sent(struct sn_tcp_sock *sk, u32 rcv_nxt);
SHIM_EFFECT void shim_tcp_event_data_sent(struct sn_tcp_sock *sk, u32 len);
SHIM_EFFECT void shim_tcp_outsegs(struct sn_tcp_sock *sk);
SHIM_EFFECT void shim_tcp_xmit_finish(struct sn_tcp_sock *sk,
				      struct sk_buff *clone);
SHIM_EFFECT int shim_ip_queue_xmit(struct sn_tcp_sock *sk,
				   struct sk_buff *clone);
SHIM_EFFECT void shim_tcp_enter_cwr(struct sn_tcp_sock *sk);
SHIM_EFFECT void shim_tcp_update_skb_after_send(struct sn_tcp_sock *sk,
						struct sk_buff *skb);
SHIM_EFFECT void shim_tcp_rate_skb_sent(struct sn_tcp_sock *sk,
					struct sk_buff *skb);
/* tcp_tx_timestamp(sk, tsflags): the write queue's tail, or else the
 * last skb sent, records the send's timestamps. */
SHIM_EFFECT void shim_tcp_tx_timestamp(struct sn_tcp_sock *sk, u32 tsflags);
/* tcp_unlink_write_queue(skb, sk), tcp_chrono_stop(sk, TCP_CHRONO_BUSY)
 * when the queue became empty, tcp_wmem_free_skb(sk, skb). */
SHIM_EFFECT void shim_tcp_remove_skb(struct sn_tcp_sock *sk,
				     struct sk_buff *skb);
/* sock_error(sk): takes and clears sk->sk_err. */
SHIM_EFFECT SHIM_ERRNO int shim_tcp_sock_error(struct sn_tcp_sock *sk);
/* send_sig(SIGPIPE, current, 0). */
SHIM_EFFECT void shim_send_sigpipe(void);
/* sk->sk_write_space(sk) and tcp_chrono_stop(sk,
 * TCP_CHRONO_SNDBUF_LIMITED). */
SHIM_EFFECT void shim_tcp_write_space(struct sn_tcp_sock *sk);

#endif /* SPECNET_TCP_SHIM_H */
