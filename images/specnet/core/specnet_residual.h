/* SPDX-License-Identifier: GPL-2.0 */
/*
 * specnet_residual.h - how a residual module (a specialized send path
 * built by specializer/compile) offers itself to the core module specnet.
 *
 * A residual registers at module init and unregisters at exit. The core
 * binds it to tokens (SPECNET_LOAD) and pins its module while a token
 * uses it, so the exit, and with it the unregistration, only happens
 * once no token can call into it any more.
 */
#ifndef SPECNET_RESIDUAL_H
#define SPECNET_RESIDUAL_H

#include <linux/list.h>
#include <linux/types.h>

struct module;
struct sn_inst;

/* The residual's entry: udp.decl's "int ENTRY(struct sn_inst *inst,
 * const u8 __user *buf, u32 len, u32 flags)". Returns bytes sent, a
 * negative errno, or SN_SPEC_FALLBACK when a guard of the residual fails. */
typedef int (*specnet_send_fn)(struct sn_inst *inst, const u8 __user *buf,
			       u32 len, u32 flags);

struct specnet_residual {
	struct module *owner;		/* THIS_MODULE; its name is the key */
	const char *entry;		/* the entry's C name, for the log */
	specnet_send_fn send;
	/* 64-bit FNV-1a of the context's environment part (see
	 * specializer/compile.ContextDigest); 0: LOAD does not check. */
	u64 ctx_digest;
	/* The core's from here on. */
	struct list_head list;
	unsigned int users;		/* tokens bound to it */
};

int specnet_register_residual(struct specnet_residual *r);
void specnet_unregister_residual(struct specnet_residual *r);

#endif /* SPECNET_RESIDUAL_H */
