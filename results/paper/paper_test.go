package paper

import "testing"

// TestValuesBelongToClaims: every number names a claim of claims.json and
// has a source, and every claim with a percentage has its number.
func TestValuesBelongToClaims(t *testing.T) {
	claims, err := Claims()
	if err != nil {
		t.Fatal(err)
	}
	values, err := Values()
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) == 0 || len(values) == 0 {
		t.Fatalf("%d claims, %d values", len(claims), len(values))
	}
	byID := map[string]Claim{}
	for _, c := range claims {
		byID[c.ID] = c
	}
	has := map[string]bool{}
	for _, v := range values {
		c, ok := byID[v.Claim]
		if !ok {
			t.Errorf("value %+v: no claim %q", v, v.Claim)
		}
		if v.Source == "" || v.Bound == "" || v.Quantity == "" {
			t.Errorf("value %+v: source, bound and quantity are required", v)
		}
		if c.ValuePct != nil && v.Value != *c.ValuePct {
			t.Errorf("value %+v: claims.json says %g", v, *c.ValuePct)
		}
		has[v.Claim] = true
	}
	for _, c := range claims {
		if c.ValuePct != nil && !has[c.ID] {
			t.Errorf("claim %s (%g%%) has no value", c.ID, *c.ValuePct)
		}
		if c.Text() == "" {
			t.Errorf("claim %s states nothing", c.ID)
		}
	}
}
