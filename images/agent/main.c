// SPDX-License-Identifier: GPL-2.0
/*
 * specbed guest agent: /init of every guest. It mounts the pseudo file
 * systems, announces itself, runs the plan the host put on the kernel
 * command line (sbplan=...), reports, and ends the virtual machine.
 * PROTOCOL.md describes everything it reads and prints.
 */
#include "agent.h"

static char **environment;

/* agent_getenv finds name in the environment the kernel passed to /init. */
const char *agent_getenv(const char *name)
{
	unsigned int n = strlen(name);
	char **e;

	for (e = environment; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* Mount one pseudo file system; EBUSY means the kernel already did. */
static int mount_fs(const char *type, const char *dir)
{
	long ret = sys_mount(type, dir, type, 0, NULL);

	if (ret < 0 && ret != -EBUSY) {
		out_error(-1, "cannot mount ", dir, ret);
		return -1;
	}
	return 0;
}

static int run_plan(void)
{
	static char plan[PLAN_MAX];
	const char *text = agent_getenv("sbplan");
	long next_step = 0;

	if (!text) {
		out_error(-1, "no sbplan= on the kernel command line", NULL, 0);
		return -1;
	}
	if (strlen(text) >= sizeof(plan)) {
		out_error(-1, "sbplan is too long", NULL, 0);
		return -1;
	}
	strcpy(plan, text);
	return plan_run(plan, &next_step, 0);
}

int main(int argc, char **argv, char **envp)
{
	int status = 0;

	(void)argc;
	(void)argv;
	environment = envp;
	/*
	 * The kernel opened /dev/console (from the initramfs) as fds 0-2;
	 * devtmpfs then hides that node but the open files stay valid.
	 */
	if (mount_fs("devtmpfs", "/dev") < 0 ||
	    mount_fs("proc", "/proc") < 0 ||
	    mount_fs("sysfs", "/sys") < 0)
		status = 1;

	out_begin("ready");
	out_str("agent", AGENT_VERSION);
	out_str("arch", AGENT_ARCH);
	out_end();

	if (run_plan() < 0)
		status = 1;

	out_begin("done");
	out_u64("status", status);
	out_end();
	vm_exit(status);
}
