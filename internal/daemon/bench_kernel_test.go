//go:build linux

package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/peerjail/peerjail/internal/store"
)

// The acceptance figures of the daemon against the real kernel, in a
// namespace of their own (root only; skipped otherwise). scripts/daemon-bench.sh
// runs them:
//
//	go test -run '^$' -bench 'BanLatency' -benchtime 1000x ./internal/daemon/
//	go test -run '^$' -bench 'Startup100k' -benchtime 1x ./internal/daemon/

// BenchmarkBanLatency times each ban from the write of its decisive line to
// the kernel's announcement of the new element (nftables monitor), one host
// at a time: an op is one ban, and p50/p99 are over all of them. It runs
// with the jail's sets empty, and holding 100,000 bans (a host key is one
// hash element, so the kernel's cost of a ban hardly grows with them; with
// interval sets it was about 5 ms per transaction).
func BenchmarkBanLatency(b *testing.B) {
	for _, active := range []int{0, 100000} {
		b.Run(fmt.Sprintf("active=%d", active), func(b *testing.B) { benchBanLatency(b, active) })
	}
}

func benchBanLatency(b *testing.B, active int) {
	env := newKernelEnv(b)
	if active > 0 {
		seedBans(b, env.statePath(), active)
	}
	kd := env.start(b)
	kd.d.enf.listing.Wait() // the adoption's listing of the sets is done
	added := watchNewElements(b, env)
	f, err := os.OpenFile(env.logFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		// 100.64.0.0/10: apart from the seeded bans.
		addr := netip.AddrFrom4([4]byte{100, 64 + byte(i>>16&63), byte(i >> 8), byte(i)})
		i++
		lines := failed(addr.String(), 3)
		if _, err := f.WriteString(lines[0] + "\n" + lines[1] + "\n"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := f.WriteString(lines[2] + "\n"); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, waitAdded(b, added, addr).Sub(start))
	}
	slices.Sort(lat)
	ms := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / 1e6
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(ms(1), "max-ms")
}

// added is an address the kernel put into a set, and when we heard of it.
type added struct {
	addr netip.Addr
	at   time.Time
}

// watchNewElements subscribes to the namespace's nftables events and
// forwards the start keys of new set elements.
func watchNewElements(b *testing.B, env *kernelEnv) <-chan added {
	conn, err := nftables.New(nftables.WithNetNSFd(env.fd))
	if err != nil {
		b.Fatal(err)
	}
	// Only MonitorObjectAny works with v0.3.0: the library tests a specific
	// object's flags as (flags&1)<<type, which is 0 for all of them.
	mon := nftables.NewMonitor(nftables.WithMonitorEventBuffer(1024))
	events, err := conn.AddMonitor(mon)
	if err != nil {
		b.Fatal(err)
	}
	out := make(chan added, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			if ev.Type != nftables.MonitorEventTypeNewSetElem || ev.Error != nil {
				continue
			}
			at := time.Now()
			els, _ := ev.Data.([]nftables.SetElement)
			for _, e := range els {
				if a, ok := netip.AddrFromSlice(e.Key); ok && !e.IntervalEnd {
					select {
					case out <- added{a, at}:
					default: // nobody waits for it
					}
				}
			}
		}
	}()
	b.Cleanup(func() {
		_ = mon.Close()
		<-done
	})
	return out
}

func waitAdded(b *testing.B, ch <-chan added, addr netip.Addr) time.Time {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case a := <-ch:
			if a.addr == addr {
				return a.at
			}
		case <-timeout:
			b.Fatalf("%s did not reach the kernel within 10 s", addr)
		}
	}
}

// benchAddr4 is the i-th address of the benchmarking range 198.18.0.0/15.
func benchAddr4(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
}

// BenchmarkStartup100k times Start (until READY) with 100,000 active bans in
// the store (90% IPv4 addresses, 10% IPv6 /64): cold, with the kernel's
// sets empty as after a reboot, and warm, with the elements still there.
func BenchmarkStartup100k(b *testing.B) {
	for _, warm := range []bool{false, true} {
		name := map[bool]string{false: "cold", true: "warm"}[warm]
		b.Run(name, func(b *testing.B) { benchStartup(b, 100000, warm) })
	}
}

func benchStartup(b *testing.B, n int, warm bool) {
	env := newKernelEnv(b)
	sample := seedBans(b, env.statePath(), n)
	ctx := context.Background()
	if warm {
		env.start(b).stop(b)
	}
	b.StopTimer()
	b.ResetTimer()
	for range b.N {
		if !warm {
			if err := env.fw.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			time.Sleep(2 * time.Second) // the kernel frees the old elements meanwhile
		}
		b.StartTimer()
		kd := env.start(b)
		b.StopTimer()
		env.checkSample(b, sample)
		kd.stop(b)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/ready")
}

// seedBans writes n active bans with their offender records into a new
// state file and returns a sample of them by set.
func seedBans(b *testing.B, path string, n int) map[string][]string {
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var batch store.Batch
	sample := map[string][]string{}
	for i := range n {
		set, key := "ssh_v4", benchAddr4(i).String()
		if i%10 == 9 {
			set, key = "ssh_v6", fmt.Sprintf("2001:db8:%x:%x::/64", i>>16, i&0xffff)
		}
		at := now.Add(-time.Duration(i%600) * time.Second)
		batch.PutBans = append(batch.PutBans, store.Ban{Jail: "ssh", Key: key, At: at, Until: at.Add(time.Hour), Offences: 1})
		batch.PutOffenders = append(batch.PutOffenders, store.Offender{Jail: "ssh", Key: key, Offences: 1, Last: at})
		if i%997 == 0 || i == n-1 || i == n-2 {
			sample[set] = append(sample[set], key)
		}
	}
	// Many small transactions: bbolt splits its pages only at commit, so
	// one transaction of random keys would move memory quadratically.
	for len(batch.PutBans) > 0 {
		k := min(1000, len(batch.PutBans))
		part := store.Batch{PutBans: batch.PutBans[:k], PutOffenders: batch.PutOffenders[:k]}
		if err := st.Update(part); err != nil {
			b.Fatal(err)
		}
		batch.PutBans, batch.PutOffenders = batch.PutBans[k:], batch.PutOffenders[k:]
	}
	// On disk, as a state file is when peerjail starts: otherwise the
	// daemon's first commit would pay for writing it all.
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return sample
}

// checkSample asks the kernel for a sample of the bans by key (nft get
// element: a lookup each, not a listing of the whole set).
func (env *kernelEnv) checkSample(b *testing.B, sample map[string][]string) {
	for set, keys := range sample {
		if set == "ssh_v6" {
			// A host set holds the /64 as its first address.
			keys = slices.Clone(keys)
			for i, k := range keys {
				keys[i] = strings.TrimSuffix(k, "/64")
			}
		}
		out, err := env.ns.Exec("nft", "get", "element", "inet", "peerjail", set, "{ "+strings.Join(keys, ", ")+" }")
		if err != nil {
			b.Fatalf("bans missing from the kernel after READY: %v", err)
		}
		tokens := map[string]bool{}
		for _, f := range strings.FieldsFunc(out, func(r rune) bool { return strings.ContainsRune(" ,{}\t\n", r) }) {
			tokens[f] = true
		}
		for _, k := range keys {
			if !tokens[k] {
				b.Fatalf("nft get element %s: %s missing from the answer:\n%s", set, k, out)
			}
		}
	}
}
