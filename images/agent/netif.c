// SPDX-License-Identifier: GPL-2.0
/*
 * Interface setup through socket ioctls, shared by the udp and net steps:
 * address, netmask and point-to-point peer, up, the wait for carrier,
 * static ARP entries and the default route. Each function prints an error
 * line for the step and returns -1 when the kernel refuses.
 */
#include "net.h"
#include <linux/sockios.h>

#define IFF_UP		0x1
#define IFF_RUNNING	0x40
#define ARPHRD_ETHER	1
#define ATF_COM		0x02	/* the hardware address is complete */
#define ATF_PERM	0x04	/* a static entry that never expires */
#define RTF_UP		0x1
#define RTF_GATEWAY	0x2

/* How often the carrier wait looks again (ms). */
#define CARRIER_POLL_MS	10

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

/* struct rtentry of <linux/route.h>, which needs the C library's sockaddr. */
struct sb_rtentry {
	unsigned long pad1;
	struct sb_sockaddr_in dst;
	struct sb_sockaddr_in gateway;
	struct sb_sockaddr_in genmask;
	unsigned short flags;
	short pad2;
	unsigned long pad3;
	void *pad4;
	short metric;
	char *dev;
	unsigned long mtu;
	unsigned long window;
	unsigned short irtt;
};

_Static_assert(sizeof(struct sb_ifreq) == 32, "struct ifreq is 32 bytes");
_Static_assert(sizeof(struct sb_arpreq) == 68, "struct arpreq is 68 bytes");
_Static_assert(sizeof(struct sb_rtentry) == 84, "struct rtentry is 84 bytes");

void set_sockaddr(struct sb_sockaddr_in *sa, const unsigned char addr[4],
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

/* netif_check_name refuses a device name the kernel could not take. */
int netif_check_name(struct step *s, const char *dev)
{
	if (!*dev || strlen(dev) >= IFNAMSIZ) {
		out_error(s->index, "bad device name: ", dev, 0);
		return -1;
	}
	return 0;
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

static void ifreq_init(struct sb_ifreq *ifr, const char *dev)
{
	memset(ifr, 0, sizeof(*ifr));
	strcpy(ifr->name, dev);
}

/*
 * netif_set_hwaddr gives dev an Ethernet address. Devices without one of
 * their own (dummy) draw a random one at boot, and a context that holds
 * it would differ from boot to boot.
 */
int netif_set_hwaddr(struct step *s, int fd, const char *dev, const unsigned char mac[6])
{
	struct sb_ifreq ifr;
	struct sb_sockaddr *ha = (struct sb_sockaddr *)&ifr.u;

	ifreq_init(&ifr, dev);
	ha->family = ARPHRD_ETHER;
	memcpy(ha->data, mac, 6);
	return if_ioctl(s, fd, SIOCSIFHWADDR, "SIOCSIFHWADDR", &ifr);
}

/*
 * netif_up gives dev its address, netmask and, on a point-to-point link,
 * the peer's address, and brings it up; the kernel then adds the subnet
 * route (or the host route to the peer).
 */
int netif_up(struct step *s, int fd, const char *dev, const unsigned char addr[4],
	     unsigned int prefix, const unsigned char *peer)
{
	struct sb_ifreq ifr;
	unsigned char mask[4];

	ifreq_init(&ifr, dev);
	set_sockaddr(&ifr.u.addr, addr, 0);
	if (if_ioctl(s, fd, SIOCSIFADDR, "SIOCSIFADDR", &ifr) < 0)
		return -1;
	prefix_to_mask(prefix, mask);
	set_sockaddr(&ifr.u.addr, mask, 0);
	if (if_ioctl(s, fd, SIOCSIFNETMASK, "SIOCSIFNETMASK", &ifr) < 0)
		return -1;
	if (peer) {
		set_sockaddr(&ifr.u.addr, peer, 0);
		if (if_ioctl(s, fd, SIOCSIFDSTADDR, "SIOCSIFDSTADDR", &ifr) < 0)
			return -1;
	}
	memset(&ifr.u, 0, sizeof(ifr.u));
	if (if_ioctl(s, fd, SIOCGIFFLAGS, "SIOCGIFFLAGS", &ifr) < 0)
		return -1;
	ifr.u.flags |= IFF_UP;
	return if_ioctl(s, fd, SIOCSIFFLAGS, "SIOCSIFFLAGS", &ifr);
}

/* read_carrier returns 1 when sysfs says dev has its carrier, else 0. */
static int read_carrier(const char *dev)
{
	static const char dir[] = "/sys/class/net/";
	static char path[64];
	char c = 0;
	long fd, n;

	/* nolibc 6.1 has no strcat; the name is shorter than IFNAMSIZ. */
	strcpy(path, dir);
	strcpy(path + sizeof(dir) - 1, dev);
	strcpy(path + strlen(path), "/carrier");
	fd = sys_open(path, O_RDONLY, 0);
	if (fd < 0)
		return 0;
	n = sys_read(fd, &c, 1);
	sys_close(fd);
	return n == 1 && c == '1';
}

/*
 * netif_wait_carrier waits until dev has its carrier and the kernel has
 * acted on it. A NIC with link negotiation (e1000) gets its carrier some
 * time after it is brought up, and until the kernel's link watcher has
 * seen it, the device's queue discipline drops every packet without an
 * error: a UDP send is lost, a TCP SYN waits a whole retransmission
 * timeout. The carrier file is the NIC's own state; IFF_RUNNING (the
 * operational state) is set by the link watcher in the same pass that
 * activates the queue. Devices without link negotiation (dummy, ne2k,
 * SLIP) have both at once. *waited_ns is the time waited.
 */
int netif_wait_carrier(struct step *s, int fd, const char *dev,
		       unsigned long long timeout_ms, unsigned long long *waited_ns)
{
	unsigned long long t0, now;
	struct sb_ifreq ifr;
	long ret;

	ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &t0);
	now = t0;
	while (!ret) {
		ifreq_init(&ifr, dev);
		if (if_ioctl(s, fd, SIOCGIFFLAGS, "SIOCGIFFLAGS", &ifr) < 0)
			return -1;
		if ((ifr.u.flags & IFF_RUNNING) && read_carrier(dev)) {
			*waited_ns = now - t0;
			return 0;
		}
		if (now - t0 >= timeout_ms * 1000000ULL) {
			out_error(s->index, "no carrier within the timeout on ", dev, 0);
			return -1;
		}
		ret = sb_sleep_ms(CARRIER_POLL_MS);
		if (!ret)
			ret = sb_clock_gettime_ns(CLOCK_MONOTONIC, &now);
	}
	out_error(s->index, "clock failed while waiting for carrier", NULL, ret);
	return -1;
}

/*
 * netif_add_arp adds a permanent ARP entry for ip on dev, so that no ARP
 * exchange, whose timing the host decides, falls into a measurement.
 */
int netif_add_arp(struct step *s, int fd, const char *dev,
		  const unsigned char ip[4], const unsigned char mac[6])
{
	struct sb_arpreq arp;
	long ret;

	memset(&arp, 0, sizeof(arp));
	set_sockaddr(&arp.pa, ip, 0);
	arp.ha.family = ARPHRD_ETHER;
	memcpy(arp.ha.data, mac, 6);
	arp.flags = ATF_COM | ATF_PERM;
	strcpy(arp.dev, dev);
	ret = sys_ioctl(fd, SIOCSARP, &arp);
	if (ret < 0) {
		out_error(s->index, "SIOCSARP failed", NULL, ret);
		return -1;
	}
	return 0;
}

/*
 * netif_default_route routes every destination without a more specific
 * route through dev via the gateway gw (on a point-to-point link, the
 * peer).
 */
int netif_default_route(struct step *s, int fd, const char *dev,
			const unsigned char gw[4])
{
	static const unsigned char any[4];
	static char name[IFNAMSIZ];
	struct sb_rtentry rt;
	long ret;

	memset(&rt, 0, sizeof(rt));
	strcpy(name, dev);
	set_sockaddr(&rt.dst, any, 0);
	set_sockaddr(&rt.genmask, any, 0);
	set_sockaddr(&rt.gateway, gw, 0);
	rt.flags = RTF_UP | RTF_GATEWAY;
	rt.dev = name;
	ret = sys_ioctl(fd, SIOCADDRT, &rt);
	if (ret < 0) {
		out_error(s->index, "SIOCADDRT (default route) failed", NULL, ret);
		return -1;
	}
	return 0;
}
