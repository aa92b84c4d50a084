package fleet

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/fleet/natstest"
)

// TestClusterLosesAServer: three servers keep the stream in three replicas;
// one is killed in the middle of a storm of reports. No report is lost or
// counted twice, and every host ends with the same fleet bans.
func TestClusterLosesAServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-server cluster")
	}
	servers := natstest.Cluster(t, 3, natstest.Options{})
	urls := natstest.URLs(servers...)
	names := []string{"host-a", "host-b", "host-c"}
	hosts := make([]*member, 3)
	for i, name := range names {
		// Each host lists the servers in another order, so they are
		// spread over the cluster.
		hs := append(slices.Clone(urls[i:]), urls[:i]...)
		hosts[i] = startMember(t, memberOpts{servers: hs, reporter: name, publish: []string{"libp2p"}, policies: policy(2), replicas: 3})
	}
	// host-a reports every key, host-b the even ones, host-c every third:
	// with quorum 2 the even keys and the multiples of 3 are banned.
	const keys = 400
	reports := func(i int) (n int) {
		for k := range keys {
			if i == 0 || i == 1 && k%2 == 0 || i == 2 && k%3 == 0 {
				n++
			}
		}
		return n
	}
	want := map[string]bool{}
	for k := range keys {
		if k%2 == 0 || k%3 == 0 {
			want[key(k)] = true
		}
	}
	for k := range keys {
		if k == keys/2 {
			servers[0].Kill()
		}
		for i, h := range hosts {
			if reports(i) > 0 && (i == 0 || i == 1 && k%2 == 0 || i == 2 && k%3 == 0) {
				if err := h.Publish(ban("libp2p", key(k))); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	start := time.Now()
	total := uint64(reports(0) + reports(1) + reports(2))
	for _, h := range hosts {
		waitFor(t, 60*time.Second, h.Reporter()+"'s outbox drained", func() bool { return h.outbox.Len() == 0 })
	}
	t.Logf("outboxes drained %s after the storm", time.Since(start))
	if info := streamInfo(t, urls[1]); info.State.Msgs != total || info.Config.Replicas != 3 {
		t.Errorf("stream holds %d reports in %d replicas, want %d in 3", info.State.Msgs, info.Config.Replicas, total)
	}
	for _, h := range hosts {
		got := map[string]bool{}
		deadline := time.After(60 * time.Second)
		for len(got) < len(want) {
			select {
			case d := <-h.Decisions():
				if d.Action != Ban || got[d.Key] {
					t.Fatalf("%s: decision %+v: want each key banned once", h.Reporter(), d)
				}
				got[d.Key] = true
			case <-deadline:
				t.Fatalf("%s: %d fleet bans in 60s, want %d", h.Reporter(), len(got), len(want))
			}
		}
		t.Logf("%s: all fleet bans %s after the storm", h.Reporter(), time.Since(start))
		if !maps.Equal(got, want) {
			t.Errorf("%s: fleet bans differ from the expected %d", h.Reporter(), len(want))
		}
		for i, name := range names {
			waitFor(t, 30*time.Second, fmt.Sprintf("%s reads all of %s", h.Reporter(), name), func() bool {
				return reportsFrom(h, name) >= int64(reports(i))
			})
		}
		h.quiet(t)
	}
}

func key(k int) string { return fmt.Sprintf("198.51.%d.%d", k/250, k%250+1) }
