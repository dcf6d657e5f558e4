// Package server is the specialization server: a resident process that
// answers a device's request (kernel build, declaration, context) with a
// signed kernel module holding the residual send path for that context.
//
// The server keeps every declaration analysed (parse and binding-time
// analysis happen once, not per request: the per-request reload of a chain
// of programs was the overhead Bhatia et al. complained about), specializes
// per context, compiles with the compile package against the platform's
// cached kernel build folder, signs with the kernel's sign-file, and
// caches modules on disk by the hash of everything they depend on.
//
// The wire protocol is in PROTOCOL.md. A connection carries one request;
// every connection has its own goroutine and deadlines, so a stalled or
// hostile client costs one slot and never blocks another.
package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"specbed/images"
	"specbed/internal/cachedir"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
)

// Config configures a server. Zero durations and counts take the defaults
// below.
type Config struct {
	// Kernels are the kernels the server builds modules for; a request
	// names one by Key[:16].
	Kernels []*images.Kernel
	// Decls maps declaration ids to declaration files (DefaultDecls).
	Decls map[string]string
	// CacheDir holds compile recipes and cached modules
	// (default: the specbed cache's specializer/ folder).
	CacheDir string
	// ReadTimeout bounds receiving a whole request, from accept
	// (default 10 s: a 64 KiB context takes 2.3 s on a 230400 bit/s SLIP
	// line).
	ReadTimeout time.Duration
	// HandleTimeout bounds analysis, specialization, compile and signing
	// (default 60 s, queueing for a compile slot included).
	HandleTimeout time.Duration
	// WriteTimeout bounds sending the response (default 30 s).
	WriteTimeout time.Duration
	// MaxConns is how many connections are served at once; more get a
	// busy response (default 64).
	MaxConns int
	// MaxCompiles is how many specializations and compiles run at once
	// (default 2, the machine's cores).
	MaxCompiles int
	// Log receives one line per request (nil: none).
	Log io.Writer
	// Observe, if set, is called after each response was sent.
	Observe func(Served)
}

// Served describes one answered connection.
type Served struct {
	Remote   string
	Kernel   string // "" if the request was not understood
	Decl     string
	Status   Status
	CacheHit bool
	// Phases are the timings sent in the response; Send is the time to
	// write the response (which the response cannot carry).
	Phases      [NumPhases]time.Duration
	Send        time.Duration
	ModuleBytes int
	Message     string
	// SendErr is the error writing the response, if any.
	SendErr error
}

// Defaults of Config's zero values.
const (
	DefaultReadTimeout   = 10 * time.Second
	DefaultHandleTimeout = 60 * time.Second
	DefaultWriteTimeout  = 30 * time.Second
	DefaultMaxConns      = 64
	DefaultMaxCompiles   = 2
	// drainTimeout bounds reading what a refused client still sends after
	// the response, so that closing does not reset the connection before
	// the client read its answer.
	drainTimeout = 500 * time.Millisecond
	drainBytes   = 1 << 20
	busyTimeout  = time.Second
)

// DefaultDecls are the declarations of a specbed checkout at repo: the UDP
// and the TCP send path (the core module runs both kinds of residual).
func DefaultDecls(repo string) map[string]string {
	generic := filepath.Join(repo, "images", "specnet", "generic")
	return map[string]string{
		"udp": filepath.Join(generic, "udp.decl"),
		"tcp": filepath.Join(generic, "tcp.decl"),
	}
}

// KernelID is a kernel's build id on the wire.
func KernelID(k *images.Kernel) string { return k.Key[:16] }

// Server answers specialization requests. Create it with New.
type Server struct {
	cfg      Config
	kernels  map[string]*images.Kernel // by KernelID
	conns    chan struct{}             // connection slots
	compiles chan struct{}             // specialize + compile slots

	mu      sync.Mutex
	decls   map[string]*declSlot
	drivers map[string]*compile.Driver // by kernel id + declaration folder
	flights map[string]chan struct{}   // cache keys being built
}

// declSlot loads a declaration once; spec serializes Specialize calls,
// which share the unit's analysis.
type declSlot struct {
	once sync.Once
	d    *declaration
	err  error
	spec sync.Mutex
}

// New checks cfg and returns a server. Nothing is loaded or compiled yet:
// Prepare does it ahead, else the first request needing it does.
func New(cfg Config) (*Server, error) {
	if len(cfg.Kernels) == 0 {
		return nil, errors.New("server: no kernels configured")
	}
	if len(cfg.Decls) == 0 {
		return nil, errors.New("server: no declarations configured")
	}
	if cfg.CacheDir == "" {
		root, err := cachedir.Root()
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		cfg.CacheDir = filepath.Join(root, "specializer")
	}
	cfg.ReadTimeout = orDefault(cfg.ReadTimeout, DefaultReadTimeout)
	cfg.HandleTimeout = orDefault(cfg.HandleTimeout, DefaultHandleTimeout)
	cfg.WriteTimeout = orDefault(cfg.WriteTimeout, DefaultWriteTimeout)
	cfg.MaxConns = orDefault(cfg.MaxConns, DefaultMaxConns)
	cfg.MaxCompiles = orDefault(cfg.MaxCompiles, DefaultMaxCompiles)
	s := &Server{
		cfg:      cfg,
		kernels:  map[string]*images.Kernel{},
		conns:    make(chan struct{}, cfg.MaxConns),
		compiles: make(chan struct{}, cfg.MaxCompiles),
		decls:    map[string]*declSlot{},
		drivers:  map[string]*compile.Driver{},
		flights:  map[string]chan struct{}{},
	}
	for _, k := range cfg.Kernels {
		if _, err := qemu.Lookup(k.Platform); err != nil {
			return nil, fmt.Errorf("server: kernel %s: %w", KernelID(k), err)
		}
		s.kernels[KernelID(k)] = k
	}
	for id := range cfg.Decls {
		if !validID([]byte(id), false) || len(id) > MaxDeclID {
			return nil, fmt.Errorf("server: declaration id %q: want 1 to %d characters of [a-z0-9_]", id, MaxDeclID)
		}
		s.decls[id] = &declSlot{}
	}
	return s, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Prepare loads every declaration and records the compile recipe of every
// kernel and declaration, so that requests pay for neither.
func (s *Server) Prepare(ctx context.Context) error {
	for id := range s.cfg.Decls {
		d, err := s.declaration(id)
		if err != nil {
			return err
		}
		for _, k := range s.cfg.Kernels {
			drv, err := s.driver(k, d)
			if err != nil {
				return err
			}
			if err := drv.Prepare(ctx); err != nil {
				return fmt.Errorf("server: %w", err)
			}
		}
	}
	return nil
}

// specialize runs the specializer alone on the declaration's unit (the
// unlock is deferred: a panic must not leave the unit locked).
func (slot *declSlot) specialize(d *declaration, cx *ctxschema.Context) (*specializer.Output, error) {
	slot.spec.Lock()
	defer slot.spec.Unlock()
	return d.unit.Specialize(cx)
}

func (s *Server) declaration(id string) (*declaration, error) {
	slot := s.decls[id]
	slot.once.Do(func() { slot.d, slot.err = loadDeclaration(id, s.cfg.Decls[id]) })
	return slot.d, slot.err
}

func (s *Server) driver(k *images.Kernel, d *declaration) (*compile.Driver, error) {
	dir := filepath.Dir(d.path)
	key := KernelID(k) + "\x00" + dir
	s.mu.Lock()
	defer s.mu.Unlock()
	if drv := s.drivers[key]; drv != nil {
		return drv, nil
	}
	p, err := qemu.Lookup(k.Platform)
	if err != nil {
		return nil, err
	}
	drv := compile.New(k, p, dir, s.cfg.CacheDir)
	s.drivers[key] = drv
	return drv, nil
}

// Serve accepts connections on l until ctx ends (then it returns nil after
// the running connections finished) or l fails. It works on any
// net.Listener: a host TCP socket or a gVisor netstack's gonet listener.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	backoff := 5 * time.Millisecond
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of descriptors or similar: wait instead of spinning.
				time.Sleep(backoff)
				backoff = min(2*backoff, time.Second)
				continue
			}
			return fmt.Errorf("server: accept: %w", err)
		}
		backoff = 5 * time.Millisecond
		select {
		case s.conns <- struct{}{}:
			wg.Go(func() {
				defer func() { <-s.conns }()
				s.serveConn(ctx, c)
			})
		default:
			wg.Go(func() { s.refuseBusy(c) })
		}
	}
}

// refuseBusy answers a connection beyond MaxConns without reading it.
func (s *Server) refuseBusy(c net.Conn) {
	resp := &Response{Status: StatusBusy, Message: fmt.Sprintf("%d connections in service, try again", s.cfg.MaxConns),
		Phases: make([]time.Duration, NumPhases)}
	sv := Served{Remote: remote(c), Status: StatusBusy, Message: resp.Message}
	start := time.Now()
	c.SetWriteDeadline(start.Add(busyTimeout))
	sv.SendErr = writeResponse(c, resp)
	sv.Send = time.Since(start)
	finish(c)
	s.report(sv)
}

// serveConn reads one request, answers it and closes the connection.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	start := time.Now()
	defer context.AfterFunc(ctx, func() { c.Close() })()
	sv := Served{Remote: remote(c)}
	c.SetReadDeadline(start.Add(s.cfg.ReadTimeout))
	req, err := ReadRequest(bufio.NewReader(c))
	sv.Phases[PhaseReceive] = time.Since(start)
	var resp *Response
	if err != nil {
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			pe = &ProtocolError{Status: StatusMalformed, Msg: err.Error()}
		}
		resp = &Response{Status: pe.Status, Message: pe.Error()}
	} else {
		sv.Kernel, sv.Decl = req.Kernel, req.Decl
		hctx, cancel := context.WithTimeout(ctx, s.cfg.HandleTimeout)
		resp = s.safeHandle(hctx, req, &sv.Phases)
		cancel()
	}
	resp.Phases = sv.Phases[:]
	sv.Status, sv.CacheHit, sv.Message, sv.ModuleBytes = resp.Status, resp.CacheHit, resp.Message, len(resp.Module)
	sent := time.Now()
	c.SetWriteDeadline(sent.Add(s.cfg.WriteTimeout))
	sv.SendErr = writeResponse(c, resp)
	sv.Send = time.Since(sent)
	finish(c)
	s.report(sv)
}

// safeHandle is handle that turns a panic (a bug the request's context
// triggered in the specializer) into a response: one bad context must not
// take down the server and every other device's request.
func (s *Server) safeHandle(ctx context.Context, req *Request, ph *[NumPhases]time.Duration) (resp *Response) {
	defer func() {
		if r := recover(); r != nil {
			s.logf("panic answering kernel=%s decl=%s: %v\n%s", req.Kernel, req.Decl, r, debug.Stack())
			resp = fail(StatusSpecializationError, "internal error of the specializer: %v", r)
		}
	}()
	return s.handle(ctx, req, ph)
}

// handle answers a well-formed request, filling the phases it spends.
func (s *Server) handle(ctx context.Context, req *Request, ph *[NumPhases]time.Duration) *Response {
	k := s.kernels[req.Kernel]
	if k == nil {
		return fail(StatusUnknownKernel, "kernel build id %s is not served here (serving %s)", req.Kernel, s.kernelList())
	}
	slot := s.decls[req.Decl]
	if slot == nil {
		return fail(StatusUnknownDeclaration, "declaration %q is not served here", req.Decl)
	}

	// Analysis: the declaration's analysis (done once), then the context
	// against it, and the cache key.
	t := time.Now()
	d, err := s.declaration(req.Decl)
	if err != nil {
		ph[PhaseAnalysis] = time.Since(t)
		return fail(StatusSpecializationError, "%v", err)
	}
	cx, err := ctxschema.Load(req.Context)
	if err == nil {
		err = cx.Check(d.unit.Decl)
	}
	if err != nil {
		ph[PhaseAnalysis] = time.Since(t)
		return fail(StatusBadContext, "%v", err)
	}
	// The residual carries the context's digest: LOAD on a flow whose
	// context has changed since fails with ESTALE instead of binding it.
	// A context not laid out as the core module prints it (one made on the
	// host: tests, `specbed specialize contexts`) has no digest a guest
	// could match; its residual carries 0, which LOAD does not check.
	digest, derr := compile.ContextDigest(req.Context)
	if derr != nil {
		digest = 0
	}
	key := d.cacheKey(k.Key, cx, digest)
	ph[PhaseAnalysis] = time.Since(t)

	if ko, err := s.cached(key); err == nil {
		return &Response{Status: StatusOK, CacheHit: true, Module: ko}
	}
	// One build per key: a second request for it waits and hits.
	release, err := s.flight(ctx, key)
	if err != nil {
		return ctxFail(err)
	}
	defer release()
	if ko, err := s.cached(key); err == nil {
		return &Response{Status: StatusOK, CacheHit: true, Module: ko}
	}
	select {
	case s.compiles <- struct{}{}:
		defer func() { <-s.compiles }()
	case <-ctx.Done():
		return ctxFail(ctx.Err())
	}

	t = time.Now()
	out, err := slot.specialize(d, cx)
	ph[PhaseSpecialization] = time.Since(t)
	if err != nil {
		return fail(StatusSpecializationError, "%v", err)
	}
	drv, err := s.driver(k, d)
	if err != nil {
		return fail(StatusCompileError, "%v", err)
	}
	m, err := drv.Build(ctx, compile.Residual{C: out.C, Entry: out.Entry, Digest: digest})
	if err != nil {
		if ctx.Err() != nil {
			return ctxFail(ctx.Err())
		}
		return fail(StatusCompileError, "%v", err)
	}
	ph[PhaseCompile], ph[PhaseSign] = m.Compile, m.Sign
	if len(m.Ko) > MaxModule {
		return fail(StatusCompileError, "module of %d bytes exceeds the protocol's %d", len(m.Ko), MaxModule)
	}
	if err := s.store(key, m.Ko); err != nil {
		s.logf("cache store %s: %v", key[:16], err)
	}
	return &Response{Status: StatusOK, Module: m.Ko}
}

// flight waits until no other request builds key and claims it.
func (s *Server) flight(ctx context.Context, key string) (release func(), err error) {
	for {
		s.mu.Lock()
		busy := s.flights[key]
		if busy == nil {
			done := make(chan struct{})
			s.flights[key] = done
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.flights, key)
				s.mu.Unlock()
				close(done)
			}, nil
		}
		s.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (s *Server) modulePath(key string) string {
	return filepath.Join(s.cfg.CacheDir, "modules", key[:2], key+".ko")
}

func (s *Server) cached(key string) ([]byte, error) { return os.ReadFile(s.modulePath(key)) }

// store writes a module to the cache atomically (temporary file, rename).
func (s *Server) store(key string, ko []byte) error {
	path := s.modulePath(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".store-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(ko); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func (s *Server) kernelList() string {
	var ids []string
	for _, k := range s.cfg.Kernels {
		ids = append(ids, KernelID(k)+" ("+k.Platform+")")
	}
	return strings.Join(ids, ", ")
}

func (s *Server) report(sv Served) {
	if s.cfg.Log != nil {
		line := fmt.Sprintf("%s kernel=%s decl=%s status=%d(%s) hit=%t", sv.Remote, sv.Kernel, sv.Decl, sv.Status, sv.Status, sv.CacheHit)
		for p := range NumPhases {
			line += fmt.Sprintf(" %s=%v", p, sv.Phases[p])
		}
		line += fmt.Sprintf(" send=%v bytes=%d", sv.Send, sv.ModuleBytes)
		if sv.SendErr != nil {
			line += fmt.Sprintf(" send-error=%q", sv.SendErr.Error())
		}
		if sv.Status != StatusOK {
			first, _, _ := strings.Cut(sv.Message, "\n")
			line += fmt.Sprintf(" msg=%q", first)
		}
		s.logf("%s", line)
	}
	if s.cfg.Observe != nil {
		s.cfg.Observe(sv)
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		fmt.Fprintf(s.cfg.Log, "specbed serve: "+format+"\n", args...)
	}
}

func fail(st Status, format string, args ...any) *Response {
	return &Response{Status: st, Message: fmt.Sprintf(format, args...)}
}

func ctxFail(err error) *Response {
	return fail(StatusTimeout, "request took longer than the server's limit: %v", err)
}

func remote(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil {
		return a.String()
	}
	return "?"
}

func writeResponse(c net.Conn, resp *Response) error {
	b, err := AppendResponse(nil, resp)
	if err != nil {
		return err
	}
	_, err = c.Write(b)
	return err
}

// finish closes c gracefully: the write side first, then it reads (and
// drops) what the client still sends for a short while, so that unread
// request bytes do not make the close a reset that destroys the response
// in flight.
func finish(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(drainTimeout))
	io.CopyN(io.Discard, c, drainBytes)
	c.Close()
}
