package timestamp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/golden"
)

func readLines(t testing.TB, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

// findAll runs one detector over lines, as the pipeline does, and prints
// what it found, one line each.
func findAll(d *Detector, lines [][]byte) []byte {
	var out bytes.Buffer
	for i, line := range lines {
		if t, ok := d.Find(line); ok {
			fmt.Fprintf(&out, "%d %s\n", i+1, t.Format(time.RFC3339Nano))
		} else {
			fmt.Fprintf(&out, "%d -\n", i+1)
		}
	}
	return out.Bytes()
}

// TestGolden runs one detector over whole files, so every line after the
// first uses its year and zone memos, and checks that each answer equals
// what a fresh detector gives and what the golden file records.
func TestGolden(t *testing.T) {
	for _, name := range []string{"libp2p", "sshd", "flow", "mixed"} {
		t.Run(name, func(t *testing.T) {
			lines := readLines(t, name+".log")
			got := findAll(newTestDetector(t, ""), lines)
			var fresh bytes.Buffer
			for i, line := range lines {
				one := findAll(newTestDetector(t, ""), [][]byte{line})
				fmt.Fprintf(&fresh, "%d%s", i+1, bytes.TrimLeft(one, "0123456789"))
			}
			if !bytes.Equal(got, fresh.Bytes()) {
				t.Errorf("a reused detector differs from fresh ones:\n%s\nwant\n%s", got, fresh.Bytes())
			}
			golden.Check(t, filepath.Join("testdata", name+".golden"), got)
		})
	}
}

// TestFindAllocs checks the promise to the pipeline: no allocation per line.
func TestFindAllocs(t *testing.T) {
	for _, name := range []string{"libp2p", "sshd", "flow", "mixed"} {
		lines := readLines(t, name+".log")
		d := newTestDetector(t, "")
		d.Find(lines[0]) // fills the year memo
		for _, line := range lines {
			if n := testing.AllocsPerRun(10, func() { d.Find(line) }); n != 0 {
				t.Errorf("%s: Find(%q) allocates %.0f times", name, line, n)
			}
		}
	}
}

// TestFindConcurrent shares one detector between goroutines that see lines
// of different formats in different orders; run with -race.
func TestFindConcurrent(t *testing.T) {
	lines := readLines(t, "mixed.log")
	want := make([]time.Time, len(lines))
	found := make([]bool, len(lines))
	for i, line := range lines {
		want[i], found[i] = newTestDetector(t, "").Find(line)
	}
	d := newTestDetector(t, "")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 200 {
				i := (g*7 + n*(g+1)) % len(lines)
				got, ok := d.Find(lines[i])
				if ok != found[i] || !got.Equal(want[i]) {
					t.Errorf("line %d: got %v %v, want %v %v", i+1, got, ok, want[i], found[i])
					return
				}
			}
		})
	}
	wg.Wait()
}
