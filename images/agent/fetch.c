// SPDX-License-Identifier: GPL-2.0
/*
 * The fetch step: ask the specialization server for a module over TCP and
 * write it to a file. One request per connection, in the server's wire
 * protocol v1 (specializer/server/PROTOCOL.md; all integers big-endian):
 *
 *   request  = "SBRQ" u16 version u16 flags u16 n build-id u16 n decl-id
 *              u32 n context
 *   response = "SBRS" u16 version u16 status u32 count count*u64 phase-ns
 *              u8 cache-hit u16 n message u32 n module
 *
 * The round trip the step reports is the guest's own clock from before
 * connect() to the module's last byte: what a device waiting for its
 * code sees.
 */
#include "net.h"
#include <asm/socket.h>

#define PROTO_VERSION	1
#define BUILD_ID_MAX	128		/* bytes */
#define DECL_ID_MAX	64		/* bytes */
#define CONTEXT_MAX	(64 << 10)	/* bytes */
#define MODULE_MAX	(4 << 20)	/* bytes */
#define PHASES_MAX	16		/* timings a response may carry */
#define MESSAGE_MAX	65535		/* bytes: a u16 length */
#define SERVER_PORT	7070
#define FETCH_TIMEOUT_MS 30000
#define REQUEST_HEADER	(4 + 2 + 2 + 2 + BUILD_ID_MAX + 2 + DECL_ID_MAX + 4)

/* struct __kernel_sock_timeval: SO_*TIMEO_NEW take 64-bit seconds. */
struct sb_sock_timeval {
	long long sec;
	long long usec;
};

struct fetch_args {
	unsigned char server[4];
	unsigned long long port, timeout_ms;
	const char *build, *decl, *ctx, *out;
};

/* What the server answered, and what the guest measured. */
struct fetch_reply {
	unsigned int status, nphases, cache_hit;
	unsigned long long phases[PHASES_MAX];
	unsigned long module_bytes;
	unsigned long long connect_ns, round_trip_ns;
	/* first_ns: the clock when the response's header was in. */
	unsigned long long first_ns, reply_ns;
};

/* One byte beyond the largest context tells a file that is too large. */
static unsigned char request[REQUEST_HEADER + CONTEXT_MAX + 1];
static char message[MESSAGE_MAX + 1];
static unsigned char chunk[4096];

static int parse_args(struct step *s, struct fetch_args *a)
{
	if (step_ipv4(s, "server", a->server) < 0 ||
	    step_u64(s, "port", &a->port, SERVER_PORT, 65535, 0) < 0 ||
	    step_str(s, "build", &a->build, 1) < 0 ||
	    step_str(s, "decl", &a->decl, 1) < 0 ||
	    step_str(s, "ctx", &a->ctx, 1) < 0 ||
	    step_str(s, "out", &a->out, 1) < 0 ||
	    step_u64(s, "timeout_ms", &a->timeout_ms, FETCH_TIMEOUT_MS,
		     0xffffffffULL, 0) < 0)
		return -1;
	if (!a->port || !a->timeout_ms) {
		out_error(s->index, "port and timeout_ms must not be 0", NULL, 0);
		return -1;
	}
	/* The server checks the ids' characters; the frame needs their lengths. */
	if (strlen(a->build) > BUILD_ID_MAX || strlen(a->decl) > DECL_ID_MAX) {
		out_error(s->index, "build or decl id too long", NULL, 0);
		return -1;
	}
	return 0;
}

static unsigned char *put_be(unsigned char *p, unsigned long v, int bytes)
{
	while (bytes--)
		*p++ = (unsigned char)(v >> (8 * bytes));
	return p;
}

static unsigned long get_be(const unsigned char *p, int bytes)
{
	unsigned long v = 0;

	while (bytes--)
		v = v << 8 | *p++;
	return v;
}

static unsigned char *put_string(unsigned char *p, const char *str)
{
	unsigned long n = strlen(str);

	p = put_be(p, n, 2);
	memcpy(p, str, n);
	return p + n;
}

/*
 * build_request frames the request, reading the context from the file
 * the host put in the initramfs. Returns its length, or -1 after an
 * error line.
 */
static long build_request(struct step *s, const struct fetch_args *a)
{
	unsigned char *p = request, *ctx;
	long fd, n, total = 0;

	memcpy(p, "SBRQ", 4);
	p = put_be(p + 4, PROTO_VERSION, 2);
	p = put_be(p, 0, 2);
	p = put_string(p, a->build);
	p = put_string(p, a->decl);
	ctx = p + 4;
	fd = sys_open(a->ctx, O_RDONLY, 0);
	if (fd < 0) {
		out_error(s->index, "cannot open ", a->ctx, fd);
		return -1;
	}
	for (;;) {
		n = sys_read(fd, ctx + total, CONTEXT_MAX + 1 - total);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
		if (total > CONTEXT_MAX)
			break;
	}
	sys_close(fd);
	if (n < 0) {
		out_error(s->index, "cannot read ", a->ctx, n);
		return -1;
	}
	if (total > CONTEXT_MAX) {
		out_error(s->index, "context larger than 64 KiB: ", a->ctx, 0);
		return -1;
	}
	put_be(p, total, 4);
	return ctx + total - request;
}

/* write_full writes n bytes; returns 0 or a negative errno. */
long write_full(int fd, const void *buf, unsigned long n)
{
	const unsigned char *p = buf;

	while (n) {
		long w = sys_write(fd, p, n);

		if (w == -EINTR)
			continue;
		if (w < 0)
			return w;
		if (w == 0)
			return -EIO;
		p += w;
		n -= w;
	}
	return 0;
}

/*
 * read_full reads exactly n bytes; returns 0, -EPIPE when the peer
 * closed first, or another negative errno (-EAGAIN: the receive timeout).
 */
static long read_full(int fd, void *buf, unsigned long n)
{
	unsigned char *p = buf;

	while (n) {
		long r = sys_read(fd, p, n);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		if (r == 0)
			return -EPIPE;
		p += r;
		n -= r;
	}
	return 0;
}

static long set_timeouts(int fd, unsigned long long ms)
{
	struct sb_sock_timeval tv;
	long ret;

	/* Seconds and microseconds without 64-bit division (no libgcc on arm). */
	tv.sec = 0;
	while (ms >= 1000) {
		ms -= 1000;
		tv.sec++;
	}
	tv.usec = (long long)ms * 1000;
	/* The send timeout also bounds connect(). */
	ret = sb_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO_NEW, &tv, sizeof(tv));
	if (!ret)
		ret = sb_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO_NEW, &tv, sizeof(tv));
	return ret;
}

/* copy_module moves the module's n bytes from the socket to out. */
static int copy_module(struct step *s, int sock, const char *out, unsigned long n)
{
	long fd, ret = 0;

	fd = sys_open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		out_error(s->index, "cannot create ", out, fd);
		return -1;
	}
	while (n && !ret) {
		unsigned long part = n < sizeof(chunk) ? n : sizeof(chunk);
		long r = sys_read(sock, chunk, part);

		if (r == -EINTR)
			continue;
		if (r <= 0) {
			ret = r ? r : -EPIPE;
			out_error(s->index, "reading the module failed", NULL, ret);
			break;
		}
		ret = write_full(fd, chunk, r);
		if (ret < 0)
			out_error(s->index, "cannot write ", out, ret);
		n -= r;
	}
	sys_close(fd);
	return ret ? -1 : 0;
}

/* read_reply reads the response up to the module and the module itself. */
static int read_reply(struct step *s, int sock, const struct fetch_args *a,
		      struct fetch_reply *r)
{
	unsigned char head[12], tail[4];
	unsigned long i, n;
	long ret;

	ret = read_full(sock, head, sizeof(head));
	if (ret < 0)
		goto io_fail;
	/* The download (a phase of figure 4(c)) starts with the header. */
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &r->first_ns);
	if (ret < 0) {
		out_error(s->index, "clock_gettime64(CLOCK_MONOTONIC) failed", NULL, ret);
		return -1;
	}
	if (memcmp(head, "SBRS", 4) || get_be(head + 4, 2) != PROTO_VERSION) {
		out_error(s->index, "not a v1 response (magic SBRS)", NULL, 0);
		return -1;
	}
	r->status = get_be(head + 6, 2);
	r->nphases = get_be(head + 8, 4);
	if (r->nphases > PHASES_MAX) {
		out_error(s->index, "response has too many phases", NULL, 0);
		return -1;
	}
	for (i = 0; i < r->nphases; i++) {
		unsigned char v[8];

		ret = read_full(sock, v, 8);
		if (ret < 0)
			goto io_fail;
		r->phases[i] = (unsigned long long)get_be(v, 4) << 32 | get_be(v + 4, 4);
	}
	ret = read_full(sock, tail, 3);
	if (ret < 0)
		goto io_fail;
	r->cache_hit = tail[0];
	n = get_be(tail + 1, 2);
	ret = read_full(sock, message, n);
	if (ret < 0)
		goto io_fail;
	message[n] = 0;
	ret = read_full(sock, tail, 4);
	if (ret < 0)
		goto io_fail;
	r->module_bytes = get_be(tail, 4);
	if (r->module_bytes > MODULE_MAX) {
		out_error(s->index, "module larger than 4 MiB", NULL, 0);
		return -1;
	}
	if (r->status)
		return 0;
	return copy_module(s, sock, a->out, r->module_bytes);
io_fail:
	out_error(s->index, ret == -EPIPE ? "the server closed before its response ended" :
		  "reading the response failed", NULL, ret == -EPIPE ? 0 : ret);
	return -1;
}

/* exchange connects, sends the request and reads the reply, timing both. */
static int exchange(struct step *s, const struct fetch_args *a, long len,
		    struct fetch_reply *r)
{
	struct sb_sockaddr_in to;
	unsigned long long t0, t1, t2;
	long sock, ret;
	int err = -1;

	sock = sb_socket(AF_INET, SOCK_STREAM, 0);
	if (sock < 0) {
		out_error(s->index, "socket(AF_INET, SOCK_STREAM) failed", NULL, sock);
		return -1;
	}
	ret = set_timeouts(sock, a->timeout_ms);
	if (ret < 0) {
		out_error(s->index, "setsockopt(SO_*TIMEO_NEW) failed", NULL, ret);
		goto out;
	}
	set_sockaddr(&to, a->server, a->port);
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t0);
	if (ret < 0)
		goto clock_fail;
	ret = sb_connect(sock, &to, sizeof(to));
	if (ret < 0) {
		out_error(s->index, "connect to the server failed", NULL, ret);
		goto out;
	}
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t1);
	if (ret < 0)
		goto clock_fail;
	ret = write_full(sock, request, len);
	if (ret < 0) {
		out_error(s->index, "sending the request failed", NULL, ret);
		goto out;
	}
	if (read_reply(s, sock, a, r) < 0)
		goto out;
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t2);
	if (ret < 0)
		goto clock_fail;
	r->connect_ns = t1 - t0;
	r->round_trip_ns = t2 - t0;
	r->reply_ns = t2 - r->first_ns;
	err = 0;
	goto out;
clock_fail:
	out_error(s->index, "clock_gettime64(CLOCK_MONOTONIC) failed", NULL, ret);
out:
	sys_close(sock);
	return err;
}

/* phase_list writes the phase timings as "n0,n1,..." into buf. */
static const char *phase_list(const struct fetch_reply *r)
{
	static char buf[PHASES_MAX * 21];
	char *p = buf;
	unsigned int i;

	*p = 0;
	for (i = 0; i < r->nphases; i++) {
		if (i)
			*p++ = ',';
		p += strlen(u64_to_dec(p, r->phases[i]));
	}
	return buf;
}

/*
 * fetch asks the server for a module and writes it to out. The server's
 * answer is the result; a status other than 0 (no module) also fails
 * the step, since the steps after a fetch load what it fetched.
 */
int step_fetch(struct step *s)
{
	struct fetch_args a;
	struct fetch_reply r;
	long len;

	memset(&r, 0, sizeof(r));
	if (parse_args(s, &a) < 0)
		return -1;
	len = build_request(s, &a);
	if (len < 0 || exchange(s, &a, len, &r) < 0)
		return -1;

	out_result(s->index, "fetch");
	out_u64("status", r.status);
	out_u64("cache", r.cache_hit);
	out_str("phases", phase_list(&r));
	out_u64("bytes", r.module_bytes);
	out_u64("request_bytes", len);
	out_u64("connect_ns", r.connect_ns);
	out_u64("ns", r.round_trip_ns);
	out_u64("reply_ns", r.reply_ns);
	out_str("out", a.out);
	out_str("message", message);
	out_end();
	if (r.status) {
		out_error(s->index, "the server answered with an error status", NULL, 0);
		return -1;
	}
	return 0;
}
