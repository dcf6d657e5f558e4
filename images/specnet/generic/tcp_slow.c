// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_slow.c - the generic TCP send path where it leaves the straight
 * path (tcp.c): the kernel loop's wait_for_space, restart and
 * new_segment labels, and do_error's clean-up and errors.
 *
 * These functions are not among tcp.decl's sources: to the specializer
 * they are shims (tcp.h), which a residual calls with the send's state
 * instead of carrying a specialized copy of paths a customized send
 * rarely takes (a full send buffer, a backlog flush that found packets,
 * an skb out of fragments, an error). The generic path runs the same
 * code; after sn_tcp_send_slow() tcp.c reads again what the peer may
 * have changed meanwhile.
 */
#include "tcp.h"

/*
 * Where the loop jumped (st > 0): do what the kernel does at the label
 * and go round again, until the data is in (0) or do_error (< 0).
 */
int sn_tcp_send_slow(struct sn_tcp_sock *tp, struct sn_tcp_send *s, int st)
{
	while (st > 0) {
		bool force_new = false;
		int err;

		if (st == SN_TCP_WAIT_FOR_SPACE) {
			shim_tcp_set_nospace(tp);
			if (s->copied)
				sn_tcp_push(tp, &s->tail, s->flags & ~SN_MSG_MORE,
					    s->mss_now, SN_TCP_NAGLE_PUSH,
					    s->size_goal);
			err = shim_sk_stream_wait_memory(tp, &s->timeo);
			sn_tcp_reread(tp, s);
			if (err)
				return err;
			s->mss_now = sn_tcp_send_mss(tp, &s->size_goal, s->flags);
		} else if (st == SN_TCP_RESTART) {
			sn_tcp_reread(tp, s);
			err = sn_tcp_restart(tp, s);
			if (err)
				return err;
		} else {
			/* the skb's fragments are full: push it, start another */
			sn_tcp_mark_push(tp, &s->tail);
			force_new = true;
		}
		st = sn_tcp_send_segments(tp, s, force_new);
	}
	return st;
}

/* tcp_remove_empty_skb(): an skb entailed but never filled goes again. */
void sn_tcp_remove_empty_skb(struct sn_tcp_sock *tp, struct sn_tcp_send *s)
{
	struct sn_tcp_skb *tail = &s->tail;

	if (tail->skb && tail->seq == tail->end_seq) {
		tp->sk_wmem_queued -= shim_tcp_skb_truesize(tail->skb);
		shim_tcp_remove_skb(tp, tail->skb);
		sn_tcp_reread(tp, s);
	}
}

/* out_err: sk_stream_error(), and the write-space wakeup for epoll. */
int sn_tcp_send_error(struct sn_tcp_sock *tp, u32 flags, int err)
{
	if (err == -SN_EPIPE) {
		err = shim_tcp_sock_error(tp);
		if (!err)
			err = -SN_EPIPE;
	}
	if (err == -SN_EPIPE && !(flags & SN_MSG_NOSIGNAL))
		shim_send_sigpipe();
	if (err == -SN_EAGAIN && shim_tcp_queues_empty(tp))
		shim_tcp_write_space(tp);
	return err;
}
