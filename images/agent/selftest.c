// SPDX-License-Identifier: GPL-2.0
/*
 * The selftest step checks, on the guest CPU, the arithmetic the agent
 * cannot take from a C library: integer division (on SA-1110 the agent's
 * own __aeabi_* helpers, elsewhere libgcc or the CPU) and 64-bit decimal
 * printing. Expected values were computed independently with exact
 * integer arithmetic and C's truncating division.
 */
#include "agent.h"

struct u32_case { unsigned int n, d, q, r; };
struct s32_case { int n, d, q, r; };
struct u64_case { unsigned long long n, d, q, r; };
struct s64_case { long long n, d, q, r; };
struct dec_case { unsigned long long v; const char *text; };

static const struct u32_case u32_cases[] = {
	{ 0x0U, 0x1U, 0x0U, 0x0U },
	{ 0x1U, 0x1U, 0x1U, 0x0U },
	{ 0x7U, 0x2U, 0x3U, 0x1U },
	{ 0x5U, 0x7U, 0x0U, 0x5U },
	{ 0xffffffffU, 0x1U, 0xffffffffU, 0x0U },
	{ 0xffffffffU, 0xffffffffU, 0x1U, 0x0U },
	{ 0xffffffffU, 0x3U, 0x55555555U, 0x0U },
	{ 0xf4240U, 0x3e8U, 0x3e8U, 0x0U },
	{ 0x75bcd15U, 0xaU, 0xbc614eU, 0x9U },
	{ 0x80000000U, 0x7U, 0x12492492U, 0x2U },
	{ 0xfffffffeU, 0x7fffffffU, 0x2U, 0x0U },
};

static const struct s32_case s32_cases[] = {
	{ -7, 2, -3, -1 },
	{ 7, -2, -3, 1 },
	{ -7, -2, 3, -1 },
	{ -1, 3, 0, -1 },
	{ (-2147483647-1), 1, (-2147483647-1), 0 },
	{ (-2147483647-1), 2, -1073741824, 0 },
	{ 2147483647, -1, -2147483647, 0 },
	{ -1000001, 1000, -1000, -1 },
};

static const struct u64_case u64_cases[] = {
	{ 0xffffffffffffffffULL, 0x1ULL, 0xffffffffffffffffULL, 0x0ULL },
	{ 0xffffffffffffffffULL, 0xaULL, 0x1999999999999999ULL, 0x5ULL },
	{ 0xffffffffffffffffULL, 0xffffffffffffffffULL, 0x1ULL, 0x0ULL },
	{ 0x8ac7230489e83039ULL, 0x3b9aca00ULL, 0x2540be400ULL, 0x3039ULL },
	{ 0x8000000000000000ULL, 0x3ULL, 0x2aaaaaaaaaaaaaaaULL, 0x2ULL },
	{ 0xab54a98ceb1f0ad2ULL, 0x3ade68b1ULL, 0x2e90edc8fULL, 0x143c73f3ULL },
	{ 0x1ULL, 0x10000000000ULL, 0x0ULL, 0x1ULL },
	{ 0x10000000000ULL, 0xffffffffffULL, 0x1ULL, 0x1ULL },
	{ 0xdeadbeefcafebabeULL, 0x12345ULL, 0xc3b6fa62cc6bULL, 0xe7ULL },
	{ 0xffffffff00000000ULL, 0xffffffffULL, 0x100000000ULL, 0x0ULL },
	{ 0xde0b6b3a7640000ULL, 0xde0b6b3a7640001ULL, 0x0ULL, 0xde0b6b3a7640000ULL },
};

static const struct s64_case s64_cases[] = {
	{ -1000000000000000007LL, 1000000000LL, -1000000000LL, -7LL },
	{ 1000000000000000000LL, -3LL, -333333333333333333LL, 1LL },
	{ -4611686018427387904LL, -5LL, 922337203685477580LL, -4LL },
	{ (-9223372036854775807LL-1), 7LL, -1317624576693539401LL, -1LL },
	{ (-9223372036854775807LL-1), 1LL, (-9223372036854775807LL-1), 0LL },
	{ 9223372036854775807LL, -2LL, -4611686018427387903LL, 1LL },
	{ -5LL, 1000000000000LL, 0LL, -5LL },
};

static const struct dec_case dec_cases[] = {
	{ 0x0ULL, "0" },
	{ 0x9ULL, "9" },
	{ 0xaULL, "10" },
	{ 0x63ULL, "99" },
	{ 0xffffffffULL, "4294967295" },
	{ 0x100000000ULL, "4294967296" },
	{ 0x8ac7230489e7ffffULL, "9999999999999999999" },
	{ 0x8ac7230489e80000ULL, "10000000000000000000" },
	{ 0xffffffffffffffffULL, "18446744073709551615" },
	{ 0x112210f47de98115ULL, "1234567890123456789" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct tally {
	long step;
	unsigned int checks, failures;
};

static void check(struct tally *t, int ok, const char *what, unsigned int i)
{
	char buf[24];

	t->checks++;
	if (ok)
		return;
	t->failures++;
	out_error_begin(t->step);
	out_msg("selftest: wrong result for ");
	out_msg(what);
	out_msg(" case ");
	out_msg(u64_to_dec(buf, i));
	out_end();
}

/*
 * The operands pass through volatile variables so that the compiler
 * cannot fold the divisions at build time.
 */
static void check_division(struct tally *t)
{
	unsigned int i;

	for (i = 0; i < N(u32_cases); i++) {
		volatile unsigned int n = u32_cases[i].n, d = u32_cases[i].d;

		check(t, n / d == u32_cases[i].q && n % d == u32_cases[i].r,
		      "u32 division", i);
	}
	for (i = 0; i < N(s32_cases); i++) {
		volatile int n = s32_cases[i].n, d = s32_cases[i].d;

		check(t, n / d == s32_cases[i].q && n % d == s32_cases[i].r,
		      "s32 division", i);
	}
	for (i = 0; i < N(u64_cases); i++) {
		volatile unsigned long long n = u64_cases[i].n, d = u64_cases[i].d;

		check(t, n / d == u64_cases[i].q && n % d == u64_cases[i].r,
		      "u64 division", i);
	}
	for (i = 0; i < N(s64_cases); i++) {
		volatile long long n = s64_cases[i].n, d = s64_cases[i].d;

		check(t, n / d == s64_cases[i].q && n % d == s64_cases[i].r,
		      "s64 division", i);
	}
}

static void check_decimal(struct tally *t)
{
	unsigned int i;

	for (i = 0; i < N(dec_cases); i++) {
		volatile unsigned long long v = dec_cases[i].v;
		char buf[24];

		check(t, !strcmp(u64_to_dec(buf, v), dec_cases[i].text),
		      "decimal printing", i);
	}
}

int step_selftest(struct step *s)
{
	struct tally t = { .step = s->index };

	check_division(&t);
	check_decimal(&t);
	out_result(s->index, "selftest");
	out_u64("checks", t.checks);
	out_u64("failures", t.failures);
	out_end();
	return t.failures ? -1 : 0;
}
