package vnet

import (
	"bufio"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// capture writes frames to a pcap file. It is shared by both directions of
// a link, so writes are serialized.
type capture struct {
	mu   sync.Mutex
	f    *os.File
	buf  *bufio.Writer
	w    *pcapgo.Writer
	path string
	err  error
}

// snapLen is the pcap snapshot length in bytes: frames are never cut.
const snapLen = 65535

func newCapture(path string, f Framing) (*capture, error) {
	file, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create pcap: %w", err)
	}
	c := &capture{f: file, buf: bufio.NewWriter(file), path: path}
	c.w = pcapgo.NewWriterNanos(c.buf)
	lt := layers.LinkTypeEthernet
	if f == FramingSLIP {
		// Decoded SLIP packets are bare IPv4: LINKTYPE_RAW.
		lt = layers.LinkTypeRaw
	}
	if err := c.w.WriteFileHeader(snapLen, lt); err != nil {
		file.Close()
		return nil, fmt.Errorf("write pcap header to %s: %w", path, err)
	}
	return c, nil
}

// write records frame at time t. The first error is kept for close.
func (c *capture) write(t time.Time, frame []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(frame), Length: len(frame)}
	if err := c.w.WritePacket(ci, frame); err != nil {
		c.err = fmt.Errorf("write pcap %s: %w", c.path, err)
	}
}

func (c *capture) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.buf.Flush(); err != nil && c.err == nil {
		c.err = fmt.Errorf("flush pcap %s: %w", c.path, err)
	}
	if err := c.f.Close(); err != nil && c.err == nil {
		c.err = fmt.Errorf("close pcap %s: %w", c.path, err)
	}
	return c.err
}
