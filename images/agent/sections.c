// SPDX-License-Identifier: GPL-2.0
/*
 * The sections step: where the kernel put a loaded module's code. The
 * host attributes instruction addresses that a TCG plugin counted to the
 * module's functions; it has the module file, so the load address of
 * each code section is all it needs from the guest.
 */
#include "agent.h"

#define SECTIONS_DIR "/sys/module/"
#define NAME_MAX_LEN 56
#define DIRENT_BUF 2048

/*
 * is_code_section: the sections that hold instructions (.text,
 * .text.unlikely, .exit.text, ...) have "text" in their name. nolibc has
 * no strstr.
 */
static int is_code_section(const char *name)
{
	for (; *name; name++)
		if (!strncmp(name, "text", 4))
			return 1;
	return 0;
}

/* append copies src to the end of dst (nolibc has no strcat). */
static void append(char *dst, const char *src)
{
	strcpy(dst + strlen(dst), src);
}

/* read_address parses the "0x..." a section file holds; 0 when unreadable. */
static unsigned long long read_address(const char *path)
{
	char buf[32];
	unsigned long long v = 0;
	long fd, n, i;

	fd = sys_open(path, O_RDONLY, 0);
	if (fd < 0)
		return 0;
	n = sys_read(fd, buf, sizeof(buf) - 1);
	sys_close(fd);
	if (n < 3 || buf[0] != '0' || buf[1] != 'x')
		return 0;
	for (i = 2; i < n; i++) {
		char c = buf[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (c - 'a' + 10);
		else
			break;
	}
	return v;
}

/*
 * step_sections reports the address of every code section of module name
 * (/sys/module/<name>/sections/, which needs CONFIG_KALLSYMS): one field
 * per section, named as the section, in decimal. A section that reads as
 * 0 (addresses hidden) fails the step.
 */
int step_sections(struct step *s)
{
	static char dirents[DIRENT_BUF];
	char dir[sizeof(SECTIONS_DIR) + NAME_MAX_LEN + 16], path[sizeof(dir) + 256];
	const char *name;
	long fd, n, off;
	int found = 0;

	if (step_str(s, "name", &name, 1) < 0)
		return -1;
	if (strlen(name) > NAME_MAX_LEN || strchr(name, '/')) {
		out_error(s->index, "bad module name ", name, 0);
		return -1;
	}
	strcpy(dir, SECTIONS_DIR);
	append(dir, name);
	append(dir, "/sections/");
	fd = sys_open(dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0) {
		out_error(s->index, "cannot open ", dir, fd);
		return -1;
	}
	out_result(s->index, "sections");
	out_str("name", name);
	while ((n = sys_getdents64(fd, (struct linux_dirent64 *)dirents, sizeof(dirents))) > 0) {
		for (off = 0; off < n; off += ((struct linux_dirent64 *)(dirents + off))->d_reclen) {
			const char *sec = ((struct linux_dirent64 *)(dirents + off))->d_name;
			unsigned long long addr;

			if (!is_code_section(sec) || strlen(sec) > 200)
				continue;
			strcpy(path, dir);
			append(path, sec);
			addr = read_address(path);
			if (!addr) {
				sys_close(fd);
				out_error(s->index, "no address in ", path, 0);
				return -1;
			}
			out_u64(sec, addr);
			found++;
		}
	}
	sys_close(fd);
	if (n < 0 || !found) {
		out_error(s->index, "no code section listed in ", dir, n);
		return -1;
	}
	out_end();
	return 0;
}
