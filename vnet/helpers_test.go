package vnet

import "net/netip"

// pairTopology is two hosts, a (10.9.0.1) and b (10.9.0.2), on link "ab"
// with the given parameters.
func pairTopology(l LinkSpec) Topology {
	l.Name, l.Framing = "ab", FramingEthernet
	l.A, l.B = Port{"a", 0}, Port{"b", 0}
	return Topology{
		Nodes: []NodeSpec{
			{Name: "a", Kind: NodeHost, NICs: []NICSpec{{MAC: "52:54:00:aa:00:01", Addr: netip.MustParsePrefix("10.9.0.1/24")}}},
			{Name: "b", Kind: NodeHost, NICs: []NICSpec{{MAC: "52:54:00:bb:00:01", Addr: netip.MustParsePrefix("10.9.0.2/24")}}},
		},
		Links: []LinkSpec{l},
	}
}
