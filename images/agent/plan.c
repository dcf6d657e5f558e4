// SPDX-License-Identifier: GPL-2.0
/*
 * The plan language: "kind,key=value,...;kind,...". plan_run splits a plan
 * into steps, checks every field name against the step's kind before it
 * runs anything (a typo must not start a long measurement with defaults),
 * and runs the steps in order. Parsing never trusts the text: every bad
 * input ends in an error line, never in a crash.
 */
#include "agent.h"

struct kind {
	const char *name;
	int (*run)(struct step *s);
	const char *const *keys;	/* NULL-terminated allowed field names */
};

static const char *const udp_keys[] = {
	"dev", "src", "dst", "prefix", "port", "size", "count", "warmup", "arp",
	NULL
};
static const char *const insmod_keys[] = { "path", "params", NULL };
static const char *const sleep_keys[] = { "ms", NULL };
static const char *const net_keys[] = {
	"dev", "addr", "prefix", "peer", "gw", "neigh", "lladdr", "tty", "baud",
	"carrier_ms", "hwaddr", NULL
};
static const char *const fetch_keys[] = {
	"server", "port", "build", "decl", "ctx", "out", "timeout_ms", NULL
};
static const char *const customize_keys[] = {
	"dst", "port", "sport", "adu", "so_adu", "out", "proto", "flags",
	"warmup", "sndbuf", "reuse", NULL
};
static const char *const setsockopt_keys[] = { "level", "name", "value", NULL };
static const char *const getsockopt_keys[] = { "level", "name", NULL };
static const char *const close_keys[] = { "which", NULL };
static const char *const load_keys[] = {
	"slot", "name", "ko", "policy", "guard", "replace", NULL
};
static const char *const route_keys[] = {
	"op", "dst", "prefix", "gw", "dev", "mtu", NULL
};
static const char *const mtu_keys[] = { "dev", "mtu", NULL };
static const char *const ifstat_keys[] = { "dev", NULL };
static const char *const send_keys[] = {
	"path", "slot", "size", "count", "warmup", "seed", "flags", "ms", "stop", NULL
};
static const char *const slot_keys[] = { "slot", NULL };
static const char *const rmmod_keys[] = { "name", NULL };
static const char *const sections_keys[] = { "name", NULL };
static const char *const closerace_keys[] = {
	"dst", "port", "sport", "name", "rounds", "size", "spread", "after",
	"gap_ms", "in_send", NULL
};
static const char *const tcpclose_keys[] = {
	"dst", "port", "name", "rounds", "size", "flags", "sndbuf", "spread",
	"after", "gap_ms", "in_send", "memwait", "go_port", NULL
};
static const char *const fork_keys[] = { "close", NULL };
static const char *const tcpsink_keys[] = { "port", "rcvbuf", NULL };
static const char *const tcpdrain_keys[] = { "timeout_ms", NULL };
static const char *const httpd_keys[] = { "port", "conns", "size", "backlog", NULL };
static const char *const proc_keys[] = { "path", "prefix", NULL };
static const char *const no_keys[] = { NULL };

/* ctl is dispatched by plan_run itself: it needs the step counter. */
static const struct kind kinds[] = {
	{ "udp", step_udp, udp_keys },
	{ "insmod", step_insmod, insmod_keys },
	{ "sleep", step_sleep, sleep_keys },
	{ "hang", step_hang, no_keys },
	{ "selftest", step_selftest, no_keys },
	{ "net", step_net, net_keys },
	{ "fetch", step_fetch, fetch_keys },
	{ "customize", step_customize, customize_keys },
	{ "load", step_load, load_keys },
	{ "send", step_send, send_keys },
	{ "counters", step_counters, no_keys },
	{ "release", step_release, slot_keys },
	{ "rmmod", step_rmmod, rmmod_keys },
	{ "setsockopt", step_setsockopt, setsockopt_keys },
	{ "getsockopt", step_getsockopt, getsockopt_keys },
	{ "dup", step_dup, no_keys },
	{ "close", step_close, close_keys },
	{ "sections", step_sections, sections_keys },
	{ "closerace", step_closerace, closerace_keys },
	{ "tcpclose", step_tcpclose, tcpclose_keys },
	{ "fork", step_fork, fork_keys },
	{ "tcpsink", step_tcpsink, tcpsink_keys },
	{ "tcpsinkwait", step_tcpsinkwait, no_keys },
	{ "tcpdrain", step_tcpdrain, tcpdrain_keys },
	{ "httpd", step_httpd, httpd_keys },
	{ "proc", step_proc, proc_keys },
	{ "route", step_route, route_keys },
	{ "mtu", step_mtu, mtu_keys },
	{ "ifstat", step_ifstat, ifstat_keys },
	{ "ctl", NULL, no_keys },
};

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static int is_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!is_name_char(*s))
			return 0;
	return 1;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode %XX escapes in place; values cannot otherwise hold , ; or space. */
static int percent_decode(char *s)
{
	char *w = s;

	for (; *s; s++) {
		int hi, lo;

		if (*s != '%') {
			*w++ = *s;
			continue;
		}
		hi = hex_value(s[1]);
		lo = hi < 0 ? -1 : hex_value(s[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return -1;
		*w++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*w = 0;
	return 0;
}

/* plan_trim cuts blanks and line ends from both ends of s, in place. */
char *plan_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r' || end[-1] == '\n'))
		*--end = 0;
	return s;
}

/* Cut s at the first sep, returning the rest (NULL if there was none). */
static char *cut(char *s, char sep)
{
	for (; *s; s++) {
		if (*s == sep) {
			*s = 0;
			return s + 1;
		}
	}
	return NULL;
}

static int add_field(struct step *s, char *tok)
{
	char *val = cut(tok, '=');
	int i;

	if (!val || !is_name(tok)) {
		out_error(s->index, "bad field (want key=value): ", tok, 0);
		return -1;
	}
	for (i = 0; i < s->nfields; i++) {
		if (!strcmp(s->fields[i].key, tok)) {
			out_error(s->index, "duplicate field ", tok, 0);
			return -1;
		}
	}
	if (s->nfields == STEP_FIELDS) {
		out_error(s->index, "too many fields", NULL, 0);
		return -1;
	}
	if (percent_decode(val) < 0) {
		out_error(s->index, "bad %XX escape in field ", tok, 0);
		return -1;
	}
	s->fields[s->nfields].key = tok;
	s->fields[s->nfields].val = val;
	s->nfields++;
	return 0;
}

static int parse_step(struct step *s, char *text)
{
	char *rest = cut(text, ',');

	s->kind = text;
	s->nfields = 0;
	if (!is_name(text)) {
		out_error(s->index, "bad step kind: ", text, 0);
		return -1;
	}
	while (rest) {
		char *tok = rest;

		rest = cut(rest, ',');
		if (add_field(s, tok) < 0)
			return -1;
	}
	return 0;
}

static const struct kind *find_kind(const char *name)
{
	unsigned int i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	return NULL;
}

static int check_keys(struct step *s, const struct kind *k)
{
	int i;

	for (i = 0; i < s->nfields; i++) {
		const char *const *key;

		for (key = k->keys; *key; key++)
			if (!strcmp(*key, s->fields[i].key))
				break;
		if (!*key) {
			out_error(s->index, "unknown field for this step: ",
				  s->fields[i].key, 0);
			return -1;
		}
	}
	return 0;
}

static int run_one(char *text, long *next_step, int in_ctl)
{
	const struct kind *k;
	struct step s;

	s.index = (*next_step)++;
	if (parse_step(&s, text) < 0)
		return -1;
	k = find_kind(s.kind);
	if (!k) {
		out_error(s.index, "unknown step kind: ", s.kind, 0);
		return -1;
	}
	if (check_keys(&s, k) < 0)
		return -1;
	if (k->run)
		return k->run(&s);
	if (in_ctl) {
		out_error(s.index, "ctl cannot be nested", NULL, 0);
		return -1;
	}
	return step_ctl(&s, next_step);
}

/*
 * plan_run runs the steps of text (modified in place) and numbers them
 * from *next_step on. It stops at the first failing step: later steps
 * usually depend on earlier ones. Returns 0 or -1.
 */
int plan_run(char *text, long *next_step, int in_ctl)
{
	char *rest = text;

	while (rest) {
		char *one = rest;

		rest = cut(rest, ';');
		one = plan_trim(one);
		if (!*one)
			continue;
		if (run_one(one, next_step, in_ctl) < 0)
			return -1;
	}
	return 0;
}

const char *step_get(struct step *s, const char *key)
{
	int i;

	for (i = 0; i < s->nfields; i++)
		if (!strcmp(s->fields[i].key, key))
			return s->fields[i].val;
	return NULL;
}

/* step_str sets *val to the field's text; a required field must exist. */
int step_str(struct step *s, const char *key, const char **val, int required)
{
	*val = step_get(s, key);
	if (!*val && required) {
		out_error(s->index, "missing field ", key, 0);
		return -1;
	}
	return 0;
}

/* Parse decimal digits only: no sign, no spaces, no overflow. */
static int parse_dec(const char *p, unsigned long long *val)
{
	/* 2^64 - 1 = 18446744073709551615: the largest v that may gain a digit. */
	const unsigned long long limit = 1844674407370955161ULL;
	unsigned long long v = 0;

	if (!*p)
		return -1;
	for (; *p; p++) {
		unsigned int d = *p - '0';

		if (*p < '0' || *p > '9')
			return -1;
		if (v > limit || (v == limit && d > 5))
			return -1;
		v = v * 10 + d;
	}
	*val = v;
	return 0;
}

static void bad_value(struct step *s, const char *key, const char *text,
		      const char *want)
{
	out_error_begin(s->index);
	out_msg("bad value for ");
	out_msg(key);
	out_msg(": ");
	out_msg(text);
	out_msg(" (want ");
	out_msg(want);
	out_msg(")");
	out_end();
}

/*
 * step_u64 reads a decimal field into *val, which must not exceed max.
 * An absent optional field gives def.
 */
int step_u64(struct step *s, const char *key, unsigned long long *val,
	     unsigned long long def, unsigned long long max, int required)
{
	const char *text;
	char want[48] = "decimal number <= ";

	if (step_str(s, key, &text, required) < 0)
		return -1;
	if (!text) {
		*val = def;
		return 0;
	}
	if (parse_dec(text, val) < 0 || *val > max) {
		u64_to_dec(want + strlen(want), max);
		bad_value(s, key, text, want);
		return -1;
	}
	return 0;
}

/* step_ipv4 reads a dotted quad into addr[4], in network byte order. */
int step_ipv4(struct step *s, const char *key, unsigned char addr[4])
{
	const char *text, *p;
	int i;

	if (step_str(s, key, &text, 1) < 0)
		return -1;
	p = text;
	for (i = 0; i < 4; i++) {
		unsigned int v = 0, digits = 0;

		for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
			v = v * 10 + (*p - '0');
		if (!digits || digits > 3 || v > 255 || *p != (i < 3 ? '.' : 0))
			goto bad;
		addr[i] = v;
		if (i < 3)
			p++;
	}
	return 0;
bad:
	bad_value(s, key, text, "IPv4 address a.b.c.d");
	return -1;
}

/* step_mac reads an optional "aa:bb:cc:dd:ee:ff"; *present says if given. */
int step_mac(struct step *s, const char *key, unsigned char mac[6], int *present)
{
	const char *text, *p;
	int i;

	*present = 0;
	if (step_str(s, key, &text, 0) < 0)
		return -1;
	if (!text)
		return 0;
	p = text;
	for (i = 0; i < 6; i++) {
		int hi = hex_value(p[0]);
		int lo = hi < 0 ? -1 : hex_value(p[1]);

		if (lo < 0 || p[2] != (i < 5 ? ':' : 0))
			goto bad;
		mac[i] = hi << 4 | lo;
		p += 3;
	}
	*present = 1;
	return 0;
bad:
	bad_value(s, key, text, "MAC address aa:bb:cc:dd:ee:ff");
	return -1;
}
