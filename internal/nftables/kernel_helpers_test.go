//go:build linux

package nftables

import (
	"encoding/json"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/netnstest"
)

// kernelFirewall returns the nftables backend working inside a fresh
// network namespace, or skips the test with the reason.
func kernelFirewall(t *testing.T, opts ...Option) (firewall.Firewall, *netnstest.NS) {
	t.Helper()
	ns := netnstest.New(t)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	fw, err := New(append([]Option{WithNetNS(ns.Open(t)), WithLogger(log)}, opts...)...)
	if err != nil {
		t.Skipf("needs root and nftables: %v", err)
	}
	t.Cleanup(func() { _ = fw.Close() })
	return fw, ns
}

// requireNft skips the test unless the nft command is there to cross-check.
func requireNft(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs root and nftables: the nft command (Debian package nftables) is not installed")
	}
}

// nftElem is an element as `nft -j` shows it, in seconds.
type nftElem struct{ timeout, expires int }

// nftSet reads a set with `nft -j list set` and returns its elements by prefix.
func nftSet(t *testing.T, ns *netnstest.NS, set string) map[netip.Prefix]nftElem {
	t.Helper()
	out := ns.MustExec(t, "nft", "-j", "list", "set", "inet", firewall.Table, set)
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []json.RawMessage `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("nft -j list set %s: %v\n%s", set, err, out)
	}
	got := map[netip.Prefix]nftElem{}
	for _, item := range doc.Nftables {
		if item.Set == nil {
			continue
		}
		for _, raw := range item.Set.Elem {
			p, e := parseNftElem(t, raw)
			got[p] = e
		}
	}
	return got
}

func parseNftElem(t *testing.T, raw json.RawMessage) (netip.Prefix, nftElem) {
	t.Helper()
	var wrapped struct {
		Elem *struct {
			Val     json.RawMessage `json:"val"`
			Timeout int             `json:"timeout"`
			Expires int             `json:"expires"`
		} `json:"elem"`
	}
	if err := json.Unmarshal(raw, &wrapped); err == nil && wrapped.Elem != nil {
		return parseNftVal(t, wrapped.Elem.Val), nftElem{wrapped.Elem.Timeout, wrapped.Elem.Expires}
	}
	return parseNftVal(t, raw), nftElem{}
}

func parseNftVal(t *testing.T, raw json.RawMessage) netip.Prefix {
	t.Helper()
	var s string
	if json.Unmarshal(raw, &s) == nil {
		a := netip.MustParseAddr(s)
		return netip.PrefixFrom(a, a.BitLen())
	}
	var p struct {
		Prefix struct {
			Addr string `json:"addr"`
			Len  int    `json:"len"`
		} `json:"prefix"`
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.Prefix.Addr == "" {
		t.Fatalf("unexpected nft element %s", raw)
	}
	return netip.PrefixFrom(netip.MustParseAddr(p.Prefix.Addr), p.Prefix.Len)
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

// stripExpires drops the "expires" counters, which tick between listings.
func stripExpires(s string) string {
	return expiresRe.ReplaceAllString(s, "")
}

var expiresRe = regexp.MustCompile(` expires [0-9hms]+`)
