// SPDX-License-Identifier: GPL-2.0
/*
 * Console output: every "@@specbed ..." line is assembled in a buffer and
 * written with a single write(), so that the agent itself never splits a
 * line (the kernel's console messages still can, see PROTOCOL.md).
 */
#include "agent.h"

#define LINE_MAX 1024

static char line[LINE_MAX];
static unsigned int len;

static void put_char(char c)
{
	/* Keep the last byte for the newline; an overlong line is cut. */
	if (len < LINE_MAX - 1)
		line[len++] = c;
}

static void put_raw(const char *s)
{
	while (*s)
		put_char(*s++);
}

static void put_hex_escape(unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	put_char('%');
	put_char(hex[c >> 4]);
	put_char(hex[c & 15]);
}

/*
 * u64_to_dec writes val in decimal into buf (at least 21 bytes) and
 * returns buf. It subtracts powers of ten instead of dividing: 64-bit
 * division needs libgcc, which the SA-1110 build does not link.
 */
char *u64_to_dec(char *buf, unsigned long long val)
{
	static const unsigned long long pow10[] = {
		10000000000000000000ULL, 1000000000000000000ULL,
		100000000000000000ULL, 10000000000000000ULL,
		1000000000000000ULL, 100000000000000ULL, 10000000000000ULL,
		1000000000000ULL, 100000000000ULL, 10000000000ULL,
		1000000000ULL, 100000000ULL, 10000000ULL, 1000000ULL,
		100000ULL, 10000ULL, 1000ULL, 100ULL, 10ULL, 1ULL,
	};
	unsigned int i;
	char *p = buf;

	for (i = 0; i < sizeof(pow10) / sizeof(pow10[0]); i++) {
		char digit = '0';

		while (val >= pow10[i]) {
			val -= pow10[i];
			digit++;
		}
		/* Skip leading zeros but always print the units digit. */
		if (digit != '0' || p != buf || pow10[i] == 1)
			*p++ = digit;
	}
	*p = 0;
	return buf;
}

/* out_begin starts the line "@@specbed <what>"; fields follow. */
void out_begin(const char *what)
{
	len = 0;
	put_raw("@@specbed ");
	put_raw(what);
}

/* out_result starts "@@specbed result step=<step> kind=<kind>". */
void out_result(long step, const char *kind)
{
	out_begin("result");
	out_u64("step", step);
	out_str("kind", kind);
}

/* out_str appends " key=val", escaping bytes the host splits fields on. */
void out_str(const char *key, const char *val)
{
	put_char(' ');
	put_raw(key);
	put_char('=');
	for (; *val; val++) {
		unsigned char c = *val;

		if (c <= ' ' || c >= 0x7f || c == '%')
			put_hex_escape(c);
		else
			put_char(c);
	}
}

void out_u64(const char *key, unsigned long long val)
{
	char buf[24];

	put_char(' ');
	put_raw(key);
	put_char('=');
	put_raw(u64_to_dec(buf, val));
}

void out_end(void)
{
	unsigned int off = 0;

	line[len++] = '\n';
	while (off < len) {
		long n = sys_write(1, line + off, len - off);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;	/* no console left to complain to */
		off += n;
	}
	len = 0;
}

/* out_error_begin starts an error line; out_msg appends to its message. */
void out_error_begin(long step)
{
	out_begin("error");
	if (step >= 0) {
		out_u64("step", step);
	} else {
		/* Before or after the plan: no step number applies. */
		put_raw(" step=-1");
	}
	put_raw(" msg=");
}

/* The message runs to the end of the line; only control bytes are replaced. */
void out_msg(const char *s)
{
	for (; *s; s++)
		put_char((unsigned char)*s < ' ' || *s == 0x7f ? '?' : *s);
}

/* out_msg_errno appends ": errno E" for a negative errno err. */
void out_msg_errno(long err)
{
	char buf[24];

	out_msg(": errno ");
	out_msg(u64_to_dec(buf, err < 0 ? -err : err));
}

/*
 * out_error prints "@@specbed error step=N msg=<msg><detail>[: errno E]".
 * err is a negative errno from a system call, or 0 when none applies.
 */
void out_error(long step, const char *msg, const char *detail, long err)
{
	out_error_begin(step);
	out_msg(msg);
	if (detail)
		out_msg(detail);
	if (err)
		out_msg_errno(err);
	out_end();
}

/*
 * out_drain waits until the console UART has sent everything: the VM ends
 * right after the last line, and bytes still in the tty buffer would be
 * lost. TCSBRK with a non-zero argument is tcdrain().
 */
void out_drain(void)
{
	sys_ioctl(1, TCSBRK, (void *)1);
}
