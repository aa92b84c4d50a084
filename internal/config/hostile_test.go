package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostileInput feeds what a mistaken path or an attacker could put in
// place of a config: every case must end in an ErrInvalid, promptly, and
// never in a panic.
func TestHostileInput(t *testing.T) {
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'j'; i++ {
		prev := string(i - 1)
		laughs += string(i) + ": &" + string(i) + " [*" + prev + strings.Repeat(", *"+prev, 9) + "]\n"
	}
	laughs += "jails:\n  x:\n    filter: sshd\n    ignoreip: *j\n"
	for _, tc := range []struct {
		name, data, want string
	}{
		{"billion laughs", laughs, "p.yaml: document has more than 1048576 nodes once aliases are expanded"},
		{"ten megabytes", strings.Repeat("# padding\n", 1<<20), "p.yaml: file is larger than 4 MiB; is this really a config?"},
		{"binary", "jails:\n  \x00\x01\x02", "p.yaml:2:3: control character U+0000 is not allowed; is this really a config?"},
		{"not utf-8", "jails:\n  a: \xff\xfe", "p.yaml:2:6: not UTF-8 text; is this really a config?"},
		{"deep nesting", strings.Repeat("[", 20000), "p.yaml:1: yaml: exceeded max depth of 10000"},
		{"self alias", "jails: &j\n  a: *j\n", "p.yaml:2:6: alias *j is inside its own anchor"},
		{"not yaml", "{{{ this is : not [ yaml", "p.yaml:1: yaml: did not find expected ',' or '}'"},
		{"json", `{"jails": 1}`, `p.yaml:1:11: jails: got "1", want a mapping of name → jail (e.g. jails: {libp2p: {filter: libp2p-peer-status, source: {files: [/var/log/ipfs/*.log]}}})`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.data), LoadOptions{})
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want an ErrInvalid", err)
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}

// TestLoadReadsAtMostTheCap checks that Load refuses a huge file without
// reading all of it into memory.
func TestLoadHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(path, make([]byte, 10<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, LoadOptions{})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "larger than 4 MiB") {
		t.Errorf("got %v", err)
	}
}

func TestAliasesWithinLimitsWork(t *testing.T) {
	data := "defaults: {ignoreip: &nets ['10.0.0.0/8', '192.168.0.0/16']}\n" +
		"jails:\n  a: &jail {filter: sshd, ignoreip: *nets}\n  b: *jail\n"
	c, err := Parse("p.yaml", []byte(data), LoadOptions{SourcesOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Jails) != 2 || len(c.Jails[1].Policy.IgnoreIP) != 2 || c.Jails[1].Name != "b" {
		t.Errorf("jails %v", c.Summary())
	}
}
