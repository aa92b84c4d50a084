package timestamp

import (
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/logprefix"
)

// prefixOf is Hit.Prefix as a filter reports it.
func prefixOf(line []byte) int {
	var p logprefix.Prefix
	if !logprefix.ParseInto(line, &p) {
		return -1
	}
	return p.Message + 1
}

// recentPairs are a line and the next one, where the next one begins with
// the first one's syslog stamp and differs right after it, where a memo
// that kept too few bytes would answer wrong.
var recentPairs = [][2]string{
	{"Jul 27 00:00:00 ipfsNode ipfs[46133]: 2024-07-27T00:00:00.014Z\tINFO\tx", "Jul 27 00:00:00 ipfsNode ipfs[46133]: 2024-07-27T00:00:00.020Z\tINFO\ty"},
	{"Jul 27 00:00:00 bastion sshd[1]: Failed password", "Jul 27 00:00:00.123456 bastion sshd[1]: Failed password"},
	{"Jul 27 00:00:00 bastion sshd[1]: Failed password", "Jul 27 00:00:001 bastion sshd[1]: Failed password"},
	{"Jul 27 00:00:00 bastion sshd[1]: Failed password", "Jul 27 00:00:00,5 bastion sshd[1]: Failed password"},
	{"Jul 27 00:00:00 bastion sshd[1]: Failed password", "Jul 27 00:00:00"},
	{"Jul 27 00:00:00 bastion sshd[1]: Failed password", "Jul 27 00:00:00 "},
	{"Jul 27 00:00:00.5 bastion sshd[1]: m", "Jul 27 00:00:00.55 bastion sshd[1]: m"},
	{"Jul 27 00:00:00.5 bastion sshd[1]: m", "Jul 27 00:00:00.5"},
	{"Jul 27 00:00:00. bastion sshd[1]: m", "Jul 27 00:00:00.7 bastion sshd[1]: m"},
	{"Jul 27 00:00:00 a", "Jul 27 00:00:00 ipfsNode ipfs[46133]: 2024-07-27T00:00:00.014Z x"},
	{"Jul 27 00:00:00 ipfsNode ipfs[46133]: 2024-07-27T00:00:00.014Z x", "Jul 27 00:00:00 a"},
	{"Jul 27 00:00:00 a", "Jul 27 00:00:01 a"},
	{"Feb 29 00:00:00 a", "Feb 29 00:00:00 b"},
	{"Jul  7 00:00:00 a", "Jul  7 00:00:00 a"},
	{"Jul 7 00:00:00 a", "Jul 7 00:00:00 a"},
	{"<13>Jul 27 00:00:00 a", "<13>Jul 27 00:00:00.5 a"},
	{"Jul 27 00:00:00.1234567890123456789012 a", "Jul 27 00:00:00.1234567890123456789012 a"},
	// The program's ISO stamp repeats its date and time of day.
	{"Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:00.014Z x", "Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:00.5+02:00 x"},
	{"Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:00.014Z x", "Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:001 x"},
	{"Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:00.014Z x", "Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:00"},
	{"Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:00.014Z x", "Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:0"},
	{"Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:00.014Z x", "Jul 27 00:00:00 n p[1]: [2024-07-27T00:00:00.9] x"},
	{"Jul 27 00:00:00 n p[1]: 2024-07-27 00:00:00,014 x", "Jul 27 00:00:00 n p[1]: 2024-07-27 00:00:00 UTC x"},
	{"Jul 27 00:00:00 n p[1]: 2024/07/27 00:00:00.014 x", "Jul 27 00:00:00 n p[1]: 2024/07/27 00:00:00.014 x"},
	{"Jul 27 00:00:00 n p[1]: 2024-02-30T00:00:00.014Z x", "Jul 27 00:00:00 n p[1]: 2024-02-30T00:00:00.014Z x"},
	{"Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:00.014Z x", "Jul 27 00:00:00 n p[1]:2024-07-27T00:00:00.014Z x"},
	{"Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:00.014Z x", "2024-07-27T00:00:00.014Z n p[1]: 2024-07-27T00:00:00.014Z x"},
}

// TestFindRecent checks that FindRecent finds what FindAfter finds in each
// line of a sequence, however the memo was left by the line before.
func TestFindRecent(t *testing.T) {
	d := newTestDetector(t, "")
	var r Recent
	for _, pair := range recentPairs {
		for _, s := range pair {
			line := []byte(s)
			want, wantOK := d.FindAfter(line, prefixOf(line))
			got, ok := d.FindRecent(line, prefixOf(line), &r)
			if !got.Equal(want) || ok != wantOK {
				t.Errorf("after %q: FindRecent(%q) = %v %v, FindAfter %v %v", pair[0], s, got, ok, want, wantOK)
			}
		}
	}
	// The memo is used: a line that repeats the last one's stamp gets it.
	line := []byte("Jul 27 00:00:00.123456 bastion sshd[1]: m")
	d.FindRecent(line, prefixOf(line), &r)
	if r.n != len("Jul 27 00:00:00.123456 b") {
		t.Errorf("after %q the memo holds %q", line, r.text[:r.n])
	}
	if got, ok := d.FindRecent(line, prefixOf(line), &r); !ok || got.Format(time.RFC3339Nano) != "2024-07-27T00:00:00.123456Z" {
		t.Errorf("FindRecent(%q) from the memo = %v %v", line, got, ok)
	}
	line = []byte("Jul 27 00:00:00 n p[1]: 2024-07-27T00:00:01.5+02:00 x")
	d.FindRecent(line, prefixOf(line), &r)
	if !r.isoOK || string(r.iso[:]) != "2024-07-27T00:00:01" {
		t.Errorf("after %q the memo holds %q", line, r.iso[:])
	}
	if got, ok := d.FindRecent(line, prefixOf(line), &r); !ok || got.Format(time.RFC3339Nano) != "2024-07-26T22:00:01.5Z" {
		t.Errorf("FindRecent(%q) from the memo = %v %v", line, got, ok)
	}
}

// FuzzFindRecent checks that a Recent left by any line changes nothing in
// what the next line's time is.
func FuzzFindRecent(f *testing.F) {
	for _, pair := range recentPairs {
		f.Add([]byte(pair[0]), []byte(pair[1]))
	}
	for i, line := range fuzzLines {
		f.Add([]byte(fuzzLines[(i+1)%len(fuzzLines)]), []byte(line))
	}
	f.Fuzz(func(t *testing.T, first, next []byte) {
		for _, pattern := range []string{"", "syslog", "iso8601"} {
			d := newTestDetector(t, pattern)
			var r Recent
			for _, line := range [][]byte{first, next, next} {
				want, wantOK := d.FindAfter(line, prefixOf(line))
				got, ok := d.FindRecent(line, prefixOf(line), &r)
				if !got.Equal(want) || ok != wantOK || got.Location() != want.Location() {
					t.Fatalf("%q after %q: FindRecent = %v %v, FindAfter %v %v", line, first, got, ok, want, wantOK)
				}
			}
		}
	})
}

// BenchmarkFindRecent is the pipeline's case: FindAfter with the prefix
// a filter found, without and with the memo of recent lines.
func BenchmarkFindRecent(b *testing.B) {
	lines := readLines(b, "libp2p.log")
	prefix := make([]int, len(lines))
	for i, l := range lines {
		prefix[i] = prefixOf(l)
	}
	d := newTestDetector(b, "")
	b.Run("FindAfter", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			d.FindAfter(lines[i%len(lines)], prefix[i%len(lines)])
		}
	})
	b.Run("FindRecent", func(b *testing.B) {
		var r Recent
		for i := 0; b.Loop(); i++ {
			d.FindRecent(lines[i%len(lines)], prefix[i%len(lines)], &r)
		}
	})
}
