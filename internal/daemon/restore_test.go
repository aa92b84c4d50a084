package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/store"
)

// slowList is a kernel whose listing takes long, as one of 100,000 bans
// does: List takes its view at once but returns it only when released.
type slowList struct {
	*firewall.Fake
	release chan struct{}
}

func (s *slowList) List(ctx context.Context) ([]firewall.Element, error) {
	els, err := s.Fake.List(ctx)
	<-s.release
	return els, err
}

// startWith starts a daemon on dir with fw and serves it until the test ends.
func startWith(t *testing.T, dir string, fw firewall.Firewall) control.Client {
	t.Helper()
	log := filepath.Join(dir, "auth.log")
	cfg := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(log, nil, 0o600)
	os.WriteFile(cfg, []byte(fmt.Sprintf(sshConfig, log)), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	sock := filepath.Join(dir, "run", "peerjail.sock")
	d, err := Start(ctx, Options{
		ConfigPath: cfg, StatePath: filepath.Join(dir, "state.db"), SocketPath: sock,
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		NewFirewall: func() (firewall.Firewall, error) { return fw, nil },
		Notify:      func(string) {},
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("daemon stopped with %v", err)
		}
		d.enf.listing.Wait()
	})
	return control.Client{Path: sock, Timeout: 5 * time.Second}
}

func putBans(t *testing.T, path string, bans ...store.Ban) {
	t.Helper()
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Update(store.Batch{PutBans: bans}); err != nil {
		t.Fatal(err)
	}
}

func banned(t *testing.T, c control.Client) map[string]bool {
	t.Helper()
	st, err := c.Status(context.Background(), "ssh")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, b := range st[0].Banned {
		out[b.Host] = true
	}
	return out
}

// A slow listing does not hold READY back: the store's bans are in force at
// once, and the kernel's unknown elements are adopted when it is done, but
// not one the daemon banned and unbanned in the meantime.
func TestRestoreAdoptsInTheBackground(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	putBans(t, filepath.Join(dir, "state.db"), store.Ban{Jail: "ssh", Key: "198.51.100.7", At: now, Until: now.Add(time.Hour), Offences: 1})
	fake := firewall.NewFake()
	ctx := context.Background()
	fake.Setup(ctx, []firewall.Jail{{Name: "ssh", Protocol: "all"}})
	fake.Apply(ctx, []firewall.Change{
		{Jail: "ssh", Prefix: netip.MustParsePrefix("198.51.100.99/32"), Add: true, Timeout: 30 * time.Minute},
		{Jail: "ssh", Prefix: netip.MustParsePrefix("198.51.100.50/32"), Add: true, Timeout: 30 * time.Minute},
	})
	fw := &slowList{Fake: fake, release: make(chan struct{})}
	c := startWith(t, dir, fw)

	if !inFirewall(fake, "ssh", "198.51.100.7/32") {
		t.Fatal("the store's ban is not in force at READY")
	}
	if got := banned(t, c); !got["198.51.100.7"] || got["198.51.100.99"] {
		t.Fatalf("before the listing is done: banned %v, want the store's ban only", got)
	}
	// The listing has seen .50; the daemon bans and unbans it meanwhile.
	if _, err := c.Ban(ctx, "ssh", "198.51.100.50", time.Hour, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unban(ctx, "ssh", "198.51.100.50", false); err != nil {
		t.Fatal(err)
	}
	close(fw.release)
	waitFor(t, "the unknown element adopted", func() bool { return banned(t, c)["198.51.100.99"] })
	if got := banned(t, c); !got["198.51.100.7"] || got["198.51.100.50"] {
		t.Errorf("after adoption: banned %v, want .7 and .99, not .50", got)
	}
}

func TestRestoreFailureFailsStart(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	putBans(t, filepath.Join(dir, "state.db"), store.Ban{Jail: "ssh", Key: "198.51.100.7", At: now, Until: now.Add(time.Hour), Offences: 1})
	fw := firewall.NewFake()
	boom := errors.New("netlink: boom")
	fw.FailNext("Restore", boom)
	os.WriteFile(filepath.Join(dir, "auth.log"), nil, 0o600)
	cfg := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(sshConfig, filepath.Join(dir, "auth.log"))), 0o600)
	_, err := Start(context.Background(), Options{ConfigPath: cfg, StatePath: filepath.Join(dir, "state.db"), SocketPath: filepath.Join(dir, "s.sock"),
		NewFirewall: func() (firewall.Firewall, error) { return fw, nil }, Notify: func(string) {},
		Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, boom) {
		t.Fatalf("Start = %v, want the restore's error", err)
	}
}
