package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"specbed/images/specnet"
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
values, with #line directives back to the generic source.

  --decl     the declarations: entry function, what is static, dynamic or bound per instance,
             guards (images/specnet/generic/udp.decl for the UDP send path)
  --context  the static values, JSON of schema specbed.context/v1, in the form the guest's
             CUSTOMIZE produces; every declared static key must be there, typed and in range
  --report   an HTML page of the generic source coloured by binding time (static, dynamic,
             both across call sites) with the counts; --summary prints the counts (branches
             removed, loops unrolled, calls inlined, lines kept) as text or json

The test contexts of the UDP path are written by "specbed specialize contexts", e.g.:

  specbed specialize contexts -o out/contexts
  specbed specialize --decl images/specnet/generic/udp.decl \
      --context out/contexts/typical.json -o out/typical.c --report out/typical.html`,
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
	cmd.AddCommand(newSpecializeContextsCmd())
	return cmd
}

// newSpecializeContextsCmd writes the UDP and TCP paths' test contexts (images/specnet) as context files.
func newSpecializeContextsCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "contexts -o DIR [NAME...]",
		Short: "Write the UDP and TCP send paths' test contexts as specbed.context/v1 files",
		Long: `contexts writes DIR/NAME.json for each named test context of the generic UDP and TCP send
paths (all of them without names), the contexts the differential tests run
(images/specnet/contexts.go, tcp_contexts.go: the TCP ones are named tcp-*). Each file says in its
first line (its label) that it is generated. Use one with
"specbed specialize --decl images/specnet/generic/udp.decl --context DIR/NAME.json", or
tcp.decl for a tcp-* context.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			all := append(specnet.Contexts(), specnet.TCPContexts()...)
			want := map[string]bool{}
			for _, n := range names {
				want[n] = true
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("contexts: %w", err)
			}
			var known []string
			named := len(want) > 0
			for _, c := range all {
				known = append(known, c.Name)
				if named && !want[c.Name] {
					continue
				}
				delete(want, c.Name)
				data, err := generatedContext(c)
				if err != nil {
					return fmt.Errorf("context %s: %w", c.Name, err)
				}
				name := filepath.Join(dir, c.Name+".json")
				if err := os.WriteFile(name, data, 0o644); err != nil {
					return fmt.Errorf("context %s: %w", c.Name, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", name, c.Doc)
			}
			for n := range want {
				return fmt.Errorf("no test context %q (have: %s)", n, strings.Join(known, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&dir, "output", "o", "", "directory to write NAME.json into")
	if err := cmd.MarkFlagRequired("output"); err != nil {
		panic(err) // the flag is defined just above
	}
	return cmd
}

// generatedContext is a test context's JSON with its label first, on the first line, saying
// that the file is generated.
func generatedContext(c specnet.Context) ([]byte, error) {
	var doc struct {
		Schema string          `json:"schema"`
		Values json.RawMessage `json:"values"`
	}
	if err := json.Unmarshal(c.JSON, &doc); err != nil {
		return nil, err
	}
	label, err := json.Marshal(c.Name + ", generated by specbed specialize contexts")
	if err != nil {
		return nil, err
	}
	rest, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\"label\": %s,\n", label)
	b.Write(bytes.TrimPrefix(rest, []byte("{\n")))
	b.WriteByte('\n')
	return b.Bytes(), nil
}
