// SPDX-License-Identifier: GPL-2.0
/*
 * The close guard from a second task: the closerace step closes a
 * specialized socket's descriptor from a task that shares the agent's
 * descriptor table while the agent keeps sending through the token; the
 * fork step checks that a forked child's copy of the descriptor (closed,
 * or at the child's exit) leaves the parent's token alone.
 * images/specnet/core/README.md (the close guard) has the semantics.
 */
#include "net.h"
#include "specnet_uapi.h"

#define CLOSERACE_SPREAD	16	/* default number of close points (sends) */
#define CLOSERACE_AFTER		4	/* default sends tried after the close */
#define CLOSERACE_ROUND_MAX	10000	/* sends per round, a bound for a closer that never closes */
#define EBADF_ERRNO		9

/*
 * What the two tasks share during one round. The sender counts its good
 * sends; the closer closes once it has seen close_after of them, then
 * says so. Both sides yield (or sleep gap_ms) between looks, so on the
 * guests' uniprocessor kernels the close lands after close_after sends
 * or later (the scheduler may let the sender go on after a yield), and
 * always between two sends: without kernel preemption the closer runs
 * inside a send only if that send sleeps, which the guests' links never
 * make it do (the core's guard_close_waits stays 0). With in_send set the
 * closer also waits until the sender is inside a SEND: the core's
 * test-only send_hold_us makes every SEND sleep inside its token's guard
 * (longer than gap_ms), so the closer runs, and closes, while that send
 * is asleep in it.
 */
struct race {
	long fd;
	unsigned long close_after;
	unsigned long gap_ms;
	int in_send;			/* close only while the sender is in a SEND */
	volatile int stop;		/* the sender is done: close now */
	volatile unsigned long sent;
	volatile int sending;		/* the sender is inside SPECNET_SEND */
	volatile int closing;		/* the closer is about to call close */
	volatile int closed;
	volatile long close_ret;
};

/* pause_turn gives the other task its turn: a yield, or a sleep. */
static void pause_turn(unsigned long gap_ms)
{
	if (gap_ms)
		sb_sleep_ms(gap_ms);
	else
		sys_sched_yield();
}

/* closer is the second task: wait for close_after sends, close the fd. */
static int closer(void *arg)
{
	struct race *r = arg;

	while ((r->sent < r->close_after || (r->in_send && !r->sending)) && !r->stop)
		pause_turn(r->gap_ms);
	r->closing = 1;
	__asm__ volatile ("" ::: "memory");
	r->close_ret = sys_close(r->fd);
	__asm__ volatile ("" ::: "memory");
	r->closed = 1;
	return 0;
}

/* The totals over all rounds, reported in the result line. */
struct race_totals {
	unsigned long long rounds, ok, ok_after_close, ebadf, unfailed;
	unsigned long long other, other_errno, close_errors, release_errors;
	/* Sends the close started during; of them, those that succeeded and
	 * those that returned after the close had returned. */
	unsigned long long in_send, in_send_ok, close_first;
};

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

/*
 * race_sends sends through token until a send fails (the guard: EBADF),
 * or, when the close guard does not stop them, until after sends went
 * out after the close. Counts into tot.
 */
static void race_sends(long dev, struct race *r, uint32_t token, unsigned long size,
		       unsigned long after, struct race_totals *tot)
{
	struct specnet_send req;
	unsigned long n, past = 0;
	long ret;

	memset(&req, 0, sizeof(req));
	req.token = token;
	req.buf = (uint64_t)(unsigned long)udp_payload;
	req.len = size;
	for (n = 0; n < CLOSERACE_ROUND_MAX; n++) {
		int was_closed = r->closed, was_closing = r->closing;

		if (was_closed && past >= after) {
			tot->unfailed++;
			return;
		}
		r->sending = 1;
		__asm__ volatile ("" ::: "memory");
		ret = sys_ioctl(dev, SPECNET_SEND, &req);
		__asm__ volatile ("" ::: "memory");
		r->sending = 0;
		if (r->closing && !was_closing) {
			tot->in_send++;
			tot->in_send_ok += ret >= 0;
			tot->close_first += r->closed;
		}
		if (ret < 0) {
			if (ret == -EBADF_ERRNO) {
				tot->ebadf++;
			} else if (!tot->other++) {
				tot->other_errno = -ret;
			}
			return;
		}
		tot->ok++;
		if (was_closed) {
			tot->ok_after_close++;
			past++;
		}
		r->sent++;
		pause_turn(r->gap_ms);
	}
	tot->unfailed++;
}

/*
 * race_round: a socket like the flow's, a LOAD of the residual name (the
 * same context every round, so one residual serves), the closer started,
 * sends until they fail, the closer joined, RELEASE. -1 after an error
 * line.
 */
static int race_round(struct step *s, long dev, const struct specnet_load *proto,
		      unsigned int sport, unsigned long size, unsigned long after,
		      struct race *r, struct race_totals *tot)
{
	struct specnet_load l = *proto;
	struct specnet_release rel;
	long fd, pid, ret;

	fd = bound_socket(sport);
	if (fd < 0) {
		out_error(s->index, "closerace: socket or bind to sport failed", NULL, fd);
		return -1;
	}
	l.fd = fd;
	ret = sys_ioctl(dev, SPECNET_LOAD, &l);
	if (ret < 0) {
		sys_close(fd);
		out_error(s->index, "closerace: SPECNET_LOAD failed", NULL, ret);
		return -1;
	}
	r->fd = fd;
	r->sent = 0;
	r->stop = 0;
	r->sending = 0;
	r->closing = 0;
	r->closed = 0;
	r->close_ret = 0;
	pid = thread_start(closer, r);
	if (pid < 0) {
		sys_close(fd);
		out_error(s->index, "closerace: clone failed", NULL, pid);
		return -1;
	}
	race_sends(dev, r, l.token, size, after, tot);
	/* A round that ended before the close point (a failed send, the
	 * bound) must not leave the closer waiting. */
	r->stop = 1;
	ret = thread_join(pid);
	if (ret) {
		out_error(s->index, "closerace: the closer did not exit cleanly", NULL, ret < 0 ? ret : 0);
		return -1;
	}
	if (r->close_ret < 0)
		tot->close_errors++;
	memset(&rel, 0, sizeof(rel));
	rel.token = l.token;
	if (sys_ioctl(dev, SPECNET_RELEASE, &rel) < 0)
		tot->release_errors++;
	tot->rounds++;
	return 0;
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
	struct sb_sockaddr_in to;
	unsigned char dst[4];
	const char *name;
	long dev;
	int err = 0;

	if (step_ipv4(s, "dst", dst) < 0 ||
	    step_u64(s, "port", &port, 0, 65535, 1) < 0 ||
	    step_u64(s, "sport", &sport, 0, 65535, 1) < 0 ||
	    step_str(s, "name", &name, 1) < 0 ||
	    step_u64(s, "rounds", &rounds, 0, 0xffffffffULL, 1) < 0 ||
	    step_u64(s, "size", &size, 0, UDP_MAX_SIZE, 1) < 0 ||
	    step_u64(s, "spread", &spread, CLOSERACE_SPREAD, 1000, 0) < 0 ||
	    step_u64(s, "after", &after, CLOSERACE_AFTER, 1000, 0) < 0 ||
	    step_u64(s, "gap_ms", &gap_ms, 0, 1000, 0) < 0 ||
	    step_u64(s, "in_send", &in_send, 0, 1, 0) < 0)
		return -1;
	if (!port || !sport || !spread) {
		out_error(s->index, "closerace: port, sport and spread must not be 0", NULL, 0);
		return -1;
	}
	memset(&l, 0, sizeof(l));
	if (strlen(name) >= sizeof(l.name)) {
		out_error(s->index, "closerace: residual name too long: ", name, 0);
		return -1;
	}
	strcpy(l.name, name);
	l.policy = SPECNET_POLICY_REFUSE;
	set_sockaddr(&to, dst, port);
	memcpy(&l.dest, &to, sizeof(l.dest));
	dev = sys_open(SPECNET_DEVICE, O_RDWR, 0);
	if (dev < 0) {
		out_error(s->index, "cannot open ", SPECNET_DEVICE, dev);
		return -1;
	}
	fill_payload(size);
	memset(&tot, 0, sizeof(tot));
	r.gap_ms = gap_ms;
	r.in_send = in_send;
	for (i = 0; i < rounds && !err; i++) {
		r.close_after = i % spread;
		err = race_round(s, dev, &l, sport, size, after, &r, &tot);
	}
	sys_close(dev);
	if (err)
		return -1;
	out_result(s->index, "closerace");
	out_u64("rounds", tot.rounds);
	out_u64("ok", tot.ok);
	out_u64("ok_after_close", tot.ok_after_close);
	out_u64("ebadf", tot.ebadf);
	out_u64("unfailed", tot.unfailed);
	out_u64("other", tot.other);
	out_u64("other_errno", tot.other_errno);
	out_u64("close_errors", tot.close_errors);
	out_u64("release_errors", tot.release_errors);
	out_u64("in_send", tot.in_send);
	out_u64("in_send_ok", tot.in_send_ok);
	out_u64("close_first", tot.close_first);
	out_end();
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
