package rematch

import (
	"bufio"
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
