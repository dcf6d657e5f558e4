package vnet

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"specbed/qemu"
)

// AttachQEMU wires a QEMU guest of platform p to the network: one socket
// pair per link of the guest (the SLIP line, or the specialization and
// data NICs), the host ends attached to n (which owns them), the guest
// ends set in cfg (Link, DataLink). It returns the guest ends, which the
// caller closes once qemu.Start returned: QEMU holds its own copies.
func AttachQEMU(n *Network, p *qemu.Platform, cfg *qemu.Config) ([]*os.File, error) {
	if p.Link == qemu.LinkSLIP {
		host, guest, err := socketPair("slip")
		if err != nil {
			return nil, err
		}
		if err := n.AttachSLIP(p.Name, host); err != nil {
			guest.Close()
			return nil, err
		}
		cfg.Link = guest
		return []*os.File{guest}, nil
	}
	var guests []*os.File
	for _, nic := range []int{SpecNIC, DataNIC} {
		host, guest, err := socketPair(fmt.Sprintf("nic%d", nic))
		if err == nil {
			err = n.AttachEthernet(p.Name, nic, host)
		}
		if err != nil {
			if guest != nil {
				guest.Close()
			}
			for _, f := range guests {
				f.Close()
			}
			return nil, err
		}
		guests = append(guests, guest)
	}
	cfg.Link, cfg.DataLink = guests[0], guests[1]
	return guests, nil
}

// StartQEMU starts the guest cfg describes on n, which topo started: the
// NICs get the addresses topo gives the guest's node (unless cfg.MACs
// has them), the links are attached (AttachQEMU), and the guest ends are
// closed once QEMU holds its own copies.
func StartQEMU(ctx context.Context, n *Network, topo *Topology, cfg qemu.Config) (*qemu.Instance, error) {
	node := topo.Node(cfg.Platform.Name)
	if node == nil {
		return nil, fmt.Errorf("vnet: the topology has no node %s", cfg.Platform.Name)
	}
	if len(cfg.MACs) == 0 {
		for _, nic := range node.NICs {
			cfg.MACs = append(cfg.MACs, nic.MAC)
		}
	}
	guestEnds, err := AttachQEMU(n, cfg.Platform, &cfg)
	if err != nil {
		return nil, err
	}
	in, err := qemu.Start(ctx, cfg)
	for _, f := range guestEnds {
		f.Close()
	}
	return in, err
}

// socketPair is a connected pair of stream sockets named after name.
func socketPair(name string) (host, guest *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair for %s: %w", name, err)
	}
	return os.NewFile(uintptr(fds[0]), name+"-host"), os.NewFile(uintptr(fds[1]), name+"-guest"), nil
}
