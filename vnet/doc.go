// Package vnet is specbed's virtual network: links, a router and gVisor
// netstack hosts that QEMU guests reach without root privileges.
//
// # Model
//
// A Topology is data: nodes (hosts, routers, switches, guests) and
// point-to-point links between their NICs; a learning switch joins several
// links into one Ethernet segment. Start builds it; guests are attached later,
// an Ethernet NIC with AttachEthernet (the host end of a QEMU -netdev
// stream: each frame prefixed by its 4-byte big-endian length) and a SLIP
// line with AttachSLIP (the host end of the UART's chardev).
//
// Each direction of a link is a FIFO queue limited in bytes, served at the
// link's rate, followed by a constant propagation delay and random loss.
// The rate applies to the bytes of each frame that cross the wire: the
// whole Ethernet frame including its 14-byte header (no preamble, FCS or
// inter-frame gap), and on a SLIP link the SLIP-encoded bytes (8 bits per
// byte; the UART's start and stop bits are not counted). A frame that does
// not fit in the queue is dropped and counted (DirStats.QueueDrops): unlike
// gVisor's channel endpoint, whose full queue drops silently, no frame
// disappears uncounted. Each frame's departure time is computed exactly
// (start = max(arrival, previous departure), plus its bytes times 8/rate);
// frames are released up to releaseGrain early because Go timers cannot
// wake for every 12 us frame of a 1 Gbit/s link, so the rate holds over any
// interval longer than a millisecond.
//
// # Time base
//
// Links run in host time (time.Now). A guest under -icount runs in virtual
// time that is unrelated to host time, so guests on a vnet link must run in
// network mode (see package qemu): real-time clocks, and measurements in
// host time.
//
// # Hosts
//
// A Host is a gVisor netstack (IPv4, ARP, TCP with SACK, UDP, ICMP). Its
// NICs use a channel endpoint wrapped in ethernet.New, so hosts answer ARP
// like a real machine; a router is a Host that forwards IPv4. Services
// (the specialization server, the Sink) use Host.Listen, Host.ListenUDP
// and Host.Dial, which return standard net interfaces.
//
// # Captures
//
// A link's Pcap file gets every frame as its receiver gets it; IngressPcap
// every frame offered to the queue. Both open in tcpdump and Wireshark;
// SLIP links are written as LINKTYPE_RAW (bare IPv4).
package vnet
