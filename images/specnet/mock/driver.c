// SPDX-License-Identifier: GPL-2.0
/*
 * driver.c - runs the send path over a seeded sequence of inputs against
 * the mock and prints the effect log.
 *
 *   driver generic  SEED N ADU FLAGS    the generic path (sn_sendmsg)
 *   driver residual SEED N ADU FLAGS    the residual (specnet_residual_entry,
 *                                       linked in by the harness) and the
 *                                       generic path as fallback
 *
 * Each input is one send on the same socket (state such as the cork and
 * the IP ID carries over): "I" line with the input, the effect lines, an
 * "F" line when the residual fell back, "R" with the return value. The
 * input is drawn from SEED and its number only, so both modes see the
 * same inputs: mostly len == ADU and flags == FLAGS, sometimes another
 * length (0, off by one, larger than an MTU, larger than a datagram),
 * other flags, a user buffer shorter than len (a fault part way), or
 * another descriptor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mock.h"

/* The residual's entry under a fixed name (the harness adds the alias);
 * absent from a driver without a residual. */
int specnet_residual_entry(struct sn_inst *inst, u8 __user *buf, u32 len,
			   u32 flags) __attribute__((weak));

struct input {
	int fd;
	u32 len;
	u32 flags;
	u32 avail;
};

static u64 draw(unsigned long long seed, unsigned int index, u32 k)
{
	u64 x = seed ^ ((u64)index << 32) ^ ((u64)k * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static const u32 flag_flips[] = {
	SN_MSG_MORE, SN_MSG_DONTWAIT, SN_MSG_CONFIRM, SN_MSG_PROBE,
	SN_MSG_DONTROUTE, SN_MSG_OOB, SN_MSG_CONFIRM | SN_MSG_PROBE,
	SN_MSG_SPLICE_PAGES,
};

static struct input make_input(unsigned long long seed, unsigned int index,
			       int fd, u32 adu, u32 flags, u8 *payload)
{
	struct input in = { fd, adu, flags, adu };
	u32 r = draw(seed, index, 0) % 100;
	u32 i, n;

	if (r < 2)
		in.fd = fd + 1;
	r = draw(seed, index, 1) % 100;
	if (r >= 85) {
		u32 lens[] = { 0, 1, adu - 1, adu + 1,
			       (u32)(draw(seed, index, 2) % 2000),
			       (u32)(draw(seed, index, 2) % MOCK_USER_MAX),
			       65507, 65535, 65536, 0x80000000U };

		in.len = lens[draw(seed, index, 3) % (sizeof(lens) / sizeof(lens[0]))];
		in.avail = in.len;
	}
	r = draw(seed, index, 4) % 100;
	if (r >= 90)
		in.flags ^= flag_flips[draw(seed, index, 5) %
				       (sizeof(flag_flips) / sizeof(flag_flips[0]))];
	r = draw(seed, index, 6) % 100;
	if (r >= 95 && in.len)
		in.avail = draw(seed, index, 7) % in.len;

	n = in.len < MOCK_USER_MAX ? in.len : MOCK_USER_MAX;
	for (i = 0; i < n; i++)
		payload[i] = (u8)(draw(seed, index, 100 + i / 8) >> (8 * (i % 8)));
	return in;
}

static u64 fnv1a(const u8 *p, u32 n)
{
	u64 h = 0xcbf29ce484222325ULL;
	u32 i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int main(int argc, char **argv)
{
	static u8 payload[MOCK_USER_MAX];
	static char out[1 << 20];
	struct mock_world *w = &mock_world;
	unsigned long long seed;
	unsigned int i, n;
	u32 adu, flags;
	int residual;

	if (argc != 6) {
		fprintf(stderr, "usage: driver generic|residual SEED N ADU FLAGS\n");
		return 2;
	}
	residual = !strcmp(argv[1], "residual");
	seed = strtoull(argv[2], NULL, 0);
	n = strtoul(argv[3], NULL, 0);
	adu = strtoul(argv[4], NULL, 0);
	flags = strtoul(argv[5], NULL, 0);
	if (residual && !specnet_residual_entry) {
		fprintf(stderr, "driver: built without a residual\n");
		return 2;
	}
	setvbuf(stdout, out, _IOFBF, sizeof(out));

	mock_world_init(w);
	mock_apply_context(w);
	/* Dynamic state a socket has when a customized send starts. */
	w->sk.inet.inet_id = draw(seed, 0xffffffffU, 0) & 0xffff;

	for (i = 0; i < n; i++) {
		struct input in = make_input(seed, i, w->fd, adu, flags, payload);
		int ret;

		mock_begin_input(seed, i, payload, in.len, in.avail);
		printf("I %u fd=%d len=%u flags=%#x avail=%u pending=%u payload=%016llx\n",
		       i, in.fd, in.len, in.flags, in.avail, w->sk.up.pending,
		       (unsigned long long)fnv1a(payload, in.len < MOCK_USER_MAX ?
						 in.len : MOCK_USER_MAX));
		if (!residual || in.fd != w->fd) {
			ret = sn_sendmsg(in.fd, &w->um, mock_user_buf(), in.len,
					 in.flags);
		} else {
			struct sn_inst inst = {
				.um = &w->um,
				.sock = shim_sockfd_lookup(w->fd),
				.rt = &w->rt,
				.neigh = &w->neigh,
				/* What the core's LOAD passes: the flow
				 * the route lookup wrote back. */
				.ipid = shim_ip_ident_lookup(&w->net,
							     w->rt.fl4_daddr,
							     w->rt.fl4_saddr,
							     w->sk.sk_protocol),
			};

			ret = specnet_residual_entry(&inst, (u8 *)mock_user_buf(),
						     in.len, in.flags);
			if (ret == SN_SPEC_FALLBACK) {
				if (mock_effects())
					printf("BAD fallback after %lu effects\n",
					       mock_effects());
				printf("F\n");
				ret = sn_sendmsg(in.fd, &w->um, mock_user_buf(),
						 in.len, in.flags);
			}
		}
		printf("R %d\n", ret);
		mock_end_input();
	}
	return 0;
}
