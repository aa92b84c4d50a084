package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

const benchBans = 100_000

// fillBench writes benchBans bans in batches of 1000, like a daemon that
// has been running for a while.
func fillBench(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "peerjail.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	all := makeBans(benchBans, t0)
	for i := 0; i < len(all); i += 1000 {
		mustUpdate(b, s, Batch{PutBans: all[i : i+1000]})
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkBans100k(b *testing.B) {
	s, err := Open(fillBench(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if bans := mustBans(b, s); len(bans) != benchBans {
			b.Fatalf("%d bans", len(bans))
		}
	}
}

// reportCPU adds a cpu-ns/op metric for the loop it brackets.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if n := b.N; n > 0 && start > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
		}
	}
}

// BenchmarkStartup100k is what the daemon pays at start: Open, then Bans.
func BenchmarkStartup100k(b *testing.B) {
	path := fillBench(b)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		s, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if bans := mustBans(b, s); len(bans) != benchBans {
			b.Fatalf("%d bans", len(bans))
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	for _, size := range []int{1, 100} {
		for _, noSync := range []bool{false, true} {
			b.Run(fmt.Sprintf("bans=%d/nosync=%v", size, noSync), func(b *testing.B) {
				benchUpdate(b, size, noSync)
			})
		}
	}
}

// benchUpdate writes batches of new bans plus their offender records and a
// position, as the daemon does per burst, into a store that already holds
// 100,000 bans.
func benchUpdate(b *testing.B, size int, noSync bool) {
	s, err := Open(fillBench(b), Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	pool := makeBans(benchBans, t0.Add(time.Hour))
	for i := range pool {
		pool[i].Jail = "bench" // new keys, not overwrites of the filled ones
	}
	batch := Batch{
		PutOffenders: make([]Offender, size),
		Positions:    map[string]string{"/var/log/auth.log": ""},
	}
	n := 0
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		batch.PutBans = pool[n%benchBans : n%benchBans+size]
		for i, ban := range batch.PutBans {
			batch.PutOffenders[i] = Offender{Jail: ban.Jail, Key: ban.Key, Offences: ban.Offences, Last: ban.At}
		}
		batch.Positions["/var/log/auth.log"] = fmt.Sprint(n)
		n += size
		mustUpdate(b, s, batch)
	}
}
