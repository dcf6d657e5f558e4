/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcp_token.h - the TCP side of a token (tcp_token.c): what token.c and
 * ctx.c call for a connected TCP socket. The token itself (its id, guard,
 * marks, close and route guards) stays token.c's; a TCP token binds the
 * socket's view (tcp_shim_kernel.h) instead of the UDP binding.
 */
#ifndef SPECNET_TCP_TOKEN_H
#define SPECNET_TCP_TOKEN_H

#include <linux/types.h>

struct file;
struct rw_semaphore;
struct sock;
struct specnet_customize;
struct specnet_residual;
struct sn_route_guard;
struct sn_tcp_token;
struct sn_tcp_sock;

/* The residual's entry prefix of tcp.decl ("name specnet_tcp_send"). */
#define SN_TCP_ENTRY_PREFIX	"specnet_tcp_send_"

bool sn_sock_is_tcp(const struct sock *sk);
bool sn_residual_is_tcp(const struct specnet_residual *r);

struct sn_tcp_token *sn_tcp_token_bind(int fd, int *err);
void sn_tcp_token_destroy(struct sn_tcp_token *tt);
int sn_tcp_token_arm(struct sn_tcp_token *tt, struct file *file, u32 guard,
		     struct rw_semaphore *sem, const bool *live,
		     struct sn_route_guard *rg);
const struct sn_tcp_sock *sn_tcp_token_view(const struct sn_tcp_token *tt,
					    u32 *dst_mtu);
u32 sn_tcp_token_adu(const struct sn_tcp_token *tt);
long sn_tcp_token_send(struct sn_tcp_token *tt,
		       const struct specnet_residual *r, u32 policy,
		       bool diverted, const u8 __user *buf, u32 len,
		       u32 flags);
int sn_tcp_generic(int fd, const u8 __user *buf, u32 len, u32 flags,
		   const struct file *want);

/* ctx.c */
long sn_tcp_customize(struct specnet_customize __user *arg,
		      const struct specnet_customize *c);
int sn_tcp_context_digest(const struct sn_tcp_token *tt, u64 *digest);

#endif /* SPECNET_TCP_TOKEN_H */
