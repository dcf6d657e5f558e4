package spec_test

import (
	"strings"
	"testing"
)

func TestOutline(t *testing.T) {
	tests := []struct {
		name, src, decl string
		has, not        []string // in the whole residual
		calls           int      // calls of the outlined copy f_spec_g
	}{
		{name: "one copy for every call site, static fields folded in it",
			src: `static int g(struct sock *sk, u32 len) { return xmit(sk->dev->mtu - len); }
int f(struct sock *sk, u32 n) {
	u32 i;
	for (i = 0; i < 3; i++)
		g(sk, n + i);
	return 0;
}`, decl: "outline g\n",
			has: []string{"static int f_spec_g(struct inst *inst, u32 len)", "xmit(1500U - len)",
				"f_spec_g(inst, n)", "f_spec_g(inst, n + 2U)"},
			not: []string{"inst->sk->dev"}, calls: 3},
		{name: "a local passed by pointer keeps its known value",
			src: `static void g(struct sock *sk, struct hdr *h) { xmit(h->a + h->b); }
int f(struct sock *sk, u32 n) {
	struct hdr h;
	h.a = 5;
	h.b = n;
	g(sk, &h);
	return xmit(h.a);
}`, decl: "outline g\n",
			has: []string{"h.a = 5U;", "f_spec_g(inst, &h)", "return xmit(5U);", "xmit(h_2->a + h_2->b)"}, calls: 1},
		{name: "a field the guards pin is read from memory in the copy",
			src: `static int g(struct sock *sk) { return xmit(sk->pending); }
int f(struct sock *sk, u32 n) {
	xmit(sk->pending);
	return g(sk);
}`, decl: "outline g\nguard sk->pending == 0\nfallback -1\n",
			has: []string{"xmit(0U);", "return xmit(inst->sk->pending);"}, calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, res, err := run(t, tt.src, tt.decl, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.has {
				if !strings.Contains(c, s) {
					t.Errorf("residual lacks %q:\n%s", s, c)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(c, s) {
					t.Errorf("residual has %q:\n%s", s, c)
				}
			}
			if len(res.Outlined) != 1 || res.Stats.CallsOutlined != tt.calls {
				t.Errorf("%d outlined copies, %d calls of them; want 1 and %d:\n%s", len(res.Outlined), res.Stats.CallsOutlined, tt.calls, c)
			}
		})
	}
}

func TestOutlineErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"writes kernel memory", `static void g(struct sock *sk) { sk->queued = 1; }
int f(struct sock *sk, u32 n) { g(sk); return 0; }`, "an outlined function writes kernel memory (sk->queued)"},
		{"writes through a pointer parameter", `static void g(struct sock *sk, u32 *p) { *p = 1; }
int f(struct sock *sk, u32 n) { u32 v = 0; g(sk, &v); return xmit(v); }`, "an outlined function writes through a pointer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.src, "outline g\n", "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
