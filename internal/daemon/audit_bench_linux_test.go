//go:build linux

package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
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
	var on, off, onCPU, offCPU time.Duration
	for i := range b.N {
		// Alternate which goes first, so neither always meets a cold cache.
		for j := range 2 {
			if (i+j)%2 == 0 {
				w, c := banStorm(b, n, "")
				on, onCPU = on+w, onCPU+c
			} else {
				w, c := banStorm(b, n, "audit: {enabled: false}\n")
				off, offCPU = off+w, offCPU+c
			}
		}
	}
	lines := float64(n * b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(lines/on.Seconds(), "lines/s-audit-on")
	b.ReportMetric(lines/off.Seconds(), "lines/s-audit-off")
	// CPU time is the steadier figure on a shared machine: wall time also
	// counts what other processes took.
	b.ReportMetric(float64(onCPU.Nanoseconds())/lines, "cpu-ns/line-audit-on")
	b.ReportMetric(float64(offCPU.Nanoseconds())/lines, "cpu-ns/line-audit-off")
}

// cpuTime is the process's user and system time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// banStorm starts a daemon whose configuration begins with section, bans
// n hosts and returns how long it took, and the CPU time it used.
func banStorm(b *testing.B, n int, section string) (wall, cpu time.Duration) {
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
	start, startCPU := time.Now(), cpuTime(b)
	writeFailures(b, log, n)
	for stormBanned(b, d) < int64(n) {
		time.Sleep(time.Millisecond)
	}
	wall, cpu = time.Since(start), cpuTime(b)-startCPU
	if err := d.Stop(); err != nil {
		b.Fatal(err)
	}
	return wall, cpu
}

// stormBanned reads the bans applied so far from their counter: a status
// call would list every ban, costing the storm more than the trail does.
func stormBanned(_ testing.TB, d *Daemon) int64 {
	return int64(testutil.ToFloat64(d.m.decisions.WithLabelValues("ssh", jail.ActionBan.String())))
}
