//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/peerjail/peerjail/internal/fleet"
	"github.com/peerjail/peerjail/internal/fleet/natstest"
	"github.com/peerjail/peerjail/internal/netnstest"
)

// e2eFleet is three hosts, each in its namespace with its own nftables
// table, linked by veth pairs to a namespace where one nats-server runs:
// nothing of it is reachable from, or dials from, the host's namespace.
type e2eFleet struct {
	t     *testing.T
	nats  *netnstest.NS
	hosts []*e2eNode
	names []string
	links []string // each host's end of its veth pair to NATS
}

func newFleet(t *testing.T) *e2eFleet {
	t.Helper()
	natstest.Need(t)
	f := &e2eFleet{t: t, nats: netnstest.New(t)}
	for i := range 3 {
		n := newNode(t, "fleet.yaml")
		natsIf, hostIf := netnstest.Veth(t, f.nats, n.ns)
		f.nats.AddAddr(t, natsIf, fmt.Sprintf("10.77.%d.1/24", i+1))
		n.ns.AddAddr(t, hostIf, fmt.Sprintf("10.77.%d.2/24", i+1))
		name := fmt.Sprintf("host-%c", 'a'+i)
		b, err := os.ReadFile(n.cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := strings.NewReplacer("{{NATS}}", fmt.Sprintf("nats://10.77.%d.1:4222", i+1), "{{REPORTER}}", name)
		if err := os.WriteFile(n.cfg, []byte(r.Replace(string(b))), 0o600); err != nil {
			t.Fatal(err)
		}
		f.hosts, f.names, f.links = append(f.hosts, n), append(f.names, name), append(f.links, hostIf)
	}
	f.startNATS()
	return f
}

// startNATS runs nats-server with JetStream inside the NATS namespace until
// the test ends.
func (f *e2eFleet) startNATS() {
	t := f.t
	dir := t.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	logPath := filepath.Join(dir, "nats.log")
	text := fmt.Sprintf("server_name: nats-e2e\nlisten: 0.0.0.0:4222\njetstream {\n  store_dir: %q\n  max_memory_store: 64MB\n  max_file_store: 1GB\n}\n", filepath.Join(dir, "js"))
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("ip", "netns", "exec", f.nats.Name, natstest.Binary, "-c", conf)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	// Readiness is read from its log: the host's namespace never dials it.
	waitFor(t, 20*time.Second, "nats-server ready", func() bool {
		b, _ := os.ReadFile(logPath)
		select {
		case <-exited:
			t.Fatalf("nats-server exited: %s", b)
		default:
		}
		return strings.Contains(string(b), "Server is ready")
	})
}

// fleetStatus is `peerjail fleet status --json` on host i.
func (f *e2eFleet) fleetStatus(i int) (fleet.Status, bool) {
	n := f.hosts[i]
	code, out, _ := n.cli("fleet", "status", "--json", "--socket", n.sock)
	var st fleet.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		return st, false
	}
	return st, true
}

func (f *e2eFleet) waitConnected(i int) {
	f.t.Helper()
	waitFor(f.t, 20*time.Second, f.names[i]+" connected to the fleet", func() bool {
		st, ok := f.fleetStatus(i)
		return ok && st.Connected
	})
}

// reportsSeen is how many reports host i has read from reporter.
func (f *e2eFleet) reportsSeen(i int, reporter string) int64 {
	st, _ := f.fleetStatus(i)
	for _, r := range st.Reporters {
		if r.Reporter == reporter {
			return r.Reports
		}
	}
	return 0
}

// fail writes the lines that make host i ban each of hosts locally.
func (f *e2eFleet) fail(i int, hosts ...string) {
	f.t.Helper()
	var b strings.Builder
	now := time.Now().Format(time.Stamp)
	for _, h := range hosts {
		for p := range 3 {
			fmt.Fprintf(&b, "%s %s sshd[7]: Failed password for root from %s port %d ssh2\n", now, f.names[i], h, 40000+p)
		}
	}
	lf, err := os.OpenFile(f.hosts[i].log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	defer lf.Close()
	if _, err := lf.WriteString(b.String()); err != nil {
		f.t.Fatal(err)
	}
}

func (f *e2eFleet) inKernel(i int, host string) bool {
	_, ok := f.hosts[i].kernelBans()[host]
	return ok
}

// With quorum 2: a key one host reports is banned nowhere else; one that
// two report is in all three hosts' kernel sets, marked fleet on the one
// that did not see it; a host stopped during the reports bans it when it
// starts again.
func TestE2EFleetQuorum(t *testing.T) {
	f := newFleet(t)
	daemons := make([]*e2eDaemon, 3)
	for i := range 3 {
		daemons[i] = f.hosts[i].start()
	}
	for i := range 3 {
		f.waitConnected(i)
	}

	f.fail(0, "198.18.0.1")
	waitFor(t, 10*time.Second, "host-a's local ban", func() bool { return f.inKernel(0, "198.18.0.1") })
	for i := 1; i < 3; i++ {
		waitFor(t, 10*time.Second, f.names[i]+" reads host-a's report", func() bool { return f.reportsSeen(i, "host-a") >= 1 })
	}

	f.fail(0, "198.18.0.2")
	f.fail(1, "198.18.0.2")
	reported := time.Now()
	waitFor(t, 10*time.Second, "host-c's fleet ban", func() bool { return f.inKernel(2, "198.18.0.2") })
	// The bound, from the lines (so the local bans and the reports
	// are in it too); TestE2EFleetBanLatencyFigure measures it finely.
	if took := time.Since(reported); took > time.Second {
		t.Errorf("host-c's fleet ban took %s after both hosts' lines were written; want within a second", took)
	}
	for i := range 2 {
		if !f.inKernel(i, "198.18.0.2") {
			t.Errorf("%s does not ban the key it reported", f.names[i])
		}
	}
	for i := 1; i < 3; i++ {
		if f.inKernel(i, "198.18.0.1") {
			t.Errorf("%s bans 198.18.0.1, which only host-a reported", f.names[i])
		}
	}
	b := bannedHosts(f.hosts[2].mustStatus())["198.18.0.2"]
	if b.Source != "fleet" || !slices.Equal(b.Reporters, []string{"host-a", "host-b"}) {
		t.Errorf("host-c's status of the fleet ban: %+v; want source fleet, reporters host-a, host-b", b)
	}

	daemons[2].signal(syscall.SIGTERM)
	if err := daemons[2].wait(20 * time.Second); err != nil {
		t.Fatalf("host-c stopped with %v", err)
	}
	f.fail(0, "198.18.0.3")
	f.fail(1, "198.18.0.3")
	for i := range 2 {
		waitFor(t, 10*time.Second, f.names[i]+"'s ban of 198.18.0.3", func() bool { return f.inKernel(i, "198.18.0.3") })
	}
	waitFor(t, 10*time.Second, "host-b reads host-a's report of 198.18.0.3", func() bool { return f.reportsSeen(1, "host-a") >= 3 })
	daemons[2] = f.hosts[2].start()
	waitFor(t, 10*time.Second, "host-c bans on start what was decided while it was away", func() bool { return f.inKernel(2, "198.18.0.3") })
	if f.inKernel(2, "198.18.0.1") {
		t.Error("host-c bans 198.18.0.1 after its restart; only host-a reported it")
	}
	for _, d := range daemons {
		d.checkLog()
	}
}

var elementAddr = regexp.MustCompile(`\b198\.1[89]\.\d+\.\d+\b`)

// monitor records when each 198.18.x.y element first appears in the
// namespace's sets.
type monitor struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (f *e2eFleet) monitor(i int) *monitor {
	f.t.Helper()
	m := &monitor{seen: map[string]time.Time{}}
	cmd := exec.Command("ip", "netns", "exec", f.hosts[i].ns.Name, "nft", "monitor", "new", "elements")
	out, err := cmd.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			now := time.Now()
			m.mu.Lock()
			for _, a := range elementAddr.FindAllString(sc.Text(), -1) {
				if _, ok := m.seen[a]; !ok {
					m.seen[a] = now
				}
			}
			m.mu.Unlock()
		}
	}()
	f.t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		_ = cmd.Wait()
	})
	return m
}

func (m *monitor) at(a string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.seen[a]
	return t, ok
}

// A host cut off from NATS (its link down) keeps banning locally, says in
// status that the fleet is unreachable, queues its report and sends it when
// the link is back; the others then ban what it and one other reported.
func TestE2EFleetPartition(t *testing.T) {
	f := newFleet(t)
	for i := range 3 {
		f.hosts[i].start()
	}
	for i := range 3 {
		f.waitConnected(i)
	}
	c := f.hosts[2]
	c.ns.MustExec(t, "ip", "link", "set", f.links[2], "down")
	waitFor(t, 30*time.Second, "host-c sees the fleet away", func() bool {
		st, ok := f.fleetStatus(2)
		return ok && !st.Connected
	})
	f.fail(2, "198.18.1.1")
	waitFor(t, 10*time.Second, "host-c's local ban", func() bool { return f.inKernel(2, "198.18.1.1") })
	if fl := c.mustStatus().Fleet; fl == nil || fl.Connected {
		t.Errorf("host-c's status of the fleet %+v during the partition; want unreachable", fl)
	}
	if _, out, _ := c.cli("status", "ssh", "--socket", c.sock); !strings.Contains(out, "UNREACHABLE") {
		t.Errorf("host-c's status text does not say the fleet is unreachable:\n%s", out)
	}
	waitFor(t, 10*time.Second, "host-c's report queued", func() bool {
		st, _ := f.fleetStatus(2)
		return st.Outbox == 1
	})
	f.fail(1, "198.18.1.1")
	waitFor(t, 10*time.Second, "host-b's local ban", func() bool { return f.inKernel(1, "198.18.1.1") })
	if f.inKernel(0, "198.18.1.1") {
		t.Fatal("host-a bans on host-b's report alone")
	}

	c.ns.MustExec(t, "ip", "link", "set", f.links[2], "up")
	waitFor(t, 30*time.Second, "host-c's outbox drained", func() bool {
		st, ok := f.fleetStatus(2)
		return ok && st.Connected && st.Outbox == 0
	})
	waitFor(t, 10*time.Second, "host-a's fleet ban once host-c's report arrived", func() bool { return f.inKernel(0, "198.18.1.1") })
	b := bannedHosts(f.hosts[0].mustStatus())["198.18.1.1"]
	if b.Source != "fleet" || !slices.Equal(b.Reporters, []string{"host-b", "host-c"}) {
		t.Errorf("host-a's status of the ban: %+v; want fleet by host-b and host-c", b)
	}
}

// TestE2EFleetBanLatencyFigure measures, over 1,000 keys, the time from the
// quorum-completing report (the second host's, as the stream stamps it) to the key's element in all three hosts' kernel sets. It is a figure,
// not a check, and runs only when asked:
//
//	PEERJAIL_FLEET_FIGURE=1 go test -count=1 -run TestE2EFleetBanLatencyFigure -v ./cmd/peerjail/
//
// The reports are read by a NATS client inside the NATS namespace, on its
// loopback; the elements by `nft monitor` inside each host's namespace. The
// keys go one at a time: each waits for the one before in all kernels.
func TestE2EFleetBanLatencyFigure(t *testing.T) {
	if os.Getenv("PEERJAIL_FLEET_FIGURE") == "" {
		t.Skip("a figure: set PEERJAIL_FLEET_FIGURE=1 to measure it")
	}
	keys := 1000
	f := newFleet(t)
	for i := range 3 {
		f.hosts[i].start()
	}
	for i := range 3 {
		f.waitConnected(i)
	}
	mons := []*monitor{f.monitor(0), f.monitor(1), f.monitor(2)}
	reports := f.watchReports()
	// `nft monitor` prints nothing once it listens: keys outside the
	// measured ones are banned until every monitor has seen one.
	warmed := 0
	waitFor(t, 20*time.Second, "the monitors listening", func() bool {
		warmed++
		warm := fmt.Sprintf("198.19.0.%d", warmed)
		f.fail(0, warm)
		f.fail(1, warm)
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			n := 0
			for _, m := range mons {
				if _, ok := m.at(warm); ok {
					n++
				}
			}
			if n == len(mons) {
				return true
			}
			time.Sleep(10 * time.Millisecond)
		}
		return false
	})
	lat := make([]time.Duration, 0, keys)
	for k := range keys {
		host := fmt.Sprintf("198.18.%d.%d", k/200, k%200+1)
		f.fail(0, host)
		f.fail(1, host)
		var last time.Time
		waitFor(t, 10*time.Second, host+" in every kernel", func() bool {
			last = time.Time{}
			for _, m := range mons {
				at, ok := m.at(host)
				if !ok {
					return false
				}
				if at.After(last) {
					last = at
				}
			}
			return true
		})
		var done time.Time
		waitFor(t, 10*time.Second, host+"'s two reports", func() bool {
			var ok bool
			done, ok = reports.completed(host, 2)
			return ok
		})
		lat = append(lat, last.Sub(done))
	}
	logLatency(t, fmt.Sprintf("one at a time, %d keys", keys), lat)

	// A storm: as many keys again, written at once on both hosts.
	var storm []string
	for k := keys; k < 2*keys; k++ {
		storm = append(storm, fmt.Sprintf("198.18.%d.%d", k/200, k%200+1))
	}
	start := time.Now()
	f.fail(0, storm...)
	f.fail(1, storm...)
	lat = lat[:0]
	waitFor(t, 60*time.Second, "the storm's keys in every kernel", func() bool {
		for _, host := range storm[len(lat):] {
			var last time.Time
			for _, m := range mons {
				at, ok := m.at(host)
				if !ok {
					return false
				}
				if at.After(last) {
					last = at
				}
			}
			done, ok := reports.completed(host, 2)
			if !ok {
				return false
			}
			lat = append(lat, last.Sub(done))
		}
		return true
	})
	t.Logf("storm of %d keys: in all 3 kernels %v after the lines were written", keys, time.Since(start).Round(time.Millisecond))
	logLatency(t, fmt.Sprintf("storm, %d keys", keys), lat)
}

func logLatency(t *testing.T, what string, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	t.Logf("fleet ban latency (%s), quorum-completing report to the element in all 3 kernels: min %v, p50 %v, p99 %v, max %v",
		what, r(lat[0]), r(q(0.50)), r(q(0.99)), r(lat[len(lat)-1]))
}

// reportWatch records the stream's stamp of each reporter's first ban
// report of each key.
type reportWatch struct {
	mu   sync.Mutex
	seen map[string]map[string]time.Time // key → reporter → when
}

// watchReports subscribes, from inside the NATS namespace, to every report.
func (f *e2eFleet) watchReports() *reportWatch {
	f.t.Helper()
	w := &reportWatch{seen: map[string]map[string]time.Time{}}
	var nc *nats.Conn
	// The dial starts inside the NATS namespace, to its loopback; no
	// reconnect may dial again from elsewhere.
	err := f.nats.Run(func() error {
		var err error
		nc, err = nats.Connect("nats://127.0.0.1:4222", nats.NoReconnect())
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(nc.Close)
	// The stream's own stamp of each report: the time the quorum counts.
	js, err := jetstream.New(nc)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx := f.t.Context()
	var c jetstream.Consumer
	waitFor(f.t, 10*time.Second, "the fleet's stream", func() bool {
		c, err = js.OrderedConsumer(ctx, "PEERJAIL", jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy})
		return err == nil
	})
	cc, err := c.Consume(func(m jetstream.Msg) {
		meta, err := m.Metadata()
		var r struct{ Action, Key string }
		if err != nil || json.Unmarshal(m.Data(), &r) != nil || r.Action != "ban" {
			return
		}
		reporter := strings.Split(m.Subject(), ".")[2]
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.seen[r.Key] == nil {
			w.seen[r.Key] = map[string]time.Time{}
		}
		if _, ok := w.seen[r.Key][reporter]; !ok {
			w.seen[r.Key][reporter] = meta.Timestamp
		}
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { cc.Stop(); <-cc.Closed() })
	return w
}

// completed is the stream's stamp of key's quorum-th reporter's report.
func (w *reportWatch) completed(key string, quorum int) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ts []time.Time
	for _, at := range w.seen[key] {
		ts = append(ts, at)
	}
	if len(ts) < quorum {
		return time.Time{}, false
	}
	slices.SortFunc(ts, time.Time.Compare)
	return ts[quorum-1], true
}
