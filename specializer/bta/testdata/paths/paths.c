/* paths.c: the cases the analysis must tell apart (bta_test.go TestPaths). */
#include "paths.h"

/*
 * A parser: its failure paths return error codes, one under a decision
 * the context leaves in the residual (shim_capable).
 */
static int parse(struct sock *sk, u32 kind, u32 *tos)
{
	switch (kind) {
	case 1:
		if (!shim_capable(sk))
			return -EPERM;
		*tos = 4;
		break;
	case 2:
		*tos = 8;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

int paths_send(struct sock *sk, u32 len, u32 flags, u32 kind)
{
	struct route *rt = sk->cached;
	u32 tos = 0;
	u32 split_tos;
	u32 merged_tos;
	int corking = sk->corkflag || (flags & MSG_MORE);
	int err;

	/* Split: the failure path leaves through its test, tos stays static. */
	err = parse(sk, kind, &tos);
	if (err)
		return err;
	split_tos = tos;

	/* No split: the failure path merges with the success path. */
	merged_tos = 0;
	err = parse(sk, kind, &merged_tos);
	if (err)
		merged_tos = 1;
	if (merged_tos)
		len++;

	/* A static exit, and a residual one that can only come after it. */
	if (sk->mark == 7) {
		rt = NULL;
		goto out;
	}
	if (shim_probe(sk) && len == 0)
		goto out;

	if (corking) {
		/* Frames corked earlier use their route: dynamic. */
		if (sk->pending)
			rt = sk->cork_rt;
	}
	shim_send(sk, split_tos, rt->mtu, len);
out:
	if (rt)
		shim_release(rt);
	return 0;
}
