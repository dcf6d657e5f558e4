// SPDX-License-Identifier: GPL-2.0
/*
 * A second flow of control for the agent: a task that shares the agent's
 * memory and descriptor table, made with a raw clone(2) on a static
 * stack (nolibc has no threads).
 *
 * It is a CLONE_VM | CLONE_FILES child process with SIGCHLD as its exit
 * signal, not a CLONE_THREAD thread: the i486 and p3 kernels are built
 * without CONFIG_FUTEX, so a thread's exit could not be waited for
 * (CLONE_CHILD_CLEARTID wakes a futex); wait4() joins and reaps the
 * child. For the close guard it is the same as a thread: the guard binds
 * a token to the (files_struct, fd) pair, and CLONE_FILES shares the
 * files_struct itself, so the child's close(fd) empties the agent's
 * slot.
 *
 * One second task at a time: they share the one stack.
 */
#include "agent.h"
#include <linux/sched.h>

#define THREAD_STACK	(16 << 10)	/* bytes; the task only loops and closes */
#define SIGCHLD		17		/* same number on i386 and arm */
#define THREAD_FLAGS	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | SIGCHLD)

static unsigned long thread_stack[THREAD_STACK / sizeof(unsigned long)]
	__attribute__((aligned(16)));

/*
 * clone_run starts fn(arg) in a new task on the stack below sp and
 * returns its pid (or a negative errno) in the caller. The child never
 * returns into C code of the caller: the system call's return lands on
 * the new stack, so the child calls fn and exits from assembly.
 */
#if defined(__i386__)
static long clone_run(unsigned long *sp, int (*fn)(void *), void *arg)
{
	long ret;

	/* The child pops fn; arg is then its first stack argument. */
	*--sp = (unsigned long)arg;
	*--sp = (unsigned long)fn;
	__asm__ volatile (
		"int $0x80\n\t"
		"testl %%eax, %%eax\n\t"
		"jnz 1f\n\t"
		"popl %%eax\n\t"
		"call *%%eax\n\t"
		"movl %%eax, %%ebx\n\t"
		"movl %[nr_exit], %%eax\n\t"
		"int $0x80\n\t"
		"hlt\n"
		"1:"
		: "=a" (ret)
		: "0" (__NR_clone), "b" (THREAD_FLAGS), "c" (sp), "d" (0),
		  "S" (0), "D" (0), [nr_exit] "i" (__NR_exit)
		: "memory", "cc");
	return ret;
}
#elif defined(__arm__)
static long clone_run(unsigned long *sp, int (*fn)(void *), void *arg)
{
	/* EABI: clone(flags, newsp, parent_tid, tls, child_tid) in r0..r4;
	 * fn and arg ride in r5 and r6, which the child inherits. */
	register long r0 __asm__ ("r0") = THREAD_FLAGS;
	register long r1 __asm__ ("r1") = (long)sp;
	register long r2 __asm__ ("r2") = 0;
	register long r3 __asm__ ("r3") = 0;
	register long r4 __asm__ ("r4") = 0;
	register long r5 __asm__ ("r5") = (long)fn;
	register long r6 __asm__ ("r6") = (long)arg;
	register long r7 __asm__ ("r7") = __NR_clone;

	/* ARMv4 has no blx: "mov lr, pc" saves the address two
	 * instructions on, past the "mov pc". */
	__asm__ volatile (
		"svc #0\n\t"
		"cmp r0, #0\n\t"
		"bne 1f\n\t"
		"mov r0, r6\n\t"
		"mov lr, pc\n\t"
		"mov pc, r5\n\t"
		"mov r7, %[nr_exit]\n\t"
		"svc #0\n"
		"1:"
		: "+r" (r0)
		: "r" (r1), "r" (r2), "r" (r3), "r" (r4), "r" (r5), "r" (r6),
		  "r" (r7), [nr_exit] "I" (__NR_exit)
		: "memory", "cc", "lr");
	return r0;
}
#endif

/* thread_start runs fn(arg) in the second task; returns its pid or -errno. */
long thread_start(int (*fn)(void *), void *arg)
{
	return clone_run(thread_stack + sizeof(thread_stack) / sizeof(thread_stack[0]),
			 fn, arg);
}

/*
 * thread_join waits for the second task to exit and returns its exit
 * status (fn's result), or a negative errno; a task killed by a signal
 * gives -EINTR.
 */
long thread_join(long pid)
{
	int status = 0;
	long ret;

	while ((ret = sys_wait4(pid, &status, 0, NULL)) == -EINTR)
		;
	if (ret < 0)
		return ret;
	if (!WIFEXITED(status))
		return -EINTR;
	return WEXITSTATUS(status);
}
