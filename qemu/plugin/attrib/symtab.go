// Package attrib names what a TCG plugin counted: the function an
// instruction address belongs to (the kernel's, from vmlinux; a module's,
// from its file and the load addresses the guest reported; the agent's,
// from its static binary) and the layer of the network stack a function
// belongs to (rules in layers.rules, with reasons).
package attrib

import (
	"debug/elf"
	"fmt"
	"sort"
	"strings"
)

// Func is one function's code in the guest's address space.
type Func struct {
	// Name is the symbol; Object the file it comes from: "vmlinux", a
	// module's name, or "agent".
	Name   string
	Object string
	// [Start, End) are guest virtual addresses.
	Start, End uint64
}

// String is "name" for the kernel and "object:name" otherwise.
func (f *Func) String() string {
	if f.Object == ObjectKernel {
		return f.Name
	}
	return f.Object + ":" + f.Name
}

// ObjectKernel and ObjectAgent name the kernel image and the agent.
const (
	ObjectKernel = "vmlinux"
	ObjectAgent  = "agent"
)

// Table finds the function that holds an address.
type Table struct {
	funcs []*Func // sorted by Start, disjoint
}

// NewTable returns a table of funcs, which must not overlap.
func NewTable(funcs ...*Func) (*Table, error) {
	t := &Table{}
	return t, t.Add(&Table{funcs: funcs})
}

// Funcs returns the table's functions by address.
func (t *Table) Funcs() []*Func { return t.funcs }

// Lookup returns the function holding addr, or nil.
func (t *Table) Lookup(addr uint64) *Func {
	i := sort.Search(len(t.funcs), func(i int) bool { return t.funcs[i].End > addr })
	if i < len(t.funcs) && t.funcs[i].Start <= addr {
		return t.funcs[i]
	}
	return nil
}

// Add merges the functions of other into t.
func (t *Table) Add(other *Table) error {
	all := append(append([]*Func(nil), t.funcs...), other.funcs...)
	sort.Slice(all, func(i, j int) bool { return all[i].Start < all[j].Start })
	for i := 1; i < len(all); i++ {
		if all[i].Start < all[i-1].End {
			return fmt.Errorf("symbols: %s [%#x, %#x) overlaps %s [%#x, %#x)",
				all[i], all[i].Start, all[i].End, all[i-1], all[i-1].Start, all[i-1].End)
		}
	}
	t.funcs = all
	return nil
}

// LoadELF reads the code symbols of an ELF file as object. Each code
// section is cut at its symbols: a symbol covers its code up to the next
// symbol or the section's end, so that code without a sized symbol (the
// kernel's assembly entry points) still has a name. bases, for a
// relocatable module, gives each code section's load address (the guest's
// sections step); a section without one is left out. For an executable
// (vmlinux, the agent) bases is nil and symbol values are addresses.
func LoadELF(path, object string, bases map[string]uint64) (*Table, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("symbols of %s: %w", object, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("symbols of %s: %w", object, err)
	}
	relocatable := f.Type == elf.ET_REL
	type sectionCode struct {
		name       string
		start, end uint64
		funcs      []*Func
	}
	sections := map[elf.SectionIndex]*sectionCode{}
	for i, s := range f.Sections {
		if s.Flags&elf.SHF_EXECINSTR == 0 || s.Flags&elf.SHF_ALLOC == 0 || s.Size == 0 {
			continue
		}
		start := s.Addr
		if relocatable {
			base, ok := bases[s.Name]
			if !ok {
				continue
			}
			start = base
		}
		sections[elf.SectionIndex(i)] = &sectionCode{name: s.Name, start: start, end: start + s.Size}
	}
	for _, s := range syms {
		sec := sections[s.Section]
		typ := elf.ST_TYPE(s.Info)
		if sec == nil || (typ != elf.STT_FUNC && typ != elf.STT_NOTYPE) || !isCodeName(s.Name) {
			continue
		}
		addr := s.Value
		if relocatable {
			addr += sec.start
		}
		if addr < sec.start || addr >= sec.end {
			continue
		}
		sec.funcs = append(sec.funcs, &Func{Name: s.Name, Object: object, Start: addr})
	}
	t := &Table{}
	for _, sec := range sections {
		fs := sec.funcs
		sort.SliceStable(fs, func(i, j int) bool {
			if fs[i].Start != fs[j].Start {
				return fs[i].Start < fs[j].Start
			}
			return preferName(fs[i].Name, fs[j].Name)
		})
		var kept []*Func
		for _, fn := range fs {
			// Aliases share an address: the preferred name stays.
			if len(kept) > 0 && kept[len(kept)-1].Start == fn.Start {
				continue
			}
			kept = append(kept, fn)
		}
		if len(kept) == 0 || kept[0].Start > sec.start {
			// Code before the first symbol is the section's own.
			kept = append([]*Func{{Name: "(" + sec.name + ")", Object: object, Start: sec.start}}, kept...)
		}
		for i, fn := range kept {
			fn.End = sec.end
			if i+1 < len(kept) {
				fn.End = kept[i+1].Start
			}
		}
		if err := t.Add(&Table{funcs: kept}); err != nil {
			return nil, fmt.Errorf("symbols of %s: %w", object, err)
		}
	}
	if len(t.funcs) == 0 {
		return nil, fmt.Errorf("symbols of %s: no code symbol in a loaded section", object)
	}
	return t, nil
}

// isCodeName drops the names that mark places rather than functions:
// ARM mapping symbols ($a, $d, $t) and local labels.
func isCodeName(name string) bool {
	return name != "" && !strings.HasPrefix(name, "$") && !strings.HasPrefix(name, ".L")
}

// preferName orders aliases: a name without leading underscores first,
// then the shorter, then alphabetical.
func preferName(a, b string) bool {
	ua, ub := strings.HasPrefix(a, "_"), strings.HasPrefix(b, "_")
	if ua != ub {
		return !ua
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
