package sim

import (
	"strings"
	"testing"

	"specbed/scenarios"
)

// TestOutcomes judges library scenarios on the model as the emulator's
// runner judges them on the guests: the status per platform, and words
// the message must hold (the checks the model left to the guests, the
// part it does not follow).
func TestOutcomes(t *testing.T) {
	m := testModel(t)
	for _, tc := range []struct {
		file   string
		edit   func(s *scenarios.Scenario)
		status scenarios.Status
		words  string
	}{
		{file: "paper/udp-specialized-gain.yaml", status: scenarios.Passed, words: "not checked by the model (it has no guest kernel): expect[3] kernel-log-clean"},
		{file: "paper/udp-specialized-negative.yaml", status: scenarios.Passed, words: "failed as expected"},
		// A bound the model's figures cannot meet fails, naming the check.
		{file: "paper/udp-specialized-gain.yaml", edit: func(s *scenarios.Scenario) { v := 10.0; s.Expect[0].AtLeast = &v },
			status: scenarios.Failed, words: "expect[0] throughput-gain-at-least (64 B): measured"},
		{file: "guards/route-change-respecialize.yaml", status: scenarios.Passed, words: "2 checks held"},
		{file: "faults/server-down.yaml", status: scenarios.Passed, words: "3 checks held"},
		// vnet's 64 KiB queue holds 618 frames; 15 more cross at 56 kbit/s
		// while the guest sends.
		{file: "faults/slow-data-link.yaml", status: scenarios.Passed, words: "2 checks held"},
		{file: "faults/data-link-loss.yaml", status: scenarios.Passed, words: "2 checks held"},
		{file: "guards/socket-close.yaml", status: scenarios.NotRunnable, words: "timeline[0] socket-close"},
		{file: "guards/route-change-no-guard.yaml", status: scenarios.NotRunnable, words: "disable_guards"},
		{file: "faults/guest-oops.yaml", status: scenarios.NotRunnable, words: "timeline[0] oops"},
	} {
		s, err := scenarios.Load("../scenarios/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if tc.edit != nil {
			tc.edit(s)
		}
		outcomes, err := m.Outcomes(s, tc.file, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(outcomes) != len(s.Platforms) {
			t.Errorf("%s: %d outcomes for platforms %v", tc.file, len(outcomes), s.Platforms)
		}
		for _, o := range outcomes {
			if o.Status != tc.status || !strings.Contains(o.Message, tc.words) {
				t.Errorf("%s on %s: %s: %s\nwant %s with %q", tc.file, o.Platform, o.Status, o.Message, tc.status, tc.words)
			}
			if o.Status == scenarios.Passed && len(o.Checks) == 0 {
				t.Errorf("%s on %s: passed without a check", tc.file, o.Platform)
			}
		}
	}
}
