// SPDX-License-Identifier: GPL-2.0
/*
 * The udp step: configure an interface, then time a burst of sendto()
 * calls on an unconnected UDP socket, the send path the paper
 * specializes. In count mode the virtual clock advances 2^shift ns per
 * guest instruction, so the elapsed CLOCK_MONOTONIC time is an
 * instruction count.
 */
#include "net.h"

/* The payload, shared by all udp steps (bytes). */
static unsigned char payload[UDP_MAX_SIZE];

struct udp_args {
	const char *dev;
	unsigned char src[4], dst[4];
	unsigned long long prefix, port, size, count, warmup;
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
	    step_u64(s, "size", &a->size, 0, UDP_MAX_SIZE, 1) < 0 ||
	    step_u64(s, "count", &a->count, 0, 0xffffffffULL, 1) < 0 ||
	    step_u64(s, "warmup", &a->warmup, 0, 0xffffffffULL, 0) < 0 ||
	    step_mac(s, "arp", a->mac, &a->has_mac) < 0)
		return -1;
	if (!a->port || !a->count) {
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

/* One send; the result is the kernel's (bytes sent or -errno). */
static long send_one(int fd, const struct udp_args *a,
		     const struct sb_sockaddr_in *to)
{
	return sb_sendto(fd, payload, a->size, 0, to, sizeof(*to));
}

int step_udp(struct step *s)
{
	struct sb_sockaddr_in to;
	struct udp_args a;
	unsigned long long i, errors = 0, t0, t1;
	long fd, ret, first_err = 0;

	if (parse_args(s, &a) < 0)
		return -1;
	fd = sb_socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		out_error(s->index, "socket(AF_INET, SOCK_DGRAM) failed", NULL, fd);
		return -1;
	}
	if (configure(s, fd, &a) < 0)
		goto fail;
	for (i = 0; i < a.size; i++)
		payload[i] = (unsigned char)i;
	set_sockaddr(&to, a.dst, a.port);

	/* Untimed sends: the first binds a port and warms caches. */
	for (i = 0; i < a.warmup; i++)
		send_one(fd, &a, &to);

	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t0);
	if (ret < 0)
		goto clock_fail;
	for (i = 0; i < a.count; i++) {
		long n = send_one(fd, &a, &to);

		if (n < 0) {
			if (!errors)
				first_err = -n;
			errors++;
		}
	}
	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t1);
	if (ret < 0)
		goto clock_fail;
	sys_close(fd);

	out_result(s->index, "udp");
	out_str("dev", a.dev);
	out_u64("size", a.size);
	out_u64("count", a.count);
	out_u64("warmup", a.warmup);
	out_u64("ns", t1 - t0);
	out_u64("errors", errors);
	out_u64("errno", first_err);
	out_end();
	return 0;

clock_fail:
	out_error(s->index, "clock_gettime64(CLOCK_MONOTONIC) failed", NULL, ret);
fail:
	sys_close(fd);
	return -1;
}
