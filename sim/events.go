package sim

import "container/heap"

// eventKind is what happens to a device at an event.
type eventKind int

const (
	// collected: the device has its flow's context and sends the request.
	collected eventKind = iota
	// arrived: the request reached the server's queue.
	arrived
	// built: a compile slot finished the device's module (a miss).
	built
	// served: the server answered from its cache (a hit, or a request
	// that waited for another's build of the same key).
	served
	// downloaded: the module's last byte reached the device.
	downloaded
)

// event is one moment of the simulation, in seconds of simulated time.
type event struct {
	at     float64
	seq    uint64 // ties break in scheduling order, so runs repeat exactly
	kind   eventKind
	device int
}

// eventQueue is a min-heap of events by time.
type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// scheduler hands out events in time order.
type scheduler struct {
	q   eventQueue
	seq uint64
}

func (s *scheduler) at(t float64, kind eventKind, device int) {
	s.seq++
	heap.Push(&s.q, event{at: t, seq: s.seq, kind: kind, device: device})
}

func (s *scheduler) next() (event, bool) {
	if len(s.q) == 0 {
		return event{}, false
	}
	return heap.Pop(&s.q).(event), true
}
