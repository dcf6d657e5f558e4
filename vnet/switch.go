package vnet

import (
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// learningSwitch is an Ethernet switch: it learns which port each source
// address is behind and sends unicast frames only there; broadcast,
// multicast and unknown destinations go to every other port. It has no
// queue of its own: each port's link queues and counts.
type learningSwitch struct {
	ports []*end
	mu    sync.Mutex
	table map[[6]byte]int
}

func newSwitch(ends []*end) *learningSwitch {
	s := &learningSwitch{ports: ends, table: map[[6]byte]int{}}
	for i, e := range ends {
		e.setReceiver(func(frame []byte) bool {
			s.forward(i, frame)
			return true
		})
	}
	return s
}

func (s *learningSwitch) forward(in int, frame []byte) {
	if len(frame) < header.EthernetMinimumSize {
		return
	}
	var dst, src [6]byte
	copy(dst[:], frame[0:6])
	copy(src[:], frame[6:12])
	s.mu.Lock()
	if src[0]&1 == 0 { // a group address is never a source
		s.table[src] = in
	}
	out, known := s.table[dst]
	s.mu.Unlock()
	if known && dst[0]&1 == 0 {
		if out != in {
			s.ports[out].send(frame)
		}
		return
	}
	for i, p := range s.ports {
		if i != in {
			p.send(frame)
		}
	}
}
