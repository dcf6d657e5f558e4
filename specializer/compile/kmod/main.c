// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - the module around one residual send path. It is compiled once
 * per kernel and generic tree (specializer/compile records the build); the
 * residual's translation unit defines specnet_residual_entry, so this file
 * never changes with the context.
 */
#include <linux/module.h>
#include <linux/printk.h>

/* The residual entry's name, defined after the residual (compile.go). */
extern const char specnet_residual_entry[];

static int __init specnet_residual_init(void)
{
	pr_info("specnet residual %s loaded\n", specnet_residual_entry);
	return 0;
}

static void __exit specnet_residual_exit(void)
{
}

module_init(specnet_residual_init);
module_exit(specnet_residual_exit);

MODULE_DESCRIPTION("specbed residual UDP send path");
MODULE_LICENSE("GPL");
