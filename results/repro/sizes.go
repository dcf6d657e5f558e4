package repro

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"specbed/images/specnet"
	"specbed/images/specnet/core"
	"specbed/images/specnet/paths"
	"specbed/results"
	"specbed/specializer"
	"specbed/specializer/ctxschema"
	"specbed/specializer/ir"
)

// CodeSizes is figure 4(b) for one platform, with what each number covers.
type CodeSizes struct {
	Rows []results.CodeSize
	// GenericFunctions counts the generic path's functions found in the
	// core module (the others were inlined into their callers, whose
	// sizes hold them).
	GenericFunctions, GenericDeclared int
}

// MeasureSizes measures the send path's code on this platform: the
// kernel's own (specnet.KernelSendPath, symbol sizes in vmlinux), the
// generic path's functions in the core module and the residual's .text,
// all compiled for the platform's kernel.
func (e *Platform) MeasureSizes(ctx context.Context, residual *paths.Residual) (*CodeSizes, error) {
	// The kernel's cross binutils; nm of the host reads i386 too.
	tc := specnet.Toolchain{NM: e.P.Kernel.CrossCompile + "nm"}
	kernel, err := tc.KernelSizes(ctx, e.K.Vmlinux, specnet.KernelSendPath)
	if err != nil {
		return nil, fmt.Errorf("%s: kernel send path: %w", e.P.Name, err)
	}
	out := &CodeSizes{}
	total := 0
	for _, n := range kernel {
		total += n
	}
	out.Rows = append(out.Rows, results.CodeSize{Platform: e.P.Name, Protocol: protocolUDP, Code: results.CodeKernel, Bytes: total})

	names, err := genericFunctions(filepath.Join(core.GenericDir(e.B), "udp.decl"))
	if err != nil {
		return nil, err
	}
	coreKo, err := os.ReadFile(e.Core)
	if err != nil {
		return nil, err
	}
	sizes, err := functionSizes(coreKo)
	if err != nil {
		return nil, fmt.Errorf("%s: core module: %w", e.P.Name, err)
	}
	generic := 0
	for _, n := range names {
		if size, ok := sizes[n]; ok {
			generic += size
			out.GenericFunctions++
		}
	}
	out.GenericDeclared = len(names)
	if out.GenericFunctions == 0 {
		return nil, fmt.Errorf("%s: none of the generic path's %d functions is in %s", e.P.Name, len(names), e.Core)
	}
	out.Rows = append(out.Rows, results.CodeSize{Platform: e.P.Name, Protocol: protocolUDP, Code: results.CodeGeneric, Bytes: generic})

	text, err := textBytes(residual.Module.Ko)
	if err != nil {
		return nil, fmt.Errorf("%s: residual module %s: %w", e.P.Name, residual.Name, err)
	}
	out.Rows = append(out.Rows, results.CodeSize{Platform: e.P.Name, Protocol: protocolUDP, Code: results.CodeSpecialized, Bytes: text})
	return out, nil
}

// genericFunctions names the functions with a body in the generic path
// the declaration file names (shims are the kernel's, not the path's).
func genericFunctions(decl string) ([]string, error) {
	u, err := specializer.Load(decl)
	if err != nil {
		return nil, fmt.Errorf("generic path: %w", err)
	}
	var names []string
	for _, f := range u.Prog.Funcs {
		if f.Body != nil && f.Shim == ir.NotShim {
			names = append(names, f.Name)
		}
	}
	return names, nil
}

// functionSizes returns the sizes (bytes) of an object's function symbols.
func functionSizes(obj []byte) (map[string]int, error) {
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		return nil, err
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Size > 0 {
			out[s.Name] += int(s.Size)
		}
	}
	return out, nil
}

// textBytes adds up an object's .text sections (.text and .text.*: not
// .init.text or .exit.text, the module's load and unload code).
func textBytes(obj []byte) (int, error) {
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		return 0, err
	}
	total := 0
	for _, s := range f.Sections {
		if s.Name == ".text" || strings.HasPrefix(s.Name, ".text.") {
			total += int(s.Size)
		}
	}
	if total == 0 {
		return 0, fmt.Errorf("no .text")
	}
	return total, nil
}

// TCPContext is the TCP test context whose residual figure 4(b) sizes:
// two-MSS records on an established socket without GSO.
const TCPContext = "tcp-typical"

// tcpSizePlatform is the platform whose code generation flags
// specnet.Toolchain compiles with.
const tcpSizePlatform = "i486"

// MeasureTCPSizes measures figure 4(b)'s TCP columns: the kernel's TCP
// send functions (specnet.KernelTCPSendPath, vmlinux symbol sizes), the
// generic TCP path and the residual of TCPContext, both compiled with the
// i486 kernel's code generation flags (specnet.Toolchain.TextSize). The
// TCP path has no kernel side yet (no core module, no guest context), so
// this is the i486 alone, with a host-side context: other platforms get
// no rows.
func (e *Platform) MeasureTCPSizes(ctx context.Context) ([]results.CodeSize, error) {
	if e.P.Name != tcpSizePlatform {
		return nil, nil
	}
	tc := specnet.DefaultToolchain()
	kernel, err := tc.KernelSizes(ctx, e.K.Vmlinux, specnet.KernelTCPSendPath)
	if err != nil {
		return nil, fmt.Errorf("%s: kernel TCP send path: %w", e.P.Name, err)
	}
	total := 0
	for _, n := range kernel {
		total += n
	}
	dir, err := os.MkdirTemp("", "specbed-tcp-size-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	genericDir := core.GenericDir(e.B)
	var srcs []string
	for _, f := range specnet.TCPGenericSources {
		srcs = append(srcs, filepath.Join(genericDir, f))
	}
	generic, err := tc.TextSize(ctx, dir, nil, srcs...)
	if err != nil {
		return nil, fmt.Errorf("%s: generic TCP path: %w", e.P.Name, err)
	}
	residual, err := tcpResidualSize(ctx, tc, dir, genericDir)
	if err != nil {
		return nil, fmt.Errorf("%s: TCP residual: %w", e.P.Name, err)
	}
	row := func(code string, n int) results.CodeSize {
		return results.CodeSize{Platform: e.P.Name, Protocol: "tcp", Code: code, Bytes: n}
	}
	return []results.CodeSize{row(results.CodeKernel, total), row(results.CodeGeneric, generic), row(results.CodeSpecialized, residual)}, nil
}

// tcpResidualSize specializes the generic TCP path for TCPContext and
// returns the bytes of the residual's code.
func tcpResidualSize(ctx context.Context, tc specnet.Toolchain, dir, genericDir string) (int, error) {
	u, err := specializer.Load(filepath.Join(genericDir, "tcp.decl"))
	if err != nil {
		return 0, err
	}
	for _, c := range specnet.TCPContexts() {
		if c.Name != TCPContext {
			continue
		}
		cx, err := ctxschema.Load(c.JSON)
		if err != nil {
			return 0, err
		}
		out, err := u.Specialize(cx)
		if err != nil {
			return 0, err
		}
		src := filepath.Join(dir, c.Name+"_residual.c")
		if err := os.WriteFile(src, out.C, 0o644); err != nil {
			return 0, err
		}
		return tc.TextSize(ctx, dir, []string{genericDir}, src)
	}
	return 0, fmt.Errorf("specnet has no TCP context %s", TCPContext)
}
