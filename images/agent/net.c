// SPDX-License-Identifier: GPL-2.0
/*
 * The net step: bring up a network interface for the steps that follow
 * (fetch, udp to a host service). On a NIC it sets the address, waits for
 * carrier and optionally adds a static ARP entry and a default route. For
 * SLIP it first turns a UART into the interface: it opens the tty, sets
 * raw mode and the line rate, and attaches the N_SLIP line discipline,
 * which creates the sl<N> device; the tty stays open for the rest of the
 * agent's life, since closing it would remove the device.
 */
#include "net.h"
#include <asm/termbits.h>
#include <asm/ioctls.h>
#include <linux/sockios.h>
#include <linux/tty.h>

struct net_args {
	const char *dev, *tty;
	unsigned char addr[4], peer[4], gw[4], neigh[4], lladdr[6], hwaddr[6];
	unsigned long long prefix, baud, carrier_ms;
	int has_peer, has_gw, has_neigh, has_lladdr, has_hwaddr;
};

/* The line rates a tty takes, as termios speed codes. */
static const struct {
	unsigned int baud;
	unsigned int code;
} line_rates[] = {
	{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
	{ 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 },
};

/* The SLIP line rate unless the plan says otherwise (bit/s). */
#define SLIP_DEFAULT_BAUD 230400

static int optional_ipv4(struct step *s, const char *key, unsigned char addr[4],
			 int *present)
{
	*present = step_get(s, key) != NULL;
	return *present ? step_ipv4(s, key, addr) : 0;
}

static int parse_args(struct step *s, struct net_args *a)
{
	if (step_str(s, "dev", &a->dev, 1) < 0 || netif_check_name(s, a->dev) < 0 ||
	    step_str(s, "tty", &a->tty, 0) < 0 ||
	    step_ipv4(s, "addr", a->addr) < 0 ||
	    step_u64(s, "prefix", &a->prefix, 24, 32, 0) < 0 ||
	    optional_ipv4(s, "peer", a->peer, &a->has_peer) < 0 ||
	    optional_ipv4(s, "gw", a->gw, &a->has_gw) < 0 ||
	    optional_ipv4(s, "neigh", a->neigh, &a->has_neigh) < 0 ||
	    step_mac(s, "lladdr", a->lladdr, &a->has_lladdr) < 0 ||
	    step_mac(s, "hwaddr", a->hwaddr, &a->has_hwaddr) < 0 ||
	    step_u64(s, "baud", &a->baud, SLIP_DEFAULT_BAUD, 0xffffffffULL, 0) < 0 ||
	    step_u64(s, "carrier_ms", &a->carrier_ms, CARRIER_TIMEOUT_MS,
		     0xffffffffULL, 0) < 0)
		return -1;
	if (a->has_neigh != a->has_lladdr) {
		out_error(s->index, "neigh and lladdr go together", NULL, 0);
		return -1;
	}
	if (!a->tty && step_get(s, "baud")) {
		out_error(s->index, "baud needs tty", NULL, 0);
		return -1;
	}
	if (a->tty && (!*a->tty || strlen(a->tty) > 16 || strchr(a->tty, '/'))) {
		out_error(s->index, "bad tty name: ", a->tty, 0);
		return -1;
	}
	return 0;
}

static int baud_code(unsigned long long baud, unsigned int *code)
{
	unsigned int i;

	for (i = 0; i < sizeof(line_rates) / sizeof(line_rates[0]); i++) {
		if (line_rates[i].baud == baud) {
			*code = line_rates[i].code;
			return 0;
		}
	}
	return -1;
}

/*
 * Raw 8-bit line at the given rate: SLIP frames are binary, and the UART
 * model paces its bytes at the line rate, so the rate is the link's.
 */
static long set_raw_line(int fd, unsigned int code)
{
	struct termios t;
	long ret = sys_ioctl(fd, TCGETS, &t);

	if (ret < 0)
		return ret;
	t.c_iflag = 0;
	t.c_oflag = 0;
	t.c_lflag = 0;
	t.c_cflag = code | CS8 | CREAD | CLOCAL;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	return sys_ioctl(fd, TCSETS, &t);
}

/*
 * attach_slip puts the N_SLIP line discipline on /dev/<tty> and checks
 * that the kernel named the new interface as the plan expects. The tty
 * is never closed.
 */
static int attach_slip(struct step *s, const struct net_args *a)
{
	static char path[32], name[IFNAMSIZ];
	int disc = N_SLIP;
	unsigned int code;
	long fd, ret;

	if (baud_code(a->baud, &code) < 0) {
		out_error(s->index, "unsupported baud (9600 to 230400)", NULL, 0);
		return -1;
	}
	strcpy(path, "/dev/");
	strcpy(path + 5, a->tty);
	fd = sys_open(path, O_RDWR | O_NOCTTY, 0);
	if (fd < 0) {
		out_error(s->index, "cannot open ", path, fd);
		return -1;
	}
	ret = set_raw_line(fd, code);
	if (ret < 0) {
		out_error(s->index, "cannot set the line of ", path, ret);
		goto fail;
	}
	ret = sys_ioctl(fd, TIOCSETD, &disc);
	if (ret < 0) {
		out_error(s->index, "TIOCSETD N_SLIP failed on ", path, ret);
		goto fail;
	}
	/* The SLIP discipline answers SIOCGIFNAME with its device's name. */
	ret = sys_ioctl(fd, SIOCGIFNAME, name);
	if (ret < 0) {
		out_error(s->index, "SIOCGIFNAME on the SLIP tty failed", NULL, ret);
		goto fail;
	}
	if (strcmp(name, a->dev)) {
		out_error(s->index, "the SLIP device is ", name, 0);
		goto fail;
	}
	return 0;
fail:
	sys_close(fd);
	return -1;
}

int step_net(struct step *s)
{
	struct net_args a;
	unsigned long long waited = 0;
	long fd;

	memset(&a, 0, sizeof(a));
	if (parse_args(s, &a) < 0)
		return -1;
	if (a.tty && attach_slip(s, &a) < 0)
		return -1;
	fd = sb_socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		out_error(s->index, "socket(AF_INET, SOCK_DGRAM) failed", NULL, fd);
		return -1;
	}
	if ((a.has_hwaddr && netif_set_hwaddr(s, fd, a.dev, a.hwaddr) < 0) ||
	    netif_up(s, fd, a.dev, a.addr, a.prefix, a.has_peer ? a.peer : NULL) < 0 ||
	    netif_wait_carrier(s, fd, a.dev, a.carrier_ms, &waited) < 0 ||
	    (a.has_neigh && netif_add_arp(s, fd, a.dev, a.neigh, a.lladdr) < 0) ||
	    (a.has_gw && netif_default_route(s, fd, a.dev, a.gw) < 0)) {
		sys_close(fd);
		return -1;
	}
	sys_close(fd);

	out_result(s->index, "net");
	out_str("dev", a.dev);
	out_u64("carrier_ns", waited);
	out_end();
	return 0;
}
