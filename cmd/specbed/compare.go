package main

import (
	"errors"

	"github.com/spf13/cobra"

	"specbed/results"
)

// errPastThreshold is compare's error when a difference is past its
// threshold; the table above it names the values.
var errPastThreshold = errors.New("compare: differences past the threshold")

func newCompareCmd() *cobra.Command {
	th := results.DefaultThresholds()
	countTh, timeTh := th[results.KindCount], th[results.KindTime]
	cmd := &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Compare two result bundles figure by figure; exit non-zero past the thresholds",
		Long: `compare reads two result bundles (folders made by 'specbed reproduce', or their
bundle.json) and prints every value of our figures that differs, with its relative
difference |B - A| / |A|. A value present in one run only counts as a difference.

Thresholds are relative and per kind of figure: instruction counts and code sizes
(count mode) must match exactly by default (--threshold 0); host-timed figures
(network mode, wall time) may move by --time-threshold (default 1.0, i.e. 100%).
The exit status is non-zero when a difference is past its threshold, for CI.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := results.Read(args[0])
			if err != nil {
				return err
			}
			b, err := results.Read(args[1])
			if err != nil {
				return err
			}
			c := results.Compare(a, b, results.Thresholds{results.KindCount: countTh, results.KindTime: timeTh})
			c.Print(cmd.OutOrStdout())
			if c.Failed() {
				return errPastThreshold
			}
			return nil
		},
	}
	cmd.Flags().Float64Var(&countTh, "threshold", countTh, "relative difference allowed in count-mode figures (instructions, bytes)")
	cmd.Flags().Float64Var(&timeTh, "time-threshold", timeTh, "relative difference allowed in host-timed figures")
	return cmd
}
