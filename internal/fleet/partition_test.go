package fleet

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/fleet/natstest"
)

// TestPartitionQueuesAndDrains: while the server is away the host's
// reports wait in the outbox, across a restart of the host too; when the
// server is back every one of them is published once.
func TestPartitionQueuesAndDrains(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	outbox := filepath.Join(t.TempDir(), "outbox.db")
	a := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-a", publish: []string{"libp2p"}, outbox: outbox})
	c := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-c", policies: policy(3)})
	if err := a.Publish(ban("libp2p", "192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "first report read", func() bool { return reportsFrom(c, "host-a") == 1 })

	srv.Stop()
	waitFor(t, 10*time.Second, "host-a sees the server gone", func() bool { return !a.Status(t.Context()).Connected })
	const n = 300
	for i := range n {
		if err := a.Publish(ban("libp2p", fmt.Sprintf("198.51.100.%d", i%250+1))); err != nil {
			t.Fatal(err)
		}
		if i == n/2 {
			// The host restarts during the partition: the outbox is on disk.
			a.stop()
			a = startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-a", publish: []string{"libp2p"}, outbox: outbox})
		}
	}
	if got := a.outbox.Len(); got != n {
		t.Fatalf("outbox holds %d reports during the partition, want %d", got, n)
	}
	st := a.Status(t.Context())
	if st.Connected || st.Outbox != n {
		t.Errorf("status connected=%v outbox=%d, want false and %d", st.Connected, st.Outbox, n)
	}

	srv.Start()
	waitFor(t, 20*time.Second, "outbox drained", func() bool { return a.outbox.Len() == 0 })
	if got := streamCount(t, srv.URL()); got != n+1 {
		t.Errorf("stream holds %d reports, want %d", got, n+1)
	}
	waitFor(t, 20*time.Second, "host-c read them all", func() bool { return reportsFrom(c, "host-a") >= n+1 })
	// The restarted host sent what it queued before its restart as well.
	if st := a.Status(t.Context()); !st.Connected || st.Published != n {
		t.Errorf("after the heal: connected=%v published=%v, want true and %d", st.Connected, st.Published, n)
	}
}
