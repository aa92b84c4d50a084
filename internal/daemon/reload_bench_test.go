package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
)

// BenchmarkReload times one reload of an unchanged configuration (build the
// next generation, stop the running one, swap), and how long no generation
// takes lines from the readers (from the running one's stop to the next
// one's start); the readers go on reading into their buffers meanwhile.
func BenchmarkReload(b *testing.B) {
	dir := b.TempDir()
	o := testOptions(dir)
	o.NewFirewall = func() (firewall.Firewall, error) { return firewall.NewFake(), nil }
	d, err := Start(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Stop()
	var paused time.Duration
	b.ResetTimer()
	for b.Loop() {
		prev := d.current()
		if err := d.Reload(context.Background()); err != nil {
			b.Fatal(err)
		}
		paused += d.current().startedAt.Sub(prev.quitAt)
	}
	b.ReportMetric(float64(paused.Microseconds())/float64(b.N), "µs-paused/op")
}
