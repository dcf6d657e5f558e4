package qemu

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	i486, p3, sa1100 := mustLookup(t, "i486"), mustLookup(t, "p3"), mustLookup(t, "sa1100")
	boot := Boot{Kernel: "/k/bzImage", Initrd: "/k/initrd.cpio", Params: []string{"sbplan=hang"}}
	armBoot := Boot{Kernel: "/k/zImage", Params: []string{"sbplan=hang"}}
	tests := []struct {
		name string
		p    *Platform
		mode Mode
		boot Boot
		w    Wiring
		want string
	}{
		{
			name: "i486 count",
			p:    i486, mode: CountMode, boot: boot, w: Wiring{Control: 3},
			want: `-M pc -cpu 486 -m 32 -icount shift=5,sleep=off -rtc base=2020-01-01T00:00:00,clock=vm
				-display none -monitor none -no-reboot -vga none -nic none
				-chardev stdio,id=console,signal=off -chardev socket,id=control,fd=3
				-serial chardev:console -serial chardev:control
				-kernel /k/bzImage -initrd /k/initrd.cpio
				-append|console=ttyS0,115200 sbctl=ttyS1 sbplan=hang`,
		},
		{
			name: "i486 network with NIC",
			p:    i486, mode: NetworkMode, boot: boot, w: Wiring{Control: 3, Link: 4},
			want: `-M pc -cpu 486 -m 32 -icount shift=5,sleep=on -rtc base=utc,clock=host
				-display none -monitor none -no-reboot -vga none
				-netdev stream,id=link,addr.type=fd,addr.str=4 -device ne2k_isa,iobase=0x300,irq=9,netdev=link
				-chardev stdio,id=console,signal=off -chardev socket,id=control,fd=3
				-serial chardev:console -serial chardev:control
				-kernel /k/bzImage -initrd /k/initrd.cpio
				-append|console=ttyS0,115200 sbctl=ttyS1 netdev=9,0x300,eth0 sbplan=hang`,
		},
		{
			// The built-in ne driver finds each ISA card at the port its
			// netdev= names, under that name.
			name: "i486 network with both links",
			p:    i486, mode: NetworkMode, boot: boot, w: Wiring{Control: 3, Link: 4, DataLink: 5},
			want: `-M pc -cpu 486 -m 32 -icount shift=5,sleep=on -rtc base=utc,clock=host
				-display none -monitor none -no-reboot -vga none
				-netdev stream,id=link,addr.type=fd,addr.str=4 -device ne2k_isa,iobase=0x300,irq=9,netdev=link
				-netdev stream,id=data,addr.type=fd,addr.str=5 -device ne2k_isa,iobase=0x320,irq=10,netdev=data
				-chardev stdio,id=console,signal=off -chardev socket,id=control,fd=3
				-serial chardev:console -serial chardev:control
				-kernel /k/bzImage -initrd /k/initrd.cpio
				-append|console=ttyS0,115200 sbctl=ttyS1 netdev=9,0x300,eth0 netdev=10,0x320,eth1 sbplan=hang`,
		},
		{
			name: "p3 count",
			p:    p3, mode: CountMode, boot: boot, w: Wiring{Control: 3},
			want: `-M pc -cpu pentium3 -m 128 -icount shift=1,sleep=off -rtc base=2020-01-01T00:00:00,clock=vm
				-display none -monitor none -no-reboot -vga none -nic none
				-chardev stdio,id=console,signal=off -chardev socket,id=control,fd=3
				-serial chardev:console -serial chardev:control
				-kernel /k/bzImage -initrd /k/initrd.cpio
				-append|console=ttyS0,115200 sbctl=ttyS1 sbplan=hang`,
		},
		{
			name: "p3 network with NIC",
			p:    p3, mode: NetworkMode, boot: boot, w: Wiring{Control: 3, Link: 4},
			want: `-M pc -cpu pentium3 -m 128 -icount shift=1,sleep=on -rtc base=utc,clock=host
				-display none -monitor none -no-reboot -vga none
				-netdev stream,id=link,addr.type=fd,addr.str=4 -device e1000,netdev=link
				-chardev stdio,id=console,signal=off -chardev socket,id=control,fd=3
				-serial chardev:console -serial chardev:control
				-kernel /k/bzImage -initrd /k/initrd.cpio
				-append|console=ttyS0,115200 sbctl=ttyS1 sbplan=hang`,
		},
		{
			name: "p3 network with both links and MACs",
			p:    p3, mode: NetworkMode, boot: boot,
			w: Wiring{Control: 3, Link: 4, DataLink: 5, MACs: []string{"52:54:00:00:00:00", "52:54:00:00:00:01"}},
			want: `-M pc -cpu pentium3 -m 128 -icount shift=1,sleep=on -rtc base=utc,clock=host
				-display none -monitor none -no-reboot -vga none
				-netdev stream,id=link,addr.type=fd,addr.str=4 -device e1000,netdev=link,mac=52:54:00:00:00:00
				-netdev stream,id=data,addr.type=fd,addr.str=5 -device e1000,netdev=data,mac=52:54:00:00:00:01
				-chardev stdio,id=console,signal=off -chardev socket,id=control,fd=3
				-serial chardev:console -serial chardev:control
				-kernel /k/bzImage -initrd /k/initrd.cpio
				-append|console=ttyS0,115200 sbctl=ttyS1 sbplan=hang`,
		},
		{
			// Three serial slots: Ser1 (ttySA1) is the console and the
			// control channel, the 2nd slot is unused, the 3rd is Ser3
			// (ttySA0). No -m: QEMU fixes collie's RAM, mem= limits it.
			name: "sa1100 count",
			p:    sa1100, mode: CountMode, boot: armBoot,
			want: `-M collie -icount shift=2,sleep=off -rtc base=2020-01-01T00:00:00,clock=vm
				-display none -monitor none -no-reboot
				-semihosting-config enable=on,target=native,userspace=on -nic none
				-chardev stdio,id=console,signal=off
				-serial chardev:console -serial null -serial null
				-kernel /k/zImage
				-append|console=ttySA1,230400 sbctl=ttySA1 mem=32M sbplan=hang`,
		},
		{
			name: "sa1100 network with SLIP and the waking monitor",
			p:    sa1100, mode: NetworkMode, boot: armBoot, w: Wiring{Link: 3, Monitor: 4},
			want: `-M collie -icount shift=2,sleep=on -rtc base=utc,clock=host
				-display none -monitor none -no-reboot
				-chardev socket,id=monitor,fd=4 -mon chardev=monitor,mode=readline
				-semihosting-config enable=on,target=native,userspace=on -nic none
				-chardev stdio,id=console,signal=off -chardev socket,id=link,fd=3
				-serial chardev:console -serial null -serial chardev:link
				-kernel /k/zImage
				-append|console=ttySA1,230400 sbctl=ttySA1 mem=32M sbplan=hang`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Args(tt.mode, tt.boot, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			if want := splitArgs(tt.want); !reflect.DeepEqual(got, want) {
				t.Errorf("Args:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// splitArgs splits a readable argument list at white space, except that
// the text after "-append|" is one argument.
func splitArgs(s string) []string {
	head, appendArg, _ := strings.Cut(s, "-append|")
	return append(strings.Fields(head), "-append", appendArg)
}

func TestArgsErrors(t *testing.T) {
	i486, sa1100 := mustLookup(t, "i486"), mustLookup(t, "sa1100")
	noNIC, oneNIC := *i486, *i486
	noNIC.NICs = nil
	oneNIC.NICs = i486.NICs[:1]
	kernel := Boot{Kernel: "/k"}
	tests := []struct {
		name string
		p    *Platform
		boot Boot
		w    Wiring
		want string
	}{
		{"no kernel", i486, Boot{}, Wiring{Control: 3}, "no kernel image"},
		{"x86 without control socket", i486, kernel, Wiring{}, "control socket given=false"},
		{"sa1100 with control socket", sa1100, kernel, Wiring{Control: 3}, "control socket given=true"},
		{"link without NIC", &noNIC, kernel, Wiring{Control: 3, Link: 4}, "needs a NIC model"},
		{"data link without second NIC", &oneNIC, kernel, Wiring{Control: 3, Link: 4, DataLink: 5}, "needs a NIC model"},
		{"data link alone", i486, kernel, Wiring{Control: 3, DataLink: 5}, "needs the specialization link"},
		{"data link on SLIP", sa1100, kernel, Wiring{Link: 3, DataLink: 4}, "carries all traffic"},
		{"bad MAC", i486, kernel, Wiring{Control: 3, Link: 4, MACs: []string{"52:54:00"}}, "bad Ethernet address"},
		{"param with space", i486, Boot{Kernel: "/k", Params: []string{"a=b c"}}, Wiring{Control: 3}, "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.Args(CountMode, tt.boot, tt.w)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range Modes() {
		got, err := ParseMode(m.Name)
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.Name, got, err)
		}
	}
	if _, err := ParseMode("fast"); err == nil || !strings.Contains(err.Error(), "count, network") {
		t.Errorf("ParseMode(fast) error %v, want the valid names", err)
	}
}

func mustLookup(t *testing.T, name string) *Platform {
	t.Helper()
	p, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestArgsInitrdLoader: collie's -initrd lands beyond mem=32M, so the
// initramfs is loaded at the platform's InitrdAddr and named by initrd=.
func TestArgsInitrdLoader(t *testing.T) {
	sa1100 := mustLookup(t, "sa1100")
	dir := t.TempDir()
	initrd := filepath.Join(dir, "with,comma.cpio")
	if err := os.WriteFile(initrd, make([]byte, 27976), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := sa1100.Args(CountMode, Boot{Kernel: "/k/zImage", Initrd: initrd, Params: []string{"sbplan=hang"}}, Wiring{})
	if err != nil {
		t.Fatal(err)
	}
	want := splitArgs(`-M collie -icount shift=2,sleep=off -rtc base=2020-01-01T00:00:00,clock=vm
		-display none -monitor none -no-reboot
		-semihosting-config enable=on,target=native,userspace=on -nic none
		-chardev stdio,id=console,signal=off
		-serial chardev:console -serial null -serial null
		-kernel /k/zImage -device loader,file=` + strings.ReplaceAll(initrd, ",", ",,") + `,addr=0xc1800000,force-raw=on
		-append|console=ttySA1,230400 sbctl=ttySA1 mem=32M initrd=0xc1800000,27976 sbplan=hang`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Args:\n got %q\nwant %q", got, want)
	}

	big := filepath.Join(dir, "big.cpio")
	if err := os.WriteFile(big, make([]byte, sa1100.InitrdMaxBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sa1100.Args(CountMode, Boot{Kernel: "/k/zImage", Initrd: big}, Wiring{}); err == nil ||
		!strings.Contains(err.Error(), "has room for 8388608") {
		t.Errorf("an initramfs larger than the room: error %v", err)
	}
}
