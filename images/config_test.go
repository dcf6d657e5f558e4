package images

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"specbed/qemu"
)

func TestCheckConfig(t *testing.T) {
	const config = `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_NET=y
CONFIG_NET_VENDOR_NATSEMI=y
# CONFIG_NET_VENDOR_8390 is not set
CONFIG_DUMMY=m
CONFIG_CMDLINE=""
CONFIG_MODULE_SIG_KEY="/cache/keys/signing_key.pem"
CONFIG_HZ=100
CONFIG_PHYS_OFFSET=0xc0000000
# CONFIG_IPV6 is not set
`
	tests := []struct {
		name     string
		fragment string
		want     []Mismatch // nil: the check passes
	}{
		{
			name: "all hold",
			fragment: `# comment mentioning CONFIG_NET=y in prose
CONFIG_NET=y

CONFIG_DUMMY=m
CONFIG_CMDLINE=""
CONFIG_HZ=100
CONFIG_PHYS_OFFSET=0xc0000000
# CONFIG_IPV6 is not set
# CONFIG_NET_VENDOR_8390 is not set
`,
		},
		{
			name:     "off symbol absent from .config holds",
			fragment: "# CONFIG_NE2000 is not set\nCONFIG_NE2000=n\n",
		},
		{
			name:     "dropped by a dependency",
			fragment: "CONFIG_NET=y\n# NE2000 needs 8390 which needs NATSEMI\nCONFIG_NE2000=y\n",
			want:     []Mismatch{{File: "frag", Line: 3, Want: "CONFIG_NE2000=y", Got: "no CONFIG_NE2000 (its dependencies are not met)"}},
		},
		{
			name:     "explicitly off",
			fragment: "CONFIG_NET_VENDOR_8390=y\n",
			want:     []Mismatch{{File: "frag", Line: 1, Want: "CONFIG_NET_VENDOR_8390=y", Got: "# CONFIG_NET_VENDOR_8390 is not set"}},
		},
		{
			name:     "module instead of built in",
			fragment: "CONFIG_DUMMY=y\n",
			want:     []Mismatch{{File: "frag", Line: 1, Want: "CONFIG_DUMMY=y", Got: "CONFIG_DUMMY=m"}},
		},
		{
			name:     "on but wanted off",
			fragment: "\n# CONFIG_NET is not set\n",
			want:     []Mismatch{{File: "frag", Line: 2, Want: "# CONFIG_NET is not set", Got: "CONFIG_NET=y"}},
		},
		{
			name:     "string and number values",
			fragment: "CONFIG_CMDLINE=\"console=ttyS0\"\nCONFIG_HZ=250\nCONFIG_MODULE_SIG_KEY=\"/cache/keys/signing_key.pem\"\n",
			want: []Mismatch{
				{File: "frag", Line: 1, Want: `CONFIG_CMDLINE="console=ttyS0"`, Got: `CONFIG_CMDLINE=""`},
				{File: "frag", Line: 2, Want: "CONFIG_HZ=250", Got: "CONFIG_HZ=100"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkConfig("build/.config", []byte(config), fragment{name: "frag", data: []byte(tt.fragment)})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("checkConfig: %v", err)
				}
				return
			}
			var cerr *ConfigError
			if !errors.As(err, &cerr) {
				t.Fatalf("checkConfig = %v, want a *ConfigError", err)
			}
			if !reflect.DeepEqual(cerr.Mismatches, tt.want) {
				t.Errorf("mismatches = %+v\nwant %+v", cerr.Mismatches, tt.want)
			}
			for _, m := range tt.want {
				if !strings.Contains(err.Error(), m.String()) {
					t.Errorf("error %q does not name %q", err, m)
				}
			}
		})
	}
}

func TestCheckConfigSeveralFragments(t *testing.T) {
	config := []byte("CONFIG_A=y\nCONFIG_B=\"x\"\n")
	err := checkConfig(".config", config,
		fragment{name: "images/kernel/fragments/x.config", data: []byte("CONFIG_A=y\n")},
		fragment{name: "(builder)", data: []byte("CONFIG_B=\"y\"\n")})
	var cerr *ConfigError
	if !errors.As(err, &cerr) || len(cerr.Mismatches) != 1 || cerr.Mismatches[0].File != "(builder)" {
		t.Fatalf("checkConfig = %v, want one mismatch in (builder)", err)
	}
}

func TestParseFragmentRejectsMalformedLines(t *testing.T) {
	tests := []struct{ name, line string }{
		{"missing value sign", "CONFIG_NET y"},
		{"bare word", "NET=y"},
		{"misspelt unset", "# CONFIG_NET is not sett"},
		{"lower-case prefix", "config_NET=y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFragment(fragment{name: "f.config", data: []byte("CONFIG_A=y\n" + tt.line + "\n")})
			if err == nil || !strings.Contains(err.Error(), "f.config:2:") {
				t.Errorf("parseFragment(%q) = %v, want an error at f.config:2", tt.line, err)
			}
		})
	}
}

// TestFragmentsParse keeps the committed fragments well formed, and checks
// that they leave builderSymbol to the builder.
func TestFragmentsParse(t *testing.T) {
	repo, err := FindRepo()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range qemu.All() {
		t.Run(p.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(repo, fragmentPath(p)))
			if err != nil {
				t.Fatal(err)
			}
			reqs, err := parseFragment(fragment{name: fragmentPath(p), data: data})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, r := range reqs {
				if prev, dup := seen[r.name]; dup {
					t.Errorf("%s:%d: %s already set on line %d", r.file, r.line, r.name, prev)
				}
				seen[r.name] = r.line
			}
			for _, name := range []string{"CONFIG_MODULE_SIG_FORCE", "CONFIG_MODULES", "CONFIG_KALLSYMS", "CONFIG_DUMMY"} {
				if _, ok := seen[name]; !ok {
					t.Errorf("%s lacks %s", fragmentPath(p), name)
				}
			}
			if _, ok := seen[builderSymbol]; ok {
				t.Errorf("%s sets %s, which the builder owns", fragmentPath(p), builderSymbol)
			}
		})
	}
}
