package flowadmin_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/flowadmin"
	"github.com/peerjail/peerjail/internal/flowadmin/flowadmintest"
	"github.com/peerjail/peerjail/internal/jail"
)

// BenchmarkApplyBan is one ban per Apply against the test server over
// loopback HTTP: get-config, merge, set-config; the list grows by one node
// ID per ban, as it would on a node under attack. It reports the latency
// percentiles of those Applys (go test -bench ApplyBan -benchtime 1000x).
func BenchmarkApplyBan(b *testing.B) {
	s := flowadmintest.New()
	defer s.Close()
	s.SetBlocklist(strings.Repeat("cd", 32), strings.Repeat("ef", 32)) // the operator's own
	a, err := flowadmin.NewAction(config.ActionSpec{URL: s.URL(), Timeout: 5 * time.Second}, action.Env{Jail: "flow"})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	lat := make([]time.Duration, 0, b.N)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		id := nodeN(i)
		i++
		start := time.Now()
		if err := a.Apply(ctx, []jail.Decision{ban(id)}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs/ban")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs/ban")
	b.ReportMetric(float64(len(s.Blocklist())), "ids-at-end")
}

// nodeN is a distinct node ID for any n >= 0.
func nodeN(n int) string {
	const hex = "0123456789abcdef"
	b := []byte(node(0))
	for i := len(b) - 1; n > 0; i-- {
		b[i] = hex[n%16]
		n /= 16
	}
	return string(b)
}
