//go:build linux

package daemon

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
)

// identConfig counts go-libp2p's peer status lines per peer ID.
const identConfig = `jails:
  p2p:
    filter: libp2p-peer-status
    key: id
    source: {files: [%s]}
    maxretry: 3
    findtime: 10m
    bantime: 1h
    ignoreself: false
`

// Peers of the go-libp2p fixture (testdata/real/libp2p/v0.52.0): one that
// connected directly, one that came through a circuit relay.
const (
	directPeer  = "12D3KooWMBnErYU6SrccGrYebrCJofBv7ZfGbjpZFoMp4NLj2A7S"
	relayedPeer = "12D3KooWLRKbBDUaas6cagkvzvCqb4fpNFHxm11oSPXx6qp3umcn"
	relayID     = "12D3KooWSXWVF9ujrY5cVjmxFgfB35tYgRB47DUGR21bqx5g9rPS"
)

// libp2pLines are go-libp2p's own slog lines from the fixture: a direct
// inbound connection and a relayed one, whose addr= names the relay.
func libp2pLines(t *testing.T) (direct, relayed string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "real", "libp2p", "v0.52.0", "console", "raw.log"))
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(b)) {
		l = strings.TrimSuffix(l, "\n")
		switch {
		case direct == "" && strings.Contains(l, " peer="+directPeer+" addr=/ip4/127.0.0.2/tcp/44215 "):
			direct = l
		case relayed == "" && strings.Contains(l, " peer="+relayedPeer+" addr=/ip4/127.0.0.5/tcp/35693/p2p/"+relayID+"/p2p-circuit "):
			relayed = l
		}
	}
	if direct == "" || relayed == "" {
		t.Fatal("the go-libp2p fixture lacks its direct or relayed connection line")
	}
	return direct, relayed
}

// seenAt is a fixture line with its time now and the loopback address the
// fixture's peer used replaced by addr (loopback is never banned); the rest
// is go-libp2p's own text.
func seenAt(line, loopback, addr string) string {
	if !strings.Contains(line, loopback) {
		panic("fixture line lacks " + loopback)
	}
	line = strings.Replace(line, loopback, addr, 1)
	const key = "time="
	i := strings.Index(line, key) + len(key)
	j := i + strings.IndexByte(line[i:], ' ')
	return line[:i] + time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00") + line[j:]
}

// Correlation in the kernel: a peer ID seen at two addresses fails three
// times and is banned with both; a third address it shows up from while
// banned joins the ban; the circuit relay's address it also came through,
// and that of a relayed peer banned by its ID alone, are never elements.
func TestKernelIdentityBanCorrelatesAddresses(t *testing.T) {
	t.Parallel()
	env := newKernelEnv(t)
	mustWrite(t, env.cfg, fmt.Sprintf(identConfig, env.logFile))
	kd := env.start(t)
	direct, relayed := libp2pLines(t)
	const peerAt = "/ip4/127.0.0.2/tcp/44215"
	const relayAt = "/ip4/127.0.0.5/tcp/35693"
	env.appendLines(t,
		seenAt(direct, peerAt, "/ip4/198.51.100.21/tcp/44215"),
		seenAt(direct, peerAt, "/ip4/203.0.113.22/tcp/4001"),
		seenAt(direct, peerAt, "/ip4/198.51.100.21/tcp/44215"),
		seenAt(relayed, relayAt, "/ip4/198.51.100.50/tcp/35693"),
		seenAt(relayed, relayAt, "/ip4/198.51.100.50/tcp/35693"),
		seenAt(relayed, relayAt, "/ip4/198.51.100.50/tcp/35693"),
	)
	env.waitElement(t, "p2p 198.51.100.21/32")
	env.waitElement(t, "p2p 203.0.113.22/32")
	c := env.client()
	ctx := context.Background()
	waitFor(t, "both peers banned", func() bool {
		st, err := c.Status(ctx, "p2p")
		return err == nil && len(st[0].Banned) == 2
	})

	// While banned: a new address, and the relay the direct peer also
	// uses (a relayed connection's addr= is the relay's).
	relayedDirect := strings.Replace(seenAt(relayed, relayAt, "/ip4/198.51.100.50/tcp/35693"), "peer="+relayedPeer, "peer="+directPeer, 1)
	env.appendLines(t, seenAt(direct, peerAt, "/ip6/2001:db8:5::7/tcp/4001"), relayedDirect)
	env.waitElement(t, "p2p 2001:db8:5::/64")
	// A line after both, to know the daemon has read them.
	env.appendLines(t, seenAt(direct, peerAt, "/ip4/198.51.100.21/tcp/44215"))
	waitFor(t, "the last line counted", func() bool {
		st, err := c.Status(ctx, "p2p")
		return err == nil && st[0].TotalHits == 9
	})

	want := []string{"p2p 198.51.100.21/32", "p2p 2001:db8:5::/64", "p2p 203.0.113.22/32"}
	if got := slices.Sorted(maps.Keys(env.elements(t))); !slices.Equal(got, want) {
		t.Errorf("kernel elements %v, want %v (never the relay's 198.51.100.50)", got, want)
	}
	// The nft command agrees with the backend's listing.
	if v4 := env.nftSet(t, "p2p_v4"); len(v4) != 2 {
		t.Errorf("nft list set p2p_v4: %v, want the two IPv4 addresses", v4)
	}
	bans := bannedIn(t, c, "p2p")
	if b := bans[directPeer]; b.Enforcement != control.Enforced || !slices.Equal(slices.Sorted(slices.Values(b.Addrs)), []string{"198.51.100.21", "2001:db8:5::/64", "203.0.113.22"}) {
		t.Errorf("status of %s: %+v; want enforced with its three addresses", directPeer, b)
	}
	if b, ok := bans[relayedPeer]; !ok || len(b.Addrs) != 0 {
		t.Errorf("status of the relayed %s: %+v (banned %v); want banned by its ID, no address", relayedPeer, b, ok)
	}
	kd.stop(t)
	env.checkOther(t)
}
