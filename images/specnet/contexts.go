package specnet

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// A Context is one test context of the generic UDP send path: what a
// customized send fixes (images/specnet/generic/udp.decl), as the JSON of
// specbed.context/v1 that S's ctxschema loads.
type Context struct {
	Name string
	// Doc says what the context exercises.
	Doc  string
	JSON []byte
}

// Socket option and flag values the contexts use (Linux, i386 and ARM).
const (
	msgDontroute = 0x4
	msgProbe     = 0x10
	msgDontwait  = 0x40
	msgConfirm   = 0x800
	msgMore      = 0x8000
	oNonblock    = 04000
	oRdwr        = 2

	sockBroadcast  = 1 << 6
	sockLocalroute = 1 << 13

	netifSG     = 1 << 0
	netifIPCsum = 1 << 1
	netifHWCsum = 1 << 3

	rtnUnicast   = 1
	rtnBroadcast = 3
	rtnMulticast = 5

	rtcfBroadcast = 0x10000000
	rtcfMulticast = 0x20000000
	rtcfLocal     = 0x80000000

	dstIPOutput   = 0
	dstIPMcOutput = 1

	neighDirect    = 0
	neighConnected = 1
	neighResolve   = 2

	nudStale = 0x04
	nudDelay = 0x08
	nudProbe = 0x10
	nudNoarp = 0x40

	solIP     = 0
	solSocket = 1
	solUDP    = 17
	ipTOS     = 1
	ipTTL     = 2
	ipPktinfo = 8
	soMark    = 36
	scmRights = 1

	cmsgBufLen = 64 // sizeof(sn_user_msg.msg_control)
)

// field is one context value: its kind (ctxschema) and value.
type field struct {
	kind string
	val  any // int64 for integer kinds, string for ipv4, []byte for bytes, bool for ptr
}

// ctxValues are the values of one context by decl path.
type ctxValues map[string]field

// set changes an existing value, keeping its kind (a typo panics).
func (c ctxValues) set(path string, v any) {
	f, ok := c[path]
	if !ok {
		panic("specnet: context path " + path + " is not in the base context")
	}
	switch x := v.(type) {
	case int:
		v = int64(x)
	case uint32:
		v = int64(x)
	}
	f.val = v
	c[path] = f
}

// null makes the pointer at path NULL and drops the values behind it.
func (c ctxValues) null(path string) {
	c.set(path, false)
	for k := range c {
		if strings.HasPrefix(k, path+"->") || strings.HasPrefix(k, path+".") {
			delete(c, k)
		}
	}
}

// be16 is a port as a __be16 field holds it on the little-endian guests.
func be16(port uint16) int64 { return int64(port>>8 | port<<8) }

// ether is a hardware header cache entry: HH_DATA_OFF(14) = 2 bytes of
// padding, destination, source, ETH_P_IP.
func ether(dst, src []byte) []byte {
	h := make([]byte, 16)
	copy(h[2:], dst)
	copy(h[8:], src)
	h[14], h[15] = 0x08, 0x00
	return h
}

var (
	macPeer  = []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
	macOurs  = []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x0f}
	macMcast = []byte{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}
	macBcast = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

func pad(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, b)
	return out
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

// cmsg is one control message (struct cmsghdr on ILP32 and its data),
// aligned to 4 bytes like CMSG_SPACE.
func cmsg(level, typ uint32, data []byte) []byte { return cmsgLen(level, typ, data, 12+len(data)) }

// cmsgLen is cmsg with an explicit (possibly wrong) cmsg_len.
func cmsgLen(level, typ uint32, data []byte, cmsgLen int) []byte {
	b := append(append(append(le32(uint32(cmsgLen)), le32(level)...), le32(typ)...), data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// control fills msg_control with the messages; the caller sets msg_controllen.
func (c ctxValues) control(msgs ...[]byte) {
	var b []byte
	for _, m := range msgs {
		b = append(b, m...)
	}
	if len(b) > cmsgBufLen {
		panic("specnet: control messages longer than msg_control")
	}
	c.set("um->msg_control", pad(b, cmsgBufLen))
	c.set("um->msg_controllen", len(b))
}

// baseContext is an unconnected UDP socket sending 512-byte ADUs with
// sendto() to 10.0.2.2:9 from 10.0.2.15:40000 over an Ethernet-like
// device (MTU 1500, scatter-gather and checksum offload, like dummy0)
// whose neighbour is resolved with its header cached.
func baseContext() ctxValues {
	u8 := func(v int64) field { return field{"u8", v} }
	u16 := func(v int64) field { return field{"u16", v} }
	s16 := func(v int64) field { return field{"s16", v} }
	u32 := func(v int64) field { return field{"u32", v} }
	s32 := func(v int64) field { return field{"s32", v} }
	ip := func(v string) field { return field{"ipv4", v} }
	ptr := func(v bool) field { return field{"ptr", v} }
	bytes := func(v []byte) field { return field{"bytes", v} }

	c := ctxValues{
		"fd":         s32(3),
		"adu":        u32(512),
		"send_flags": u32(0),

		"um->msg_name":             ptr(true),
		"um->msg_name->sin_family": u16(2),
		"um->msg_name->sin_port":   u16(be16(9)),
		"um->msg_name->sin_addr":   ip("10.0.2.2"),
		"um->msg_namelen":          s32(16),
		"um->msg_control":          bytes(make([]byte, cmsgBufLen)),
		"um->msg_controllen":       u32(0),

		"sock->file.f_flags": u32(oRdwr),
		"sock->sk":           ptr(true),
		"sock->sk->sk_net":   ptr(true),
		"sock->sk->sk_net->sysctl_ip_default_ttl": s32(64),
		"sock->sk->sk_net->skb_max_alloc":         u32(16384 - 320),
		"sock->sk->sk_state":                      u8(7), // TCP_CLOSE
		"sock->sk->sk_protocol":                   u8(17),
		"sock->sk->sk_shutdown":                   u8(0),
		"sock->sk->sk_no_check_tx":                u8(0),
		"sock->sk->sk_bound_dev_if":               s32(0),
		"sock->sk->sk_sndbuf":                     s32(212992),
		"sock->sk->sk_sndtimeo":                   s32(0x7fffffff),
		"sock->sk->sk_priority":                   u32(0),
		"sock->sk->sk_mark":                       u32(0),
		"sock->sk->sk_flags":                      u32(0),
		"sock->sk->sk_uid":                        u32(1000),
		"sock->sk->inet.inet_saddr":               ip("0.0.0.0"),
		"sock->sk->inet.inet_daddr":               ip("0.0.0.0"),
		"sock->sk->inet.inet_dport":               u16(0),
		"sock->sk->inet.inet_sport":               u16(be16(40000)),
		"sock->sk->inet.inet_num":                 u16(40000),
		"sock->sk->inet.uc_ttl":                   s16(-1),
		"sock->sk->inet.mc_ttl":                   u8(1),
		"sock->sk->inet.tos":                      u8(0),
		"sock->sk->inet.pmtudisc":                 u8(1), // IP_PMTUDISC_WANT
		"sock->sk->inet.mc_loop":                  u8(1),
		"sock->sk->inet.recverr":                  u8(0),
		"sock->sk->inet.transparent":              u8(0),
		"sock->sk->inet.uc_index":                 s32(0),
		"sock->sk->inet.mc_index":                 s32(0),
		"sock->sk->inet.mc_addr":                  ip("0.0.0.0"),
		"sock->sk->inet.conn_fl.saddr":            ip("0.0.0.0"),
		"sock->sk->inet.conn_fl.daddr":            ip("0.0.0.0"),
		"sock->sk->inet.conn_fl.fl4_dport":        u16(0),
		"sock->sk->up.corkflag":                   u8(0),

		"sock->sk->inet.inet_opt": ptr(false),

		"sock->sk->sk_dst_cache": ptr(false),
		"rt_genid":               s32(1),
		"route_err":              s32(0),
		"neigh_err":              s32(0),
		"rt->fl4_saddr":          ip("10.0.2.15"),
		"rt->fl4_daddr":          ip("10.0.2.2"),

		"neigh->nud_state":  u8(nudNoarp),
		"neigh->ha":         bytes(pad(macPeer, 8)),
		"neigh->output":     s32(neighResolve),
		"neigh->hh.hh_len":  u32(14),
		"neigh->hh.hh_data": bytes(ether(macPeer, macOurs)),
	}
	c.route("rt")
	return c
}

// route adds a unicast route over the base's device at the pointer path
// root (the looked-up route "rt" or the socket's cached route).
func (c ctxValues) route(root string) {
	fields := map[string]field{
		"dst.dev":                   {"ptr", true},
		"dst.dev->ifindex":          {"s32", int64(2)},
		"dst.dev->mtu":              {"u32", int64(1500)},
		"dst.dev->features":         {"u32", int64(netifSG | netifHWCsum)},
		"dst.dev->hard_header_len":  {"u16", int64(14)},
		"dst.dev->needed_headroom":  {"u16", int64(0)},
		"dst.dev->header_ops_cache": {"u8", int64(1)},
		"dst.output":                {"s32", int64(dstIPOutput)},
		"dst.metric_mtu":            {"u32", int64(0)},
		"dst.metric_hoplimit":       {"u32", int64(0)},
		"dst.metric_locks":          {"u32", int64(0)},
		"rt_flags":                  {"u32", int64(0)},
		"rt_type":                   {"u16", int64(rtnUnicast)},
		"rt_uses_gateway":           {"u8", int64(0)},
		"rt_gw_family":              {"u8", int64(0)},
		"rt_mtu_locked":             {"u8", int64(0)},
		"rt_gw4":                    {"ipv4", "0.0.0.0"},
		"rt_pmtu":                   {"u32", int64(0)},
	}
	for k, f := range fields {
		c[root+"->"+k] = f
	}
}

// connected makes the socket a connect()ed one sending with send():
// no address in the message, the flow and the route cached at connect.
func (c ctxValues) connected() {
	c.null("um->msg_name")
	c.set("um->msg_namelen", 0)
	c.set("sock->sk->sk_state", 1) // TCP_ESTABLISHED
	c.set("sock->sk->inet.inet_saddr", "10.0.2.15")
	c.set("sock->sk->inet.inet_daddr", "10.0.2.2")
	c.set("sock->sk->inet.inet_dport", be16(9))
	c.set("sock->sk->inet.conn_fl.saddr", "10.0.2.15")
	c.set("sock->sk->inet.conn_fl.daddr", "10.0.2.2")
	c.set("sock->sk->inet.conn_fl.fl4_dport", be16(9))
	c.set("sock->sk->sk_dst_cache", true)
	c.route("sock->sk->sk_dst_cache")
	c["sock->sk->sk_dst_cache->dst.obsolete"] = field{"s32", int64(-1)} // DST_OBSOLETE_FORCE_CHK
	c["sock->sk->sk_dst_cache->rt_genid"] = field{"s32", int64(1)}
}

// options gives the socket IP options (the bytes after the header, with
// the offsets ip_options_compile() computes: from the header's start).
func (c ctxValues) options(data []byte, set map[string]int) {
	c.set("sock->sk->inet.inet_opt", true)
	for _, k := range []string{"faddr", "optlen", "srr", "rr", "ts", "is_strictroute", "rr_needaddr", "ts_needtime", "ts_needaddr", "__data"} {
		kind := "u8"
		var v any = int64(0)
		switch k {
		case "faddr":
			kind, v = "ipv4", "0.0.0.0"
		case "__data":
			kind, v = "bytes", pad(data, 40)
		case "optlen":
			v = int64(len(data))
		}
		c["sock->sk->inet.inet_opt->"+k] = field{kind, v}
	}
	for k, v := range set {
		c.set("sock->sk->inet.inet_opt->"+k, v)
	}
}

type contextSpec struct {
	name, doc string
	edit      func(c ctxValues)
	// errno is the error every on-guard send of the context fails with
	// (0: sends succeed); silent says no datagram leaves either way.
	errno  int
	silent bool
}

// contextSpecs are the test contexts. Together they take every branch on
// a static value of the generic path both ways (TestGenericCoverage).
var contextSpecs = []contextSpec{
	{"typical", "sendto() of a 512-byte ADU, checksum offloaded, header cached", func(c ctxValues) {}, 0, false},
	{"adu64", "smallest ADU of the series", func(c ctxValues) { c.set("adu", 64) }, 0, false},
	{"adu1472", "largest ADU that fits a 1500-byte MTU", func(c ctxValues) { c.set("adu", 1472) }, 0, false},
	{"adu0", "an empty datagram", func(c ctxValues) { c.set("adu", 0) }, 0, false},
	{"frag-mtu576", "1472-byte ADU over a 576-byte MTU: three fragments", func(c ctxValues) {
		c.set("adu", 1472)
		c.set("rt->dst.dev->mtu", 576)
	}, 0, false},
	{"sw-csum", "no checksum offload: UDP checksum in software", func(c ctxValues) {
		c.set("rt->dst.dev->features", netifSG)
	}, 0, false},
	{"ip-csum-nosg", "IPv4 checksum offload without scatter-gather (ne2k-like)", func(c ctxValues) {
		c.set("rt->dst.dev->features", netifIPCsum)
		c.set("adu", 1000)
	}, 0, false},
	{"frag-nosg-swcsum", "fragments on a device without offloads", func(c ctxValues) {
		c.set("rt->dst.dev->features", 0)
		c.set("rt->dst.dev->mtu", 1006)
		c.set("adu", 1472)
	}, 0, false},
	{"jumbo-paged", "a 20000-byte ADU over a 65535 MTU: the linear part would exceed SKB_MAX_ALLOC, data goes to page frags", func(c ctxValues) {
		c.set("rt->dst.dev->mtu", 65535)
		c.set("adu", 20000)
	}, 0, false},
	{"jumbo-linear", "a 20000-byte ADU over a 65535 MTU without scatter-gather: one linear buffer", func(c ctxValues) {
		c.set("rt->dst.dev->mtu", 65535)
		c.set("rt->dst.dev->features", 0)
		c.set("adu", 20000)
	}, 0, false},
	{"connected", "send() on a connected socket with a valid cached route", func(c ctxValues) { c.connected() }, 0, false},
	{"connected-nocache", "connected socket without a cached route: lookup and sk_dst_set", func(c ctxValues) {
		c.connected()
		c.null("sock->sk->sk_dst_cache")
	}, 0, false},
	{"connected-expired", "the cached route is from an older route generation", func(c ctxValues) {
		c.connected()
		c.set("sock->sk->sk_dst_cache->rt_genid", 0)
	}, 0, false},
	{"connected-killed", "a PMTU update killed the cached route (DST_OBSOLETE_KILL)", func(c ctxValues) {
		c.connected()
		c.set("sock->sk->sk_dst_cache->dst.obsolete", -2)
	}, 0, false},
	{"connected-nocheck", "a cached route that needs no check (obsolete 0), fragmenting", func(c ctxValues) {
		c.connected()
		c.set("sock->sk->sk_dst_cache->dst.obsolete", 0)
		c.set("sock->sk->sk_dst_cache->dst.dev->mtu", 576)
		c.set("adu", 1000)
	}, 0, false},
	{"connected-localroute", "SO_DONTROUTE on a connected socket: no cached route, RTO_ONLINK", func(c ctxValues) {
		c.connected()
		c.set("sock->sk->sk_flags", sockLocalroute)
	}, 0, false},
	{"multicast", "to 239.1.2.3, looped back, TTL 1, source from IP_MULTICAST_IF", func(c ctxValues) {
		c.set("um->msg_name->sin_addr", "239.1.2.3")
		c.set("sock->sk->inet.mc_addr", "10.0.2.15")
		c.set("sock->sk->inet.mc_index", 2)
		c.set("rt->rt_type", rtnMulticast)
		c.set("rt->rt_flags", rtcfMulticast|rtcfLocal)
		c.set("rt->dst.output", dstIPMcOutput)
		c.set("rt->fl4_daddr", "239.1.2.3")
		c.set("neigh->ha", pad(macMcast, 8))
		c.set("neigh->hh.hh_data", ether(macMcast, macOurs))
	}, 0, false},
	{"multicast-ttl0", "multicast kept on the host (TTL 0), no loopback, bound device and address", func(c ctxValues) {
		c.set("um->msg_name->sin_addr", "239.1.2.3")
		c.set("sock->sk->inet.inet_saddr", "10.0.2.15")
		c.set("sock->sk->sk_bound_dev_if", 2)
		c.set("sock->sk->inet.mc_ttl", 0)
		c.set("sock->sk->inet.mc_loop", 0)
		c.set("rt->rt_type", rtnMulticast)
		c.set("rt->rt_flags", rtcfMulticast)
		c.set("rt->dst.output", dstIPMcOutput)
		c.set("rt->fl4_daddr", "239.1.2.3")
	}, 0, true},
	{"broadcast", "to 10.0.2.255 with SO_BROADCAST, looped back", func(c ctxValues) {
		c.set("um->msg_name->sin_addr", "10.0.2.255")
		c.set("sock->sk->sk_flags", sockBroadcast)
		c.set("rt->rt_type", rtnBroadcast)
		c.set("rt->rt_flags", rtcfBroadcast|rtcfLocal)
		c.set("rt->dst.output", dstIPMcOutput)
		c.set("rt->fl4_daddr", "10.0.2.255")
		c.set("neigh->ha", pad(macBcast, 8))
		c.set("neigh->hh.hh_data", ether(macBcast, macOurs))
	}, 0, false},
	{"broadcast-denied", "broadcast without SO_BROADCAST: EACCES", func(c ctxValues) {
		c.set("um->msg_name->sin_addr", "10.0.2.255")
		c.set("rt->rt_type", rtnBroadcast)
		c.set("rt->rt_flags", rtcfBroadcast|rtcfLocal)
		c.set("rt->dst.output", dstIPMcOutput)
	}, 13, false},
	{"cork-more-sg", "MSG_MORE on a scatter-gather device: corked appends go to page frags", func(c ctxValues) {
		c.set("send_flags", msgMore)
		c.set("adu", 700)
	}, 0, false},
	{"cork-udpcork-nosg", "UDP_CORK on a device without scatter-gather: linear appends until the 64 KB limit flushes them (nothing uncorks)", func(c ctxValues) {
		c.set("sock->sk->up.corkflag", 1)
		c.set("rt->dst.dev->features", 0)
		c.set("rt->dst.dev->mtu", 1006)
		c.set("adu", 300)
	}, 0, true},
	{"cork-more-nosg", "MSG_MORE without scatter-gather: appends fill MTU-sized skbs; sends without MSG_MORE push fragments", func(c ctxValues) {
		c.set("send_flags", msgMore)
		c.set("rt->dst.dev->features", netifIPCsum)
		// (1006 - 20) % 8 != 0: the third 326-byte append fills the skb to
		// the MTU, past maxfraglen (1004), and the next one moves the
		// overhang (fraggap) to a new skb.
		c.set("rt->dst.dev->mtu", 1006)
		c.set("adu", 326)
	}, 0, false},
	{"nonblocking", "O_NONBLOCK socket", func(c ctxValues) {
		c.set("sock->file.f_flags", oRdwr|oNonblock)
	}, 0, false},
	{"dontwait-confirm", "MSG_DONTWAIT|MSG_CONFIRM: the neighbour is confirmed", func(c ctxValues) {
		c.set("send_flags", msgDontwait|msgConfirm)
		c.set("sock->sk->sk_sndtimeo", 1000)
	}, 0, false},
	{"confirm-probe", "MSG_CONFIRM|MSG_PROBE with an empty ADU: confirm the path, send nothing", func(c ctxValues) {
		c.set("send_flags", msgConfirm|msgProbe)
		c.set("adu", 0)
	}, 0, true},
	{"probe", "MSG_PROBE: nothing is sent", func(c ctxValues) { c.set("send_flags", msgProbe) }, 0, true},
	{"cork-probe", "MSG_MORE|MSG_PROBE", func(c ctxValues) { c.set("send_flags", msgMore|msgProbe) }, 0, true},
	{"dontroute", "MSG_DONTROUTE: RTO_ONLINK in the route lookup", func(c ctxValues) {
		c.set("send_flags", msgDontroute)
	}, 0, false},
	{"ipopt-rr-ts", "IP options: record route and timestamp with address, fragmented (RR is not copied)", func(c ctxValues) {
		// NOOP, RR (len 7, one slot), TS (len 12, flags 1: one address+time slot);
		// ip_options_compile() advanced the pointers past the slots to fill.
		c.options([]byte{1, 7, 7, 8, 0, 0, 0, 0, 0x44, 12, 13, 1, 0, 0, 0, 0, 0, 0, 0, 0},
			map[string]int{"rr": 21, "ts": 28, "rr_needaddr": 1, "ts_needaddr": 1, "ts_needtime": 1})
		c.set("rt->dst.dev->mtu", 576)
		c.set("adu", 1200)
	}, 0, false},
	{"ipopt-lsrr", "loose source route through 10.0.2.3: the route goes to the first hop", func(c ctxValues) {
		// NOOP, LSRR (len 7, ptr 4): its one slot gets the destination;
		// the first hop went to faddr.
		c.options([]byte{1, 0x83, 7, 4, 0, 0, 0, 0}, map[string]int{"srr": 21})
		c.set("sock->sk->inet.inet_opt->faddr", "10.0.2.3")
	}, 0, false},
	{"ipopt-ssrr-ts", "strict source route (RTO_ONLINK) and a timestamp-only option", func(c ctxValues) {
		// NOOP, SSRR (len 7, ptr 4), TS (len 8, flags 0: one time slot)
		c.options([]byte{1, 0x89, 7, 4, 0, 0, 0, 0, 0x44, 8, 9, 0, 0, 0, 0, 0},
			map[string]int{"srr": 21, "is_strictroute": 1, "ts": 28, "ts_needtime": 1})
		c.set("sock->sk->inet.inet_opt->faddr", "10.0.2.3")
	}, 0, false},
	{"ipopt-end-frag", "options ending in END, fragmented: ip_options_fragment stops at END", func(c ctxValues) {
		// RR (len 7, one slot), END
		c.options([]byte{0x07, 7, 8, 0, 0, 0, 0, 0}, map[string]int{"rr": 20, "rr_needaddr": 1})
		c.set("rt->dst.dev->mtu", 576)
		c.set("adu", 900)
	}, 0, false},
	{"cmsg-ip", "IP_TTL, IP_PKTINFO and IP_TOS (int) control messages", func(c ctxValues) {
		c.control(cmsg(solIP, ipTTL, le32(5)),
			cmsg(solIP, ipPktinfo, append(append(le32(2), 10, 0, 2, 15), 0, 0, 0, 0)),
			cmsg(solIP, ipTOS, le32(0x10)))
	}, 0, false},
	{"cmsg-tos-classes", "four IP_TOS (u8) messages, one per priority class", func(c ctxValues) {
		c.control(cmsg(solIP, ipTOS, []byte{0x00}), cmsg(solIP, ipTOS, []byte{0x08}),
			cmsg(solIP, ipTOS, []byte{0x04}), cmsg(solIP, ipTOS, []byte{0x18}))
	}, 0, false},
	{"cmsg-socket", "SO_MARK, SCM_RIGHTS (ignored), an IPv6-level message (skipped), IP_PKTINFO without ifindex", func(c ctxValues) {
		c.control(cmsg(solSocket, soMark, le32(7)), cmsg(solSocket, scmRights, nil),
			cmsg(41, 50, nil), cmsg(solIP, ipPktinfo, append(append(le32(0), 10, 0, 2, 15), 0, 0, 0, 0)))
	}, 0, false},
	{"cmsg-bad-len", "a control message shorter than its header: EINVAL", func(c ctxValues) {
		c.control(cmsgLen(solIP, ipTTL, le32(5), 8))
	}, 22, false},
	{"cmsg-truncated", "8 bytes of control data on a connected socket: no message fits, but the cached route is not used", func(c ctxValues) {
		c.connected()
		c.control(make([]byte, 8))
	}, 0, false},
	{"cmsg-overlong", "a control message longer than the buffer: EINVAL", func(c ctxValues) {
		c.control(cmsgLen(solIP, ipTTL, le32(5), 40))
	}, 22, false},
	{"cmsg-udp", "a SOL_UDP message (UDP_SEGMENT, not rendered): EOPNOTSUPP", func(c ctxValues) {
		c.control(cmsg(solUDP, 103, []byte{0xb8, 0x05}))
	}, 95, false},
	{"cmsg-ttl-zero", "IP_TTL 0: EINVAL", func(c ctxValues) { c.control(cmsg(solIP, ipTTL, le32(0))) }, 22, false},
	{"cmsg-ttl-256", "IP_TTL 256: EINVAL", func(c ctxValues) { c.control(cmsg(solIP, ipTTL, le32(256))) }, 22, false},
	{"cmsg-ttl-short", "IP_TTL with a 2-byte value: EINVAL", func(c ctxValues) { c.control(cmsg(solIP, ipTTL, []byte{5, 0})) }, 22, false},
	{"cmsg-pktinfo-short", "IP_PKTINFO of the wrong size: EINVAL", func(c ctxValues) { c.control(cmsg(solIP, ipPktinfo, le32(2))) }, 22, false},
	{"cmsg-tos-short", "IP_TOS with a 2-byte value: EINVAL", func(c ctxValues) { c.control(cmsg(solIP, ipTOS, []byte{0x10, 0})) }, 22, false},
	{"cmsg-tos-negative", "IP_TOS -1: EINVAL", func(c ctxValues) { c.control(cmsg(solIP, ipTOS, le32(0xffffffff))) }, 22, false},
	{"cmsg-tos-300", "IP_TOS 300: EINVAL", func(c ctxValues) { c.control(cmsg(solIP, ipTOS, le32(300))) }, 22, false},
	{"cmsg-ip-unknown", "an unknown SOL_IP message: EINVAL", func(c ctxValues) { c.control(cmsg(solIP, 99, le32(0))) }, 22, false},
	{"cmsg-mark-short", "SO_MARK with a 2-byte value: EINVAL (or EPERM)", func(c ctxValues) {
		c.control(cmsg(solSocket, soMark, []byte{7, 0}))
	}, 0, true},
	{"cmsg-socket-unknown", "an unknown SOL_SOCKET message: EINVAL", func(c ctxValues) { c.control(cmsg(solSocket, 99, le32(0))) }, 22, false},
	{"namelen-long", "an address length over sockaddr_storage: EINVAL", func(c ctxValues) { c.set("um->msg_namelen", 200) }, 22, false},
	{"namelen-negative", "a negative address length: EINVAL", func(c ctxValues) { c.set("um->msg_namelen", -1) }, 22, false},
	{"namelen-short", "an address shorter than sockaddr_in: EINVAL", func(c ctxValues) { c.set("um->msg_namelen", 8) }, 22, false},
	{"family-unspec", "AF_UNSPEC destination (accepted as AF_INET)", func(c ctxValues) { c.set("um->msg_name->sin_family", 0) }, 0, false},
	{"family-inet6", "AF_INET6 destination on an IPv4 socket: EAFNOSUPPORT", func(c ctxValues) {
		c.set("um->msg_name->sin_family", 10)
	}, 97, false},
	{"dport-zero", "destination port 0: EINVAL", func(c ctxValues) { c.set("um->msg_name->sin_port", 0) }, 22, false},
	{"not-connected", "send() without an address on an unconnected socket: EDESTADDRREQ", func(c ctxValues) {
		c.null("um->msg_name")
		c.set("um->msg_namelen", 0)
	}, 89, false},
	{"ipopt-lsrr-any", "a source route to 0.0.0.0: EINVAL", func(c ctxValues) {
		c.options([]byte{1, 0x83, 7, 4, 0, 0, 0, 0}, map[string]int{"srr": 21})
		c.set("sock->sk->inet.inet_opt->faddr", "10.0.2.3")
		c.set("um->msg_name->sin_addr", "0.0.0.0")
	}, 22, false},
	{"sendto-any", "to 0.0.0.0: the route names the local destination", func(c ctxValues) {
		c.set("um->msg_name->sin_addr", "0.0.0.0")
		c.set("rt->fl4_daddr", "127.0.0.1")
		c.set("rt->fl4_saddr", "127.0.0.1")
	}, 0, false},
	{"unbound", "a socket without a local port: autobind first", func(c ctxValues) {
		c.set("sock->sk->inet.inet_num", 0)
		c.set("sock->sk->inet.inet_sport", 0)
	}, 0, false},
	{"shutdown", "shutdown(SHUT_WR): EPIPE", func(c ctxValues) { c.set("sock->sk->sk_shutdown", 2) }, 32, false},
	{"no-check-tx", "SO_NO_CHECK: no UDP checksum", func(c ctxValues) { c.set("sock->sk->sk_no_check_tx", 1) }, 0, false},
	{"recverr-transparent", "IP_RECVERR (ENOBUFS reported) and IP_TRANSPARENT (any source)", func(c ctxValues) {
		c.set("sock->sk->inet.recverr", 1)
		c.set("sock->sk->inet.transparent", 1)
	}, 0, false},
	{"noroute", "no route: ENETUNREACH", func(c ctxValues) { c.set("route_err", -101) }, 101, false},
	{"route-einval", "the route lookup fails otherwise: EINVAL", func(c ctxValues) { c.set("route_err", -22) }, 22, false},
	{"pmtu-do", "IP_PMTUDISC_DO: DF and IP ID 0", func(c ctxValues) { c.set("sock->sk->inet.pmtudisc", 2) }, 0, false},
	{"pmtu-do-toobig", "IP_PMTUDISC_DO with an ADU over the MTU: EMSGSIZE", func(c ctxValues) {
		c.set("sock->sk->inet.pmtudisc", 2)
		c.set("adu", 1600)
	}, 90, false},
	{"pmtu-probe", "IP_PMTUDISC_PROBE: device MTU, DF", func(c ctxValues) {
		c.set("sock->sk->inet.pmtudisc", 3)
		c.set("rt->rt_pmtu", 1280)
	}, 0, false},
	{"pmtu-dont", "IP_PMTUDISC_DONT: no DF", func(c ctxValues) { c.set("sock->sk->inet.pmtudisc", 0) }, 0, false},
	{"pmtu-omit", "IP_PMTUDISC_OMIT: no DF, ignores the PMTU", func(c ctxValues) { c.set("sock->sk->inet.pmtudisc", 5) }, 0, false},
	{"learned-pmtu", "a learned PMTU of 1280 fragments a 1400-byte ADU", func(c ctxValues) {
		c.set("rt->rt_pmtu", 1280)
		c.set("adu", 1400)
	}, 0, false},
	{"route-metrics", "route MTU 1400 and hop limit 32 from the route's metrics", func(c ctxValues) {
		c.set("rt->dst.metric_mtu", 1400)
		c.set("rt->dst.metric_hoplimit", 32)
		c.set("adu", 1400)
	}, 0, false},
	{"mtu-locked-gw", "locked MTU via a gateway: at most 576, no DF", func(c ctxValues) {
		c.set("rt->dst.metric_locks", 1<<2)
		c.set("rt->rt_uses_gateway", 1)
		c.set("rt->rt_gw_family", 2)
		c.set("rt->rt_gw4", "10.0.2.1")
		c.set("adu", 1000)
	}, 0, false},
	{"mtu-locked-small", "locked MTU (rt_mtu_locked) via a gateway on a 500-byte device", func(c ctxValues) {
		c.set("rt->rt_mtu_locked", 1)
		c.set("rt->rt_uses_gateway", 1)
		c.set("rt->dst.dev->mtu", 500)
		c.set("adu", 800)
	}, 0, false},
	{"mtu-locked-direct", "locked MTU without a gateway", func(c ctxValues) {
		c.set("rt->rt_mtu_locked", 1)
	}, 0, false},
	{"uc-ttl", "IP_TTL 7 on the socket, TOS 0x10, priority and mark", func(c ctxValues) {
		c.set("sock->sk->inet.uc_ttl", 7)
		c.set("sock->sk->inet.tos", 0x10)
		c.set("sock->sk->sk_priority", 6)
		c.set("sock->sk->sk_mark", 42)
		c.set("sock->sk->sk_sndtimeo", 1000)
	}, 0, false},
	{"neigh-stale", "a stale neighbour with its header cached: event send (ARP may queue the packet)", func(c ctxValues) {
		c.set("neigh->nud_state", nudStale)
	}, 0, false},
	{"neigh-delay", "a neighbour in DELAY without a cached header: the header cache is filled", func(c ctxValues) {
		c.set("neigh->nud_state", nudDelay)
		c.set("neigh->hh.hh_len", 0)
	}, 0, false},
	{"neigh-probe", "a neighbour in PROBE on a device without header cache, fragmenting", func(c ctxValues) {
		c.set("neigh->nud_state", nudProbe)
		c.set("neigh->hh.hh_len", 0)
		c.set("rt->dst.dev->header_ops_cache", 0)
		c.set("rt->dst.dev->mtu", 576)
		c.set("adu", 1000)
	}, 0, false},
	{"neigh-create-fails", "the next hop has no ARP entry and none can be made (table full): the datagram is dropped, ENOBUFS not reported", func(c ctxValues) {
		c.set("neigh_err", -105)
	}, 0, true},
	{"neigh-direct", "a device without link-layer header (SLIP-like): neigh_direct_output", func(c ctxValues) {
		c.set("rt->dst.dev->hard_header_len", 0)
		c.set("rt->dst.dev->header_ops_cache", 0)
		c.set("neigh->output", neighDirect)
		c.set("neigh->hh.hh_len", 0)
	}, 0, false},
	{"neigh-connected-out", "neigh_connected_output: the header is built for every packet", func(c ctxValues) {
		c.set("neigh->output", neighConnected)
		c.set("neigh->hh.hh_len", 0)
		c.set("rt->dst.dev->needed_headroom", 32)
	}, 0, false},
	{"nonblocking-frag", "O_NONBLOCK with fragments via a gateway", func(c ctxValues) {
		c.set("sock->file.f_flags", oRdwr|oNonblock)
		c.set("rt->rt_gw_family", 2)
		c.set("rt->rt_gw4", "10.0.2.1")
		c.set("rt->dst.dev->mtu", 1000)
		c.set("adu", 1472)
	}, 0, false},
}

// Contexts returns the test contexts in a fixed order.
func Contexts() []Context { return buildContexts(contextSpecs, baseContext) }

// ContextNamed returns the test context of that name, UDP's or TCP's
// (TCPContexts: their names start with "tcp-").
func ContextNamed(name string) (Context, bool) {
	for _, c := range append(Contexts(), TCPContexts()...) {
		if c.Name == name {
			return c, true
		}
	}
	return Context{}, false
}

// buildContexts makes each spec's context: its edit of a fresh base.
func buildContexts(specs []contextSpec, base func() ctxValues) []Context {
	out := make([]Context, 0, len(specs))
	for _, s := range specs {
		c := base()
		s.edit(c)
		data, err := c.json(s.name)
		if err != nil {
			panic(fmt.Sprintf("specnet: context %s: %v", s.name, err))
		}
		out = append(out, Context{Name: s.name, Doc: s.doc, JSON: data})
	}
	return out
}

func (c ctxValues) json(label string) ([]byte, error) {
	type jv struct {
		Type  string `json:"type"`
		Value any    `json:"value"`
	}
	vals := map[string]jv{}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := c[k]
		v := f.val
		switch x := v.(type) {
		case []byte:
			v = hex.EncodeToString(x)
		case bool:
			v = "null"
			if x {
				v = "nonnull"
			}
		}
		vals[k] = jv{f.kind, v}
	}
	return json.MarshalIndent(struct {
		Schema string        `json:"schema"`
		Label  string        `json:"label"`
		Values map[string]jv `json:"values"`
	}{"specbed.context/v1", label, vals}, "", "\t")
}
