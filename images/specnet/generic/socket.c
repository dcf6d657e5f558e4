// SPDX-License-Identifier: GPL-2.0
/*
 * socket.c - socket layer of the generic UDP/IPv4 send path.
 *
 * Renders, from Linux 6.1: __sys_sendto() and ____sys_sendmsg()
 * (net/socket.c) from the point where the address and control messages
 * are in kernel memory, sock_sendmsg() / inet_sendmsg()
 * (net/ipv4/af_inet.c), sock_alloc_send_pskb() (net/core/sock.c), and the
 * control message parsers udp_cmsg_send() (net/ipv4/udp.c),
 * ip_cmsg_send() (net/ipv4/ip_sockglue.c) and __sock_cmsg_send()
 * (net/core/sock.c).
 */
#include "generic.h"

#define SN_SOCKADDR_STORAGE_LEN	128	/* sizeof(struct sockaddr_storage) */
#define SN_MAX_SCHEDULE_TIMEOUT	0x7fffffffL

/* CMSG_ALIGN() on ILP32 */
static inline u32 sn_cmsg_align(u32 len)
{
	return (len + 3) & ~3U;
}

/* CMSG_OK(): the message at off fits in what is left of the buffer. */
static inline bool sn_cmsg_ok(u32 size, u32 off, u32 cmsg_len)
{
	return cmsg_len >= SN_CMSG_HDRLEN && cmsg_len <= size - off;
}

/*
 * sock_alloc_send_pskb() with data_len 0 (sock_alloc_send_skb): wait for
 * send buffer space unless noblock, then allocate and charge the skb.
 */
struct sk_buff *sn_sock_alloc_send_skb(struct sn_sock *sk, u32 size,
				       int noblock, int *errcode)
{
	long timeo;
	int err;

	timeo = noblock ? 0 : sk->sk_sndtimeo;	/* sock_sndtimeo() */
	for (;;) {
		err = shim_sock_error(sk);
		if (err != 0)
			goto failure;

		err = -SN_EPIPE;
		if (sk->sk_shutdown & SN_SEND_SHUTDOWN)
			goto failure;

		if (shim_sk_wmem_alloc_get(sk) < sk->sk_sndbuf)
			break;

		shim_sk_set_nospace(sk);
		err = -SN_EAGAIN;
		if (!timeo)
			goto failure;
		if (shim_signal_pending())
			goto interrupted;
		timeo = shim_sock_wait_for_wmem(sk, timeo);
	}
	/* alloc_skb_with_frags() without page frags: -ENOBUFS if it fails */
	*errcode = -SN_ENOBUFS;
	return shim_alloc_send_skb(sk, size);

interrupted:
	/* sock_intr_errno() */
	err = timeo == SN_MAX_SCHEDULE_TIMEOUT ? -SN_ERESTARTSYS : -SN_EINTR;
failure:
	*errcode = err;
	return NULL;
}

/*
 * __udp_cmsg_send(): UDP_SEGMENT is the only SOL_UDP message. UDP GSO is
 * not rendered, so it is refused here, where the kernel would accept it.
 */
static int sn___udp_cmsg_send(void)
{
	return -SN_EOPNOTSUPP;
}

/*
 * udp_cmsg_send(): walk the control messages, handle the SOL_UDP ones;
 * returns 1 when others are left for ip_cmsg_send().
 */
int sn_udp_cmsg_send(struct sn_sock *sk, struct sn_msghdr *msg)
{
	const u8 *ctl = msg->msg_control;
	u32 size = msg->msg_controllen;
	bool need_ip = false;
	u32 off = 0;

	/* for_each_cmsghdr(): CMSG_FIRSTHDR, then __cmsg_nxthdr */
	while (off + SN_CMSG_HDRLEN <= size) {
		u32 cmsg_len = sn_get_u32(ctl + off);

		if (!sn_cmsg_ok(size, off, cmsg_len))
			return -SN_EINVAL;

		if (sn_get_u32(ctl + off + 4) != SN_SOL_UDP)
			need_ip = true;
		else
			return sn___udp_cmsg_send();
		off += sn_cmsg_align(cmsg_len);
	}
	return need_ip;
}

/*
 * __sock_cmsg_send(): SOL_SOCKET messages. SO_TIMESTAMPING and
 * SCM_TXTIME (timestamps, launch time) are not rendered and end in the
 * default case.
 */
static int sn___sock_cmsg_send(struct sn_sock *sk, const u8 *cmsg,
			       u32 cmsg_len, struct sn_ipcm_cookie *ipc)
{
	switch (sn_get_u32(cmsg + 8)) {
	case SN_SO_MARK:
		if (!shim_capable_so_mark(sk->sk_net))
			return -SN_EPERM;
		if (cmsg_len != SN_CMSG_HDRLEN + 4)
			return -SN_EINVAL;
		ipc->mark = sn_get_u32(cmsg + SN_CMSG_HDRLEN);
		break;
	case SN_SCM_RIGHTS:
	case SN_SCM_CREDENTIALS:
		/* semantically SOL_UNIX: ignored */
		break;
	default:
		return -SN_EINVAL;
	}
	return 0;
}

/* rt_tos2priority(): ip_tos2prio[IPTOS_TOS(tos) >> 1] */
static inline s8 sn_rt_tos2priority(u8 tos)
{
	switch ((tos & SN_IPTOS_TOS_MASK) >> 3) {
	case 0:
		return 0;	/* TC_PRIO_BESTEFFORT */
	case 1:
		return 2;	/* TC_PRIO_BULK */
	case 2:
		return 6;	/* TC_PRIO_INTERACTIVE */
	default:
		return 4;	/* TC_PRIO_INTERACTIVE_BULK */
	}
}

/* ip_cmsg_send(), case IP_TOS */
static int sn_ip_cmsg_tos(const u8 *cmsg, u32 cmsg_len,
			  struct sn_ipcm_cookie *ipc)
{
	int val;

	if (cmsg_len == SN_CMSG_HDRLEN + 4)
		val = (int)sn_get_u32(cmsg + SN_CMSG_HDRLEN);
	else if (cmsg_len == SN_CMSG_HDRLEN + 1)
		val = cmsg[SN_CMSG_HDRLEN];
	else
		return -SN_EINVAL;
	if (val < 0 || val > 255)
		return -SN_EINVAL;
	ipc->tos = val;
	ipc->priority = sn_rt_tos2priority(val);
	return 0;
}

/*
 * ip_cmsg_send(): SOL_SOCKET and SOL_IP control messages. IP_RETOPTS
 * (per-call IP options) and IP_PROTOCOL are not rendered: they end in the
 * default case (-EINVAL); the socket's own IP_OPTIONS are. Its CMSG_OK
 * check is not rendered either: udp_cmsg_send() checked every message.
 */
int sn_ip_cmsg_send(struct sn_sock *sk, struct sn_msghdr *msg,
		    struct sn_ipcm_cookie *ipc)
{
	const u8 *ctl = msg->msg_control;
	u32 size = msg->msg_controllen;
	u32 off = 0;
	int err, val;

	while (off + SN_CMSG_HDRLEN <= size) {
		const u8 *cmsg = ctl + off;
		u32 cmsg_len = sn_get_u32(cmsg);
		u32 level;

		off += sn_cmsg_align(cmsg_len);

		level = sn_get_u32(cmsg + 4);
		if (level == SN_SOL_SOCKET) {
			err = sn___sock_cmsg_send(sk, cmsg, cmsg_len, ipc);
			if (err)
				return err;
			continue;
		}
		if (level != SN_SOL_IP)
			continue;

		switch (sn_get_u32(cmsg + 8)) {
		case SN_IP_PKTINFO:
			/* struct in_pktinfo: ifindex, spec_dst, addr */
			if (cmsg_len != SN_CMSG_HDRLEN + 12)
				return -SN_EINVAL;
			if (sn_get_u32(cmsg + SN_CMSG_HDRLEN))
				ipc->oif = (int)sn_get_u32(cmsg + SN_CMSG_HDRLEN);
			ipc->addr = sn_get_u32(cmsg + SN_CMSG_HDRLEN + 4);
			break;
		case SN_IP_TTL:
			if (cmsg_len != SN_CMSG_HDRLEN + 4)
				return -SN_EINVAL;
			val = (int)sn_get_u32(cmsg + SN_CMSG_HDRLEN);
			if (val < 1 || val > 255)
				return -SN_EINVAL;
			ipc->ttl = val;
			break;
		case SN_IP_TOS:
			err = sn_ip_cmsg_tos(cmsg, cmsg_len, ipc);
			if (err)
				return err;
			break;
		default:
			return -SN_EINVAL;
		}
	}
	return 0;
}

/* inet_sendmsg() with inet_send_prepare(): bind a port on first use. */
static int sn_inet_sendmsg(struct sn_socket *sock, struct sn_msghdr *msg,
			   u32 size)
{
	struct sn_sock *sk = sock->sk;

	if (!sk->inet.inet_num && shim_inet_autobind(sk))
		return -SN_EAGAIN;

	/* sk->sk_prot->sendmsg: the socket is UDP */
	return sn_udp_sendmsg(sk, msg, size);
}

/*
 * The send system call: __sys_sendto() / ____sys_sendmsg() once the
 * destination and the control messages are in kernel memory (um), then
 * __sock_sendmsg() (no LSM: security_socket_sendmsg() is 0) and
 * sock_sendmsg_nosec().
 */
int sn_sendmsg(int fd, struct sn_user_msg *um, const u8 __user *buf, u32 len,
	       u32 flags)
{
	struct sn_socket *sock;
	struct sn_msghdr msg;

	/* import_single_range() */
	if (len > SN_MAX_RW_COUNT)
		len = SN_MAX_RW_COUNT;
	if (!shim_access_ok(buf, len))
		return -SN_EFAULT;

	/* sockfd_lookup_light() */
	sock = shim_sockfd_lookup(fd);
	if (!sock)
		return -SN_EBADF;

	msg.msg_name = NULL;
	msg.msg_namelen = 0;
	msg.msg_control = NULL;
	msg.msg_controllen = 0;
	if (um->msg_name) {
		/* move_addr_to_kernel() */
		if (um->msg_namelen < 0 ||
		    um->msg_namelen > SN_SOCKADDR_STORAGE_LEN)
			return -SN_EINVAL;
		msg.msg_name = um->msg_name;
		msg.msg_namelen = um->msg_namelen;
	}
	if (um->msg_controllen) {
		msg.msg_control = um->msg_control;
		msg.msg_controllen = um->msg_controllen;
	}
	msg.iov_base = buf;
	msg.iov_len = len;
	msg.iov_off = 0;

	flags &= ~SN_MSG_INTERNAL_SENDMSG_FLAGS;
	if (sock->file.f_flags & SN_O_NONBLOCK)
		flags |= SN_MSG_DONTWAIT;
	msg.msg_flags = flags;

	return sn_inet_sendmsg(sock, &msg, len);
}
