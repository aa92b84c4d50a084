//go:build linux

package nftables

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/netnstest"
)

// BenchmarkApply1000 times one Apply of 1,000 new bans (half IPv4, half
// IPv6 /64) in a namespace's kernel, with the set empty or already holding
// 10,000 bans; the bans are removed again outside the timing.
func BenchmarkApply1000(b *testing.B) {
	for _, present := range []int{0, 10000} {
		b.Run(fmt.Sprintf("present=%d", present), func(b *testing.B) {
			ns := netnstest.New(b)
			fw, err := New(WithNetNS(ns.Open(b)))
			if err != nil {
				b.Skipf("needs root and nftables: %v", err)
			}
			if err := fw.Setup(ctx, []firewall.Jail{{Name: "j"}}); err != nil {
				b.Fatal(err)
			}
			if err := fw.Apply(ctx, benchChanges(0, present, true)); err != nil {
				b.Fatal(err)
			}
			adds, removes := benchChanges(present, 1000, true), benchChanges(present, 1000, false)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := fw.Apply(ctx, adds); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := fw.Apply(ctx, removes); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

func benchChanges(from, n int, add bool) []firewall.Change {
	out := make([]firewall.Change, 0, n)
	for i := from; i < from+n; i++ {
		p := fmt.Sprintf("10.%d.%d.1/32", i/256%256, i%256)
		if i%2 == 1 {
			p = fmt.Sprintf("2001:db8:%x:%x::/64", i/65536, i%65536)
		}
		c := firewall.Change{Jail: "j", Prefix: mustPrefix(p), Add: add}
		if add {
			c.Timeout = time.Hour
		}
		out = append(out, c)
	}
	return out
}

// BenchmarkVerify times one Verify of n bans (half IPv4, half IPv6 /64)
// that the kernel holds: what each periodic verification costs. cpu-ms is
// the process's CPU time (user and system, where the kernel's listing
// counts) per Verify.
//
//	go test -run '^$' -bench Verify ./internal/nftables/
func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("bans=%d", n), func(b *testing.B) {
			ns := netnstest.New(b)
			fw, err := New(WithNetNS(ns.Open(b)))
			if err != nil {
				b.Skipf("needs root and nftables: %v", err)
			}
			jails := []firewall.Jail{{Name: "j"}}
			if err := fw.Setup(ctx, jails); err != nil {
				b.Fatal(err)
			}
			bans := benchChanges(0, n, true)
			if err := fw.Restore(ctx, bans); err != nil {
				b.Fatal(err)
			}
			cpu0 := cpuTime(b)
			for b.Loop() {
				d, err := fw.Verify(ctx, jails, bans)
				if err != nil || !d.None() {
					b.Fatalf("Verify: %v, %v", d, err)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-cpu0)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWatch times how soon Watch reports another process's change:
// from the start of an nft command that adds and deletes an element of
// peerjail's set (one transaction) to the call of changed. nft-median-ms is
// how long the command itself ran, process start included, for comparison.
//
//	go test -run '^$' -bench Watch -benchtime 20x ./internal/nftables/
func BenchmarkWatch(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("bans=%d", n), func(b *testing.B) {
			ns := netnstest.New(b)
			fw, err := New(WithNetNS(ns.Open(b)))
			if err != nil {
				b.Skipf("needs root and nftables: %v", err)
			}
			if err := fw.Setup(ctx, []firewall.Jail{{Name: "j"}}); err != nil {
				b.Fatal(err)
			}
			if err := fw.Restore(ctx, benchChanges(0, n, true)); err != nil {
				b.Fatal(err)
			}
			told := make(chan time.Time, 16)
			wctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- fw.(firewall.Watcher).Watch(wctx, func() { told <- time.Now() }) }()
			defer func() { cancel(); <-done }()
			time.Sleep(100 * time.Millisecond) // subscribed
			var lat, cmd []time.Duration
			for b.Loop() {
				start := time.Now()
				ns.MustExec(b, "nft", "add element inet peerjail j_v4 { 192.0.2.1 timeout 1h }; delete element inet peerjail j_v4 { 192.0.2.1 }")
				cmd = append(cmd, time.Since(start))
				select {
				case at := <-told:
					lat = append(lat, at.Sub(start))
				case <-time.After(5 * time.Second):
					b.Fatal("no event within 5 s")
				}
			}
			slices.Sort(lat)
			slices.Sort(cmd)
			b.ReportMetric(float64(lat[len(lat)/2])/1e6, "median-ms")
			b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
			b.ReportMetric(float64(cmd[len(cmd)/2])/1e6, "nft-median-ms")
		})
	}
}
