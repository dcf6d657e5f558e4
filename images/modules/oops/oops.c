// SPDX-License-Identifier: GPL-2.0
/*
 * A deliberately faulty module: its init dereferences a NULL pointer.
 *
 * The runner's crash monitor and the image builder's tests need a real
 * oops on demand. The fault happens in specbed_oops_fault(), kept out of
 * line so that the oops report (x86 "EIP:", ARM "PC is at") and the
 * symbolized backtrace name it.
 */
#include <linux/compiler.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static noinline int specbed_oops_fault(void)
{
	int *p = NULL;

	/*
	 * Hide the constant from the optimizer: a load it can see is from
	 * NULL may be turned into a trap instruction, which would report an
	 * invalid opcode instead of a page fault.
	 */
	OPTIMIZER_HIDE_VAR(p);
	return READ_ONCE(*p);
}

static int __init specbed_oops_init(void)
{
	pr_info("specbed_oops: dereferencing NULL in specbed_oops_fault()\n");
	return specbed_oops_fault();
}
module_init(specbed_oops_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("specbed: oops in module init, for crash detection tests");
