// SPDX-License-Identifier: GPL-2.0
/*
 * The close guard from a second task: the closerace step closes a
 * specialized socket's descriptor from a task that shares the agent's
 * descriptor table while the agent keeps sending through the token; the
 * fork step checks that a forked child's copy of the descriptor (closed,
 * or at the child's exit) leaves the parent's token alone. The race
 * itself (thread_close.h) serves the tcpclose step too (thread_tcpclose.c).
 * images/specnet/core/README.md (the close guard) has the semantics.
 */
#include "thread_close.h"

#define EBADF_ERRNO	9
#define EPIPE_ERRNO	32

/* race_pause gives the other task its turn: a yield, or a sleep. */
static void race_pause(unsigned long gap_ms)
{
	if (gap_ms)
		sb_sleep_ms(gap_ms);
	else
		sys_sched_yield();
}

/*
 * A send the closer sees in the same send across a sleep of gap_ms is
 * asleep in the kernel: the guests' kernels do not preempt, and the
 * agent's sender would otherwise have finished it while the closer slept.
 */
static void race_wait_asleep(struct race *r, unsigned long *seq)
{
	for (;;) {
		int was = r->sending;

		*seq = r->seq;
		sb_sleep_ms(r->gap_ms);
		if (r->stop || (was && r->sending && r->seq == *seq))
			return;
	}
}

/* race_closer is the second task: wait for the close point, close the
 * fd; memwait: say so to the peer. 1 when the go datagram failed. */
static int race_closer(void *arg)
{
	struct race *r = arg;
	unsigned long seq = 0;

	if (r->memwait)
		race_wait_asleep(r, &seq);
	else
		while ((r->sent < r->close_after || (r->in_send && !r->sending)) && !r->stop)
			race_pause(r->gap_ms);
	r->closing = 1;
	__asm__ volatile ("" ::: "memory");
	r->close_ret = sys_close(r->fd);
	__asm__ volatile ("" ::: "memory");
	r->closed = 1;
	if (!r->memwait)
		return 0;
	/* The close returned while the send it found asleep still is. */
	r->close_in_wait = !r->stop && r->sending && r->seq == seq;
	if (sb_sendto(r->go_fd, "go", 2, 0, &r->go, sizeof(r->go)) != 2)
		return 1;
	return 0;
}

/*
 * race_sends sends through the token until a send fails with EBADF (the
 * dead token) or another errno, or, when the close guard does not stop
 * them, until after sends went out after the close. EPIPE ends the send
 * a close woke from the memory wait; the next one must then fail with
 * EBADF. Counts into tot.
 */
static void race_sends(struct race *r, unsigned long after, struct race_totals *tot)
{
	unsigned long long off = 0;
	unsigned long n, past = 0;
	long ret;

	for (n = 0; n < RACE_ROUND_MAX; n++) {
		int was_closed = r->closed, was_closing = r->closing;

		if (was_closed && past >= after) {
			tot->unfailed++;
			return;
		}
		r->seq++;
		r->sending = 1;
		__asm__ volatile ("" ::: "memory");
		ret = r->send(r, off);
		__asm__ volatile ("" ::: "memory");
		r->sending = 0;
		if (r->closing && !was_closing) {
			tot->in_send++;
			tot->in_send_ok += ret >= 0;
			tot->close_first += r->closed;
		}
		if (ret == -EPIPE_ERRNO) {
			tot->epipe++;
			continue;
		}
		if (ret < 0) {
			if (ret == -EBADF_ERRNO)
				tot->ebadf++;
			else if (!tot->other++)
				tot->other_errno = -ret;
			return;
		}
		tot->ok++;
		tot->bytes += ret;
		tot->partial += (unsigned long)ret < r->size;
		off += ret;
		if (was_closed) {
			tot->ok_after_close++;
			past++;
		}
		r->sent++;
		race_pause(r->memwait ? 0 : r->gap_ms);
	}
	tot->unfailed++;
}

/*
 * race_load fills the LOAD every round makes: the residual name for
 * dst:port with the refuse policy (the step opens the socket). -1 after
 * an error line.
 */
int race_load(struct step *s, const char *what, const char *name, const unsigned char *dst,
	      unsigned int port, struct specnet_load *l)
{
	struct sb_sockaddr_in to;

	memset(l, 0, sizeof(*l));
	if (strlen(name) >= sizeof(l->name)) {
		out_error(s->index, what, ": residual name too long", 0);
		return -1;
	}
	strcpy(l->name, name);
	l->policy = SPECNET_POLICY_REFUSE;
	set_sockaddr(&to, dst, port);
	memcpy(&l->dest, &to, sizeof(l->dest));
	return 0;
}

/*
 * race_round: a LOAD of proto (its residual, for fd), the closer started,
 * sends until they fail, the closer joined, RELEASE. fd is the round's
 * socket, which the step opened. -1 after an error line.
 */
int race_round(struct step *s, const char *what, const struct specnet_load *proto,
	       long fd, struct race *r, unsigned long after, struct race_totals *tot)
{
	struct specnet_load l = *proto;
	struct specnet_release rel;
	long pid, ret;

	l.fd = fd;
	ret = sys_ioctl(r->dev, SPECNET_LOAD, &l);
	if (ret < 0) {
		sys_close(fd);
		out_error(s->index, what, ": SPECNET_LOAD failed", ret);
		return -1;
	}
	r->fd = fd;
	r->token = l.token;
	r->sent = r->seq = 0;
	r->stop = r->sending = r->closing = r->closed = 0;
	r->close_ret = 0;
	r->close_in_wait = 0;
	pid = thread_start(race_closer, r);
	if (pid < 0) {
		sys_close(fd);
		out_error(s->index, what, ": clone failed", pid);
		return -1;
	}
	race_sends(r, after, tot);
	/* A round that ended before the close point (a failed send, the
	 * bound) must not leave the closer waiting. */
	r->stop = 1;
	ret = thread_join(pid);
	if (ret < 0) {
		out_error(s->index, what, ": the closer did not exit cleanly", ret);
		return -1;
	}
	tot->go_errors += ret > 0;
	tot->close_errors += r->close_ret < 0;
	tot->close_in_wait += r->close_in_wait;
	memset(&rel, 0, sizeof(rel));
	rel.token = l.token;
	if (sys_ioctl(r->dev, SPECNET_RELEASE, &rel) < 0)
		tot->release_errors++;
	tot->rounds++;
	return 0;
}

/* race_report prints the totals as a kind result; tcp adds the fields
 * of a stream (bytes, EPIPE, the memory wait). */
void race_report(struct step *s, const char *kind, const struct race_totals *t, int tcp)
{
	out_result(s->index, kind);
	out_u64("rounds", t->rounds);
	out_u64("ok", t->ok);
	out_u64("ok_after_close", t->ok_after_close);
	out_u64("ebadf", t->ebadf);
	out_u64("unfailed", t->unfailed);
	out_u64("other", t->other);
	out_u64("other_errno", t->other_errno);
	out_u64("close_errors", t->close_errors);
	out_u64("release_errors", t->release_errors);
	out_u64("in_send", t->in_send);
	out_u64("in_send_ok", t->in_send_ok);
	out_u64("close_first", t->close_first);
	if (tcp) {
		out_u64("bytes", t->bytes);
		out_u64("partial", t->partial);
		out_u64("epipe", t->epipe);
		out_u64("close_in_wait", t->close_in_wait);
		out_u64("go_errors", t->go_errors);
	}
	out_end();
}

static long sb_bind(int fd, const void *addr, int addrlen)
{
	return my_syscall3(__NR_bind, fd, addr, addrlen);
}

/* bound_socket opens a UDP socket bound to *:sport; fd or -errno. */
static long bound_socket(unsigned int sport)
{
	static const unsigned char any[4];
	struct sb_sockaddr_in local;
	long fd, ret;

	fd = sb_socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return fd;
	set_sockaddr(&local, any, sport);
	ret = sb_bind(fd, &local, sizeof(local));
	if (ret < 0) {
		sys_close(fd);
		return ret;
	}
	return fd;
}

/* closerace's send: the datagram through SPECNET_SEND (every one
 * carries the same payload: off does not matter). */
static long udp_race_send(const struct race *r, unsigned long long off)
{
	struct specnet_send req;

	(void)off;
	memset(&req, 0, sizeof(req));
	req.token = r->token;
	req.buf = (uint64_t)(unsigned long)udp_payload;
	req.len = r->size;
	return sys_ioctl(r->dev, SPECNET_SEND, &req);
}

/*
 * closerace: rounds of a token's socket closed by a second task while
 * the agent sends through the token. Round i closes after i mod spread
 * good sends. Needs the core and the residual loaded and the flow's
 * interface up; no customize (its flow socket would hold sport).
 */
int step_closerace(struct step *s)
{
	unsigned long long rounds, sport, port, size, spread, after, gap_ms, in_send, i;
	static struct race r;
	struct race_totals tot;
	struct specnet_load l;
	unsigned char dst[4];
	const char *name;
	int err = 0;

	if (step_ipv4(s, "dst", dst) < 0 ||
	    step_u64(s, "port", &port, 0, 65535, 1) < 0 ||
	    step_u64(s, "sport", &sport, 0, 65535, 1) < 0 ||
	    step_str(s, "name", &name, 1) < 0 ||
	    step_u64(s, "rounds", &rounds, 0, 0xffffffffULL, 1) < 0 ||
	    step_u64(s, "size", &size, 0, UDP_MAX_SIZE, 1) < 0 ||
	    step_u64(s, "spread", &spread, RACE_SPREAD, 1000, 0) < 0 ||
	    step_u64(s, "after", &after, RACE_AFTER, 1000, 0) < 0 ||
	    step_u64(s, "gap_ms", &gap_ms, 0, 1000, 0) < 0 ||
	    step_u64(s, "in_send", &in_send, 0, 1, 0) < 0)
		return -1;
	if (!port || !sport || !spread) {
		out_error(s->index, "closerace: port, sport and spread must not be 0", NULL, 0);
		return -1;
	}
	if (race_load(s, "closerace", name, dst, port, &l) < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.dev = sys_open(SPECNET_DEVICE, O_RDWR, 0);
	if (r.dev < 0) {
		out_error(s->index, "cannot open ", SPECNET_DEVICE, r.dev);
		return -1;
	}
	fill_payload(size);
	memset(&tot, 0, sizeof(tot));
	r.send = udp_race_send;
	r.size = size;
	r.gap_ms = gap_ms;
	r.in_send = in_send;
	r.go_fd = -1;
	for (i = 0; i < rounds && !err; i++) {
		long fd = bound_socket(sport);

		if (fd < 0) {
			out_error(s->index, "closerace: socket or bind to sport failed", NULL, fd);
			err = -1;
			break;
		}
		r.close_after = i % spread;
		err = race_round(s, "closerace", &l, fd, &r, after, &tot);
	}
	sys_close(r.dev);
	if (err)
		return -1;
	race_report(s, "closerace", &tot, 0);
	return 0;
}

/*
 * fork: a child gets copies of the agent's descriptors; with close=1 it
 * closes its copy of the flow socket, then it exits (which closes the
 * rest). Neither is the descriptor a token of the agent is bound to. The
 * child's answer to close is the result.
 */
int step_fork(struct step *s)
{
	unsigned long long close;
	long sock = specnet_flow_sock(), pid, ret;

	if (step_u64(s, "close", &close, 0, 1, 0) < 0)
		return -1;
	if (sock < 0) {
		out_error(s->index, "fork needs a flow (customize)", NULL, 0);
		return -1;
	}
	pid = sys_fork();
	if (pid < 0) {
		out_error(s->index, "fork failed", NULL, pid);
		return -1;
	}
	if (pid == 0) {
		ret = close ? sys_close(sock) : 0;
		sys_exit(ret < 0 ? (int)-ret : 0);
	}
	ret = thread_join(pid);
	if (ret < 0) {
		out_error(s->index, "fork: the child did not exit cleanly", NULL, ret);
		return -1;
	}
	out_result(s->index, "fork");
	out_u64("close", close);
	out_u64("errno", ret);
	out_end();
	return 0;
}
