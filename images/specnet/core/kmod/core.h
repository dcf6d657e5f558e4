/* SPDX-License-Identifier: GPL-2.0 */
/*
 * core.h - what the files of the core module share.
 */
#ifndef SPECNET_CORE_H
#define SPECNET_CORE_H

#include "shim_kernel.h"
#include "specnet_uapi.h"

#include <linux/atomic.h>

/* /proc/specnet's counters, in the order it prints them. */
enum sn_counter {
	SN_C_TOKENS_LIVE,
	SN_C_RESIDUALS,
	SN_C_RESIDUAL_BYTES,
	SN_C_SENDS_SPECIALIZED,
	SN_C_SENDS_GENERIC,
	SN_C_FALLBACKS,
	SN_C_REFUSED,
	SN_C_GUARD_CLOSE,
	SN_C_GUARD_ROUTE,
	SN_C_GUARD_PMTU,
	SN_C_SOCKETS_MARKED,
	SN_C_REFS_HELD,
	SN_C_COUNT
};

extern atomic_long_t sn_counters[SN_C_COUNT];

static inline void sn_count(enum sn_counter c, long n)
{
	atomic_long_add(n, &sn_counters[c]);
}

/*
 * A socket bound for one send: the shim's views of the socket plus the
 * destination and the route and neighbour a send to it finds. CUSTOMIZE
 * prints it, LOAD keeps it in a token, SEND_GENERIC makes one per send
 * (in a reused buffer, see token.c).
 */
struct sn_binding {
	struct sn_ksock *ks;
	struct sn_sockaddr_in name;
	struct sn_user_msg um;
	struct sn_inst inst;
	int rt_genid;
	int route_err;
	int neigh_err;
};

int sn_binding_init(struct sn_binding *b, int fd,
		    const struct specnet_sockaddr_in *dest, u32 send_flags,
		    bool lookups);
void sn_binding_destroy(struct sn_binding *b);
int sn_binding_init_send(struct sn_binding *b, struct sn_ksock *ks, int fd,
			 const struct specnet_sockaddr_in *dest);
void sn_binding_destroy_send(struct sn_binding *b);
int sn_binding_refs(const struct sn_binding *b);
u32 sn_sock_adu(const struct sn_ksock *ks);

struct file;
long sn_customize(struct specnet_customize __user *arg);
long sn_load(struct file *owner, struct specnet_load __user *arg);
long sn_send(struct file *owner, struct specnet_send __user *arg);
long sn_send_generic(struct specnet_send_generic __user *arg);
long sn_release(struct file *owner, struct specnet_release __user *arg);
void sn_tokens_release_file(struct file *owner);
void sn_tokens_exit(void);
int sn_close_guard_init(void);
void sn_close_guard_exit(void);

struct seq_file;
void sn_residuals_show(struct seq_file *m);

extern unsigned long sn_budget_bytes;

#endif /* SPECNET_CORE_H */
