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
#include "thread_close.h"
#include <asm/socket.h>

#define TCPCLOSE_PERIOD		251	/* bytes: the stream pattern's period (prime) */
#define TCPCLOSE_SIZE_MAX	(64 << 10)	/* bytes per send */

static unsigned char pattern[TCPCLOSE_SIZE_MAX + TCPCLOSE_PERIOD];

/* tcpclose's send: the stream's bytes from off through customized_send. */
static long tcprace_send(const struct race *r, unsigned long long off)
{
	/* Outside the macro: its register variables are loaded before
	 * its arguments are evaluated, and the 64-bit modulo is a libgcc
	 * call on i386 that would clobber the system call number in eax. */
	const unsigned char *buf = pattern + (unsigned long)(off % TCPCLOSE_PERIOD);

	return my_syscall4(SPECNET_NR_CUSTOMIZED_SEND, r->token, buf, r->size, r->flags);
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

/*
 * tcpclose: rounds of a TCP connection to dst:port whose token's socket a
 * second task closes while the agent sends size bytes at a time. Needs the
 * core and the TCP residual name loaded and the interface up.
 */
int step_tcpclose(struct step *s)
{
	unsigned long long rounds, port, size, flags, sndbuf, spread, after;
	unsigned long long gap_ms, in_send, memwait, go_port, i;
	static struct race r;
	struct race_totals tot;
	struct specnet_load l;
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
	    step_u64(s, "spread", &spread, RACE_SPREAD, 1000, 0) < 0 ||
	    step_u64(s, "after", &after, RACE_AFTER, 1000, 0) < 0 ||
	    step_u64(s, "gap_ms", &gap_ms, 0, 1000, 0) < 0 ||
	    step_u64(s, "in_send", &in_send, 0, 1, 0) < 0 ||
	    step_u64(s, "memwait", &memwait, 0, 1, 0) < 0 ||
	    step_u64(s, "go_port", &go_port, 0, 65535, 0) < 0)
		return -1;
	if (!port || !spread || (memwait && (!go_port || !gap_ms || in_send))) {
		out_error(s->index, "tcpclose: port and spread must not be 0; memwait needs go_port and gap_ms, not in_send", NULL, 0);
		return -1;
	}
	if (race_load(s, "tcpclose", name, dst, port, &l) < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.send = tcprace_send;
	r.size = size;
	r.flags = flags;
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
	r.dev = sys_open(SPECNET_DEVICE, O_RDWR, 0);
	if (r.dev < 0) {
		out_error(s->index, "cannot open ", SPECNET_DEVICE, r.dev);
		err = -1;
		goto out;
	}
	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = i % TCPCLOSE_PERIOD;
	memset(&tot, 0, sizeof(tot));
	for (i = 0; i < rounds && !err; i++) {
		long fd = tcprace_connect(&l.dest, sndbuf);

		if (fd < 0) {
			out_error(s->index, "tcpclose: socket, SO_SNDBUF or connect failed", NULL, fd);
			err = -1;
			break;
		}
		r.close_after = i % spread;
		err = race_round(s, "tcpclose", &l, fd, &r, after, &tot);
	}
	sys_close(r.dev);
	if (!err)
		race_report(s, "tcpclose", &tot, 1);
out:
	if (r.go_fd >= 0)
		sys_close(r.go_fd);
	return err;
}
