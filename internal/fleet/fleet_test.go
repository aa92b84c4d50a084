package fleet

import (
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
