// Package paths measures what one UDP send costs through the send paths
// of a specnet guest: the kernel's sendto() on an unconnected socket, its
// send() on a connected one, the core module's generic path and a token's
// specialized residual, the last two both through /dev/specnet's ioctl
// and through the customized_send system call (kernel patch 0006), in
// count mode on dummy0 (which drops every packet, so the figure is the
// send path alone).
//
// A measurement takes two boots of a platform's kernel. The first loads
// the core module and asks the kernel for the context of each flow (one
// flow per payload size: the size is the flow's ADU). The host
// specializes each context and compiles the residual (Specializer; no
// network, so nothing host-timed enters the guest). The second boot per
// flow loads the core and the residual, collects the context again (it
// must be the same), binds the residual to two tokens and times the
// paths, and checks the core's counters around every step (Plan, Check).
package paths

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"path/filepath"
	"strings"

	"specbed/images"
	"specbed/images/specnet/core"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
)

// The flow every measurement uses: dummy0 holds Src and the Ethernet
// address HWAddr (fixed: the context holds it, and dummy draws a random
// one at boot), the flow socket is bound to SrcPort and sends to
// Dst:Port. dummy0 resolves no neighbours, so nothing but the send path
// runs.
const (
	Dev     = "dummy0"
	HWAddr  = "02:00:00:00:00:01" // locally administered
	Src     = "10.0.0.1"
	Dst     = "10.0.0.2"
	Port    = 9
	SrcPort = 5000
)

// Timed sends per path and the untimed sends before them.
const (
	Count  = 1000
	Warmup = 100
)

// Sizes are the payloads measured, in bytes; each is the ADU of its flow.
func Sizes() []int { return []int{64, 1024} }

// Guest paths of the modules in the initramfs.
const (
	coreGuestPath     = core.GuestPath
	residualGuestPath = "/lib/modules/residual.ko"
)

// Token slots of the measurement boot: both hold the flow's residual,
// with the two policies for a send the residual refuses.
const (
	slotFallback = 0
	slotRefuse   = 1
)

// Errno values the checks expect (i386 and ARM alike).
const (
	errnoEBADF  = 9  // customized_send on a token that is not the caller's
	errnoEAGAIN = 11 // delete_module(O_NONBLOCK) of a module in use
	errnoEINVAL = 22 // a refused send under the refuse policy
	errnoENOSYS = 38 // customized_send while no module owns it
)

// slotEmpty is a token slot no step loads: a send through it names token
// 0, which no LOAD returns.
const slotEmpty = 7

// netStep brings dummy0 up with Src.
func netStep() string { return qemu.NetStep{Dev: Dev, Addr: Src, Prefix: 24, HWAddr: HWAddr}.String() }

func customizeStep(size int) string {
	return qemu.CustomizeStep{Dst: Dst, Port: Port, SrcPort: SrcPort, ADU: size}.String()
}

// ContextPlan is the first boot's plan: load the core, bring dummy0 up
// and collect the context of each size's flow, in order.
func ContextPlan(sizes []int) []string {
	plan := []string{qemu.InsmodStep{Path: coreGuestPath}.String(), netStep()}
	for _, size := range sizes {
		plan = append(plan, customizeStep(size))
	}
	return plan
}

// Contexts returns the contexts of a ContextPlan run by size.
func Contexts(r *qemu.Result, sizes []int) (map[int][]byte, error) {
	var got [][]byte
	for _, s := range r.Steps {
		if s.Customize != nil {
			got = append(got, s.Customize.Context)
		}
	}
	if len(got) != len(sizes) {
		return nil, fmt.Errorf("%d customize results, want %d (status %d)", len(got), len(sizes), r.Status)
	}
	out := map[int][]byte{}
	for i, size := range sizes {
		out[size] = got[i]
	}
	return out, nil
}

// Residual is the specialized send path of one flow, compiled.
type Residual struct {
	// Entry is the residual entry's C name; Name the module's name,
	// which LOAD and rmmod take.
	Entry, Name string
	Module      *compile.Module
}

// Specializer turns a guest's context into a residual module on the
// host: the specializer on the generic UDP path's declaration, then the
// compile driver for the guest's kernel, as the specialization server
// does, without the network.
type Specializer struct {
	unit   *specializer.Unit
	driver *compile.Driver
}

// NewSpecializer loads the declaration of the generic UDP path in repo
// and prepares a compile driver for kernel k of platform p, keeping its
// recipes under cacheDir.
func NewSpecializer(repo string, k *images.Kernel, p *qemu.Platform, cacheDir string) (*Specializer, error) {
	generic := filepath.Join(repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "udp.decl"))
	if err != nil {
		return nil, fmt.Errorf("paths: %w", err)
	}
	return &Specializer{unit: u, driver: compile.New(k, p, generic, cacheDir)}, nil
}

// Residual specializes the generic path for context (specbed.context/v1
// JSON) and builds the signed module.
func (s *Specializer) Residual(ctx context.Context, context []byte) (*Residual, error) {
	cx, err := ctxschema.Load(context)
	if err == nil {
		err = cx.Check(s.unit.Decl)
	}
	if err != nil {
		return nil, fmt.Errorf("paths: the guest's context: %w", err)
	}
	out, err := s.unit.Specialize(cx)
	if err != nil {
		return nil, fmt.Errorf("paths: specialize: %w", err)
	}
	m, err := s.driver.Build(ctx, compile.Residual{C: out.C, Entry: out.Entry})
	if err != nil {
		return nil, fmt.Errorf("paths: compile: %w", err)
	}
	name, err := ModuleName(m.Ko)
	if err != nil {
		return nil, fmt.Errorf("paths: residual module: %w", err)
	}
	return &Residual{Entry: out.Entry, Name: name, Module: m}, nil
}

// ModuleName is a module's name= in its .modinfo section.
func ModuleName(ko []byte) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return "", err
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return "", fmt.Errorf("no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		return "", err
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if name, ok := bytes.CutPrefix(kv, []byte("name=")); ok {
			return string(name), nil
		}
	}
	return "", fmt.Errorf(".modinfo has no name")
}

// Files are the initramfs files of a boot: the core module (the .ko at
// corePath) and, for a measurement boot, the residual r (nil for the
// context boot).
func Files(corePath string, r *Residual) []images.File {
	files := []images.File{{Path: coreGuestPath, Source: corePath}}
	if r != nil {
		files = append(files, images.File{Path: residualGuestPath, Data: r.Module.Ko})
	}
	return files
}

// Step roles in a measurement plan, in the order Check reads them.
const (
	roleCustomize   = "customize"
	roleBefore      = "counters before the sends"
	roleTimed       = "timed sends"
	roleAfter       = "counters after the sends"
	roleBusyRmmod   = "rmmod while tokens hold the residual"
	roleWrongFall   = "wrong-length send, fallback policy"
	roleWrongRefuse = "wrong-length send, refuse policy"
	roleAfterWrong  = "counters after the wrong-length sends"
	roleRelease     = "release"
	roleReleased    = "counters after release"
	roleRmmod       = "rmmod after release"
	roleUnloaded    = "counters after rmmod"
	roleUnowned     = "customized_send before the core is loaded"
	roleNoToken     = "customized_send on an empty slot"
)

// measurementBoot is what tells a flow's two measurement boots apart.
type measurementBoot struct {
	// timed are the paths timed, in order.
	timed []qemu.SendPath
	// wrong is the token path of the wrong-length sends.
	wrong qemu.SendPath
	// unowned adds a customized_send before the core is loaded (ENOSYS)
	// and one on an empty slot at the end (EBADF).
	unowned bool
}

func ioctlBoot() measurementBoot {
	return measurementBoot{timed: qemu.SendPaths(), wrong: qemu.PathSpecial}
}

func syscallBoot() measurementBoot {
	return measurementBoot{timed: qemu.CustomizedSendPaths(), wrong: qemu.PathCustomized, unowned: true}
}

// Plan is the first measurement boot of one flow, which times
// qemu.SendPaths (the kernel's and /dev/specnet's): size is its payload
// (bytes) and ADU, r its residual. The steps' results are what Check
// reads.
func Plan(size int, r *Residual) []string { return plan(size, r, ioctlBoot()) }

// SyscallPlan is the second measurement boot of one flow, the same steps
// with qemu.CustomizedSendPaths timed (the customized_send system call's)
// and the wrong-length sends through customized_send, after a
// customized_send before the core is loaded and before one on an empty
// slot at the end; CheckSyscall reads it. One plan with all paths does
// not fit the SA-1110's 1023-byte kernel command line.
func SyscallPlan(size int, r *Residual) []string { return plan(size, r, syscallBoot()) }

func plan(size int, r *Residual, b measurementBoot) []string {
	unowned := qemu.SendStep{Path: qemu.PathCustomized, Slot: slotEmpty, Size: size, Count: 1}.String()
	var plan []string
	if b.unowned {
		plan = append(plan, unowned)
	}
	plan = append(plan,
		qemu.InsmodStep{Path: coreGuestPath}.String(),
		qemu.InsmodStep{Path: residualGuestPath}.String(),
		netStep(),
		customizeStep(size),
		qemu.LoadStep{Slot: slotFallback, Name: r.Name, Policy: "fallback"}.String(),
		qemu.LoadStep{Slot: slotRefuse, Name: r.Name, Policy: "refuse"}.String(),
		qemu.CountersStep{}.String(),
	)
	for _, path := range b.timed {
		plan = append(plan, qemu.SendStep{Path: path, Slot: slotFallback, Size: size, Count: Count, Warmup: Warmup}.String())
	}
	wrong := func(slot int) string {
		return qemu.SendStep{Path: b.wrong, Slot: slot, Size: size + 1, Count: 1}.String()
	}
	plan = append(plan,
		qemu.CountersStep{}.String(),
		qemu.RmmodStep{Name: r.Name}.String(),
		wrong(slotFallback),
		wrong(slotRefuse),
		qemu.CountersStep{}.String(),
		qemu.ReleaseStep{Slot: slotFallback}.String(),
		qemu.ReleaseStep{Slot: slotRefuse}.String(),
		qemu.CountersStep{}.String(),
		qemu.RmmodStep{Name: r.Name}.String(),
		qemu.CountersStep{}.String(),
	)
	if b.unowned {
		plan = append(plan, unowned)
	}
	return plan
}

// PathCost is what one path costs per send.
type PathCost struct {
	Path qemu.SendPath `json:"path"`
	// InstructionsPerSend is the timed loop's virtual ns / Count /
	// 2^shift: guest instructions per send, the loop's own included.
	InstructionsPerSend float64 `json:"instructions_per_send"`
}

// Measurement is the checked outcome of one measurement boot.
type Measurement struct {
	// Size is the payload per send, in bytes.
	Size  int        `json:"size_bytes"`
	Costs []PathCost `json:"paths"`
	// SpecializedSends and Fallbacks are the core's counter increases
	// over the timed sends of all paths.
	SpecializedSends int64 `json:"specialized_sends"`
	Fallbacks        int64 `json:"fallbacks"`
}

// Add takes in the costs and counts of o, another measurement boot of the
// same flow.
func (m *Measurement) Add(o *Measurement) {
	m.Costs = append(m.Costs, o.Costs...)
	m.SpecializedSends += o.SpecializedSends
	m.Fallbacks += o.Fallbacks
}

// Cost returns the instructions per send of path (0 if not measured).
func (m *Measurement) Cost(path qemu.SendPath) float64 {
	for _, c := range m.Costs {
		if c.Path == path {
			return c.InstructionsPerSend
		}
	}
	return 0
}

// checker walks a measurement boot's results in plan order.
type checker struct {
	steps []qemu.StepResult
	next  int
	errs  []string
}

func (c *checker) failf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// take returns the next result, which must be of kind, or nil.
func (c *checker) take(role, kind string) *qemu.StepResult {
	if c.next >= len(c.steps) {
		c.failf("%s: no %s result (the plan stopped after %d results)", role, kind, len(c.steps))
		return nil
	}
	r := &c.steps[c.next]
	c.next++
	if r.Kind != kind {
		c.failf("%s: result %d is %s, want %s", role, r.Step, r.Kind, kind)
		return nil
	}
	return r
}

// skip passes over results the checks do not read.
func (c *checker) skip(n int) { c.next += n }

// counters reads the named counters of the next counters result.
func (c *checker) counters(role string) map[string]int64 {
	r := c.take(role, "counters")
	if r == nil {
		return nil
	}
	for _, name := range counterNames {
		if _, err := r.Counter(name); err != nil {
			c.failf("%s: %v", role, err)
			return nil
		}
	}
	return r.Counters
}

// coreCounter is the /proc/specnet counter that a send through path adds
// to, "" for the kernel's own paths.
func coreCounter(path qemu.SendPath) string {
	switch path {
	case qemu.PathSpecial, qemu.PathCustomized:
		return "sends_specialized"
	case qemu.PathGeneric, qemu.PathCustomizedGeneric:
		return "sends_generic"
	}
	return ""
}

// timedSends is how many sends of the timed steps through paths count in
// counter.
func timedSends(paths []qemu.SendPath, counter string) int64 {
	var n int64
	for _, path := range paths {
		if coreCounter(path) == counter {
			n += Count + Warmup
		}
	}
	return n
}

// counterNames are the core's counters the checks read (specnet_uapi.h).
var counterNames = []string{
	"tokens_live", "residuals_registered", "sends_specialized", "sends_generic",
	"fallbacks", "refused", "refs_held",
}

// Check reads a Plan run: the context must equal want (the first boot's),
// every step must have succeeded, the specialized path must have served
// at least 99% of its sends with no fallback, each wrong-length send must
// be counted under its token's policy, the residual must refuse to unload
// while tokens hold it and unload after release.
func Check(r *qemu.Result, size int, want []byte) (*Measurement, error) {
	return check(r, size, want, ioctlBoot())
}

// CheckSyscall is Check for a SyscallPlan run; the first customized_send
// must fail with ENOSYS (no owner yet) and the last with EBADF (no token).
func CheckSyscall(r *qemu.Result, size int, want []byte) (*Measurement, error) {
	return check(r, size, want, syscallBoot())
}

// failedSend checks that a one-send step failed with errno.
func (c *checker) failedSend(role string, errno int) {
	if s := c.take(role, "send"); s != nil && (s.Send.Errors != 1 || s.Send.Errno != errno) {
		c.failf("%s: %d errors, errno %d; want 1 and %d", role, s.Send.Errors, s.Send.Errno, errno)
	}
}

func check(r *qemu.Result, size int, want []byte, b measurementBoot) (*Measurement, error) {
	c := &checker{steps: r.Steps}
	m := &Measurement{Size: size}
	paths := b.timed
	if b.unowned {
		c.failedSend(roleUnowned, errnoENOSYS)
	}
	c.skip(3) // two insmod, net: their errors end the plan
	if cu := c.take(roleCustomize, "customize"); cu != nil && !bytes.Equal(cu.Customize.Context, want) {
		c.failf("%s: the context differs from the first boot's:\n%s", roleCustomize, firstDiff(want, cu.Customize.Context))
	}
	for _, slot := range []int{slotFallback, slotRefuse} {
		if l := c.take("load", "load"); l != nil && (l.Load.Errno != 0 || l.Load.Token == 0) {
			c.failf("load into slot %d: errno %d", slot, l.Load.Errno)
		}
	}
	before := c.counters(roleBefore)
	for _, path := range paths {
		s := c.take(roleTimed, "send")
		if s == nil {
			continue
		}
		if s.Send.Errors != 0 {
			c.failf("%s through %s: %d failed (first errno %d)", roleTimed, path, s.Send.Errors, s.Send.Errno)
		}
		m.Costs = append(m.Costs, PathCost{Path: s.Send.Path, InstructionsPerSend: s.Send.InstructionsPerSend})
	}
	after := c.counters(roleAfter)
	if before != nil && after != nil {
		m.SpecializedSends = after["sends_specialized"] - before["sends_specialized"]
		m.Fallbacks = after["fallbacks"] - before["fallbacks"]
		// Only the specialized paths' sends may count here.
		spec := timedSends(paths, "sends_specialized")
		if min := spec * 99 / 100; m.SpecializedSends < min || m.SpecializedSends > spec {
			c.failf("the specialized paths served %d of their %d sends, want at least %d", m.SpecializedSends, spec, min)
		}
		// The generic paths' sends are the only generic ones: a silent
		// fallback would add to them too.
		if d, want := after["sends_generic"]-before["sends_generic"], timedSends(paths, "sends_generic"); d != want {
			c.failf("the generic paths counted %d sends, want %d", d, want)
		}
		if m.Fallbacks != 0 || after["refused"] != before["refused"] {
			c.failf("%d fallbacks and %d refusals during the timed sends, want none", m.Fallbacks, after["refused"]-before["refused"])
		}
	}
	if rm := c.take(roleBusyRmmod, "rmmod"); rm != nil && rm.Rmmod.Errno != errnoEAGAIN {
		c.failf("%s: errno %d, want EAGAIN (%d)", roleBusyRmmod, rm.Rmmod.Errno, errnoEAGAIN)
	}
	if s := c.take(roleWrongFall, "send"); s != nil && s.Send.Errors != 0 {
		c.failf("%s: failed with errno %d, want it sent by the generic path", roleWrongFall, s.Send.Errno)
	}
	if s := c.take(roleWrongRefuse, "send"); s != nil && (s.Send.Errors != 1 || s.Send.Errno != errnoEINVAL) {
		c.failf("%s: %d errors, errno %d; want the send refused with EINVAL (%d)", roleWrongRefuse, s.Send.Errors, s.Send.Errno, errnoEINVAL)
	}
	wrong := c.counters(roleAfterWrong)
	if after != nil && wrong != nil {
		if d := wrong["fallbacks"] - after["fallbacks"]; d != 1 {
			c.failf("%s: fallbacks rose by %d, want 1", roleAfterWrong, d)
		}
		if d := wrong["sends_generic"] - after["sends_generic"]; d != 1 {
			c.failf("%s: the generic path counted %d sends, want the 1 fallback", roleAfterWrong, d)
		}
		if d := wrong["refused"] - after["refused"]; d != 1 {
			c.failf("%s: refused rose by %d, want 1", roleAfterWrong, d)
		}
	}
	for _, slot := range []int{slotFallback, slotRefuse} {
		if rel := c.take(roleRelease, "release"); rel != nil && rel.Release.Errno != 0 {
			c.failf("%s of slot %d: errno %d", roleRelease, slot, rel.Release.Errno)
		}
	}
	if released := c.counters(roleReleased); released != nil {
		if released["tokens_live"] != 0 || released["refs_held"] != 0 {
			c.failf("%s: %d tokens live, %d references held; want 0 and 0", roleReleased, released["tokens_live"], released["refs_held"])
		}
	}
	if rm := c.take(roleRmmod, "rmmod"); rm != nil && rm.Rmmod.Errno != 0 {
		c.failf("%s: errno %d", roleRmmod, rm.Rmmod.Errno)
	}
	if gone := c.counters(roleUnloaded); gone != nil && wrong != nil {
		if d := wrong["residuals_registered"] - gone["residuals_registered"]; d != 1 {
			c.failf("%s: residuals_registered fell by %d, want 1", roleUnloaded, d)
		}
	}
	if b.unowned {
		c.failedSend(roleNoToken, errnoEBADF)
	}
	if r.Status != 0 {
		c.failf("the agent's done status is %d", r.Status)
	}
	if len(c.errs) > 0 {
		return m, fmt.Errorf("%s", strings.Join(c.errs, "\n"))
	}
	return m, nil
}

// firstDiff shows where two contexts part (the JSON is compact, so the
// neighbourhood of the first differing byte says which value).
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(i-80, 0)
	return fmt.Sprintf("at byte %d:\nfirst:  %q\nsecond: %q", i, a[lo:min(i+80, len(a))], b[lo:min(i+80, len(b))])
}
