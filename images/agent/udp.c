// SPDX-License-Identifier: GPL-2.0
/*
 * The udp step: configure an interface, then time a burst of sendto()
 * calls on an unconnected UDP socket, the send path the paper
 * specializes. In count mode the virtual clock advances 2^shift ns per
 * guest instruction, so the elapsed CLOCK_MONOTONIC time is an
 * instruction count.
 */
#include "net.h"

/* The payload of every timed send (bytes). */
unsigned char udp_payload[UDP_MAX_SIZE];

/* fill_payload sets the first size payload bytes to 0, 1, 2, ... mod 256. */
void fill_payload(unsigned long size)
{
	unsigned long i;

	for (i = 0; i < size; i++)
		udp_payload[i] = (unsigned char)i;
}

/*
 * time_sends makes t->warmup untimed sends (the first binds a port and
 * warms caches), then times t->count sends between two CLOCK_MONOTONIC
 * reads. Every timed step goes through this loop, so that its own
 * instructions are the same for every path. Returns 0 or the clock's
 * negative errno.
 */
long time_sends(struct timed_sends *t, send_fn send, const void *arg)
{
	unsigned long long i, t0, t1;
	long ret;

	t->errors = 0;
	t->first_errno = 0;
	for (i = 0; i < t->warmup; i++)
		send(arg, t->size);
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t0);
	if (ret < 0)
		return ret;
	for (i = 0; i < t->count; i++) {
		long n = send(arg, t->size);

		if (n < 0) {
			if (!t->errors)
				t->first_errno = -n;
			t->errors++;
		}
	}
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t1);
	if (ret < 0)
		return ret;
	t->ns = t1 - t0;
	return 0;
}

struct udp_args {
	const char *dev;
	unsigned char src[4], dst[4];
	unsigned long long prefix, port;
	struct timed_sends t;
	unsigned char mac[6];
	int has_mac;
};

static int parse_args(struct step *s, struct udp_args *a)
{
	if (step_str(s, "dev", &a->dev, 1) < 0 || netif_check_name(s, a->dev) < 0)
		return -1;
	if (step_ipv4(s, "src", a->src) < 0 ||
	    step_ipv4(s, "dst", a->dst) < 0 ||
	    step_u64(s, "prefix", &a->prefix, 24, 32, 0) < 0 ||
	    step_u64(s, "port", &a->port, 0, 65535, 1) < 0 ||
	    step_u64(s, "size", &a->t.size, 0, UDP_MAX_SIZE, 1) < 0 ||
	    step_u64(s, "count", &a->t.count, 0, 0xffffffffULL, 1) < 0 ||
	    step_u64(s, "warmup", &a->t.warmup, 0, 0xffffffffULL, 0) < 0 ||
	    step_mac(s, "arp", a->mac, &a->has_mac) < 0)
		return -1;
	if (!a->port || !a->t.count) {
		out_error(s->index, "port and count must not be 0", NULL, 0);
		return -1;
	}
	return 0;
}

/*
 * configure gives the device its address, brings it up and waits for its
 * carrier (sends before it are dropped silently). A static ARP entry, when
 * asked for, keeps ARP traffic (whose timing the host decides) out of the
 * measurement.
 */
static int configure(struct step *s, int fd, const struct udp_args *a)
{
	unsigned long long waited;

	if (netif_up(s, fd, a->dev, a->src, a->prefix, NULL) < 0 ||
	    netif_wait_carrier(s, fd, a->dev, CARRIER_TIMEOUT_MS, &waited) < 0)
		return -1;
	if (a->has_mac && netif_add_arp(s, fd, a->dev, a->dst, a->mac) < 0)
		return -1;
	return 0;
}

/* The destination of the udp step's sends. */
struct udp_sender {
	long fd;
	struct sb_sockaddr_in to;
};

/* One send; the result is the kernel's (bytes sent or -errno). */
static long send_one(const void *arg, unsigned long len)
{
	const struct udp_sender *us = arg;

	return sb_sendto(us->fd, udp_payload, len, 0, &us->to, sizeof(us->to));
}

int step_udp(struct step *s)
{
	struct udp_sender us;
	struct udp_args a;
	long ret;

	if (parse_args(s, &a) < 0)
		return -1;
	us.fd = sb_socket(AF_INET, SOCK_DGRAM, 0);
	if (us.fd < 0) {
		out_error(s->index, "socket(AF_INET, SOCK_DGRAM) failed", NULL, us.fd);
		return -1;
	}
	if (configure(s, us.fd, &a) < 0)
		goto fail;
	fill_payload(a.t.size);
	set_sockaddr(&us.to, a.dst, a.port);
	ret = time_sends(&a.t, send_one, &us);
	if (ret < 0) {
		out_error(s->index, "clock_gettime64(CLOCK_MONOTONIC) failed", NULL, ret);
		goto fail;
	}
	sys_close(us.fd);

	out_result(s->index, "udp");
	out_str("dev", a.dev);
	out_u64("size", a.t.size);
	out_u64("count", a.t.count);
	out_u64("warmup", a.t.warmup);
	out_u64("ns", a.t.ns);
	out_u64("errors", a.t.errors);
	out_u64("errno", a.t.first_errno);
	out_end();
	return 0;

fail:
	sys_close(us.fd);
	return -1;
}
