package scenarios

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"specbed/qemu"
)

// controlLineTimeout bounds one control line's step (host wall time):
// a fetch that times out takes the agent's 30 s.
const controlLineTimeout = 2 * time.Minute

// controlPoll is how often the session looks at the console for the
// result of the line it wrote.
const controlPoll = 20 * time.Millisecond

// controlSession sends the steps of fp from fp.ctlFrom on over the
// agent's control channel, one line each after the previous one's result
// or error line, then ends the session. A failing line does not end it:
// that is why the plan goes over the channel. Before each line, act does
// the host's part of the events placed there (fp.hostActs).
func controlSession(ctx context.Context, in *qemu.Instance, console *qemu.ConsoleCopy, fp *flowPlan, act func(event int) error) error {
	select {
	case <-in.Listening():
	case <-ctx.Done():
		return ctx.Err()
	}
	applyHostActs := func(i int) error {
		for _, e := range fp.hostActs[i] {
			if err := act(e); err != nil {
				return fmt.Errorf("timeline[%d]: %w", e, err)
			}
		}
		return nil
	}
	for i := fp.ctlFrom; i < len(fp.steps); i++ {
		if err := applyHostActs(i); err != nil {
			return err
		}
		if err := controlLine(ctx, in.Control(), console, fp.steps[i].step, fp.agentStep(i)); err != nil {
			return err
		}
	}
	if err := applyHostActs(len(fp.steps)); err != nil {
		return err
	}
	if _, err := io.WriteString(in.Control(), "end\n"); err != nil {
		return fmt.Errorf("control channel: %w", err)
	}
	return nil
}

// controlLine writes one step and waits for the agent's result or error
// line of step number n.
func controlLine(ctx context.Context, w io.Writer, console *qemu.ConsoleCopy, step string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, controlLineTimeout)
	defer cancel()
	if _, err := io.WriteString(w, step+"\n"); err != nil {
		return fmt.Errorf("control line %q: %w", step, err)
	}
	result := fmt.Sprintf("@@specbed result step=%d ", n)
	failed := fmt.Sprintf("@@specbed error step=%d ", n)
	for {
		text := console.String()
		if strings.Contains(text, result) || strings.Contains(text, failed) {
			return nil
		}
		select {
		case <-time.After(controlPoll):
		case <-ctx.Done():
			return fmt.Errorf("control line %q (step %d): %w", step, n, ctx.Err())
		}
	}
}

// onlyFetchFailed reports whether the agent's errors are the planned
// fetch's (the server is down) and the ctl step's, which fails because
// a line failed.
func onlyFetchFailed(agentErr *qemu.AgentError, fp *flowPlan) bool {
	if agentErr == nil {
		return false
	}
	allowed := map[int]bool{fp.ctlFrom: true} // the ctl step's own number
	for i, st := range fp.steps {
		if st.role == roleFetch {
			allowed[fp.agentStep(i)] = true
		}
	}
	for _, e := range agentErr.Errors {
		if !allowed[e.Step] {
			return false
		}
	}
	return true
}

// roleless makes a plan of steps with no role to read back (the context
// boot's).
func roleless(steps []string) []plannedStep {
	out := make([]plannedStep, len(steps))
	for i, s := range steps {
		out[i] = plannedStep{step: s, role: roleSetup}
	}
	return out
}
