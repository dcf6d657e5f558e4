package results

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteBench(t *testing.T) {
	repo := t.TempDir()
	type line struct {
		Platform string  `json:"platform"`
		Value    float64 `json:"value"`
	}
	want := []line{{"i486", 4727.5}, {"sa1100", 3889}}
	path, err := WriteBench(repo, "x.json", want)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(repo, "out", "bench", "x.json") {
		t.Errorf("written to %s", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []line
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] || data[len(data)-1] != '\n' {
		t.Errorf("read back %q", data)
	}
}
