// SPDX-License-Identifier: GPL-2.0
/*
 * The tcpsink step: a TCP receiver inside the guest that discards what
 * it reads, so that a TCP flow over loopback needs no ACK from the host
 * (a count-mode boot stays deterministic: every packet of the flow is the
 * guest's own). The agent listens on 127.0.0.1:port; the second task
 * (thread.c) accepts one connection and reads until it ends. The
 * tcpsinkwait step joins it after the flow's close and reports the bytes
 * it read: all of them arrived.
 */
#include "net.h"
#include <asm/socket.h>

#define SINK_BUF	(16 << 10)	/* bytes per read */

static unsigned char sink_buf[SINK_BUF];

/* The sink task's pid (0: none started) and the bytes it read. */
static long sink_pid;
static unsigned long long sink_bytes;

static int sink_drain(void *arg)
{
	long lfd = (long)arg, fd, n;

	fd = sb_accept(lfd);
	if (fd < 0)
		return 1;
	do {
		n = sys_read(fd, sink_buf, sizeof(sink_buf));
		if (n > 0)
			sink_bytes += n;
	} while (n > 0 || n == -EINTR);
	return n < 0;
}

int step_tcpsink(struct step *s)
{
	static const unsigned char loopback[4] = { 127, 0, 0, 1 };
	struct sb_sockaddr_in addr;
	unsigned long long port, rcvbuf;
	int val;
	long fd, ret;

	if (step_u64(s, "port", &port, 1, 65535, 1) < 0 ||
	    step_u64(s, "rcvbuf", &rcvbuf, 0, 0x3fffffffULL, 0) < 0)
		return -1;
	fd = sb_socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		out_error(s->index, "socket(AF_INET, SOCK_STREAM) failed", NULL, fd);
		return -1;
	}
	set_sockaddr(&addr, loopback, port);
	/* A fixed receive buffer (inherited by the accepted socket) keeps
	 * the window at its size once open: the sender's largest window is
	 * a guard of a specialized TCP send. */
	val = rcvbuf;
	ret = rcvbuf ? sb_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &val, sizeof(val)) : 0;
	if (ret >= 0)
		ret = sb_bind4(fd, &addr, sizeof(addr));
	if (ret >= 0)
		ret = sb_listen(fd, 1);
	if (ret >= 0)
		ret = thread_start(sink_drain, (void *)fd);
	if (ret > 0)
		sink_pid = ret;
	if (ret < 0) {
		out_error(s->index, "the TCP sink did not start", NULL, ret);
		sys_close(fd);
		return -1;
	}
	out_result(s->index, "tcpsink");
	out_u64("port", port);
	out_end();
	return 0;
}

/*
 * The tcpsinkwait step waits until the sink task read the end of its
 * connection (the flow was closed before) and reports the bytes it read.
 */
int step_tcpsinkwait(struct step *s)
{
	long ret;

	if (!sink_pid) {
		out_error(s->index, "no TCP sink (tcpsink) running", NULL, 0);
		return -1;
	}
	ret = thread_join(sink_pid);
	sink_pid = 0;
	if (ret != 0) {
		out_error(s->index, "the TCP sink ended with an error", NULL, ret < 0 ? ret : -EIO);
		return -1;
	}
	out_result(s->index, "tcpsinkwait");
	out_u64("bytes", sink_bytes);
	out_end();
	return 0;
}
