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
// the host's part of the events placed there (fp.hostActs), and the events
// placed by a time (fp.timedActs) that long after it sent the workload's
// first send step; drain runs after the last line, before the guest ends.
// It returns the host time the workload's send steps took, each from
// writing its line to seeing its result (on the network clock the
// guest's time of the same steps should match it).
func controlSession(ctx context.Context, in *qemu.Instance, console *qemu.ConsoleCopy, fp *flowPlan, act func(event int) error, drain func()) (workload time.Duration, err error) {
	select {
	case <-in.Listening():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	applyHostActs := func(i int) error {
		for _, e := range fp.hostActs[i] {
			if err := act(e); err != nil {
				return fmt.Errorf("timeline[%d]: %w", e, err)
			}
		}
		return nil
	}
	var timed chan error
	for i := fp.ctlFrom; i < len(fp.steps); i++ {
		if err := applyHostActs(i); err != nil {
			return workload, err
		}
		if fp.steps[i].role == roleWorkload && timed == nil {
			timed = startTimedActs(ctx, fp.timedActs, act)
		}
		start := time.Now()
		if err := controlLine(ctx, in.Control(), console, fp.steps[i], fp.agentStep(i)); err != nil {
			return workload, err
		}
		if fp.steps[i].role == roleWorkload {
			workload += time.Since(start)
		}
	}
	if err := applyHostActs(len(fp.steps)); err != nil {
		return workload, err
	}
	if timed == nil {
		timed = startTimedActs(ctx, fp.timedActs, act) // no workload step: the plan broke off
	}
	for range fp.timedActs {
		if err := <-timed; err != nil {
			return workload, err
		}
	}
	drain()
	if _, err := io.WriteString(in.Control(), "end\n"); err != nil {
		return workload, fmt.Errorf("control channel: %w", err)
	}
	return workload, nil
}

// startTimedActs does act for each of acts at its time (host time from
// now) and sends each one's error on the returned channel.
func startTimedActs(ctx context.Context, acts []timedAct, act func(event int) error) chan error {
	done := make(chan error, len(acts))
	for _, a := range acts {
		go func() {
			select {
			case <-time.After(a.at):
				done <- act(a.event)
			case <-ctx.Done():
				done <- ctx.Err()
			}
		}()
	}
	return done
}

// controlLine writes one step and waits for the agent's result or error
// line of step number n; a step with stopAfter gets the agent's "stop"
// line that long after it was written.
func controlLine(ctx context.Context, w io.Writer, console *qemu.ConsoleCopy, ps plannedStep, n int) error {
	ctx, cancel := context.WithTimeout(ctx, controlLineTimeout+ps.stopAfter)
	defer cancel()
	step := ps.step
	if _, err := io.WriteString(w, step+"\n"); err != nil {
		return fmt.Errorf("control line %q: %w", step, err)
	}
	var stop <-chan time.Time
	if ps.stopAfter > 0 {
		stop = time.After(ps.stopAfter)
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
		case <-stop:
			if _, err := io.WriteString(w, "stop\n"); err != nil {
				return fmt.Errorf("control line %q: stop: %w", step, err)
			}
			stop = nil
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
