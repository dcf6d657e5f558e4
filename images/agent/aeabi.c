// SPDX-License-Identifier: GPL-2.0
/*
 * Integer division for ARMv4 without libgcc. The CPU has no divide
 * instruction, so GCC calls the ARM EABI run-time helpers; Debian's armel
 * libgcc implements them with ARMv5 instructions (clz, bx) that the
 * SA-1110 lacks. These are plain shift-and-subtract loops: the agent
 * divides rarely and never in a measured loop.
 *
 * Division by zero returns a zero quotient and the dividend as the
 * remainder; the EABI's __aeabi_idiv0 hook is not provided.
 */
#include "agent.h"

#if defined(AGENT_NO_LIBGCC)

#if !defined(__ARM_EABI__) || defined(__ARMEB__) || defined(__thumb__)
#error "the libgcc replacement covers little-endian ARM-state EABI only"
#endif

static unsigned int udivmod32(unsigned int n, unsigned int d, unsigned int *rem)
{
	unsigned int q = 0, r = 0;
	int i;

	if (!d) {
		*rem = n;
		return 0;
	}
	for (i = 31; i >= 0; i--) {
		r = r << 1 | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= 1U << i;
		}
	}
	*rem = r;
	return q;
}

/* Called from the assembly stubs below, hence not static. */
unsigned long long agent_udivmod64(unsigned long long n, unsigned long long d,
			     unsigned long long *rem)
{
	unsigned long long q = 0, r = 0;
	int i;

	if (!d) {
		*rem = n;
		return 0;
	}
	for (i = 63; i >= 0; i--) {
		/* r < d before the shift, so r < 2^64 after it unless d >= 2^63. */
		int carry = r >> 63;

		r = r << 1 | ((n >> i) & 1);
		if (carry || r >= d) {
			r -= d;
			q |= 1ULL << i;
		}
	}
	*rem = r;
	return q;
}

/* Signed division truncates: the remainder takes the dividend's sign. */
long long agent_sdivmod64(long long n, long long d, long long *rem)
{
	unsigned long long un = n < 0 ? -(unsigned long long)n : (unsigned long long)n;
	unsigned long long ud = d < 0 ? -(unsigned long long)d : (unsigned long long)d;
	unsigned long long ur, uq = agent_udivmod64(un, ud, &ur);

	/* Negate unsigned: -(2^63) must not overflow a signed negation. */
	*rem = (long long)(n < 0 ? -ur : ur);
	return (long long)((n < 0) != (d < 0) ? -uq : uq);
}

unsigned int __aeabi_uidiv(unsigned int n, unsigned int d)
{
	unsigned int r;

	return udivmod32(n, d, &r);
}

/*
 * The *divmod helpers return the quotient in r0 and the remainder in r1:
 * on little-endian EABI that is a 64-bit return value with the quotient
 * in its low half.
 */
unsigned long long __aeabi_uidivmod(unsigned int n, unsigned int d)
{
	unsigned int r, q = udivmod32(n, d, &r);

	return (unsigned long long)r << 32 | q;
}

static int sdivmod32(int n, int d, int *rem)
{
	unsigned int un = n < 0 ? -(unsigned int)n : (unsigned int)n;
	unsigned int ud = d < 0 ? -(unsigned int)d : (unsigned int)d;
	unsigned int ur, uq = udivmod32(un, ud, &ur);

	*rem = (int)(n < 0 ? -ur : ur);
	return (int)((n < 0) != (d < 0) ? -uq : uq);
}

int __aeabi_idiv(int n, int d)
{
	int r;

	return sdivmod32(n, d, &r);
}

unsigned long long __aeabi_idivmod(int n, int d)
{
	int r, q = sdivmod32(n, d, &r);

	return (unsigned long long)(unsigned int)r << 32 | (unsigned int)q;
}

/*
 * The 64-bit helpers return the quotient in r0:r1 and the remainder in
 * r2:r3, which C cannot express: these stubs pass a stack slot for the
 * remainder and load it into r2:r3. Two ldr, not ldrd (ARMv5TE), and
 * return by popping pc, not bx lr (ARMv4T). Eight bytes pushed plus a
 * 16-byte frame keep sp 8-byte aligned for the call.
 */
#define DIVMOD64_STUB(name, helper)					\
	__asm__ (".text\n"						\
		 ".global " #name "\n"					\
		 ".type " #name ", %function\n"				\
		 ".align 2\n"						\
		 #name ":\n"						\
		 "	stmfd	sp!, {r4, lr}\n"			\
		 "	sub	sp, sp, #16\n"				\
		 "	add	r4, sp, #8\n"				\
		 "	str	r4, [sp]\n"				\
		 "	bl	" #helper "\n"				\
		 "	ldr	r2, [sp, #8]\n"				\
		 "	ldr	r3, [sp, #12]\n"			\
		 "	add	sp, sp, #16\n"				\
		 "	ldmfd	sp!, {r4, pc}\n"			\
		 ".size " #name ", . - " #name "\n")

DIVMOD64_STUB(__aeabi_uldivmod, agent_udivmod64);
DIVMOD64_STUB(__aeabi_ldivmod, agent_sdivmod64);

#endif /* AGENT_NO_LIBGCC */
