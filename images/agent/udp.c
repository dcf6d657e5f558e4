// SPDX-License-Identifier: GPL-2.0
/*
 * The udp step: configure an interface, then time a burst of sendto()
 * calls on an unconnected UDP socket, the send path the paper
 * specializes. In count mode the virtual clock advances 2^shift ns per
 * guest instruction, so the elapsed CLOCK_MONOTONIC time is an
 * instruction count.
 */
#include "agent.h"
#include <linux/sockios.h>

/*
 * Socket ABI values. The kernel's UAPI headers leave these (and struct
 * sockaddr) to the C library, which the agent does not have; they are the
 * same on i386 and arm.
 */
#define AF_INET		2
#define SOCK_DGRAM	2
#define IFF_UP		0x1
#define IFF_RUNNING	0x40
#define ARPHRD_ETHER	1
#define ATF_COM		0x02	/* the hardware address is complete */
#define ATF_PERM	0x04	/* a static entry that never expires */
#define IFNAMSIZ	16

struct sb_sockaddr_in {
	unsigned short family;
	unsigned short port;		/* network byte order */
	unsigned char addr[4];		/* network byte order */
	unsigned char zero[8];
};

struct sb_sockaddr {
	unsigned short family;
	unsigned char data[14];
};

/* struct ifreq: a name and a 16-byte union on 32-bit kernels. */
struct sb_ifreq {
	char name[IFNAMSIZ];
	union {
		struct sb_sockaddr_in addr;
		short flags;
		unsigned char pad[16];
	} u;
};

struct sb_arpreq {
	struct sb_sockaddr_in pa;	/* protocol address */
	struct sb_sockaddr ha;		/* hardware address */
	int flags;
	struct sb_sockaddr_in netmask;
	char dev[IFNAMSIZ];
};

_Static_assert(sizeof(struct sb_ifreq) == 32, "struct ifreq is 32 bytes");
_Static_assert(sizeof(struct sb_arpreq) == 68, "struct arpreq is 68 bytes");

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
	if (step_str(s, "dev", &a->dev, 1) < 0)
		return -1;
	if (strlen(a->dev) >= IFNAMSIZ) {
		out_error(s->index, "device name too long: ", a->dev, 0);
		return -1;
	}
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

static void set_sockaddr(struct sb_sockaddr_in *sa, const unsigned char addr[4],
			 unsigned int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->family = AF_INET;
	sa->port = (unsigned short)((port >> 8) | (port << 8));
	memcpy(sa->addr, addr, 4);
}

static void prefix_to_mask(unsigned int prefix, unsigned char mask[4])
{
	int i;

	for (i = 0; i < 4; i++) {
		unsigned int bits = prefix > 8 ? 8 : prefix;

		mask[i] = (unsigned char)(0xff00 >> bits);
		prefix -= bits;
	}
}

static int if_ioctl(struct step *s, int fd, unsigned long req, const char *what,
		    struct sb_ifreq *ifr)
{
	long ret = sys_ioctl(fd, req, ifr);

	if (ret < 0) {
		out_error_begin(s->index);
		out_msg(what);
		out_msg(" ");
		out_msg(ifr->name);
		out_msg_errno(ret);
		out_end();
		return -1;
	}
	return 0;
}

/*
 * configure gives the device its address and brings it up; the kernel then
 * adds the subnet route. A static ARP entry, when asked for, keeps ARP
 * traffic (whose timing the host decides) out of the measurement.
 */
static int configure(struct step *s, int fd, const struct udp_args *a)
{
	struct sb_ifreq ifr;
	unsigned char mask[4];

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.name, a->dev);
	set_sockaddr(&ifr.u.addr, a->src, 0);
	if (if_ioctl(s, fd, SIOCSIFADDR, "SIOCSIFADDR", &ifr) < 0)
		return -1;
	prefix_to_mask(a->prefix, mask);
	set_sockaddr(&ifr.u.addr, mask, 0);
	if (if_ioctl(s, fd, SIOCSIFNETMASK, "SIOCSIFNETMASK", &ifr) < 0)
		return -1;
	memset(&ifr.u, 0, sizeof(ifr.u));
	if (if_ioctl(s, fd, SIOCGIFFLAGS, "SIOCGIFFLAGS", &ifr) < 0)
		return -1;
	ifr.u.flags |= IFF_UP | IFF_RUNNING;
	if (if_ioctl(s, fd, SIOCSIFFLAGS, "SIOCSIFFLAGS", &ifr) < 0)
		return -1;
	if (a->has_mac) {
		struct sb_arpreq arp;
		long ret;

		memset(&arp, 0, sizeof(arp));
		set_sockaddr(&arp.pa, a->dst, 0);
		arp.ha.family = ARPHRD_ETHER;
		memcpy(arp.ha.data, a->mac, 6);
		arp.flags = ATF_COM | ATF_PERM;
		strcpy(arp.dev, a->dev);
		ret = sys_ioctl(fd, SIOCSARP, &arp);
		if (ret < 0) {
			out_error(s->index, "SIOCSARP failed", NULL, ret);
			return -1;
		}
	}
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
