package vnet

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"specbed/qemu"
)

// TestAttachErrors: attaching checks the guest, the NIC and the framing.
func TestAttachErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	topo, err := DefaultTopology("g", qemu.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	_, first := socketpair(t)
	if err := n.AttachEthernet("g", SpecNIC, first); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		attach func() error
	}{
		{"twice", func() error { _, c := socketpair(t); return n.AttachEthernet("g", SpecNIC, c) }},
		{"no such NIC", func() error { _, c := socketpair(t); return n.AttachEthernet("g", 5, c) }},
		{"no such guest", func() error { _, c := socketpair(t); return n.AttachEthernet("h", 0, c) }},
		{"a host", func() error { _, c := socketpair(t); return n.AttachEthernet(ServerHost, 0, c) }},
		{"SLIP on Ethernet", func() error { _, c := socketpair(t); return n.AttachSLIP("g", c) }},
	} {
		if err := tc.attach(); err == nil {
			t.Errorf("%s: attach succeeded", tc.name)
		}
	}
}

// TestSLIPDrainedContinuously: a guest that writes far more than the SLIP
// line's rate is never blocked (QEMU would drop UART bytes): vnet reads
// everything at once and the link's queue drops and counts the excess.
func TestSLIPDrainedContinuously(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topo, err := DefaultTopology("g", qemu.LinkSLIP)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	guest, host := socketpair(t)
	if err := n.AttachSLIP("g", host); err != nil {
		t.Fatal(err)
	}
	const packets = 1300
	pkt := bytes.Repeat([]byte{0x45}, 200)
	var stream []byte
	for range packets {
		stream = SLIPEncode(stream, pkt)
	}
	// At SLIPRate the line needs ~9 s for this; the write must not wait
	// for the line.
	guest.SetWriteDeadline(time.Now().Add(3 * time.Second))
	if _, err := guest.Write(stream); err != nil {
		t.Fatalf("guest write blocked: %v", err)
	}
	link := n.Link(SLIPLink)
	if !eventually(5*time.Second, func() bool { return link.Stats().AToB.OfferedFrames == packets }) {
		t.Fatalf("link was offered %d of %d packets", link.Stats().AToB.OfferedFrames, packets)
	}
	st := link.Stats().AToB
	if st.QueueDrops == 0 || st.OfferedBytes != int64(packets*len(SLIPEncode(nil, pkt))) {
		t.Errorf("stats %+v: want queue drops and %d encoded bytes offered", st, packets*202)
	}
	if st.MaxQueueBytes > DefaultQueueBytes {
		t.Errorf("queue peaked at %d bytes, above its %d-byte limit", st.MaxQueueBytes, DefaultQueueBytes)
	}
}

// TestAttachBlockingFile attaches the host end of a socketpair as the
// orchestrator does (os.NewFile of a blocking descriptor): frames flow,
// and Close returns although the guest end stays open.
func TestAttachBlockingFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topo, err := DefaultTopology("g", qemu.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	host, guest := os.NewFile(uintptr(fds[0]), "host"), os.NewFile(uintptr(fds[1]), "guest")
	defer guest.Close()
	if err := n.AttachEthernet("g", SpecNIC, host); err != nil {
		t.Fatal(err)
	}
	mac, _ := parseMAC(GuestMAC(0, SpecNIC))
	g := &rawGuest{mac: tcpip.LinkAddress(mac), ip: tcpip.AddrFrom4(netip.MustParseAddr(GuestSpecIP).As4())}
	if err := writeStreamFrame(guest, g.arpRequest(tcpip.AddrFrom4(netip.MustParseAddr(ServerIP).As4()))); err != nil {
		t.Fatal(err)
	}
	if reply, err := readStreamFrame(guest); err != nil || len(reply) < 14 || header.Ethernet(reply).Type() != header.ARPProtocolNumber {
		t.Fatalf("no ARP reply from the server host: % x, %v", reply, err)
	}
	closed := make(chan error, 1)
	go func() { closed <- n.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a blocking descriptor")
	}
}
