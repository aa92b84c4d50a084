package timestamp

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/logprefix"
)

// TestRealFixtures reads every line of the real-format fixtures (the
// programs' own output in every journalctl style, testdata/real) and checks
// the time found against the instant the truth file says the line was
// written: within a second, whatever the style's precision. Monotonic and
// cat output carry no relay wall time: the program's own stamp must be found,
// except for a program that leaves the time to syslog (format
// "syslog-message": sshd's raw and cat lines hold none). FindAfter, told
// where the prefix ends, finds the same time as Find on every line.
func TestRealFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "real")
	manifest, err := os.ReadFile(filepath.Join(dir, "MANIFEST"))
	if err != nil {
		t.Fatalf("real fixtures: %v (tools/fixtures/regen.sh makes them)", err)
	}
	checked := 0
	for _, row := range strings.Split(string(manifest), "\n") {
		c := strings.Split(row, "\t")
		if row == "" || strings.HasPrefix(row, "#") || len(c) < 7 || c[4] == "json" {
			continue
		}
		stamps := truthStamps(t, filepath.Join(dir, c[6]))
		d, err := NewDetector(Options{Location: time.UTC, Reference: func() time.Time { return stamps[0].Add(time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, c[0]))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		stampless := c[3] == "syslog-message" && (c[4] == "raw" || c[4] == "cat" || c[4] == "short-monotonic")
		for n := 0; sc.Scan(); n++ {
			got, ok := d.Find(sc.Bytes())
			// What a filter tells of the prefix (Hit.Prefix) changes nothing.
			hint := -1
			if p, has := logprefix.Parse(sc.Bytes()); has {
				hint = p.Message + 1
			}
			if after, afterOK := d.FindAfter(sc.Bytes(), hint); after != got || afterOK != ok {
				t.Errorf("%s:%d: FindAfter(%d) found %v %v, Find %v %v", c[0], n+1, hint, after, afterOK, got, ok)
			}
			if n >= len(stamps) {
				t.Fatalf("%s: more lines than truth rows", c[0])
			}
			if stampless && !ok {
				continue
			}
			if off := got.Sub(stamps[n]); !ok || off >= time.Second || off <= -time.Second {
				t.Errorf("%s:%d (%s): found %v %v, written at %v", c[0], n+1, c[4], got, ok, stamps[n])
			}
			checked++
		}
		f.Close()
	}
	if checked == 0 {
		t.Fatal("no fixture lines checked")
	}
}

func truthStamps(t *testing.T, path string) []time.Time {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		c := strings.Split(l, "\t")
		us, err := strconv.ParseInt(c[1], 10, 64)
		if len(c) < 2 || err != nil {
			t.Fatalf("%s: bad row %q", path, l)
		}
		out = append(out, time.UnixMicro(us).UTC())
	}
	return out
}
