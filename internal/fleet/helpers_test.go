package fleet

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/peerjail/peerjail/internal/config"
)

// member is one host's Fleet, running until the test ends (or stop).
type member struct {
	*Fleet
	outbox *BoltOutbox
	stop   func()
}

type memberOpts struct {
	servers  []string
	reporter string
	publish  []string
	policies map[string]config.FleetPolicy
	nkey     string // seed file
	replicas int
	outbox   string // bbolt file; a fresh one by default
	extra    []nats.Option
	modify   func(*Options)
}

func startMember(t testing.TB, o memberOpts) *member {
	t.Helper()
	if o.outbox == "" {
		o.outbox = filepath.Join(t.TempDir(), "outbox.db")
	}
	ob, err := OpenBoltOutbox(o.outbox, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Fleet{Servers: o.servers, Reporter: o.reporter, NKey: o.nkey,
		Stream: config.DefaultFleetStream, Subject: config.DefaultFleetSubject,
		Replicas: max(o.replicas, 1), Publish: o.publish}
	opts := Options{Outbox: ob, Policies: o.policies, Version: "test", Retry: 100 * time.Millisecond,
		ReconnectWait: 100 * time.Millisecond, NATS: o.extra}
	if o.modify != nil {
		o.modify(&opts)
	}
	f, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = f.Run(ctx) })
	var once sync.Once
	m := &member{Fleet: f, outbox: ob}
	m.stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			if runErr != nil {
				t.Errorf("run %s: %v", o.reporter, runErr)
			}
			if err := ob.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(m.stop)
	return m
}

// next waits for the next decision, failing after d.
func (m *member) next(t testing.TB, d time.Duration) Decision {
	t.Helper()
	select {
	case dec := <-m.Decisions():
		return dec
	case <-time.After(d):
		t.Fatalf("%s: no decision in %s", m.Reporter(), d)
		return Decision{}
	}
}

// none asserts that no decision comes while the member reads a report it
// was sent after the others: the stream is ordered, so once the probe's
// decision arrives, every earlier report has been counted.
func (m *member) quiet(t testing.TB) {
	t.Helper()
	select {
	case dec := <-m.Decisions():
		t.Fatalf("%s: unexpected decision %+v", m.Reporter(), dec)
	default:
	}
}

// waitFor polls cond, which reads state the fleet's goroutines change,
// until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// streamCount is how many reports the stream holds.
func streamCount(t testing.TB, url string, opts ...nats.Option) uint64 {
	return streamInfo(t, url, opts...).State.Msgs
}

func streamInfo(t testing.TB, url string, opts ...nats.Option) *jetstream.StreamInfo {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, config.DefaultFleetStream)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func ban(jail, key string) Report {
	return Report{Action: Ban, Jail: jail, Key: key, Until: time.Now().Add(time.Hour), Offences: 1,
		Evidence: []string{fmt.Sprintf("bad peer %s", key)}}
}

func policy(quorum int) map[string]config.FleetPolicy {
	return map[string]config.FleetPolicy{"libp2p": {Quorum: quorum, Window: 10 * time.Minute, BanTime: time.Hour}}
}
