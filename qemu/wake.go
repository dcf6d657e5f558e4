package qemu

import (
	"io"
	"net"
	"time"
)

// wakeInterval is how often wakeMainLoop writes to the monitor (host time).
const wakeInterval = time.Second

// wakeMainLoop keeps QEMU's main loop awake while a guest with -icount
// sleep=on idles, until done closes or QEMU is gone. With sleep=on an idle
// guest's virtual clock moves only when the main loop arms its warp timer,
// and now and then (QEMU 7.2, seen under load) it does not: the guest
// sits halted with its timer interrupts stopped, and whatever waits on
// virtual time stalls with it. TestWire's i486 hung so about once in ten
// loaded runs: a control line's last bytes waited for the UART's receive
// timeout (images/specnet/wire/README.md). Any event on a file the main
// loop polls wakes it and restarts the clock: an empty line on the human
// monitor is one, and does nothing else. Count mode (sleep=off) needs no
// waking: its idle guest's clock jumps to the next timer by itself.
func wakeMainLoop(monitor net.Conn, done <-chan struct{}) {
	defer monitor.Close()
	go io.Copy(io.Discard, monitor) // the banner and prompts
	tick := time.NewTicker(wakeInterval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			if _, err := io.WriteString(monitor, "\n"); err != nil {
				return // QEMU has ended; its run says why
			}
		}
	}
}
