/* sock.c: socket layer of the tiny send path. */
#include "tiny.h"

int ip_send_frags(struct sock *sk, struct rtable *rt, u32 daddr, const u8 *buf, u32 len, u32 flags);

int tiny_send(struct sock *sk, const u8 *buf, u32 len, u32 flags)
{
	struct rtable *rt;
	u32 daddr;

	if (len > 65507)
		return -EMSGSIZE;
	if (flags & MSG_MORE)
		return -EINVAL;
	if (sk->state != TCP_ESTABLISHED)
		return -ENOTCONN;
	daddr = sk->inet.daddr;
	rt = sk->dst_cache;
	if (rt->obsolete && !shim_dst_check(rt))
		return -EAGAIN;	/* the generic path routes again */
	if (rt->gateway)
		daddr = rt->gateway;
	return ip_send_frags(sk, rt, daddr, buf, len, flags);
}
