// Package paper holds the published numbers of Bhatia, Consel, Le Meur and
// Pu (LCN 2004) as data: claims.json lists every claim the paper makes (a
// copy of the project's reference list), values.json the numbers those
// claims state, each with the section and paragraph it is read from. The
// paper's figures are not in its text, so only the numbers the text gives
// are here.
package paper

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed claims.json
var claimsJSON []byte

//go:embed values.json
var valuesJSON []byte

// Claim is one claim of the paper, as claims.json words it.
type Claim struct {
	ID       string `json:"id"`
	Figure   string `json:"figure"`
	What     string `json:"what"`
	Platform string `json:"platform"`
	// Value is the claim in words; ValuePct, when set, the percentage.
	Value    string   `json:"value"`
	ValuePct *float64 `json:"value_pct"`
}

// Text is the claim's value as the paper states it.
func (c Claim) Text() string {
	if c.Value != "" {
		return c.Value
	}
	if c.ValuePct != nil {
		return fmt.Sprintf("about %g%%", *c.ValuePct)
	}
	return ""
}

// Quantities of values.json.
const (
	// FewerCyclesPct: how many percent fewer CPU cycles the specialized
	// code takes than the original.
	FewerCyclesPct = "fewer_cycles_pct"
	// SpecializedSharePct: the specialized code's compiled size, in
	// percent of the original's.
	SpecializedSharePct = "specialized_share_pct"
	// ThroughputGainPct: throughput after specialization over before,
	// less one, in percent.
	ThroughputGainPct = "throughput_gain_pct"
)

// Value is one number the paper states.
type Value struct {
	Claim    string `json:"claim"`
	Figure   string `json:"figure"`
	Platform string `json:"platform"`
	Protocol string `json:"protocol"`
	// SizeBytes is the message (UDP) or segment (TCP) size, 0 if none.
	SizeBytes int    `json:"size_bytes"`
	Quantity  string `json:"quantity"`
	// Bound is how the text qualifies the number: "about", "less than",
	// "up to".
	Bound  string  `json:"bound"`
	Value  float64 `json:"value"`
	Source string  `json:"source"`
}

// Claims returns the paper's claims in claims.json's order.
func Claims() ([]Claim, error) {
	var f struct {
		Claims []Claim `json:"claims"`
	}
	if err := json.Unmarshal(claimsJSON, &f); err != nil {
		return nil, fmt.Errorf("paper: claims.json: %w", err)
	}
	return f.Claims, nil
}

// Values returns the paper's numbers in values.json's order.
func Values() ([]Value, error) {
	var f struct {
		Values []Value `json:"values"`
	}
	if err := json.Unmarshal(valuesJSON, &f); err != nil {
		return nil, fmt.Errorf("paper: values.json: %w", err)
	}
	return f.Values, nil
}

// Platforms maps the paper's platform names (claims.json) to specbed's
// (qemu.Platform.Name): the same today, kept as data so a rename shows.
var Platforms = map[string]string{"p3": "p3", "i486": "i486", "sa1100": "sa1100"}
