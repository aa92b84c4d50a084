package filter

import (
	"bytes"
	"testing"
)

// hasCircuit is bytes.Contains(tok, circuit) for any token.
func TestHasCircuit(t *testing.T) {
	for _, tok := range []string{
		"", "-", "/p2p-circuit", "p2p-circuit", "/p2p-circui", "x/p2p-circuit", "/p2p--circuit",
		"/ip4/203.0.113.66/tcp/4001/p2p/12D3KooWRelay/p2p-circuit",
		"/ip6/2001:db8::66/udp/4001/quic-v1/p2p/12D3KooWRelay/p2p-circuit/p2p/12D3KooWB",
		"/ip4/1.2.3.4/udp/1/webrtc-direct/certhash/uEi-x/p2p-circuit",
		"/ip4/1.2.3.4/udp/1/quic-v1/webtransport/certhash/uEi-x-",
		"-/p2p-circuit-", "/p2p-/p2p-circuit",
	} {
		want := bytes.Contains([]byte(tok), circuit)
		if got := hasCircuit([]byte(tok)); got != want {
			t.Errorf("hasCircuit(%q) = %v, bytes.Contains says %v", tok, got, want)
		}
	}
}

func FuzzHasCircuit(f *testing.F) {
	f.Add("/ip4/203.0.113.66/tcp/4001/p2p/R/p2p-circuit")
	f.Add("/ip4/1.2.3.4/udp/1/quic-v1")
	f.Fuzz(func(t *testing.T, tok string) {
		if got, want := hasCircuit([]byte(tok)), bytes.Contains([]byte(tok), circuit); got != want {
			t.Fatalf("hasCircuit(%q) = %v, bytes.Contains says %v", tok, got, want)
		}
	})
}

// BenchmarkHasCircuit compares hasCircuit with the bytes.Contains it
// replaces on multiaddrs of a libp2p corpus.
func BenchmarkHasCircuit(b *testing.B) {
	toks := [][]byte{
		[]byte("/ip4/222.244.49.102/tcp/30303"),
		[]byte("/ip4/188.154.128.117/udp/4001/quic-v1"),
		[]byte("/ip6/2600:3c00:e16:59ca:f7cf:5e9d:7a90:44d1/udp/4001/quic-v1/webtransport/certhash/uEievvhT2mcd4cBjJ8H2kFELuD7iU_jziR5xRVgRG2J1vW/certhash/uEigQdAWn7BtyWTUXrQ17bpPjRRQgbTyghVSvHHHiCFUG8"),
		[]byte("/ip4/211.238.231.131/udp/53378/webrtc-direct/certhash/uEimmYW52SLdoLEaHeccUzg17bbsdrQAec5ENcxcHeRuv1"),
		[]byte("/ip4/203.0.113.66/tcp/4001/p2p/12D3KooWRelay/p2p-circuit"),
	}
	b.Run("contains", func(b *testing.B) {
		for n := 0; b.Loop(); n++ {
			bytes.Contains(toks[n%len(toks)], circuit)
		}
	})
	b.Run("hasCircuit", func(b *testing.B) {
		for n := 0; b.Loop(); n++ {
			hasCircuit(toks[n%len(toks)])
		}
	})
}
