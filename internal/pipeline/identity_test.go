package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/correlate"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/logline"
)

// flowSpec is flow-suspicious's shape: suspicious lines blame peer_id (or
// the address), lines with remote_address teach, node_id is the node's own.
func flowSpec() filter.Spec {
	return filter.Spec{Name: "flow", JSON: &filter.JSONSpec{
		Match:  []filter.Condition{{Path: "suspicious", Op: filter.OpEqual, Values: []any{true}}},
		Host:   "remote_address",
		ID:     "peer_id",
		Learn:  []filter.Condition{{Path: "remote_address", Op: filter.OpExists, Exists: true}},
		SelfID: "node_id",
	}}
}

var idT0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func flowLine(sec int, fields string) string {
	return fmt.Sprintf(`{"level":"warn","node_id":"OWN",%s,"time":"%s"}`, fields, idT0.Add(time.Duration(sec)*time.Second).Format(time.RFC3339))
}

func lane(t *testing.T, name string, key jail.KeyKind, spec filter.Spec) *Lane {
	t.Helper()
	jl, err := NewLane(config.Jail{Name: name, Filter: spec, Policy: jail.Policy{Name: name,
		FindTime: time.Hour, MaxRetry: 2, BanTime: time.Hour, Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	return jl
}

func decisionText(d jail.Decision) string {
	var addrs []string
	for _, p := range d.Addrs {
		addrs = append(addrs, jail.Key{Prefix: p}.String())
	}
	return fmt.Sprintf("%s %s %s at %s [%s]", d.Action, d.Jail, d.Key, d.At.Sub(idT0), strings.Join(addrs, " "))
}

// One table serves every jail and source of an engine: connection lines of
// one source, read by a jail keyed by host, teach the addresses that a
// jail keyed by identity on another source bans; a later connection line
// at a new address extends the ban; the node's own ID, learned from its
// lines, is never banned.
func TestEngineSharesCorrelation(t *testing.T) {
	conn := lane(t, "conn", jail.KeyHost, flowSpec())
	byID := lane(t, "byid", jail.KeyID, flowSpec())
	var got []string
	tb := correlate.New(correlate.Config{TTL: 10 * time.Minute})
	e := New([]*Lane{conn, byID}, Options{Workers: 1, Correlation: tb, OnDecision: func(d jail.Decision) { got = append(got, decisionText(d)) }})
	ref := func() time.Time { return idT0.Add(24 * time.Hour) }
	connSrc, err := e.NewSource("connections", ref, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	eventSrc, err := e.NewSource("events", ref, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	feed := func(src *Source, lines ...string) {
		b := NewBatch(src)
		for _, l := range lines {
			b.Add(logline.Line{Text: []byte(l)})
		}
		e.match(b)
		e.count(b)
	}
	feed(connSrc,
		flowLine(0, `"peer_id":"P","remote_address":"/ip4/198.51.100.1/tcp/3569","message":"inbound connection established"`),
		flowLine(1, `"peer_id":"P","remote_address":"/ip4/198.51.100.2/tcp/3569","message":"inbound connection established"`),
		flowLine(2, `"peer_id":"R","remote_address":"/ip4/198.51.100.9/tcp/1/p2p/RELAY/p2p-circuit","message":"inbound connection established"`))
	feed(eventSrc,
		flowLine(3, `"peer_id":"P","suspicious":true,"message":"potential slashable offense"`),
		flowLine(4, `"peer_id":"OWN","suspicious":true,"message":"potential slashable offense"`),
		flowLine(5, `"peer_id":"P","suspicious":true,"message":"potential slashable offense"`),
		flowLine(6, `"peer_id":"OWN","suspicious":true,"message":"potential slashable offense"`),
		flowLine(7, `"peer_id":"R","suspicious":true,"message":"unicast peer rate limited"`),
		flowLine(8, `"peer_id":"R","suspicious":true,"message":"unicast peer rate limited"`))
	feed(connSrc, flowLine(9, `"peer_id":"P","remote_address":"/ip6/2001:db8:1:2::7/tcp/3569","message":"inbound connection established"`))
	want := []string{
		"ban byid P at 5s [198.51.100.2 198.51.100.1]",
		"ban byid R at 8s []", // relayed: the relay's address is never learned
		"ban byid P at 9s [2001:db8:1:2::/64]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("decisions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e.Correlation() != tb || tb.Len() != 1 {
		t.Errorf("table %p (len %d), want the one passed (%p) holding P alone", e.Correlation(), tb.Len(), tb)
	}
	if ids := e.SelfIDs(); !slices.Equal(ids, []string{"OWN"}) {
		t.Errorf("SelfIDs = %v, want the learned node_id", ids)
	}
	if c := byID.Counts; c.Ignored != 2 || c.Bans != 2 {
		t.Errorf("byid counts %+v: the own ID's two hits ignored, two bans", c)
	}
}

// Live, a ban and its extension start at the daemon's clock.
func TestLiveIdentityExtension(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		byID := lane(t, "byid", jail.KeyID, flowSpec())
		var got []string
		start := time.Now()
		e := New([]*Lane{byID}, Options{Workers: 1, Now: time.Now, SelfIDs: []string{"ME"}, OnDecision: func(d jail.Decision) {
			got = append(got, fmt.Sprintf("%s %s at %s until %s %v", d.Action, d.Key, d.At.Sub(start), d.Until.Sub(start), d.Addrs))
		}})
		src, err := e.NewSource("live", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		in := make(chan *Batch)
		done := make(chan error, 1)
		go func() { done <- e.Run(context.Background(), in) }()
		send := func(text string) {
			b := NewBatch(src)
			b.Add(logline.Line{Text: []byte(text), Time: time.Now()})
			in <- b
			synctest.Wait()
		}
		line := func(fields string) string {
			return `{"node_id":"OWN",` + fields + `,"time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`
		}
		send(line(`"peer_id":"P","remote_address":"/ip4/198.51.100.1/tcp/1"`))
		time.Sleep(time.Second)
		send(line(`"peer_id":"P","suspicious":true`))
		send(line(`"peer_id":"ME","suspicious":true`))
		send(line(`"peer_id":"ME","suspicious":true`))
		time.Sleep(time.Second)
		send(line(`"peer_id":"P","suspicious":true`))
		time.Sleep(time.Minute)
		send(line(`"peer_id":"P","remote_address":"/ip4/198.51.100.3/tcp/1"`))
		close(in)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		want := []string{"ban P at 2s until 1h0m2s [198.51.100.1/32]", "ban P at 1m2s until 1h0m2s [198.51.100.3/32]"}
		if !slices.Equal(got, want) {
			t.Errorf("decisions %q, want %q", got, want)
		}
		if ids := e.SelfIDs(); !slices.Equal(ids, []string{"ME", "OWN"}) {
			t.Errorf("SelfIDs = %v", ids)
		}
	})
}

// Batches reuse their buffers, and hits' identities share them: the jails'
// windows, bans and per-host counts keep their own copies.
func TestIdentitiesOutliveTheirBatches(t *testing.T) {
	byID := lane(t, "byid", jail.KeyID, flowSpec())
	var bans []string
	e := New([]*Lane{byID}, Options{Workers: 1, TrackHosts: true, OnDecision: func(d jail.Decision) {
		if d.Action == jail.ActionBan {
			bans = append(bans, d.Key.String())
		}
	}})
	src, err := e.NewSource("s", func() time.Time { return idT0.Add(24 * time.Hour) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for p := range 50 {
			b := NewBatch(src)
			b.Add(logline.Line{Text: []byte(flowLine(round*100+p, fmt.Sprintf(`"peer_id":"peer-%02d","suspicious":true`, p)))})
			e.match(b)
			e.count(b) // releases b to the pool: its buffer holds the next line
		}
	}
	if len(bans) != 50 || len(byID.HostHits()) != 50 {
		t.Fatalf("%d bans, %d hosts; want 50 each", len(bans), len(byID.HostHits()))
	}
	for p := range 50 {
		id := fmt.Sprintf("peer-%02d", p)
		if bans[p] != id || byID.HostHits()[jail.Key{ID: id}] != 2 {
			t.Errorf("peer %d: ban %q, %d hits counted; want %s with 2", p, bans[p], byID.HostHits()[jail.Key{ID: id}], id)
		}
	}
}
