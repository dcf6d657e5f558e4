/* SPDX-License-Identifier: GPL-2.0 */
/*
 * specbed guest agent: declarations shared by its files.
 *
 * The agent is /init of every guest. It is built against the kernel's
 * nolibc (no C library), so it calls system calls itself and formats its
 * own output. PROTOCOL.md in this folder is the one description of what it
 * reads and prints.
 *
 * System call wrappers here return the kernel's raw result: a negative
 * errno on failure. The agent never uses nolibc's errno variable, which is
 * a separate static copy in every file.
 */
#ifndef SPECBED_AGENT_H
#define SPECBED_AGENT_H

#include "nolibc.h"

#ifndef AGENT_VERSION
#error "AGENT_VERSION must be defined by the build (a hash of the agent sources)"
#endif

#if defined(__i386__)
#define AGENT_ARCH "i386"
#elif defined(__arm__)
#define AGENT_ARCH "arm"
#else
#error "unsupported architecture"
#endif

/* Limits of the plan language (bytes unless said otherwise). */
#define PLAN_MAX	4096	/* a whole plan or one control line */
#define STEP_FIELDS	12	/* key=value fields in one step */
#define UDP_MAX_SIZE	65507	/* largest UDP payload over IPv4 */

/* One key=value field of a step. Both strings point into the plan text. */
struct field {
	const char *key;
	const char *val;
};

/* One parsed step: its kind and fields, and its number for output lines. */
struct step {
	long index;
	const char *kind;
	int nfields;
	struct field fields[STEP_FIELDS];
};

/* out.c: building and writing the console lines, one write() each. */
void out_begin(const char *what);
void out_result(long step, const char *kind);
void out_str(const char *key, const char *val);
void out_u64(const char *key, unsigned long long val);
void out_end(void);
void out_error_begin(long step);
void out_msg(const char *s);
void out_msg_errno(long err);
void out_error(long step, const char *msg, const char *detail, long err);
void out_drain(void);
char *u64_to_dec(char *buf, unsigned long long val);

/* plan.c: the plan language. */
int plan_run(char *text, long *next_step, int in_ctl);
char *plan_trim(char *s);
const char *step_get(struct step *s, const char *key);
int step_str(struct step *s, const char *key, const char **val, int required);
int step_u64(struct step *s, const char *key, unsigned long long *val,
	     unsigned long long def, unsigned long long max, int required);
int step_ipv4(struct step *s, const char *key, unsigned char addr[4]);
int step_mac(struct step *s, const char *key, unsigned char mac[6], int *present);

/* Steps. Each returns 0, or -1 after printing an error line. */
int step_udp(struct step *s);
int step_insmod(struct step *s);
int step_sleep(struct step *s);
int step_hang(struct step *s);
int step_selftest(struct step *s);
int step_ctl(struct step *s, long *next_step);
int ctl_stopped(void);
int step_net(struct step *s);
int step_fetch(struct step *s);
int step_customize(struct step *s);
int step_load(struct step *s);
int step_send(struct step *s);
int step_counters(struct step *s);
int step_release(struct step *s);
int step_rmmod(struct step *s);
int step_setsockopt(struct step *s);
int step_getsockopt(struct step *s);
int step_dup(struct step *s);
int step_close(struct step *s);
int step_route(struct step *s);
int step_mtu(struct step *s);
int step_ifstat(struct step *s);
int step_closerace(struct step *s);
int step_tcpclose(struct step *s);
int step_fork(struct step *s);
int step_tcpsink(struct step *s);
int step_tcpsinkwait(struct step *s);
int step_tcpdrain(struct step *s);
int step_httpd(struct step *s);
int step_proc(struct step *s);
/* proc.c: the longest /proc line proc_line returns, with its NUL. */
#define PROC_LINE_MAX	1024
long proc_line(const char *path, const char *prefix, char *line, unsigned long cap);
int step_sections(struct step *s);

/* sys.c: system calls nolibc 6.1 does not wrap. */
long sb_socket(int domain, int type, int protocol);
long sb_connect(int fd, const void *addr, int addrlen);
long sb_bind4(int fd, const void *addr, int addrlen);
long sb_listen(int fd, int backlog);
long sb_accept(int fd);
long sb_setsockopt(int fd, int level, int name, const void *val, int len);
long sb_getsockopt(int fd, int level, int name, void *val, int *len);
long sb_sendto(int fd, const void *buf, unsigned long len, int flags,
	       const void *addr, int addrlen);
long sb_clock_gettime_ns(int clock, unsigned long long *ns);
long sb_sleep_ms(unsigned int ms);
long sb_finit_module(int fd, const char *params, int flags);

/* fetch.c: write n bytes, retrying short writes; 0 or a negative errno. */
long write_full(int fd, const void *buf, unsigned long n);

/* specnet.c: the flow socket's descriptor, -1 while there is none. */
long specnet_flow_sock(void);

/* thread.c: one second task sharing memory and the descriptor table. */
long thread_start(int (*fn)(void *), void *arg);
long thread_join(long pid);

/* main.c: the environment the kernel gave /init. */
const char *agent_getenv(const char *name);

/* exit.c: end the virtual machine; never returns. */
void vm_exit(int status) __attribute__((noreturn));

#endif /* SPECBED_AGENT_H */
