// SPDX-License-Identifier: GPL-2.0
/*
 * The proc step: one line of a /proc (or /sys) file, the first that
 * starts with a prefix, e.g. "UDP:" of /proc/net/sockstat or "MemFree:"
 * of /proc/meminfo. Tests compare such lines before and after a step
 * to find leaks.
 */
#include "agent.h"

#define PROC_FILE_MAX	(16 << 10)	/* bytes read of the file */

/*
 * proc_line copies into line (cap bytes) the first line of the file at
 * path that starts with prefix, without its newline. Returns 0, -ENOENT
 * when no line matches, or the open or read error.
 */
long proc_line(const char *path, const char *prefix, char *line, unsigned long cap)
{
	static char buf[PROC_FILE_MAX + 1];
	long fd, n = 0, total = 0;
	char *l, *next;
	size_t plen = strlen(prefix);

	fd = sys_open(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	while (total < PROC_FILE_MAX) {
		n = sys_read(fd, buf + total, PROC_FILE_MAX - total);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	sys_close(fd);
	if (n < 0)
		return n;
	buf[total] = 0;
	for (l = buf; *l; l = next) {
		next = strchr(l, '\n');
		if (next)
			*next++ = 0;
		else
			next = l + strlen(l);
		if (strncmp(l, prefix, plen))
			continue;
		strncpy(line, l, cap - 1);
		line[cap - 1] = 0;
		return 0;
	}
	return -ENOENT;
}

int step_proc(struct step *s)
{
	static char line[PROC_LINE_MAX];
	const char *path, *prefix;
	long ret;

	if (step_str(s, "path", &path, 1) < 0 ||
	    step_str(s, "prefix", &prefix, 1) < 0)
		return -1;
	ret = proc_line(path, prefix, line, sizeof(line));
	if (ret == -ENOENT) {
		out_error(s->index, "no line with that prefix in ", path, 0);
		return -1;
	}
	if (ret < 0) {
		out_error(s->index, "cannot read ", path, ret);
		return -1;
	}
	out_result(s->index, "proc");
	out_str("path", path);
	out_str("line", line);
	out_end();
	return 0;
}
