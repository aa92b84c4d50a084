package rematch

import (
	"bufio"
	"encoding/binary"
	"os"
	"regexp"
	"testing"
)

func benchLines(b *testing.B) [][]byte {
	f, err := os.Open("testdata/lines.log")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

// BenchmarkStock compares the fast path with regexp on the stock filters'
// shapes, over every line of the sample (matching and not).
func BenchmarkStock(b *testing.B) {
	lines := benchLines(b)
	for i, p := range stockLike[:3] {
		re := regexp.MustCompile(p)
		m := New(re)
		b.Run("rematch/"+string(rune('0'+i)), func(b *testing.B) {
			b.ReportAllocs()
			for n := 0; b.Loop(); n++ {
				m.FindSubmatchIndex(lines[n%len(lines)])
			}
		})
		b.Run("regexp/"+string(rune('0'+i)), func(b *testing.B) {
			b.ReportAllocs()
			for n := 0; b.Loop(); n++ {
				re.FindSubmatchIndex(lines[n%len(lines)])
			}
		})
	}
}

// isASCIIBy8 is isASCII as it was, eight bytes at a time, for
// BenchmarkIsASCII to compare with.
func isASCIIBy8(b []byte) bool {
	var or uint64
	for len(b) >= 8 {
		or |= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	for _, c := range b {
		or |= uint64(c)
	}
	return or&0x8080808080808080 == 0
}

// BenchmarkIsASCII times the check every line takes before the fast path,
// on the sample's lines.
func BenchmarkIsASCII(b *testing.B) {
	lines := benchLines(b)
	for _, c := range []struct {
		name string
		f    func([]byte) bool
	}{{"by8", isASCIIBy8}, {"by32", isASCII}} {
		b.Run(c.name, func(b *testing.B) {
			for n := 0; b.Loop(); n++ {
				c.f(lines[n%len(lines)])
			}
		})
	}
}
