// SPDX-License-Identifier: GPL-2.0
/*
 * Ending the virtual machine. The method is fixed per platform at build
 * time (qemu.Platform.Exit): x86 reboots with QEMU's -no-reboot, which
 * ends QEMU (power-off hangs on the pc machine without ACPI); QEMU cannot
 * power off collie, so the ARM agent asks QEMU to exit through ARM
 * semihosting, which QEMU allows from user space with userspace=on.
 */
#include "agent.h"

#if defined(AGENT_EXIT_SEMIHOSTING)

#ifndef __arm__
#error "semihosting exit is implemented for 32-bit ARM only"
#endif

#define SYS_EXIT			0x18
/* Reason codes of SYS_EXIT: QEMU exits 0 only for ApplicationExit. */
#define ADP_STOPPED_APPLICATION_EXIT	0x20026
#define ADP_STOPPED_RUN_TIME_ERROR	0x20023

static long end_vm(int status)
{
	register long op __asm__ ("r0") = SYS_EXIT;
	register long reason __asm__ ("r1") = status ?
		ADP_STOPPED_RUN_TIME_ERROR : ADP_STOPPED_APPLICATION_EXIT;

	/* The ARM-state semihosting trap; Thumb would use svc 0xab. */
	__asm__ volatile ("svc 0x123456" : "+r" (op) : "r" (reason) : "memory");
	/* Only reached when QEMU runs without semihosting. */
	return -ENOSYS;
}

#elif defined(AGENT_EXIT_REBOOT)

static long end_vm(int status)
{
	(void)status;	/* QEMU's exit code does not carry it: the done line does */
	return sys_reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
			  LINUX_REBOOT_CMD_RESTART, 0);
}

#else
#error "define AGENT_EXIT_REBOOT or AGENT_EXIT_SEMIHOSTING"
#endif

void vm_exit(int status)
{
	long err;

	out_drain();
	err = end_vm(status);
	out_error(-1, "could not end the virtual machine", NULL, err);
	out_drain();
	/* init must not return (the kernel would panic): wait to be killed. */
	for (;;)
		sb_sleep_ms(1000000);
}
