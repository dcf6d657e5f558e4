package plugin

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSources(t *testing.T) {
	tests := []struct {
		name   string
		deb822 bool
		text   string
		want   []aptSource
	}{
		{
			name: "one-line with options and comments",
			text: "# comment\ndeb-src http://a/debian bookworm main\n" +
				"deb [arch=amd64 signed-by=/k.gpg] http://a/debian bookworm main contrib # tail\n",
			want: []aptSource{{URIs: []string{"http://a/debian"}, Suites: []string{"bookworm"},
				Components: []string{"main", "contrib"}, SignedBy: "/k.gpg"}},
		},
		{
			name: "one-line flat repository",
			text: "deb http://b/ ./\n",
			want: []aptSource{{URIs: []string{"http://b/"}, Suites: []string{"./"}}},
		},
		{
			name:   "deb822 stanzas, disabled and source-only ones dropped",
			deb822: true,
			text: "Types: deb deb-src\n# the archive\nURIs: http://a/debian\nSuites: bookworm bookworm-updates\n" +
				"Components: main\nSigned-By: /k.gpg\n\n" +
				"Types: deb\nURIs: http://c/\nSuites: x\nEnabled: no\n\n" +
				"Types: deb-src\nURIs: http://d/\nSuites: y\n",
			want: []aptSource{{URIs: []string{"http://a/debian"}, Suites: []string{"bookworm", "bookworm-updates"},
				Components: []string{"main"}, SignedBy: "/k.gpg"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse := parseOneLine
			if tt.deb822 {
				parse = parseDeb822
			}
			got, err := parse(strings.NewReader(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSrcStanza(t *testing.T) {
	s := aptSource{URIs: []string{"http://a/"}, Suites: []string{"s1", "s2"}, Components: []string{"main"}, SignedBy: "/k.gpg"}
	want := "Types: deb-src\nURIs: http://a/\nSuites: s1 s2\nComponents: main\nSigned-By: /k.gpg\n"
	if got := s.srcStanza(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
