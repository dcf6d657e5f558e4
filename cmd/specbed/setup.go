package main

import (
	"github.com/spf13/cobra"

	"specbed/internal/hostdeps"
)

func newSetupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "setup",
		Short: "Install the Debian packages specbed needs (a no-op when present)",
		Long: `setup checks with dpkg for QEMU (x86 and ARM), Debian's linux-source-6.1, the i686 and
ARM EABI cross compilers and the kernel build tools, runs 'apt-get update' once and
installs whatever is missing. When everything is present it does nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return hostdeps.Ensure(cmd.Context(), cmd.OutOrStdout(), hostdeps.Packages)
		},
	}
}
