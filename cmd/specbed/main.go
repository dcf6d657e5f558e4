// Command specbed builds the guest kernels, boots the paper's three machines
// under QEMU, runs the specializer and drives the experiments of
// "Automatic Specialization of Protocol Stacks in Operating System Kernels".
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "specbed:", err)
		os.Exit(1)
	}
}
