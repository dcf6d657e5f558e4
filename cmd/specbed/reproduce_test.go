package main

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/hashicorp/go-multierror"

	"specbed/images"
	"specbed/qemu"
)

// TestBootAllReportsEveryFailure: with an empty cache no platform can
// boot, and the error must name all three, not just the first.
func TestBootAllReportsEveryFailure(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	results, kernels, err := bootAll(context.Background(), b, qemu.All(), nil, &errOut)
	var merr *multierror.Error
	if !errors.As(err, &merr) || len(merr.Errors) != len(qemu.All()) {
		t.Fatalf("error %v, want one per platform", err)
	}
	for i, p := range qemu.All() {
		if results[i] != nil || kernels[i] != nil {
			t.Errorf("%s: result %v, kernel %v after a failure", p.Name, results[i], kernels[i])
		}
	}
	for _, e := range merr.Errors {
		if !errors.Is(e, images.ErrNotBuilt) {
			t.Errorf("error %v, want ErrNotBuilt", e)
		}
	}
}
