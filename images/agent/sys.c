// SPDX-License-Identifier: GPL-2.0
/*
 * System calls that nolibc 6.1 does not wrap. Each returns the kernel's
 * raw result: a negative errno on failure.
 *
 * Time goes through the *_time64 calls: tinyconfig kernels drop the old
 * 32-bit time system calls (COMPAT_32BIT_TIME), and both guest
 * architectures number the 64-bit ones the same way.
 */
#include "agent.h"
#include <linux/time_types.h>

/* nolibc 6.1's arm port stops at five arguments; EABI passes the sixth in r5. */
#if defined(__arm__) && !defined(my_syscall6)
#define my_syscall6(num, arg1, arg2, arg3, arg4, arg5, arg6)		\
({									\
	register long _num __asm__ ("r7") = (num);			\
	register long _arg1 __asm__ ("r0") = (long)(arg1);		\
	register long _arg2 __asm__ ("r1") = (long)(arg2);		\
	register long _arg3 __asm__ ("r2") = (long)(arg3);		\
	register long _arg4 __asm__ ("r3") = (long)(arg4);		\
	register long _arg5 __asm__ ("r4") = (long)(arg5);		\
	register long _arg6 __asm__ ("r5") = (long)(arg6);		\
									\
	__asm__ volatile (						\
		"svc #0\n"						\
		: "=r" (_arg1)						\
		: "r"(_arg1), "r"(_arg2), "r"(_arg3), "r"(_arg4),	\
		  "r"(_arg5), "r"(_arg6), "r"(_num)			\
		: "memory", "cc", "lr"					\
	);								\
	_arg1;								\
})
#endif

long sb_socket(int domain, int type, int protocol)
{
	return my_syscall3(__NR_socket, domain, type, protocol);
}

long sb_connect(int fd, const void *addr, int addrlen)
{
	return my_syscall3(__NR_connect, fd, addr, addrlen);
}

long sb_bind4(int fd, const void *addr, int addrlen)
{
	return my_syscall3(__NR_bind, fd, addr, addrlen);
}

long sb_listen(int fd, int backlog)
{
	return my_syscall2(__NR_listen, fd, backlog);
}

/* i386 has accept4 only (no accept) as a direct system call. */
long sb_accept(int fd)
{
	return my_syscall4(__NR_accept4, fd, NULL, NULL, 0);
}

long sb_setsockopt(int fd, int level, int name, const void *val, int len)
{
	return my_syscall5(__NR_setsockopt, fd, level, name, val, len);
}

long sb_getsockopt(int fd, int level, int name, void *val, int *len)
{
	return my_syscall5(__NR_getsockopt, fd, level, name, val, len);
}

long sb_sendto(int fd, const void *buf, unsigned long len, int flags,
	       const void *addr, int addrlen)
{
	return my_syscall6(__NR_sendto, fd, buf, len, flags, addr, addrlen);
}

/* sb_clock_gettime_ns reads clock into *ns (nanoseconds). */
long sb_clock_gettime_ns(int clock, unsigned long long *ns)
{
	struct __kernel_timespec ts;
	long ret = my_syscall2(__NR_clock_gettime64, clock, &ts);

	if (ret < 0)
		return ret;
	*ns = (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	return 0;
}

/* sb_sleep_ms sleeps ms milliseconds of CLOCK_MONOTONIC time. */
long sb_sleep_ms(unsigned int ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000L,
	};
	long ret;

	/* Relative sleeps restart with what is left after a signal. */
	do {
		ret = my_syscall4(__NR_clock_nanosleep_time64, CLOCK_MONOTONIC,
				  0, &ts, &ts);
	} while (ret == -EINTR);
	return ret;
}

long sb_finit_module(int fd, const char *params, int flags)
{
	return my_syscall3(__NR_finit_module, fd, params, flags);
}
