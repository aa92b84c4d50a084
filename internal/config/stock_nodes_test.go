package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"
)

// nodeLogs maps the node-software stock filters to their fixtures under
// testdata/stock/nodes, written by tools/nodefixtures (see its MANIFEST):
// each program's own log format, and the same lines behind journalctl's
// prefixes.
var nodeLogs = map[string]string{
	"bitcoin-misbehaving": "bitcoin",
	"bitcoin-discouraged": "bitcoin",
	"bitcoin-connections": "bitcoin",
	"nano-peer-errors":    "nano",
	"geth-handshake":      "geth",
	"geth-too-many-peers": "geth",
	"geth-peer-drop":      "geth",
	"geth-connections":    "geth",
	"cometbft-peer-error": "cometbft",
}

// nodeOutcomes runs f over one fixture and renders every non-miss outcome.
func nodeOutcomes(t *testing.T, f filter.Filter, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		l := logline.Line{Text: sc.Bytes()}
		hit, out := f.Match(&l)
		if out == filter.Miss {
			continue
		}
		if strings.Contains(hit.Host.String(), victim) {
			t.Errorf("%s:%d: blames the victim %s: %q", file, n, victim, sc.Text())
		}
		fmt.Fprintf(&got, "%d %s %s %d\n", n, out, hit.Host, hit.Rule)
	}
	return got.String()
}

// TestNodeStockGolden compares each node filter's outcomes on its program's
// fixtures with the golden files, and checks that the journalctl-prefixed
// copy of a log gives exactly the same outcomes as the program's own lines.
// Regenerate with: go test ./internal/config -run NodeStockGolden -update
func TestNodeStockGolden(t *testing.T) {
	dir := filepath.Join("testdata", "stock", "nodes")
	for name, prog := range nodeLogs {
		t.Run(name, func(t *testing.T) {
			f := stockFilter(t, name)
			got := nodeOutcomes(t, f, filepath.Join(dir, prog+".log"))
			journal := nodeOutcomes(t, f, filepath.Join(dir, prog+"-journal.log"))
			// Rule numbers may differ: a pattern can come in a bare and a
			// prefixed form. Who is blamed, and how, may not.
			if j, g := withoutRules(journal), withoutRules(got); j != g {
				t.Errorf("%s-journal.log differs from %s.log:\n%s", prog, prog, diff(g, j))
			}
			if !strings.Contains(got, " match ") {
				t.Errorf("no line of %s.log matches", prog)
			}
			golden := filepath.Join(dir, name+".golden")
			if *updateStock {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("outcomes differ from %s (run with -update to see):\n%s", golden, diff(string(want), got))
			}
		})
	}
}

// withoutRules drops the rule column of nodeOutcomes' lines.
func withoutRules(outcomes string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(outcomes, "\n") {
		if i := strings.LastIndexByte(strings.TrimSuffix(l, "\n"), ' '); i >= 0 {
			b.WriteString(l[:i] + "\n")
		}
	}
	return b.String()
}
