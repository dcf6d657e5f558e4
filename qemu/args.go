package qemu

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Boot is what one guest boots.
type Boot struct {
	// Kernel is the host path of the kernel image (-kernel).
	Kernel string
	// Initrd is the host path of an initramfs cpio, or "". It is passed
	// with -initrd, or where the platform has an InitrdAddr, loaded there.
	Initrd string
	// Params are extra kernel command-line parameters, such as the
	// agent's sbplan=. A parameter must not contain white space.
	Params []string
}

// Wiring names the host ends of the guest's channels besides the console.
//
// The console is always QEMU's stdio: the guest's output goes to QEMU's
// stdout, which must be a regular file (the console log), and input comes
// from its stdin. A regular file never refuses a write, so the guest's UART
// never waits for the host; a socket or a pipe that the host drains late
// makes QEMU retry on a host timer, and count-mode results then differ
// from run to run.
//
// The other ends are file descriptor numbers in QEMU's process (3 and
// up: exec.Cmd.ExtraFiles) of connected stream sockets. Zero means absent.
type Wiring struct {
	// Control carries the control channel's serial slot. It is required
	// when the platform's ControlSlot differs from its ConsoleSlot, and
	// must be zero otherwise (stdin is then the control channel's input).
	Control int
	// Link is the guest's specialization link (NIC 0). For LinkEthernet
	// it carries frames, each prefixed with its 4-byte big-endian length
	// (QEMU's -netdev stream); for LinkSLIP it is the byte stream of the
	// SLIP UART, the guest's only link. Without it an Ethernet guest has
	// no NIC at all ("-nic none", as QEMU would otherwise add an e1000).
	Link int
	// DataLink is an Ethernet guest's data link (NIC 1), framed like
	// Link. It needs Link: the kernel names NICs in order.
	DataLink int
	// Monitor is a human monitor the host writes to only to wake QEMU's
	// main loop (wakeMainLoop); zero: no monitor.
	Monitor int
	// MACs are the Ethernet addresses of the NICs by index
	// ("52:54:00:00:00:01"); a missing or empty one leaves QEMU's
	// default (52:54:00:12:34:56 counting up).
	MACs []string
}

// Chardev and netdev ids in the arguments.
const (
	consoleID = "console"
	controlID = "control"
	linkID    = "link"
	monitorID = "monitor"
	dataID    = "data"
)

// Args returns the QEMU command line (without the binary) that boots b on
// the platform in the given mode, wired to w.
func (p *Platform) Args(mode Mode, b Boot, w Wiring) ([]string, error) {
	if b.Kernel == "" {
		return nil, errors.New("no kernel image to boot")
	}
	separateControl := p.ControlSlot != p.ConsoleSlot
	if separateControl != (w.Control > 0) {
		return nil, fmt.Errorf("%s: control socket given=%t, but the platform's control channel is on its own serial slot=%t",
			p.Name, w.Control > 0, separateControl)
	}
	nics, err := p.wiredNICs(w)
	if err != nil {
		return nil, err
	}
	initrdArgs, params, err := p.initrdArgs(b.Initrd)
	if err != nil {
		return nil, err
	}
	for _, nic := range nics {
		params = append(params, nic.Cmdline...)
	}
	cmdline, err := p.Cmdline(append(params, b.Params...))
	if err != nil {
		return nil, err
	}

	args := []string{"-M", p.Machine}
	if p.CPU != "" {
		args = append(args, "-cpu", p.CPU)
	}
	if p.MemoryFlag {
		args = append(args, "-m", strconv.Itoa(p.MemoryMiB))
	}
	args = append(args, mode.Args(p.IcountShift)...)
	// Nothing may wait for a person: no window, no monitor, and a guest
	// reboot ends QEMU (how the x86 agent exits).
	args = append(args, "-display", "none", "-monitor", "none", "-no-reboot")
	if w.Monitor > 0 {
		args = append(args, "-chardev", fmt.Sprintf("socket,id=%s,fd=%d", monitorID, w.Monitor),
			"-mon", "chardev="+monitorID+",mode=readline")
	}
	args = append(args, p.ExtraArgs...)
	args = append(args, netArgs(nics)...)
	args = append(args, p.serialArgs(w)...)
	args = append(args, "-kernel", b.Kernel)
	args = append(args, initrdArgs...)
	args = append(args, "-append", cmdline)
	return args, nil
}

// initrdArgs pass an initramfs to the guest: QEMU options and kernel
// parameters.
func (p *Platform) initrdArgs(initrd string) (args, params []string, err error) {
	if initrd == "" {
		return nil, nil, nil
	}
	if p.InitrdAddr == 0 {
		return []string{"-initrd", initrd}, nil, nil
	}
	st, err := os.Stat(initrd)
	if err != nil {
		return nil, nil, fmt.Errorf("initramfs: %w", err)
	}
	if st.Size() > p.InitrdMaxBytes {
		return nil, nil, fmt.Errorf("initramfs %s is %d bytes; %s has room for %d", initrd, st.Size(), p.Name, p.InitrdMaxBytes)
	}
	args = []string{"-device", fmt.Sprintf("loader,file=%s,addr=%#x,force-raw=on", optionValue(initrd), p.InitrdAddr)}
	params = []string{fmt.Sprintf("initrd=%#x,%d", p.InitrdAddr, st.Size())}
	return args, params, nil
}

// optionValue escapes a value inside a QEMU option list, where a comma
// ends the value unless doubled.
func optionValue(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// Cmdline is the kernel command line: the console, the control channel's
// device for the agent (sbctl=), the memory limit when QEMU cannot set
// it, the platform's extra parameters, then params.
func (p *Platform) Cmdline(params []string) (string, error) {
	words := []string{
		fmt.Sprintf("console=%s,%d", p.ConsoleTTY, p.ConsoleBaud),
		"sbctl=" + p.ControlTTY,
	}
	if !p.MemoryFlag {
		words = append(words, fmt.Sprintf("mem=%dM", p.MemoryMiB))
	}
	words = append(words, p.ExtraCmdline...)
	for _, param := range params {
		if param == "" || strings.ContainsAny(param, " \t\n\r\"") {
			return "", fmt.Errorf("kernel parameter %q is empty or contains white space or quotes", param)
		}
		words = append(words, param)
	}
	return strings.Join(words, " "), nil
}

// wiredNIC is a NIC with the host end of its link.
type wiredNIC struct {
	NIC
	fd  int    // QEMU's file descriptor of the link
	id  string // the -netdev id
	mac string // "" for QEMU's default
}

// wiredNICs returns the NICs whose links w wires, in link order.
func (p *Platform) wiredNICs(w Wiring) ([]wiredNIC, error) {
	if p.Link != LinkEthernet {
		if w.DataLink > 0 {
			return nil, fmt.Errorf("%s: a data link needs a second NIC; the platform's one %s line carries all traffic", p.Name, p.Link)
		}
		return nil, nil
	}
	if w.DataLink > 0 && w.Link <= 0 {
		return nil, fmt.Errorf("%s: a data link (NIC %d) needs the specialization link (NIC %d): the kernel names NICs in order",
			p.Name, DataNIC, SpecializationNIC)
	}
	links := []wiredNIC{{fd: w.Link, id: linkID}, {fd: w.DataLink, id: dataID}}
	var nics []wiredNIC
	for i, l := range links {
		if l.fd <= 0 {
			break
		}
		if i >= len(p.NICs) {
			return nil, fmt.Errorf("%s: link %d needs a NIC model, the platform has %d", p.Name, i, len(p.NICs))
		}
		l.NIC = p.NICs[i]
		if i < len(w.MACs) {
			l.mac = w.MACs[i]
		}
		if l.mac != "" {
			if hw, err := net.ParseMAC(l.mac); err != nil || len(hw) != 6 {
				return nil, fmt.Errorf("%s: NIC %d: bad Ethernet address %q", p.Name, i, l.mac)
			}
		}
		nics = append(nics, l)
	}
	return nics, nil
}

// netArgs attach the wired NICs to their links, or none. Any -netdev
// also stops QEMU from adding its default NIC.
func netArgs(nics []wiredNIC) []string {
	if len(nics) == 0 {
		return []string{"-nic", "none"}
	}
	var args []string
	for _, n := range nics {
		device := n.Device + ",netdev=" + n.id
		if n.mac != "" {
			device += ",mac=" + n.mac
		}
		args = append(args,
			"-netdev", fmt.Sprintf("stream,id=%s,addr.type=fd,addr.str=%d", n.id, n.fd),
			"-device", device)
	}
	return args
}

// serialArgs fill the platform's serial slots in order: the console, the
// control channel, the SLIP line, and null for slots nothing uses (they
// exist only so that a later slot gets the device Linux expects).
func (p *Platform) serialArgs(w Wiring) []string {
	var args []string
	args = append(args, "-chardev", "stdio,id="+consoleID+",signal=off")
	if w.Control > 0 {
		args = append(args, "-chardev", fmt.Sprintf("socket,id=%s,fd=%d", controlID, w.Control))
	}
	slip := w.Link > 0 && p.Link == LinkSLIP
	if slip {
		args = append(args, "-chardev", fmt.Sprintf("socket,id=%s,fd=%d", linkID, w.Link))
	}
	for slot := 0; slot < p.SerialSlots; slot++ {
		backend := "null"
		switch {
		case slot == p.ConsoleSlot:
			backend = "chardev:" + consoleID
		case slot == p.ControlSlot:
			backend = "chardev:" + controlID
		case slip && slot == p.SLIPSlot:
			backend = "chardev:" + linkID
		}
		args = append(args, "-serial", backend)
	}
	return args
}
