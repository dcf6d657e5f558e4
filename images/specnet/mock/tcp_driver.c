// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_driver.c - runs the TCP send path over a seeded sequence of inputs
 * against the mock and prints the effect log.
 *
 *   tcp_driver generic  SEED N ADU FLAGS GSO_SEGS MAX_WINDOW
 *   tcp_driver residual SEED N ADU FLAGS GSO_SEGS MAX_WINDOW
 *
 * residual runs the residual (specnet_tcp_residual_entry, linked in by
 * the harness) and the generic path when it falls back. Every input is one
 * send on the same connection (the queues and sequence numbers carry
 * over). "I" line: the input and the state the guards read; then the
 * effect lines, "F" when the residual fell back, "R" with the return
 * value and the mock's "S" summary and "BAD" findings. Inputs are drawn
 * from SEED and their number only: mostly len == ADU and flags == FLAGS,
 * sometimes another length, other flags or a user buffer shorter than
 * len.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tcp_mock.h"

int specnet_tcp_residual_entry(struct sn_tcp_inst *inst, u8 __user *buf,
			       u32 len, u32 flags) __attribute__((weak));

struct input {
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
	SN_MSG_MORE, SN_MSG_DONTWAIT, SN_MSG_OOB, SN_MSG_EOR, SN_MSG_NOSIGNAL,
	SN_MSG_FASTOPEN, SN_MSG_ZEROCOPY,
};

static struct input make_input(unsigned long long seed, unsigned int index,
			       u32 adu, u32 flags, u8 *payload)
{
	struct input in = { adu, flags, adu };
	u32 i, n;

	if (draw(seed, index, 1) % 100 >= 85) {
		u32 lens[] = { 0, 1, adu - 1, adu + 1,
			       (u32)(draw(seed, index, 2) % 3000),
			       (u32)(draw(seed, index, 2) % TCP_MOCK_USER_MAX) };

		in.len = lens[draw(seed, index, 3) % (sizeof(lens) / sizeof(lens[0]))];
		if (in.len > TCP_MOCK_USER_MAX)
			in.len = TCP_MOCK_USER_MAX;
		in.avail = in.len;
	}
	if (draw(seed, index, 4) % 100 >= 90)
		in.flags ^= flag_flips[draw(seed, index, 5) %
				       (sizeof(flag_flips) / sizeof(flag_flips[0]))];
	if (draw(seed, index, 6) % 100 >= 97 && in.len)
		in.avail = draw(seed, index, 7) % in.len;

	n = in.len;
	for (i = 0; i < n; i++)
		payload[i] = (u8)(draw(seed, index, 100 + i / 8) >> (8 * (i % 8)));
	return in;
}

int main(int argc, char **argv)
{
	static u8 payload[TCP_MOCK_USER_MAX];
	static char out[1 << 20];
	struct tcp_mock_world *w = &tcp_mock_world;
	struct sn_tcp_sock *sk = &w->sk;
	unsigned long long seed;
	unsigned int i, n;
	u32 adu, flags, max_window;
	u16 gso_segs;
	int residual;

	if (argc != 8) {
		fprintf(stderr, "usage: tcp_driver generic|residual SEED N ADU FLAGS GSO_SEGS MAX_WINDOW\n");
		return 2;
	}
	residual = !strcmp(argv[1], "residual");
	seed = strtoull(argv[2], NULL, 0);
	n = strtoul(argv[3], NULL, 0);
	adu = strtoul(argv[4], NULL, 0);
	flags = strtoul(argv[5], NULL, 0);
	gso_segs = strtoul(argv[6], NULL, 0);
	max_window = strtoul(argv[7], NULL, 0);
	if (residual && !specnet_tcp_residual_entry) {
		fprintf(stderr, "tcp_driver: built without a residual\n");
		return 2;
	}
	setvbuf(stdout, out, _IOFBF, sizeof(out));

	tcp_mock_world_init(w);
	tcp_mock_apply_context(w);
	tcp_mock_connect((u32)draw(seed, 0xffffffffU, 0), max_window, gso_segs);

	for (i = 0; i < n; i++) {
		struct input in = make_input(seed, i, adu, flags, payload);
		int ret;

		tcp_mock_begin_input(seed, i, payload, in.len, in.avail);
		printf("I %u len=%u flags=%#x avail=%u state=%u sacks=%u dsack=%u eor=%u push=%u gso_segs=%u max_window=%u\n",
		       i, in.len, in.flags, in.avail, sk->sk_state, sk->num_sacks,
		       sk->dsack, sk->wq_tail.eor, sk->nonagle_push, sk->gso_segs,
		       sk->max_window);
		if (!residual) {
			ret = sn_tcp_sendmsg_locked(sk, tcp_mock_user_buf(),
						    in.len, in.flags);
		} else {
			struct sn_tcp_inst inst = { .tp = sk };

			ret = specnet_tcp_residual_entry(&inst, (u8 *)tcp_mock_user_buf(),
							 in.len, in.flags);
			if (ret == SN_SPEC_FALLBACK) {
				if (tcp_mock_effects())
					printf("BAD fallback after %lu effects\n",
					       tcp_mock_effects());
				printf("F\n");
				ret = sn_tcp_sendmsg_locked(sk, tcp_mock_user_buf(),
							    in.len, in.flags);
			}
		}
		printf("R %d\n", ret);
		tcp_mock_end_input(ret);
	}
	return 0;
}
