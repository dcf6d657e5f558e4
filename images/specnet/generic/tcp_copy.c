// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_copy.c - the copy of one skb's share of a TCP send into page
 * fragments (tcp_sendmsg_locked()'s skb_copy_to_page_nocache() part).
 *
 * Nothing in it is invariant for a customized send: the page fragment's
 * room, the memory the socket may charge and the user's bytes are all
 * dynamic. It is not among tcp.decl's sources: to the specializer it is a
 * shim (tcp.h), which a residual calls once per skb instead of carrying a
 * copy of the same dynamic loop per skb. The generic path runs the same
 * code.
 */
#include "tcp.h"

/*
 * Copy copy bytes from the user at from into the tail skb through the
 * socket's page fragment, refilled as it runs out (tcp.c, top). copied:
 * bytes the send queued before. 0 when all are in; else *done bytes are in
 * and the kernel would jump: SN_TCP_WAIT_FOR_SPACE, SN_TCP_NEW_SEGMENT (the
 * skb has all the fragments it may have), or -EFAULT (do_error).
 */
int sn_tcp_copy_to_skb(struct sn_tcp_sock *tp, const u8 __user *from,
		       struct sn_tcp_skb *skb, int copy, int copied, int *done)
{
	*done = 0;
	while (*done < copy) {
		int chunk = copy - *done;
		bool merge = true;
		u32 i = skb->nr_frags;
		struct page *page;
		u32 off, size;
		int err;

		if (!shim_sk_page_frag_refill(tp))
			return SN_TCP_WAIT_FOR_SPACE;
		page = shim_tcp_pfrag_page(tp);
		off = shim_tcp_pfrag_offset(tp);
		size = shim_tcp_pfrag_size(tp);

		if (!shim_tcp_skb_can_coalesce(skb->skb, i, page, off)) {
			if (i >= tp->sk_net->sysctl_max_skb_frags)
				return SN_TCP_NEW_SEGMENT;
			merge = false;
		}
		if (chunk > (int)(size - off))
			chunk = size - off;

		chunk = shim_tcp_wmem_schedule(tp, chunk);
		if (!chunk)
			return SN_TCP_WAIT_FOR_SPACE;

		err = shim_tcp_copy_to_page(tp, from + *done, skb->skb, page,
					    off, chunk);
		if (err)
			return err;

		if (merge) {
			shim_tcp_frag_size_add(skb->skb, i - 1, chunk);
		} else {
			shim_tcp_fill_page_desc(skb->skb, i, page, off, chunk);
			skb->nr_frags = i + 1;
		}
		shim_tcp_pfrag_consume(tp, chunk);
		tp->sk_wmem_queued += chunk;

		/* The first bytes of a send clear the PSH a push left. */
		if (!copied && !*done)
			sn_tcp_skb_set_flags(skb, skb->tcp_flags & ~SN_TCPHDR_PSH);
		sn_tcp_set_write_seq(tp, tp->write_seq + chunk);
		skb->end_seq += chunk;
		shim_tcp_skb_set_end_seq(skb->skb, skb->end_seq);
		shim_tcp_skb_pcount_reset(skb->skb);
		*done += chunk;
	}
	return 0;
}
