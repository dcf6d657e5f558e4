package repro

import (
	"context"
	"fmt"

	"specbed/qemu/plugin/profile"
	"specbed/results"
)

// ProfileLoad is figure 1's workload: the paper's 100 concurrent
// connections, each a request and a 1 KB response; the guest serves
// 1000 connections (seconds of host time on the i486, more on the p3,
// whose e1000 probe spins), enough for the ranking to settle.
var ProfileLoad = profile.ServerLoad{Clients: 100, Conns: 1000, BodyBytes: 1024, Timeout: networkTimeout}

// MeasureProfile profiles the guest kernel by function while the agent's
// web server serves ProfileLoad (network mode, the data NIC, the TCG
// plugin): every function of the serving window with its entries,
// instructions and size.
func (e *Platform) MeasureProfile(ctx context.Context) ([]results.FunctionProfile, error) {
	e.step("figure 1: kernel profile under 100 concurrent connections (network mode)")
	prof, err := profile.MeasureServer(ctx, e.B, e.P, e.K, ProfileLoad)
	if err != nil {
		return nil, fmt.Errorf("%s: figure 1 profile: %w", e.P.Name, err)
	}
	if prof.Served["conns"] != fmt.Sprint(ProfileLoad.Conns) || prof.Served["failed"] != "0" || prof.Served["bad"] != "0" {
		return nil, fmt.Errorf("%s: figure 1 profile: the guest's server reported %v", e.P.Name, prof.Served)
	}
	out := make([]results.FunctionProfile, 0, len(prof.Functions))
	for _, f := range prof.Functions {
		out = append(out, results.FunctionProfile{Platform: e.P.Name, Function: f.Function, Layer: f.Layer,
			Entries: f.Entries, Instructions: f.Instructions, SizeBytes: f.SizeBytes})
	}
	return out, nil
}

// ProfileCaption says how figure 1's profile was made.
func ProfileCaption() string {
	return fmt.Sprintf("Network mode (the guest's clock follows the host's while it waits; counts vary a little run to run), "+
		"the data NIC of vnet's default topology: the agent's HTTP/1.0 server (images/agent/httpd.c) serves %d "+
		"connections one after another, each a GET answered with %d body bytes, while %d host clients (gVisor's stack) "+
		"keep connecting, so up to %d connections wait in the kernel at once. The TCG plugin of figure 4(a) counts "+
		"every instruction between the server's first accept() and its last close() (qemu/plugin/profile.MeasureServer); "+
		"the top %d functions per platform.",
		ProfileLoad.Conns, ProfileLoad.BodyBytes, ProfileLoad.Clients, ProfileLoad.Clients, results.ProfileTop)
}
