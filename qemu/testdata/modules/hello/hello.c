// SPDX-License-Identifier: GPL-2.0
/*
 * A module that loads and does nothing else.
 *
 * The signature tests load it twice: unsigned, which a kernel with
 * CONFIG_MODULE_SIG_FORCE must refuse before running any of its code, and
 * signed, which must load. Its init says so on the console, so a log shows
 * which of the two loads ran it.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init specbed_hello_init(void)
{
	pr_info("specbed_hello: loaded\n");
	return 0;
}
module_init(specbed_hello_init);

static void __exit specbed_hello_exit(void)
{
}
module_exit(specbed_hello_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("specbed: a module that loads, for the module signature tests");
