package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Default timeouts, in host wall time.
const (
	DefaultTimeout        = 2 * time.Minute
	DefaultSilenceTimeout = 30 * time.Second
)

// Wall-time limits of the end of a run.
const (
	// crashQuiet: after a crash began, the report is taken as complete
	// once the console has been quiet this long.
	crashQuiet = 500 * time.Millisecond
	// crashGrace bounds how long a crash report may keep printing.
	crashGrace = 3 * time.Second
	// exitGrace is how long QEMU may take to end after the agent's done.
	exitGrace = 5 * time.Second
	// consolePoll is how often the console log is read for new output.
	consolePoll = 10 * time.Millisecond
	// stderrInMessage is how much of QEMU's last complaint (bytes) goes
	// into a one-line error.
	stderrInMessage = 300
)

// ErrNoQEMU: the platform's QEMU binary is not installed.
var ErrNoQEMU = errors.New("QEMU not installed")

// LookBinary finds the platform's QEMU binary in $PATH. Its error says
// how to install it.
func (p *Platform) LookBinary() (string, error) {
	path, err := exec.LookPath(p.Binary)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not in $PATH: install it with 'make setup' (apt-get install %s)",
			ErrNoQEMU, p.Binary, p.BinaryPackage)
	}
	return path, nil
}

// Config describes one guest run.
type Config struct {
	Platform *Platform
	// Mode is CountMode when zero.
	Mode Mode
	Boot Boot
	// Plan is the agent's steps ("kind,key=value,..."), passed as
	// sbplan= on the kernel command line.
	Plan []string
	// SystemMap, when set, symbolizes raw kernel addresses of a crash.
	SystemMap string
	// Timeout bounds the whole run; SilenceTimeout the time without any
	// console output. Both are host wall time; zero takes the default.
	Timeout        time.Duration
	SilenceTimeout time.Duration
	// RunRoot holds the run directories; DefaultRunRoot when "".
	RunRoot string
	// KeepLog keeps the run directory of a successful run too.
	KeepLog bool
	// Link, when set, is the host end of the guest's specialization
	// link (see Wiring.Link); DataLink of its data link (Wiring.DataLink,
	// Ethernet platforms only, needs Link). QEMU gets duplicates; the
	// caller keeps and closes its own.
	Link     *os.File
	DataLink *os.File
	// MACs are the NICs' Ethernet addresses by index (Wiring.MACs).
	MACs []string
	// Echo, when set, receives a live copy of the console bytes.
	Echo io.Writer
	// Instruments are QEMU options appended to the platform's, for
	// tools that watch the guest without changing what it executes,
	// such as a TCG plugin (-plugin).
	Instruments []string
}

func (c *Config) fill() error {
	if c.Platform == nil {
		return errors.New("no platform")
	}
	if c.Mode.Name == "" {
		c.Mode = CountMode
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.SilenceTimeout <= 0 {
		c.SilenceTimeout = DefaultSilenceTimeout
	}
	if c.RunRoot == "" {
		root, err := DefaultRunRoot()
		if err != nil {
			return err
		}
		c.RunRoot = root
	}
	for _, step := range c.Plan {
		if step == "" || strings.ContainsAny(step, "; \t\n") {
			return fmt.Errorf("plan step %q is empty or contains ';' or white space", step)
		}
	}
	return nil
}

// Instance is a running guest. Wait for its result, or Close it.
type Instance struct {
	// ID names the run (its directory under the run root).
	ID string
	// Dir is the run directory; LogPath the console log in it.
	Dir     string
	LogPath string
	// Command is the QEMU command line.
	Command []string

	cfg  Config
	cmd  *exec.Cmd
	info GuestInfo
	// control is the host end of the control channel: a socket, or the
	// pipe into QEMU's stdin when the console carries the channel.
	control io.WriteCloser
	stderr  *tailBuffer
	started time.Time

	listening chan struct{}
	done      chan struct{}
	result    *Result
	err       error

	closeOnce sync.Once
	kill      chan struct{} // closed by Close
}

// Start launches QEMU in its own process group and monitors its console
// from the first byte. ctx bounds the run: cancelling it kills the guest.
func Start(ctx context.Context, cfg Config) (*Instance, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	p := cfg.Platform
	binary, err := p.LookBinary()
	if err != nil {
		return nil, err
	}
	var symbols *Symbolizer
	if cfg.SystemMap != "" {
		if symbols, err = LoadSystemMap(cfg.SystemMap); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cfg.RunRoot, 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	dir, err := os.MkdirTemp(cfg.RunRoot, p.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	in := &Instance{
		ID:      filepath.Base(dir),
		Dir:     dir,
		LogPath: filepath.Join(dir, consoleFile),
		cfg:     cfg,
		stderr:  &tailBuffer{max: 4096},
		// One slot per ctl step a plan may reasonably hold; a reader that
		// falls behind only loses wake-ups for steps it already missed.
		listening: make(chan struct{}, 16),
		done:      make(chan struct{}),
		kill:      make(chan struct{}),
	}
	if err := in.launch(ctx, binary, symbols); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s guest: %w", p.Name, err)
	}
	return in, nil
}

// launch wires the console and sockets, starts QEMU and the supervisor.
func (in *Instance) launch(ctx context.Context, binary string, symbols *Symbolizer) (err error) {
	p := in.cfg.Platform
	// Files QEMU inherits; the parent's copies are closed once it runs.
	var inherited []*os.File
	defer func() {
		for _, f := range inherited {
			f.Close()
		}
		if err != nil && in.control != nil {
			in.control.Close()
		}
	}()
	logOut, err := os.Create(in.LogPath)
	if err != nil {
		return err
	}
	inherited = append(inherited, logOut)
	// QEMU's fds are 3, 4, ... in ExtraFiles order.
	var extra []*os.File
	w := Wiring{MACs: in.cfg.MACs}
	var stdin *os.File // nil: /dev/null
	if p.ControlSlot == p.ConsoleSlot {
		r, wr, err := os.Pipe()
		if err != nil {
			return err
		}
		inherited = append(inherited, r)
		stdin, in.control = r, wr
	} else {
		host, guest, err := socketPair("control")
		if err != nil {
			return err
		}
		inherited = append(inherited, guest)
		in.control = host
		// The guest is not meant to write here, but a tty echoes before
		// the agent makes it raw: drain it so that QEMU never waits.
		go io.Copy(io.Discard, host)
		extra = append(extra, guest)
		w.Control = 2 + len(extra)
	}
	var monitor net.Conn
	if in.cfg.Mode.Sleep {
		host, guest, err := socketPair("monitor")
		if err != nil {
			return err
		}
		inherited = append(inherited, guest)
		monitor = host
		extra = append(extra, guest)
		w.Monitor = 2 + len(extra)
	}
	if in.cfg.Link != nil {
		extra = append(extra, in.cfg.Link)
		w.Link = 2 + len(extra)
	}
	if in.cfg.DataLink != nil {
		extra = append(extra, in.cfg.DataLink)
		w.DataLink = 2 + len(extra)
	}
	boot := in.cfg.Boot
	boot.Params = append([]string(nil), boot.Params...)
	if len(in.cfg.Plan) > 0 {
		boot.Params = append(boot.Params, "sbplan="+strings.Join(in.cfg.Plan, ";"))
	}
	args, err := p.Args(in.cfg.Mode, boot, w)
	if err != nil {
		return err
	}
	args = append(args, in.cfg.Instruments...)
	in.Command = append([]string{binary}, args...)

	logIn, err := os.Open(in.LogPath)
	if err != nil {
		return err
	}
	in.cmd = exec.Command(binary, args...)
	in.cmd.Stdout, in.cmd.Stderr = logOut, in.stderr
	if stdin != nil {
		in.cmd.Stdin = stdin
	}
	in.cmd.ExtraFiles = extra
	// Its own process group, so a kill reaches everything QEMU starts;
	// and QEMU dies with us.
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	in.started = time.Now()
	if err := in.cmd.Start(); err != nil {
		logIn.Close()
		if monitor != nil {
			monitor.Close()
		}
		return err
	}
	if monitor != nil {
		go wakeMainLoop(monitor, in.done)
	}
	in.info = GuestInfo{
		ID:          in.ID,
		Platform:    p.Name,
		Mode:        in.cfg.Mode,
		IcountShift: p.IcountShift,
		QEMUPID:     in.cmd.Process.Pid,
		Started:     in.started,
		State:       StateRunning,
		Log:         in.LogPath,
		Command:     in.Command,
	}
	if err := writeGuestInfo(in.Dir, in.info); err != nil {
		in.killGroup()
		in.cmd.Wait()
		logIn.Close()
		return err
	}

	exited := make(chan error, 1)
	go func() { exited <- in.cmd.Wait() }()
	chunks := make(chan []byte, 64)
	stopTail := make(chan struct{})
	go tailLog(logIn, chunks, stopTail)
	mon := newConsoleMonitor(in.cfg.Mode, p.IcountShift, symbols)
	go in.supervise(ctx, mon, chunks, stopTail, exited)
	return nil
}

// Control is the host end of the agent's control channel (its ctl step
// reads from it). Write only after Listening fired.
func (in *Instance) Control() io.Writer { return in.control }

// Listening delivers a value each time a ctl step of the agent is ready
// for control-channel input ("@@specbed listen"); earlier bytes may be
// lost.
func (in *Instance) Listening() <-chan struct{} { return in.listening }

// Wait waits for the guest to end. It returns the agent's results and,
// when the run failed, an error: *BootError, *CrashError, *HangError,
// *AgentError, or ctx's error. The result is non-nil whenever the agent
// became ready, even with an error.
func (in *Instance) Wait() (*Result, error) {
	<-in.done
	return in.result, in.err
}

// Close kills the guest if it still runs and waits for it.
func (in *Instance) Close() error {
	in.closeOnce.Do(func() { close(in.kill) })
	<-in.done
	return nil
}

// stopReason is why the supervisor stopped the run.
type stopReason int

const (
	stopNone    stopReason = iota
	stopExited             // QEMU ended by itself
	stopCrash              // a crash report is complete
	stopSilence            // no output for SilenceTimeout
	stopOverall            // Timeout reached
	stopCancel             // ctx ended or Close
	stopNoExit             // the agent finished, QEMU did not end
)

// supervise owns the monitor and the log: it consumes console output,
// enforces the timeouts, kills the process group when the run must end,
// and records the outcome.
func (in *Instance) supervise(ctx context.Context, mon *consoleMonitor,
	chunks <-chan []byte, stopTail chan<- struct{}, exited <-chan error) {
	cfg := in.cfg
	silence := time.NewTimer(cfg.SilenceTimeout)
	defer silence.Stop()
	overall := time.NewTimer(cfg.Timeout)
	defer overall.Stop()
	var crashDeadline, crashQuietC, exitDeadline <-chan time.Time
	var readyAt time.Duration
	lines := lineSplitter{}
	consume := func(chunk []byte) stopReason {
		if cfg.Echo != nil {
			cfg.Echo.Write(chunk)
		}
		stop := stopNone
		for _, line := range lines.split(chunk) {
			switch mon.feed(line) {
			case evReady:
				readyAt = time.Since(in.started)
			case evListen:
				select {
				case in.listening <- struct{}{}:
				default:
				}
			case evDone:
				exitDeadline = time.After(exitGrace)
			case evCrash:
				crashDeadline = time.After(crashGrace)
			case evPanicEnd:
				stop = stopCrash
			}
		}
		if mon.crash != nil {
			crashQuietC = time.After(crashQuiet)
		}
		return stop
	}

	reason := stopNone
	var qemuErr error
	qemuDone := false
	for reason == stopNone {
		select {
		case chunk := <-chunks:
			reason = consume(chunk)
			silence.Reset(cfg.SilenceTimeout)
		case qemuErr = <-exited:
			qemuDone = true
			reason = stopExited
		case <-silence.C:
			reason = stopSilence
		case <-overall.C:
			reason = stopOverall
		case <-crashDeadline:
			reason = stopCrash
		case <-crashQuietC:
			reason = stopCrash
		case <-exitDeadline:
			reason = stopNoExit
		case <-ctx.Done():
			reason = stopCancel
		case <-in.kill:
			reason = stopCancel
		}
	}
	if !qemuDone {
		in.killGroup()
		qemuErr = <-exited
	}
	// Everything QEMU wrote is in the log now: read it to its end.
	close(stopTail)
	for chunk := range chunks {
		consume(chunk)
	}
	if rest := lines.rest(); rest != "" {
		mon.feed(rest)
	}
	in.control.Close()

	in.result, in.err = in.outcome(ctx, mon, reason, qemuErr, readyAt)
	in.finish()
	close(in.done)
}

// outcome turns what the run saw into its result and error.
func (in *Instance) outcome(ctx context.Context, mon *consoleMonitor, reason stopReason,
	qemuErr error, readyAt time.Duration) (*Result, error) {
	p := in.cfg.Platform
	var res *Result
	if mon.ready {
		res = &Result{
			Platform:     p.Name,
			Mode:         in.cfg.Mode,
			IcountShift:  p.IcountShift,
			Agent:        mon.agent,
			Arch:         mon.arch,
			ReadySeconds: readyAt.Seconds(),
			Status:       mon.status,
			Steps:        mon.steps,
		}
	}
	out := mon.output(in.LogPath)
	bootFailure := func(reason string, cause error) error {
		if mon.ready {
			return cause
		}
		return &BootError{Platform: p.Name, Reason: reason, Err: cause, Output: out}
	}
	switch {
	case reason == stopCancel:
		cause := ctx.Err()
		if cause == nil {
			cause = errors.New("closed")
		}
		return res, fmt.Errorf("%s guest stopped: %w; console log: %s", p.Name, cause, in.LogPath)
	case mon.crash != nil:
		crash := mon.crashError(p.Name, in.LogPath)
		return res, bootFailure(crash.summary(), crash)
	case reason == stopSilence || reason == stopOverall:
		hang := &HangError{Platform: p.Name, Silent: reason == stopSilence, LastLine: mon.lastLine(), Output: out}
		hang.Timeout = in.cfg.Timeout
		if hang.Silent {
			hang.Timeout = in.cfg.SilenceTimeout
		}
		return res, bootFailure(hang.summary(), hang)
	case !mon.ready:
		return nil, &BootError{Platform: p.Name, Reason: "QEMU " + in.exitDescription(qemuErr), Output: out}
	case !mon.done:
		return res, &CrashError{
			Platform: p.Name,
			Title:    "the guest stopped before the agent finished: QEMU " + in.exitDescription(qemuErr),
			Output:   out,
		}
	case mon.protocolErr != nil:
		return res, fmt.Errorf("%s agent protocol: %w; console log: %s", p.Name, mon.protocolErr, in.LogPath)
	case mon.status != 0 || len(mon.agentErrors) > 0:
		return res, &AgentError{Platform: p.Name, Status: mon.status, Errors: mon.agentErrors, Output: out}
	case reason == stopNoExit:
		return res, fmt.Errorf("%s guest did not end within %v after the agent finished (exit method %s); console log: %s",
			p.Name, exitGrace, p.Exit, in.LogPath)
	}
	return res, nil
}

// exitDescription says how QEMU ended, with the tail of what it printed.
func (in *Instance) exitDescription(err error) string {
	status := "exited with status 0"
	if err != nil {
		status = "ended: " + err.Error()
	}
	msg := strings.Join(strings.Fields(in.stderr.String()), " ")
	if len(msg) > stderrInMessage {
		msg = "..." + msg[len(msg)-stderrInMessage:]
	}
	if msg != "" {
		status += ": " + msg
	}
	return status
}

// finish records the outcome in guest.json, or removes the run
// directory of a successful run.
func (in *Instance) finish() {
	if in.err == nil && !in.cfg.KeepLog {
		os.RemoveAll(in.Dir)
		return
	}
	in.info.State = StateFinished
	in.info.Outcome = "ok"
	if in.err != nil {
		in.info.Outcome = in.err.Error()
	}
	// The log is what matters; a failed update leaves a record whose
	// QEMU process is gone, which ListGuests shows as not alive.
	writeGuestInfo(in.Dir, in.info)
}

// killGroup kills QEMU's whole process group.
func (in *Instance) killGroup() {
	syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL)
}

// socketPair returns a connected pair of stream sockets: the host end as
// a net.Conn, the guest end as a file to hand to QEMU.
func socketPair(name string) (net.Conn, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%s socket: %w", name, err)
	}
	hostFile := os.NewFile(uintptr(fds[0]), name+"-host")
	guest := os.NewFile(uintptr(fds[1]), name+"-guest")
	host, err := net.FileConn(hostFile)
	hostFile.Close()
	if err != nil {
		guest.Close()
		return nil, nil, fmt.Errorf("%s socket: %w", name, err)
	}
	return host, guest, nil
}

// tailLog sends what is appended to the log until stop is closed, then
// the rest up to its end, and closes out.
func tailLog(f *os.File, out chan<- []byte, stop <-chan struct{}) {
	defer close(out)
	defer f.Close()
	buf := make([]byte, 32*1024)
	stopping := false
	for {
		n, err := f.Read(buf)
		if n > 0 {
			out <- append([]byte(nil), buf[:n]...)
			continue
		}
		if err != nil && err != io.EOF {
			return
		}
		if stopping {
			return
		}
		select {
		case <-stop:
			stopping = true
		case <-time.After(consolePoll):
		}
	}
}

// lineSplitter cuts a byte stream into lines.
type lineSplitter struct{ partial []byte }

// split returns the lines completed by chunk, without their "\n".
func (s *lineSplitter) split(chunk []byte) []string {
	var lines []string
	s.partial = append(s.partial, chunk...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			return lines
		}
		lines = append(lines, string(s.partial[:i]))
		s.partial = s.partial[i+1:]
	}
}

// rest returns the unfinished last line.
func (s *lineSplitter) rest() string {
	r := string(s.partial)
	s.partial = nil
	return r
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
