package fleet

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/peerjail/peerjail/internal/fleet/natstest"
)

// fleetAccounts is configs/nats/accounts.conf with a fresh user key for
// each host; it returns the config text and each host's seed file.
func fleetAccounts(t *testing.T) (string, map[string]string) {
	t.Helper()
	text, err := os.ReadFile("../../configs/nats/accounts.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(text)
	seeds := map[string]string{}
	for _, h := range []string{"host-a", "host-b", "host-c"} {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := kp.PublicKey()
		seed, _ := kp.Seed()
		seeds[h] = filepath.Join(t.TempDir(), h+".nk")
		if err := os.WriteFile(seeds[h], seed, 0o600); err != nil {
			t.Fatal(err)
		}
		placeholder := "HOST_" + strings.ToUpper(h[len(h)-1:]) + "_NKEY"
		if !strings.Contains(conf, placeholder) {
			t.Fatalf("accounts.conf has no %s", placeholder)
		}
		conf = strings.ReplaceAll(conf, placeholder, pub)
	}
	return conf, seeds
}

// TestOneUserIsOneReporter: host-a's credentials publish reports whose
// bodies claim three reporters; the subject the server pins makes them one,
// and publishing under host-b's subject is refused by the server.
func TestOneUserIsOneReporter(t *testing.T) {
	accounts, seeds := fleetAccounts(t)
	srv := natstest.Start(t, natstest.Options{Extra: accounts})
	c := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-c", nkey: seeds["host-c"], policies: policy(2)})
	waitFor(t, 10*time.Second, "host-c's consumer", func() bool { return c.Status(context.Background()).LagKnown })

	nkeyOpt, err := nats.NkeyOptionFromSeed(seeds["host-a"])
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.URL(), nkeyOpt, nats.CustomInboxPrefix("_INBOX_host-a"),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})) // the refusal below is expected
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, claimed := range []string{"host-a", "host-b", "host-c"} {
		body, _ := json.Marshal(message{V: Version, Action: Ban, Jail: "libp2p", Key: "198.51.100.9", Reporter: claimed})
		if _, err := js.Publish(ctx, "peerjail.reports.host-a.libp2p", body); err != nil {
			t.Fatalf("publish as host-a claiming %s: %v", claimed, err)
		}
	}
	// The server drops a publish outside the user's permissions, so no
	// acknowledgement comes.
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	body, _ := json.Marshal(message{V: Version, Action: Ban, Jail: "libp2p", Key: "198.51.100.9", Reporter: "host-b"})
	_, err = js.Publish(short, "peerjail.reports.host-b.libp2p", body, jetstream.WithRetryAttempts(0))
	cancelShort()
	if err == nil {
		t.Fatal("host-a published on host-b's subject")
	}

	// A Fleet whose reporter is set to host-b but holds host-a's key is
	// refused the same way, and keeps its report queued.
	posing := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-b", nkey: seeds["host-a"], publish: []string{"libp2p"}})
	if err := posing.Publish(ban("libp2p", "198.51.100.9")); err != nil {
		t.Fatal(err)
	}

	b := startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-b", nkey: seeds["host-b"], publish: []string{"libp2p"}})
	// host-c counts reports in stream order: once it has read host-b's
	// probe of another key, it has read all of host-a's.
	if err := b.Publish(ban("libp2p", "192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "host-c reads host-b's probe", func() bool { return reportsFrom(c, "host-b") == 1 })
	c.quiet(t)
	if n := reportsFrom(c, "host-a"); n != 3 {
		t.Errorf("host-c read %d reports of host-a, want 3", n)
	}
	if n := posing.outbox.Len(); n != 1 {
		t.Errorf("the posing host's outbox holds %d reports, want its refused one", n)
	}

	// A second real reporter completes the quorum.
	if err := b.Publish(ban("libp2p", "198.51.100.9")); err != nil {
		t.Fatal(err)
	}
	d := c.next(t, 10*time.Second)
	if d.Action != Ban || d.Key != "198.51.100.9" || !slices.Equal(d.Reporters, []string{"host-a", "host-b"}) {
		t.Errorf("decision %+v: want a ban of 198.51.100.9 by host-a and host-b", d)
	}

	// host-c restarts: its permissions let it recount the window, and the
	// standing ban comes again.
	waitFor(t, 10*time.Second, "host-c acknowledged", func() bool {
		st := c.Status(context.Background())
		return st.LagKnown && st.AckPending == 0 && st.Lag == 0
	})
	c.stop()
	c = startMember(t, memberOpts{servers: []string{srv.URL()}, reporter: "host-c", nkey: seeds["host-c"], policies: policy(2)})
	if d := c.next(t, 10*time.Second); d.Action != Ban || d.Key != "198.51.100.9" {
		t.Errorf("after host-c's restart: decision %+v, want the standing ban of 198.51.100.9", d)
	}
}

func reportsFrom(m *member, reporter string) int64 {
	for _, r := range m.Status(context.Background()).Reporters {
		if r.Reporter == reporter {
			return r.Reports
		}
	}
	return 0
}

// TestExampleConfigsLoad checks configs/nats/*.conf with nats-server -t,
// the users' placeholders replaced by keys.
func TestExampleConfigsLoad(t *testing.T) {
	natstest.Need(t)
	accounts, _ := fleetAccounts(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "accounts.conf"), []byte(accounts), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"server.conf", "cluster.conf"} {
		text, err := os.ReadFile(filepath.Join("../../configs/nats", name))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, text, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(natstest.Binary, "-t", "-c", path)
		cmd.Env = append(os.Environ(), "SERVER_NAME=nats-1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
}
