package specnet

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Send is one input of a driver run: the send and what it did.
type Send struct {
	Index int
	Input string // the driver's "I" line: descriptor, length, flags, user bytes, payload hash
	Len   uint32
	Flags uint32
	Avail uint32
	FD    int
	// Pending is the socket's up.pending before the send (frames corked).
	Pending uint32
	// Payload is the FNV-1a hash of the payload bytes the driver mapped.
	Payload string
	// Effects are the effect lines in order ("name k=v ...").
	Effects []string
	// Fallback says the residual's guards failed and the generic path ran.
	Fallback bool
	Ret      int
	// Problems are lines the mock printed about the send (leaked skbs,
	// a fallback after effects).
	Problems []string
}

// Log is the parsed output of a driver run.
type Log struct {
	Sends []Send
}

// ParseLog parses a driver's output (mock/driver.c).
func ParseLog(out []byte) (*Log, error) {
	l := &Log{}
	var cur *Send
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		kind, rest, _ := strings.Cut(text, " ")
		if kind != "I" && cur == nil {
			return nil, fmt.Errorf("log line %d: %q before any input", line, text)
		}
		switch kind {
		case "I":
			l.Sends = append(l.Sends, Send{Input: rest})
			cur = &l.Sends[len(l.Sends)-1]
			if err := cur.parseInput(rest); err != nil {
				return nil, fmt.Errorf("log line %d: %w", line, err)
			}
		case "E":
			cur.Effects = append(cur.Effects, rest)
		case "F":
			cur.Fallback = true
		case "R":
			r, err := strconv.Atoi(rest)
			if err != nil {
				return nil, fmt.Errorf("log line %d: bad return %q", line, rest)
			}
			cur.Ret = r
		case "LEAK", "BAD":
			cur.Problems = append(cur.Problems, text)
		default:
			return nil, fmt.Errorf("log line %d: unknown record %q", line, text)
		}
	}
	return l, sc.Err()
}

func (s *Send) parseInput(rest string) error {
	f := strings.Fields(rest)
	if len(f) != 7 {
		return fmt.Errorf("bad input line %q", rest)
	}
	var err error
	if s.Index, err = strconv.Atoi(f[0]); err != nil {
		return err
	}
	kv := map[string]string{}
	for _, x := range f[1:] {
		k, v, _ := strings.Cut(x, "=")
		kv[k] = v
	}
	num := func(k string) uint32 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = strconv.ParseUint(kv[k], 0, 32)
		return uint32(v)
	}
	s.Len, s.Flags, s.Avail, s.Pending = num("len"), num("flags"), num("avail"), num("pending")
	fd, ferr := strconv.Atoi(kv["fd"])
	if ferr != nil {
		return ferr
	}
	s.FD, s.Payload = fd, kv["payload"]
	return err
}

// Effect returns an effect's name and its key=value arguments.
func Effect(line string) (string, map[string]string) {
	f := strings.Fields(line)
	args := map[string]string{}
	for _, x := range f[1:] {
		k, v, _ := strings.Cut(x, "=")
		args[k] = v
	}
	return f[0], args
}

// Diff compares the run of the generic path (want) with the run of a
// residual (got) over the same inputs: the same effects with the same
// arguments (bytes handed to the device included) and the same return
// value per send. It returns a description of the first difference, or "".
func Diff(want, got *Log) string {
	if len(want.Sends) != len(got.Sends) {
		return fmt.Sprintf("%d sends, residual run has %d", len(want.Sends), len(got.Sends))
	}
	for i := range want.Sends {
		w, g := &want.Sends[i], &got.Sends[i]
		if w.Input != g.Input {
			return fmt.Sprintf("send %d: input %q, residual run %q", i, w.Input, g.Input)
		}
		n := len(w.Effects)
		if len(g.Effects) < n {
			n = len(g.Effects)
		}
		for j := 0; j < n; j++ {
			if w.Effects[j] != g.Effects[j] {
				return fmt.Sprintf("send %d (%s), effect %d:\n  generic:  %s\n  residual: %s%s",
					i, w.Input, j, clip(w.Effects[j]), clip(g.Effects[j]), context3(w.Effects, j))
			}
		}
		if len(w.Effects) != len(g.Effects) {
			return fmt.Sprintf("send %d (%s): generic has %d effects, residual %d (first extra: %s)",
				i, w.Input, len(w.Effects), len(g.Effects), clip(extra(w.Effects, g.Effects)))
		}
		if w.Ret != g.Ret {
			return fmt.Sprintf("send %d (%s): generic returns %d, residual %d", i, w.Input, w.Ret, g.Ret)
		}
		if strings.Join(w.Problems, ";") != strings.Join(g.Problems, ";") {
			return fmt.Sprintf("send %d (%s): generic problems %q, residual %q", i, w.Input, w.Problems, g.Problems)
		}
	}
	return ""
}

func extra(a, b []string) string {
	if len(a) > len(b) {
		return "generic " + a[len(b)]
	}
	return "residual " + b[len(a)]
}

func context3(effects []string, j int) string {
	var b strings.Builder
	b.WriteString("\n  after:")
	for k := j - 3; k < j; k++ {
		if k >= 0 {
			b.WriteString("\n    " + clip(effects[k]))
		}
	}
	return b.String()
}

func clip(s string) string {
	if len(s) > 240 {
		return s[:240] + "..."
	}
	return s
}
