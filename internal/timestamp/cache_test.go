package timestamp

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

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
// first takes the cached path, and checks that each answer equals what full
// detection on a fresh detector gives and what the golden file records.
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
				t.Errorf("cached path differs from full detection:\n%s\nwant\n%s", got, fresh.Bytes())
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant (%s)\n%s", got, golden, want)
			}
		})
	}
}

// TestCache checks which format a detector remembers: the cached path must
// serve the common lines, and other lines must still be found.
func TestCache(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string // the time found in each line
		kind  kind     // the format remembered after the last line
	}{
		{
			name: "libp2p lines keep the iso stamp",
			lines: []string{
				"Jul 27 00:00:00 n ipfs[1]: 2024-07-27T00:00:00.014Z\tINFO\tx",
				"Jul 27 00:00:00 n ipfs[46133]: 2024-07-27T00:00:00.017Z\tINFO\tx",
			},
			want: []string{"2024-07-27T00:00:00.014Z", "2024-07-27T00:00:00.017Z"},
			kind: kindISO,
		},
		{
			name: "a syslog-only first line does not hide later finer stamps",
			lines: []string{
				"Jul 27 00:00:00 n systemd[1]: Started ipfs.",
				"Jul 27 00:00:01 n ipfs[1]: 2024-07-27T00:00:00.5Z\tINFO\tx",
				"Jul 27 00:00:02 n ipfs[1]: 2024-07-27T00:00:01.5Z\tINFO\tx",
			},
			want: []string{"2024-07-27T00:00:00Z", "2024-07-27T00:00:00.5Z", "2024-07-27T00:00:01.5Z"},
			kind: kindISO,
		},
		{
			name: "a line without the cached format falls back",
			lines: []string{
				`{"level":"info","time":"2024-07-27T00:00:00.5Z"}`,
				"Jul 27 00:00:01 n sshd[1]: Failed password",
				`{"level":"info","time":"2024-07-27T00:00:02.5Z"}`,
			},
			want: []string{"2024-07-27T00:00:00.5Z", "2024-07-27T00:00:01Z", "2024-07-27T00:00:02.5Z"},
			kind: kindJSONTime,
		},
		{
			name:  "slog text remembers its key",
			lines: []string{`time=2024-07-27T00:00:00.1Z level=INFO msg="a"`, `time=2024-07-27T00:00:00.2Z level=INFO msg="b"`},
			want:  []string{"2024-07-27T00:00:00.1Z", "2024-07-27T00:00:00.2Z"},
			kind:  kindTextTime,
		},
		{
			name:  "epoch at start",
			lines: []string{"1722038400.1 a", "1722038400.2 b", "nothing"},
			want:  []string{"2024-07-27T00:00:00.1Z", "2024-07-27T00:00:00.2Z", ""},
			kind:  kindEpoch,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDetector(t, "")
			for i, line := range tt.lines {
				checkFind(t, d, line, tt.want[i])
			}
			if got := kind(d.cache.Load()); got != tt.kind {
				t.Errorf("remembered kind %d, want %d", got, tt.kind)
			}
		})
	}
}

// TestFindAllocs checks the promise to the pipeline: no allocation per line,
// on the cached path and in full detection.
func TestFindAllocs(t *testing.T) {
	for _, name := range []string{"libp2p", "sshd", "flow", "mixed"} {
		lines := readLines(t, name+".log")
		d := newTestDetector(t, "")
		d.Find(lines[0]) // fills the cache and the reference year
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
