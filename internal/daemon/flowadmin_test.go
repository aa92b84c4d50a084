package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/flowadmin"
	"github.com/peerjail/peerjail/internal/flowadmin/flowadmintest"
)

// The restart case with the real flow-admin backend against a Flow admin
// server: a node ID banned, peerjail stopped, its ban ending while it is
// down, and the node ID taken off the blocklist at the next start, the
// operator's own entry left alone.
func TestFlowAdminBanEndsWhileDown(t *testing.T) {
	srv := flowadmintest.New()
	defer srv.Close()
	own := "1111111111111111111111111111111111111111111111111111111111111111"
	node := "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd"
	srv.SetBlocklist(own)
	dir := t.TempDir()
	cfg := fmt.Sprintf("jails:\n  flow:\n    filter: flow-suspicious\n    source: {files: [%s]}\n    actions: [{type: flow-admin, url: '%s'}]\n",
		filepath.Join(dir, "auth.log"), srv.URL())
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(cfg), 0o600)
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	opt := func(o *Options) {
		o.Constructors = map[config.ActionType]action.Constructor{config.ActionFlowAdmin: flowadmin.New}
		o.Now = now
	}
	td := newTestDaemonWith(t, dir, firewall.NewFake(), opt)
	ctx := context.Background()
	if _, err := td.client().Ban(ctx, "flow", node, 10*time.Minute, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the node ID on the blocklist", func() bool { return slices.Contains(srv.Blocklist(), node) })
	waitFor(t, "the ban enforced in status", func() bool {
		st, err := td.client().Status(ctx, "flow")
		return err == nil && len(st[0].Banned) == 1 && st[0].Banned[0].Enforcement == control.Enforced &&
			st[0].Actions[0].Held == 1
	})
	td.stop()

	mu.Lock()
	clock = clock.Add(time.Hour)
	mu.Unlock()
	newTestDaemonWith(t, dir, firewall.NewFake(), opt)
	waitFor(t, "the ended ban lifted at start", func() bool { return !slices.Contains(srv.Blocklist(), node) })
	if !slices.Contains(srv.Blocklist(), own) {
		t.Errorf("the operator's entry is gone: %v", srv.Blocklist())
	}
}
