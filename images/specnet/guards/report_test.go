package guards_test

import (
	"testing"

	"specbed/images/specnet/guards"
)

func TestSlubReportPattern(t *testing.T) {
	for _, tt := range []struct {
		console string
		match   bool
	}{
		{"[    1.234567] BUG kmalloc-64 (Not tainted): Poison overwritten\r\n", true},
		{"ok\n=============\nBUG skbuff_head_cache (Tainted: G O): Redzone overwritten\n", true},
		{"[    2.000000] WARNING: CPU: 0 PID: 1 at net/core/sock.c:1 x\n", true},
		{"@@specbed result step=1 kind=proc path=/proc/meminfo line=MemFree:%20BUG\n", false},
		{"[    0.100000] SLUB: HWalign=32, Order=0-3, MinObjects=0, CPUs=1, Nodes=1\n", false},
	} {
		if got := guards.KernelReport(tt.console) != ""; got != tt.match {
			t.Errorf("%q: match %v, want %v", tt.console, got, tt.match)
		}
	}
}
