//go:build linux

package daemon

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/mounttest"
)

// fullDiskConfig bans at the first failure, so that every line is a ban.
const fullDiskConfig = `jails:
  ssh:
    filter: sshd
    source: {files: [%s]}
    maxretry: 1
    findtime: 10m
    bantime: 1h
    ignoreself: false
`

// TestDaemonFullDisk runs the daemon with its state directory on a full
// tmpfs while it bans 20,000 hosts: the kernel gets every ban, the store
// falls behind (peerjail_store_behind, one warning), and once space is back
// it catches up on its own, so that a cold restart (an empty kernel)
// restores every ban. The test runs itself again under "unshare --mount",
// so that the tmpfs lives in a mount namespace of its own.
func TestDaemonFullDisk(t *testing.T) {
	if !mounttest.Private(t, "mounts a small tmpfs in a private mount namespace") {
		return
	}
	dir, stateDir := t.TempDir(), mounttest.Tmpfs(t, "8m")

	const n = 20000
	logs := &syncBuffer{}
	fw := firewall.NewFake()
	reg := prometheus.NewRegistry()
	d := startFullDisk(t, dir, stateDir, fw, reg, logs)
	filler := filepath.Join(stateDir, "filler")
	mounttest.Fill(t, filler)
	writeFailures(t, filepath.Join(dir, "auth.log"), n)
	waitLong(t, "20,000 bans in the kernel", func() bool { els, _ := fw.List(context.Background()); return len(els) == n })
	behind, errs := metricValue(t, reg, "peerjail_store_behind"), metricValue(t, reg, "peerjail_store_errors_total")
	if behind == 0 || errs == 0 {
		t.Fatalf("with the disk full: peerjail_store_behind %v, peerjail_store_errors_total %v; want both > 0", behind, errs)
	}
	t.Logf("disk full: %v records behind after %v failed writes", behind, errs)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "the store caught up", func() bool { return metricValue(t, reg, "peerjail_store_behind") == 0 })
	d.stop()
	if got := strings.Count(logs.String(), "state store is behind"); got != 1 {
		t.Errorf("%d warnings that the store is behind, want 1:\n%.2000s", got, logs.String())
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%.2000s", logs.String())
	}

	cold := firewall.NewFake()
	d2 := startFullDisk(t, dir, stateDir, cold, nil, &syncBuffer{})
	defer d2.stop()
	if els, _ := cold.List(context.Background()); len(els) != n {
		t.Errorf("cold restart: %d bans restored into the kernel, want %d", len(els), n)
	}
	if st := status(t, d2); len(st.Banned) != n {
		t.Errorf("cold restart: status lists %d bans, want %d", len(st.Banned), n)
	}
}

func startFullDisk(t *testing.T, dir, stateDir string, fw *firewall.Fake, reg *prometheus.Registry, logs *syncBuffer) *testDaemon {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(fullDiskConfig, filepath.Join(dir, "auth.log"))), 0o600)
	return newTestDaemonWith(t, dir, fw, func(o *Options) {
		o.StatePath = filepath.Join(stateDir, "state.db")
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		if reg != nil {
			o.Registry = reg
		}
	})
}

// writeFailures appends one failed login of each of n hosts.
func writeFailures(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	now := time.Now().Format(time.Stamp)
	for i := range n {
		fmt.Fprintf(w, "%s bastion sshd[1]: Failed password for root from 198.18.%d.%d port 4000 ssh2\n", now, i/250, i%250+1)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
}

func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer is a log destination safe for the daemon's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
