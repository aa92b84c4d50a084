package rematch

import (
	"bufio"
	"bytes"
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

// peerStatus is the stock libp2p-peer-status filter's first pattern as the
// filter compiles it (<PREFIX> taken off, <ID> and <HOST> expanded): the
// pattern a libp2p replay spends its matching time in.
const peerStatus = `^(?:\d{4}-\d\d-\d\dT\S+[\t ]+(?:\x1b\[[\d;]*m)?[A-Za-z]+(?:\x1b\[0m)?[\t ]+canonical-log[\t ]+\S+[\t ]+CANONICAL_PEER_STATUS: peer=(?:""|(?P<id>[^\s"',;]+))? addr=(?P<host>\[[0-9A-Fa-f:.%]+\](?::\d{1,5})?|/(?:ip[46]|dns[46]?|dnsaddr|unix)/[^\s/]+(?:/[^\s/]+)*|[0-9A-Fa-f:.]*[0-9A-Fa-f][0-9A-Fa-f:.]*)(?:\s|$))`

// gateMessages returns the messages (the text after the relay's prefix)
// of the sample's lines that hold the libp2p filter's gate: the lines the
// filter runs peerStatus on.
func gateMessages(b *testing.B) [][]byte {
	var out [][]byte
	for _, l := range benchLines(b) {
		if !bytes.Contains(l, []byte("CANONICAL_PEER_STATUS")) {
			continue
		}
		if i := bytes.Index(l, []byte("]: ")); i >= 0 {
			l = l[i+3:]
		}
		out = append(out, l)
	}
	return out
}

// BenchmarkPeerStatus times peerStatus on the lines the filter runs it on,
// with the submatches written into the caller's memory as the filter does.
func BenchmarkPeerStatus(b *testing.B) {
	msgs := gateMessages(b)
	re := regexp.MustCompile(peerStatus)
	m := New(re)
	b.Run("rematch", func(b *testing.B) {
		b.ReportAllocs()
		var room [8]int
		for n := 0; b.Loop(); n++ {
			m.AppendSubmatchIndex(room[:0], msgs[n%len(msgs)])
		}
	})
	b.Run("regexp", func(b *testing.B) {
		b.ReportAllocs()
		for n := 0; b.Loop(); n++ {
			re.FindSubmatchIndex(msgs[n%len(msgs)])
		}
	})
}

// BenchmarkScratch compares BenchmarkPeerStatus's matches with the
// Matcher's pool and with the caller's Scratch.
func BenchmarkScratch(b *testing.B) {
	msgs := gateMessages(b)
	m := New(regexp.MustCompile(peerStatus))
	var room [8]int
	b.Run("pool", func(b *testing.B) {
		for n := 0; b.Loop(); n++ {
			m.AppendSubmatchIndexWith(nil, room[:0], msgs[n%len(msgs)])
		}
	})
	b.Run("scratch", func(b *testing.B) {
		var sc Scratch
		for n := 0; b.Loop(); n++ {
			m.AppendSubmatchIndexWith(&sc, room[:0], msgs[n%len(msgs)])
		}
	})
}
