package specnet

// TCP constants the contexts use (Linux, i386 and ARM).
const (
	msgOOB      = 0x1
	msgEOR      = 0x80
	msgNosignal = 0x4000
	msgFastopen = 0x20000000

	tcpEstablished = 1
	tcpNagleOff    = 1
	tcpNagleCork   = 2

	// tcpMSS is the MSS of a 1500-byte MTU with timestamps (bytes).
	tcpMSS = 1448
	// maxScheduleTimeout is MAX_SCHEDULE_TIMEOUT on a 32-bit kernel
	// (LONG_MAX jiffies): no send timeout.
	maxScheduleTimeout = 0x7fffffff
)

// tcpBaseContext is an established TCP socket with timestamps (MSS 1448
// over a 1500-byte MTU, tcp_header_len 32) on a route that cannot GSO,
// sending ADUs of two MSS as records (MSG_EOR), Nagle on, autocorking
// on, the default buffers (tcp_wmem[1] = 16384 bytes) and no send
// timeout.
func tcpBaseContext() ctxValues {
	u8 := func(v int64) field { return field{"u8", v} }
	u16 := func(v int64) field { return field{"u16", v} }
	u32 := func(v int64) field { return field{"u32", v} }
	s32 := func(v int64) field { return field{"s32", v} }
	ptr := func(v bool) field { return field{"ptr", v} }

	return ctxValues{
		"adu":        u32(2 * tcpMSS),
		"send_flags": u32(msgEOR),
		"gso_segs":   u32(0),
		"dst_mtu":    u32(1500),

		"tp->sk_net":                           ptr(true),
		"tp->sk_net->sysctl_tcp_autocorking":   u8(1),
		"tp->sk_net->sysctl_tcp_notsent_lowat": u32(0xffffffff),
		"tp->sk_net->sysctl_max_skb_frags":     u32(17),
		"tp->sk_net->sysctl_tcp_min_snd_mss":   s32(48),

		"tp->sk_sndbuf":        s32(16384),
		"tp->sk_sndtimeo":      s32(maxScheduleTimeout),
		"tp->sk_tsflags":       u32(0),
		"tp->sk_gso_max_size":  u32(0),
		"tp->sk_gso_max_segs":  u16(1),
		"tp->icsk_pmtu_cookie": u32(1500),
		"tp->mss_cache":        u32(tcpMSS),
		"tp->mss_clamp":        u16(1460),
		"tp->icsk_ext_hdr_len": u16(0),
		"tp->mtup_enabled":     u8(0),
		"tp->mtup_search_low":  s32(1064),
		"tp->tcp_header_len":   u16(32),
		"tp->tstamp_ok":        u8(1),
		"tp->nonagle":          u8(0),
		"tp->notsent_lowat":    u32(0),
	}
}

// gso makes the route GSO-capable (64 KB, any segment count): the size
// goal is then as many MSS as half the peer's window (tcpPeerWindow)
// allows, and segs the cached segment count.
func (c ctxValues) gso(segs int64) {
	c.set("tp->sk_gso_max_size", 65536)
	c.set("tp->sk_gso_max_segs", 65535)
	c.set("gso_segs", segs)
}

// tcpContextSpecs are the TCP test contexts. Together they take every
// branch on a static value of tcp.c both ways (TestTCPGenericCoverage).
var tcpContextSpecs = []contextSpec{
	{"tcp-typical", "two-MSS records on an established socket, no GSO", func(c ctxValues) {}, 0, false},
	{"tcp-one-mss", "one MSS per send", func(c ctxValues) { c.set("adu", tcpMSS) }, 0, false},
	{"tcp-8mss", "eight MSS per send", func(c ctxValues) { c.set("adu", 8*tcpMSS) }, 0, false},
	{"tcp-20mss", "twenty MSS per send: the backlog is flushed after 16 skbs", func(c ctxValues) {
		c.set("adu", 20*tcpMSS)
		c.set("tp->sk_sndbuf", 262144)
	}, 0, false},
	{"tcp-odd", "an ADU that is no multiple of the MSS: a short last skb", func(c ctxValues) { c.set("adu", 1000) }, 0, false},
	{"tcp-gso", "GSO route, 64 KB window: 22-MSS skbs", func(c ctxValues) {
		c.gso(22)
		c.set("adu", 44*tcpMSS)
		c.set("tp->sk_sndbuf", 262144)
	}, 0, false},
	{"tcp-gso-tiny-window", "GSO route, a peer window below the default MSS (tcpPeerWindow 500)", func(c ctxValues) {
		c.gso(0)
	}, 0, false},
	{"tcp-gso-segs2", "GSO route limited to two segments per skb", func(c ctxValues) {
		c.gso(2)
		c.set("tp->sk_gso_max_segs", 2)
		c.set("adu", 4*tcpMSS)
	}, 0, false},
	{"tcp-no-ts", "no timestamps: MSS 1460, 20-byte header", func(c ctxValues) {
		c.set("tp->tstamp_ok", 0)
		c.set("tp->tcp_header_len", 20)
		c.set("tp->mss_cache", 1460)
		c.set("adu", 2*1460)
	}, 0, false},
	{"tcp-ts-late", "timestamps agreed after the MSS was sized without them", func(c ctxValues) {
		c.set("tp->tcp_header_len", 20)
		c.set("tp->mss_cache", 1460)
	}, 0, false},
	{"tcp-pmtu", "the route's MTU dropped to 1400 since the MSS was sized", func(c ctxValues) { c.set("dst_mtu", 1400) }, 0, false},
	{"tcp-pmtu-probing", "MTU probing on, its last probe 1064 bytes; the route's MTU dropped to 1400", func(c ctxValues) {
		c.set("dst_mtu", 1400)
		c.set("tp->mtup_enabled", 1)
	}, 0, false},
	{"tcp-pmtu-probed-high", "MTU probing on, its last probe above the route's new MTU", func(c ctxValues) {
		c.set("dst_mtu", 1400)
		c.set("tp->mtup_enabled", 1)
		c.set("tp->mtup_search_low", 1500)
	}, 0, false},
	{"tcp-pmtu-clamp", "the peer's MSS (1000) below what the new MTU allows", func(c ctxValues) {
		c.set("dst_mtu", 1400)
		c.set("tp->mss_clamp", 1000)
	}, 0, false},
	{"tcp-pmtu-tiny", "the route's MTU fell to 68: the MSS floor (36 bytes with timestamps), 41 skbs for one ADU of 1448", func(c ctxValues) {
		c.set("dst_mtu", 68)
		c.set("adu", tcpMSS)
	}, 0, false},
	{"tcp-no-route", "no cached route", func(c ctxValues) { c.set("dst_mtu", 0) }, 0, false},
	{"tcp-nodelay", "TCP_NODELAY", func(c ctxValues) { c.set("tp->nonagle", tcpNagleOff) }, 0, false},
	{"tcp-cork", "TCP_CORK", func(c ctxValues) { c.set("tp->nonagle", tcpNagleCork) }, 0, false},
	{"tcp-more", "MSG_MORE on every send", func(c ctxValues) { c.set("send_flags", msgEOR|msgMore) }, 0, false},
	{"tcp-dontwait", "MSG_DONTWAIT with a small send buffer", func(c ctxValues) {
		c.set("send_flags", msgEOR|msgDontwait)
		c.set("tp->sk_sndbuf", 4096)
	}, 0, false},
	{"tcp-oob", "urgent data: no size goal beyond the MSS, no push in the loop", func(c ctxValues) {
		c.set("send_flags", msgEOR|msgOOB)
	}, 0, false},
	{"tcp-no-eor", "no MSG_EOR: a full tail stays joinable (the guard falls back)", func(c ctxValues) {
		c.set("send_flags", 0)
	}, 0, false},
	{"tcp-no-autocork", "net.ipv4.tcp_autocorking = 0, odd ADU", func(c ctxValues) {
		c.set("tp->sk_net->sysctl_tcp_autocorking", 0)
		c.set("adu", 1000)
	}, 0, false},
	{"tcp-lowat", "TCP_NOTSENT_LOWAT of 4096 bytes", func(c ctxValues) { c.set("tp->notsent_lowat", 4096) }, 0, false},
	{"tcp-sysctl-lowat", "net.ipv4.tcp_notsent_lowat of 8192 bytes", func(c ctxValues) {
		c.set("tp->sk_net->sysctl_tcp_notsent_lowat", 8192)
	}, 0, false},
	{"tcp-one-frag", "one page fragment per skb (MAX_SKB_FRAGS sysctl 1)", func(c ctxValues) {
		c.set("tp->sk_net->sysctl_max_skb_frags", 1)
	}, 0, false},
	{"tcp-tstamp", "SO_TIMESTAMPING on", func(c ctxValues) { c.set("tp->sk_tsflags", 0x2) }, 0, false},
	{"tcp-timeout", "a 2-jiffy send timeout and a small buffer", func(c ctxValues) {
		c.set("tp->sk_sndtimeo", 2)
		c.set("tp->sk_sndbuf", 4096)
	}, 0, false},
	{"tcp-zero-window", "a peer that never opened its window (tcpPeerWindow 0)", func(c ctxValues) {}, 0, false},
	{"tcp-nosignal", "MSG_NOSIGNAL: a send on a reset connection raises no SIGPIPE", func(c ctxValues) {
		c.set("send_flags", msgEOR|msgNosignal)
	}, 0, false},
	{"tcp-fastopen", "MSG_FASTOPEN on a connected socket: -EOPNOTSUPP", func(c ctxValues) {
		c.set("send_flags", msgEOR|msgFastopen)
	}, 95, true},
}

// TCPContexts returns the TCP test contexts in a fixed order.
func TCPContexts() []Context { return buildContexts(tcpContextSpecs, tcpBaseContext) }
