// SPDX-License-Identifier: GPL-2.0
/*
 * The ctl step: the host sends steps over a serial line, one per line,
 * and ends with "end". This lets one boot run steps the host decides on
 * after seeing earlier results.
 */
#include "agent.h"
#include <asm/ioctls.h>
#include <asm/termbits.h>

/* The open control channel during a session, -1 otherwise. */
static long channel = -1;

/*
 * ctl_stopped reports whether the host wrote a line on the control
 * channel while a step ran, and consumes it: the "stop" that ends a send
 * bounded by host time (send,stop=1). 0 outside a session.
 */
int ctl_stopped(void)
{
	int pending = 0;
	char c;

	if (channel < 0 || sys_ioctl(channel, FIONREAD, &pending) < 0 || !pending)
		return 0;
	while (sys_read(channel, &c, 1) == 1 && c != '\n')
		;
	return 1;
}

/*
 * Raw input: no echo (on sa1100 the control channel is the console, and
 * echoed plans would mix with result lines), no line editing or signal
 * characters, no software flow control. Output flags stay as they are:
 * the console may share this tty.
 */
static long set_raw_input(int fd)
{
	struct termios t;
	long ret = sys_ioctl(fd, TCGETS, &t);

	if (ret < 0)
		return ret;
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
		       ICRNL | IXON | IXOFF);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	return sys_ioctl(fd, TCSETS, &t);
}

static long open_channel(struct step *s)
{
	static char path[32] = "/dev/";
	const char *tty = agent_getenv("sbctl");
	long fd, ret;

	if (!tty || !*tty || strlen(tty) > sizeof(path) - 6 || strchr(tty, '/')) {
		out_error(s->index, "no usable control tty in sbctl", NULL, 0);
		return -1;
	}
	strcpy(path + 5, tty);
	fd = sys_open(path, O_RDWR | O_NOCTTY, 0);
	if (fd < 0) {
		out_error(s->index, "cannot open ", path, fd);
		return -1;
	}
	ret = set_raw_input(fd);
	if (ret < 0) {
		out_error(s->index, "cannot set raw mode on ", path, ret);
		sys_close(fd);
		return -1;
	}
	out_begin("listen");
	out_u64("step", s->index);
	out_str("tty", tty);
	out_end();
	return fd;
}

/* Session state: the line being assembled and what has been run. */
struct session {
	char line[PLAN_MAX];
	unsigned int len;
	int overflow;		/* the current line is too long: drop it */
	unsigned long long steps, errors;
	unsigned long long bytes, lines;	/* read from the channel, ended by \n */
	int ended;
};

/* A complete line arrived: run it, or end the session on "end". */
static void take_line(struct session *c, long *next_step)
{
	char *text;

	c->line[c->len] = 0;
	c->len = 0;
	c->lines++;
	if (c->overflow) {
		c->overflow = 0;
		c->errors++;
		out_error((*next_step)++, "control line longer than the limit", NULL, 0);
		return;
	}
	/* The host may send \r\n; a line of only blanks is ignored. */
	text = plan_trim(c->line);
	if (!*text)
		return;
	if (!strcmp(text, "end")) {
		c->ended = 1;
		return;
	}
	/* A stop that came after its send step ended by count: nothing to stop. */
	if (!strcmp(text, "stop"))
		return;
	c->steps++;
	if (plan_run(text, next_step, 1) < 0)
		c->errors++;
}

static void take_bytes(struct session *c, const char *buf, long n, long *next_step)
{
	long i;

	for (i = 0; i < n && !c->ended; i++) {
		if (buf[i] == '\n') {
			take_line(c, next_step);
		} else if (c->len < PLAN_MAX - 1) {
			c->line[c->len++] = buf[i];
		} else {
			c->overflow = 1;
		}
	}
}

/*
 * The agent reports a control channel that stayed quiet this long (ms of
 * the guest's clock, which follows the host's while the guest waits)
 * once per quiet stretch: the console then tells a line that never
 * reached the guest from one that reached its tty but not this loop.
 */
#define QUIET_REPORT_MS	30000

static void plain(const char *text)
{
	write_full(1, text, strlen(text));
}

/*
 * report_quiet prints, as a plain console line (not a protocol message:
 * the host's parsers ignore it), what the agent holds of the next line,
 * the bytes waiting in the tty, and the UART's own counters.
 */
static void report_quiet(const struct session *c, long fd, const char *tty)
{
	static const char *const drivers[] = {
		"/proc/tty/driver/serial", "/proc/tty/driver/ttySA", NULL
	};
	static char text[PROC_LINE_MAX];
	char num[24], prefix[8];
	const char *digits = tty + strlen(tty);
	const char *uart = "(no line for the tty)";
	const char *const *d;
	int pending = -1;
	size_t n;

	while (digits > tty && digits[-1] >= '0' && digits[-1] <= '9')
		digits--;
	n = strlen(digits) < sizeof(prefix) - 1 ? strlen(digits) : 0;
	memcpy(prefix, digits, n);
	prefix[n] = ':';
	prefix[n + 1] = 0;
	for (d = drivers; *d; d++) {
		if (proc_line(*d, prefix, text, sizeof(text)) >= 0) {
			uart = text;
			break;
		}
	}
	sys_ioctl(fd, FIONREAD, &pending);
	plain("specbed-agent: ctl: no complete line for 30 s; read ");
	plain(u64_to_dec(num, c->bytes));
	plain(" bytes, ");
	plain(u64_to_dec(num, c->lines));
	plain(" lines; partial line ");
	plain(u64_to_dec(num, c->len));
	plain(" bytes; tty FIONREAD ");
	plain(pending < 0 ? "?" : u64_to_dec(num, pending));
	plain("; uart ");
	plain(uart);
	plain("\n");
}

/* wait_input waits up to ms for the channel to be readable: 1, 0 or -errno. */
static long wait_input(long fd, unsigned int ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000L,
	};
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return my_syscall5(__NR_ppoll_time64, &p, 1, &ts, NULL, 0);
}

int step_ctl(struct step *s, long *next_step)
{
	static struct session c;
	char buf[256];
	long fd, n = 0;
	int reported = 0;

	memset(&c, 0, sizeof(c));
	fd = open_channel(s);
	if (fd < 0)
		return -1;
	channel = fd;
	while (!c.ended) {
		n = wait_input(fd, QUIET_REPORT_MS);
		if (n == 0 && !reported) {
			report_quiet(&c, fd, agent_getenv("sbctl"));
			reported = 1;
		}
		if (n == 0 || n == -EINTR)
			continue;
		reported = 0;
		n = sys_read(fd, buf, sizeof(buf));
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n <= 0)
			break;
		/* Bytes after "end" in the same read are dropped. */
		c.bytes += n;
		take_bytes(&c, buf, n, next_step);
	}
	channel = -1;
	sys_close(fd);
	if (!c.ended) {
		out_error(s->index, "control channel closed before end", NULL, n);
		return -1;
	}
	out_result(s->index, "ctl");
	out_u64("steps", c.steps);
	out_u64("errors", c.errors);
	out_end();
	return c.errors ? -1 : 0;
}
