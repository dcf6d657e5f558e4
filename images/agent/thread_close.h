/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The close race that the closerace (UDP, thread_close.c) and tcpclose
 * (TCP, thread_tcpclose.c) steps share: per round, a socket the step
 * opened is LOADed, a second task closes its descriptor while the agent
 * sends through the token, and the token is RELEASEd. The steps differ in
 * the socket, the send and what they report.
 */
#ifndef SPECBED_AGENT_THREAD_CLOSE_H
#define SPECBED_AGENT_THREAD_CLOSE_H

#include "net.h"
#include "specnet_uapi.h"

#define RACE_SPREAD	16	/* default number of close points (sends) */
#define RACE_AFTER	4	/* default sends tried after the close */
#define RACE_ROUND_MAX	10000	/* sends per round, a bound for a closer that never closes */

struct race;

/* One send of size bytes from the stream's offset off through token:
 * the bytes sent or -errno. */
typedef long (*race_send_fn)(const struct race *r, unsigned long long off);

/*
 * What the two tasks share during one round. The sender counts its good
 * sends; the closer closes once it has seen close_after of them, then
 * says so. Both sides yield (or sleep gap_ms) between looks, so on the
 * guests' uniprocessor kernels the close lands after close_after sends
 * or later (the scheduler may let the sender go on after a yield), and
 * always between two sends: without kernel preemption the closer runs
 * inside a send only if that send sleeps. With in_send set the closer
 * also waits until the sender is inside a send: the core's test-only
 * send_hold_us makes every SEND sleep inside its token's guard (longer
 * than gap_ms), so the closer runs, and closes, while that send is
 * asleep in it. memwait (TCP): the closer closes once it saw the same
 * send asleep across a look of gap_ms (in the memory wait, which drops
 * the guard), checks that the close returned while that send still
 * slept, then sends "go" on go_fd to go, on which the peer starts
 * reading.
 */
struct race {
	/* Set by the step for every round. */
	long dev;
	race_send_fn send;
	unsigned long size;		/* bytes per send */
	unsigned int flags;		/* MSG_* of each send */
	unsigned long close_after, gap_ms;
	int in_send, memwait;
	long go_fd;
	struct sb_sockaddr_in go;
	/* Per round. */
	long fd;
	uint32_t token;
	volatile int stop;		/* the sender is done: close now */
	volatile unsigned long sent;	/* good sends */
	volatile unsigned long seq;	/* sends started */
	volatile int sending;		/* the sender is inside a send */
	volatile int closing;		/* the closer is about to call close */
	volatile int closed;
	volatile long close_ret;
	volatile int close_in_wait;	/* memwait: the send slept across the close */
};

/* The totals over all rounds, reported in the result line. */
struct race_totals {
	unsigned long long rounds;
	/* Sends that returned a byte count, their bytes, those that sent
	 * less than size, those that started after the close returned. */
	unsigned long long ok, bytes, partial, ok_after_close;
	/* Rounds that ended in EBADF, in another errno (the first is
	 * other_errno), or without a failure; EPIPE sends. */
	unsigned long long ebadf, other, other_errno, unfailed, epipe;
	unsigned long long close_errors, release_errors;
	/* Sends the close started during; of them, those that succeeded and
	 * those that returned after the close had returned. */
	unsigned long long in_send, in_send_ok, close_first;
	unsigned long long close_in_wait, go_errors;
};

int race_load(struct step *s, const char *what, const char *name, const unsigned char *dst,
	      unsigned int port, struct specnet_load *l);
int race_round(struct step *s, const char *what, const struct specnet_load *proto,
	       long fd, struct race *r, unsigned long after, struct race_totals *tot);
void race_report(struct step *s, const char *kind, const struct race_totals *t, int tcp);

#endif
