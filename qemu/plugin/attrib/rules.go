package attrib

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"strings"
)

// Layers a function's instructions are charged to (figure 4(a) stacks
// them in this order). LayerResidual is a residual module's own code: the
// specialized UDP and IP send fused into one function.
const (
	LayerSocket   = "socket"
	LayerUDP      = "udp"
	LayerTCP      = "tcp"
	LayerIP       = "ip"
	LayerDevice   = "device"
	LayerMemory   = "memory"
	LayerResidual = "residual"
	LayerOther    = "other"
)

// Layers lists every layer in the figure's order.
func Layers() []string {
	return []string{LayerSocket, LayerUDP, LayerTCP, LayerIP, LayerDevice, LayerMemory, LayerResidual, LayerOther}
}

//go:embed layers.rules
var defaultRules []byte

// Rule charges the functions whose whole name matches Pattern to Layer.
type Rule struct {
	Pattern *regexp.Regexp
	Layer   string
	Reason  string
	// Line is the rule's line in its file.
	Line int
}

// Rules is an ordered rule list: the first match wins.
type Rules []Rule

// DefaultRules are the rules of layers.rules.
func DefaultRules() Rules {
	r, err := ParseRules(defaultRules)
	if err != nil {
		panic(fmt.Sprintf("layers.rules: %v", err)) // a build-time file; its test keeps it valid
	}
	return r
}

// ParseRules reads lines "PATTERN LAYER REASON..."; blank lines and lines
// starting with # are skipped.
func ParseRules(text []byte) (Rules, error) {
	layers := map[string]bool{}
	for _, l := range Layers() {
		layers[l] = true
	}
	var out Rules
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: want PATTERN LAYER REASON", n)
		}
		re, err := regexp.Compile("^(?:" + f[0] + ")$")
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if !layers[f[1]] {
			return nil, fmt.Errorf("line %d: unknown layer %q", n, f[1])
		}
		out = append(out, Rule{Pattern: re, Layer: f[1], Reason: strings.Join(f[2:], " "), Line: n})
	}
	return out, sc.Err()
}

// Match returns the first rule matching name, or nil (the layer is then
// LayerOther).
func (rs Rules) Match(name string) *Rule {
	// GCC's clones (foo.constprop.0, foo.isra.0, foo.part.0) are foo;
	// a file name keeps its dot.
	base := name
	if !strings.HasPrefix(name, "file:") {
		base, _, _ = strings.Cut(name, ".")
	}
	for i := range rs {
		if rs[i].Pattern.MatchString(base) {
			return &rs[i]
		}
	}
	return nil
}

// FileLayer returns the layer of code compiled from source file (a base
// name), by the rules for "file:<name>".
func (rs Rules) FileLayer(file string) string { return rs.Layer("file:" + file) }

// Layer returns the layer of function name.
func (rs Rules) Layer(name string) string {
	if r := rs.Match(name); r != nil {
		return r.Layer
	}
	return LayerOther
}
