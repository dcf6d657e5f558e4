package images

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// Instruction is one disassembled instruction of a binary.
type Instruction struct {
	// Address is the instruction's virtual address.
	Address uint64
	// Function is the symbol the instruction belongs to.
	Function string
	// Text is the mnemonic and operands as objdump prints them, with
	// runs of blanks turned into one space and comments dropped.
	Text string
}

func (i Instruction) String() string {
	return fmt.Sprintf("%#x <%s>: %s", i.Address, i.Function, i.Text)
}

// ForbiddenInstructionError reports instructions that the target CPU lacks.
type ForbiddenInstructionError struct {
	Binary  string
	Pattern string
	Found   []Instruction
}

// maxReported caps how many instructions the error message lists.
const maxReported = 10

func (e *ForbiddenInstructionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d instruction(s) the CPU lacks (matching %s)", e.Binary, len(e.Found), e.Pattern)
	for i, insn := range e.Found {
		if i == maxReported {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Found)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %s", insn)
	}
	return b.String()
}

// CheckInstructions disassembles the executable sections of path with
// <objdumpPrefix>objdump and returns a *ForbiddenInstructionError listing
// every instruction whose text matches forbidden. The compiler's -march
// cannot guarantee this alone: libgcc, nolibc's assembly and inline
// assembly bypass it, and QEMU executes some instructions the emulated
// CPU never had (RDTSC on a 486), so a wrong binary would run and skew
// results instead of failing.
func CheckInstructions(ctx context.Context, objdumpPrefix, forbidden, path string) error {
	re, err := regexp.Compile(forbidden)
	if err != nil {
		return fmt.Errorf("forbidden instruction pattern: %w", err)
	}
	insns, err := Disassemble(ctx, objdumpPrefix, path)
	if err != nil {
		return err
	}
	var bad []Instruction
	for _, insn := range insns {
		if re.MatchString(insn.Text) {
			bad = append(bad, insn)
		}
	}
	if len(bad) > 0 {
		return &ForbiddenInstructionError{Binary: path, Pattern: forbidden, Found: bad}
	}
	return nil
}

// Disassemble returns the instructions of path's executable sections, as
// <objdumpPrefix>objdump shows them; a binary without any is an error.
func Disassemble(ctx context.Context, objdumpPrefix, path string) ([]Instruction, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, objdumpPrefix+"objdump", "-d", "--no-show-raw-insn", "-w", path)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("disassemble %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	insns, err := parseObjdump(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("disassemble %s: %w", path, err)
	}
	if len(insns) == 0 {
		return nil, fmt.Errorf("disassemble %s: no instructions found", path)
	}
	return insns, nil
}

var (
	// "08049000 <_start>:" starts a function.
	objdumpSymbol = regexp.MustCompile(`^[0-9a-f]+ <(.+)>:$`)
	// " 8049000:\tpop    %eax" is an instruction (x86 separates the
	// operands by spaces, ARM by a tab, and a tab precedes comments).
	objdumpInsn = regexp.MustCompile(`^ *([0-9a-f]+):\t(.*)$`)
)

// parseObjdump reads the instructions of "objdump -d --no-show-raw-insn"
// output. Data that objdump shows in code sections (".word", ARM literal
// pools marked by mapping symbols) is not an instruction and is skipped.
func parseObjdump(out []byte) ([]Instruction, error) {
	var insns []Instruction
	function := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if m := objdumpSymbol.FindStringSubmatch(line); m != nil {
			function = m[1]
			continue
		}
		m := objdumpInsn.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		addr, err := strconv.ParseUint(m[1], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("address in %q: %w", line, err)
		}
		fields := strings.Split(m[2], "\t")
		if len(fields) > 2 {
			fields = fields[:2] // drop "@ ..." and "# ..." comments
		}
		text := strings.Join(strings.Fields(strings.Join(fields, " ")), " ")
		if text == "" || strings.HasPrefix(text, ".") {
			continue
		}
		insns = append(insns, Instruction{Address: addr, Function: function, Text: text})
	}
	return insns, sc.Err()
}
