package images

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"specbed/qemu"
)

// fragment is a list of kconfig assignments that must hold in a kernel's
// .config, with the name errors cite for it (a repository path, or
// "(builder)" for lines the builder adds, like CONFIG_MODULE_SIG_KEY).
type fragment struct {
	name string
	data []byte
}

// requirement is one assignment of a fragment: Value "" means the symbol
// must be off ("# CONFIG_X is not set" or "CONFIG_X=n").
type requirement struct {
	file  string
	line  int
	name  string
	value string
}

func (r requirement) String() string {
	if r.value == "" {
		return "# " + r.name + " is not set"
	}
	return r.name + "=" + r.value
}

var (
	assignLine = regexp.MustCompile(`^(CONFIG_[A-Za-z0-9_]+)=(.*)$`)
	unsetLine  = regexp.MustCompile(`^# (CONFIG_[A-Za-z0-9_]+) is not set$`)
)

// parseFragment reads a fragment's assignments. Blank lines and comments
// are skipped; any other line is an error, so that a typo cannot pass as a
// comment.
func parseFragment(f fragment) ([]requirement, error) {
	var reqs []requirement
	sc := bufio.NewScanner(bytes.NewReader(f.data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if m := assignLine.FindStringSubmatch(line); m != nil {
			value := m[2]
			if value == "n" {
				value = ""
			}
			reqs = append(reqs, requirement{file: f.name, line: n, name: m[1], value: value})
			continue
		}
		if m := unsetLine.FindStringSubmatch(line); m != nil {
			reqs = append(reqs, requirement{file: f.name, line: n, name: m[1]})
			continue
		}
		// A comment may mention symbols, but a line shaped like an unset
		// symbol must parse as one.
		if line == "" || (strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "# CONFIG_")) {
			continue
		}
		return nil, fmt.Errorf("%s:%d: neither CONFIG_X=value, '# CONFIG_X is not set' nor a comment: %q", f.name, n, line)
	}
	return reqs, sc.Err()
}

// parseConfig maps each symbol of a .config to its value; symbols that are
// "not set" map to "". Symbols absent from the file are off too: kconfig
// omits symbols whose dependencies are not met.
func parseConfig(data []byte) map[string]string {
	values := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if m := assignLine.FindStringSubmatch(line); m != nil {
			values[m[1]] = m[2]
		} else if m := unsetLine.FindStringSubmatch(line); m != nil {
			values[m[1]] = ""
		}
	}
	return values
}

// Mismatch is a fragment line that does not hold in the final .config.
type Mismatch struct {
	File string // fragment path as given to the check
	Line int    // 1-based line in File
	Want string // the fragment line
	Got  string // what .config has instead
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s:%d: wants %s, .config has %s", m.File, m.Line, m.Want, m.Got)
}

// ConfigError lists every fragment line the kernel configuration dropped or
// changed, usually because a dependency of the symbol is off.
type ConfigError struct {
	Config     string // path of the checked .config
	Mismatches []Mismatch
}

func (e *ConfigError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s does not hold %d fragment line(s) (a dependency is off or a value is out of range):", e.Config, len(e.Mismatches))
	for _, m := range e.Mismatches {
		sb.WriteString("\n  " + m.String())
	}
	return sb.String()
}

// checkConfig verifies that every line of the fragments holds in config
// (the bytes of the .config at configPath). It returns a *ConfigError
// naming each line that does not, or an error for a malformed fragment.
func checkConfig(configPath string, config []byte, frags ...fragment) error {
	values := parseConfig(config)
	cerr := &ConfigError{Config: configPath}
	for _, f := range frags {
		reqs, err := parseFragment(f)
		if err != nil {
			return err
		}
		for _, r := range reqs {
			got, present := values[r.name]
			if got == r.value {
				continue
			}
			have := requirement{name: r.name, value: got}.String()
			if !present {
				have = "no " + r.name + " (its dependencies are not met)"
			}
			cerr.Mismatches = append(cerr.Mismatches, Mismatch{File: f.name, Line: r.line, Want: r.String(), Got: have})
		}
	}
	if len(cerr.Mismatches) > 0 {
		return cerr
	}
	return nil
}

// fragmentPath is the repository path of a platform's fragment.
func fragmentPath(p *qemu.Platform) string {
	return filepath.Join("images", "kernel", "fragments", p.Kernel.Fragment)
}

// configure writes buildDir/.config: the platform's base target, then its
// fragment and the builder's own lines appended, then olddefconfig to
// resolve dependencies, then the check that every appended line survived.
func (b *Builder) configure(ctx context.Context, log *buildLog, p *qemu.Platform, src, buildDir string, frags []fragment) error {
	mk := b.makeArgs(p, src, buildDir)
	if err := log.run(ctx, buildDir, nil, "make", append(mk, p.Kernel.BaseConfig)...); err != nil {
		return fmt.Errorf("%s: make %s: %w", p.Name, p.Kernel.BaseConfig, err)
	}
	configPath := filepath.Join(buildDir, ".config")
	f, err := os.OpenFile(configPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	for _, frag := range frags {
		fmt.Fprintf(f, "\n# appended by specbed from %s\n", frag.name)
		if _, err := f.Write(frag.data); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := log.run(ctx, buildDir, nil, "make", append(mk, "olddefconfig")...); err != nil {
		return fmt.Errorf("%s: make olddefconfig: %w", p.Name, err)
	}
	config, err := os.ReadFile(configPath)
	if err != nil {
		return err
	}
	if err := checkConfig(configPath, config, frags...); err != nil {
		return fmt.Errorf("%s kernel config: %w", p.Name, err)
	}
	return nil
}

// makeArgs are the arguments of a kernel build for p: out of tree, from
// src into buildDir.
func (b *Builder) makeArgs(p *qemu.Platform, src, buildDir string) []string {
	return append([]string{"-C", src, "O=" + buildDir}, KbuildVars(p)...)
}

// KbuildVars select p's architecture and compiler in every kbuild call
// (kernel and module builds alike).
func KbuildVars(p *qemu.Platform) []string {
	vars := []string{"ARCH=" + p.Kernel.Arch}
	if p.Kernel.CrossCompile != "" {
		vars = append(vars, "CROSS_COMPILE="+p.Kernel.CrossCompile)
	}
	return vars
}
