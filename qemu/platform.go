// Package qemu describes the guest platforms that stand in for the paper's
// machines and runs them under QEMU: launching, console capture, the crash
// and hang monitor, and the typed errors that separate "the guest did not
// boot" from "the test failed".
//
// A Platform is a value that carries everything platform-specific. Nothing
// outside this package knows QEMU flags; the image builder reads only the
// Kernel and Agent parts of a profile.
package qemu

import (
	"fmt"
	"sort"
	"strings"
)

// ExitMethod is how the guest agent ends the virtual machine.
type ExitMethod string

const (
	// ExitReboot: reboot(LINUX_REBOOT_CMD_RESTART) with QEMU's -no-reboot.
	// Power-off hangs on the pc machine without ACPI.
	ExitReboot ExitMethod = "reboot"
	// ExitSemihosting: ARM semihosting SYS_EXIT from user space. QEMU cannot
	// power off collie.
	ExitSemihosting ExitMethod = "semihosting"
)

// Link is the guest's kind of network attachment.
type Link string

const (
	// LinkEthernet: a NIC model on the machine.
	LinkEthernet Link = "ethernet"
	// LinkSLIP: the N_SLIP line discipline on a UART.
	LinkSLIP Link = "slip"
)

// Network links of a guest, by the index of the NIC they attach to. An
// Ethernet guest has one NIC per link, in this order, so the kernel names
// them eth0 and eth1; a SLIP guest has one line that carries both.
const (
	// SpecializationNIC faces the specialization server.
	SpecializationNIC = 0
	// DataNIC faces the benchmark sink.
	DataNIC = 1
)

// NIC is one network adapter of an Ethernet platform.
type NIC struct {
	// Device is the -device value without its netdev= option.
	Device string
	// Cmdline holds the kernel parameters the guest needs to find the
	// adapter. ISA cards cannot be enumerated: the built-in ne driver
	// probes the I/O ports named by netdev=IRQ,IOBASE,NAME (drivers/net/
	// Space.c), and NE2000 cards without one are found only by an
	// autoprobe that assigns names in probe order.
	Cmdline []string
}

// KernelSpec is what the image builder needs to build a platform's kernel.
type KernelSpec struct {
	// Arch is the kernel's ARCH= value.
	Arch string
	// CrossCompile is the CROSS_COMPILE= prefix ("" for the host gcc).
	CrossCompile string
	// BaseConfig is the make target that produces the starting .config;
	// the platform's fragment is applied on top with olddefconfig.
	BaseConfig string
	// Fragment is the file name under images/kernel/fragments.
	Fragment string
	// Image is the boot image path relative to the build dir.
	Image string
}

// AgentSpec is what the image builder needs to build the guest agent.
type AgentSpec struct {
	// CC is the C compiler for static nolibc user programs.
	CC string
	// CFlags select the CPU; they must keep the code runnable on it.
	CFlags []string
	// LinkLibgcc is false where the toolchain's libgcc uses instructions
	// the CPU lacks (Debian's armel libgcc is ARMv5TE).
	LinkLibgcc bool
	// ObjdumpPrefix is the binutils prefix used for the instruction check.
	ObjdumpPrefix string
	// ForbiddenInsns is a regular expression over objdump mnemonics that
	// must not appear in the agent binary.
	ForbiddenInsns string
}

// Platform is one guest machine profile.
type Platform struct {
	// Name is what users type: --platform NAME.
	Name string
	// Description is one line for tables and --help.
	Description string
	// PaperCPU and PaperMHz are the paper's machine this one stands in for.
	PaperCPU string
	PaperMHz int

	// Binary is the QEMU system emulator; BinaryPackage the Debian
	// package that installs it.
	Binary        string
	BinaryPackage string
	// Machine is the -M value, CPU the -cpu value ("" for the machine's own).
	Machine string
	CPU     string
	// MemoryMiB is the RAM the guest kernel may use. For collie QEMU's RAM
	// is fixed and the limit is applied with mem= on the command line.
	MemoryMiB int
	// MemoryFlag is true when -m sets the RAM (false: mem= on the cmdline).
	MemoryFlag bool
	// InitrdAddr, when not 0, is the guest physical address where the
	// runner loads an initramfs itself (QEMU's -device loader) and names
	// it on the command line (initrd=ADDR,SIZE): the machine's -initrd
	// lands where the kernel cannot see it. InitrdMaxBytes is the room
	// there, in bytes.
	InitrdAddr     uint64
	InitrdMaxBytes int64
	// NICs are the adapters of an Ethernet platform, indexed by link
	// (SpecializationNIC, DataNIC); a NIC exists only while its link is
	// wired.
	NICs []NIC
	// Link is the platform's network attachment.
	Link Link
	// ConsoleTTY is the guest console device; ControlTTY the device of the
	// orchestrator's control channel (it may equal ConsoleTTY). SerialSlots
	// is the number of -serial options QEMU needs so that both exist; slot
	// indexes of the console and the control channel follow.
	ConsoleTTY   string
	ControlTTY   string
	SerialSlots  int
	ConsoleSlot  int
	ControlSlot  int
	SLIPTTY      string
	SLIPSlot     int
	ConsoleBaud  int
	ExtraArgs    []string
	ExtraCmdline []string
	// Exit is how the agent ends the VM.
	Exit ExitMethod

	// IcountShift is the fixed -icount shift: each guest instruction
	// advances virtual time by 2^IcountShift ns. It is chosen near the
	// paper's clock rate and never changes silently: instruction counts
	// per operation depend on it (more timer work fits in fewer
	// instructions at a higher shift), so it is recorded with every result.
	IcountShift int

	Kernel KernelSpec
	Agent  AgentSpec
}

// NsPerInstruction is the virtual time one instruction takes in count mode.
func (p *Platform) NsPerInstruction() int64 { return int64(1) << p.IcountShift }

// EquivalentMHz is the clock rate that the icount shift models.
func (p *Platform) EquivalentMHz() float64 { return 1000 / float64(p.NsPerInstruction()) }

// x86Agent is the agent toolchain of both x86 platforms: i486 code runs on
// both, and the cross compiler's output has no cmov.
var x86Agent = AgentSpec{
	CC:            "i686-linux-gnu-gcc",
	CFlags:        []string{"-m32", "-march=i486", "-mtune=i486"},
	LinkLibgcc:    true,
	ObjdumpPrefix: "i686-linux-gnu-",
	// P6 and later instructions by mnemonic (after any prefix such as
	// "cs"), multi-byte NOPs (gas pads with them for P6 targets), and
	// any MMX/SSE register operand. RDTSC is a Pentium instruction that
	// QEMU's 486 model executes anyway.
	ForbiddenInsns: `(^| )(cmov[a-z]+|fcmov[a-z]+|fu?comip?|cmpxchg8b|rdtscp?|rdpmc|sysenter|sysexit|syscall|sysret|nop[wl]|ud1|emms|(ld|st)mxcsr|fxsave|fxrstor|[lms]fence|clflush[a-z]*|prefetch[a-z0-9]*|movnti)( |$)|%[xyz]?mm[0-9]`,
}

var platforms = []*Platform{
	{
		Name:          "i486",
		Description:   "Intel 486 on QEMU pc, 32 MiB, two NE2000 ISA",
		PaperCPU:      "Intel 486",
		PaperMHz:      40,
		Binary:        "qemu-system-i386",
		BinaryPackage: "qemu-system-x86",
		Machine:       "pc",
		CPU:           "486",
		MemoryMiB:     32,
		MemoryFlag:    true,
		// The second card sits at the next free port of the ne
		// driver's probe list and takes a free ISA interrupt.
		NICs: []NIC{
			{Device: "ne2k_isa,iobase=0x300,irq=9", Cmdline: []string{"netdev=9,0x300,eth0"}},
			{Device: "ne2k_isa,iobase=0x320,irq=10", Cmdline: []string{"netdev=10,0x320,eth1"}},
		},
		Link:         LinkEthernet,
		ConsoleTTY:   "ttyS0",
		ControlTTY:   "ttyS1",
		SerialSlots:  2,
		ConsoleSlot:  0,
		ControlSlot:  1,
		ConsoleBaud:  115200,
		ExtraArgs:    []string{"-vga", "none"},
		ExtraCmdline: nil,
		Exit:         ExitReboot,
		// 40 MHz is 25 ns per instruction; the nearest power of two is 32.
		IcountShift: 5,
		Kernel: KernelSpec{
			Arch:       "i386",
			BaseConfig: "tinyconfig",
			Fragment:   "i486.config",
			Image:      "arch/x86/boot/bzImage",
		},
		Agent: x86Agent,
	},
	{
		Name:          "p3",
		Description:   "Pentium III on QEMU pc, 128 MiB, two e1000",
		PaperCPU:      "Pentium III",
		PaperMHz:      600,
		Binary:        "qemu-system-i386",
		BinaryPackage: "qemu-system-x86",
		Machine:       "pc",
		CPU:           "pentium3",
		MemoryMiB:     128,
		MemoryFlag:    true,
		NICs:          []NIC{{Device: "e1000"}, {Device: "e1000"}},
		Link:          LinkEthernet,
		ConsoleTTY:    "ttyS0",
		ControlTTY:    "ttyS1",
		SerialSlots:   2,
		ConsoleSlot:   0,
		ControlSlot:   1,
		ConsoleBaud:   115200,
		ExtraArgs:     []string{"-vga", "none"},
		Exit:          ExitReboot,
		// 600 to 700 MHz is 1.4 to 1.7 ns per instruction; 2 ns is nearest.
		IcountShift: 1,
		Kernel: KernelSpec{
			Arch:       "i386",
			BaseConfig: "tinyconfig",
			Fragment:   "p3.config",
			Image:      "arch/x86/boot/bzImage",
		},
		Agent: x86Agent,
	},
	{
		Name:          "sa1100",
		Description:   "StrongARM SA-1110 on QEMU collie, 32 MiB usable, SLIP on ttySA0",
		PaperCPU:      "ARM StrongARM SA1100 (iPAQ)",
		PaperMHz:      200,
		Binary:        "qemu-system-arm",
		BinaryPackage: "qemu-system-arm",
		Machine:       "collie",
		MemoryMiB:     32,
		MemoryFlag:    false,
		// QEMU puts -initrd 128 MiB into RAM, beyond mem=32M. 24 MiB in
		// is above the decompressed kernel and where the zImage
		// decompressor may move itself (both within the first 8 MiB)
		// and leaves 8 MiB below the end of the guest's memory.
		InitrdAddr:     0xc0000000 + 24<<20,
		InitrdMaxBytes: 8 << 20,
		Link:           LinkSLIP,
		// The 1st -serial is Ser1 (ttySA1), the 2nd is not registered by
		// Linux, the 3rd is Ser3 (ttySA0). The console doubles as the
		// control channel: the SLIP line is the only other UART.
		ConsoleTTY:  "ttySA1",
		ControlTTY:  "ttySA1",
		SerialSlots: 3,
		ConsoleSlot: 0,
		ControlSlot: 0,
		SLIPTTY:     "ttySA0",
		SLIPSlot:    2,
		ConsoleBaud: 230400,
		// The agent ends the run with a semihosting SYS_EXIT from user
		// space.
		ExtraArgs: []string{"-semihosting-config", "enable=on,target=native,userspace=on"},
		Exit:      ExitSemihosting,
		// 200 MHz is 5 ns per instruction; the nearest power of two is 4.
		IcountShift: 2,
		Kernel: KernelSpec{
			Arch:         "arm",
			CrossCompile: "arm-linux-gnueabi-",
			BaseConfig:   "collie_defconfig",
			Fragment:     "sa1100.config",
			Image:        "arch/arm/boot/zImage",
		},
		Agent: AgentSpec{
			CC:            "arm-linux-gnueabi-gcc",
			CFlags:        []string{"-marm", "-march=armv4", "-mtune=strongarm1100", "-mfloat-abi=soft"},
			LinkLibgcc:    false,
			ObjdumpPrefix: "arm-linux-gnueabi-",
			// Mnemonic prefixes of everything after ARMv4: v4T (bx),
			// v5T/v5TE (blx, clz, bkpt, ldrd, pld, q*, smulxy: smull
			// and smlal are ARMv4 and stay allowed), v6 and v7, VFP and
			// NEON (v*), and coprocessor and FPA instructions (the
			// SA-1110 has no FPU; cp15 is privileged). Condition codes
			// and width suffixes follow the prefix.
			ForbiddenInsns: `^(bxj?|blx|clz|bkpt|ldrd|strd|pl[di]|ldrex|strex|clrex|smul(bb|bt|tb|tt|wb|wt)|smla(bb|bt|tb|tt|wb|wt|lbb|lbt|ltb|ltt|dx?|ldx?)|smls(dx?|ldx?)|smm(ul|la|ls)|smu(ad|sd)|umaal|q(d?add|d?sub|asx|sax)|[su]h?(add|sub|asx|sax)(8|16)|uq(add|sub|asx|sax)|usada?8|[su]sat|[su]xt|rev|rbit|sel|setend|cps|srs|rfe|pkh|movw|movt|[su]bfx|bf[ic]|mls|[su]div|smc|wf[ie]|sev|dmb|dsb|isb|dbg|v[a-z]|(ldc|stc|cdp|mcr|mrc)2?|mcrr|mrrc|ldf|stf|lfm|sfm|wfs|rfs|wfc|rfc|flt|fix|cmf|cnf|adf|suf|muf|dvf|mvf)`,
		},
	},
}

// All returns every platform, in a stable order.
func All() []*Platform {
	out := append([]*Platform(nil), platforms...)
	return out
}

// Names returns the platform names, sorted.
func Names() []string {
	var names []string
	for _, p := range platforms {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// Lookup finds a platform by name. Its error says which names exist.
func Lookup(name string) (*Platform, error) {
	for _, p := range platforms {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("unknown platform %q: choose one of %s", name, strings.Join(Names(), ", "))
}
