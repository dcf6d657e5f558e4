package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"specbed/qemu"
)

func newConsoleCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "console [ID]",
		Short: "Follow a running guest's console, or list the running guests",
		Long: `console prints a guest's console from its first line and follows it until the
guest ends (Ctrl-C stops following, not the guest). ID is the guest's id or a
unique prefix of it. Without ID it lists the running guests.

Every guest's console is logged in its run folder under the cache (run/<id>/); a
failed run keeps its folder, a successful one removes it unless booted with
--keep-log.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runRoot, err := qemu.DefaultRunRoot()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return listGuests(runRoot, cmd.OutOrStdout())
			}
			return qemu.FollowConsole(cmd.Context(), runRoot, args[0], cmd.OutOrStdout())
		},
	}
}

// listGuests prints the running guests.
func listGuests(runRoot string, w io.Writer) error {
	guests, err := qemu.ListGuests(runRoot)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPLATFORM\tMODE\tSHIFT\tQEMU PID\tRUNNING FOR\tLOG")
	running := 0
	for _, g := range guests {
		if !g.Alive() {
			continue
		}
		running++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", g.ID, g.Platform, g.Mode, g.IcountShift, g.QEMUPID,
			time.Since(g.Started).Round(time.Second), g.Log)
	}
	if running == 0 {
		_, err := fmt.Fprintf(w, "no running guests (run folders: %s)\n", runRoot)
		return err
	}
	return tw.Flush()
}
