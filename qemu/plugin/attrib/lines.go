package attrib

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
)

// SourceLine is a position in a C source file.
type SourceLine struct {
	// File is the source file's base name (the specializer's #line
	// directives name the generic path's files: udp.c, ip.c, ...).
	File string
	Line int
}

// Lines maps offsets in a relocatable object's code section to the source
// lines they were compiled from (its DWARF line table).
type Lines struct {
	// Section is the code section the offsets are in.
	Section string
	rows    []lineRow // sorted by offset
}

type lineRow struct {
	offset uint64
	line   SourceLine
	end    bool // the first offset after a sequence
}

// ErrNoLines says an object carries no line table.
var ErrNoLines = errors.New("no DWARF line table")

// LoadLines reads the line table of the relocatable object at path (a
// module). Offsets of a relocatable object are relative to their section,
// and a line table does not say which: the object must have one code
// section outside module init and exit code, and that is the one.
func LoadLines(path string) (*Lines, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Section(".debug_line") == nil {
		return nil, ErrNoLines
	}
	// Code sections are those with "text" in their name, as the guest's
	// sections step reports them (an ARM module's .plt holds veneers the
	// loader writes, not compiled code).
	var code []string
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_EXECINSTR != 0 && s.Size > 0 && strings.Contains(s.Name, "text") &&
			s.Name != ".init.text" && s.Name != ".exit.text" {
			code = append(code, s.Name)
		}
	}
	if len(code) != 1 {
		return nil, fmt.Errorf("%s: line offsets would be ambiguous across code sections %v", filepath.Base(path), code)
	}
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	l := &Lines{Section: code[0]}
	r := d.Reader()
	for {
		cu, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		if cu == nil {
			break
		}
		if cu.Tag != dwarf.TagCompileUnit {
			r.SkipChildren()
			continue
		}
		lr, err := d.LineReader(cu)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		r.SkipChildren()
		if lr == nil {
			continue
		}
		var e dwarf.LineEntry
		for {
			if err := lr.Next(&e); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
			}
			row := lineRow{offset: e.Address, end: e.EndSequence}
			if e.File != nil {
				row.line = SourceLine{File: filepath.Base(e.File.Name), Line: e.Line}
			}
			l.rows = append(l.rows, row)
		}
	}
	if len(l.rows) == 0 {
		return nil, ErrNoLines
	}
	sort.SliceStable(l.rows, func(i, j int) bool { return l.rows[i].offset < l.rows[j].offset })
	return l, nil
}

// Lookup returns the source line of the instruction at offset.
func (l *Lines) Lookup(offset uint64) (SourceLine, bool) {
	i := sort.Search(len(l.rows), func(i int) bool { return l.rows[i].offset > offset })
	if i == 0 {
		return SourceLine{}, false
	}
	// Among rows at the same offset, an end of sequence comes with the
	// start of the next: prefer a row that is not an end.
	for j := i - 1; j >= 0 && l.rows[j].offset == l.rows[i-1].offset; j-- {
		if !l.rows[j].end {
			return l.rows[j].line, l.rows[j].line.File != ""
		}
	}
	return SourceLine{}, false
}
