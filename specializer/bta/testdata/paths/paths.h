/* paths.h: a small send path for the binding-time analysis' own tests (bta_test.go). */
#ifndef PATHS_H
#define PATHS_H

typedef unsigned char u8;
typedef unsigned int u32;

#ifdef SPECBED_SPEC
#define SHIM_PURE __attribute__((specbed_pure))
#define SHIM_EFFECT __attribute__((specbed_effect))
#else
#define SHIM_PURE
#define SHIM_EFFECT
#endif

#define NULL ((void *)0)
#define MSG_MORE 0x8000
#define EPERM 1
#define EINVAL 22

struct route {
	u32 mtu;
};

struct sock {
	u32 mark;			/* static */
	u32 corkflag;			/* static */
	u32 pending;			/* dynamic: frames corked by an earlier send */
	struct route *cached;		/* static */
	struct route *cork_rt;		/* dynamic: the route the corking send took */
};

struct paths_inst {
	struct sock *sk;
};

SHIM_PURE int shim_capable(struct sock *sk);
SHIM_PURE int shim_probe(struct sock *sk);
SHIM_EFFECT void shim_send(struct sock *sk, u32 tos, u32 mtu, u32 len);
SHIM_EFFECT void shim_release(struct route *rt);

#endif
