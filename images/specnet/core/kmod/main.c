// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - the core module specnet: /dev/specnet (specnet_uapi.h),
 * /proc/specnet and the memory budget for residual modules.
 *
 * The core holds what every specialized send shares: the generic path
 * (the fallback and the unspecialized baseline), the binding of sockets
 * to the shim's views, the tokens and their guards. Residual modules
 * carry only a specialized send and register it here (token.c).
 */
#include "core.h"

#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <asm/unistd.h>

atomic_long_t sn_counters[SN_C_COUNT];

static const char *const sn_counter_names[SN_C_COUNT] = {
	[SN_C_TOKENS_LIVE] = "tokens_live",
	[SN_C_RESIDUALS] = "residuals_registered",
	[SN_C_RESIDUAL_BYTES] = "residual_bytes",
	[SN_C_SENDS_SPECIALIZED] = "sends_specialized",
	[SN_C_SENDS_GENERIC] = "sends_generic",
	[SN_C_FALLBACKS] = "fallbacks",
	[SN_C_REFUSED] = "refused",
	[SN_C_GUARD_CLOSE] = "guard_close",
	[SN_C_GUARD_ROUTE] = "guard_route",
	[SN_C_GUARD_PMTU] = "guard_pmtu",
	[SN_C_SOCKETS_MARKED] = "sockets_marked",
	[SN_C_REFS_HELD] = "refs_held",
	[SN_C_SENDS_GUARDED] = "sends_guarded",
	[SN_C_SENDS_REROUTED] = "sends_rerouted",
	[SN_C_GUARD_REACTION_NS_LAST] = "guard_reaction_ns_last",
	[SN_C_GUARD_REACTION_NS_MAX] = "guard_reaction_ns_max",
	[SN_C_GUARD_CLOSE_WAITS] = "guard_close_waits",
};

/* An iPAQ-sized guest has 32 MB: 256 KB is room for a few dozen residuals
 * of the UDP path (a residual module is a few KB) and a clear limit. */
unsigned long sn_budget_bytes = 256 * 1024;
module_param_named(budget_bytes, sn_budget_bytes, ulong, 0644);
MODULE_PARM_DESC(budget_bytes, "bytes of residual modules tokens may keep loaded");

/* The user ABI spells the ioctl numbers out without <linux/ioctl.h>. */
static_assert(SPECNET_CUSTOMIZE == _IOWR(SPECNET_IOC_MAGIC, 1, struct specnet_customize));
static_assert(SPECNET_LOAD == _IOWR(SPECNET_IOC_MAGIC, 2, struct specnet_load));
static_assert(SPECNET_SEND == _IOW(SPECNET_IOC_MAGIC, 3, struct specnet_send));
static_assert(SPECNET_SEND_GENERIC == _IOW(SPECNET_IOC_MAGIC, 4, struct specnet_send_generic));
static_assert(SPECNET_RELEASE == _IOW(SPECNET_IOC_MAGIC, 5, struct specnet_release));
static_assert(SPECNET_NR_CUSTOMIZED_SEND == __NR_customized_send);

static long sn_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	void __user *p = (void __user *)arg;

	switch (cmd) {
	case SPECNET_CUSTOMIZE:
		return sn_customize(p);
	case SPECNET_LOAD:
		return sn_load(f, p);
	case SPECNET_SEND:
		return sn_send(f, p);
	case SPECNET_SEND_GENERIC:
		return sn_send_generic(p);
	case SPECNET_RELEASE:
		return sn_release(f, p);
	}
	return -ENOTTY;
}

static int sn_release_file(struct inode *inode, struct file *f)
{
	sn_tokens_release_file(f);
	return 0;
}

static const struct file_operations sn_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = sn_ioctl,
	.release = sn_release_file,
};

static struct miscdevice sn_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = SPECNET_MISC_NAME,
	.fops = &sn_fops,
	.mode = 0666,
};

static int sn_proc_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < SN_C_COUNT; i++) {
		seq_printf(m, "%s %ld\n", sn_counter_names[i],
			   atomic_long_read(&sn_counters[i]));
		if (i == SN_C_RESIDUAL_BYTES)
			seq_printf(m, "budget_bytes %lu\n", sn_budget_bytes);
	}
	sn_residuals_show(m);
	return 0;
}

static int __init sn_init(void)
{
	int err;

	if (!proc_create_single("specnet", 0444, NULL, sn_proc_show))
		return -ENOMEM;
	err = sn_close_guard_init();
	if (err)
		goto out_proc;
	err = sn_route_guard_start();
	if (err)
		goto out_guard;
	err = misc_register(&sn_misc);
	if (err)
		goto out_route;
	/* Last: tokens come only through the device, and the call needs one. */
	err = sn_customized_send_init();
	if (err)
		goto out_misc;
	pr_info("specnet: core loaded, budget %lu bytes\n", sn_budget_bytes);
	return 0;

out_misc:
	misc_deregister(&sn_misc);
out_route:
	sn_route_guard_stop();
out_guard:
	sn_close_guard_exit();
out_proc:
	remove_proc_entry("specnet", NULL);
	return err;
}

/* Every residual depends on the core, and every token pins a residual or
 * an open of the device: nothing of ours is in use here. */
static void __exit sn_exit(void)
{
	sn_customized_send_exit();
	misc_deregister(&sn_misc);
	sn_route_guard_stop();
	sn_close_guard_exit();
	remove_proc_entry("specnet", NULL);
	sn_tokens_exit();
}

module_init(sn_init);
module_exit(sn_exit);

MODULE_DESCRIPTION("specbed specialized UDP sends: tokens, guards, generic path");
MODULE_LICENSE("GPL");
