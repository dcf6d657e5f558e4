package qemu

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// A text guest is a real x86 guest program, small enough to write here:
// QEMU boots it as a multiboot kernel, it prints a fixed text on COM1 the
// way the kernel's console does (waiting for the transmitter to be empty)
// and then spins forever or resets the machine (which ends QEMU under
// -no-reboot). It lets the tests drive the real QEMU process through every
// outcome without building a kernel.

// guestEnd is what a text guest does after its text.
type guestEnd int

const (
	endSpin  guestEnd = iota // loop forever, silently
	endReset                 // reset through the keyboard controller
)

// multiboot header: magic, flags (bit 16: the address fields below are
// valid, so the file is loaded as a raw image), checksum.
const (
	multibootMagic = 0x1BADB002
	multibootFlags = 0x00010000
	loadAddr       = 0x100000
	headerBytes    = 32
)

// textGuest writes the guest to a temporary file and returns its path.
func textGuest(t *testing.T, text string, end guestEnd) string {
	t.Helper()
	var code []byte
	emit := func(b ...byte) { code = append(code, b...) }
	emit(0xBE, 0, 0, 0, 0) // mov esi, text (patched below)
	loop := len(code)
	emit(0xAC)       // lodsb
	emit(0x84, 0xC0) // test al, al
	emit(0x74, 0)    // jz end (patched below)
	jzEnd := len(code) - 1
	emit(0x88, 0xC3)             // mov bl, al
	emit(0x66, 0xBA, 0xFD, 0x03) // mov dx, 0x3fd (line status register)
	wait := len(code)
	emit(0xEC)                                  // in al, dx
	emit(0xA8, 0x20)                            // test al, 0x20 (transmitter empty)
	emit(0x74, byte(wait-(len(code)+2)))        // jz wait
	emit(0x66, 0xBA, 0xF8, 0x03)                // mov dx, 0x3f8 (transmit register)
	emit(0x88, 0xD8)                            // mov al, bl
	emit(0xEE)                                  // out dx, al
	emit(0xEB, byte(loop-(len(code)+2)))        // jmp loop
	code[jzEnd] = byte(len(code) - (jzEnd + 1)) // end:
	if end == endReset {
		emit(0xB0, 0xFE, 0xE6, 0x64) // mov al, 0xfe; out 0x64, al
	}
	emit(0xEB, 0xFE) // jmp $
	binary.LittleEndian.PutUint32(code[1:], uint32(loadAddr+headerBytes+len(code)))

	var img bytes.Buffer
	magic, flags := uint32(multibootMagic), uint32(multibootFlags)
	checksum := -(magic + flags)
	for _, v := range []uint32{magic, flags, checksum,
		loadAddr, loadAddr, 0, 0, loadAddr + headerBytes} {
		binary.Write(&img, binary.LittleEndian, v)
	}
	img.Write(code)
	img.WriteString(text)
	img.WriteByte(0)
	path := filepath.Join(t.TempDir(), "guest.bin")
	if err := os.WriteFile(path, img.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
