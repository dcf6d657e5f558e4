// SPDX-License-Identifier: GPL-2.0
/*
 * The close guard on TCP tokens: the tcpclose step connects a TCP socket
 * per round, LOADs a TCP residual on it, and closes the descriptor from a
 * second task (thread.c) while the agent sends through customized_send.
 * Every send carries the stream's bytes from its offset on (byte o of a
 * connection is o mod TCPCLOSE_PERIOD), so the host can check that every
 * byte a good send queued arrived, in order, however the sends were cut.
 *
 * Three kinds of rounds (images/specnet/guards/tcpclose_test.go):
 * - close after round mod spread good sends, between two sends, or with
 *   in_send (and the core's send_hold_us) inside a send that sleeps under
 *   the token's guard: the close waits for it;
 * - memwait: the peer does not read, so a send fills the window and the
 *   send buffer and sleeps in the memory wait, which releases the guard:
 *   the closer closes once it saw the same send asleep for a look of
 *   gap_ms, checks that the close returned while that send still slept,
 *   then sends one UDP datagram to go_port of the peer's host, on which
 *   the peer starts reading; the sleeping send then wakes on a dead token.
 */
#include "net.h"
#include "specnet_uapi.h"
#include <asm/socket.h>

#define TCPCLOSE_PERIOD		251	/* bytes: the stream pattern's period (prime) */
#define TCPCLOSE_SIZE_MAX	(64 << 10)	/* bytes per send */
#define TCPCLOSE_SPREAD		16
#define TCPCLOSE_AFTER		4
#define TCPCLOSE_ROUND_MAX	10000	/* sends per round: a bound */
#define EBADF_ERRNO		9
#define EPIPE_ERRNO		32

static unsigned char pattern[TCPCLOSE_SIZE_MAX + TCPCLOSE_PERIOD];

/* What the two tasks share in a round; see thread_close.c's struct race. */
struct tcprace {
	long fd;
	unsigned long close_after, gap_ms;
	int in_send, memwait;
	long go_fd;			/* memwait: UDP socket to the peer's host */
	struct sb_sockaddr_in go;
	volatile int stop;
	volatile unsigned long sent;	/* good sends */
	volatile unsigned long seq;	/* sends started */
	volatile int sending;
	volatile int closing, closed;
	volatile long close_ret;
	volatile int close_in_wait;	/* memwait: the send slept across the close */
};

struct tcprace_totals {
	unsigned long long rounds, ok, bytes, partial, ok_after_close;
	unsigned long long ebadf, epipe, unfailed, other, other_errno;
	unsigned long long close_errors, release_errors, connect_errors;
	unsigned long long in_send, in_send_ok, close_first;
	unsigned long long close_in_wait, go_errors;
};

static void tcprace_pause(unsigned long gap_ms)
{
	if (gap_ms)
		sb_sleep_ms(gap_ms);
	else
		sys_sched_yield();
}

/*
 * A send the closer sees in the same SEND across a sleep of gap_ms is
 * asleep in the kernel: the guests' kernels do not preempt, and the
 * agent's sender would otherwise have finished it while the closer slept.
 */
static void tcprace_wait_asleep(struct tcprace *r, unsigned long *seq)
{
	for (;;) {
		int was = r->sending;

		*seq = r->seq;
		sb_sleep_ms(r->gap_ms);
		if (r->stop || (was && r->sending && r->seq == *seq))
			return;
	}
}

static int tcprace_closer(void *arg)
{
	struct tcprace *r = arg;
	unsigned long seq = 0;

	if (r->memwait)
		tcprace_wait_asleep(r, &seq);
	else
		while ((r->sent < r->close_after || (r->in_send && !r->sending)) && !r->stop)
			tcprace_pause(r->gap_ms);
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

static long tcprace_send(uint32_t token, unsigned long long off, unsigned long size,
			 unsigned int flags)
{
	/* Outside the macro: its register variables are loaded before
	 * its arguments are evaluated, and the 64-bit modulo is a libgcc
	 * call on i386 that would clobber the system call number in eax. */
	const unsigned char *buf = pattern + (unsigned long)(off % TCPCLOSE_PERIOD);

	return my_syscall4(SPECNET_NR_CUSTOMIZED_SEND, token, buf, size, flags);
}

/*
 * Sends through token until one fails with EBADF (the dead token) or
 * another errno, or, with the guard off, until after sends went out after
 * the close. EPIPE ends the send a close woke from the memory wait; the
 * next one must then fail with EBADF.
 */
static void tcprace_sends(struct tcprace *r, uint32_t token, unsigned long size,
			  unsigned int flags, unsigned long after,
			  struct tcprace_totals *tot)
{
	unsigned long long off = 0;
	unsigned long n, past = 0;
	long ret;

	for (n = 0; n < TCPCLOSE_ROUND_MAX; n++) {
		int was_closed = r->closed, was_closing = r->closing;

		if (was_closed && past >= after) {
			tot->unfailed++;
			return;
		}
		r->seq++;
		r->sending = 1;
		__asm__ volatile ("" ::: "memory");
		ret = tcprace_send(token, off, size, flags);
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
		tot->partial += (unsigned long)ret < size;
		off += ret;
		if (was_closed) {
			tot->ok_after_close++;
			past++;
		}
		r->sent++;
		tcprace_pause(r->memwait ? 0 : r->gap_ms);
	}
	tot->unfailed++;
}

/* A TCP socket with a fixed send buffer, connected to dest; fd or -errno. */
static long tcprace_connect(const struct specnet_sockaddr_in *dest, int sndbuf)
{
	long fd, ret;

	fd = sb_socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	ret = sndbuf ? sb_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) : 0;
	if (!ret)
		ret = sb_connect(fd, dest, sizeof(*dest));
	if (ret < 0) {
		sys_close(fd);
		return ret;
	}
	return fd;
}

struct tcprace_args {
	long dev;
	unsigned long size, after;
	unsigned int flags;
	int sndbuf;
	struct specnet_load load;
};

static int tcprace_round(struct step *s, const struct tcprace_args *a,
			 struct tcprace *r, struct tcprace_totals *tot)
{
	struct specnet_load l = a->load;
	struct specnet_release rel;
	long fd, pid, ret;

	fd = tcprace_connect(&l.dest, a->sndbuf);
	if (fd < 0) {
		out_error(s->index, "tcpclose: socket, SO_SNDBUF or connect failed", NULL, fd);
		return -1;
	}
	l.fd = fd;
	ret = sys_ioctl(a->dev, SPECNET_LOAD, &l);
	if (ret < 0) {
		sys_close(fd);
		out_error(s->index, "tcpclose: SPECNET_LOAD failed", NULL, ret);
		return -1;
	}
	r->fd = fd;
	r->sent = r->seq = 0;
	r->stop = r->sending = r->closing = r->closed = 0;
	r->close_ret = 0;
	r->close_in_wait = 0;
	pid = thread_start(tcprace_closer, r);
	if (pid < 0) {
		sys_close(fd);
		out_error(s->index, "tcpclose: clone failed", NULL, pid);
		return -1;
	}
	tcprace_sends(r, l.token, a->size, a->flags, a->after, tot);
	r->stop = 1;
	ret = thread_join(pid);
	if (ret < 0) {
		out_error(s->index, "tcpclose: the closer did not exit cleanly", NULL, ret);
		return -1;
	}
	tot->go_errors += ret > 0;
	tot->close_errors += r->close_ret < 0;
	tot->close_in_wait += r->close_in_wait;
	memset(&rel, 0, sizeof(rel));
	rel.token = l.token;
	if (sys_ioctl(a->dev, SPECNET_RELEASE, &rel) < 0)
		tot->release_errors++;
	tot->rounds++;
	return 0;
}

static void tcprace_report(struct step *s, const struct tcprace_totals *t)
{
	out_result(s->index, "tcpclose");
	out_u64("rounds", t->rounds);
	out_u64("ok", t->ok);
	out_u64("bytes", t->bytes);
	out_u64("partial", t->partial);
	out_u64("ok_after_close", t->ok_after_close);
	out_u64("ebadf", t->ebadf);
	out_u64("epipe", t->epipe);
	out_u64("unfailed", t->unfailed);
	out_u64("other", t->other);
	out_u64("other_errno", t->other_errno);
	out_u64("close_errors", t->close_errors);
	out_u64("release_errors", t->release_errors);
	out_u64("in_send", t->in_send);
	out_u64("in_send_ok", t->in_send_ok);
	out_u64("close_first", t->close_first);
	out_u64("close_in_wait", t->close_in_wait);
	out_u64("go_errors", t->go_errors);
	out_end();
}

/*
 * tcpclose: rounds of a TCP connection to dst:port whose token's socket a
 * second task closes while the agent sends size bytes at a time. Needs the
 * core and the TCP residual name loaded and the interface up.
 */
int step_tcpclose(struct step *s)
{
	unsigned long long rounds, port, size, flags, sndbuf, spread, after;
	unsigned long long gap_ms, in_send, memwait, go_port, i;
	static struct tcprace r;
	struct tcprace_totals tot;
	struct tcprace_args a;
	struct sb_sockaddr_in to;
	unsigned char dst[4];
	const char *name;
	int err = 0;

	if (step_ipv4(s, "dst", dst) < 0 ||
	    step_u64(s, "port", &port, 0, 65535, 1) < 0 ||
	    step_str(s, "name", &name, 1) < 0 ||
	    step_u64(s, "rounds", &rounds, 0, 0xffffffffULL, 1) < 0 ||
	    step_u64(s, "size", &size, 1, TCPCLOSE_SIZE_MAX, 1) < 0 ||
	    step_u64(s, "flags", &flags, 0, 0x7fffffffULL, 0) < 0 ||
	    step_u64(s, "sndbuf", &sndbuf, 0, 0x3fffffffULL, 0) < 0 ||
	    step_u64(s, "spread", &spread, TCPCLOSE_SPREAD, 1000, 0) < 0 ||
	    step_u64(s, "after", &after, TCPCLOSE_AFTER, 1000, 0) < 0 ||
	    step_u64(s, "gap_ms", &gap_ms, 0, 1000, 0) < 0 ||
	    step_u64(s, "in_send", &in_send, 0, 1, 0) < 0 ||
	    step_u64(s, "memwait", &memwait, 0, 1, 0) < 0 ||
	    step_u64(s, "go_port", &go_port, 0, 65535, 0) < 0)
		return -1;
	if (!port || !spread || (memwait && (!go_port || !gap_ms || in_send))) {
		out_error(s->index, "tcpclose: port and spread must not be 0; memwait needs go_port and gap_ms, not in_send", NULL, 0);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	if (strlen(name) >= sizeof(a.load.name)) {
		out_error(s->index, "tcpclose: residual name too long: ", name, 0);
		return -1;
	}
	strcpy(a.load.name, name);
	a.load.policy = SPECNET_POLICY_REFUSE;
	set_sockaddr(&to, dst, port);
	memcpy(&a.load.dest, &to, sizeof(a.load.dest));
	a.size = size;
	a.after = after;
	a.flags = flags;
	a.sndbuf = sndbuf;
	memset(&r, 0, sizeof(r));
	r.gap_ms = gap_ms;
	r.in_send = in_send;
	r.memwait = memwait;
	r.go_fd = -1;
	if (memwait) {
		set_sockaddr(&r.go, dst, go_port);
		r.go_fd = sb_socket(AF_INET, SOCK_DGRAM, 0);
		if (r.go_fd < 0) {
			out_error(s->index, "tcpclose: UDP socket failed", NULL, r.go_fd);
			return -1;
		}
	}
	a.dev = sys_open(SPECNET_DEVICE, O_RDWR, 0);
	if (a.dev < 0) {
		out_error(s->index, "cannot open ", SPECNET_DEVICE, a.dev);
		err = -1;
		goto out;
	}
	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = i % TCPCLOSE_PERIOD;
	memset(&tot, 0, sizeof(tot));
	for (i = 0; i < rounds && !err; i++) {
		r.close_after = i % spread;
		err = tcprace_round(s, &a, &r, &tot);
	}
	sys_close(a.dev);
	if (!err)
		tcprace_report(s, &tot);
out:
	if (r.go_fd >= 0)
		sys_close(r.go_fd);
	return err;
}
