package specializer

import (
	"os"
	"path/filepath"
	"testing"

	"specbed/specializer/ctxschema"
)

func loadCtx(t testing.TB, path string) *ctxschema.Context {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ctxschema.Load(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func TestTinyContexts(t *testing.T) {
	u, err := Load(filepath.Join("testdata", "tiny", "tiny.decl"))
	if err != nil {
		t.Fatal(err)
	}
	ctxs, _ := filepath.Glob(filepath.Join("testdata", "tiny", "ctx", "*.json"))
	for _, cp := range ctxs {
		t.Run(filepath.Base(cp), func(t *testing.T) {
			out, err := u.Specialize(loadCtx(t, cp))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s", out.C)
		})
	}
}
