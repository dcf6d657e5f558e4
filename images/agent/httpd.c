// SPDX-License-Identifier: GPL-2.0
/*
 * The httpd step: a small HTTP/1.0 server, the workload of the kernel
 * profile of figure 1 (the paper profiled an in-kernel web server under
 * 100 concurrent connections). It accepts conns connections one after
 * another; for each it reads the request up to its blank line, answers
 * with one write of a header and size bytes of body, and closes. The
 * concurrency is the kernel's: the host's clients keep their connections
 * open at once, and those not being served wait, handshake done and
 * request queued, in the listening socket's accept queue (backlog).
 *
 * httpd_window_open and httpd_window_close bracket the served
 * connections: a profiler puts its trigger addresses on them (the agent's
 * symbols), so that the window holds the serving and not the boot.
 */
#include "net.h"

#define REQUEST_MAX	512		/* bytes of one request we keep */
#define BODY_MAX	(16 << 10)	/* bytes of the largest body */
#define HEADER_MAX	64		/* "HTTP/1.0 200 OK..." with the length */

static char request[REQUEST_MAX];
static char response[HEADER_MAX + BODY_MAX];

/* Empty but kept out of line: the profiler's trigger addresses. */
__attribute__((noipa)) void httpd_window_open(void)
{
	__asm__ volatile ("" ::: "memory");
}

__attribute__((noipa)) void httpd_window_close(void)
{
	__asm__ volatile ("" ::: "memory");
}

/* The response is the same for every request: made once. */
static unsigned long make_response(unsigned long size)
{
	static const char head[] = "HTTP/1.0 200 OK\r\nContent-Length: ";
	char num[24];
	char *p = response;
	unsigned long i;

	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	strcpy(p, u64_to_dec(num, size));
	p += strlen(p);
	memcpy(p, "\r\n\r\n", 4);
	p += 4;
	for (i = 0; i < size; i++)
		p[i] = 'a' + i % 26;
	return p + size - response;
}

/* has_blank_line reports whether the n bytes at p hold "\r\n\r\n". */
static int has_blank_line(const char *p, unsigned long n)
{
	unsigned long i;

	for (i = 0; i + 4 <= n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
			return 1;
	return 0;
}

/*
 * read_request reads until the request's blank line. Returns 1 for a GET
 * request, 0 for anything else (or a peer that closed early), or a
 * negative errno.
 */
static long read_request(long fd)
{
	unsigned long len = 0;
	long n;

	for (;;) {
		n = sys_read(fd, request + len, sizeof(request) - 1 - len);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n;
		len += n;
		request[len] = 0;
		if (has_blank_line(request, len))
			return !strncmp(request, "GET ", 4);
		if (len == sizeof(request) - 1)
			return 0;
	}
}

struct served {
	unsigned long long conns, bad, failed, bytes;
};

/* serve answers one accepted connection and closes it. */
static void serve(long fd, unsigned long response_len, struct served *sv)
{
	long ret = read_request(fd);

	if (ret > 0) {
		ret = write_full(fd, response, response_len);
		if (!ret)
			sv->bytes += response_len;
	} else if (!ret) {
		sv->bad++;
	}
	if (ret < 0)
		sv->failed++;	/* the client reset or went away */
	sys_close(fd);
	sv->conns++;
}

/* listen_on opens a TCP socket listening on every address at port. */
static long listen_on(unsigned int port, unsigned int backlog)
{
	static const unsigned char any[4];
	struct sb_sockaddr_in addr;
	long fd, ret;

	fd = sb_socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	set_sockaddr(&addr, any, port);
	ret = sb_bind4(fd, &addr, sizeof(addr));
	if (ret >= 0)
		ret = sb_listen(fd, backlog);
	if (ret < 0) {
		sys_close(fd);
		return ret;
	}
	return fd;
}

int step_httpd(struct step *s)
{
	unsigned long long port, conns, size, backlog, t0, t1;
	struct served sv = { 0 };
	unsigned long response_len;
	long lfd, fd, ret = 0;

	if (step_u64(s, "port", &port, 1, 65535, 1) < 0 ||
	    step_u64(s, "conns", &conns, 1, 0xffffffffULL, 1) < 0 ||
	    step_u64(s, "size", &size, 0, BODY_MAX, 1) < 0 ||
	    step_u64(s, "backlog", &backlog, 1, 4096, 0) < 0)
		return -1;
	if (!step_get(s, "backlog"))
		backlog = 128;
	response_len = make_response(size);
	lfd = listen_on(port, backlog);
	if (lfd < 0) {
		out_error(s->index, "cannot listen (socket, bind or listen failed)", NULL, lfd);
		return -1;
	}
	/* The step's result line tells the host to start its clients. */
	out_begin("listen");
	out_u64("step", s->index);
	out_u64("port", port);
	out_end();
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t0);
	httpd_window_open();
	while (!ret && sv.conns < conns) {
		fd = sb_accept(lfd);
		if (fd == -EINTR || fd == -ECONNABORTED)
			continue;
		if (fd < 0) {
			ret = fd;
			break;
		}
		serve(fd, response_len, &sv);
	}
	httpd_window_close();
	sys_close(lfd);
	if (!ret)
		ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t1);
	if (ret < 0) {
		out_error(s->index, "accept() or the clock failed", NULL, ret);
		return -1;
	}
	out_result(s->index, "httpd");
	out_u64("port", port);
	out_u64("conns", sv.conns);
	out_u64("bad", sv.bad);
	out_u64("failed", sv.failed);
	out_u64("bytes", sv.bytes);
	out_u64("ns", t1 - t0);
	out_end();
	return 0;
}
