// SPDX-License-Identifier: GPL-2.0
/*
 * tcp.c - the generic TCP/IPv4 send path: Linux 6.1's tcp_sendmsg_locked()
 * (net/ipv4/tcp.c) up to tcp_push(), with what it calls that decides the
 * segments: tcp_send_mss(), tcp_current_mss() and tcp_established_options()
 * (tcp_output.c), tcp_xmit_size_goal(), tcp_bound_to_half_wnd(),
 * sk_stream_memory_free() with tcp_stream_memory_free(), tcp_skb_entail(),
 * tcp_mark_push(), forced_push(), tcp_push() with tcp_should_autocork(),
 * tcp_remove_empty_skb() and sk_stream_error(). The transmit engine's
 * fast case is tcp_xmit.c's. The kernel functions it calls without
 * deciding anything (allocation, copy, sleeping) are shims (tcp_shim.h).
 *
 * The kernel's loop jumps backward (goto restart, goto new_segment) and
 * into its own body (goto wait_for_space). The subset the specializer
 * reads has forward gotos only (specializer/SUBSET.md), so the loop is cut
 * where it jumps, and nothing else changes:
 *
 *  - sn_tcp_send_segments() is the loop as long as it does not jump: it
 *    returns 0 when every byte is in, a negative errno for do_error, or
 *    where it would jump (SN_TCP_WAIT_FOR_SPACE, SN_TCP_RESTART,
 *    SN_TCP_NEW_SEGMENT);
 *  - sn_tcp_send_slow() (tcp_slow.c) does what the kernel does at that
 *    label and runs the loop again, until it ends;
 *  - the copy into page fragments of one skb (tcp_copy.c) loops
 *    while the page fragment runs out before the skb's share is in. The
 *    kernel goes round its main loop for that: with the same tail skb,
 *    copy = size_goal - skb->len > 0 and no push (skb->len < size_goal),
 *    which is exactly this inner loop.
 *
 * An ADU of k * MSS on a socket whose write queue cannot be joined then
 * runs straight through sn_tcp_send_segments(): k new skbs, each filled
 * and pushed, the loop's trip count known from the length alone.
 */
#include "tcp.h"

/* msg_data_left() */
static inline u32 sn_tcp_data_left(struct sn_tcp_send *s)
{
	return s->iov_len - s->iov_off;
}

/*
 * tcp_established_options() of a socket without TCP-MD5, MPTCP or BPF
 * header options, sizing only (skb NULL): the bytes of options every
 * segment sent now carries.
 */
static u32 sn_tcp_established_options(struct sn_tcp_sock *tp)
{
	u32 size = 0;
	u32 eff_sacks;

	if (tp->tstamp_ok)
		size += SN_TCPOLEN_TSTAMP_ALIGNED;

	eff_sacks = tp->num_sacks + tp->dsack;
	if (eff_sacks) {
		const u32 remaining = SN_MAX_TCP_OPTION_SPACE - size;
		u32 blocks;

		if (remaining < SN_TCPOLEN_SACK_BASE_ALIGNED +
				SN_TCPOLEN_SACK_PERBLOCK)
			return size;
		blocks = (remaining - SN_TCPOLEN_SACK_BASE_ALIGNED) /
			 SN_TCPOLEN_SACK_PERBLOCK;
		if (blocks > eff_sacks)
			blocks = eff_sacks;
		size += SN_TCPOLEN_SACK_BASE_ALIGNED +
			blocks * SN_TCPOLEN_SACK_PERBLOCK;
	}
	return size;
}

/* tcp_bound_to_half_wnd() */
static int sn_tcp_bound_to_half_wnd(struct sn_tcp_sock *tp, int pktsize)
{
	int cutoff;

	/* The cutoff is never negative, so a size of 0 (no GSO: the size
	 * goal asks with sk_gso_max_size 0) passes as it is. Tested first,
	 * it stays known when the peer's window is not (tcp.decl). */
	if (pktsize <= 0)
		return pktsize;

	/* A peer with a tiny window gets sub-MSS packets; a big one gets
	 * at most half its window per packet. */
	if (tp->max_window > SN_TCP_MSS_DEFAULT)
		cutoff = tp->max_window >> 1;
	else
		cutoff = tp->max_window;

	if (cutoff && pktsize > cutoff) {
		int floor = 68U - tp->tcp_header_len;

		return cutoff > floor ? cutoff : floor;
	}
	return pktsize;
}

/* tcp_mtu_to_mss() with __tcp_mtu_to_mss() of IPv4 (no fragment header):
 * the MSS a path MTU leaves with the options mss_cache assumes. */
static int sn_tcp_mtu_to_mss(struct sn_tcp_sock *tp, int pmtu)
{
	int mss_now = pmtu - SN_IPHDR_LEN - SN_TCPHDR_LEN;

	/* mss_clamp: what the peer announced (options not included) */
	if (mss_now > tp->mss_clamp)
		mss_now = tp->mss_clamp;
	mss_now -= tp->icsk_ext_hdr_len;
	/* room for every TCP option and 8 bytes of data */
	if (mss_now < tp->sk_net->sysctl_tcp_min_snd_mss)
		mss_now = tp->sk_net->sysctl_tcp_min_snd_mss;
	return mss_now - (tp->tcp_header_len - SN_TCPHDR_LEN);
}

/* tcp_sync_mss(): the MSS for a new path MTU; the shim stores it. */
static u32 sn_tcp_sync_mss(struct sn_tcp_sock *tp, u32 pmtu)
{
	int mss_now = sn_tcp_mtu_to_mss(tp, pmtu);

	mss_now = sn_tcp_bound_to_half_wnd(tp, mss_now);
	/* MTU probing caps it at what its last successful probe carried */
	if (tp->mtup_enabled) {
		int probed = sn_tcp_mtu_to_mss(tp, tp->mtup_search_low);

		if (probed < mss_now)
			mss_now = probed;
	}
	shim_tcp_sync_mss(tp, pmtu, mss_now);
	return mss_now;
}

/* tcp_current_mss(): the MSS for segments sent now (bytes). */
static u32 sn_tcp_current_mss(struct sn_tcp_sock *tp)
{
	u32 mss_now = tp->mss_cache;
	u32 mtu = shim_tcp_dst_mtu(tp);
	u32 header_len;

	/* The route's MTU moved (PMTU discovery): resize the MSS. */
	if (mtu && mtu != tp->icsk_pmtu_cookie)
		mss_now = sn_tcp_sync_mss(tp, mtu);

	/* mss_cache assumes the options of tcp_header_len; SACK blocks of
	 * the moment take more room. */
	header_len = sn_tcp_established_options(tp) + SN_TCPHDR_LEN;
	if (header_len != tp->tcp_header_len) {
		int delta = (int)header_len - tp->tcp_header_len;

		mss_now -= delta;
	}
	return mss_now;
}

static void sn_tcp_set_gso_segs(struct sn_tcp_sock *tp, u16 segs)
{
	tp->gso_segs = segs;
	shim_tcp_set_gso_segs(tp, segs);
}

/* tcp_xmit_size_goal(): how many bytes one skb takes (GSO: several MSS). */
static u32 sn_tcp_xmit_size_goal(struct sn_tcp_sock *tp, u32 mss_now,
				 int large_allowed)
{
	u32 new_size_goal, size_goal;

	if (!large_allowed)
		return mss_now;

	new_size_goal = sn_tcp_bound_to_half_wnd(tp, tp->sk_gso_max_size);

	/* tp->gso_segs caches the result: no divide unless it moved */
	size_goal = tp->gso_segs * mss_now;
	if (new_size_goal < size_goal ||
	    new_size_goal >= size_goal + mss_now) {
		u16 segs = (u16)(new_size_goal / mss_now);

		if (segs > tp->sk_gso_max_segs)
			segs = tp->sk_gso_max_segs;
		sn_tcp_set_gso_segs(tp, segs);
		size_goal = tp->gso_segs * mss_now;
	}
	return size_goal > mss_now ? size_goal : mss_now;
}

/* tcp_send_mss() */
int sn_tcp_send_mss(struct sn_tcp_sock *tp, int *size_goal, u32 flags)
{
	int mss_now = sn_tcp_current_mss(tp);

	*size_goal = sn_tcp_xmit_size_goal(tp, mss_now, !(flags & SN_MSG_OOB));
	return mss_now;
}

/* tcp_skb_can_collapse_to() */
static bool sn_tcp_skb_can_collapse_to(struct sn_tcp_skb *skb)
{
	return !skb->eor;
}

void sn_tcp_skb_set_flags(struct sn_tcp_skb *skb, u8 tcp_flags)
{
	skb->tcp_flags = tcp_flags;
	shim_tcp_skb_set_flags(skb->skb, tcp_flags);
}

void sn_tcp_set_write_seq(struct sn_tcp_sock *tp, u32 seq)
{
	tp->write_seq = seq;
	shim_tcp_set_write_seq(tp, seq);
}

/* tcp_mark_push() */
void sn_tcp_mark_push(struct sn_tcp_sock *tp, struct sn_tcp_skb *skb)
{
	sn_tcp_skb_set_flags(skb, skb->tcp_flags | SN_TCPHDR_PSH);
	tp->pushed_seq = tp->write_seq;
	shim_tcp_set_pushed_seq(tp, tp->pushed_seq);
}

/* forced_push(): half the peer's largest window went out unpushed. */
static bool sn_forced_push(struct sn_tcp_sock *tp)
{
	return sn_tcp_after(tp->write_seq, tp->pushed_seq + (tp->max_window >> 1));
}

/* sk_stream_memory_free() with tcp_stream_memory_free(sk, 0). */
static bool sn_sk_stream_memory_free(struct sn_tcp_sock *tp)
{
	u32 notsent_bytes, lowat;

	if (tp->sk_wmem_queued >= tp->sk_sndbuf)
		return false;
	notsent_bytes = tp->write_seq - shim_tcp_snd_nxt(tp);
	/* tcp_notsent_lowat() */
	lowat = tp->notsent_lowat;
	if (!lowat)
		lowat = tp->sk_net->sysctl_tcp_notsent_lowat;
	return notsent_bytes < lowat;
}

/* tcp_skb_entail(): a new, empty skb at the write queue's tail. */
static void sn_tcp_skb_entail(struct sn_tcp_sock *tp, struct sn_tcp_send *s,
			      struct sk_buff *skb)
{
	struct sn_tcp_skb *tail = &s->tail;

	shim_tcp_skb_entail(tp, skb, tp->write_seq);
	tail->skb = skb;
	tail->len = 0;
	tail->seq = tp->write_seq;
	tail->end_seq = tp->write_seq;
	tail->tcp_flags = SN_TCPHDR_ACK;
	tail->eor = 0;
	tail->nr_frags = 0;
	tp->sk_wmem_queued += shim_tcp_skb_truesize(skb);
	/* A push that TCP_NODELAY or uncorking asked for is done by now. */
	if (tp->nonagle_push) {
		tp->nonagle_push = 0;
		shim_tcp_set_nonagle(tp, tp->nonagle);
	}
}

/* tcp_should_autocork(): hold a small skb back while earlier ones are
 * still in the qdisc or the device (TSQ completion pushes it). */
static bool sn_tcp_should_autocork(struct sn_tcp_sock *tp,
				   struct sn_tcp_skb *skb, int size_goal)
{
	return skb->len < size_goal &&
	       tp->sk_net->sysctl_tcp_autocorking &&
	       !shim_tcp_rtx_queue_empty(tp) &&
	       shim_tcp_wmem_alloc(tp) > shim_tcp_skb_truesize(skb->skb) &&
	       sn_tcp_skb_can_collapse_to(skb);
}

/* tcp_push() */
void sn_tcp_push(struct sn_tcp_sock *tp, struct sn_tcp_skb *skb,
			u32 flags, int mss_now, int nonagle, int size_goal)
{

	if (!skb->skb)
		return;
	if (!(flags & SN_MSG_MORE) || sn_forced_push(tp))
		sn_tcp_mark_push(tp, skb);

	/* tcp_mark_urg() */
	if (flags & SN_MSG_OOB) {
		tp->snd_up = tp->write_seq;
		shim_tcp_set_snd_up(tp, tp->snd_up);
	}

	if (sn_tcp_should_autocork(tp, skb, size_goal)) {
		shim_tcp_autocork_throttle(tp);
		/* TX completion may have come before TSQ_THROTTLED was set */
		if (shim_tcp_wmem_alloc(tp) > shim_tcp_skb_truesize(skb->skb))
			return;
	}

	if (flags & SN_MSG_MORE)
		nonagle = SN_TCP_NAGLE_CORK;

	sn_tcp_push_pending_frames(tp, mss_now, nonagle);
}

/* The write queue's tail as the view shows it. */
static void sn_tcp_tail_get(struct sn_tcp_sock *tp, struct sn_tcp_skb *tail)
{
	tail->skb = tp->wq_tail.skb;
	/* An EOR tail (or none) takes no data: only a tail that may be
	 * joined has a length that matters to the send (the loop's copy);
	 * the send overwrites both when it queues an skb. */
	tail->len = tp->wq_tail.eor ? 0 : tp->wq_tail.len;
	tail->seq = tp->wq_tail.seq;
	tail->end_seq = tp->wq_tail.end_seq;
	tail->tcp_flags = tp->wq_tail.tcp_flags;
	tail->eor = tp->wq_tail.eor;
	tail->nr_frags = tp->wq_tail.nr_frags;
}

/*
 * What the peer may have changed while the socket was released or its
 * backlog ran (ACKs, window updates, SACK blocks, a reset): read it again,
 * so that nothing the guards fixed is taken as still known.
 */
void sn_tcp_reread_peer(struct sn_tcp_sock *tp)
{
	tp->sk_state = shim_tcp_sk_state(tp);
	tp->max_window = shim_tcp_max_window(tp);
	tp->num_sacks = shim_tcp_num_sacks(tp);
	tp->dsack = shim_tcp_dsack(tp);
	tp->sk_wmem_queued = shim_tcp_wmem_queued(tp);
}

/* sn_tcp_reread_peer() and the write queue's tail. */
void sn_tcp_reread(struct sn_tcp_sock *tp, struct sn_tcp_send *s)
{
	struct sn_tcp_skb *tail = &s->tail;

	sn_tcp_reread_peer(tp);
	tail->skb = shim_tcp_write_queue_tail(tp);
	if (!tail->skb) {
		/* nothing to join (tcp.h) */
		tail->len = 0;
		tail->eor = 1;
		return;
	}
	tail->len = shim_tcp_skb_len(tail->skb);
	tail->seq = shim_tcp_skb_seq(tail->skb);
	tail->end_seq = shim_tcp_skb_end_seq(tail->skb);
	tail->tcp_flags = shim_tcp_skb_flags(tail->skb);
	tail->eor = shim_tcp_skb_eor(tail->skb);
	tail->nr_frags = shim_tcp_skb_nr_frags(tail->skb);
}

/*
 * The kernel loop's new_segment: a fresh skb at the write queue's tail.
 * 0, or where the kernel jumps instead.
 */
static int sn_tcp_new_segment(struct sn_tcp_sock *tp, struct sn_tcp_send *s)
{
	struct sk_buff *skb;
	bool first_skb;

	if (!sn_sk_stream_memory_free(tp))
		return SN_TCP_WAIT_FOR_SPACE;

	/* Let ACKs that queued up meanwhile free memory every 16 skbs. */
	if (s->process_backlog >= 16) {
		s->process_backlog = 0;
		if (shim_sk_flush_backlog(tp))
			return SN_TCP_RESTART;
	}
	first_skb = shim_tcp_queues_empty(tp);
	skb = shim_tcp_stream_alloc_skb(tp, first_skb);
	if (!skb)
		return SN_TCP_WAIT_FOR_SPACE;

	s->process_backlog++;
	sn_tcp_skb_entail(tp, s, skb);
	return 0;
}

/*
 * A copy that stopped part way: the bytes that did go in count, as they
 * do in the kernel's loop, before it jumps.
 */
static void sn_tcp_account_partial(struct sn_tcp_send *s,
				   struct sn_tcp_skb *skb, int done)
{
	skb->len += done;
	s->iov_off += done;
	s->copied += done;
}

/*
 * The body of tcp_sendmsg_locked()'s loop while it does not jump (see
 * top). force_new: the kernel came here by goto new_segment.
 */
int sn_tcp_send_segments(struct sn_tcp_sock *tp, struct sn_tcp_send *s,
				bool force_new)
{
	while (sn_tcp_data_left(s)) {
		struct sn_tcp_skb *skb = &s->tail;	/* tcp_write_queue_tail() */
		struct sn_tcp_skb cur;
		int copy;
		int done;
		int err;

		/* The kernel takes copy = 0 without a tail; the view of an
		 * empty queue is marked EOR (tcp.h), which decides the same
		 * below, so the length is taken as it is. */
		copy = s->size_goal - skb->len;

		/* The kernel tests copy <= 0 first: both tests are free of
		 * effects, and an EOR tail (or none) decides without the
		 * length. */
		if (force_new || !sn_tcp_skb_can_collapse_to(skb) || copy <= 0) {
			force_new = false;
			err = sn_tcp_new_segment(tp, s);
			if (err)
				return err;
			copy = s->size_goal;
		}

		/* Try to append data to the end of skb. */
		if (copy > sn_tcp_data_left(s))
			copy = sn_tcp_data_left(s);

		/* What the copy changes of the skb goes through a local of
		 * its own: s stays where the specializer follows it. */
		cur.skb = skb->skb;
		cur.nr_frags = skb->nr_frags;
		cur.tcp_flags = skb->tcp_flags;
		cur.end_seq = skb->end_seq;
		err = sn_tcp_copy_to_skb(tp, s->iov_base + s->iov_off, &cur, copy,
					 s->copied, &done);
		skb->nr_frags = cur.nr_frags;
		skb->tcp_flags = cur.tcp_flags;
		skb->end_seq = cur.end_seq;
		if (err) {
			sn_tcp_account_partial(s, skb, done);
			return err;
		}
		skb->len += copy;
		s->iov_off += copy;
		s->copied += copy;

		if (!sn_tcp_data_left(s)) {
			if (s->flags & SN_MSG_EOR) {
				skb->eor = 1;
				shim_tcp_skb_set_eor(skb->skb);
			}
			return 0;
		}

		if (skb->len < s->size_goal || (s->flags & SN_MSG_OOB))
			continue;

		if (sn_forced_push(tp)) {
			sn_tcp_mark_push(tp, skb);
			sn_tcp_push_pending_frames(tp, s->mss_now,
						   SN_TCP_NAGLE_PUSH);
		} else if (shim_tcp_is_send_head(tp, skb->skb)) {
			sn_tcp_push_one(tp, s->mss_now, skb);
		}
	}
	return 0;
}

/* restart: the MSS and size goal again, and the socket still sending. */
int sn_tcp_restart(struct sn_tcp_sock *tp, struct sn_tcp_send *s)
{
	s->mss_now = sn_tcp_send_mss(tp, &s->size_goal, s->flags);
	if (shim_tcp_sk_err(tp) ||
	    (shim_tcp_sk_shutdown(tp) & SN_SEND_SHUTDOWN))
		return -SN_EPIPE;
	return 0;
}

/*
 * tcp_sendmsg_locked(): queue len bytes from the user at buf on a TCP
 * socket whose lock the caller holds, and push them. The bytes queued,
 * or a negative errno when none were.
 */
int sn_tcp_sendmsg_locked(struct sn_tcp_sock *tp, const u8 __user *buf,
			  u32 len, u32 flags)
{
	struct sn_tcp_send s = { 0 };
	int err;

	s.iov_base = buf;
	s.iov_len = len;
	s.flags = flags;
	sn_tcp_tail_get(tp, &s.tail);

	/* MSG_ZEROCOPY without SO_ZEROCOPY is ignored, as in the kernel;
	 * SO_ZEROCOPY is not rendered. */
	if (flags & SN_MSG_FASTOPEN) {
		/* tcp_sendmsg_fastopen() with net.ipv4.tcp_fastopen's client
		 * bit clear (Fast Open is not rendered) */
		return sn_tcp_send_error(tp, flags, -SN_EOPNOTSUPP);
	}

	s.timeo = (flags & SN_MSG_DONTWAIT) ? 0 : tp->sk_sndtimeo;

	shim_tcp_rate_check_app_limited(tp);

	/* Wait for a connection to finish (passive Fast Open is not
	 * rendered). */
	if ((1 << tp->sk_state) & ~(SN_TCP_ESTABLISHED_F | SN_TCP_CLOSE_WAIT_F)) {
		err = shim_sk_stream_wait_connect(tp, &s.timeo);
		sn_tcp_reread(tp, &s);
		if (err)
			goto do_error;
	}

	shim_tcp_clear_async_nospace(tp);

	err = sn_tcp_restart(tp, &s);
	if (err)
		goto do_error;
	err = sn_tcp_send_segments(tp, &s, false);
	if (err) {
		err = sn_tcp_send_slow(tp, &s, err);
		sn_tcp_reread_peer(tp);
	}
	if (err)
		goto do_error;
	goto out;

do_error:
	sn_tcp_remove_empty_skb(tp, &s);
	if (!s.copied)
		return sn_tcp_send_error(tp, flags, err);
out:
	if (s.copied) {
		if (tp->sk_tsflags)
			shim_tcp_tx_timestamp(tp, tp->sk_tsflags);
		sn_tcp_push(tp, &s.tail, flags, s.mss_now,
			    tp->nonagle | tp->nonagle_push, s.size_goal);
	}
	return s.copied;
}
