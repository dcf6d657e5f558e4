package qemu

import (
	"io"
	"strconv"
	"sync"
	"time"
)

// StepClock is a Config.Echo that notes when each step's result line
// reached the host (host monotonic time): the host's marks of the guest's
// step boundaries, for host-side measurements that must be split by step
// (e.g. a sink's arrivals per round). The agent prints a step's result
// line right after the step's last action and starts the next step right
// after it, so the mark of step i is also when step i+1 began. A mark
// lags the guest's write by the serial console and the console log's
// polling (consolePoll, 10 ms).
type StepClock struct {
	// Tee, when set, gets every console byte too.
	Tee io.Writer

	mu    sync.Mutex
	lines lineSplitter
	ends  map[int]time.Time
	now   func() time.Time // time.Now; tests replace it
}

// Write notes the result lines completed by p and passes p to Tee.
func (c *StepClock) Write(p []byte) (int, error) {
	c.mu.Lock()
	now := c.clock()()
	for _, line := range c.lines.split(p) {
		msg, ok := parseAgentLine(line)
		if !ok || msg.kind != msgResult {
			continue
		}
		step, err := strconv.Atoi(msg.fields["step"])
		if err != nil {
			continue
		}
		if c.ends == nil {
			c.ends = map[int]time.Time{}
		}
		if _, seen := c.ends[step]; !seen {
			c.ends[step] = now
		}
	}
	c.mu.Unlock()
	if c.Tee != nil {
		return c.Tee.Write(p)
	}
	return len(p), nil
}

func (c *StepClock) clock() func() time.Time {
	if c.now != nil {
		return c.now
	}
	return time.Now
}

// Ended returns when step's result line reached the host.
func (c *StepClock) Ended(step int) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.ends[step]
	return t, ok
}
