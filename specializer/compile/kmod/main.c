// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - the module around one residual send path. It is compiled once
 * per kernel and generic tree (specializer/compile records the build); the
 * residual's translation unit defines specnet_residual_entry and the alias
 * specnet_residual_send, so this file never changes with the context.
 *
 * The module offers its send path to the core module specnet, which binds
 * it to tokens. Every residual module has its own name (specnet_r_<hash>,
 * set by the compile driver), so several load side by side; the name is
 * the key LOAD finds the residual by.
 */
#include <linux/module.h>
#include <linux/printk.h>

#include "specnet_residual.h"

/* Defined after the residual by the compile driver (compile.go). */
extern const char specnet_residual_entry[];
extern const unsigned long long specnet_residual_ctx_digest;
int specnet_residual_send(struct sn_inst *inst, const u8 __user *buf, u32 len,
			  u32 flags);

static struct specnet_residual specnet_this_residual = {
	.owner = THIS_MODULE,
	.entry = specnet_residual_entry,
	.send = specnet_residual_send,
};

static int __init specnet_residual_init(void)
{
	int err;

	specnet_this_residual.ctx_digest = specnet_residual_ctx_digest;
	err = specnet_register_residual(&specnet_this_residual);
	if (err)
		return err;
	pr_info("specnet residual %s loaded as %s\n", specnet_residual_entry,
		THIS_MODULE->name);
	return 0;
}

/* The core holds a module reference per token: no token uses us here. */
static void __exit specnet_residual_exit(void)
{
	specnet_unregister_residual(&specnet_this_residual);
}

module_init(specnet_residual_init);
module_exit(specnet_residual_exit);

MODULE_DESCRIPTION("specbed residual UDP send path");
MODULE_LICENSE("GPL");
