// SPDX-License-Identifier: GPL-2.0
/*
 * The steps that change what a specialized send assumes about its
 * route, for the core module's route and PMTU guards: route (a route
 * added, replaced or deleted through rtnetlink, with its gateway, device
 * and MTU), mtu (a device's MTU) and ifstat (a device's transmit
 * counters: where the datagrams went).
 *
 * route uses rtnetlink rather than SIOCADDRT: a replace is one FIB
 * change (one notifier event), where the ioctls can only delete and add.
 */
#include "net.h"

#define AF_NETLINK	16
#define SOCK_RAW	3
#define NETLINK_ROUTE	0

#define RTM_NEWROUTE	24
#define RTM_DELROUTE	25
#define NLMSG_ERROR	2
#define NLM_F_REQUEST	0x001
#define NLM_F_ACK	0x004
#define NLM_F_REPLACE	0x100
#define NLM_F_CREATE	0x400

#define RT_TABLE_MAIN	254
#define RTPROT_BOOT	3
#define RT_SCOPE_UNIVERSE 0
#define RT_SCOPE_LINK	253
#define RTN_UNICAST	1
#define RTA_DST		1
#define RTA_OIF		4
#define RTA_GATEWAY	5
#define RTA_METRICS	8
#define RTAX_MTU	2

#define SIOCGIFINDEX	0x8933
#define SIOCSIFMTU	0x8922

struct sb_nlmsghdr {
	uint32_t len;
	uint16_t type;
	uint16_t flags;
	uint32_t seq;
	uint32_t pid;
};

struct sb_rtmsg {
	uint8_t family, dst_len, src_len, tos;
	uint8_t table, protocol, scope, type;
	uint32_t flags;
};

struct sb_rtattr {
	uint16_t len;
	uint16_t type;
};

/* struct ifreq with its int member (ifr_ifindex, ifr_mtu). */
struct sb_ifreq_int {
	char name[IFNAMSIZ];
	int value;
	unsigned char pad[12];
};

_Static_assert(sizeof(struct sb_ifreq_int) == 32, "struct ifreq is 32 bytes");

/* A route request: header, rtmsg and up to four attributes (bytes). */
struct route_req {
	struct sb_nlmsghdr nh;
	struct sb_rtmsg rt;
	unsigned char attrs[64];
};

static void *rta_put(struct route_req *r, uint16_t type, uint16_t len)
{
	struct sb_rtattr *a = (void *)((char *)r + r->nh.len);

	a->type = type;
	a->len = sizeof(*a) + len;
	r->nh.len += (a->len + 3) & ~3U;
	return a + 1;
}

static void rta_put_u32(struct route_req *r, uint16_t type, const void *val)
{
	memcpy(rta_put(r, type, 4), val, 4);
}

/* An int ioctl of dev's struct ifreq (SIOCGIFINDEX reads the index,
 * SIOCSIFMTU sets the MTU) through an AF_INET socket; -1 after an
 * error line. */
static int if_int(struct step *s, unsigned long req, const char *dev, int *value)
{
	struct sb_ifreq_int ifr;
	long fd, ret;

	if (netif_check_name(s, dev) < 0)
		return -1;
	fd = sb_socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		out_error(s->index, "socket(AF_INET) failed", NULL, fd);
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.name, dev);
	ifr.value = *value;
	ret = sys_ioctl(fd, req, &ifr);
	sys_close(fd);
	if (ret < 0) {
		out_error(s->index, req == SIOCSIFMTU ? "SIOCSIFMTU " : "SIOCGIFINDEX ",
			  dev, ret);
		return -1;
	}
	*value = ifr.value;
	return 0;
}

/* Send r to the kernel and read its answer: 0 or a negative errno. */
static long rtnl_call(struct route_req *r)
{
	static unsigned char ans[512];
	struct sb_nlmsghdr *h = (void *)ans;
	long fd, ret;

	fd = sb_socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (fd < 0)
		return fd;
	ret = sb_sendto(fd, r, r->nh.len, 0, NULL, 0);
	if (ret >= 0) {
		do
			ret = sys_read(fd, ans, sizeof(ans));
		while (ret == -EINTR);
	}
	sys_close(fd);
	if (ret < 0)
		return ret;
	if (ret < (long)sizeof(*h) + 4 || h->type != NLMSG_ERROR)
		return -EPROTO;
	memcpy(&ret, h + 1, 4);
	return (int)ret;
}

/*
 * route: op=add|replace|del dst=<net> prefix=<bits> [gw=<addr>]
 * [dev=<name>] [mtu=<bytes>]. The kernel's answer is the result.
 */
int step_route(struct step *s)
{
	struct route_req r;
	const char *op, *dev;
	unsigned char dst[4], gw[4];
	unsigned long long prefix, mtu;
	int ifindex = 0;
	long ret;

	if (step_str(s, "op", &op, 1) < 0 ||
	    step_ipv4(s, "dst", dst) < 0 ||
	    step_u64(s, "prefix", &prefix, 32, 32, 0) < 0 ||
	    step_u64(s, "mtu", &mtu, 0, 65535, 0) < 0 ||
	    step_str(s, "dev", &dev, 0) < 0)
		return -1;
	if (step_get(s, "gw") && step_ipv4(s, "gw", gw) < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.nh.len = sizeof(r.nh) + sizeof(r.rt);
	r.nh.flags = NLM_F_REQUEST | NLM_F_ACK;
	r.nh.seq = 1;
	if (!strcmp(op, "add")) {
		r.nh.type = RTM_NEWROUTE;
		r.nh.flags |= NLM_F_CREATE;
	} else if (!strcmp(op, "replace")) {
		r.nh.type = RTM_NEWROUTE;
		r.nh.flags |= NLM_F_CREATE | NLM_F_REPLACE;
	} else if (!strcmp(op, "del")) {
		r.nh.type = RTM_DELROUTE;
	} else {
		out_error(s->index, "op must be add, replace or del: ", op, 0);
		return -1;
	}
	if (dev && if_int(s, SIOCGIFINDEX, dev, &ifindex) < 0)
		return -1;
	r.rt.family = AF_INET;
	r.rt.dst_len = (uint8_t)prefix;
	r.rt.table = RT_TABLE_MAIN;
	r.rt.protocol = RTPROT_BOOT;
	r.rt.scope = step_get(s, "gw") ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	r.rt.type = RTN_UNICAST;
	rta_put_u32(&r, RTA_DST, dst);
	if (step_get(s, "gw"))
		rta_put_u32(&r, RTA_GATEWAY, gw);
	if (ifindex)
		rta_put_u32(&r, RTA_OIF, &ifindex);
	if (mtu) {
		struct sb_rtattr *metrics = (void *)((char *)&r + r.nh.len);
		uint32_t val = (uint32_t)mtu;

		rta_put(&r, RTA_METRICS, 0);
		rta_put_u32(&r, RTAX_MTU, &val);
		metrics->len = (uint16_t)((char *)&r + r.nh.len - (char *)metrics);
	}
	ret = rtnl_call(&r);

	out_result(s->index, "route");
	out_str("op", op);
	out_u64("errno", ret < 0 ? -ret : 0);
	out_end();
	return 0;
}

/* mtu: dev=<name> mtu=<bytes>; SIOCSIFMTU's answer is the result. */
int step_mtu(struct step *s)
{
	const char *dev;
	unsigned long long mtu;
	int value;

	if (step_str(s, "dev", &dev, 1) < 0 ||
	    step_u64(s, "mtu", &mtu, 0, 65535, 1) < 0)
		return -1;
	value = (int)mtu;
	if (if_int(s, SIOCSIFMTU, dev, &value) < 0)
		return -1;
	out_result(s->index, "mtu");
	out_str("dev", dev);
	out_u64("mtu", mtu);
	out_end();
	return 0;
}

/* The decimal number in the sysfs file /sys/class/net/<dev>/statistics/<name>. */
static long read_stat(const char *dev, const char *name, unsigned long long *val)
{
	static char path[80];
	char buf[24];
	long fd, n, i;

	strcpy(path, "/sys/class/net/");
	strcpy(path + strlen(path), dev);
	strcpy(path + strlen(path), "/statistics/");
	strcpy(path + strlen(path), name);
	fd = sys_open(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	n = sys_read(fd, buf, sizeof(buf) - 1);
	sys_close(fd);
	if (n <= 0)
		return n < 0 ? n : -EIO;
	*val = 0;
	for (i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		*val = *val * 10 + (unsigned long long)(buf[i] - '0');
	return 0;
}

/* ifstat: dev=<name>; tx_packets and tx_bytes of the device. */
int step_ifstat(struct step *s)
{
	const char *dev;
	unsigned long long packets, bytes;
	long ret;

	if (step_str(s, "dev", &dev, 1) < 0 || netif_check_name(s, dev) < 0)
		return -1;
	ret = read_stat(dev, "tx_packets", &packets);
	if (!ret)
		ret = read_stat(dev, "tx_bytes", &bytes);
	if (ret < 0) {
		out_error(s->index, "cannot read the statistics of ", dev, ret);
		return -1;
	}
	out_result(s->index, "ifstat");
	out_str("dev", dev);
	out_u64("tx_packets", packets);
	out_u64("tx_bytes", bytes);
	out_end();
	return 0;
}
