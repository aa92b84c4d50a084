package timestamp

import (
	"path/filepath"
	"testing"
)

// The corpora in testdata are 50-line samples of the benchmark corpora, such
// as go run ./scripts/gencorpus -kind K -lines 50 -out testdata/K.log writes
// (the golden files hold what Find returns for these exact lines).

// BenchmarkFind is the pipeline's case: one detector per source, so every
// line after the first takes the cached path.
func BenchmarkFind(b *testing.B) {
	for _, name := range []string{"libp2p", "sshd", "flow"} {
		b.Run(name, func(b *testing.B) {
			lines := readLines(b, name+".log")
			d := newTestDetector(b, "")
			d.Find(lines[0])
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, ok := d.Find(lines[i%len(lines)]); !ok {
					b.Fatal("no timestamp")
				}
			}
		})
	}
}

// BenchmarkFindDefaults is the cached path with the production options:
// time.Local for zone-less times and time.Now for year inference.
func BenchmarkFindDefaults(b *testing.B) {
	lines := readLines(b, "sshd.log")
	d, err := NewDetector(Options{})
	if err != nil {
		b.Fatal(err)
	}
	d.Find(lines[0])
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := d.Find(lines[i%len(lines)]); !ok {
			b.Fatal("no timestamp")
		}
	}
}

// BenchmarkDetect is full detection, what a line costs when the cached
// format is absent from it.
func BenchmarkDetect(b *testing.B) {
	for _, name := range []string{"libp2p", "sshd", "flow"} {
		b.Run(name, func(b *testing.B) {
			lines := readLines(b, name+".log")
			var s stamp
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if !automatic.detect(lines[i%len(lines)], 0, &s) {
					b.Fatal("no timestamp")
				}
			}
		})
	}
}

// BenchmarkPattern is an operator's datepattern on the same lines.
func BenchmarkPattern(b *testing.B) {
	tests := []struct{ name, pattern string }{
		{"libp2p", "%Y-%m-%dT%H:%M:%S.%f%z"},
		{"sshd", "^%b %d %H:%M:%S"},
		{"flow", "iso8601"},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			lines := readLines(b, tt.name+".log")
			d := newTestDetector(b, tt.pattern)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				d.Find(lines[i%len(lines)]) // a systemd line in libp2p.log has no match
			}
		})
	}
}

func BenchmarkParseValue(b *testing.B) {
	v := []byte("2024-07-27T00:00:00.000548005Z")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseValue(v); !ok {
			b.Fatal("no timestamp")
		}
	}
}

// BenchmarkFindNodes is the pipeline's case on the node software fixtures
// (go-ethereum's three formats, CometBFT's two, Bitcoin Core, Nano).
func BenchmarkFindNodes(b *testing.B) {
	for _, name := range []string{"geth", "cometbft", "bitcoin", "nano"} {
		b.Run(name, func(b *testing.B) {
			var lines [][]byte
			for _, l := range fixtureLines(b, filepath.Join(nodeFixtures, name+".log")) {
				lines = append(lines, []byte(l))
			}
			d := newTestDetector(b, "")
			d.Find(lines[0])
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, ok := d.Find(lines[i%len(lines)]); !ok {
					b.Fatal("no timestamp")
				}
			}
		})
	}
}
