package specnet

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// KernelSendPath lists the functions of the i486 kernel whose work the
// generic path renders (socket.c, udp.c, ip.c, dev.c): what a residual
// UDP send replaces. Functions both paths call stay out of the count: the
// allocator (alloc_skb_with_frags, __alloc_skb, skb_set_owner_w,
// sock_wfree), copy and checksum routines (csum_partial,
// csum_and_copy_from_user), the hashed IP ID (__ip_select_ident),
// dst_release, the header builders and ARP queue behind the neighbour
// (eth_header, __neigh_event_send), the loopback and the device driver
// (dev_queue_xmit, __dev_queue_xmit, dev_loopback_xmit). The syscall
// entry stub (__ia32_sys_sendto) is also left out: a customized send has
// one too. Lookups the residual folds away are counted, with the route
// lookup's own functions (fib_table_lookup, fib_select_path,
// find_exception, fib_result_prefsrc: what ip_route_output_key_hash_rcu
// runs for an unconnected unicast send): the residual does without them.
// The copying fragmentation path (ip_frag_init, ip_frag_next), which the
// generic path shows unreachable, is not counted.
var KernelSendPath = []string{
	// socket layer
	"__sys_sendto", "sockfd_lookup_light", "move_addr_to_kernel", "import_single_range",
	"sock_sendmsg", "inet_sendmsg", "inet_send_prepare", "sock_alloc_send_pskb",
	"udp_cmsg_send", "ip_cmsg_send", "__sock_cmsg_send",
	// UDP
	"udp_sendmsg", "udp_send_skb", "udp4_hwcsum", "udp_push_pending_frames",
	"udp_flush_pending_frames",
	// IPv4: routes
	"ip_route_output_flow", "ip_route_output_key_hash", "ip_route_output_key_hash_rcu",
	"fib_table_lookup", "fib_select_path", "find_exception", "fib_result_prefsrc",
	"sk_dst_check", "ipv4_dst_check", "ipv4_mtu",
	// IPv4: building the datagram
	"ip_make_skb", "ip_append_data", "ip_setup_cork", "__ip_append_data", "ip_generic_getfrag",
	"__ip_make_skb", "ip_options_build", "ip_flush_pending_frames",
	// IPv4: output and fragmentation
	"ip_send_skb", "ip_local_out", "__ip_local_out", "ip_output", "ip_mc_output",
	"__ip_finish_output", "ip_finish_output2", "ip_do_fragment", "ip_fraglist_init",
	"ip_fraglist_prepare", "ip_options_fragment",
	// neighbour output
	"neigh_resolve_output", "neigh_connected_output", "neigh_direct_output",
}

// TotalBytes sums a map of function sizes (bytes), as KernelSizes returns.
func TotalBytes(sizes map[string]int) int {
	total := 0
	for _, n := range sizes {
		total += n
	}
	return total
}

// KernelSizes returns the sizes (bytes, nm -S) of the named functions in a
// vmlinux. A name that is missing (renamed, inlined by another kernel
// build) is an error: the list must stay true to the kernel measured.
func (tc Toolchain) KernelSizes(ctx context.Context, vmlinux string, names []string) (map[string]int, error) {
	cmd := exec.CommandContext(ctx, tc.NM, "-S", vmlinux)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s -S %s: %w", tc.NM, vmlinux, err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	sizes := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || !want[f[3]] || (f[2] != "T" && f[2] != "t") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: size of %s: %w", vmlinux, f[3], err)
		}
		sizes[f[3]] += int(n)
	}
	for _, n := range names {
		if _, ok := sizes[n]; !ok {
			return nil, fmt.Errorf("%s has no function %s", vmlinux, n)
		}
	}
	return sizes, nil
}

// kernelCFlags are the code generation flags the i486 kernel is built
// with (its kbuild .cmd files), so that a size compares with its nm -S.
var kernelCFlags = []string{"-O2", "-m32", "-march=i486", "-mregparm=3", "-freg-struct-return",
	"-mpreferred-stack-boundary=2", "-msoft-float", "-mno-mmx", "-mno-sse", "-fno-pic",
	"-ffreestanding", "-fno-common", "-fno-asynchronous-unwind-tables", "-fno-stack-protector",
	"-fno-strict-aliasing", "-fno-strict-overflow", "-fno-delete-null-pointer-checks",
	"-fno-omit-frame-pointer", "-fno-optimize-sibling-calls", "-fconserve-stack",
	"-fcf-protection=none", "-std=gnu11", "-DSPECBED_USER"}

// TextSize compiles C sources with the kernel's code generation flags and
// returns the bytes of their code (the .text sections of the objects).
func (tc Toolchain) TextSize(ctx context.Context, dir string, includes []string, srcs ...string) (int, error) {
	total := 0
	for i, src := range srcs {
		obj := filepath.Join(dir, fmt.Sprintf("size%d_%s.o", i, strings.TrimSuffix(filepath.Base(src), ".c")))
		args := append([]string{}, kernelCFlags...)
		for _, inc := range includes {
			args = append(args, "-I"+inc)
		}
		args = append(args, "-c", src, "-o", obj)
		cmd := exec.CommandContext(ctx, tc.CC, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("%s %s: %w\n%s", tc.CC, src, err, out)
		}
		n, err := tc.textBytes(ctx, obj)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// textBytes adds up the .text* sections of an object (size -A).
func (tc Toolchain) textBytes(ctx context.Context, obj string) (int, error) {
	out, err := exec.CommandContext(ctx, tc.Size, "-A", obj).Output()
	if err != nil {
		return 0, fmt.Errorf("%s -A %s: %w", tc.Size, obj, err)
	}
	total := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && strings.HasPrefix(f[0], ".text") {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				return 0, fmt.Errorf("%s: section %s: %w", obj, f[0], err)
			}
			total += n
		}
	}
	return total, sc.Err()
}

// SizeReport is what the size benchmark writes to out/bench/size.json.
// Sizes are bytes of i486 code.
type SizeReport struct {
	Context string `json:"context"`
	Vmlinux string `json:"vmlinux"`
	// KernelFunctions are the sizes of KernelSendPath in the vmlinux.
	KernelFunctions map[string]int `json:"kernel_functions_bytes"`
	KernelBytes     int            `json:"kernel_bytes"`
	GenericBytes    int            `json:"generic_bytes"`
	ResidualBytes   int            `json:"residual_bytes"`
	// KernelRatio is ResidualBytes / KernelBytes, GenericRatio
	// ResidualBytes / GenericBytes.
	KernelRatio  float64 `json:"residual_to_kernel"`
	GenericRatio float64 `json:"residual_to_generic"`
	// PerContext are the residual sizes of every context (bytes).
	PerContext map[string]int `json:"residual_bytes_per_context"`
}

// ObjectText adds up an object's .text sections (.text and .text.*: not
// .init.text or .exit.text, the module's load and unload code), in bytes.
func ObjectText(obj []byte) (int, error) {
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		return 0, err
	}
	total := 0
	for _, s := range f.Sections {
		if s.Name == ".text" || strings.HasPrefix(s.Name, ".text.") {
			total += int(s.Size)
		}
	}
	if total == 0 {
		return 0, fmt.Errorf("no .text")
	}
	return total, nil
}
