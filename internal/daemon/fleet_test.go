package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/audit"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/fleet"
	"github.com/peerjail/peerjail/internal/fleet/natstest"
	"github.com/peerjail/peerjail/internal/store"
)

// fleetConfig is the example shape: this host is host-a, shares
// the ssh jail and bans what two reporters agree on.
const fleetConfig = `fleet:
  servers: [%[2]s]
  reporter: host-a
  publish: [ssh]
jails:
  ssh:
    filter: sshd
    source: {files: [%[1]s]}
    maxretry: 3
    findtime: 10m
    bantime: 1h
    ignoreip: [192.0.2.100]
    ignoreself: true
    fleet: {quorum: 2, window: 10m, bantime: 2h}
`

// fleetDaemon runs a daemon of fleetConfig against url, with 192.0.2.50 as
// its own address.
func fleetDaemon(t *testing.T, dir, url string) *testDaemon {
	t.Helper()
	log := filepath.Join(dir, "auth.log")
	if _, err := os.Stat(log); err != nil {
		os.WriteFile(log, nil, 0o600)
	}
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(fleetConfig, log, url)), 0o600)
	fs := newFakeSelf("192.0.2.50")
	return newTestDaemonWith(t, dir, firewall.NewFake(), func(o *Options) {
		o.watchSelf, o.Registry = fs.watch, prometheus.NewRegistry()
	})
}

// gauge reads one series of the daemon's metrics; false if it is absent.
func gauge(t *testing.T, td *testDaemon, name string, labels ...string) (float64, bool) {
	t.Helper()
	return seriesValue(t, td.d.o.Registry.(prometheus.Gatherer), name, labels...)
}

// reporters publish as the other hosts would, each on its own subject.
type reporters struct {
	t  *testing.T
	nc *nats.Conn
	js jetstream.JetStream
}

func newReporters(t *testing.T, url string) *reporters {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &reporters{t, nc, js}
}

// send publishes one report of reporter on the ssh jail, waiting for the
// stream (the daemon creates it when it connects).
func (r *reporters) send(reporter string, action fleet.Action, key string) {
	r.t.Helper()
	body, _ := json.Marshal(map[string]any{"v": fleet.Version, "action": action, "jail": "ssh", "key": key, "reporter": reporter})
	subject := "peerjail.reports." + reporter + ".ssh"
	waitFor(r.t, "the stream to take a report", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := r.js.Publish(ctx, subject, body)
		return err == nil
	})
}

// count is how many reports the stream holds from reporter.
func (r *reporters) count(reporter string) uint64 {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := r.js.Stream(ctx, "PEERJAIL")
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter("peerjail.reports."+reporter+".>"))
	if err != nil {
		return 0
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

func fleetBanned(t *testing.T, td *testDaemon, host string) (control.Banned, bool) {
	t.Helper()
	st, err := td.client().Status(context.Background(), "ssh")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range st[0].Banned {
		if b.Host == host {
			return b, true
		}
	}
	return control.Banned{}, false
}

func fleetStatus(t *testing.T, td *testDaemon) fleet.Status {
	t.Helper()
	raw, err := td.client().FleetStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var st fleet.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func fleetStored(t *testing.T, td *testDaemon, key string) (store.Ban, bool) {
	t.Helper()
	bans, err := td.d.st.Bans()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bans {
		if b.Jail == "ssh" && b.Key == key {
			return b, true
		}
	}
	return store.Ban{}, false
}

// fleetHistory is what the audit trail says the fleet did to key.
func fleetHistory(t *testing.T, td *testDaemon, key string) []string {
	t.Helper()
	var out []string
	if _, err := audit.Read(td.dir, func(r audit.Record) bool {
		if r.Key == key && r.By == audit.ByFleet {
			out = append(out, r.Event+" "+strings.Join(r.Reporters, ","))
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// settle waits until the daemon has applied every decision of the reports
// sent so far: a probe key reported by two reporters is banned after them,
// the stream and the decisions being ordered.
func settle(t *testing.T, td *testDaemon, r *reporters, probe string) {
	t.Helper()
	r.send("probe-1", fleet.Ban, probe)
	r.send("probe-2", fleet.Ban, probe)
	waitFor(t, "the probe's fleet ban", func() bool { return inFirewall(td.fw, "ssh", probe+"/32") })
}

// A key reported by one reporter is not banned; by two it is, in the
// kernel, marked fleet with its reporters in status and in the store, and
// not published again as host-a's own report. ignoreip and the host's own
// addresses are never fleet-banned.
func TestFleetQuorumBansAsFleet(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	td := fleetDaemon(t, t.TempDir(), srv.URL())
	r := newReporters(t, srv.URL())

	r.send("host-b", fleet.Ban, "203.0.113.5")
	for _, key := range []string{"192.0.2.100", "192.0.2.50"} {
		r.send("host-b", fleet.Ban, key)
		r.send("host-c", fleet.Ban, key)
	}
	settle(t, td, r, "203.0.113.99")
	for _, key := range []string{"203.0.113.5", "192.0.2.100", "192.0.2.50"} {
		if inFirewall(td.fw, "ssh", key+"/32") {
			t.Errorf("%s is in the firewall: one reporter, ignoreip or own address", key)
		}
	}
	if q := fleetStatus(t, td).Jails[0]; q.Waiting != 2 || q.Pending[0] != 1 {
		t.Errorf("quorum table %+v: want the two protected keys waiting, one key with one reporter", q)
	}

	r.send("host-c", fleet.Ban, "203.0.113.5")
	waitFor(t, "the fleet ban in the firewall", func() bool { return inFirewall(td.fw, "ssh", "203.0.113.5/32") })
	b, ok := fleetBanned(t, td, "203.0.113.5")
	if !ok || b.Source != "fleet" || !slices.Equal(b.Reporters, []string{"host-b", "host-c"}) {
		t.Fatalf("status: %+v, %v; want a fleet ban by host-b and host-c", b, ok)
	}
	if d := time.Until(b.Until); d < time.Hour+50*time.Minute || d > 2*time.Hour {
		t.Errorf("fleet ban ends in %s; want the policy's 2h", d)
	}
	sb, ok := fleetStored(t, td, "203.0.113.5")
	if !ok || sb.Source != "fleet" || !slices.Equal(sb.Reporters, []string{"host-b", "host-c"}) {
		t.Errorf("stored ban %+v, %v; want it marked fleet with its reporters", sb, ok)
	}
	st, err := td.client().Status(context.Background(), "ssh")
	if err != nil {
		t.Fatal(err)
	}
	if f := st[0].Fleet; f == nil || !f.Connected || !f.Publish || f.Quorum != 2 {
		t.Errorf("jail's fleet status %+v; want connected, publishing, quorum 2", f)
	}
	if n := r.count("host-a"); n != 0 {
		t.Errorf("host-a published %d reports; a fleet ban is not its own report", n)
	}
	waitFor(t, "the fleet ban in the audit trail", func() bool {
		return slices.Equal(fleetHistory(t, td, "203.0.113.5"), []string{"ban host-b,host-c"})
	})
	if v, ok := gauge(t, td, "peerjail_fleet_enforced_bans", "jail", "ssh"); v != 2 {
		t.Errorf("peerjail_fleet_enforced_bans{jail=ssh} = %v (%v); want the 2 fleet bans", v, ok)
	}
	if v, ok := gauge(t, td, "peerjail_fleet_connected"); v != 1 {
		t.Errorf("peerjail_fleet_connected = %v (%v); want 1", v, ok)
	}
}

// A fleet unban lifts the fleet's ban and never a local ban of the same
// key; a local ban is published as host-a's report.
func TestFleetUnbanLiftsOnlyFleetBans(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	td := fleetDaemon(t, t.TempDir(), srv.URL())
	r := newReporters(t, srv.URL())

	td.appendLines(t, failed("198.51.100.7", 3)...)
	waitFor(t, "the local ban", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.7/32") })
	waitFor(t, "host-a's report of its ban", func() bool { return r.count("host-a") == 1 })
	for _, key := range []string{"203.0.113.5", "198.51.100.7"} {
		r.send("host-b", fleet.Ban, key)
		r.send("host-c", fleet.Ban, key)
	}
	waitFor(t, "the fleet ban", func() bool { return inFirewall(td.fw, "ssh", "203.0.113.5/32") })
	if b, _ := fleetBanned(t, td, "198.51.100.7"); b.Source != "" {
		t.Errorf("the local ban became %+v; a local ban stands as it is", b)
	}
	// Withdrawn by both: the fleet's 203.0.113.5 is lifted; 198.51.100.7
	// keeps host-a's own vote only, below the quorum, and its local ban.
	for _, key := range []string{"203.0.113.5", "198.51.100.7"} {
		r.send("host-b", fleet.Unban, key)
		r.send("host-c", fleet.Unban, key)
	}
	waitFor(t, "the fleet ban lifted", func() bool { return !inFirewall(td.fw, "ssh", "203.0.113.5/32") })
	settle(t, td, r, "203.0.113.99")
	if !inFirewall(td.fw, "ssh", "198.51.100.7/32") {
		t.Error("a fleet unban lifted a local ban")
	}
	if _, ok := fleetBanned(t, td, "203.0.113.5"); ok {
		t.Error("status still shows the lifted fleet ban")
	}
	if _, ok := fleetStored(t, td, "203.0.113.5"); ok {
		t.Error("the store still holds the lifted fleet ban")
	}
	// Withdrawn when host-b's unban left host-c alone, below the quorum.
	waitFor(t, "the fleet's ban and unban in the audit trail", func() bool {
		return slices.Equal(fleetHistory(t, td, "203.0.113.5"), []string{"ban host-b,host-c", "unban host-c"})
	})
	if h := fleetHistory(t, td, "198.51.100.7"); len(h) != 0 {
		t.Errorf("the trail says the fleet did %q to the local ban", h)

	}
}

// A restarted host reads the stream again from its durable consumer (and
// rebuilds its votes from the window): the fleet ban it holds is decided
// again and changes nothing, neither the kernel nor the offence count.
func TestFleetRestartIsIdempotent(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	dir := t.TempDir()
	td := fleetDaemon(t, dir, srv.URL())
	r := newReporters(t, srv.URL())
	r.send("host-b", fleet.Ban, "203.0.113.5")
	r.send("host-c", fleet.Ban, "203.0.113.5")
	waitFor(t, "the fleet ban", func() bool { return inFirewall(td.fw, "ssh", "203.0.113.5/32") })
	before, _ := fleetStored(t, td, "203.0.113.5")
	td.stop()

	td = fleetDaemon(t, dir, srv.URL())
	waitFor(t, "the replayed quorum", func() bool { return len(fleetStatus(t, td).Jails) == 1 && fleetStatus(t, td).Jails[0].Banned == 1 })
	settle(t, td, r, "203.0.113.99")
	after, ok := fleetStored(t, td, "203.0.113.5")
	if !ok || after.Offences != before.Offences || !after.Until.Equal(before.Until) || after.Source != "fleet" {
		t.Errorf("after restart the ban is %+v; want it unchanged from %+v", after, before)
	}
	b, ok := fleetBanned(t, td, "203.0.113.5")
	if !ok || b.Source != "fleet" || !slices.Equal(b.Reporters, []string{"host-b", "host-c"}) {
		t.Errorf("status after restart: %+v, %v; want the fleet ban with its reporters", b, ok)
	}
	if !inFirewall(td.fw, "ssh", "203.0.113.5/32") {
		t.Error("the fleet ban is not in the firewall after restart")
	}
}

// With NATS down the host bans locally as ever, says the fleet is away in
// status, and keeps its report in the outbox until NATS is back.
func TestFleetUnreachableBansLocallyAndDrains(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	td := fleetDaemon(t, t.TempDir(), srv.URL())
	waitFor(t, "the fleet connected", func() bool { return fleetStatus(t, td).Connected })
	srv.Stop()
	waitFor(t, "the fleet away", func() bool { return !fleetStatus(t, td).Connected })

	td.appendLines(t, failed("198.51.100.7", 3)...)
	waitFor(t, "the local ban", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.7/32") })
	st, err := td.client().Status(context.Background(), "ssh")
	if err != nil {
		t.Fatal(err)
	}
	if f := st[0].Fleet; f == nil || f.Connected {
		t.Errorf("jail's fleet status %+v while NATS is down; want not connected", f)
	}
	if v, ok := gauge(t, td, "peerjail_fleet_connected"); !ok || v != 0 {
		t.Errorf("peerjail_fleet_connected = %v (%v) while NATS is down; want 0", v, ok)
	}
	waitFor(t, "the report in the outbox", func() bool { return fleetStatus(t, td).Outbox == 1 })

	srv.Start()
	r := newReporters(t, srv.URL())
	waitFor(t, "the outbox drained into the stream", func() bool {
		return r.count("host-a") == 1 && fleetStatus(t, td).Outbox == 0
	})
}

// A reload that leaves the fleet section and policies alone keeps the
// running link (its connection and counts); one that changes a policy
// starts a new one, whose metrics replace the old ones'.
func TestFleetReload(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o600)
	cfg := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(fleetConfig, log, srv.URL())), 0o600)
	td := newTestDaemonWith(t, dir, firewall.NewFake(), func(o *Options) { o.Registry = reg })
	waitFor(t, "the fleet connected", func() bool { return fleetStatus(t, td).Connected })
	first := td.d.fleet.link.Load()

	if err := td.client().Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if td.d.fleet.link.Load() != first {
		t.Error("a reload that changed nothing of the fleet restarted it")
	}
	os.WriteFile(cfg, []byte(strings.Replace(fmt.Sprintf(fleetConfig, log, srv.URL()), "quorum: 2", "quorum: 3", 1)), 0o600)
	if err := td.client().Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if td.d.fleet.link.Load() == first {
		t.Error("a reload that changed the quorum kept the old fleet")
	}
	if q := fleetStatus(t, td).Jails[0].Quorum; q != 3 {
		t.Errorf("quorum after reload %d; want 3", q)
	}
	waitFor(t, "peerjail_fleet_connected 1", func() bool {
		v, ok := seriesValue(t, reg, "peerjail_fleet_connected")
		return ok && v == 1
	})
}

// A need_local_hit jail waits, quorum or not, for one hit of the key in
// its own logs; that hit, far below maxretry, makes the fleet's ban.
func TestFleetNeedLocalHit(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o600)
	cfg := strings.Replace(fmt.Sprintf(fleetConfig, log, srv.URL()), "bantime: 2h}", "bantime: 2h, need_local_hit: true}", 1)
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(cfg), 0o600)
	td := newTestDaemonWith(t, dir, firewall.NewFake(), nil)
	r := newReporters(t, srv.URL())
	r.send("host-b", fleet.Ban, "203.0.113.5")
	r.send("host-c", fleet.Ban, "203.0.113.5")
	waitFor(t, "the quorum waiting for a local hit", func() bool {
		j := fleetStatus(t, td).Jails
		return len(j) == 1 && j[0].Waiting == 1
	})
	if inFirewall(td.fw, "ssh", "203.0.113.5/32") {
		t.Fatal("banned before any local hit")
	}
	td.appendLines(t, failed("203.0.113.5", 1)...)
	waitFor(t, "the fleet ban after the local hit", func() bool { return inFirewall(td.fw, "ssh", "203.0.113.5/32") })
	if b, _ := fleetBanned(t, td, "203.0.113.5"); b.Source != "fleet" {
		t.Errorf("status %+v; want a fleet ban", b)
	}
}

// A fleet whose outbox cannot be opened stops the start with the reason,
// and the start undoes everything it did: the generation stops (goleak in
// TestMain sees no goroutine left), and a daemon starts afterwards.
func TestFleetOutboxUnopenableFailsStart(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o600)
	cfg := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(fleetConfig, log, "nats://127.0.0.1:1")), 0o600)
	state := filepath.Join(dir, "state.db")
	if err := os.Mkdir(OutboxPath(state), 0o700); err != nil {
		t.Fatal(err)
	}
	o := Options{ConfigPath: cfg, StatePath: state, SocketPath: filepath.Join(dir, "run", "peerjail.sock"),
		Logger: slog.New(slog.DiscardHandler), NewFirewall: func() (firewall.Firewall, error) { return firewall.NewFake(), nil },
		Notify: func(string) {}}
	_, err := Start(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "fleet outbox") {
		t.Fatalf("start with an unopenable outbox: %v; want the outbox's error", err)
	}
	os.Remove(OutboxPath(state))
	d, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start after the failed one: %v", err)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
}
