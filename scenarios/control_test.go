package scenarios

import (
	"bufio"
	"io"
	"slices"
	"testing"
	"time"

	"specbed/qemu"
)

// TestControlLineStop: a send step bounded by host time gets the agent's
// "stop" line on the control channel once its time passed, and the step
// ends when its result line reaches the console; a step without it gets
// no stop.
func TestControlLineStop(t *testing.T) {
	tests := []struct {
		name      string
		stopAfter time.Duration
		want      []string
	}{
		{"bounded by host time", 50 * time.Millisecond, []string{"send,path=sendto,stop=1", "stop"}},
		{"bounded by count", 0, []string{"send,path=sendto,stop=1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, w := io.Pipe()
			var console qemu.ConsoleCopy
			agent := make(chan []string)
			go func() {
				// The agent: the step's line, then (bounded by host
				// time) the stop, then the result.
				var got []string
				lines := bufio.NewScanner(r)
				for len(got) < len(tc.want) && lines.Scan() {
					got = append(got, lines.Text())
				}
				console.Write([]byte("@@specbed result step=7 kind=send count=32\n"))
				agent <- got
				io.Copy(io.Discard, r)
			}()
			start := time.Now()
			ps := plannedStep{step: "send,path=sendto,stop=1", role: roleWorkload, stopAfter: tc.stopAfter}
			if err := controlLine(t.Context(), w, &console, ps, 7); err != nil {
				t.Fatal(err)
			}
			w.Close()
			got := <-agent
			if !slices.Equal(got, tc.want) {
				t.Errorf("control lines %q, want %q", got, tc.want)
			}
			if took := time.Since(start); took < tc.stopAfter {
				t.Errorf("the step ended after %v, before its %v", took, tc.stopAfter)
			}
		})
	}
}
