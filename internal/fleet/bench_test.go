package fleet

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/fleet/natstest"
)

// rawPublisher publishes reports straight to the stream, as any reporter,
// so that the benchmarks time the consumers alone.
type rawPublisher struct {
	nc *nats.Conn
	js jetstream.JetStream
}

func newRawPublisher(tb testing.TB, url string) *rawPublisher {
	tb.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: config.DefaultFleetStream,
		Subjects: []string{config.DefaultFleetSubject + ".>"}, Storage: jetstream.FileStorage, MaxAge: streamMaxAge})
	if err != nil {
		tb.Fatal(err)
	}
	return &rawPublisher{nc, js}
}

func (p *rawPublisher) body(tb testing.TB, reporter, key string) (string, []byte) {
	data, err := encode(ban("libp2p", key), reporter, "bench")
	if err != nil {
		tb.Fatal(err)
	}
	return config.DefaultFleetSubject + "." + reporter + ".libp2p", data
}

// BenchmarkConsume is the rate at which one host's consumer counts
// reports from a real nats-server; run with -cpu 1 for one core. The
// reports are in the stream before the host starts, as after an outage.
func BenchmarkConsume(b *testing.B) {
	srv := natstest.Start(b, natstest.Options{})
	p := newRawPublisher(b, srv.URL())
	reporters := []string{"host-a", "host-b", "host-c", "host-d"}
	for i := range b.N {
		subj, data := p.body(b, reporters[i%len(reporters)], fmt.Sprintf("2001:db8::%x", i%50_000))
		if _, err := p.js.PublishAsync(subj, data); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-p.js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("preload not acknowledged in 1m")
	}
	// Quorum 5 of 4 reporters: every report is counted, none decides.
	pol := map[string]config.FleetPolicy{"libp2p": {Quorum: 5, Window: config.MaxFleetWindow, BanTime: time.Hour}}
	b.ResetTimer()
	start := time.Now()
	m := startMember(b, memberOpts{servers: []string{srv.URL()}, reporter: "bench", policies: pol})
	counted := m.m.received.WithLabelValues("counted")
	for counterValue(counted) < float64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reports/s")
}

// BenchmarkQuorumLatency times, over 1,000 keys, from the publish of the
// report that completes a quorum of 2 to its Decision on each of three
// hosts. Run with -benchtime=1x.
func BenchmarkQuorumLatency(b *testing.B) {
	srv := natstest.Start(b, natstest.Options{})
	p := newRawPublisher(b, srv.URL())
	hosts := make([]*member, 3)
	for i, name := range []string{"host-a", "host-b", "host-c"} {
		hosts[i] = startMember(b, memberOpts{servers: []string{srv.URL()}, reporter: name, policies: policy(2)})
	}
	ctx := context.Background()
	const keys = 1000
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N * keys {
		key := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		subj, data := p.body(b, "host-a", key)
		if _, err := p.js.Publish(ctx, subj, data); err != nil {
			b.Fatal(err)
		}
		subj, data = p.body(b, "host-b", key)
		sent := time.Now()
		if _, err := p.js.Publish(ctx, subj, data); err != nil {
			b.Fatal(err)
		}
		for _, h := range hosts {
			if d := h.next(b, 10*time.Second); d.Key != key {
				b.Fatalf("%s: decision %+v, want %s", h.Reporter(), d, key)
			}
			lat = append(lat, time.Since(sent))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPublish is the cost of Publish on the daemon's decision path:
// one bbolt transaction that queues the report, no network.
func BenchmarkPublish(b *testing.B) {
	ob, err := OpenBoltOutbox(b.TempDir()+"/outbox.db", 0)
	if err != nil {
		b.Fatal(err)
	}
	defer ob.Close()
	f, err := New(config.Fleet{Servers: []string{"nats://127.0.0.1:4222"}, Reporter: "bench", Subject: "peerjail.reports", Publish: []string{"libp2p"}},
		Options{Outbox: ob})
	if err != nil {
		b.Fatal(err)
	}
	r := ban("libp2p", "192.0.2.1")
	for b.Loop() {
		if err := f.Publish(r); err != nil {
			b.Fatal(err)
		}
	}
}
