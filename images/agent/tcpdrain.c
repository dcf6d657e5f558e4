// SPDX-License-Identifier: GPL-2.0
/*
 * The tcpdrain step waits until the peer acknowledged every byte of the
 * flow's TCP socket. send() returns once its bytes are queued: a guest
 * that ended right after the last send would cut the stream short, and a
 * fixed sleep long enough for a slow line (the SA-1110's SLIP line holds
 * a 128 KB send buffer for seconds) costs minutes of host time on a guest
 * whose clock runs slower than the host's. It polls SIOCOUTQ (bytes not
 * yet acknowledged, sent or not) every DRAIN_POLL_MS.
 */
#include "net.h"
#include <asm/ioctls.h>

#define SIOCOUTQ	TIOCOUTQ	/* the same number for a socket */
#define DRAIN_POLL_MS	10		/* ms of the guest's clock */

int step_tcpdrain(struct step *s)
{
	unsigned long long timeout_ms, t0, now;
	long fd = specnet_flow_sock(), ret;
	int left = 0;

	if (step_u64(s, "timeout_ms", &timeout_ms, 1, 0xffffffffULL, 1) < 0)
		return -1;
	if (fd < 0) {
		out_error(s->index, "no flow (customize,proto=tcp)", NULL, 0);
		return -1;
	}
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t0);
	now = t0;
	while (!ret) {
		ret = sys_ioctl(fd, SIOCOUTQ, &left);
		if (ret || !left || now - t0 >= timeout_ms * 1000000ULL)
			break;
		ret = sb_sleep_ms(DRAIN_POLL_MS);
		if (!ret)
			ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &now);
	}
	if (ret) {
		out_error(s->index, "SIOCOUTQ or the clock failed", NULL, ret);
		return -1;
	}
	out_result(s->index, "tcpdrain");
	out_u64("left", left);
	out_u64("ns", now - t0);
	out_end();
	return 0;
}
