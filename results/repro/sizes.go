package repro

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"

	"specbed/images/specnet"
	"specbed/images/specnet/core"
	"specbed/images/specnet/paths"
	"specbed/results"
	"specbed/specializer"
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
	out.Rows = append(out.Rows, results.CodeSize{Platform: e.P.Name, Protocol: protocolUDP, Code: results.CodeKernel, Bytes: specnet.TotalBytes(kernel)})

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

	text, err := specnet.ObjectText(residual.Module.Ko)
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

// MeasureTCPSizes measures figure 4(b)'s TCP columns on this platform,
// as MeasureSizes does UDP's: the kernel's TCP send functions
// (specnet.KernelTCPSendPath, symbol sizes in the platform's vmlinux),
// the generic TCP path's functions (tcp.decl's) in the core module and
// the .text of the residual the count-mode loopback flow (MeasureTCPLoop)
// built from the guest's own context, all compiled for the platform's
// kernel by its kbuild and cross compiler.
func (e *Platform) MeasureTCPSizes(ctx context.Context, loop *TCPLoop) ([]results.CodeSize, error) {
	tc := specnet.Toolchain{NM: e.P.Kernel.CrossCompile + "nm"}
	kernel, err := tc.KernelSizes(ctx, e.K.Vmlinux, specnet.KernelTCPSendPath)
	if err != nil {
		return nil, fmt.Errorf("%s: kernel TCP send path: %w", e.P.Name, err)
	}
	total := specnet.TotalBytes(kernel)
	names, err := genericFunctions(filepath.Join(core.GenericDir(e.B), "tcp.decl"))
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
		generic += sizes[n]
	}
	if generic == 0 {
		return nil, fmt.Errorf("%s: none of the generic TCP path's %d functions is in %s", e.P.Name, len(names), e.Core)
	}
	text, err := specnet.ObjectText(loop.Residual.Ko)
	if err != nil {
		return nil, fmt.Errorf("%s: TCP residual module %s: %w", e.P.Name, loop.Residual.Name, err)
	}
	row := func(code string, n int) results.CodeSize {
		return results.CodeSize{Platform: e.P.Name, Protocol: protocolTCP, Code: code, Bytes: n}
	}
	return []results.CodeSize{row(results.CodeKernel, total), row(results.CodeGeneric, generic), row(results.CodeSpecialized, text)}, nil
}
