package spec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"specbed/specializer/bta"
	"specbed/specializer/ctxschema"
	"specbed/specializer/decl"
	"specbed/specializer/parse"
	"specbed/specializer/print"
	"specbed/specializer/spec"
)

// prelude is a small shim and struct world for the table's programs.
const prelude = `typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef _Bool bool;
#define SHIM_PURE __attribute__((specbed_pure))
#define SHIM_EFFECT __attribute__((specbed_effect))
struct dev { u32 mtu; u32 features; u8 hh[4]; };
struct sock { u32 daddr; u16 dport; u32 flags; u32 pending; struct dev *dev; u32 queued; };
struct inst { struct sock *sk; struct dev *rt; };
struct hdr { u32 a; u32 b; };
SHIM_EFFECT int xmit(u32 v);
SHIM_EFFECT int xmit_ptr(u32 *p);
SHIM_EFFECT void store(void *p, u32 len);
SHIM_PURE struct dev *route(u32 daddr);
SHIM_PURE int rand_ok(void);
SHIM_EFFECT __attribute__((specbed_errno)) int sock_error(void);
`

const declHead = `version 1
source t.c
entry f
instance inst
param sk bound
param n dynamic
static sk->daddr
static sk->dport
static sk->dev
static sk->dev->mtu
static sk->dev->features
static sk->dev->hh
`

const ctxHead = `"sk->daddr":{"type":"ipv4","value":"10.0.2.2"},"sk->dport":{"type":"u16","value":9},
"sk->dev":{"type":"ptr","value":"nonnull"},"sk->dev->mtu":{"type":"u32","value":1500},
"sk->dev->features":{"type":"u32","value":8},"sk->dev->hh":{"type":"bytes","value":"01020304"}`

// run specializes src (after the prelude) with extra declarations and context values, and
// returns the residual C.
func run(t *testing.T, src, extraDecl, extraCtx string) (string, *spec.Residual, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.c"), []byte(prelude+src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := decl.Parse("t.decl", dir, []byte(declHead+extraDecl))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := parse.Parse(parse.Config{Files: f.Sources, Base: dir})
	if err != nil {
		t.Fatal(err)
	}
	r, err := decl.Resolve(f, prog)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bta.Analyze(r)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := ctxschema.Load([]byte(`{"schema":"specbed.context/v1","values":{` + ctxHead + extraCtx + `}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := ctx.Check(r); err != nil {
		t.Fatal(err)
	}
	res, err := spec.Specialize(r, ctx, b, "f_spec", spec.Limits{})
	if err != nil {
		return "", nil, err
	}
	c, err := print.Residual(res)
	if err != nil {
		t.Fatal(err)
	}
	// The residual must parse again as the subset.
	resid := filepath.Join(dir, "residual.c")
	if err := os.WriteFile(resid, append([]byte(prelude), c...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parse.Parse(parse.Config{Files: []string{resid}, Base: dir, Residual: true}); err != nil {
		t.Fatalf("residual does not parse: %v\n%s", err, c)
	}
	return string(c), res, nil
}

func body(c string) string {
	return c[strings.Index(c, "f_spec("):]
}

func TestSpecialize(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		decl, ctx string
		has, not  []string // in the residual entry
		stats     func(spec.Stats) bool
	}{
		{name: "static conditional decided, constants folded",
			src: `int f(struct sock *sk, u32 n) {
	if (sk->dev->features & 8)
		return xmit(sk->dev->mtu - 20 + n);
	return xmit(0);
}`, has: []string{"xmit(1480U + n)"}, not: []string{"features", "xmit(0)"},
			stats: func(s spec.Stats) bool { return s.BranchesRemoved == 1 && s.BranchesKept == 0 }},
		{name: "static loop unrolled, bytes folded",
			src: `int f(struct sock *sk, u32 n) {
	int i; u32 sum = 0;
	for (i = 0; i < 4; i++)
		sum += sk->dev->hh[i];
	return xmit(sum);
}`, has: []string{"xmit(10U)"}, not: []string{"for ("},
			stats: func(s spec.Stats) bool { return s.LoopsUnrolled == 1 && s.Iterations == 4 }},
		{name: "dynamic loop kept, loop variable lifted",
			src: `int f(struct sock *sk, u32 n) {
	u32 i;
	for (i = 0; i < n; i++)
		xmit(i);
	return 0;
}`, has: []string{"for (;;)", "i = 0U;", "if (!(i < n))"},
			stats: func(s spec.Stats) bool { return s.LoopsKept == 1 }},
		{name: "static pointer to dynamic data",
			src: `int f(struct sock *sk, u32 n) { return xmit(sk->queued + sk->dport); }`,
			has: []string{"inst->sk->queued + 9U"}},
		{name: "local struct tracked field by field",
			src: `int f(struct sock *sk, u32 n) {
	struct hdr h;
	h.a = sk->daddr;
	h.b = n;
	return xmit(h.a) + xmit(h.b);
}`, has: []string{"xmit(0x202000aU)", "h.b = n"}, not: []string{"h.a ="}},
		{name: "escaping local is materialized",
			src: `int f(struct sock *sk, u32 n) {
	struct hdr h = { .a = 5 };
	h.b = n;
	store(&h, sizeof h);
	return h.a;
}`, has: []string{"h.a = 5U;", "h.b = n;", "store(&h, 8U);", "return h.a;"}},
		{name: "merge lifts values that differ, keeps equal ones",
			src: `int f(struct sock *sk, u32 n) {
	u32 a, b;
	if (n) { a = 1; b = 7; } else { a = 2; b = 7; }
	return xmit(a + b);
}`, has: []string{"a = 1U;", "a = 2U;", "xmit(a + 7U)"}, not: []string{"b ="}},
		{name: "goto cleanup",
			src: `int f(struct sock *sk, u32 n) {
	int err = 0;
	if (!(sk->dev->features & 8))
		goto out;
	err = xmit(n);
	if (err)
		goto out;
	err = xmit(1);
out:
	return err;
}`, has: []string{"goto out;", "out:"}, not: []string{"features"}},
		{name: "dynamic switch, static switch",
			src: `int f(struct sock *sk, u32 n) {
	switch (sk->dport) { case 9: xmit(1); break; default: xmit(2); break; }
	switch (n) { case 1: return 10; case 2: return 20; }
	return 0;
}`, has: []string{"xmit(1U);", "switch (n)"}, not: []string{"xmit(2)"}},
		{name: "inlined call with static arguments",
			src: `static u32 csum(u32 a, u32 b) { return (a & 0xffff) + (b >> 16); }
int f(struct sock *sk, u32 n) { return xmit(csum(sk->daddr, sk->daddr) + csum(n, 0)); }`,
			has: []string{"csum_ret = n & 65535U;", "xmit(524U + csum_ret)"}, stats: func(s spec.Stats) bool { return s.CallsInlined == 2 }},
		{name: "guard fixes the length",
			src: `int f(struct sock *sk, u32 n) {
	u32 left = n;
	while (left > 0) { u32 c = left > 600 ? 600 : left; xmit(c); left -= c; }
	return 0;
}`, decl: "value adu 1..1500\nguard n == adu\nfallback -11\n", ctx: `,"adu":{"type":"u32","value":1500}`,
			has: []string{"if (!(n == 1500U))", "return -11;", "xmit(600U);", "xmit(300U);"}, not: []string{"for (;;)"},
			stats: func(s spec.Stats) bool { return s.Iterations == 3 }},
		{name: "lookup folds to the instance",
			src:  `int f(struct sock *sk, u32 n) { struct dev *d = route(sk->daddr); return xmit(d->mtu + n); }`,
			decl: "lookup route bound rt\nstatic rt->mtu\n", ctx: `,"rt->mtu":{"type":"u32","value":9000}`,
			has: []string{"xmit(9000U + n)"}, not: []string{"route("}, stats: func(s spec.Stats) bool { return s.LookupsFolded == 1 }},
		{name: "guard on a kernel field pins it",
			src: `int f(struct sock *sk, u32 n) {
	if (sk->pending)
		return xmit(99);
	sk->pending = n;
	if (sk->pending)
		return xmit(1);
	return 0;
}`, decl: "guard sk->pending == 0\nfallback -1\n",
			has: []string{"if (!(inst->sk->pending == 0U))", "inst->sk->pending = n;", "if (inst->sk->pending)"}, not: []string{"xmit(99)"}},
		{name: "sign facts decide error tests after a merge",
			src: `int f(struct sock *sk, u32 n) {
	int err;
	if (n == 1) err = -5; else if (n == 2) err = -7; else return 0;
	if (err)
		return xmit(err);
	return xmit(42);
}`, has: []string{"xmit(err)"}, not: []string{"xmit(42)", "if (err)"}},
		{name: "a SHIM_ERRNO error is negative once tested, and so is a choice of two error codes",
			src: `int f(struct sock *sk, u32 n) {
	int err = sock_error();
	if (err)
		goto fail;
	err = n ? -4 : -512;
	if (n > 7)
		goto fail;
	return xmit(1);
fail:
	if (err >= 0)
		return xmit(99);
	return xmit(err);
}`, has: []string{"xmit(err)"}, not: []string{"xmit(99)", "err >= 0"}},
		{name: "NULL on a residual path is dereferenced as the generic code would",
			src: `int f(struct sock *sk, u32 n) {
	struct dev *d = 0;
	if (n > 3) d = sk->dev;
	if (n > 5) return d->mtu;
	return 0;
}`, has: []string{"d->mtu"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, res, err := run(t, tt.src, tt.decl, tt.ctx)
			if err != nil {
				t.Fatal(err)
			}
			b := body(c)
			for _, s := range tt.has {
				if !strings.Contains(b, s) {
					t.Errorf("residual lacks %q:\n%s", s, b)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(b, s) {
					t.Errorf("residual has %q:\n%s", s, b)
				}
			}
			if tt.stats != nil && !tt.stats(res.Stats) {
				t.Errorf("stats %+v", res.Stats)
			}
		})
	}
}

func TestSpecializeErrors(t *testing.T) {
	tests := []struct {
		name, src, decl, want string
	}{
		{"unroll limit", `int f(struct sock *sk, u32 n) { u32 i, s = 0; for (i = 0; i < sk->dev->mtu; i++) s += i; return s; }`,
			"", "t.c:17:47: static loop runs more than 64 iterations"},
		{"static division by zero", `int f(struct sock *sk, u32 n) { return xmit(n + sk->dev->mtu / (sk->dport - 9)); }`,
			"", "division by zero with static operands"},
		{"write to a static field", `int f(struct sock *sk, u32 n) { sk->dev->mtu = n; return 0; }`,
			"", "write to sk->dev->mtu, which the declarations make static"},
		{"lookup folded with two signatures", `int f(struct sock *sk, u32 n) { return route(1)->mtu + route(2)->mtu; }`,
			"lookup route bound rt\nstatic rt->mtu\n", "route is folded with different static arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ""
			if strings.Contains(tt.decl, "rt->mtu") {
				ctx = `,"rt->mtu":{"type":"u32","value":1}`
			}
			_, _, err := run(t, tt.src, tt.decl, ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
