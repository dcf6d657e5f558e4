package plugin

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// aptSource is one binary package source of the machine's apt
// configuration: the repository the installed QEMU came from, whose
// source packages sit next to its binary ones.
type aptSource struct {
	URIs       []string
	Suites     []string
	Components []string
	// SignedBy is the keyring that verifies the repository ("" for the
	// system's trusted keys).
	SignedBy string
}

// srcStanza is the deb822 stanza of the matching deb-src entry.
func (s aptSource) srcStanza() string {
	var b strings.Builder
	b.WriteString("Types: deb-src\n")
	fmt.Fprintf(&b, "URIs: %s\n", strings.Join(s.URIs, " "))
	fmt.Fprintf(&b, "Suites: %s\n", strings.Join(s.Suites, " "))
	if len(s.Components) > 0 {
		fmt.Fprintf(&b, "Components: %s\n", strings.Join(s.Components, " "))
	}
	if s.SignedBy != "" {
		fmt.Fprintf(&b, "Signed-By: %s\n", s.SignedBy)
	}
	return b.String()
}

// systemSources reads the deb entries of the apt configuration under
// etc (normally /etc/apt): sources.list, sources.list.d/*.list (one-line
// format) and sources.list.d/*.sources (deb822). Files with other
// endings are ignored, as apt ignores them.
func systemSources(etc string) ([]aptSource, error) {
	files := []string{filepath.Join(etc, "sources.list")}
	for _, pattern := range []string{"*.list", "*.sources"} {
		more, err := filepath.Glob(filepath.Join(etc, "sources.list.d", pattern))
		if err != nil {
			return nil, err
		}
		sort.Strings(more)
		files = append(files, more...)
	}
	var out []aptSource
	for _, name := range files {
		f, err := os.Open(name)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("apt sources: %w", err)
		}
		var got []aptSource
		if strings.HasSuffix(name, ".sources") {
			got, err = parseDeb822(f)
		} else {
			got, err = parseOneLine(f)
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("apt sources %s: %w", name, err)
		}
		out = append(out, got...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("apt sources under %s: no deb entry", etc)
	}
	return out, nil
}

// parseOneLine reads "deb [options] uri suite [component...]" lines.
func parseOneLine(r io.Reader) ([]aptSource, error) {
	var out []aptSource
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "deb" {
			continue
		}
		var s aptSource
		fields = fields[1:]
		if len(fields) > 0 && strings.HasPrefix(fields[0], "[") {
			// Options run up to the field that closes the bracket.
			for len(fields) > 0 {
				opt := strings.Trim(fields[0], "[]")
				closed := strings.HasSuffix(fields[0], "]")
				fields = fields[1:]
				if k, v, ok := strings.Cut(opt, "="); ok && k == "signed-by" {
					s.SignedBy = v
				}
				if closed {
					break
				}
			}
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("deb line without URI and suite: %q", sc.Text())
		}
		s.URIs, s.Suites = fields[:1], fields[1:2]
		if len(fields) > 2 {
			s.Components = fields[2:]
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// parseDeb822 reads the stanzas of a .sources file whose Types include
// deb and that are not disabled.
func parseDeb822(r io.Reader) ([]aptSource, error) {
	var out []aptSource
	stanza := map[string]string{}
	flush := func() {
		types := strings.Fields(stanza["types"])
		enabled := !strings.EqualFold(stanza["enabled"], "no")
		if enabled && slices.Contains(types, "deb") && stanza["uris"] != "" && stanza["suites"] != "" {
			out = append(out, aptSource{
				URIs:       strings.Fields(stanza["uris"]),
				Suites:     strings.Fields(stanza["suites"]),
				Components: strings.Fields(stanza["components"]),
				SignedBy:   strings.TrimSpace(stanza["signed-by"]),
			})
		}
		stanza = map[string]string{}
	}
	var last string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			// A continuation line (an inline keyring is one; keep it).
			if last != "" {
				stanza[last] += "\n" + line
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("line %q is neither a field nor a continuation", line)
			}
			last = strings.ToLower(strings.TrimSpace(k))
			stanza[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out, sc.Err()
}
