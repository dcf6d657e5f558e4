package qemu

import (
	"bytes"
	"sync"
)

// ConsoleCopy is a Config.Echo that keeps the console in memory. QEMU's
// console reader writes it while the caller may read it, so it locks.
type ConsoleCopy struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends console bytes.
func (c *ConsoleCopy) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

// String returns the console so far.
func (c *ConsoleCopy) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
