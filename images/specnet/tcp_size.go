package specnet

// KernelTCPSendPath lists the functions of the i486 kernel whose work the
// generic TCP path (generic/tcp.c, tcp_xmit.c) renders: what a residual TCP send
// replaces, on the same rule as KernelSendPath. tcp_sendmsg_locked with
// the functions it calls that decide the segments: tcp_send_mss,
// tcp_current_mss (tcp_established_options and tcp_xmit_size_goal are
// inlined into them in 6.1), tcp_sync_mss with tcp_mtu_to_mss and
// __tcp_mtu_to_mss, tcp_push (tcp_should_autocork inlined),
// tcp_mark_push, tcp_skb_entail, tcp_remove_empty_skb, sk_stream_error
// and tcp_stream_memory_free. Left out, because the residual calls them
// too (shims): the allocator (tcp_stream_alloc_skb), the page fragment
// and the copy (sk_page_frag_refill, tcp_wmem_schedule), the transmit
// engine (__tcp_push_pending_frames, tcp_push_one), the sleeps
// (sk_stream_wait_memory, sk_stream_wait_connect), the backlog
// (__sk_flush_backlog), tcp_rate_check_app_limited and
// tcp_tx_timestamp; tcp_sendmsg (the socket lock around the call, the
// caller's in both cases) and what the rendering leaves out (Fast Open,
// zero copy: tcp_sendmsg_fastopen, tcp_downgrade_zcopy_pure).
//
// The transmit engine's fast case (generic/tcp_xmit.c) adds the three
// functions whose decisions it renders: tcp_write_xmit (its loop and
// what 6.1 inlines into it: tcp_cwnd_test, tcp_snd_wnd_test,
// tcp_nagle_test, tcp_init_tso_segs, the accounting after the loop),
// __tcp_push_pending_frames and tcp_push_one; and the two whose work
// its rendering of __tcp_transmit_skb's fast case does: __tcp_transmit_skb
// (the header, the decisions; tcp_established_options inlined) and
// tcp_options_write (the timestamps option). Patch 0008 keeps
// __tcp_transmit_skb's code as the static __tcp_transmit_skb_body, which
// the kernel calls, and exports a wrapper of a few bytes under the old
// name: the body is what is counted. The engine's steps the
// residual calls stay out (tcp_mstamp_refresh, tcp_small_queue_check,
// the clone, tcp_select_window, tcp_v4_send_check, the event and rate
// calls, ip_queue_xmit and all below, tcp_event_new_data_sent,
// tcp_cwnd_validate, tcp_schedule_loss_probe, tcp_chrono_start/stop),
// and so does what the fast case leaves to the kernel's engine
// (tcp_mtu_probe, tcp_tso_segs, tcp_tso_should_defer, tso_fragment).
var KernelTCPSendPath = []string{
	"tcp_sendmsg_locked", "tcp_send_mss", "tcp_current_mss", "tcp_sync_mss", "tcp_mtu_to_mss",
	"__tcp_mtu_to_mss", "tcp_push", "tcp_mark_push", "tcp_skb_entail", "tcp_remove_empty_skb",
	"sk_stream_error", "tcp_stream_memory_free",
	"tcp_write_xmit", "__tcp_push_pending_frames", "tcp_push_one",
	"__tcp_transmit_skb_body", "tcp_options_write",
}

// TCPMaxKernelRatio is the bound the typical TCP residual is held to: a
// quarter of the kernel functions it replaces (KernelTCPSendPath). It
// was 1/4.6 compiled without the kernel's headers (TestTCPSizeRatio) with
// the transmit engine rendered and outlined, and 1.2 times their size
// before the page-fragment copy and the paths after a jump were left
// generic; the module as shipped, with the shim's steps it calls inline,
// is held to it too (specializer/compile TestShippedSizeRatio).
const TCPMaxKernelRatio = 1.0 / 4
