// SPDX-License-Identifier: GPL-2.0
/* The small steps: insmod, sleep and hang. */
#include "agent.h"

/* The longest module parameter string the agent passes on (bytes). */
#define PARAMS_MAX 1024

/*
 * load_module runs finit_module() in a child process: a module whose
 * init oopses kills the task that loads it, and if that task were init
 * the kernel would panic instead of letting the agent report and end the
 * VM. Returns the kernel's answer (0 or a negative errno), or -1 after an
 * error line.
 */
static long load_module(struct step *s, int fd, const char *params, long *answer)
{
	int status = 0;
	long pid = sys_fork();

	if (pid < 0) {
		out_error(s->index, "insmod: fork failed", NULL, pid);
		return -1;
	}
	if (pid == 0) {
		long ret = sb_finit_module(fd, params, 0);

		/* Every errno fits an exit status (they are all below 256). */
		sys_exit(ret < 0 ? (int)-ret : 0);
	}
	while ((pid = sys_wait4(pid, &status, 0, NULL)) == -EINTR)
		;
	if (pid < 0) {
		out_error(s->index, "insmod: wait4 failed", NULL, pid);
		return -1;
	}
	if (!WIFEXITED(status)) {
		char buf[24];

		out_error_begin(s->index);
		out_msg("insmod: the loading process died (signal ");
		out_msg(u64_to_dec(buf, status & 0x7f));
		out_msg(")");
		out_end();
		return -1;
	}
	*answer = -WEXITSTATUS(status);
	return 0;
}

/*
 * insmod loads a module with finit_module(). The kernel's answer is the
 * result, not an error: refusing a module (an unsigned one, say) is what
 * some tests expect. A module file that cannot be opened is an error.
 */
int step_insmod(struct step *s)
{
	const char *path, *params;
	unsigned long long t0, t1;
	long fd, ret, answer = 0;

	if (step_str(s, "path", &path, 1) < 0 ||
	    step_str(s, "params", &params, 0) < 0)
		return -1;
	if (!params)
		params = "";
	if (strlen(params) >= PARAMS_MAX) {
		out_error(s->index, "params too long", NULL, 0);
		return -1;
	}
	fd = sys_open(path, O_RDONLY, 0);
	if (fd < 0) {
		out_error(s->index, "cannot open ", path, fd);
		return -1;
	}
	/* The load's time is a phase of figure 4(c) (specialization overhead). */
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t0);
	if (ret < 0)
		goto clock_failed;
	if (load_module(s, fd, params, &answer) < 0)
		goto out_close;
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t1);
	if (ret < 0)
		goto clock_failed;
	sys_close(fd);

	out_result(s->index, "insmod");
	out_str("path", path);
	out_u64("errno", -answer);
	out_u64("ns", t1 - t0);
	out_end();
	return 0;

clock_failed:
	out_error(s->index, "clock_gettime64(CLOCK_MONOTONIC) failed", NULL, ret);
out_close:
	sys_close(fd);
	return -1;
}

/* sleep waits ms milliseconds and reports the time it measured (ns). */
int step_sleep(struct step *s)
{
	unsigned long long ms, t0, t1;
	long ret;

	if (step_u64(s, "ms", &ms, 0, 0xffffffffULL, 1) < 0)
		return -1;
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t0);
	if (!ret)
		ret = sb_sleep_ms(ms);
	if (!ret)
		ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t1);
	if (ret) {
		out_error(s->index, "sleep failed", NULL, ret);
		return -1;
	}
	out_result(s->index, "sleep");
	out_u64("ms", ms);
	out_u64("ns", t1 - t0);
	out_end();
	return 0;
}

/* hang spins without output or system calls: the host's hang detector test. */
int step_hang(struct step *s)
{
	(void)s;
	for (;;)
		__asm__ volatile ("" ::: "memory");
}
