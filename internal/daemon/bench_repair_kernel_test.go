//go:build linux

package daemon

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkRepairAfterFlush times, over -benchtime trials, how long after
// `nft flush ruleset` every ban is enforced again: from the start of the
// nft command (about 10 ms of it is the command's own start) until the
// repair's transaction has committed, with 10 and 10,000 active bans; the kernel's listing afterwards
// checks that it holds them all. mode=watch is the daemon as it runs
// (nftables events, and a verification every 10 s); mode=period-1s has no
// events and verifies every second, for comparison. cpu-ms is the CPU time
// of the whole process (user and system: the kernel's work for the netlink
// calls counts as system time) per trial, idle time between the flush and
// the verification included.
//
//	go test -run '^$' -bench RepairAfterFlush -benchtime 10x ./internal/daemon/
func BenchmarkRepairAfterFlush(b *testing.B) {
	for _, mode := range []string{"watch", "period-1s"} {
		for _, n := range []int{10, 10000} {
			b.Run(fmt.Sprintf("mode=%s/bans=%d", mode, n), func(b *testing.B) { benchRepair(b, n, mode == "watch") })
		}
	}
}

func benchRepair(b *testing.B, n int, watch bool) {
	env := newKernelEnv(b)
	env.reg = prometheus.NewRegistry()
	seedBans(b, env.statePath(), n)
	kd := env.start(b)
	kd.d.enf.listing.Wait()
	if watch {
		kd.d.enf.startVerifying(defaultVerify)
	} else {
		kd.d.enf.startVerifying(verifyOptions{every: time.Second})
	}
	if got := len(env.elements(b)); got != n {
		b.Fatalf("%d elements at start, want %d", got, n)
	}
	repairs := func() float64 { return metricValue(b, env.reg, "peerjail_firewall_repairs_total", "what", "table") }
	var took []time.Duration
	var cpu []time.Duration
	for b.Loop() {
		before := repairs()
		u0 := rusage(b)
		start := time.Now()
		env.ns.MustExec(b, "nft", "flush", "ruleset")
		for {
			// The repair is counted before it is made, under the lock that
			// counts waits for: read in this order, the counts are the
			// repair's.
			repaired := repairs() > before
			enforced, pending := kd.d.enf.counts("ssh")
			if repaired && enforced == n && pending == 0 {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("not repaired after 30 s: %d enforced, %d pending", enforced, pending)
			}
			time.Sleep(time.Millisecond)
		}
		took = append(took, time.Since(start))
		cpu = append(cpu, rusage(b)-u0)
		b.StopTimer()
		if got := len(env.elements(b)); got != n {
			b.Fatalf("%d elements after the repair, want %d", got, n)
		}
		time.Sleep(500 * time.Millisecond) // the kernel frees the flushed elements
		b.StartTimer()
	}
	report(b, took, "ms")
	report(b, cpu, "cpu-ms")
}

// report prints min, median and max of ds in milliseconds.
func report(b *testing.B, ds []time.Duration, unit string) {
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	b.ReportMetric(ms(ds[0]), "min-"+unit)
	b.ReportMetric(ms(ds[len(ds)/2]), "median-"+unit)
	b.ReportMetric(ms(ds[len(ds)-1]), "max-"+unit)
}

// rusage is the CPU time (user and system) the process has used.
func rusage(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
