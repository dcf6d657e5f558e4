// SPDX-License-Identifier: GPL-2.0
/*
 * token.c - residual registration and tokens: LOAD, SEND, SEND_GENERIC,
 * RELEASE, and the customized_send system call (kernel patch 0006).
 *
 * A token is one specialized instance: a residual bound to a socket and
 * destination (struct sn_binding). It pins what the residual's code
 * assumes: the socket's file, the route and neighbour it was specialized
 * for, and the residual's module, and marks the socket specialized
 * (setsockopt fails with EBUSY, kernel patch 0001). Sends run under the
 * token's guard (read side); whatever invalidates the token (RELEASE,
 * the close guard; the route and PMTU guards later) takes the write side,
 * so it waits for the running sends, no send starts on a dead token, and
 * the references go at once.
 */
#include "core.h"
#include "specnet_residual.h"
#include "tcp_token.h"

#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/fdtable.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/net.h>
#include <linux/notifier.h>
#include <linux/udp.h>
#include <net/route.h>
#include <net/sock.h>

/*
 * Test-only switch: close_guard=0 leaves the close notifier idle, so a
 * token outlives the close of its descriptor and keeps sending on the
 * file it pins. images/specnet/guards boots it as the negative control
 * that shows what the guard prevents; nothing else may set it.
 */
static bool sn_close_guard = true;
module_param_named(close_guard, sn_close_guard, bool, 0444);
MODULE_PARM_DESC(close_guard, "test only: 0 disables the close guard");

/*
 * Test-only fault injection: a SEND sleeps send_hold_us (us) inside its
 * token's guard (read side), after the live check and before the
 * residual or the generic path runs. The guests' kernels are
 * uniprocessor and not preemptible, and no send sleeps otherwise, so a
 * close from a second task always lands between two sends; the hold lets
 * it land inside one, while the send has committed to the token's
 * binding (socket, route, neighbour, residual code) and not yet used it:
 * the close guard must wait for it (guard_close_waits), and a guard that
 * did not would free that state under the send (a SLUB report).
 * images/specnet/guards boots it; 0, the default, is off.
 */
static uint sn_send_hold_us;
module_param_named(send_hold_us, sn_send_hold_us, uint, 0444);
MODULE_PARM_DESC(send_hold_us, "test only: sleep (us) in every SEND inside the token's guard");

struct sn_token {
	struct kref ref;
	struct rw_semaphore guard;
	bool live;			/* written under guard */
	struct file *owner;		/* the /dev/specnet open that loaded it */
	/*
	 * The descriptor LOAD bound, (files, fd) -> file, and its socket:
	 * fixed at LOAD, compared only (the close guard), valid while live.
	 */
	struct files_struct *files;
	int fd;
	struct file *file;
	struct sock *sk;
	struct list_head marked;	/* in sn_marked while it marks sk */
	u32 policy;
	struct specnet_sockaddr_in dest;	/* as LOAD got it */
	int refs;			/* counted in refs_held */
	struct specnet_residual *r;
	struct sn_binding b;
	struct sn_tcp_token *tcp;	/* a TCP socket's view, instead of b */
	struct sn_route_guard rg;	/* guard_route.c */
};

/* Registered residuals and their budget; tokens by id. */
static DEFINE_MUTEX(sn_residuals_lock);
static LIST_HEAD(sn_residuals);
static DEFINE_SPINLOCK(sn_tokens_lock);
static DEFINE_IDR(sn_tokens);

/*
 * Tokens 1 to SN_TOKEN_SLOTS - 1 are also in an array indexed by id, as
 * the file table holds descriptors: a send finds its token with one load
 * instead of the IDR's radix tree walk (about 60 instructions on i486).
 * The IDR still allocates the ids and holds every token; a slot mirrors
 * its entry, written and read under sn_tokens_lock as the IDR is
 * (sn_token_set, sn_token_find).
 */
#define SN_TOKEN_SLOTS 64
static struct sn_token *sn_token_slots[SN_TOKEN_SLOTS];

/* Tokens that mark their socket; a socket is marked while any does. */
static DEFINE_MUTEX(sn_marks_lock);
static LIST_HEAD(sn_marked);

/* Bytes a residual's module occupies while loaded (code and data). */
static unsigned long sn_residual_bytes(const struct specnet_residual *r)
{
	return r->owner->core_layout.size;
}

int specnet_register_residual(struct specnet_residual *r)
{
	struct specnet_residual *o;
	int err = 0;

	mutex_lock(&sn_residuals_lock);
	list_for_each_entry(o, &sn_residuals, list) {
		if (!strcmp(o->owner->name, r->owner->name)) {
			err = -EEXIST;
			goto out;
		}
	}
	r->users = 0;
	list_add_tail(&r->list, &sn_residuals);
	sn_count(SN_C_RESIDUALS, 1);
out:
	mutex_unlock(&sn_residuals_lock);
	return err;
}
EXPORT_SYMBOL_GPL(specnet_register_residual);

/* Called from the residual's module exit: no token uses it any more
 * (each held a module reference). */
void specnet_unregister_residual(struct specnet_residual *r)
{
	mutex_lock(&sn_residuals_lock);
	WARN_ON(r->users);
	list_del(&r->list);
	sn_count(SN_C_RESIDUALS, -1);
	mutex_unlock(&sn_residuals_lock);
}
EXPORT_SYMBOL_GPL(specnet_unregister_residual);

void sn_residuals_show(struct seq_file *m)
{
	struct specnet_residual *r;

	mutex_lock(&sn_residuals_lock);
	list_for_each_entry(r, &sn_residuals, list)
		seq_printf(m, "residual %s %lu %u\n", r->owner->name,
			   sn_residual_bytes(r), r->users);
	mutex_unlock(&sn_residuals_lock);
}

/*
 * The residual named name, with a module reference and a user counted
 * against the budget: a residual's bytes count once, while any token
 * uses it.
 */
static struct specnet_residual *sn_residual_get(const char *name, int *err)
{
	struct specnet_residual *r;
	unsigned long bytes;

	mutex_lock(&sn_residuals_lock);
	list_for_each_entry(r, &sn_residuals, list) {
		if (strcmp(r->owner->name, name))
			continue;
		*err = -ENOENT;
		if (!try_module_get(r->owner))
			goto out_unlock;
		bytes = sn_residual_bytes(r);
		if (!r->users &&
		    atomic_long_read(&sn_counters[SN_C_RESIDUAL_BYTES]) + bytes >
		    sn_budget_bytes) {
			module_put(r->owner);
			*err = -ENOSPC;
			goto out_unlock;
		}
		if (!r->users++)
			sn_count(SN_C_RESIDUAL_BYTES, bytes);
		mutex_unlock(&sn_residuals_lock);
		return r;
	}
	*err = -ENOENT;
out_unlock:
	mutex_unlock(&sn_residuals_lock);
	return NULL;
}

static void sn_residual_put(struct specnet_residual *r)
{
	struct module *owner = r->owner;

	mutex_lock(&sn_residuals_lock);
	if (!--r->users)
		sn_count(SN_C_RESIDUAL_BYTES, -(long)sn_residual_bytes(r));
	mutex_unlock(&sn_residuals_lock);
	/* Last: r lives in the module. */
	module_put(owner);
}

static int sn_release_id(u32 id);
static void sn_release_token(struct sn_token *t);

/* Token id, or NULL. Under sn_tokens_lock. */
static struct sn_token *sn_token_find(u32 id)
{
	if (id < SN_TOKEN_SLOTS)
		return sn_token_slots[id];
	return idr_find(&sn_tokens, id);
}

/* Mirror the IDR's entry for id (t, or NULL once removed) in its slot.
 * Under sn_tokens_lock. */
static void sn_token_set(u32 id, struct sn_token *t)
{
	if (id < SN_TOKEN_SLOTS)
		sn_token_slots[id] = t;
}

/* Remove token id from the table: the IDR and its slot. Under
 * sn_tokens_lock; returns the token, or NULL. */
static struct sn_token *sn_token_remove(u32 id)
{
	sn_token_set(id, NULL);
	return idr_remove(&sn_tokens, id);
}

static void sn_token_free(struct kref *ref)
{
	struct sn_token *t = container_of(ref, struct sn_token, ref);

	/* After the last send: a TCP send that slept may still read it. */
	kfree(t->tcp);
	kfree(t);
}

static void sn_token_put(struct sn_token *t)
{
	kref_put(&t->ref, sn_token_free);
}

/* Mark t->sk before reading its options: setsockopt is refused from
 * here on, so the context LOAD binds stays what the code assumes. */
static void sn_mark(struct sn_token *t)
{
	struct sn_token *o;
	bool first = true;

	mutex_lock(&sn_marks_lock);
	list_for_each_entry(o, &sn_marked, marked)
		if (o->sk == t->sk)
			first = false;
	list_add(&t->marked, &sn_marked);
	if (first) {
		sock_set_specialized(t->sk);
		sn_count(SN_C_SOCKETS_MARKED, 1);
	}
	mutex_unlock(&sn_marks_lock);
}

/* The socket's last token clears the mark; the caller still holds the
 * file, so t->sk is alive. */
static void sn_unmark(struct sn_token *t)
{
	struct sn_token *o;
	bool last = true;

	mutex_lock(&sn_marks_lock);
	list_del(&t->marked);
	list_for_each_entry(o, &sn_marked, marked)
		if (o->sk == t->sk)
			last = false;
	if (last) {
		sock_clear_specialized(t->sk);
		sn_count(SN_C_SOCKETS_MARKED, -1);
	}
	mutex_unlock(&sn_marks_lock);
}

/* Under the write side of t's guard: no send runs or starts on t any
 * more; drop what it holds. */
static void sn_token_drop(struct sn_token *t)
{
	WRITE_ONCE(t->live, false);
	sn_route_guard_destroy(&t->rg);
	sn_unmark(t);
	if (t->tcp)
		sn_tcp_token_destroy(t->tcp);
	sn_binding_destroy(&t->b);
	sn_residual_put(t->r);
	sn_count(SN_C_REFS_HELD, -t->refs);
}

/* Whether t's descriptor no longer holds t's file. */
static bool sn_slot_closed(const struct sn_token *t)
{
	bool closed;

	rcu_read_lock();
	closed = files_lookup_fd_rcu(t->files, t->fd) != t->file;
	rcu_read_unlock();
	return closed;
}

/* The close guard's verdict on t: wait for its sends, kill it. */
static void sn_token_close(struct sn_token *t)
{
	/* A reader is a send inside the residual, perhaps asleep. */
	if (!down_write_trylock(&t->guard)) {
		sn_count(SN_C_GUARD_CLOSE_WAITS, 1);
		down_write(&t->guard);
	}
	if (t->live) {
		sn_token_drop(t);
		sn_count(SN_C_GUARD_CLOSE, 1);
	}
	up_write(&t->guard);
}

/*
 * The data unit size the application committed to with SO_ADU (kernel
 * patch 0003), 0 if none. Here and not in ctx.c: <net/sock.h> defines
 * macros named like the shim's view fields.
 */
u32 sn_sock_adu(const struct sn_ksock *ks)
{
	return READ_ONCE(ks->sk->sk_adu);
}

/* The socket on fd of the caller's files_struct, marked for t. */
static int sn_load_mark(struct sn_token *t, int fd)
{
	struct socket *sock;
	int err;

	sock = sockfd_lookup(fd, &err);
	if (!sock)
		return err;
	t->files = current->files;
	t->fd = fd;
	t->file = sock->file;
	t->sk = sock->sk;
	sn_mark(t);
	sockfd_put(sock);
	return 0;
}

/* ESTALE unless the live socket and route still are the context the
 * residual was specialized for (its digest, when it carries one). */
static int sn_load_check_context(struct sn_token *t, int fd)
{
	u64 digest;
	int err;

	if (!t->r->ctx_digest)
		return 0;
	err = sn_context_digest(&t->b, fd, &digest);
	if (err)
		return err;
	return digest == t->r->ctx_digest ? 0 : -ESTALE;
}

/* What the token's residual assumes about its route (guard_route.c): the
 * route a send of b uses, the connected socket's cached one or the
 * looked-up one. */
static void sn_load_route_guard(struct sn_token *t, u32 policy)
{
	const struct sn_ksock *ks = t->b.ks;
	const struct rtable *rt = ks->looked_up.rt;
	__be32 daddr = (__force __be32)t->dest.addr;
	__be16 dport = (__force __be16)t->dest.port;

	if (!t->b.um.msg_name) {
		daddr = ks->sk->sk_daddr;
		dport = ks->sk->sk_dport;
		if (ks->cached.rt)
			rt = ks->cached.rt;
	}
	sn_route_guard_init(&t->rg, policy, &rt->dst, daddr, dport,
			    sn_sock_adu(ks));
}

/*
 * Put t in the place of token id of owner (LOAD with replace): the id
 * maps to t from here on, the old token is released after its running
 * sends. Under sn_tokens_lock; returns the old token, or NULL.
 */
static struct sn_token *sn_token_replace(struct file *owner, u32 id,
					 struct sn_token *t)
{
	struct sn_token *old = sn_token_find(id);

	if (!old || old->owner != owner)
		return NULL;
	idr_replace(&sn_tokens, t, id);
	sn_token_set(id, t);
	return old;
}

/*
 * LOAD's binding of a TCP socket (tcp_token.c): its view instead of the
 * UDP binding, the context check on that view, the references counted.
 * The descriptor must still hold the file sn_load_mark found.
 */
static int sn_load_tcp(struct sn_token *t, const struct specnet_load *l)
{
	u64 digest;
	int err;

	t->tcp = sn_tcp_token_bind(l->fd, &err);
	if (!t->tcp)
		return err;
	err = sn_tcp_token_arm(t->tcp, t->file, l->guard, &t->guard, &t->live,
			       &t->rg);
	if (err)
		return err;
	if (sn_slot_closed(t))
		return -EBADF;
	if (t->r->ctx_digest) {
		err = sn_tcp_context_digest(t->tcp, &digest);
		if (err)
			return err;
		if (digest != t->r->ctx_digest)
			return -ESTALE;
	}
	t->refs = 3;	/* the file, the socket and the module */
	sn_count(SN_C_REFS_HELD, t->refs);
	return 0;
}

long sn_load(struct file *owner, struct specnet_load __user *arg)
{
	struct specnet_load l;
	struct sn_token *t, *old = NULL;
	int err, id;

	if (copy_from_user(&l, arg, sizeof(l)))
		return -EFAULT;
	if (l.guard > SPECNET_GUARD_RESPECIALIZE ||
	    l.policy > SPECNET_POLICY_REFUSE ||
	    !memchr(l.name, 0, sizeof(l.name)) || l.token > INT_MAX)
		return -EINVAL;
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	kref_init(&t->ref);
	init_rwsem(&t->guard);
	t->policy = l.policy;
	t->dest = l.dest;
	t->owner = owner;
	t->r = sn_residual_get(l.name, &err);
	if (!t->r)
		goto out_free;
	err = sn_load_mark(t, l.fd);
	if (err)
		goto out_put;
	/* A residual runs only on its own protocol's view. */
	err = -EPROTOTYPE;
	if (sn_residual_is_tcp(t->r) != sn_sock_is_tcp(t->sk))
		goto out_unmark;
	if (sn_sock_is_tcp(t->sk)) {
		err = sn_load_tcp(t, &l);
		if (err)
			goto out_unbind;
		goto bound;
	}
	/* The flags only steer the route's TOS (MSG_DONTROUTE); the
	 * residual guards the send flags it was specialized for. */
	err = sn_binding_init(&t->b, l.fd, &l.dest, 0, true);
	if (err)
		goto out_unmark;
	/* Another thread may have put a different file on fd meanwhile. */
	err = -EBADF;
	if (t->b.ks->file != t->file)
		goto out_unbind;
	err = t->b.route_err;
	if (err)
		goto out_unbind;
	err = sn_load_check_context(t, l.fd);
	if (err)
		goto out_unbind;
	t->refs = sn_binding_refs(&t->b) + 1;	/* + the module */
	sn_count(SN_C_REFS_HELD, t->refs);
	sn_load_route_guard(t, l.guard);
bound:
	/* Live under the tokens' lock: the close guard looks for live
	 * tokens under it (sn_token_closed). */
	idr_preload(GFP_KERNEL);
	spin_lock(&sn_tokens_lock);
	if (l.token) {
		old = sn_token_replace(owner, l.token, t);
		id = old ? l.token : -EBADF;
	} else {
		id = idr_alloc(&sn_tokens, t, 1, INT_MAX, GFP_NOWAIT);
		if (id > 0)
			sn_token_set(id, t);
	}
	if (id > 0) {
		WRITE_ONCE(t->live, true);
		kref_get(&t->ref);	/* a RELEASE may guess the id */
	}
	spin_unlock(&sn_tokens_lock);
	idr_preload_end();
	err = id;
	if (id < 0) {
		sn_count(SN_C_REFS_HELD, -t->refs);
		goto out_unbind;
	}
	sn_count(SN_C_TOKENS_LIVE, 1);
	if (old)
		sn_release_token(old);
	/*
	 * A close of fd whose guard ran before the token was live did not
	 * see it; its slot is empty by now (filp_close runs after the slot
	 * is emptied, and the guard after our unlock saw the token).
	 */
	if (sn_slot_closed(t))
		sn_token_close(t);
	sn_token_put(t);
	if (put_user((u32)id, &arg->token)) {
		sn_release_id(id);
		return -EFAULT;
	}
	return 0;

out_unbind:
	if (t->tcp) {
		sn_tcp_token_destroy(t->tcp);
		kfree(t->tcp);
	}
	sn_binding_destroy(&t->b);
out_unmark:
	sn_unmark(t);
out_put:
	sn_residual_put(t->r);
out_free:
	kfree(t);
	return err;
}

/*
 * Token id with a reference, if it is the caller's: the ioctl passes the
 * open of /dev/specnet (owner), customized_send(2) the caller's file table
 * (files, owner NULL), the table whose descriptor the token is bound to.
 */
static struct sn_token *sn_token_get(u32 id, const struct file *owner,
				     const struct files_struct *files)
{
	struct sn_token *t;

	spin_lock(&sn_tokens_lock);
	t = sn_token_find(id);
	if (t && (owner ? t->owner != owner : t->files != files))
		t = NULL;
	if (t)
		kref_get(&t->ref);
	spin_unlock(&sn_tokens_lock);
	return t;
}

/*
 * One spare buffer for the views of a generic send (struct sn_ksock,
 * about 1.3 KB): a send takes it, or allocates one while another send
 * holds it, and gives it back, so that a send allocates nothing where
 * the kernel's send system call allocates nothing either.
 */
static struct sn_ksock *sn_spare;

static struct sn_ksock *sn_ksock_take(void)
{
	struct sn_ksock *ks = xchg(&sn_spare, NULL);

	return ks ? ks : kmalloc(sizeof(*ks), GFP_KERNEL);
}

static void sn_ksock_give(struct sn_ksock *ks)
{
	if (cmpxchg(&sn_spare, NULL, ks))
		kfree(ks);
}

/* Module exit: no send runs any more. */
void sn_tokens_exit(void)
{
	kfree(xchg(&sn_spare, NULL));
}

/*
 * The generic path with nothing fixed: the socket is bound (its views
 * read from the kernel) for this send only, as the send system call looks
 * the socket up on every send. With want set, the descriptor must still
 * be the socket a token was bound to.
 */
static int sn_generic(int fd, const struct specnet_sockaddr_in *dest,
		      const u8 __user *buf, u32 len, u32 flags,
		      const struct file *want)
{
	struct sn_binding b;
	struct sn_ksock *ks;
	int ret;

	/*
	 * A corked send (MSG_MORE, UDP_CORK) leaves its data on the write
	 * queue of a binding that lives for this send only: nothing would
	 * ever push or free it. The generic path sends whole datagrams.
	 */
	if (flags & MSG_MORE)
		return -EOPNOTSUPP;
	ks = sn_ksock_take();
	if (!ks)
		return -ENOMEM;
	ret = sn_binding_init_send(&b, ks, fd, dest);
	if (ret == -EPROTONOSUPPORT) {
		/* Not UDP: perhaps a TCP socket (tcp_token.c). */
		ret = sn_tcp_generic(fd, buf, len, flags, want);
		goto out_give;
	}
	if (ret)
		goto out_give;
	ret = -EBADF;
	if (want && b.ks->file != want)
		goto out;
	ret = -EOPNOTSUPP;
	if (udp_test_bit(CORK, b.ks->sk))
		goto out;
	sn_kernel_register(b.ks);
	ret = sn_sendmsg(fd, &b.um, buf, len, flags);
	sn_kernel_unregister(b.ks);
out:
	sn_binding_destroy_send(&b);
out_give:
	sn_ksock_give(ks);
	return ret;
}

/*
 * SEND's work on token id, for the ioctl (owner: the open of /dev/specnet
 * the token must belong to) and customized_send(2) (owner NULL: a token of
 * the caller's file table): the token's residual under its guard (read
 * side); a send the residual refuses follows the token's policy. The
 * request comes as arguments, not as a struct specnet_send: passed by
 * value, that was copied word by word on every send.
 */
static long sn_send_request(const struct file *owner, u32 id,
			    const u8 __user *buf, u32 len, u32 flags)
{
	struct sn_token *t;
	long ret;

	t = sn_token_get(id, owner, current->files);
	if (!t)
		return -EBADF;
	/* A route or device changed since the token's last review: let the
	 * review decide before this datagram leaves. */
	if (unlikely(READ_ONCE(t->rg.gen) != (u32)atomic_read(&sn_route_gen)))
		sn_route_guard_sync();
	down_read(&t->guard);
	ret = -EBADF;
	if (!t->live)
		goto out;
	if (unlikely(sn_send_hold_us))
		usleep_range(sn_send_hold_us, sn_send_hold_us);
	if (t->tcp) {
		ret = sn_tcp_token_send(t->tcp, t->r, t->policy,
					sn_route_diverts(&t->rg), buf, len,
					flags);
		goto out;
	}
	if (unlikely(sn_route_diverts(&t->rg))) {
		sn_count(SN_C_SENDS_GUARDED, 1);
		goto generic;
	}
	ret = t->r->send(&t->b.inst, buf, len, flags);
	if (ret != SN_SPEC_FALLBACK) {
		sn_count(SN_C_SENDS_SPECIALIZED, 1);
		/* The ADU, for the PMTU guard (the residual only sends it). */
		if (ret >= 0)
			WRITE_ONCE(t->rg.payload, len);
		goto out;
	}
	if (t->policy == SPECNET_POLICY_REFUSE) {
		sn_count(SN_C_REFUSED, 1);
		ret = -EINVAL;
		goto out;
	}
	sn_count(SN_C_FALLBACKS, 1);
generic:
	/* A fresh binding: the token's views stay as they were specialized,
	 * and a concurrent specialized send never sees them change. */
	sn_count(SN_C_SENDS_GENERIC, 1);
	ret = sn_generic(t->b.ks->fd, &t->dest, buf, len, flags,
			 t->b.ks->file);
out:
	up_read(&t->guard);
	sn_token_put(t);
	return ret;
}

long sn_send(struct file *owner, struct specnet_send __user *arg)
{
	struct specnet_send s;

	if (copy_from_user(&s, arg, sizeof(s)))
		return -EFAULT;
	if (s.reserved)
		return -EINVAL;
	return sn_send_request(owner, s.token, u64_to_user_ptr(s.buf), s.len,
			       s.flags);
}

long sn_send_generic(struct specnet_send_generic __user *arg)
{
	struct specnet_send_generic s;
	long ret;

	if (copy_from_user(&s, arg, sizeof(s)))
		return -EFAULT;
	if (s.reserved)
		return -EINVAL;
	ret = sn_generic(s.fd, &s.dest, u64_to_user_ptr(s.buf), s.len, s.flags,
			 NULL);
	sn_count(SN_C_SENDS_GENERIC, 1);
	return ret;
}

/*
 * The generic path on the socket and destination of token id, bound
 * afresh for this send (SPECNET_SEND_GENERIC_PATH): the token only names
 * them, as SPECNET_SEND_GENERIC's request does. The descriptor must still
 * hold the token's file.
 */
static long sn_token_send_generic(u32 id, const u8 __user *buf, u32 len,
				  u32 flags)
{
	struct specnet_sockaddr_in dest;
	const struct file *file = NULL;
	struct sn_token *t;
	int fd = -1;
	long ret;

	/* The token's own fields: they stay while it is in the table. */
	spin_lock(&sn_tokens_lock);
	t = sn_token_find(id);
	if (t && t->files == current->files && READ_ONCE(t->live)) {
		fd = t->fd;
		dest = t->dest;
		file = t->file;
	}
	spin_unlock(&sn_tokens_lock);
	if (!file)
		return -EBADF;
	ret = sn_generic(fd, &dest, buf, len, flags, file);
	sn_count(SN_C_SENDS_GENERIC, 1);
	return ret;
}

/*
 * customized_send(2) (kernel patch 0006): SEND without the ioctl, on the
 * tokens of the caller's file table. The kernel pins this module for the
 * call.
 */
static long sn_customized_send(int token, const void __user *buf, size_t len,
			       unsigned int flags)
{
	if (flags & SPECNET_SEND_GENERIC_PATH)
		return sn_token_send_generic(token, buf, len,
					     flags & ~SPECNET_SEND_GENERIC_PATH);
	return sn_send_request(NULL, token, buf, len, flags);
}

static const struct customized_send_ops sn_customized_send_ops = {
	.owner = THIS_MODULE,
	.send = sn_customized_send,
};

int sn_customized_send_init(void)
{
	return customized_send_register(&sn_customized_send_ops);
}

/* Later calls fail with ENOSYS; none runs (each pinned the module). */
void sn_customized_send_exit(void)
{
	customized_send_unregister(&sn_customized_send_ops);
}

/* Invalidate token id: wait for its running sends, then drop it. */
static int sn_release_id(u32 id)
{
	struct sn_token *t;

	spin_lock(&sn_tokens_lock);
	t = sn_token_remove(id);
	spin_unlock(&sn_tokens_lock);
	if (!t)
		return -EBADF;
	sn_release_token(t);
	return 0;
}

static void sn_release_token(struct sn_token *t)
{
	down_write(&t->guard);
	if (t->live)
		sn_token_drop(t);
	up_write(&t->guard);
	sn_count(SN_C_TOKENS_LIVE, -1);
	sn_token_put(t);
}

long sn_release(struct file *owner, struct specnet_release __user *arg)
{
	struct specnet_release r;
	struct sn_token *t;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if (r.reserved)
		return -EINVAL;
	spin_lock(&sn_tokens_lock);
	t = sn_token_find(r.token);
	if (t && t->owner == owner)
		sn_token_remove(r.token);
	else
		t = NULL;
	spin_unlock(&sn_tokens_lock);
	if (!t)
		return -EBADF;
	sn_release_token(t);
	return 0;
}

/* The close of a /dev/specnet open: drop the tokens it left, so that a
 * process that exits without RELEASE does not pin residuals forever. */
void sn_tokens_release_file(struct file *owner)
{
	struct sn_token *t;
	int id;

	for (;;) {
		spin_lock(&sn_tokens_lock);
		idr_for_each_entry(&sn_tokens, t, id) {
			if (t->owner == owner) {
				sn_token_remove(id);
				break;
			}
		}
		spin_unlock(&sn_tokens_lock);
		if (!t)
			return;
		sn_release_token(t);
	}
}

/* A live token the route review at gen has not seen, with a reference. */
static struct sn_token *sn_token_behind(u32 gen)
{
	struct sn_token *t;
	int id;

	spin_lock(&sn_tokens_lock);
	idr_for_each_entry(&sn_tokens, t, id) {
		if (READ_ONCE(t->live) && READ_ONCE(t->rg.gen) != gen) {
			kref_get(&t->ref);
			break;
		}
	}
	spin_unlock(&sn_tokens_lock);
	return t;
}

/*
 * The route guard's review (guard_route.c, process context): every live
 * token, its sends waited for, compared with the route its sends find now.
 */
void sn_tokens_review(u32 gen, u64 event_ns)
{
	struct sn_token *t;

	while ((t = sn_token_behind(gen))) {
		down_write(&t->guard);
		if (t->live)
			sn_route_review(&t->rg, t->sk, gen, event_ns);
		up_write(&t->guard);
		sn_token_put(t);
	}
}

/*
 * A live token bound to the descriptor c closed, with a reference: the
 * descriptor was in t's files_struct and its slot no longer holds the
 * token's file (filp_close runs after the slot was emptied; a dup() of
 * it closing leaves the bound slot as it was).
 */
static struct sn_token *sn_token_closed(const struct sock_specialized_close *c)
{
	struct sn_token *t;
	int id;

	spin_lock(&sn_tokens_lock);
	idr_for_each_entry(&sn_tokens, t, id) {
		if (READ_ONCE(t->live) && t->files == c->owner &&
		    t->file == c->file && sn_slot_closed(t)) {
			kref_get(&t->ref);
			break;
		}
	}
	spin_unlock(&sn_tokens_lock);
	return t;
}

/*
 * The close guard (kernel patch 0002): a descriptor of a marked socket
 * is being closed. Every token bound to it waits for its running sends
 * (the guard's write side), dies and drops its references; later SENDs
 * on it fail with EBADF until RELEASE removes it.
 */
static int sn_close_event(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	struct sn_token *t;

	if (action != SOCK_SPECIALIZED_CLOSE || !sn_close_guard)
		return NOTIFY_DONE;
	while ((t = sn_token_closed(data))) {
		sn_token_close(t);
		sn_token_put(t);
	}
	return NOTIFY_DONE;
}

static struct notifier_block sn_close_nb = {
	.notifier_call = sn_close_event,
};

int sn_close_guard_init(void)
{
	return register_sock_specialized_close_notifier(&sn_close_nb);
}

/* Waits for running callbacks. */
void sn_close_guard_exit(void)
{
	unregister_sock_specialized_close_notifier(&sn_close_nb);
}
