package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
)

// A node ID that flow-go's sync engine blames (origin_id, no address) is
// banned with the address at which the connection gater saw that node
// (remote_node_id beside peer_id and remote_address), in the kernel too.
func TestDaemonNodeIDBanGetsGaterAddress(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "real", "flow-go", "v0.31+", "zerolog-json", "raw.log"))
	if err != nil {
		t.Fatal(err)
	}
	const node = "f9237c896507b8d654165c36b61c9a3080e6dd042dea562a4a494fbd73133634"
	var gater, sync []string
	for l := range strings.Lines(string(b)) {
		l = strings.TrimSuffix(l, "\n")
		switch {
		case strings.Contains(l, `"message":"inbound connection established"`) && strings.Contains(l, `"remote_node_id":"`+node+`"`):
			gater = append(gater, l)
		case strings.Contains(l, `"engine":"synchronization"`) && strings.Contains(l, `"origin_id":"`+node+`"`):
			sync = append(sync, l)
		}
	}
	if len(gater) != 1 || len(sync) != 2 {
		t.Fatalf("fixture: %d gater lines naming the node, %d sync engine lines blaming it; want 1 and 2", len(gater), len(sync))
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	restamp := func(l string) string {
		i := strings.Index(l, `"time":"`) + len(`"time":"`)
		return l[:i] + now + l[i+strings.IndexByte(l[i:], '"'):]
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o600)
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(
		"jails:\n  flow:\n    filter: flow-suspicious\n    key: id\n    source: {files: [%s]}\n    maxretry: 3\n    ignoreself: false\n", log)), 0o600)
	td := newTestDaemon(t, dir, firewall.NewFake())
	// The fixture's 127.0.0.2 is loopback, which no jail bans.
	td.appendLines(t, restamp(strings.Replace(gater[0], "/ip4/127.0.0.2/", "/ip4/198.51.100.7/", 1)),
		restamp(sync[0]), restamp(sync[1]), restamp(sync[0]))
	waitFor(t, "the node's address in the firewall", func() bool { return inFirewall(td.fw, "flow", "198.51.100.7/32") })
	sts, err := td.client().Status(context.Background(), "flow")
	if err != nil {
		t.Fatal(err)
	}
	if len(sts[0].Banned) != 1 || sts[0].Banned[0].Host != node || !slices.Equal(sts[0].Banned[0].Addrs, []string{"198.51.100.7"}) {
		t.Errorf("banned %+v: want the node ID with 198.51.100.7", sts[0].Banned)
	}
}
