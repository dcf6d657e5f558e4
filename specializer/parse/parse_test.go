package parse

import (
	"path/filepath"
	"testing"

	"specbed/specializer/ir"
)

func tinyConfig() Config {
	dir := filepath.Join("..", "testdata", "tiny")
	return Config{Files: []string{filepath.Join(dir, "ip.c"), filepath.Join(dir, "sock.c")}, Base: dir}
}

func TestParseTiny(t *testing.T) {
	p, err := Parse(tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	send := p.Func("tiny_send")
	if send == nil || send.Body == nil {
		t.Fatal("tiny_send missing")
	}
	if got := p.Func("shim_dev_xmit"); got == nil || got.Shim != ir.ShimEffect {
		t.Errorf("shim_dev_xmit: %+v", got)
	}
	if got := p.Func("shim_route_output"); got == nil || got.Shim != ir.ShimPure {
		t.Errorf("shim_route_output: %+v", got)
	}
	if len(p.Headers) != 1 || p.Headers[0] != "tiny.h" {
		t.Errorf("headers %v", p.Headers)
	}
}
