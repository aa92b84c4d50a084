package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/flowadmin"
	"github.com/peerjail/peerjail/internal/flowadmin/flowadmintest"
)

// flowSlashing is the flow-go fixture's slashing-consumer line
// (testdata/real/flow-go/v0.31+/zerolog-json, line 5) with its peer_id and
// time as parameters.
const flowSlashing = `{"level":"error","node_role":"access","node_id":"4a6f7264616e20536368616c6d00a875801849f2b5bea9e9d2c9603f00e5d533","module":"network_slashing_consumer","peer_id":"%s","misbehavior":"unauthorized_sender","message_type":"messages.BlockProposal","channel":"sync-committee","protocol":"publish","suspicious":true,"role":"access","sender_id":"f9237c896507b8d654165c36b61c9a3080e6dd042dea562a4a494fbd73133634","time":"%s","message":"potential slashable offense: sender role not authorized to send message on channel"}`

// benchPeer is the i-th made-up secp256k1 peer ID ("16Uiu2HA…", 53
// characters, base58) and its node ID.
func benchPeer(i int) (peer, node string) {
	const b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	var tail [45]byte
	for k, n := len(tail)-1, i; k >= 0; k-- {
		tail[k] = b58[n%58]
		n /= 58
	}
	return "16Uiu2HA" + string(tail[:]), fmt.Sprintf("%064x", i+1)
}

// BenchmarkFlowAdminBlocklistLatency is the time from the decisive line
// (an identity's third slashing-consumer line) being written to the log to
// the Flow node's blocklist holding the identity's node ID: the daemon in
// this process with the real flow-admin backend, a Flow admin server
// (flowadmintest) over loopback, the peer ID mapped with
// get-latest-identity. One identity per iteration, one at a time; p50 and
// p99 over b.N (run it with -benchtime 1000x).
func BenchmarkFlowAdminBlocklistLatency(b *testing.B) {
	srv := flowadmintest.New()
	defer srv.Close()
	n := b.N
	for i := range n {
		peer, node := benchPeer(i)
		srv.SetIdentity(peer, flowadmintest.Identity{NodeID: node, Role: "execution", Address: fmt.Sprintf("execution-%04d.example.org:3569", i)})
	}
	var (
		mu      sync.Mutex
		listed  = map[string]time.Time{}
		arrived = make(chan struct{}, 1)
	)
	srv.OnSet(func(list []string) {
		now := time.Now()
		mu.Lock()
		for _, id := range list {
			if _, ok := listed[id]; !ok {
				listed[id] = now
			}
		}
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	})

	dir := b.TempDir()
	log := filepath.Join(dir, "node.log")
	cfg := fmt.Sprintf("jails:\n  flow:\n    filter: flow-suspicious\n    key: id\n    source: {files: [%s]}\n    findtime: 10m\n    maxretry: 3\n    bantime: 1h\n    actions: [{type: flow-admin, url: '%s'}]\n", log, srv.URL())
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, Options{
		ConfigPath: filepath.Join(dir, "peerjail.yaml"), StatePath: filepath.Join(dir, "state.db"), SocketPath: filepath.Join(dir, "run", "peerjail.sock"),
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		NewFirewall:  func() (firewall.Firewall, error) { return firewall.NewFake(), nil },
		Notify:       func(string) {},
		Constructors: map[config.ActionType]action.Constructor{config.ActionFlowAdmin: flowadmin.New},
	})
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx) }()
	defer func() { cancel(); <-served }()

	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	line := func(peer string) string {
		return fmt.Sprintf(flowSlashing, peer, time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")) + "\n"
	}
	// Two lines of every identity first, all counted before timing starts.
	var pre strings.Builder
	for i := range n {
		peer, _ := benchPeer(i)
		pre.WriteString(line(peer))
		pre.WriteString(line(peer))
	}
	if _, err := f.WriteString(pre.String()); err != nil {
		b.Fatal(err)
	}
	c := control.Client{Path: filepath.Join(dir, "run", "peerjail.sock"), Timeout: 10 * time.Second}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		st, err := c.Status(ctx, "flow")
		if err == nil && st[0].TotalHits == int64(2*n) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the first %d lines not counted within a minute: %+v, %v", 2*n, st, err)
		}
	}

	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for i := range n {
		peer, node := benchPeer(i)
		l := line(peer)
		written := time.Now()
		if _, err := f.WriteString(l); err != nil {
			b.Fatal(err)
		}
		for {
			mu.Lock()
			at, ok := listed[node]
			mu.Unlock()
			if ok {
				lat = append(lat, at.Sub(written))
				break
			}
			select {
			case <-arrived:
			case <-time.After(30 * time.Second):
				b.Fatalf("node %d of %d not on the blocklist after 30s", i, n)
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	if got := len(srv.Blocklist()); got != n {
		b.Errorf("blocklist holds %d node IDs, want %d", got, n)
	}
}
