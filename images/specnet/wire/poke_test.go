package wire

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"
)

// pokeInterval is how often mainLoopPoker wakes QEMU's main loop (host
// wall time).
const pokeInterval = time.Second

// mainLoopPoker keeps QEMU's main loop awake while a network-mode guest
// idles. Under -icount with sleep=on an idle guest's virtual clock moves
// only when the main loop arms its warp timer, and now and then it does
// not: the guest sits halted with its timer interrupts stopped, and what
// waits on virtual time stalls with it (a control line's last bytes wait
// for the UART's receive timeout; TestWire's i486 hung so about once in
// ten loaded runs, images/specnet/wire/README.md). Any event on a file
// the main loop polls wakes it and restarts the clock: an empty line on
// a human monitor socket every pokeInterval is one.
type mainLoopPoker struct {
	socket string
	pokes  int
}

// monitorArgs are the QEMU options of a monitor on a unix socket in dir.
func (m *mainLoopPoker) monitorArgs(dir string) []string {
	m.socket = filepath.Join(dir, "monitor.sock")
	return []string{"-monitor", "unix:" + m.socket + ",server=on,wait=off"}
}

// run pokes until ctx ends. QEMU makes the socket while it starts.
func (m *mainLoopPoker) run(ctx context.Context) error {
	var c net.Conn
	for {
		var err error
		if c, err = net.Dial("unix", m.socket); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil // QEMU ended before it listened: its run says why
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer c.Close()
	go io.Copy(io.Discard, c) // the prompts
	tick := time.NewTicker(pokeInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if _, err := io.WriteString(c, "\n"); err != nil {
				return fmt.Errorf("monitor: %w", err)
			}
			m.pokes++
		}
	}
}
