// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_token.c - tokens on connected TCP sockets: the view a TCP residual
 * (tcp.decl) reads, bound at CUSTOMIZE and LOAD, and SEND under the
 * socket lock as tcp_sendmsg() runs tcp_sendmsg_locked().
 *
 * A TCP token keeps the view of its socket (struct sn_tcp_ksock): the
 * configuration tcp.decl calls static is read once, at LOAD, under the
 * lock; the state is read again before every send (refresh). The
 * residual folds the MSS, the PMTU cookie and the route's MTU in: an MSS
 * change (a PMTU update mid-connection) is the TCP token's own guard,
 * compared at every send, with the token's guard policy: fallback (the
 * generic path for good) or reinforce (the generic path, which cuts the
 * segments at the new MSS, while the MSS differs). Route changes go
 * through the route guard with the fallback policy.
 */
#include "core.h"
/* The views first: kernel headers #define some of their field names. */
#include "tcp_shim_kernel.h"
#include "tcp_token.h"
#include "specnet_residual.h"

#include <linux/file.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <net/tcp.h>

/*
 * Test-only switch: mss_guard=0 leaves the MSS guard idle, so a residual
 * keeps sending segments sized for the MSS it folded in after the path's
 * MTU fell. images/specnet/guards boots it as the negative control that
 * shows what the guard prevents; nothing else may set it.
 */
static bool sn_mss_guard = true;
module_param_named(mss_guard, sn_mss_guard, bool, 0444);
MODULE_PARM_DESC(mss_guard, "test only: 0 disables the TCP MSS guard");

struct sn_tcp_token {
	struct sn_tcp_ksock ks;		/* holds a reference on ks.sk */
	struct sn_tcp_inst inst;
	struct file *file;		/* held once armed (LOAD) */
	/* Bytes, at bind: what a residual of this socket folds in. */
	u32 mss_cache, pmtu_cookie, dst_mtu;
	u32 guard;			/* SPECNET_GUARD_*: on an MSS change */
	bool mss_moved;			/* the MSS differs (reinforce) or
					 * differed once (fallback) */
};

bool sn_sock_is_tcp(const struct sock *sk)
{
	return sk->sk_family == AF_INET && sk->sk_type == SOCK_STREAM &&
	       sk->sk_protocol == IPPROTO_TCP;
}

bool sn_residual_is_tcp(const struct specnet_residual *r)
{
	return !strncmp(r->entry, SN_TCP_ENTRY_PREFIX,
			sizeof(SN_TCP_ENTRY_PREFIX) - 1);
}

/* The route's MTU a send of sk sizes its segments for; the lock held. */
static u32 sn_tcp_dst_mtu(struct sock *sk)
{
	const struct dst_entry *dst = __sk_dst_get(sk);

	return dst ? dst_mtu(dst) : 0;
}

/*
 * Fix what the kernel would otherwise retune under a specialized socket.
 * GSO: a socket CUSTOMIZE or LOAD binds sends without it from then on, as
 * Linux 2.4 did in the paper: one MSS per skb, so that the size goal is
 * the MSS and the residual's segment loop unrolls per MSS. With GSO the
 * size goal follows half the peer's largest window, which grows early in
 * a connection, and tp->gso_segs caches it: both are guards of tcp.decl
 * and would make the residual fall back until they settle. gso_segs is
 * only that cache (tcp_xmit_size_goal() alone reads it): cleared, it
 * stays 0 without GSO, the same in every connection.
 * The send buffer: tcp.decl folds sk_sndbuf in, and the kernel grows it
 * with the congestion window (tcp_sndbuf_expand) unless the user locked
 * it, as setsockopt(SO_SNDBUF) does; lock it at its size now.
 */
static void sn_tcp_freeze(struct sock *sk)
{
	/* 6.1's size goal reads sk_gso_max_size even without GSO (large
	 * packets then go out whole on a device that takes them, as
	 * loopback does): a zero limit makes it the MSS. sk_setup_caps()
	 * leaves both alone once GSO is disabled. */
	sk_gso_disable(sk);
	sk->sk_gso_max_size = 0;
	sk->sk_gso_max_segs = 1;
	tcp_sk(sk)->gso_segs = 0;
	sk->sk_userlocks |= SOCK_SNDBUF_LOCK;
}

/*
 * The view of the established TCP socket on fd, its configuration and
 * state read under the socket lock (CUSTOMIZE, LOAD). ENOTCONN: not
 * established; EPROTONOSUPPORT: not TCP over IPv4.
 */
struct sn_tcp_token *sn_tcp_token_bind(int fd, int *err)
{
	struct sn_tcp_token *tt = NULL;
	struct socket *sock;
	struct sock *sk;

	sock = sockfd_lookup(fd, err);
	if (!sock)
		return NULL;
	sk = sock->sk;
	*err = -EPROTONOSUPPORT;
	if (!sn_sock_is_tcp(sk))
		goto out;
	*err = -ENOMEM;
	tt = kzalloc(sizeof(*tt), GFP_KERNEL);
	if (!tt)
		goto out;
	sock_hold(sk);
	lock_sock(sk);
	sn_tcp_freeze(sk);
	sn_tcp_kernel_bind(&tt->ks, sk);
	tt->dst_mtu = sn_tcp_dst_mtu(sk);
	*err = sk->sk_state == TCP_ESTABLISHED ? 0 : -ENOTCONN;
	release_sock(sk);
	if (*err) {
		sn_tcp_token_destroy(tt);
		kfree(tt);
		tt = NULL;
		goto out;
	}
	tt->mss_cache = tt->ks.v.mss_cache;
	tt->pmtu_cookie = tt->ks.v.icsk_pmtu_cookie;
	tt->inst.tp = &tt->ks.v;
out:
	sockfd_put(sock);
	return tt;
}

/*
 * Drop the references: the file (once armed) and the socket. The caller
 * frees tt: a send that slept while a close killed the token holds its
 * own file reference and still reads tt, so token.c frees tt with the
 * token, after its last send.
 */
void sn_tcp_token_destroy(struct sn_tcp_token *tt)
{
	if (tt->file)
		fput(tt->file);
	tt->file = NULL;
	sock_put(tt->ks.sk);
}

/*
 * Make tt a token's (LOAD): hold file, remember the token's guard for
 * the memory wait, and set up the route guard on the socket's route.
 */
int sn_tcp_token_arm(struct sn_tcp_token *tt, struct file *file, u32 guard,
		     struct rw_semaphore *sem, const bool *live,
		     struct sn_route_guard *rg)
{
	struct sock *sk = tt->ks.sk;
	const struct dst_entry *dst;
	int err = 0;

	if (guard == SPECNET_GUARD_RESPECIALIZE)
		guard = SPECNET_GUARD_FALLBACK;	/* until a LOAD replaces it */
	tt->guard = guard;
	lock_sock(sk);
	dst = __sk_dst_get(sk);
	if (dst)
		/* The reroute rule of reinforce moves datagrams: a TCP
		 * token's route change falls back. No payload: its MTU
		 * changes are the MSS guard's. */
		sn_route_guard_init(rg, SPECNET_GUARD_FALLBACK, dst,
				    sk->sk_daddr, sk->sk_dport, 0);
	else
		err = -ENOTCONN;
	release_sock(sk);
	if (err)
		return err;
	tt->ks.guard = sem;
	tt->ks.live = live;
	tt->file = get_file(file);
	return 0;
}

const struct sn_tcp_sock *sn_tcp_token_view(const struct sn_tcp_token *tt,
					    u32 *dst_mtu)
{
	*dst_mtu = tt->dst_mtu;
	return &tt->ks.v;
}

/* SO_ADU (kernel patch 0003), 0 if none. */
u32 sn_tcp_token_adu(const struct sn_tcp_token *tt)
{
	return READ_ONCE(tt->ks.sk->sk_adu);
}

/*
 * The MSS guard, under the socket lock: whether the MSS, the PMTU it
 * was sized for or the route's MTU moved since LOAD. A residual folded
 * all three in; the generic path reads them.
 */
static bool sn_tcp_mss_diverts(struct sn_tcp_token *tt)
{
	struct sock *sk = tt->ks.sk;
	bool moved;

	if (!sn_mss_guard)
		return false;
	moved = tcp_sk(sk)->mss_cache != tt->mss_cache ||
		inet_csk(sk)->icsk_pmtu_cookie != tt->pmtu_cookie ||
		sn_tcp_dst_mtu(sk) != tt->dst_mtu;
	if (moved && !tt->mss_moved)
		sn_count(SN_C_GUARD_PMTU, 1);
	if (tt->guard == SPECNET_GUARD_REINFORCE)
		tt->mss_moved = moved;
	else
		tt->mss_moved |= moved;
	return tt->mss_moved;
}

/*
 * SEND on a TCP token, under its guard (read side): the residual r with
 * the socket locked and the view refreshed, as tcp_sendmsg() runs
 * tcp_sendmsg_locked(). A refused send follows policy; a fallback, a
 * diverted route or a moved MSS runs the generic path under the same
 * lock on the same view (the residual falls back before any effect).
 */
long sn_tcp_token_send(struct sn_tcp_token *tt,
		       const struct specnet_residual *r, u32 policy,
		       bool diverted, const u8 __user *buf, u32 len,
		       u32 flags)
{
	struct sock *sk = tt->ks.sk;
	struct file *file;
	long ret;

	/*
	 * Our own reference to the file, as the send system call's fdget()
	 * takes one: a close while the send sleeps in the memory wait
	 * (which releases the token's guard) kills the token and drops its
	 * reference, and the last fput() would release the socket under
	 * the sleeping send (tcp_close() orphans it: nothing would wake
	 * the send any more, and its wait entry would stay on the freed
	 * socket's queue). Held, the socket lives until this send returns
	 * (EPIPE: shim_sk_stream_wait_memory() finds the token dead).
	 */
	file = get_file(tt->file);
	if (file->f_flags & O_NONBLOCK)
		flags |= MSG_DONTWAIT;
	lock_sock(sk);
	sn_tcp_kernel_refresh(&tt->ks);
	if (unlikely(diverted || sn_tcp_mss_diverts(tt))) {
		sn_count(SN_C_SENDS_GUARDED, 1);
		goto generic;
	}
	ret = r->send((struct sn_inst *)&tt->inst, buf, len, flags);
	if (ret != SN_SPEC_FALLBACK) {
		sn_count(SN_C_SENDS_SPECIALIZED, 1);
		goto out;
	}
	if (policy == SPECNET_POLICY_REFUSE) {
		sn_count(SN_C_REFUSED, 1);
		ret = -EINVAL;
		goto out;
	}
	sn_count(SN_C_FALLBACKS, 1);
generic:
	sn_count(SN_C_SENDS_GENERIC, 1);
	ret = sn_tcp_sendmsg_locked(&tt->ks.v, buf, len, flags);
out:
	release_sock(sk);
	fput(file);
	return ret;
}

/*
 * The generic TCP path with nothing fixed (SEND_GENERIC, a token's
 * generic sends through customized_send): the view bound afresh under
 * the lock for this send. EPROTONOSUPPORT: fd is not a TCP socket. With
 * want set, fd must still hold that file.
 */
int sn_tcp_generic(int fd, const u8 __user *buf, u32 len, u32 flags,
		   const struct file *want)
{
	struct sn_tcp_ksock ks = {};
	struct socket *sock;
	struct fd f = fdget(fd);
	int err;

	if (!f.file)
		return -EBADF;
	err = -ENOTSOCK;
	sock = sock_from_file(f.file);
	if (!sock)
		goto out;
	err = -EBADF;
	if (want && f.file != want)
		goto out;
	err = -EPROTONOSUPPORT;
	if (!sn_sock_is_tcp(sock->sk))
		goto out;
	if (f.file->f_flags & O_NONBLOCK)
		flags |= MSG_DONTWAIT;
	lock_sock(sock->sk);
	sn_tcp_kernel_bind(&ks, sock->sk);
	err = sn_tcp_sendmsg_locked(&ks.v, buf, len, flags);
	release_sock(sock->sk);
out:
	fdput(f);
	return err;
}
