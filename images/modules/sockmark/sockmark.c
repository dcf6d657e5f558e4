// SPDX-License-Identifier: GPL-2.0
/*
 * Self-test of the kernel patches for specialized sockets
 * (images/kernel/patches): the mark and its setsockopt guard, SO_ADU,
 * the close notifier, the exported IP ID generator and the owner of
 * customized_send. Its init runs every check on kernel sockets and
 * prints one line, "specbed_sockmark: pass ..." or "specbed_sockmark:
 * FAIL <check>: got <x> want <y>", that the boot test reads; a failure
 * also fails the init (EINVAL), so insmod reports it.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/in.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/notifier.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/socket.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#define SOCKMARK_ADU	1472	/* bytes: a full UDP datagram on Ethernet */

/* What the close notifier saw: calls for the watched file, and the file's
 * reference count at each (the closed descriptor's included). */
struct sockmark_close_log {
	struct file *watched;
	fl_owner_t owner;
	int calls;
	int other_calls;	/* for files or owners not watched */
	long refs[2];
};

static struct sockmark_close_log close_log;

static int sockmark_close(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	struct sock_specialized_close *c = data;

	if (action != SOCK_SPECIALIZED_CLOSE || c->file != close_log.watched ||
	    c->owner != close_log.owner || c->sock != c->file->private_data) {
		close_log.other_calls++;
		return NOTIFY_DONE;
	}
	if (close_log.calls < ARRAY_SIZE(close_log.refs))
		close_log.refs[close_log.calls] = file_count(c->file);
	close_log.calls++;
	return NOTIFY_OK;
}

static struct notifier_block sockmark_close_nb = {
	.notifier_call = sockmark_close,
};

/* One failed check: the first one ends the test. */
struct sockmark_result {
	const char *check;
	long got, want;
};

static bool sockmark_expect(struct sockmark_result *r, const char *check,
			    long got, long want)
{
	if (r->check || got == want)
		return !r->check;
	r->check = check;
	r->got = got;
	r->want = want;
	return false;
}

/* setsockopt() as the syscall dispatches it (__sys_setsockopt). */
static int sockmark_setopt(struct socket *sock, int level, int name, int val)
{
	sockptr_t p = KERNEL_SOCKPTR(&val);

	if (level == SOL_SOCKET)
		return sock_setsockopt(sock, level, name, p, sizeof(val));
	return sock->ops->setsockopt(sock, level, name, p, sizeof(val));
}

struct sockmark_opt {
	const char *name;
	int level, optname, val;
};

/* An option of every level the guard covers, for UDP and TCP sockets. */
static const struct sockmark_opt udp_opts[] = {
	{ "udp SOL_SOCKET SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, 1 },
	{ "udp SOL_IP IP_TTL", SOL_IP, IP_TTL, 32 },
	{ "udp SOL_UDP UDP_CORK", SOL_UDP, UDP_CORK, 0 },
	{ "udp SOL_SOCKET SO_ADU", SOL_SOCKET, SO_ADU, SOCKMARK_ADU },
};

static const struct sockmark_opt tcp_opts[] = {
	{ "tcp SOL_SOCKET SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1 },
	{ "tcp SOL_IP IP_TOS", SOL_IP, IP_TOS, 0x10 },
	{ "tcp SOL_TCP TCP_NODELAY", SOL_TCP, TCP_NODELAY, 1 },
};

/* Sets every option; each must return want. */
static bool sockmark_setopts(struct sockmark_result *r, struct socket *sock,
			     const struct sockmark_opt *opts, int n, int want)
{
	int i;

	for (i = 0; i < n; i++)
		if (!sockmark_expect(r, opts[i].name,
				     sockmark_setopt(sock, opts[i].level,
						     opts[i].optname,
						     opts[i].val), want))
			return false;
	return true;
}

/* Every option: accepted, refused with EBUSY while marked, accepted once
 * the mark is cleared. Returns the number of refusals. */
static int sockmark_guard(struct sockmark_result *r, int type, int proto,
			  const struct sockmark_opt *opts, int n)
{
	struct socket *sock;
	int busy = 0;
	int err;

	err = sock_create_kern(&init_net, PF_INET, type, proto, &sock);
	if (!sockmark_expect(r, "sock_create_kern", err, 0))
		return 0;
	if (!sockmark_setopts(r, sock, opts, n, 0))
		goto out;
	sock_set_specialized(sock->sk);
	if (!sockmark_setopts(r, sock, opts, n, -EBUSY))
		goto out;
	busy = n;
	sock_clear_specialized(sock->sk);
	sockmark_setopts(r, sock, opts, n, 0);
out:
	sock_release(sock);
	return busy;
}

/* SO_ADU stores what the application commits to; out-of-range sizes
 * fail, 0 withdraws. */
static void sockmark_adu(struct sockmark_result *r)
{
	static const struct { int val, err, stored; } cases[] = {
		{ SOCKMARK_ADU, 0, SOCKMARK_ADU },
		{ -1, -EINVAL, SOCKMARK_ADU },
		{ 65536, -EINVAL, SOCKMARK_ADU },
		{ 65535, 0, 65535 },
		{ 0, 0, 0 },
		{ 64, 0, 64 },
	};
	struct socket *sock;
	int err, i;

	err = sock_create_kern(&init_net, PF_INET, SOCK_DGRAM, IPPROTO_UDP,
			       &sock);
	if (!sockmark_expect(r, "sock_create_kern", err, 0))
		return;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		err = sockmark_setopt(sock, SOL_SOCKET, SO_ADU, cases[i].val);
		if (!sockmark_expect(r, "SO_ADU set", err, cases[i].err) ||
		    !sockmark_expect(r, "SO_ADU stored",
				     READ_ONCE(sock->sk->sk_adu),
				     cases[i].stored))
			break;
	}
	sock_release(sock);
}

/* A UDP socket's file, marked or not; NULL after a failed check. */
static struct file *sockmark_file(struct sockmark_result *r, bool marked)
{
	struct socket *sock;
	struct file *file;
	int err;

	err = sock_create_kern(&init_net, PF_INET, SOCK_DGRAM, IPPROTO_UDP,
			       &sock);
	if (!sockmark_expect(r, "sock_create_kern", err, 0))
		return NULL;
	file = sock_alloc_file(sock, 0, NULL);	/* releases sock on error */
	if (!sockmark_expect(r, "sock_alloc_file", PTR_ERR_OR_ZERO(file), 0))
		return NULL;
	if (marked)
		sock_set_specialized(sock->sk);
	return file;
}

/*
 * The notifier fires once per descriptor closed through filp_close(),
 * before the descriptor's reference goes: a marked file held by an
 * "instance" reference and two descriptors (a dup) gets two calls, with 3
 * and then 2 references. An unmarked file gets none, and none after the
 * notifier left the chain.
 */
static void sockmark_close_hook(struct sockmark_result *r)
{
	struct file *file;
	int err;

	err = register_sock_specialized_close_notifier(&sockmark_close_nb);
	if (!sockmark_expect(r, "register notifier", err, 0))
		return;
	file = sockmark_file(r, true);
	if (!file)
		goto out;
	close_log.watched = file;
	close_log.owner = current->files;
	get_file(file);		/* the instance's reference */
	get_file(file);		/* the dup()ed descriptor's */
	filp_close(file, current->files);
	filp_close(file, current->files);
	if (sockmark_expect(r, "close calls", close_log.calls, 2) &&
	    sockmark_expect(r, "refs at first close", close_log.refs[0], 3))
		sockmark_expect(r, "refs at second close", close_log.refs[1], 2);
	fput(file);		/* the instance lets go */

	file = sockmark_file(r, false);
	if (!file)
		goto out;
	close_log.watched = file;
	filp_close(file, current->files);
	sockmark_expect(r, "calls for an unmarked socket", close_log.calls, 2);
out:
	unregister_sock_specialized_close_notifier(&sockmark_close_nb);
	file = sockmark_file(r, true);
	if (!file)
		return;
	close_log.watched = file;
	filp_close(file, current->files);
	sockmark_expect(r, "calls after unregister", close_log.calls, 2);
	sockmark_expect(r, "calls for other files", close_log.other_calls, 0);
}

/*
 * ip_idents_hash() and ip_idents_reserve() (0005) are __ip_select_ident()
 * in two steps: an ID reserved through them and the kernel's next one for
 * the same flow are consecutive, unless a jiffy passed between the two
 * (the generator then adds a random step): try again then. Returns the
 * kernel's ID less the reserved one (1), or the check's failure.
 */
static long sockmark_ip_idents(struct sockmark_result *r)
{
	struct iphdr iph = {
		.daddr = htonl(0x0a000002),
		.saddr = htonl(0x0a000001),
		.protocol = IPPROTO_UDP,
	};
	unsigned long start;
	u16 step;
	u32 id;
	int try;

	for (try = 0; try < 5; try++) {
		start = jiffies;
		id = ip_idents_reserve(ip_idents_hash(&init_net, iph.daddr,
						      iph.saddr, iph.protocol), 1);
		__ip_select_ident(&init_net, &iph, 1);
		if (jiffies == start)
			break;
	}
	step = ntohs(iph.id) - (u16)id;
	sockmark_expect(r, "kernel IP ID after a reserved one", step, 1);
	return step;
}

static long sockmark_send(int token, const void __user *buf, size_t len,
			  unsigned int flags)
{
	return -EOPNOTSUPP;	/* never called: no task sends during init */
}

static const struct customized_send_ops sockmark_send_ops = {
	.owner = THIS_MODULE,
	.send = sockmark_send,
};

static const struct customized_send_ops sockmark_send_ops2 = {
	.owner = THIS_MODULE,
	.send = sockmark_send,
};

/*
 * customized_send has one owner (0006): a second one is refused with
 * EBUSY, and the first can come back after it left. Returns the second
 * owner's errno (EBUSY).
 */
static long sockmark_send_owner(struct sockmark_result *r)
{
	int err, second;

	err = customized_send_register(&sockmark_send_ops);
	if (!sockmark_expect(r, "customized_send_register", err, 0))
		return err;
	second = customized_send_register(&sockmark_send_ops2);
	sockmark_expect(r, "second customized_send owner", second, -EBUSY);
	/* Not the owner: leaves the first in place. */
	customized_send_unregister(&sockmark_send_ops2);
	customized_send_unregister(&sockmark_send_ops);
	err = customized_send_register(&sockmark_send_ops2);
	sockmark_expect(r, "customized_send owner after unregister", err, 0);
	if (!err)
		customized_send_unregister(&sockmark_send_ops2);
	return -second;
}

static int __init sockmark_init(void)
{
	struct sockmark_result r = {};
	long ip_id_step, second_owner;
	int busy;

	busy = sockmark_guard(&r, SOCK_DGRAM, IPPROTO_UDP, udp_opts,
			      ARRAY_SIZE(udp_opts));
	busy += sockmark_guard(&r, SOCK_STREAM, IPPROTO_TCP, tcp_opts,
			       ARRAY_SIZE(tcp_opts));
	sockmark_adu(&r);
	sockmark_close_hook(&r);
	ip_id_step = sockmark_ip_idents(&r);
	second_owner = sockmark_send_owner(&r);
	if (r.check) {
		pr_info("specbed_sockmark: FAIL %s: got %ld want %ld\n",
			r.check, r.got, r.want);
		return -EINVAL;
	}
	pr_info("specbed_sockmark: pass setsockopt_busy=%d adu=%d close_calls=%d ip_id_step=%ld second_owner_errno=%ld\n",
		busy, SOCKMARK_ADU, close_log.calls, ip_id_step, second_owner);
	return 0;
}
module_init(sockmark_init);

static void __exit sockmark_exit(void)
{
}
module_exit(sockmark_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("specbed: self-test of the specialized-socket kernel patches");
