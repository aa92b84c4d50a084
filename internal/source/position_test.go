package source

import (
	"errors"
	"hash/crc32"
	"testing"
)

func TestParseFilePos(t *testing.T) {
	tests := []struct {
		in   string
		want filePos
		err  bool
	}{
		{"2049:131:4096:1a2b", filePos{id: fileID{2049, 131}, off: 4096, sum: 0x1a2b, hasSum: true}, false},
		{"2049:131:0", filePos{id: fileID{2049, 131}}, false},
		{"18446744073709551615:1:9223372036854775807:ffffffff",
			filePos{id: fileID{1<<64 - 1, 1}, off: 1<<63 - 1, sum: 1<<32 - 1, hasSum: true}, false},
		{"", filePos{}, true},
		{"1:2", filePos{}, true},
		{"1:2:-5", filePos{}, true},
		{"1:2:3:4:5", filePos{}, true},
		{"1:2:3:100000000", filePos{}, true},
		{"a:2:3", filePos{}, true},
		{"1:2:3:", filePos{}, true},
		{"+1:2:3", filePos{}, true},
	}
	for _, tt := range tests {
		got, err := parseFilePos(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseFilePos(%q) = %+v, %v", tt.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrBadPosition) {
			t.Errorf("parseFilePos(%q): %v is not ErrBadPosition", tt.in, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

// TestSumBefore: the checksum of the bytes before an offset is the same
// whether they lie in one chunk or straddle the previous one.
func TestSumBefore(t *testing.T) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_0123456789abcdefghij")
	for split := 0; split <= len(data); split++ {
		prev := keepTail(nil, data[:split])
		for e := 0; e <= len(data)-split; e++ {
			end := split + e
			want := crc32.Checksum(data[max(0, end-fpLen):end], castagnoli)
			if got := sumBefore(prev, data[split:], e); got != want {
				t.Fatalf("split %d, end %d: %x, want %x", split, end, got, want)
			}
		}
	}
}

func FuzzParseFilePos(f *testing.F) {
	for _, s := range []string{"2049:131:4096:1a2b", "1:2:3", "", "::", "1:2:-1", "1:2:3:fffffffff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseFilePos(s)
		if err != nil {
			return
		}
		if p.off < 0 {
			t.Fatalf("%q: negative offset", s)
		}
		q, err := parseFilePos(p.String())
		if err != nil || q != p {
			t.Fatalf("%q: round trip %q gives %+v, %v", s, p.String(), q, err)
		}
	})
}
