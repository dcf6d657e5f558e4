package qemu

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Symbol is a kernel text symbol.
type Symbol struct {
	Name string
	Addr uint64
	// Size is the distance to the next text symbol, in bytes.
	Size uint64
}

// Symbolizer maps kernel text addresses to functions, from a System.map.
// Module addresses are outside it: an oops in a module is named only when
// the kernel printed the symbol itself (CONFIG_KALLSYMS).
type Symbolizer struct {
	syms []Symbol // sorted by Addr
}

// LoadSystemMap reads a System.map ("c1000000 T _text" lines).
func LoadSystemMap(path string) (*Symbolizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("symbols: %w", err)
	}
	defer f.Close()
	var syms []Symbol
	end := uint64(0)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			continue
		}
		addr, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil {
			continue
		}
		switch fields[1] {
		case "t", "T", "w", "W":
			syms = append(syms, Symbol{Name: fields[2], Addr: addr})
		}
		if fields[2] == "_etext" {
			end = addr
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("symbols: %s: %w", path, err)
	}
	if len(syms) == 0 {
		return nil, fmt.Errorf("symbols: %s has no text symbols", path)
	}
	sort.SliceStable(syms, func(i, j int) bool { return syms[i].Addr < syms[j].Addr })
	if end == 0 {
		end = syms[len(syms)-1].Addr
	}
	for i := range syms {
		next := end
		if i+1 < len(syms) {
			next = syms[i+1].Addr
		}
		if next > syms[i].Addr {
			syms[i].Size = next - syms[i].Addr
		}
	}
	return &Symbolizer{syms: syms}, nil
}

// Lookup returns the function holding addr and addr's offset in it.
func (s *Symbolizer) Lookup(addr uint64) (Symbol, uint64, bool) {
	i := sort.Search(len(s.syms), func(i int) bool { return s.syms[i].Addr > addr }) - 1
	if i < 0 || addr >= s.syms[i].Addr+s.syms[i].Size {
		return Symbol{}, 0, false
	}
	return s.syms[i], addr - s.syms[i].Addr, true
}

// rawAddress matches an address as oopses print it without symbols: in
// brackets "[<c1234567>]" (ARM backtraces, the "pc : " line) or as
// "0xc1234567" (%pS without CONFIG_KALLSYMS).
var rawAddress = regexp.MustCompile(`\[<([0-9a-f]{8,16})>\]|\b0x([0-9a-f]{8,16})\b`)

// Annotate appends "{func+0xoff/0xsize}" after every raw address in line
// that falls in kernel text. A nil Symbolizer leaves lines unchanged.
func (s *Symbolizer) Annotate(line string) string {
	if s == nil {
		return line
	}
	return rawAddress.ReplaceAllStringFunc(line, func(match string) string {
		sub := rawAddress.FindStringSubmatch(match)
		hex := sub[1] + sub[2]
		addr, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			return match
		}
		sym, off, ok := s.Lookup(addr)
		if !ok {
			return match
		}
		return fmt.Sprintf("%s {%s+0x%x/0x%x}", match, sym.Name, off, sym.Size)
	})
}

// faultLine matches the register-dump line that names the faulting
// instruction: x86-32 "EIP: f+0x5/0x10 [mod]", x86-64 "RIP: 0010:f+0x5/0x10",
// ARM "PC is at f+0x5/0x10" and ARM "pc : [<c0012345>]". Without
// CONFIG_KALLSYMS the first three print a bare 0x address.
var faultLine = regexp.MustCompile(`^(?:EIP: |RIP: [0-9a-f]{4}:|PC is at |pc : )(\S+)`)

// symbolOffset matches "function+0xoff/0xsize".
var symbolOffset = regexp.MustCompile(`^([A-Za-z_.$][\w.$]*)\+0x([0-9a-f]+)/0x([0-9a-f]+)$`)

// Fault is the faulting instruction of a crash.
type Fault struct {
	// Function is "" when the address is in no known function (a module
	// of a kernel without CONFIG_KALLSYMS).
	Function string
	// Offset is the instruction's offset in Function, in bytes.
	Offset uint64
	// Address is the raw address when the kernel printed one, else 0.
	Address uint64
}

// faultOf extracts the faulting instruction from one crash line.
func (s *Symbolizer) faultOf(line string) (Fault, bool) {
	m := faultLine.FindStringSubmatch(line)
	if m == nil {
		return Fault{}, false
	}
	word := strings.TrimSuffix(strings.TrimPrefix(m[1], "[<"), ">]")
	if sm := symbolOffset.FindStringSubmatch(word); sm != nil {
		off, _ := strconv.ParseUint(sm[2], 16, 64)
		return Fault{Function: sm[1], Offset: off}, true
	}
	addr, err := strconv.ParseUint(strings.TrimPrefix(word, "0x"), 16, 64)
	if err != nil {
		return Fault{}, false
	}
	f := Fault{Address: addr}
	if s != nil {
		if sym, off, ok := s.Lookup(addr); ok {
			f.Function, f.Offset = sym.Name, off
		}
	}
	return f, true
}
