// SPDX-License-Identifier: GPL-2.0
/*
 * The specnet steps: the agent's side of /dev/specnet, the core module's
 * customized send (images/specnet/core/specnet_uapi.h).
 *
 * A boot has one flow: the UDP socket (or TCP connection, proto=tcp) a
 * customize step opens, bound to a fixed source port so that its context
 * is the same in every boot, and its destination. load binds a residual to the flow and keeps the token
 * in one of a few slots; send times sends through the kernel's sendto()
 * and send(), the module's generic path, or a token (by ioctl or by the
 * customized_send system call); counters reports
 * /proc/specnet; release and rmmod undo a load; setsockopt, getsockopt
 * and close act on the flow socket as its application would (the guards
 * of a specialized socket).
 */
#include "net.h"
#include "specnet_uapi.h"
#include <asm/socket.h>

#define TOKEN_SLOTS	8
#define CONTEXT_MAX	(64 << 10)	/* bytes: what the server accepts */
#define DATA_PIECE	256		/* context bytes per data line: <= 768 escaped */
#define PROC_MAX	4096		/* bytes of /proc/specnet read */
#define MSG_FLAGS	0		/* MSG_* flags of every send */
#define O_NONBLOCK_RM	04000		/* delete_module: fail instead of waiting for users */
#define SO_ADU		200		/* kernel patch 0003, asm-generic (x86, ARM) */
#define SOCKOPT_MAX	0x7fffffffULL	/* levels, names and values are ints */

/* The flow of this boot; fds are -1 while closed. */
static struct {
	long dev;			/* /dev/specnet */
	long sock;			/* the flow socket */
	long dup;			/* a dup() of it (the dup step) */
	int tcp;			/* the flow socket is a TCP connection */
	struct specnet_sockaddr_in dest;
	uint32_t tokens[TOKEN_SLOTS];	/* 0: empty */
} flow = { .dev = -1, .sock = -1, .dup = -1 };

static char context[CONTEXT_MAX];

/* The uapi's sockaddr is the kernel's struct sockaddr_in, like the agent's. */
typedef char dest_layout_check[sizeof(struct specnet_sockaddr_in) ==
			       sizeof(struct sb_sockaddr_in) ? 1 : -1];

static long sb_bind(int fd, const void *addr, int addrlen)
{
	return my_syscall3(__NR_bind, fd, addr, addrlen);
}

static long sb_delete_module(const char *name, int flags)
{
	return my_syscall2(__NR_delete_module, name, flags);
}

/* Kernel patch 0006; the C library's headers do not know the number. */
static long sb_customized_send(uint32_t token, const void *buf,
			       unsigned long len, uint32_t flags)
{
	return my_syscall4(SPECNET_NR_CUSTOMIZED_SEND, token, buf, len, flags);
}

/* open_dev opens /dev/specnet once; the core module must be loaded. */
static int open_dev(struct step *s)
{
	if (flow.dev >= 0)
		return 0;
	flow.dev = sys_open(SPECNET_DEVICE, O_RDWR, 0);
	if (flow.dev < 0) {
		out_error(s->index, "cannot open ", SPECNET_DEVICE, flow.dev);
		flow.dev = -1;
		return -1;
	}
	return 0;
}

/* open_flow replaces the flow socket (and its dup) by one bound to *:sport. */
static int open_flow(struct step *s, unsigned int sport, int type)
{
	static const unsigned char any[4];
	struct sb_sockaddr_in local;
	long ret;

	if (flow.dup >= 0)
		sys_close(flow.dup);
	flow.dup = -1;
	if (flow.sock >= 0)
		sys_close(flow.sock);
	flow.tcp = type == SOCK_STREAM;
	flow.sock = sb_socket(AF_INET, type, 0);
	if (flow.sock < 0) {
		out_error(s->index, "socket(AF_INET) for the flow failed", NULL, flow.sock);
		flow.sock = -1;
		return -1;
	}
	set_sockaddr(&local, any, sport);
	ret = sb_bind(flow.sock, &local, sizeof(local));
	if (ret < 0) {
		out_error(s->index, "bind of the flow socket failed", NULL, ret);
		return -1;
	}
	return 0;
}

static int has_nul(const char *buf, unsigned long n)
{
	while (n--)
		if (!*buf++)
			return 1;
	return 0;
}

/* put_context prints the context in data lines the host reassembles. */
static void put_context(long step, const char *buf, unsigned long n)
{
	static char piece[DATA_PIECE + 1];
	unsigned long off, part;

	for (off = 0; off < n; off += part) {
		part = n - off < DATA_PIECE ? n - off : DATA_PIECE;
		memcpy(piece, buf + off, part);
		piece[part] = 0;
		out_begin("data");
		out_u64("step", step);
		out_u64("off", off);
		out_str("text", piece);
		out_end();
	}
}

/*
 * save_context writes the context to out too, so that a fetch step can
 * send it to the specialization server in the same boot.
 */
static int save_context(struct step *s, const char *out, unsigned long n)
{
	long fd, ret;

	fd = sys_open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		out_error(s->index, "cannot create ", out, fd);
		return -1;
	}
	ret = write_full(fd, context, n);
	sys_close(fd);
	if (ret < 0) {
		out_error(s->index, "writing the context failed: ", out, ret);
		return -1;
	}
	return 0;
}

/*
 * connect_tcp_flow connects the TCP flow and sends warmup bytes through
 * the kernel's send() in pieces of adu (at least one byte), so that the
 * peer's window has opened before the context is read (tcp.decl guards
 * the peer's largest window).
 */
static int connect_tcp_flow(struct step *s, unsigned long adu,
			    unsigned long long warmup, unsigned int flags,
			    int sndbuf)
{
	unsigned long piece = adu ? adu : 1;
	long ret;

	/* A fixed send buffer: tcp.decl folds it in, and the kernel would
	 * grow it with the congestion window, differently in every run. */
	if (sndbuf) {
		ret = sb_setsockopt(flow.sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		if (ret < 0) {
			out_error(s->index, "setsockopt(SO_SNDBUF) failed", NULL, ret);
			return -1;
		}
	}
	ret = sb_connect(flow.sock, &flow.dest, sizeof(flow.dest));
	if (ret < 0) {
		out_error(s->index, "connect of the TCP flow failed", NULL, ret);
		return -1;
	}
	fill_payload(piece);
	while (warmup) {
		if (piece > warmup)
			piece = warmup;
		ret = sb_sendto(flow.sock, udp_payload, piece, flags, NULL, 0);
		if (ret <= 0) {
			out_error(s->index, "warmup send on the TCP flow failed", NULL, ret);
			return -1;
		}
		warmup -= ret;
	}
	return 0;
}

/*
 * customize opens the flow and asks the kernel for its context. The
 * context goes to the console (data lines, then the result line): the
 * host specializes it; with out, also to that file.
 */
int step_customize(struct step *s)
{
	struct specnet_customize c;
	struct sb_sockaddr_in to;
	unsigned char dst[4];
	unsigned long long port, sport, adu, so_adu, flags, warmup, sndbuf, reuse, t0, t1;
	const char *out, *proto;
	int committed;
	long ret;

	if (step_ipv4(s, "dst", dst) < 0 ||
	    step_u64(s, "port", &port, 0, 65535, 1) < 0 ||
	    step_u64(s, "sport", &sport, 0, 65535, 1) < 0 ||
	    step_u64(s, "adu", &adu, 0, UDP_MAX_SIZE, 1) < 0 ||
	    step_u64(s, "so_adu", &so_adu, 0, UDP_MAX_SIZE, 0) < 0 ||
	    step_str(s, "out", &out, 0) < 0 ||
	    step_str(s, "proto", &proto, 0) < 0 ||
	    step_u64(s, "flags", &flags, 0, 0x7fffffffULL, 0) < 0 ||
	    step_u64(s, "warmup", &warmup, 0, 0xffffffffULL, 0) < 0 ||
	    step_u64(s, "sndbuf", &sndbuf, 0, 0x3fffffffULL, 0) < 0 ||
	    step_u64(s, "reuse", &reuse, 0, 1, 0) < 0)
		return -1;
	if (proto && strcmp(proto, "udp") && strcmp(proto, "tcp")) {
		out_error(s->index, "proto must be udp or tcp: ", proto, 0);
		return -1;
	}
	if ((warmup || sndbuf) && !(proto && !strcmp(proto, "tcp"))) {
		out_error(s->index, "warmup and sndbuf are for proto=tcp only", NULL, 0);
		return -1;
	}
	if (!port || !sport) {
		out_error(s->index, "port and sport must not be 0", NULL, 0);
		return -1;
	}
	/* reuse: the context of the socket the tokens are bound to, as it is
	 * now (respecialize after a route change needs that socket's). */
	if (reuse && (flow.sock < 0 || flow.tcp || (proto && !strcmp(proto, "tcp")))) {
		out_error(s->index, "reuse needs an open UDP flow (customize)", NULL, 0);
		return -1;
	}
	if (open_dev(s) < 0 ||
	    (!reuse && open_flow(s, sport, proto && !strcmp(proto, "tcp") ? SOCK_STREAM : SOCK_DGRAM) < 0))
		return -1;
	/* The application commits to its data unit size on the socket;
	 * CUSTOMIZE takes it over the request's adu. */
	if (so_adu) {
		committed = so_adu;
		ret = sb_setsockopt(flow.sock, SOL_SOCKET, SO_ADU, &committed, sizeof(committed));
		if (ret < 0) {
			out_error(s->index, "setsockopt(SO_ADU) failed", NULL, ret);
			return -1;
		}
	}
	set_sockaddr(&to, dst, port);
	memcpy(&flow.dest, &to, sizeof(flow.dest));
	if (flow.tcp && connect_tcp_flow(s, adu, warmup, flags, sndbuf) < 0)
		return -1;

	memset(&c, 0, sizeof(c));
	c.fd = flow.sock;
	c.adu = adu;
	c.send_flags = flags;
	c.dest = flow.dest;
	c.ctx_buf = (uint64_t)(unsigned long)context;
	c.ctx_size = sizeof(context);
	/* The collection's time is a phase of figure 4(c). */
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t0);
	if (ret < 0)
		goto clock_failed;
	ret = sys_ioctl(flow.dev, SPECNET_CUSTOMIZE, &c);
	if (ret < 0) {
		out_error(s->index, "SPECNET_CUSTOMIZE failed", NULL, ret);
		return -1;
	}
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t1);
	if (ret < 0)
		goto clock_failed;
	if (c.ctx_len > sizeof(context)) {
		out_error(s->index, "SPECNET_CUSTOMIZE wrote more than the buffer", NULL, 0);
		return -1;
	}
	if (has_nul(context, c.ctx_len)) {
		out_error(s->index, "the context holds a NUL byte", NULL, 0);
		return -1;
	}
	if (out && save_context(s, out, c.ctx_len) < 0)
		return -1;
	put_context(s->index, context, c.ctx_len);
	out_result(s->index, "customize");
	out_u64("bytes", c.ctx_len);
	out_u64("ns", t1 - t0);
	out_end();
	return 0;

clock_failed:
	out_error(s->index, "clock_gettime64(CLOCK_MONOTONIC) failed", NULL, ret);
	return -1;
}

static int step_slot(struct step *s, unsigned long long *slot)
{
	return step_u64(s, "slot", slot, 0, TOKEN_SLOTS - 1, 1);
}

/*
 * module_name reads the residual's name from its module file: the
 * .modinfo string "name=specnet_r_<hash>" the kernel registers it under.
 * A module the fetch step got from the server has a name the plan cannot
 * know. The file is scanned in pieces; the tail of each piece that could
 * hold a match cut by the piece's end is kept for the next read.
 */
static int module_name(struct step *s, const char *path, char *name, unsigned long size)
{
	static const char key[] = "\0name=specnet_r_";
	static char buf[16384];
	const unsigned long klen = sizeof(key) - 1, skip = 6, keep = klen + size;
	unsigned long have = 0, i, j;
	long fd, n;
	int ret = -1;

	fd = sys_open(path, O_RDONLY, 0);
	if (fd < 0) {
		out_error(s->index, "cannot open the module: ", path, fd);
		return -1;
	}
	for (;;) {
		n = sys_read(fd, buf + have, sizeof(buf) - have);
		if (n < 0) {
			out_error(s->index, "reading the module failed: ", path, n);
			goto out;
		}
		have += n;
		for (i = 0; i + klen <= have; i++) {
			if (memcmp(buf + i, key, klen))
				continue;
			for (j = i + skip; j < have && j - (i + skip) < size && buf[j]; j++)
				;
			if (j < have && j - (i + skip) < size) {
				memcpy(name, buf + i + skip, j - (i + skip) + 1);
				ret = 0;
				goto out;
			}
			if (j - (i + skip) >= size) {
				out_error(s->index, "residual name too long in ", path, 0);
				goto out;
			}
			break;	/* cut by the piece's end: read on */
		}
		if (!n) {
			out_error(s->index, "no name=specnet_r_ in the module ", path, 0);
			goto out;
		}
		if (have > keep) {
			memmove(buf, buf + have - keep, keep);
			have = keep;
		}
	}
out:
	sys_close(fd);
	return ret;
}

/*
 * load binds a registered residual to the flow. The kernel's answer is
 * the result (ENOSPC past the memory budget is what some tests expect);
 * a failed load leaves the slot empty.
 */
int step_load(struct step *s)
{
	struct specnet_load l;
	unsigned long long slot;
	const char *name, *ko, *policy, *guard;
	static char ko_name[sizeof(((struct specnet_load *)0)->name)];
	unsigned long long replace;
	long ret;

	if (step_slot(s, &slot) < 0 ||
	    step_str(s, "name", &name, 0) < 0 ||
	    step_str(s, "ko", &ko, 0) < 0 ||
	    step_str(s, "policy", &policy, 0) < 0 ||
	    step_str(s, "guard", &guard, 0) < 0 ||
	    step_u64(s, "replace", &replace, 0, 1, 0) < 0)
		return -1;
	if (!name == !ko) {
		out_error(s->index, "load needs one of name and ko", NULL, 0);
		return -1;
	}
	if (ko) {
		if (module_name(s, ko, ko_name, sizeof(ko_name)) < 0)
			return -1;
		name = ko_name;
	}
	memset(&l, 0, sizeof(l));
	if (!policy || !strcmp(policy, "fallback")) {
		l.policy = SPECNET_POLICY_FALLBACK;
	} else if (!strcmp(policy, "refuse")) {
		l.policy = SPECNET_POLICY_REFUSE;
	} else {
		out_error(s->index, "policy must be fallback or refuse: ", policy, 0);
		return -1;
	}
	if (!guard || !strcmp(guard, "fallback")) {
		l.guard = SPECNET_GUARD_FALLBACK;
	} else if (!strcmp(guard, "reinforce")) {
		l.guard = SPECNET_GUARD_REINFORCE;
	} else if (!strcmp(guard, "respecialize")) {
		l.guard = SPECNET_GUARD_RESPECIALIZE;
	} else {
		out_error(s->index, "guard must be fallback, reinforce or respecialize: ", guard, 0);
		return -1;
	}
	if (strlen(name) >= sizeof(l.name)) {
		out_error(s->index, "residual name too long: ", name, 0);
		return -1;
	}
	if (flow.sock < 0 || !flow.tokens[slot] != !replace) {
		out_error(s->index, "load needs a flow (customize) and an empty slot, or a full one to replace", NULL, 0);
		return -1;
	}
	strcpy(l.name, name);
	l.fd = flow.sock;
	l.dest = flow.dest;
	l.token = flow.tokens[slot];	/* 0, or the token to replace */
	ret = sys_ioctl(flow.dev, SPECNET_LOAD, &l);
	if (!ret)
		flow.tokens[slot] = l.token;

	out_result(s->index, "load");
	out_u64("slot", slot);
	out_str("name", name);
	out_u64("token", ret ? 0 : l.token);
	out_u64("errno", ret < 0 ? -ret : 0);
	out_end();
	return 0;
}

/* One way of sending; send_fn's result is the kernel's (bytes or -errno). */
struct sender {
	send_fn send;
	long fd;
	unsigned int flags;		/* MSG_* of every send */
	union {
		struct specnet_send token;
		struct specnet_send_generic generic;
	} req;
};

static long send_sendto(const void *arg, unsigned long len)
{
	const struct sender *sd = arg;

	return sb_sendto(sd->fd, udp_payload, len, sd->flags, &flow.dest, sizeof(flow.dest));
}

static long send_connected(const void *arg, unsigned long len)
{
	const struct sender *sd = arg;

	return sb_sendto(sd->fd, udp_payload, len, sd->flags, NULL, 0);
}

/*
 * The ioctl senders take a request made once, as an application would;
 * the kernel only reads it (SPECNET_IOW), so the cast drops no promise.
 */
static long send_generic(const void *arg, unsigned long len)
{
	const struct sender *sd = arg;

	(void)len;
	return sys_ioctl(flow.dev, SPECNET_SEND_GENERIC, (void *)&sd->req.generic);
}

static long send_token(const void *arg, unsigned long len)
{
	const struct sender *sd = arg;

	(void)len;
	return sys_ioctl(flow.dev, SPECNET_SEND, (void *)&sd->req.token);
}

/* customized_send(token, buf, len, flags): the same request's fields as
 * arguments, with SPECNET_SEND_GENERIC_PATH in flags for the generic path. */
static long send_customized(const void *arg, unsigned long len)
{
	const struct sender *sd = arg;

	return sb_customized_send(sd->req.token.token, udp_payload, len,
				  sd->req.token.flags);
}

/* connect_flow opens a socket connected to the flow's destination. */
static long connect_flow(struct step *s)
{
	long fd = sb_socket(AF_INET, SOCK_DGRAM, 0), ret;

	if (fd < 0) {
		out_error(s->index, "socket(AF_INET, SOCK_DGRAM) failed", NULL, fd);
		return -1;
	}
	ret = sb_connect(fd, &flow.dest, sizeof(flow.dest));
	if (ret < 0) {
		out_error(s->index, "connect to the flow's destination failed", NULL, ret);
		sys_close(fd);
		return -1;
	}
	return fd;
}

/* make_sender sets sd up for path; -1 after an error line. */
static int make_sender(struct step *s, const char *path, unsigned long len,
		       unsigned int flags, struct sender *sd)
{
	/* The paths that send through a token in a slot. */
	int token = !strcmp(path, "special") || !strcmp(path, "customized") ||
		    !strcmp(path, "customized_generic");
	unsigned long long slot;

	memset(sd, 0, sizeof(*sd));
	sd->fd = -1;
	sd->flags = flags;
	/* A token outlives a close of the flow socket (SEND says EBADF). */
	if (flow.sock < 0 && !token) {
		out_error(s->index, "send needs a flow (customize)", NULL, 0);
		return -1;
	}
	if (!strcmp(path, "sendto")) {
		sd->send = send_sendto;
		sd->fd = flow.sock;
	} else if (!strcmp(path, "send") && flow.tcp) {
		sd->send = send_connected;	/* the TCP flow is connected */
		sd->fd = flow.sock;
	} else if (!strcmp(path, "send")) {
		sd->send = send_connected;
		sd->fd = connect_flow(s);
		if (sd->fd < 0)
			return -1;
	} else if (!strcmp(path, "generic")) {
		sd->send = send_generic;
		sd->req.generic.fd = flow.sock;
		sd->req.generic.len = len;
		sd->req.generic.dest = flow.dest;
		sd->req.generic.buf = (uint64_t)(unsigned long)udp_payload;
		sd->req.generic.flags = flags;
	} else if (token) {
		if (step_slot(s, &slot) < 0)
			return -1;
		/* An empty slot sends with token 0: the kernel says EBADF. */
		sd->req.token.token = flow.tokens[slot];
		sd->req.token.len = len;
		sd->req.token.buf = (uint64_t)(unsigned long)udp_payload;
		sd->req.token.flags = flags;
		sd->send = send_customized;
		if (!strcmp(path, "special"))
			sd->send = send_token;
		else if (!strcmp(path, "customized_generic"))
			sd->req.token.flags |= SPECNET_SEND_GENERIC_PATH;
	} else {
		out_error(s->index, "path must be sendto, send, generic, special, "
			  "customized or customized_generic: ", path, 0);
		return -1;
	}
	if (!token && step_get(s, "slot")) {
		out_error(s->index, "slot is for the token paths only", NULL, 0);
		return -1;
	}
	return 0;
}

/* Sends per round of a send step bounded by time (ms=). */
#define SEND_ROUND	16

/*
 * send_for makes t->warmup untimed sends, then rounds of SEND_ROUND timed
 * sends through time_sends until ms of CLOCK_MONOTONIC passed since the
 * first round began, or (ms 0) until the host wrote a line on the control
 * channel (ctl_stopped), or t->count sends were made. CLOCK_MONOTONIC is
 * the guest's: virtual time in count mode; in network mode it strays from
 * the host's (the p3's ran 9 times fast), so the host bounds those sends
 * itself. t->count becomes the sends made, t->ns the rounds' own ns: a
 * send costs what it costs in a step bounded by count, the checks between
 * rounds left out. Returns 0 or the clock's negative errno.
 */
static long send_for(struct timed_sends *t, unsigned long long ms, send_fn send, const void *arg)
{
	struct timed_sends r = *t;
	unsigned long long max = t->count, start, now;
	long ret;

	r.count = 0;
	ret = time_sends(&r, send, arg);	/* the warmup only */
	if (ret < 0)
		return ret;
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &start);
	if (ret < 0)
		return ret;
	t->count = t->ns = t->errors = t->first_errno = 0;
	r.warmup = 0;
	do {
		r.count = max - t->count < SEND_ROUND ? max - t->count : SEND_ROUND;
		ret = time_sends(&r, send, arg);
		if (ret < 0)
			return ret;
		if (r.errors && !t->errors)
			t->first_errno = r.first_errno;
		t->errors += r.errors;
		t->ns += r.ns;
		t->count += r.count;
		ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &now);
		if (ret < 0)
			return ret;
	} while (t->count < max && (ms ? now - start < ms * 1000000ULL : !ctl_stopped()));
	return 0;
}

/*
 * send times count sends of size bytes through one path, after warmup
 * untimed ones, exactly as the udp step times sendto(); with ms, it sends
 * until that much time passed, count at most (send_for).
 */
int step_send(struct step *s)
{
	struct sender sd;
	struct timed_sends t;
	unsigned long long seed, flags, ms, stop, i;
	const char *path;
	long ret;

	if (step_str(s, "path", &path, 1) < 0 ||
	    step_u64(s, "size", &t.size, 0, UDP_MAX_SIZE, 1) < 0 ||
	    step_u64(s, "count", &t.count, 0, 0xffffffffULL, 1) < 0 ||
	    step_u64(s, "warmup", &t.warmup, 0, 0xffffffffULL, 0) < 0 ||
	    step_u64(s, "seed", &seed, 0, 255, 0) < 0 ||
	    step_u64(s, "flags", &flags, MSG_FLAGS, 0x7fffffffULL, 0) < 0 ||
	    step_u64(s, "ms", &ms, 0, 0xffffffffULL, 0) < 0 ||
	    step_u64(s, "stop", &stop, 0, 1, 0) < 0)
		return -1;
	if (ms && stop) {
		out_error(s->index, "ms and stop exclude each other", NULL, 0);
		return -1;
	}
	if (!t.count) {
		out_error(s->index, "count must not be 0", NULL, 0);
		return -1;
	}
	if (make_sender(s, path, t.size, flags, &sd) < 0)
		return -1;
	fill_payload(t.size);
	/* The seed shifts the ramp: a host tells rounds apart on the wire. */
	for (i = 0; seed && i < t.size; i++)
		udp_payload[i] += seed;
	if (ms || stop)
		ret = send_for(&t, ms, sd.send, &sd);
	else
		ret = time_sends(&t, sd.send, &sd);
	if (sd.send == send_connected && sd.fd != flow.sock)
		sys_close(sd.fd);
	if (ret < 0) {
		out_error(s->index, "clock_gettime64(CLOCK_MONOTONIC) failed", NULL, ret);
		return -1;
	}
	out_result(s->index, "send");
	out_str("path", path);
	out_u64("size", t.size);
	out_u64("count", t.count);
	out_u64("warmup", t.warmup);
	out_u64("ns", t.ns);
	out_u64("errors", t.errors);
	out_u64("errno", t.first_errno);
	out_end();
	return 0;
}

static int is_counter_name(const char *p, const char *end)
{
	if (p == end)
		return 0;
	for (; p < end; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/*
 * put_counter adds the line "name value" to the result; the per-residual
 * lines ("residual <name> <bytes> <tokens>") are left out: the host reads
 * residuals_registered and tokens_live. Returns -1 for a malformed line.
 */
static int put_counter(char *line)
{
	char *sp = strchr(line, ' ');
	unsigned long long v = 0;
	char *p;

	if (!strncmp(line, "residual ", 9))
		return 0;
	if (!sp || !is_counter_name(line, sp) || !sp[1])
		return -1;
	for (p = sp + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	*sp = 0;
	out_u64(line, v);
	return 0;
}

/* counters reports every counter of /proc/specnet in one result line. */
int step_counters(struct step *s)
{
	static char buf[PROC_MAX + 1];
	long fd, n, total = 0;
	char *line, *next;

	fd = sys_open(SPECNET_PROC, O_RDONLY, 0);
	if (fd < 0) {
		out_error(s->index, "cannot open ", SPECNET_PROC, fd);
		return -1;
	}
	while (total < PROC_MAX) {
		n = sys_read(fd, buf + total, PROC_MAX - total);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	sys_close(fd);
	if (n < 0 || total == PROC_MAX) {
		out_error(s->index, "cannot read all of " SPECNET_PROC, NULL, n < 0 ? n : 0);
		return -1;
	}
	buf[total] = 0;
	out_result(s->index, "counters");
	for (line = buf; *line; line = next) {
		next = strchr(line, '\n');
		if (!next) {
			out_error(s->index, "unterminated line in " SPECNET_PROC, NULL, 0);
			return -1;
		}
		*next++ = 0;
		if (put_counter(line) < 0) {
			out_error(s->index, "malformed line in " SPECNET_PROC ": ", line, 0);
			return -1;
		}
	}
	out_end();
	return 0;
}

/* release drops the token in a slot; the kernel's answer is the result. */
int step_release(struct step *s)
{
	struct specnet_release r;
	unsigned long long slot;
	long ret;

	if (step_slot(s, &slot) < 0)
		return -1;
	if (flow.dev < 0) {
		out_error(s->index, "release needs " SPECNET_DEVICE " open (customize)", NULL, 0);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.token = flow.tokens[slot];
	ret = sys_ioctl(flow.dev, SPECNET_RELEASE, &r);
	if (!ret)
		flow.tokens[slot] = 0;
	out_result(s->index, "release");
	out_u64("slot", slot);
	out_u64("token", r.token);
	out_u64("errno", ret < 0 ? -ret : 0);
	out_end();
	return 0;
}

/*
 * rmmod removes a module without waiting for its users (EWOULDBLOCK while
 * a token pins it): the kernel's answer is the result.
 */
int step_rmmod(struct step *s)
{
	const char *name;
	long ret;

	if (step_str(s, "name", &name, 1) < 0)
		return -1;
	ret = sb_delete_module(name, O_NONBLOCK_RM);
	out_result(s->index, "rmmod");
	out_str("name", name);
	out_u64("errno", ret < 0 ? -ret : 0);
	out_end();
	return 0;
}

/* step_sockopt reads level and name, and value when value is not NULL. */
static int step_sockopt(struct step *s, int *level, int *name, int *value)
{
	unsigned long long l, n, v = 0;

	if (step_u64(s, "level", &l, 0, SOCKOPT_MAX, 1) < 0 ||
	    step_u64(s, "name", &n, 0, SOCKOPT_MAX, 1) < 0 ||
	    (value && step_u64(s, "value", &v, 0, SOCKOPT_MAX, 1) < 0))
		return -1;
	if (flow.sock < 0) {
		out_error(s->index, "socket options need a flow (customize)", NULL, 0);
		return -1;
	}
	*level = l;
	*name = n;
	if (value)
		*value = v;
	return 0;
}

/*
 * setsockopt sets an int option of the flow socket; the kernel's answer
 * is the result (EBUSY while the socket is specialized).
 */
int step_setsockopt(struct step *s)
{
	int level, name, value;
	long ret;

	if (step_sockopt(s, &level, &name, &value) < 0)
		return -1;
	ret = sb_setsockopt(flow.sock, level, name, &value, sizeof(value));
	out_result(s->index, "setsockopt");
	out_u64("level", level);
	out_u64("name", name);
	out_u64("value", value);
	out_u64("errno", ret < 0 ? -ret : 0);
	out_end();
	return 0;
}

/* getsockopt reads an int option of the flow socket (value 0 on error). */
int step_getsockopt(struct step *s)
{
	int level, name, value = 0, len = sizeof(value);
	long ret;

	if (step_sockopt(s, &level, &name, NULL) < 0)
		return -1;
	ret = sb_getsockopt(flow.sock, level, name, &value, &len);
	if (!ret && len != sizeof(value)) {
		out_error(s->index, "getsockopt returned a value that is not an int", NULL, 0);
		return -1;
	}
	out_result(s->index, "getsockopt");
	out_u64("level", level);
	out_u64("name", name);
	out_u64("value", ret ? 0 : (unsigned int)value);
	out_u64("errno", ret < 0 ? -ret : 0);
	out_end();
	return 0;
}

long specnet_flow_sock(void)
{
	return flow.sock;
}

/* dup duplicates the flow socket's descriptor, as one more of its file. */
int step_dup(struct step *s)
{
	long ret;

	if (flow.sock < 0 || flow.dup >= 0) {
		out_error(s->index, "dup needs a flow (customize) and no dup yet", NULL, 0);
		return -1;
	}
	ret = sys_dup(flow.sock);
	if (ret < 0) {
		out_error(s->index, "dup of the flow socket failed", NULL, ret);
		return -1;
	}
	flow.dup = ret;
	out_result(s->index, "dup");
	out_u64("errno", 0);
	out_end();
	return 0;
}

/*
 * close closes the flow socket (which=flow, the default) or its dup
 * (which=dup) from the agent's only thread: the close guard stops the
 * tokens bound to the closed descriptor. The tokens stay in their slots.
 */
int step_close(struct step *s)
{
	const char *which;
	long *fd, ret;

	if (step_str(s, "which", &which, 0) < 0)
		return -1;
	if (!which || !strcmp(which, "flow")) {
		fd = &flow.sock;
	} else if (!strcmp(which, "dup")) {
		fd = &flow.dup;
	} else {
		out_error(s->index, "which must be flow or dup: ", which, 0);
		return -1;
	}
	if (*fd < 0) {
		out_error(s->index, "nothing open to close (customize, dup)", NULL, 0);
		return -1;
	}
	ret = sys_close(*fd);
	*fd = -1;
	out_result(s->index, "close");
	out_u64("errno", ret < 0 ? -ret : 0);
	out_end();
	return 0;
}
