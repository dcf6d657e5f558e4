package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"specbed/specializer"
	"specbed/specializer/ctxschema"
	"specbed/specializer/report"
)

func newSpecializeCmd() *cobra.Command {
	var declPath, ctxPath, out, html, summary string
	cmd := &cobra.Command{
		Use:   "specialize --decl F --context C.json -o out.c [--report out.html]",
		Short: "Specialize the generic send path for a context (residual C, binding-time report)",
		Long: `specialize reads a declaration file (specializer/DECL.md), parses the generic C it names,
runs the binding-time analysis, checks the context (specializer/ctxschema/schema.json) against
the declarations, and writes the residual C: the entry specialized for the context's static
values, with #line directives back to the generic source. --report writes an HTML page of the
generic source coloured by binding time; --summary prints the counts as text or json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := specializer.Load(declPath)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(ctxPath)
			if err != nil {
				return fmt.Errorf("context: %w", err)
			}
			ctx, err := ctxschema.Load(data)
			if err != nil {
				return fmt.Errorf("%s: %w", ctxPath, err)
			}
			res, err := u.Specialize(ctx)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, res.C, 0o644); err != nil {
				return fmt.Errorf("residual: %w", err)
			}
			rep := report.Build(u.Prog, u.BTA, res.Residual, res.Lines)
			if html != "" {
				f, err := os.Create(html)
				if err != nil {
					return fmt.Errorf("report: %w", err)
				}
				if err := rep.HTML(f); err != nil {
					f.Close()
					return fmt.Errorf("report: %w", err)
				}
				if err := f.Close(); err != nil {
					return fmt.Errorf("report: %w", err)
				}
			}
			switch summary {
			case "text":
				return rep.Text(cmd.OutOrStdout())
			case "json":
				return rep.JSON(cmd.OutOrStdout())
			case "none":
				return nil
			}
			return fmt.Errorf("--summary: want text, json or none, not %q", summary)
		},
	}
	cmd.Flags().StringVar(&declPath, "decl", "", "declaration file (.decl)")
	cmd.Flags().StringVar(&ctxPath, "context", "", "context JSON (specbed.context/v1)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "residual C file to write")
	cmd.Flags().StringVar(&html, "report", "", "HTML binding-time report to write")
	cmd.Flags().StringVar(&summary, "summary", "text", "print counts: text, json or none")
	for _, f := range []string{"decl", "context", "output"} {
		if err := cmd.MarkFlagRequired(f); err != nil {
			panic(err) // the flags are defined just above
		}
	}
	return cmd
}
