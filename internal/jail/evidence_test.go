package jail

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEvidenceCap(t *testing.T) {
	tests := []struct {
		maxRetry int
		want     []string
	}{
		{3, []string{"line 0", "line 1", "line 2"}},
		{15, []string{"line 5", "line 6", "line 7", "line 8", "line 9", "line 10", "line 11", "line 12", "line 13", "line 14"}},
	}
	for _, tt := range tests {
		cfg := basic()
		cfg.MaxRetry = tt.maxRetry
		cfg.FindTime = time.Hour
		j := mustNew(t, cfg)
		buf := make([]byte, 0, 64) // reused like a reader's buffer
		var d Decision
		for i := range tt.maxRetry {
			buf = fmt.Appendf(buf[:0], "line %d", i)
			d, _ = j.Add(hit("192.0.2.1", 1), ts(time.Duration(i)*time.Second), buf)
		}
		if !slices.Equal(d.Evidence, tt.want) {
			t.Errorf("maxretry %d: evidence %q, want %q", tt.maxRetry, d.Evidence, tt.want)
		}
	}
}

func TestEvidenceNilLine(t *testing.T) {
	cfg := basic()
	cfg.MaxRetry = 2
	j := mustNew(t, cfg)
	j.Add(hit("192.0.2.1", 1), ts(0), nil)
	d, _ := j.Add(hit("192.0.2.1", 1), ts(time.Second), []byte("only"))
	if !slices.Equal(d.Evidence, []string{"only"}) {
		t.Errorf("evidence %q, want only the line given", d.Evidence)
	}
}

func TestEvidenceTruncation(t *testing.T) {
	tests := []struct {
		name string
		line string
		cut  bool
	}{
		{"short", "Failed password for root from 192.0.2.1", false},
		{"exactly the limit", strings.Repeat("x", maxLineBytes), false},
		{"one over", strings.Repeat("x", maxLineBytes+1), true},
		{"long", strings.Repeat("y", 5000), true},
		{"multibyte kept whole", strings.Repeat("é", 1000), true},
		{"four-byte runes", strings.Repeat("😀", 400), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := basic()
			cfg.MaxRetry = 1
			d, _ := mustNew(t, cfg).Add(hit("192.0.2.1", 1), t0, []byte(tt.line))
			if len(d.Evidence) != 1 {
				t.Fatalf("evidence %q", d.Evidence)
			}
			got := d.Evidence[0]
			if !tt.cut {
				if got != tt.line {
					t.Errorf("short line changed: %q", got)
				}
				return
			}
			body, ok := strings.CutSuffix(got, cutMark)
			if !ok || len(got) > maxLineBytes || len(got) < maxLineBytes-utf8.UTFMax || !strings.HasPrefix(tt.line, body) || !utf8.ValidString(got) {
				t.Errorf("cut line: %d bytes, valid %v, ends %q", len(got), utf8.ValidString(got), got[max(0, len(got)-8):])
			}
		})
	}
}

// A quiet jail must not keep its whole ring: Prune gives back the chunks of
// lines whose hits left findtime, and keeps those still in a window.
func TestEvidenceRingReleased(t *testing.T) {
	cfg := basic() // 3 hits in 10 s
	j := mustNew(t, cfg)
	long := []byte(strings.Repeat("x", 1000))
	held := func() (n int) {
		for _, c := range j.lines.chunks {
			if c != nil {
				n++
			}
		}
		return n
	}
	// 200 one-hit hosts at 0s fill ~13 chunks of 16 KiB.
	for i := range 200 {
		j.Add(hit(fmt.Sprintf("198.51.100.%d", i), 1), ts(0), long)
	}
	before := held()
	j.Add(hit("192.0.2.1", 1), ts(5*time.Second), []byte("first"))
	for i := range 20 { // push "first" out of the chunk being written
		j.Add(hit(fmt.Sprintf("203.0.113.%d", i), 1), ts(5*time.Second), long)
	}
	j.Prune(ts(12 * time.Second)) // lo = 2s: the 0s lines go, the 5s ones stay
	if after := held(); before < 10 || after > 3 {
		t.Errorf("chunks held: %d before Prune, %d after; want the 0s ones given back", before, after)
	}
	j.Add(hit("192.0.2.1", 1), ts(13*time.Second), []byte("second"))
	d, v := j.Add(hit("192.0.2.1", 1), ts(14*time.Second), []byte("third"))
	if v != Banned || !slices.Equal(d.Evidence, []string{"first", "second", "third"}) {
		t.Errorf("ban after Prune: %v, evidence %q", v, d.Evidence)
	}
}
