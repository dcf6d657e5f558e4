// SPDX-License-Identifier: GPL-2.0
/*
 * The proc step: one line of a /proc (or /sys) file, the first that
 * starts with a prefix, e.g. "UDP:" of /proc/net/sockstat or "MemFree:"
 * of /proc/meminfo. Tests compare such lines before and after a step
 * to find leaks.
 */
#include "agent.h"

#define PROC_FILE_MAX	(16 << 10)	/* bytes read of the file */

int step_proc(struct step *s)
{
	static char buf[PROC_FILE_MAX + 1];
	const char *path, *prefix;
	long fd, n = 0, total = 0;
	char *line, *next;
	size_t plen;

	if (step_str(s, "path", &path, 1) < 0 ||
	    step_str(s, "prefix", &prefix, 1) < 0)
		return -1;
	fd = sys_open(path, O_RDONLY, 0);
	if (fd < 0) {
		out_error(s->index, "cannot open ", path, fd);
		return -1;
	}
	while (total < PROC_FILE_MAX) {
		n = sys_read(fd, buf + total, PROC_FILE_MAX - total);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	sys_close(fd);
	if (n < 0) {
		out_error(s->index, "cannot read ", path, n);
		return -1;
	}
	buf[total] = 0;
	plen = strlen(prefix);
	for (line = buf; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		else
			next = line + strlen(line);
		if (strncmp(line, prefix, plen))
			continue;
		out_result(s->index, "proc");
		out_str("path", path);
		out_str("line", line);
		out_end();
		return 0;
	}
	out_error(s->index, "no line with that prefix in ", path, 0);
	return -1;
}
