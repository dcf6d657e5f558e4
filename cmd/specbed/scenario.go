package main

import (
	"fmt"
	"io"

	"github.com/hashicorp/go-multierror"
	"github.com/spf13/cobra"

	"specbed/scenarios"
)

func newScenarioCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenario",
		Short: "Check scenario files and print their JSON Schema",
		Long: `A scenario file describes one experiment in YAML: platforms, clock mode, topology,
workload, specialization, a timeline of events and expectations (scenarios/README.md).
'specbed run' runs them.`,
	}
	cmd.AddCommand(newScenarioValidateCmd(), newScenarioSchemaCmd())
	return cmd
}

func newScenarioValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Report every error in scenario files, with file:line:column",
		Long: `validate reads each file and reports every problem it finds (not only the first),
one a line as FILE:LINE:COLUMN: KEY: MESSAGE with the allowed values. It exits non-zero
when any file has an error.`,
		Example: `  specbed scenario validate scenarios/*/*.yaml`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return validateScenarios(cmd.OutOrStdout(), args, true)
		},
	}
}

// validateScenarios prints every error of every file (and, with
// sayOK, the files without any); the returned error counts them.
func validateScenarios(w io.Writer, files []string, sayOK bool) error {
	bad := 0
	for _, f := range files {
		_, err := scenarios.Load(f)
		if err == nil {
			if sayOK {
				fmt.Fprintf(w, "%s: ok\n", f)
			}
			continue
		}
		bad++
		if merr, ok := err.(*multierror.Error); ok {
			for _, e := range merr.Errors {
				fmt.Fprintln(w, e)
			}
		} else {
			fmt.Fprintln(w, err)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d scenario files have errors", bad, len(files))
	}
	return nil
}

func newScenarioSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files (for editors)",
		Long: `schema prints a JSON Schema (draft 2020-12) made from the scenario format's Go
types: keys, types, enums and ranges. Checks across keys (which keys an event takes,
times within the workload) are validate's alone.`,
		Example: `  specbed scenario schema > scenario.schema.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := scenarios.Schema()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
}
