package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// Version is the protocol version this package speaks (PROTOCOL.md).
const Version = 1

// Protocol limits (bytes).
const (
	MaxKernelID   = 128
	MaxDeclID     = 64
	MaxContext    = 64 << 10
	MaxModule     = 4 << 20
	MaxMessage    = 1<<16 - 1
	maxPhaseCount = 64 // a response with more phases is refused as malformed
	// MaxRequest is the largest well-formed request.
	MaxRequest = 4 + 2 + 2 + 2 + MaxKernelID + 2 + MaxDeclID + 4 + MaxContext
)

var (
	requestMagic  = [4]byte{'S', 'B', 'R', 'Q'}
	responseMagic = [4]byte{'S', 'B', 'R', 'S'}
)

// Status is a response's outcome.
type Status uint16

// The statuses of protocol version 1.
const (
	StatusOK                  Status = 0
	StatusMalformed           Status = 1
	StatusTooLarge            Status = 2
	StatusUnknownKernel       Status = 3
	StatusUnknownDeclaration  Status = 4
	StatusBadContext          Status = 5
	StatusSpecializationError Status = 6
	StatusCompileError        Status = 7
	StatusBusy                Status = 8
	StatusTimeout             Status = 9
)

var statusNames = [...]string{"ok", "malformed", "too large", "unknown kernel", "unknown declaration",
	"bad context", "specialization failed", "compile failed", "busy", "timeout"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status %d", uint16(s))
}

// Phase indexes a response's timings.
type Phase int

// The phases of version 1, in wire order.
const (
	PhaseReceive Phase = iota
	PhaseAnalysis
	PhaseSpecialization
	PhaseCompile
	PhaseSign
	NumPhases
)

var phaseNames = [...]string{"receive", "analysis", "specialization", "compile", "sign"}

func (p Phase) String() string { return phaseNames[p] }

// Request asks for the module of one context.
type Request struct {
	// Kernel is the kernel build id: images.Kernel.Key[:16].
	Kernel string
	// Decl is the declaration id ("udp").
	Decl string
	// Context is the specbed.context/v1 JSON.
	Context []byte
}

// Response is the server's answer.
type Response struct {
	Status Status
	// Phases are the server's per-phase wall times, indexed by Phase;
	// a later version may append more.
	Phases   []time.Duration
	CacheHit bool
	Message  string
	// Module is the signed .ko (StatusOK only).
	Module []byte
}

// Err returns nil for StatusOK, else an error with the status and message.
func (r *Response) Err() error {
	if r.Status == StatusOK {
		return nil
	}
	return fmt.Errorf("specialization server: %s: %s", r.Status, r.Message)
}

// Phase returns the time of phase p (0 if the response has none).
func (r *Response) Phase(p Phase) time.Duration {
	if int(p) < len(r.Phases) {
		return r.Phases[p]
	}
	return 0
}

// ProtocolError is a request the server refuses, with the status it
// answers.
type ProtocolError struct {
	Status Status
	Msg    string
	Err    error // the read error behind it, if any
}

func (e *ProtocolError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Status, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Status, e.Msg)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// timeoutError is what net.Conn read errors implement on deadlines.
type timeoutError interface{ Timeout() bool }

func readErr(what string, err error) error {
	var te timeoutError
	if errors.As(err, &te) && te.Timeout() {
		return &ProtocolError{Status: StatusTimeout, Msg: "reading " + what, Err: err}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &ProtocolError{Status: StatusMalformed, Msg: "request truncated in " + what, Err: io.ErrUnexpectedEOF}
	}
	return &ProtocolError{Status: StatusMalformed, Msg: "reading " + what, Err: err}
}

func malformed(format string, args ...any) error {
	return &ProtocolError{Status: StatusMalformed, Msg: fmt.Sprintf(format, args...)}
}

// ReadRequest decodes one request. It checks every length against the
// protocol's limits before reading the bytes behind it, so an oversized
// request costs the server no memory. Errors are *ProtocolError.
func ReadRequest(r io.Reader) (*Request, error) {
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, readErr("header", err)
	}
	if !bytes.Equal(head[:4], requestMagic[:]) {
		return nil, malformed("bad magic %q, want %q", head[:4], requestMagic[:])
	}
	if v := binary.BigEndian.Uint16(head[4:]); v != Version {
		return nil, malformed("protocol version %d, this server speaks %d", v, Version)
	}
	if f := binary.BigEndian.Uint16(head[6:]); f != 0 {
		return nil, malformed("flags %#x, version %d defines none", f, Version)
	}
	kernel, err := readField(r, "kernel build id", 2, MaxKernelID)
	if err != nil {
		return nil, err
	}
	if !validID(kernel, true) {
		return nil, malformed("kernel build id %q: want 1 to %d characters of [0-9a-z-]", kernel, MaxKernelID)
	}
	decl, err := readField(r, "declaration id", 2, MaxDeclID)
	if err != nil {
		return nil, err
	}
	if !validID(decl, false) {
		return nil, malformed("declaration id %q: want 1 to %d characters of [a-z0-9_]", decl, MaxDeclID)
	}
	ctx, err := readField(r, "context", 4, MaxContext)
	if err != nil {
		return nil, err
	}
	return &Request{Kernel: string(kernel), Decl: string(decl), Context: ctx}, nil
}

// readField reads a big-endian length of size bytes and the bytes it
// announces, refusing lengths above max.
func readField(r io.Reader, what string, size int, max uint32) ([]byte, error) {
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:size]); err != nil {
		return nil, readErr(what+" length", err)
	}
	var n uint32
	if size == 2 {
		n = uint32(binary.BigEndian.Uint16(lb[:2]))
	} else {
		n = binary.BigEndian.Uint32(lb[:4])
	}
	if n > max {
		return nil, &ProtocolError{Status: StatusTooLarge, Msg: fmt.Sprintf("%s of %d bytes, the limit is %d", what, n, max)}
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, readErr(what, err)
	}
	return buf, nil
}

// validID checks an id's characters: [0-9a-z-] for kernels, [a-z0-9_]
// for declarations.
func validID(b []byte, kernel bool) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case kernel && c == '-', !kernel && c == '_':
		default:
			return false
		}
	}
	return true
}

// AppendRequest encodes req. It refuses what ReadRequest would.
func AppendRequest(b []byte, req *Request) ([]byte, error) {
	switch {
	case !validID([]byte(req.Kernel), true) || len(req.Kernel) > MaxKernelID:
		return nil, fmt.Errorf("request: kernel build id %q: want 1 to %d characters of [0-9a-z-]", req.Kernel, MaxKernelID)
	case !validID([]byte(req.Decl), false) || len(req.Decl) > MaxDeclID:
		return nil, fmt.Errorf("request: declaration id %q: want 1 to %d characters of [a-z0-9_]", req.Decl, MaxDeclID)
	case len(req.Context) > MaxContext:
		return nil, fmt.Errorf("request: context of %d bytes, the limit is %d", len(req.Context), MaxContext)
	}
	b = append(b, requestMagic[:]...)
	b = binary.BigEndian.AppendUint16(b, Version)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(req.Kernel)))
	b = append(b, req.Kernel...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(req.Decl)))
	b = append(b, req.Decl...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(req.Context)))
	return append(b, req.Context...), nil
}

// AppendResponse encodes resp. A message longer than the protocol allows
// is cut (at a rune boundary), invalid UTF-8 replaced; a module above
// MaxModule is an error.
func AppendResponse(b []byte, resp *Response) ([]byte, error) {
	if len(resp.Module) > MaxModule {
		return nil, fmt.Errorf("response: module of %d bytes, the limit is %d", len(resp.Module), MaxModule)
	}
	msg := clipUTF8(resp.Message, MaxMessage)
	b = append(b, responseMagic[:]...)
	b = binary.BigEndian.AppendUint16(b, Version)
	b = binary.BigEndian.AppendUint16(b, uint16(resp.Status))
	b = binary.BigEndian.AppendUint32(b, uint32(len(resp.Phases)))
	for _, d := range resp.Phases {
		b = binary.BigEndian.AppendUint64(b, uint64(max(d, 0)))
	}
	hit := byte(0)
	if resp.CacheHit {
		hit = 1
	}
	b = append(b, hit)
	b = binary.BigEndian.AppendUint16(b, uint16(len(msg)))
	b = append(b, msg...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(resp.Module)))
	return append(b, resp.Module...), nil
}

// clipUTF8 makes s valid UTF-8 of at most n bytes.
func clipUTF8(s string, n int) string {
	s = string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// ReadResponse decodes one response, checking lengths against the
// protocol's limits.
func ReadResponse(r io.Reader) (*Response, error) {
	var head [12]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("response header: %w", err)
	}
	if !bytes.Equal(head[:4], responseMagic[:]) {
		return nil, fmt.Errorf("response: bad magic %q, want %q", head[:4], responseMagic[:])
	}
	if v := binary.BigEndian.Uint16(head[4:]); v != Version {
		return nil, fmt.Errorf("response: protocol version %d, want %d", v, Version)
	}
	resp := &Response{Status: Status(binary.BigEndian.Uint16(head[6:]))}
	n := binary.BigEndian.Uint32(head[8:])
	if n > maxPhaseCount {
		return nil, fmt.Errorf("response: %d phases, at most %d expected", n, maxPhaseCount)
	}
	phases := make([]byte, 8*n+1+2)
	if _, err := io.ReadFull(r, phases); err != nil {
		return nil, fmt.Errorf("response phases: %w", err)
	}
	for i := range n {
		resp.Phases = append(resp.Phases, time.Duration(binary.BigEndian.Uint64(phases[8*i:])))
	}
	switch hit := phases[8*n]; hit {
	case 0, 1:
		resp.CacheHit = hit == 1
	default:
		return nil, fmt.Errorf("response: cache hit byte %d, want 0 or 1", hit)
	}
	msg := make([]byte, binary.BigEndian.Uint16(phases[8*n+1:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, fmt.Errorf("response message: %w", err)
	}
	if !utf8.Valid(msg) {
		return nil, errors.New("response: message is not UTF-8")
	}
	resp.Message = string(msg)
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return nil, fmt.Errorf("response module length: %w", err)
	}
	if m := binary.BigEndian.Uint32(lb[:]); m > MaxModule {
		return nil, fmt.Errorf("response: module of %d bytes, the limit is %d", m, MaxModule)
	} else if m > 0 {
		resp.Module = make([]byte, m)
		if _, err := io.ReadFull(r, resp.Module); err != nil {
			return nil, fmt.Errorf("response module: %w", err)
		}
	}
	return resp, nil
}
