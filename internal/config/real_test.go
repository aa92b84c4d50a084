package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/golden"
	"github.com/peerjail/peerjail/internal/logline"
)

// realDir holds the real-format fixtures: lines written by the programs
// themselves (tools/fixtures), in every journalctl style, with a MANIFEST
// and per-line truth (the address the program wrote for the remote peer, or
// "-" where the line names none or names a relay).
var realDir = filepath.Join("..", "..", "testdata", "real")

// realFilters are the stock filters run over each program's fixtures, with
// the marker that starts the program's message kind each one reads, or the
// truth tag that marks the lines it is for ("" for every line).
var realFilters = map[string][]realSpec{
	"go-libp2p": {{"libp2p-peer-status", "CANONICAL_PEER_STATUS", ""}, {"libp2p-misbehaving", "CANONICAL_MISBEHAVING_PEER", ""}},
	"flow-go":   {{"flow-suspicious", "", "suspicious"}},
	// The fixtures tag each sshd line with the fail2ban mode that counts it.
	"openssh": {{"sshd", "", "f2b=normal"}, {"sshd-ddos", "", "f2b=normal|f2b=ddos"}, {"sshd-aggressive", "", "f2b=normal|f2b=ddos|f2b=extra"}},
}

type realSpec struct{ filter, marker, tag string }

// mine reports whether a line with these truth tags is one the filter is for.
func (sp realSpec) mine(line, tags string, all []realSpec) bool {
	if sp.marker != "" {
		return firstMarker(line, all) == sp.marker
	}
	if sp.tag != "" {
		for _, tg := range strings.Split(tags, ",") {
			for _, want := range strings.Split(sp.tag, "|") {
				if tg == want || tg == want+"-string" {
					return true
				}
			}
		}
		return false
	}
	return true
}

type realFile struct {
	path, program, version, format, style, truth string
}

// TestStockOnRealFixtures runs the stock filters over every real fixture.
// Hard rules, any style: a filter never blames an address other than the
// one the program wrote for that line (so never a relay, never an address
// from hostile text), and never one for a line whose truth has none. How
// many of the written addresses each filter finds, per file, is the golden
// table; regenerate with -update.
func TestStockOnRealFixtures(t *testing.T) {
	files := readManifest(t)
	var table bytes.Buffer
	type key struct{ filter, style string }
	sums := map[key][2]int{}
	var keys []key
	for _, rf := range files {
		specs, ok := realFilters[rf.program]
		if !ok {
			continue
		}
		if rf.style == "json" {
			// journalctl -o json is the journal's own record, read by the
			// journal source (MESSAGE and fields), not a text line.
			continue
		}
		lines := readLinesOf(t, filepath.Join(realDir, rf.path))
		truth := readTruth(t, filepath.Join(realDir, rf.truth))
		if len(lines) != len(truth) {
			t.Fatalf("%s: %d lines, %d truth rows", rf.path, len(lines), len(truth))
		}
		for _, sp := range specs {
			f := stockFilter(t, sp.filter)
			found, want, ids, extra := 0, 0, 0, 0
			for i, line := range lines {
				host, tags := truth[i][0], truth[i][1]
				mine := sp.mine(line, tags, realFilters[rf.program])
				if mine && host != "-" {
					want++
				}
				hit, out := f.Match(&logline.Line{Text: []byte(line)})
				if out != filter.Match {
					if mine && host != "-" {
						t.Logf("%s:%d %s: %s, want %s", rf.path, i+1, sp.filter, out, host)
					}
					continue
				}
				if !hit.Host.Addr.IsValid() {
					ids++
					continue
				}
				if got := hit.Host.String(); got != host {
					t.Errorf("%s:%d %s blames %s, the program wrote %q: %s", rf.path, i+1, sp.filter, got, host, line)
					continue
				}
				if !mine {
					extra++ // the right address, on a line the truth does not count for this filter
					continue
				}
				found++
			}
			fmt.Fprintf(&table, "%-56s %-20s hosts %3d/%-3d ids %d extra %d\n", rf.path, sp.filter, found, want, ids, extra)
			k := key{sp.filter, rf.style}
			if _, ok := sums[k]; !ok {
				keys = append(keys, k)
			}
			sums[k] = [2]int{sums[k][0] + found, sums[k][1] + want}
		}
	}
	// The style × filter summary: addresses found of those the programs wrote.
	fmt.Fprintf(&table, "\n%-20s %-18s %s\n", "filter", "style", "hosts found/written")
	slices.SortFunc(keys, func(a, b key) int { return strings.Compare(a.filter+" "+a.style, b.filter+" "+b.style) })
	for _, k := range keys {
		fmt.Fprintf(&table, "%-20s %-18s %d/%d\n", k.filter, k.style, sums[k][0], sums[k][1])
	}
	golden.Check(t, filepath.Join("testdata", "stock", "real.golden"), table.Bytes())
}

// firstMarker returns which marker the line's message starts with: the
// first to occur, as hostile text with another marker comes after it.
func firstMarker(line string, specs []realSpec) string {
	best, at := "", len(line)
	for _, sp := range specs {
		if i := strings.Index(line, sp.marker); i >= 0 && i < at {
			best, at = sp.marker, i
		}
	}
	return best
}

func readManifest(t *testing.T) []realFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(realDir, "MANIFEST"))
	if err != nil {
		t.Fatalf("real fixtures: %v (tools/fixtures/regen.sh makes them)", err)
	}
	var out []realFile
	for _, l := range strings.Split(string(data), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		c := strings.Split(l, "\t")
		if len(c) < 7 {
			t.Fatalf("MANIFEST: bad row %q", l)
		}
		out = append(out, realFile{path: c[0], program: c[1], version: c[2], format: c[3], style: c[4], truth: c[6]})
	}
	slices.SortFunc(out, func(a, b realFile) int { return strings.Compare(a.path, b.path) })
	return out
}

func readLinesOf(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// readTruth returns the host and tags columns of a truth.tsv, one entry per line.
func readTruth(t *testing.T, path string) [][2]string {
	t.Helper()
	var out [][2]string
	for _, l := range readLinesOf(t, path) {
		if strings.HasPrefix(l, "#") {
			continue
		}
		c := strings.Split(l, "\t")
		if len(c) < 4 {
			t.Fatalf("%s: bad row %q", path, l)
		}
		out = append(out, [2]string{c[2], c[3]})
	}
	return out
}
