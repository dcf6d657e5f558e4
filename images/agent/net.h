/* SPDX-License-Identifier: GPL-2.0 */
/*
 * specbed guest agent: the socket ABI, interface setup and timed send loop
 * shared by the network steps (udp, net, fetch and the specnet steps).
 *
 * The kernel's UAPI headers leave the socket types and constants below
 * (and struct sockaddr) to the C library, which the agent does not have;
 * they are the same on i386 and arm.
 */
#ifndef SPECBED_NET_H
#define SPECBED_NET_H

#include "agent.h"

#define AF_INET		2
#define SOCK_STREAM	1
#define SOCK_DGRAM	2
#define IFNAMSIZ	16

struct sb_sockaddr_in {
	unsigned short family;
	unsigned short port;		/* network byte order */
	unsigned char addr[4];		/* network byte order */
	unsigned char zero[8];
};

void set_sockaddr(struct sb_sockaddr_in *sa, const unsigned char addr[4],
		  unsigned int port);

/* The default time a NIC may take to get its carrier (ms). */
#define CARRIER_TIMEOUT_MS	10000

/* netif.c: configure an interface through an AF_INET socket fd. */
int netif_up(struct step *s, int fd, const char *dev, const unsigned char addr[4],
	     unsigned int prefix, const unsigned char *peer);
int netif_set_hwaddr(struct step *s, int fd, const char *dev, const unsigned char mac[6]);
int netif_wait_carrier(struct step *s, int fd, const char *dev,
		       unsigned long long timeout_ms, unsigned long long *waited_ns);
int netif_add_arp(struct step *s, int fd, const char *dev,
		  const unsigned char ip[4], const unsigned char mac[6]);
int netif_default_route(struct step *s, int fd, const char *dev,
			const unsigned char gw[4]);
int netif_check_name(struct step *s, const char *dev);

/*
 * udp.c: the timed send loop of the udp and send steps. size, count and
 * warmup are inputs; ns (CLOCK_MONOTONIC ns of the timed loop), errors and
 * first_errno outputs.
 */
struct timed_sends {
	unsigned long long size, count, warmup;
	unsigned long long ns, errors, first_errno;
};

/* send_fn sends len payload bytes; returns bytes sent or a negative errno. */
typedef long (*send_fn)(const void *arg, unsigned long len);

extern unsigned char udp_payload[UDP_MAX_SIZE];
void fill_payload(unsigned long size);
long time_sends(struct timed_sends *t, send_fn send, const void *arg);

#endif /* SPECBED_NET_H */
