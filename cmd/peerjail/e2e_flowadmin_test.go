//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/flowadmin/flowadmintest"
)

// Identities of the flow-go fixtures (tools/fixtures/flow/main.go): peer A
// is the execution node f9237c89…, which its connection line names as
// remote_node_id.
const (
	flowPeerA = "16Uiu2HAmQ8WCeAJ1uvX6LkK4AfXdaXnWxAFSm1dh7xWwBRSzH9wZ"
	flowNodeA = "f9237c896507b8d654165c36b61c9a3080e6dd042dea562a4a494fbd73133634"
	flowPeerB = "16Uiu2HAkwj1qgPPaPtMVjGc6JyjbQyE36sKTqWhq9f8NJdKHz1uN"
	flowNodeB = "5be1f1e5c0b2d8a3e4f6071829304a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5"
)

// The operator's own blocklist entries, put there by hand with set-config.
var flowOperatorIDs = []string{
	"1111111111111111111111111111111111111111111111111111111111111111",
	"e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0",
}

// TestE2EFlowAdminExample runs issue 9's example as written
// (configs/examples/flow-admin.yaml: only the log path and the admin
// server's port changed) with the real binary in a namespace, against a
// Flow admin server on the namespace's loopback. Three slashing-consumer
// lines for one peer_id, which carry no address, put the peer's node ID on
// network-id-provider-blocklist beside the operator's entries, and the
// address the connection gater logged for the peer into the kernel. The
// ban survives a restart; a ban that ends while peerjail is down is lifted
// from the blocklist at the next start, the operator's entries kept.
func TestE2EFlowAdminExample(t *testing.T) {
	n := newNode(t, "ssh.yaml")
	var srv *flowadmintest.Server
	// httptest listens on the calling thread's namespace: the daemon's.
	if err := n.ns.Run(func() error { srv = flowadmintest.New(); return nil }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.SetBlocklist(flowOperatorIDs...)
	srv.SetIdentity(flowPeerA, flowadmintest.Identity{NodeID: flowNodeA, Role: "execution", Address: "execution-001.example.org:3569"})
	srv.SetIdentity(flowPeerB, flowadmintest.Identity{NodeID: flowNodeB, Role: "collection", Address: "collection-004.example.org:3569"})

	example, err := os.ReadFile(filepath.Join("..", "..", "configs", "examples", "flow-admin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(example)
	for _, r := range [][2]string{{"/var/log/flow/node.log", n.log}, {"127.0.0.1:9002", strings.TrimPrefix(srv.URL(), "http://")}} {
		if strings.Count(cfg, r[0]) != 1 {
			t.Fatalf("the example names %q %d times, want once", r[0], strings.Count(cfg, r[0]))
		}
		cfg = strings.Replace(cfg, r[0], r[1], 1)
	}
	if err := os.WriteFile(n.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	d := n.start()
	connected, slashing := flowFixtureLines(t)
	// 127.0.0.2, where the fixture's peer connected from, is loopback,
	// which no jail bans: the connection line here names a routable one.
	connected = strings.Replace(connected, "/ip4/127.0.0.2/tcp/3569", "/ip4/198.51.100.7/tcp/3569", 1)
	n.appendLines(stamped(connected), stamped(slashing), stamped(slashing), stamped(slashing))

	onList := func(id string) func() bool { return func() bool { return slices.Contains(srv.Blocklist(), id) } }
	waitFor(t, 20*time.Second, "node A on the blocklist", onList(flowNodeA))
	st := n.flowStatus(20*time.Second, "peer A's ban enforced", func(st control.JailStatus) bool {
		b, ok := bannedHosts(st)[flowPeerA]
		return ok && b.Enforcement == control.Enforced && flowActionHeld(st) > 0
	})
	checkFlowBan(t, n, srv, st, flowNodeA)
	if b, _ := json.Marshal(st); testing.Verbose() {
		t.Logf("status: %s", b)
	}
	if srv.Calls("get-latest-identity") == 0 {
		t.Error("the peer ID was never mapped with get-latest-identity")
	}

	// Restarted between the ban and its end: the ban stays everywhere.
	d.signal(syscall.SIGTERM)
	if err := d.wait(20 * time.Second); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}
	d.checkLog()
	d = n.start()
	st = n.flowStatus(20*time.Second, "peer A's ban restored", func(st control.JailStatus) bool {
		b, ok := bannedHosts(st)[flowPeerA]
		return ok && b.Enforcement == control.Enforced
	})
	checkFlowBan(t, n, srv, st, flowNodeA)

	// A ban that ends while peerjail is down.
	if code, out, errOut := n.cli("ban", "flow-byzantine", flowPeerB, "--for", "4s", "--socket", n.sock); code != 0 {
		t.Fatalf("peerjail ban: exit %d: %s%s", code, out, errOut)
	}
	waitFor(t, 20*time.Second, "node B on the blocklist", onList(flowNodeB))
	st = n.flowStatus(20*time.Second, "peer B's ban in status", func(st control.JailStatus) bool {
		_, ok := bannedHosts(st)[flowPeerB]
		return ok
	})
	ends := bannedHosts(st)[flowPeerB].Until
	d.signal(syscall.SIGTERM)
	if err := d.wait(20 * time.Second); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}
	if !slices.Contains(srv.Blocklist(), flowNodeB) {
		t.Fatalf("node B left the blocklist before peerjail stopped (%v): the test ends nothing while it is down", srv.Blocklist())
	}
	waitFor(t, 30*time.Second, "peer B's ban to end while peerjail is down", func() bool { return time.Now().After(ends.Add(time.Second)) })
	d = n.start()
	waitFor(t, 20*time.Second, "node B off the blocklist", func() bool { return !slices.Contains(srv.Blocklist(), flowNodeB) })
	st = n.mustFlowStatus()
	if _, ok := bannedHosts(st)[flowPeerB]; ok {
		t.Errorf("peer B's ended ban is in status: %+v", st.Banned)
	}
	checkFlowBan(t, n, srv, st, flowNodeA)
	d.checkLog()
}

// checkFlowBan checks what peer A's ban holds: its node ID on the
// blocklist with every operator entry, its address in the kernel, and
// status saying so.
func checkFlowBan(t *testing.T, n *e2eNode, srv *flowadmintest.Server, st control.JailStatus, node string) {
	t.Helper()
	list := srv.Blocklist()
	for _, id := range append([]string{node}, flowOperatorIDs...) {
		if !slices.Contains(list, id) {
			t.Errorf("blocklist %v lacks %s", list, id)
		}
	}
	b := bannedHosts(st)[flowPeerA]
	if !slices.Equal(b.Addrs, []string{"198.51.100.7"}) {
		t.Errorf("peer A's ban has addresses %v, want [198.51.100.7]", b.Addrs)
	}
	if rem := time.Duration(b.Remaining); rem <= 50*time.Minute || rem > time.Hour {
		t.Errorf("peer A's ban remaining %v, want about the example's bantime 1h", rem)
	}
	if got := n.setElements("flow-byzantine_v4"); !slices.Equal(got, []string{"198.51.100.7"}) {
		t.Errorf("kernel set flow-byzantine_v4 holds %v, want [198.51.100.7]", got)
	}
	names := map[string]control.ActionStatus{}
	for _, a := range st.Actions {
		names[strings.Fields(a.Name)[0]] = a
	}
	fa, ok := names["flow-admin"]
	if !ok || !strings.Contains(fa.Name, srv.URL()) || fa.Error != "" {
		t.Errorf("status actions %+v: want a flow-admin line naming %s, without error", st.Actions, srv.URL())
	}
	if _, ok := names["nftables"]; !ok {
		t.Errorf("status actions %+v: want an nftables line", st.Actions)
	}
}

func flowActionHeld(st control.JailStatus) int {
	for _, a := range st.Actions {
		if strings.HasPrefix(a.Name, "flow-admin") {
			return a.Held
		}
	}
	return 0
}

// flowFixtureLines are, from the flow-go fixture (testdata/real), the
// connection gater's line for peer A with its remote_node_id and the
// slashing consumer's line naming peer A by peer_id alone.
func flowFixtureLines(t *testing.T) (connected, slashing string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "real", "flow-go", "v0.31+", "zerolog-json", "raw.log"))
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(b)) {
		l = strings.TrimSuffix(l, "\n")
		switch {
		case strings.Contains(l, `"message":"inbound connection established"`) && strings.Contains(l, flowPeerA) && strings.Contains(l, `"remote_node_id"`):
			connected = l
		case strings.Contains(l, `"module":"network_slashing_consumer"`) && strings.Contains(l, `"peer_id":"`+flowPeerA+`"`):
			if strings.Contains(l, "remote_address") {
				t.Fatalf("the slashing line carries an address: %s", l)
			}
			slashing = l
		}
	}
	if connected == "" || slashing == "" {
		t.Fatal("the flow-go fixture lacks peer A's connection or slashing line")
	}
	return connected, slashing
}

// stamped is a fixture line with zerolog's time field set to now, as the
// node would write it today.
func stamped(l string) string {
	i := strings.Index(l, `"time":"`)
	if i < 0 {
		return l
	}
	j := strings.IndexByte(l[i+8:], '"')
	return l[:i+8] + time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00") + l[i+8+j:]
}

func (n *e2eNode) appendLines(lines ...string) {
	n.t.Helper()
	f, err := os.OpenFile(n.log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		n.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		n.t.Fatal(err)
	}
}

func (n *e2eNode) flowStatusOnce() (control.JailStatus, error) {
	code, out, errOut := n.cli("status", "--json", "--socket", n.sock)
	if code != 0 {
		return control.JailStatus{}, &statusError{code, errOut}
	}
	var st []control.JailStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != 1 || st[0].Name != "flow-byzantine" {
		return control.JailStatus{}, &statusError{code, "want one jail flow-byzantine, got " + out}
	}
	return st[0], nil
}

type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return "status: " + e.msg }

func (n *e2eNode) mustFlowStatus() control.JailStatus {
	n.t.Helper()
	st, err := n.flowStatusOnce()
	if err != nil {
		n.t.Fatal(err)
	}
	return st
}

func (n *e2eNode) flowStatus(limit time.Duration, what string, ok func(control.JailStatus) bool) control.JailStatus {
	n.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		st, err := n.flowStatusOnce()
		if err == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(st)
			n.t.Fatalf("waiting %v for %s: last status %s, err %v", limit, what, b, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// setElements lists the elements of one set of table inet peerjail.
func (n *e2eNode) setElements(set string) []string {
	n.t.Helper()
	out, err := n.ns.Exec("nft", "-j", "list", "set", "inet", "peerjail", set)
	if err != nil {
		n.t.Fatalf("nft list set %s: %v: %s", set, err, out)
	}
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []json.RawMessage
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		n.t.Fatalf("nft -j list set %s: %v: %s", set, err, out)
	}
	var elems []string
	for _, obj := range doc.Nftables {
		if obj.Set == nil {
			continue
		}
		for _, raw := range obj.Set.Elem {
			var e struct {
				Elem struct{ Val any }
			}
			var s string
			if json.Unmarshal(raw, &s) == nil {
				elems = append(elems, s)
			} else if json.Unmarshal(raw, &e) == nil {
				if v, ok := e.Elem.Val.(string); ok {
					elems = append(elems, v)
				} else {
					elems = append(elems, string(raw))
				}
			}
		}
	}
	slices.Sort(elems)
	return elems
}
