/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * specnet_uapi.h - the ioctl interface of /dev/specnet (the core module
 * specnet), shared by the module and the guest agent.
 *
 * User space includes this file after something that defines the
 * fixed-width types uint8_t, uint16_t, uint32_t, int32_t and uint64_t
 * (nolibc.h or <stdint.h>); it needs no kernel header. The ioctl numbers
 * are spelled out with the asm-generic encoding, which i386 and ARM share,
 * so that <linux/ioctl.h> is not needed either (the module checks them
 * against _IOWR at build time).
 *
 * Layout: every struct has the same size and field offsets on i386 and
 * ARM EABI. 64-bit fields sit at 8-byte offsets (EABI aligns uint64_t to
 * 8, i386 to 4) and struct sizes are multiples of 8. User pointers travel
 * as uint64_t: (uint64_t)(unsigned long)ptr.
 *
 * Every ioctl returns a negative errno on failure (the raw system call
 * result; libc turns it into -1 and errno).
 */
#ifndef SPECNET_UAPI_H
#define SPECNET_UAPI_H

#ifdef __KERNEL__
#include <linux/types.h>
#endif

#define SPECNET_DEVICE		"/dev/specnet"
#define SPECNET_PROC		"/proc/specnet"
#define SPECNET_MISC_NAME	"specnet"

/* Longest residual name, with its NUL (a kernel module name's limit). */
#define SPECNET_NAME_SIZE	56

/*
 * The destination of a send, laid out as struct sockaddr_in: family
 * AF_INET (2), port and address in network byte order. family 0 means
 * "no destination": the send uses the socket's connected peer (send()
 * rather than sendto()).
 */
struct specnet_sockaddr_in {
	uint16_t family;
	uint16_t port;			/* network byte order */
	uint32_t addr;			/* network byte order */
	uint8_t zero[8];
};

/*
 * SPECNET_CUSTOMIZE: write the specialization context of a send on fd
 * to dest (the values the kernel holds now: socket, addresses, ports,
 * route, device, neighbour, sysctls) into ctx_buf as JSON in the
 * specbed.context/v1 schema (specializer/ctxschema), with "adu" and
 * "send_flags" as given. ctx_len is set to the JSON's length in bytes
 * (no NUL is written). If ctx_size is too small the ioctl fails with
 * ENOSPC and ctx_len holds the size needed. A destination without a
 * route fails with the lookup's error (ENETUNREACH ...): a context needs
 * a route.
 */
struct specnet_customize {
	int32_t fd;			/* in: a UDP socket of the caller, or
					 * an established TCP one (tcp.decl's
					 * context; dest is not used) */
	uint32_t adu;			/* in: bytes per send, 0..65535, unless
				 * the socket has SO_ADU set: that wins */
	uint32_t send_flags;		/* in: MSG_* flags every send uses */
	uint32_t ctx_len;		/* out: bytes of JSON written */
	struct specnet_sockaddr_in dest;	/* in */
	uint64_t ctx_buf;		/* in: user pointer */
	uint32_t ctx_size;		/* in: bytes at ctx_buf */
	uint32_t reserved;		/* must be 0 */
};

/*
 * What a token does when its residual refuses a send (a guard of the
 * residual failed, e.g. a length other than the ADU).
 */
#define SPECNET_POLICY_FALLBACK	0	/* run the generic path, count it */
#define SPECNET_POLICY_REFUSE	1	/* fail the send with EINVAL */

/*
 * What a token does when a guard of its environment fires (guard_route.c):
 * its route changed (guard_route: another next hop or device) or the path
 * MTU changed how its datagrams are fragmented (guard_pmtu).
 */
#define SPECNET_GUARD_FALLBACK	0	/* the generic path from then on */
#define SPECNET_GUARD_REINFORCE	1	/* keep the residual; an egress rule
					 * moves its datagrams to the new route;
					 * generic while the MTU is too low */
#define SPECNET_GUARD_RESPECIALIZE 2	/* the generic path until a LOAD with
					 * replace set puts new code in its place */
/*
 * A TCP token's guard is its MSS guard (kmod/tcp_token.c): the MSS, the
 * PMTU it was sized for or the route's MTU moved since LOAD. FALLBACK
 * (and RESPECIALIZE): the generic path from then on; REINFORCE: the
 * generic path, which cuts segments at the new MSS, while the MSS
 * differs. A TCP token's route change always falls back.
 */

/*
 * SPECNET_LOAD: bind the residual registered under name (a residual
 * module's name, "specnet_r_<hash>", as its .modinfo "name=" and the
 * "residual" lines of /proc/specnet show it) to the socket fd and dest,
 * and return a token (> 0) for SPECNET_SEND. The token holds a reference
 * on the socket's file, its route and neighbour, and the residual module.
 * Several tokens per socket are allowed.
 * Errors: ENOENT no such residual; EBADF fd is not a socket of the
 * caller; EPROTONOSUPPORT not a UDP/IPv4 or TCP/IPv4 socket; EPROTOTYPE
 * a TCP residual (entry specnet_tcp_send_*) for a UDP socket or the
 * reverse; ENOTCONN a TCP socket not established; ENOSPC the memory budget
 * for loaded residual code (module parameter budget_bytes) is used up;
 * ESTALE the residual carries a context digest and the socket, route or
 * neighbour LOAD finds differ from that context (they changed since
 * CUSTOMIZE: customize again);
 * EINVAL bad policy, guard or name; the route lookup's error
 * (ENETUNREACH ...) when dest has no route.
 * With token set (in), the new token takes that token's number once it
 * is bound: sends that start after the LOAD run the new residual, sends
 * running on the old one finish first, then the old token is released
 * (how SPECNET_GUARD_RESPECIALIZE ends). EBADF: no such token.
 */
struct specnet_load {
	int32_t fd;			/* in */
	uint32_t policy;		/* in: SPECNET_POLICY_* */
	struct specnet_sockaddr_in dest;	/* in: as given to CUSTOMIZE */
	char name[SPECNET_NAME_SIZE];	/* in: NUL-terminated */
	uint32_t token;			/* in: 0, or a token of this open to
					 * replace; out: the token */
	uint32_t guard;			/* in: SPECNET_GUARD_* */
};

/*
 * SPECNET_SEND: send len bytes at buf through the token's residual.
 * Returns the bytes sent. A refused send follows the token's policy;
 * a fallback binds the socket afresh and needs the token's descriptor
 * to still be the token's socket. Tokens belong to the open of
 * /dev/specnet that loaded them (closing it releases them).
 * EBADF: no such token of this open (released, or never loaded).
 */
struct specnet_send {
	uint32_t token;			/* in */
	uint32_t len;			/* in: bytes */
	uint64_t buf;			/* in: user pointer */
	uint32_t flags;			/* in: MSG_* flags */
	uint32_t reserved;		/* must be 0 */
};

/*
 * SPECNET_SEND_GENERIC: send through the generic path (the same C code
 * the specializer reads, with every input dynamic): the baseline that
 * shows what specialization removes. Returns the bytes sent.
 */
struct specnet_send_generic {
	int32_t fd;			/* in */
	uint32_t len;			/* in: bytes */
	struct specnet_sockaddr_in dest;	/* in */
	uint64_t buf;			/* in: user pointer */
	uint32_t flags;			/* in: MSG_* flags */
	uint32_t reserved;		/* must be 0 */
};

/*
 * customized_send(token, buf, len, flags): the system call (kernel patch
 * 0006) that sends through a token without /dev/specnet, the paper's
 * interface; the same number on i386 and ARM EABI. It does what
 * SPECNET_SEND does, for the tokens loaded by any task sharing the
 * caller's file table (a token is bound to a descriptor of that table).
 * ENOSYS while the core module is not loaded.
 */
#define SPECNET_NR_CUSTOMIZED_SEND	451

/*
 * In customized_send's flags: send through the generic path with the
 * token's socket and destination, everything bound afresh as
 * SPECNET_SEND_GENERIC does (the baseline, through the same entry). No
 * MSG_* flag of a user uses the bit (64-bit kernels keep it for
 * MSG_CMSG_COMPAT); the core clears it before the send.
 */
#define SPECNET_SEND_GENERIC_PATH	0x80000000U

/*
 * SPECNET_RELEASE: drop the token and its references. Once no token uses
 * a residual, its module can be removed (rmmod). Returns 0.
 */
struct specnet_release {
	uint32_t token;			/* in */
	uint32_t reserved;		/* must be 0 */
};

/* asm-generic/ioctl.h: nr bits 0-7, type 8-15, size 16-29, dir 30-31. */
#define SPECNET_IOC_MAGIC	0xB5
#define SPECNET_IOC_WRITE	1U
#define SPECNET_IOC_READ	2U
#define SPECNET_IOWR(nr, type)						\
	(((SPECNET_IOC_READ | SPECNET_IOC_WRITE) << 30) |		\
	 ((uint32_t)sizeof(type) << 16) | (SPECNET_IOC_MAGIC << 8) | (nr))
#define SPECNET_IOW(nr, type)						\
	((SPECNET_IOC_WRITE << 30) |					\
	 ((uint32_t)sizeof(type) << 16) | (SPECNET_IOC_MAGIC << 8) | (nr))

#define SPECNET_CUSTOMIZE	SPECNET_IOWR(1, struct specnet_customize)
#define SPECNET_LOAD		SPECNET_IOWR(2, struct specnet_load)
#define SPECNET_SEND		SPECNET_IOW(3, struct specnet_send)
#define SPECNET_SEND_GENERIC	SPECNET_IOW(4, struct specnet_send_generic)
#define SPECNET_RELEASE		SPECNET_IOW(5, struct specnet_release)

/*
 * /proc/specnet: one "name value" per line (decimal counts):
 *   tokens_live, residuals_registered, residual_bytes (text bytes of
 *   residuals bound to tokens, what budget_bytes caps), budget_bytes,
 *   sends_specialized, sends_generic, fallbacks, refused,
 *   guard_close, guard_route, guard_pmtu (guard firings per kind),
 *   sockets_marked, refs_held (references tokens hold on files,
 *   routes, neighbours and modules), sends_guarded (token sends the
 *   route or PMTU guard sent through the generic path, also counted in
 *   sends_generic), sends_rerouted (datagrams a reinforce rule moved to
 *   a new route), guard_reaction_ns_last and guard_reaction_ns_max
 *   (kernel ktime ns from a route or device event to the firing of the
 *   guard that reviewed it), guard_close_waits (closes whose guard
 *   found a send running on the token and waited for it),
 * then one line per registered residual:
 *   residual <name> <text bytes> <tokens using it>
 */

#endif /* SPECNET_UAPI_H */
