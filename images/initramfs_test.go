package images

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"

	"specbed/qemu"
)

// readBack parses a newc archive into its records, by name.
func readBack(t *testing.T, data []byte) ([]string, map[string]cpio.Record) {
	t.Helper()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(data)))
	if err != nil {
		t.Fatalf("reading the archive back: %v", err)
	}
	var names []string
	byName := map[string]cpio.Record{}
	for _, r := range recs {
		names = append(names, r.Name)
		byName[r.Name] = r
	}
	return names, byName
}

func recordData(t *testing.T, r cpio.Record) []byte {
	t.Helper()
	data, err := io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// wantRecord is what one archive member must look like.
type wantRecord struct {
	mode   uint64
	data   string
	rdev   [2]uint64
	noData bool
}

func TestInitramfsContents(t *testing.T) {
	agent := []byte("\x7fELF agent")
	base := map[string]wantRecord{
		"init":        {mode: cpio.S_IFREG | 0o755, data: string(agent)},
		"dev":         {mode: cpio.S_IFDIR | 0o755, noData: true},
		"dev/console": {mode: cpio.S_IFCHR | 0o600, rdev: [2]uint64{5, 1}, noData: true},
		"proc":        {mode: cpio.S_IFDIR | 0o555, noData: true},
		"sys":         {mode: cpio.S_IFDIR | 0o555, noData: true},
		"tmp":         {mode: cpio.S_IFDIR | 0o1777, noData: true},
		"lib":         {mode: cpio.S_IFDIR | 0o755, noData: true},
		"lib/modules": {mode: cpio.S_IFDIR | 0o755, noData: true},
	}
	for _, tc := range []struct {
		name  string
		extra []File
		more  map[string]wantRecord
	}{
		{name: "agent only"},
		{
			name:  "module in an existing folder, default mode",
			extra: []File{{Path: "/lib/modules/oops.ko", Data: []byte("module")}},
			more:  map[string]wantRecord{"lib/modules/oops.ko": {mode: cpio.S_IFREG | 0o644, data: "module"}},
		},
		{
			name: "new nested folders and an explicit mode",
			extra: []File{
				{Path: "/opt/specnet/x/run.sh", Mode: 0o700, Data: []byte("#!")},
				{Path: "/opt/specnet/empty", Data: []byte{}},
			},
			more: map[string]wantRecord{
				"opt":                  {mode: cpio.S_IFDIR | 0o755, noData: true},
				"opt/specnet":          {mode: cpio.S_IFDIR | 0o755, noData: true},
				"opt/specnet/x":        {mode: cpio.S_IFDIR | 0o755, noData: true},
				"opt/specnet/x/run.sh": {mode: cpio.S_IFREG | 0o700, data: "#!"},
				"opt/specnet/empty":    {mode: cpio.S_IFREG | 0o644, data: ""},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := initramfsLayout(agent, tc.extra)
			if err != nil {
				t.Fatal(err)
			}
			data, err := writeInitramfs(entries)
			if err != nil {
				t.Fatal(err)
			}
			names, recs := readBack(t, data)
			want := map[string]wantRecord{}
			for k, v := range base {
				want[k] = v
			}
			for k, v := range tc.more {
				want[k] = v
			}
			if len(names) != len(want) {
				t.Errorf("archive holds %v, want the %d entries %v", names, len(want), want)
			}
			if !sort.StringsAreSorted(names) {
				t.Errorf("archive order %v is not sorted", names)
			}
			inodes := map[uint64]string{}
			for name, w := range want {
				r, ok := recs[name]
				if !ok {
					t.Errorf("archive lacks %s", name)
					continue
				}
				if r.Mode != w.mode {
					t.Errorf("%s: mode %#o, want %#o", name, r.Mode, w.mode)
				}
				if r.MTime != 0 || r.UID != 0 || r.GID != 0 {
					t.Errorf("%s: mtime %d uid %d gid %d, want all 0", name, r.MTime, r.UID, r.GID)
				}
				if r.Rmajor != w.rdev[0] || r.Rminor != w.rdev[1] {
					t.Errorf("%s: device %d,%d, want %d,%d", name, r.Rmajor, r.Rminor, w.rdev[0], w.rdev[1])
				}
				if got := recordData(t, r); w.noData && len(got) != 0 || !w.noData && string(got) != w.data {
					t.Errorf("%s: content %q, want %q", name, got, w.data)
				}
				if other, dup := inodes[r.Ino]; dup || r.Ino == 0 {
					t.Errorf("%s: inode %d, already used by %q", name, r.Ino, other)
				}
				inodes[r.Ino] = name
			}
		})
	}
}

func TestInitramfsIsDeterministic(t *testing.T) {
	agent := []byte("agent")
	a := []File{{Path: "/lib/a.ko", Data: []byte("a")}, {Path: "/b/c", Data: []byte("c")}}
	b := []File{a[1], a[0]}
	var archives [][]byte
	for _, extra := range [][]File{a, a, b} {
		entries, err := initramfsLayout(agent, extra)
		if err != nil {
			t.Fatal(err)
		}
		data, err := writeInitramfs(entries)
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, data)
	}
	for i := 1; i < len(archives); i++ {
		if !bytes.Equal(archives[0], archives[i]) {
			t.Errorf("archive %d differs from archive 0 for the same files", i)
		}
	}
}

func TestInitramfsSourceFile(t *testing.T) {
	src := filepath.Join(t.TempDir(), "m.ko")
	if err := os.WriteFile(src, []byte("from disk"), 0o600); err != nil {
		t.Fatal(err)
	}
	entries, err := initramfsLayout([]byte("agent"), []File{{Path: "/lib/modules/m.ko", Source: src}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := writeInitramfs(entries)
	if err != nil {
		t.Fatal(err)
	}
	_, recs := readBack(t, data)
	if got := recordData(t, recs["lib/modules/m.ko"]); string(got) != "from disk" {
		t.Errorf("m.ko holds %q, want the source file's bytes", got)
	}
}

func TestInitramfsRejectsBadFiles(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.ko")
	for _, tc := range []struct {
		name  string
		extra []File
		want  string
	}{
		{"relative path", []File{{Path: "lib/x.ko"}}, "absolute"},
		{"unclean path", []File{{Path: "/lib/../x"}}, "clean"},
		{"root", []File{{Path: "/"}}, "absolute"},
		{"replaces init", []File{{Path: "/init"}}, "already"},
		{"replaces a folder", []File{{Path: "/proc"}}, "already"},
		{"twice", []File{{Path: "/a"}, {Path: "/a"}}, "already"},
		{"under a file", []File{{Path: "/init/x"}}, "not a folder"},
		{"under a device", []File{{Path: "/dev/console/x"}}, "not a folder"},
		{"file type in mode", []File{{Path: "/a", Mode: 0o100644}}, "permission"},
		{"data and source", []File{{Path: "/a", Data: []byte{}, Source: "/etc/hostname"}}, "both"},
		{"missing source", []File{{Path: "/a", Source: missing}}, "missing.ko"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := initramfsLayout([]byte("agent"), tc.extra)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("initramfsLayout(%+v) = %v, want an error mentioning %q", tc.extra, err, tc.want)
			}
		})
	}
}

func TestAgentInitramfs(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: builds the agents")
	}
	b := testBuilder(t)
	ctx := context.Background()
	for _, p := range qemu.All() {
		t.Run(p.Name, func(t *testing.T) {
			path, err := b.AgentInitramfs(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			agentPath, err := b.Agent(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			agent, err := os.ReadFile(agentPath)
			if err != nil {
				t.Fatal(err)
			}
			_, recs := readBack(t, data)
			if got := recordData(t, recs["init"]); !bytes.Equal(got, agent) {
				t.Errorf("/init is not the %s agent (%d bytes, want %d)", p.Name, len(got), len(agent))
			}
			again, err := b.AgentInitramfs(ctx, p)
			if err != nil || again != path {
				t.Errorf("second AgentInitramfs() = %q, %v; want the same file %q", again, err, path)
			}
			withModule, err := b.Initramfs(ctx, p, []File{{Path: "/lib/modules/x.ko", Data: []byte("x")}})
			if err != nil {
				t.Fatal(err)
			}
			if withModule == path {
				t.Error("an initramfs with an extra file has the agent-only archive's name")
			}
		})
	}
}
