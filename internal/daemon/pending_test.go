package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/store"
)

// TestPendingWindowsSurviveRestarts: maxretry is 3; a host fails twice,
// the daemon restarts, the host fails once more and is banned. Another
// host's saved hits are older than findtime and do not come back.
func TestPendingWindowsSurviveRestarts(t *testing.T) {
	dir := t.TempDir()
	td := newTestDaemon(t, dir, firewall.NewFake())
	td.appendLines(t, failed("198.51.100.7", 2)...)
	waitFor(t, "2 hits counted", func() bool { return status(t, td).TotalHits == 2 })
	td.stop()

	old := time.Now().Add(-11 * time.Minute) // findtime is 10m
	st, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := st.Pending("ssh")
	if err != nil || len(ps) != 1 || ps[0].Key != "198.51.100.7" || len(ps[0].Hits) != 2 {
		t.Fatalf("saved windows after a stop: %+v, %v; want 198.51.100.7's 2 hits", ps, err)
	}
	ps = append(ps, store.PendingHost{Key: "198.51.100.8", Hits: []time.Time{old, old}})
	if err := st.Update(store.Batch{Pending: map[string][]store.PendingHost{"ssh": ps}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	td = newTestDaemon(t, dir, firewall.NewFake())
	if s := status(t, td); s.Failing != 1 {
		t.Errorf("failing after the restart: %d, want 1 (198.51.100.7; .8's hits are older than findtime)", s.Failing)
	}
	td.appendLines(t, append(failed("198.51.100.7", 1), failed("198.51.100.8", 1)...)...)
	waitFor(t, "198.51.100.7 banned by its third hit", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.7/32") })
	// Both lines counted: .8's hit has been judged, and a ban would have
	// been decided with it.
	waitFor(t, "198.51.100.8's hit counted", func() bool { return status(t, td).TotalHits == 2 })
	for _, b := range status(t, td).Banned {
		if b.Host == "198.51.100.8" {
			t.Error("198.51.100.8 banned with hits older than findtime restored")
		}
	}
	if inFirewall(td.fw, "ssh", "198.51.100.8/32") {
		t.Error("198.51.100.8 in the firewall with hits older than findtime restored")
	}
}

func status(t *testing.T, td *testDaemon) control.JailStatus {
	t.Helper()
	st, err := td.client().Status(context.Background(), "ssh")
	if err != nil || len(st) != 1 {
		t.Fatalf("status: %+v, %v", st, err)
	}
	return st[0]
}
