package wire

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// agentLine is the prefix of every line the agent prints for the host.
const agentLine = "@@specbed "

// console keeps the guest's console as lines so that a session can wait
// for the result of the control line it wrote (qemu.Config.Echo).
type console struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	all     bytes.Buffer
	changed chan struct{} // a value when lines grew
}

func newConsole() *console { return &console{changed: make(chan struct{}, 1)} }

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all.Write(p)
	c.partial = append(c.partial, p...)
	grew := false
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		c.lines = append(c.lines, strings.TrimRight(string(c.partial[:i]), "\r"))
		c.partial = c.partial[i+1:]
		grew = true
	}
	if grew {
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (c *console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.all.String()
}

// mark is the number of complete lines so far.
func (c *console) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// since returns the lines from index from on.
func (c *console) since(from int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines[from:]...)
}

// ctlSession writes control lines to the agent's ctl step, one at a time,
// each after the previous one's results: the guest's tty buffer is
// small, and later lines depend on earlier results (the residual's name).
type ctlSession struct {
	con     *console
	control io.Writer
	// lineTimeout bounds one line's steps (host wall time).
	lineTimeout time.Duration
	// written counts the bytes written to the channel, to set beside the
	// guest's count of the bytes its UART received when a line goes
	// unanswered (the agent prints it after 30 s without a line).
	written int
}

// run writes line, whose steps are separated by ";", and waits for one
// result line per step. It returns the console lines printed meanwhile,
// or an error with the agent's error line.
func (s *ctlSession) run(ctx context.Context, line string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.lineTimeout)
	defer cancel()
	steps := strings.Count(line, ";") + 1
	from := s.con.mark()
	n, err := io.WriteString(s.control, line+"\n")
	s.written += n
	if err != nil {
		return nil, fmt.Errorf("control line %q: %w", line, err)
	}
	for {
		lines := s.con.since(from)
		results := 0
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, agentLine+"error "):
				return lines, fmt.Errorf("control line %q: %s", line, l)
			case strings.HasPrefix(l, agentLine+"result "):
				results++
			}
		}
		if results >= steps {
			return lines, nil
		}
		select {
		case <-s.con.changed:
		case <-ctx.Done():
			return lines, fmt.Errorf("control line %q: %d of %d results (%d bytes written to the channel in all): %w",
				line, results, steps, s.written, ctx.Err())
		}
	}
}
