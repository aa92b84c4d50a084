package fleet

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/fleet/natstest"
)

func TestRoundtripQuorumOfOne(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	a := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-a", publish: []string{"libp2p"}, policies: policy(1)})
	if err := a.Publish(ban("libp2p", "203.0.113.7/32")); err != nil {
		t.Fatal(err)
	}
	d := a.next(t, 10*time.Second)
	if d.Action != Ban || d.Jail != "libp2p" || d.Key != "203.0.113.7" || !slices.Equal(d.Reporters, []string{"host-a"}) {
		t.Errorf("decision %+v: want ban of 203.0.113.7 in libp2p by host-a", d)
	}
	if got := d.Until.Sub(d.At); got != time.Hour {
		t.Errorf("until - at = %s, want the policy's bantime 1h", got)
	}
	waitFor(t, 5*time.Second, "outbox empty", func() bool { return a.outbox.Len() == 0 })
	if n := streamCount(t, srv.URL()); n != 1 {
		t.Errorf("stream holds %d reports, want 1", n)
	}
}

// TestQuorumAcrossHosts: with quorum 2, one reporter bans nowhere, two ban
// on every host; a host that starts after the reports (it was down) bans on
// start; one reporter withdrawing lifts the ban everywhere.
func TestQuorumAcrossHosts(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	hosts := make([]*member, 3)
	for i, name := range []string{"host-a", "host-b", "host-c"} {
		hosts[i] = startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: name, publish: []string{"libp2p"}, policies: policy(2)})
	}
	a, b := hosts[0], hosts[1]
	const key = "2001:db8::7"
	if err := a.Publish(ban("libp2p", key)); err != nil {
		t.Fatal(err)
	}
	// a probe of another key that host-a alone reports: once every host
	// has read it, each has counted the report before it.
	if err := a.Publish(ban("libp2p", "192.0.2.99")); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		waitFor(t, 10*time.Second, h.Reporter()+" reads host-a's two reports", func() bool { return reportsFrom(h, "host-a") == 2 })
		h.quiet(t)
	}
	if err := b.Publish(ban("libp2p", key)); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		d := h.next(t, 10*time.Second)
		if d.Action != Ban || d.Key != key || !slices.Equal(d.Reporters, []string{"host-a", "host-b"}) {
			t.Errorf("%s: decision %+v, want a ban of %s by host-a and host-b", h.Reporter(), d, key)
		}
	}

	late := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-d", policies: policy(2)})
	if d := late.next(t, 10*time.Second); d.Action != Ban || d.Key != key {
		t.Errorf("host-d, started after the reports: decision %+v, want the ban of %s", d, key)
	}

	if err := a.Publish(Report{Action: Unban, Jail: "libp2p", Key: key}); err != nil {
		t.Fatal(err)
	}
	for _, h := range append(hosts, late) {
		d := h.next(t, 10*time.Second)
		if d.Action != Unban || d.Key != key || d.Reason != "withdrawn" || !slices.Equal(d.Reporters, []string{"host-b"}) {
			t.Errorf("%s: decision %+v, want the unban of %s, withdrawn, host-b left", h.Reporter(), d, key)
		}
	}
}

// TestDurableConsumerResumes: a host that stops and starts again resumes
// its durable consumer where it stopped, and counts the reports it missed.
func TestDurableConsumerResumes(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	a := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-a", publish: []string{"libp2p"}, policies: policy(1)})
	c := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-c", policies: policy(1)})
	if err := a.Publish(ban("libp2p", "192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	if d := c.next(t, 10*time.Second); d.Key != "192.0.2.1" {
		t.Fatalf("decision %+v, want 192.0.2.1", d)
	}
	waitFor(t, 10*time.Second, "host-c acknowledged", func() bool {
		st := c.Status(context.Background())
		return st.LagKnown && st.AckPending == 0
	})
	c.stop()
	if err := a.Publish(ban("libp2p", "192.0.2.2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "outbox empty", func() bool { return a.outbox.Len() == 0 })
	c = startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-c", policies: policy(1)})
	// The standing ban is decided again from the window's replay, then the
	// missed report comes through the durable consumer.
	if d := c.next(t, 10*time.Second); d.Key != "192.0.2.1" {
		t.Errorf("after the restart: decision %+v, want the standing ban of 192.0.2.1 first", d)
	}
	if d := c.next(t, 10*time.Second); d.Key != "192.0.2.2" {
		t.Errorf("after the restart: decision %+v, want 192.0.2.2", d)
	}
	// The durable delivered only what host-c had not acknowledged.
	if n := reportsFrom(c, "host-a"); n != 1 {
		t.Errorf("host-c's durable consumer delivered %d reports after the restart, want 1", n)
	}
}

// TestRestartKeepsPendingQuorum: host-c reads host-a's report, restarts,
// then host-b's report completes the quorum: host-c bans like the others,
// its table rebuilt from the window's reports it had read before.
func TestRestartKeepsPendingQuorum(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	a := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-a", publish: []string{"libp2p"}, policies: policy(2)})
	b := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-b", publish: []string{"libp2p"}, policies: policy(2)})
	c := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-c", policies: policy(2)})
	for _, k := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		if err := a.Publish(ban("libp2p", k)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "host-c acknowledged host-a's reports", func() bool {
		st := c.Status(context.Background())
		return reportsFrom(c, "host-a") == 3 && st.LagKnown && st.AckPending == 0
	})
	c.stop()
	c = startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-c", policies: policy(2)})
	if err := b.Publish(ban("libp2p", "192.0.2.2")); err != nil {
		t.Fatal(err)
	}
	if d := c.next(t, 10*time.Second); d.Action != Ban || d.Key != "192.0.2.2" || !slices.Equal(d.Reporters, []string{"host-a", "host-b"}) {
		t.Errorf("after the restart: decision %+v, want the ban of 192.0.2.2 by host-a and host-b", d)
	}
	if p := c.Status(context.Background()).Jails[0].Pending; p[0] != 2 {
		t.Errorf("pending %v, want the two keys host-a alone reported", p)
	}
}
