package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
)

// manualConfig has an address jail with an ignoreip entry, and a jail whose
// filter yields identities (<ID>).
const manualConfig = `filters:
  peer-ids:
    regex:
      fail: ['bad peer <ID>']
jails:
  ssh:
    filter: sshd
    source: {files: [%[1]s]}
    maxretry: 3
    findtime: 10m
    bantime: 1h
    ignoreip: [127.0.0.0/8, '::1', 192.0.2.100, 2001:db8:aaaa::/48]
    ignoreself: false
  peers:
    filter: peer-ids
    source: {files: [%[1]s]}
    maxretry: 3
    findtime: 10m
    bantime: 1h
    ignoreself: false
`

func newManualDaemon(t *testing.T) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o600)
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(manualConfig, log)), 0o600)
	return newTestDaemon(t, dir, firewall.NewFake())
}

// A manual ban takes exactly what the filters' <HOST> takes, or a CIDR
// prefix; anything else is refused as the operator's mistake (exit 2) and
// leaves no trace. What is taken reaches the firewall.
func TestManualBanInputs(t *testing.T) {
	td := newManualDaemon(t)
	c, ctx := td.client(), context.Background()
	tests := []struct {
		jail, host string
		force      bool
		kernel     string // the element banned; "" for a refusal or an identity
		key        string // the ban as status shows it
		refusal    string
	}{
		{"ssh", "192.0.2.40:4001", false, "192.0.2.40/32", "192.0.2.40", ""},
		{"ssh", "/ip4/192.0.2.14/tcp/4001", false, "192.0.2.14/32", "192.0.2.14", ""},
		{"ssh", "/ip6/2001:db8:1::5/udp/4001/quic-v1", false, "2001:db8:1::/64", "2001:db8:1::/64", ""},
		{"ssh", "[2001:db8:2::1]:4001", false, "2001:db8:2::/64", "2001:db8:2::/64", ""},
		{"ssh", "::ffff:192.0.2.41", false, "192.0.2.41/32", "192.0.2.41", ""},
		{"ssh", "198.51.100.0/24", false, "198.51.100.0/24", "198.51.100.0/24", ""},
		{"ssh", "192.0.2.42", false, "192.0.2.42/32", "192.0.2.42", ""},
		{"ssh", "1.2.3.4,", false, "", "", "takes an address as logs write it"},
		{"ssh", "host.example.com", false, "", "", "takes an address as logs write it"},
		{"ssh", "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", false, "", "", "takes an address"},
		{"ssh", "/dns4/example.com/tcp/4001", false, "", "", "takes an address"},
		{"ssh", "0.0.0.0/0", false, "", "", "would match every address"},
		{"ssh", "::/0", true, "", "", "would match every address"},
		{"ssh", "::ffff:0.0.0.0/96", true, "", "", "would match every address"},
		{"ssh", "127.0.0.1", false, "", "", "loopback"},
		{"ssh", "192.0.2.100:22", false, "", "", "ignoreip 192.0.2.100"},
		{"ssh", "2001:db8:aaaa:1::9", false, "", "", "ignoreip 2001:db8:aaaa::/48"},
		{"ssh", "192.0.2.0/24", false, "", "", "ignoreip 192.0.2.100"},
		{"ssh", "224.0.0.251", false, "", "", "multicast"},
		{"ssh", "fe80::1", false, "", "", "link-local"},
		{"ssh", "192.0.2.100", true, "192.0.2.100/32", "192.0.2.100", ""},
		{"peers", "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", false, "", "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", ""},
		{"peers", "1.2.3.4,", false, "", "", "or an identity"},
		{"peers", "203.0.113.9:4001", false, "203.0.113.9/32", "203.0.113.9", ""},
	}
	for _, tt := range tests {
		r, err := c.Ban(ctx, tt.jail, tt.host, time.Hour, tt.force)
		if tt.refusal != "" {
			if err == nil || !strings.Contains(err.Error(), tt.refusal) || !errors.Is(err, control.ErrInvalid) {
				t.Errorf("ban %s %q (force %v): %v, %+v; want an invalid-input refusal with %q", tt.jail, tt.host, tt.force, err, r, tt.refusal)
			}
			continue
		}
		if err != nil || r.Host != tt.key {
			t.Errorf("ban %s %q: %+v, %v; want %s", tt.jail, tt.host, r, err, tt.key)
			continue
		}
		if tt.kernel != "" && !inFirewall(td.fw, tt.jail, tt.kernel) {
			t.Errorf("ban %s %q: %s not in the firewall", tt.jail, tt.host, tt.kernel)
		}
	}
	// Nothing refused shows in status or reached the firewall.
	want := map[string]bool{}
	for _, tt := range tests {
		if tt.refusal == "" {
			want[tt.jail+" "+tt.key] = true
		}
	}
	st, err := c.Status(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, js := range st {
		for _, b := range js.Banned {
			got[js.Name+" "+b.Host] = true
		}
	}
	if !sameKeys(got, want) {
		t.Errorf("status bans %v, want %v", got, want)
	}
	els, _ := td.fw.List(ctx)
	for _, e := range els {
		if e.Prefix.Bits() == 0 || e.Prefix.Contains(netip.MustParseAddr("127.0.0.1")) {
			t.Errorf("the firewall holds %s", e.Prefix)
		}
	}
	td.stop()
	stored := storedBans(t, filepath.Join(td.dir, "state.db"))
	if !sameKeys(stored, want) {
		t.Errorf("stored bans %v, want %v", stored, want)
	}
}

func sameKeys[V1, V2 any](a map[string]V1, b map[string]V2) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// Unban reads the host as ban does, and refuses text that is no host.
func TestManualUnbanInputs(t *testing.T) {
	td := newManualDaemon(t)
	c, ctx := td.client(), context.Background()
	for _, h := range []string{"192.0.2.40", "2001:db8:1::/64"} {
		if _, err := c.Ban(ctx, "ssh", h, time.Hour, false); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.Unban(ctx, "ssh", "/ip4/192.0.2.40/tcp/4001", false); err != nil || n != 1 {
		t.Errorf("unban by multiaddr: %d, %v", n, err)
	}
	if n, err := c.Unban(ctx, "ssh", "[2001:db8:1::77]:4001", false); err != nil || n != 1 {
		t.Errorf("unban by [v6]:port in the banned /64: %d, %v", n, err)
	}
	if inFirewall(td.fw, "ssh", "192.0.2.40/32") || inFirewall(td.fw, "ssh", "2001:db8:1::/64") {
		t.Error("unbanned hosts still in the firewall")
	}
	if _, err := c.Unban(ctx, "ssh", "1.2.3.4,", false); err == nil || !errors.Is(err, control.ErrInvalid) {
		t.Errorf("unban of no host: %v, want an invalid-input refusal", err)
	}
}

// Ban lengths: negative is the operator's mistake.
func TestManualBanLength(t *testing.T) {
	td := newManualDaemon(t)
	if _, err := td.d.Ban(context.Background(), "ssh", "192.0.2.7", -5*time.Minute, false); !errors.Is(err, control.ErrInvalid) {
		t.Errorf("ban for -5m: %v, want invalid", err)
	}
	r, err := td.client().Ban(context.Background(), "ssh", "192.0.2.7", 24*time.Hour, false)
	if err != nil || time.Duration(r.Duration) != 24*time.Hour {
		t.Errorf("ban for 24h: %+v, %v", r, err)
	}
}
