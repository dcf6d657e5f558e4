package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "specbed",
		Short: "A testbed for automatic specialization of protocol stacks in Linux kernels",
		Long: `specbed reproduces Bhatia, Consel, Le Meur and Pu (LCN 2004): it builds Linux 6.1
kernels for an i486, a Pentium III and a StrongARM SA-1110, boots them under QEMU with
deterministic instruction counting, and measures the kernel's send path.

Caches live under $XDG_CACHE_HOME/specbed (default ~/.cache/specbed) and survive
between runs.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newSetupCmd())
	root.AddCommand(newSpecializeCmd())
	root.AddCommand(newImagesCmd())
	root.AddCommand(newBootCmd())
	root.AddCommand(newConsoleCmd())
	root.AddCommand(newReproduceCmd())
	root.AddCommand(newCompareCmd())
	root.AddCommand(newServeCmd())
	root.AddCommand(newScenarioCmd())
	root.AddCommand(newRunCmd())
	root.AddCommand(newProfileCmd())
	root.AddCommand(newSimCmd())
	return root
}
