//go:build linux

package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
)

// BenchmarkAuditBanStorm measures what the audit trail costs a ban storm:
// 10,000 hosts each banned by its one failed login (maxretry 1), counted
// by a daemon with a fake firewall and a real, fsynced state file, once
// with the trail on and once off in every iteration, so that both see the
// same load on a shared machine. It reports the ingest rate of each, from
// the first line written to the last ban applied, and the trail's cost.
//
//	go test -run '^$' -bench BenchmarkAuditBanStorm -benchtime 10x ./internal/daemon/
func BenchmarkAuditBanStorm(b *testing.B) {
	const n = 10000
	var on, off time.Duration
	for i := range b.N {
		// Alternate which goes first, so neither always meets a cold cache.
		if i%2 == 0 {
			on += banStorm(b, n, "")
			off += banStorm(b, n, "audit: {enabled: false}\n")
		} else {
			off += banStorm(b, n, "audit: {enabled: false}\n")
			on += banStorm(b, n, "")
		}
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(n*b.N)/on.Seconds(), "lines/s-audit-on")
	b.ReportMetric(float64(n*b.N)/off.Seconds(), "lines/s-audit-off")
	b.ReportMetric(100*(on.Seconds()-off.Seconds())/off.Seconds(), "%-cost")
}

// banStorm starts a daemon whose configuration begins with section, bans
// n hosts and returns how long it took.
func banStorm(b *testing.B, n int, section string) time.Duration {
	b.StopTimer()
	defer b.StartTimer()
	dir := b.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o600)
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(section+fmt.Sprintf(fullDiskConfig, log)), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fw := firewall.NewFake()
	d, err := Start(ctx, Options{
		ConfigPath: filepath.Join(dir, "peerjail.yaml"), StatePath: filepath.Join(dir, "state.db"),
		SocketPath: filepath.Join(dir, "run", "peerjail.sock"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewFirewall: func() (firewall.Firewall, error) { return fw, nil }, Notify: func(string) {},
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	writeStorm(b, log, n)
	for stormBanned(b, d) < int64(n) {
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	if err := d.Stop(); err != nil {
		b.Fatal(err)
	}
	return took
}

// writeStorm appends one failed login of each of n hosts.
func writeStorm(tb testing.TB, path string, n int) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	now := time.Now().Format(time.Stamp)
	for i := range n {
		fmt.Fprintf(w, "%s bastion sshd[1]: Failed password for root from 198.18.%d.%d port 4000 ssh2\n", now, i/250, i%250+1)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
}

// stormBanned reads the bans applied so far from their counter: a status
// call would list every ban, costing the storm more than the trail does.
func stormBanned(_ testing.TB, d *Daemon) int64 {
	return int64(testutil.ToFloat64(d.m.decisions.WithLabelValues("ssh", jail.ActionBan.String())))
}
