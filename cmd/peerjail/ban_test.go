package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/daemon"
	"github.com/peerjail/peerjail/internal/firewall"
)

// banDaemon runs a daemon in this process with a fake firewall: the CLI
// talks to it over its socket, and nothing touches the host's network.
func banDaemon(t *testing.T) (sock string, fw *firewall.Fake) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	cfg := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(log, nil, 0o600)
	os.WriteFile(cfg, []byte(fmt.Sprintf("jails:\n  ssh:\n    filter: sshd\n    source: {files: [%s]}\n    ignoreself: false\n", log)), 0o600)
	fw = firewall.NewFake()
	sock = filepath.Join(dir, "peerjail.sock")
	serveDaemon(t, daemon.Options{
		ConfigPath: cfg, StatePath: filepath.Join(dir, "state.db"), SocketPath: sock,
		Logger:      slog.New(slog.DiscardHandler),
		NewFirewall: func() (firewall.Firewall, error) { return fw, nil },
	})
	return sock, fw
}

func holds(fw *firewall.Fake, prefix string) bool {
	els, _ := fw.List(context.Background())
	for _, e := range els {
		if e.Prefix == netip.MustParsePrefix(prefix) {
			return true
		}
	}
	return false
}

// Every host form a log's <HOST> takes is taken by ban and unban, and
// reaches the firewall; anything else exits 2 saying what was expected.
func TestBanUnbanExitCodes(t *testing.T) {
	sock, fw := banDaemon(t)
	tests := []struct {
		args   []string
		code   int
		out    string // in stdout (0) or stderr (else)
		kernel string // element the firewall holds afterwards
	}{
		{[]string{"ban", "ssh", "1.2.3.4,"}, 2, "takes an address as logs write it", ""},
		{[]string{"ban", "ssh", "host.example.com"}, 2, "CIDR prefix", ""},
		{[]string{"ban", "ssh", "/ip4/192.0.2.14/tcp/4001"}, 0, "banned 192.0.2.14 in ssh", "192.0.2.14/32"},
		{[]string{"ban", "ssh", "[2001:db8::1]:4001"}, 0, "banned 2001:db8::/64 in ssh", "2001:db8::/64"},
		{[]string{"ban", "ssh", "192.0.2.40:4001"}, 0, "banned 192.0.2.40 in ssh", "192.0.2.40/32"},
		{[]string{"ban", "ssh", "::ffff:192.0.2.41"}, 0, "banned 192.0.2.41 in ssh", "192.0.2.41/32"},
		{[]string{"ban", "ssh", "0.0.0.0/0"}, 2, "would match every address", ""},
		{[]string{"ban", "ssh", "127.0.0.1"}, 2, "--force", ""},
		{[]string{"ban", "--force", "ssh", "127.0.0.2"}, 0, "banned 127.0.0.2 in ssh", "127.0.0.2/32"},
		{[]string{"ban", "--for", "1d", "ssh", "192.0.2.50"}, 0, "for 24h0m0s", "192.0.2.50/32"},
		{[]string{"ban", "--for", "1h30m", "ssh", "192.0.2.51"}, 0, "for 1h30m0s", "192.0.2.51/32"},
		{[]string{"ban", "--for", "-5m", "ssh", "192.0.2.52"}, 2, "--for", ""},
		{[]string{"ban", "--for", "0", "ssh", "192.0.2.53"}, 2, "--for", ""},
		{[]string{"ban", "--for", "3x", "ssh", "192.0.2.54"}, 2, "is not a duration", ""},
		{[]string{"ban", "nope", "192.0.2.1"}, 2, `no such jail "nope"`, ""},
		{[]string{"unban", "ssh", "1.2.3.4,"}, 2, "takes an address", ""},
		{[]string{"unban", "ssh", "/ip4/192.0.2.14/tcp/4001"}, 0, "1 ban(s) lifted", ""},
		{[]string{"unban", "ssh", "192.0.2.99"}, 2, "is not banned", ""},
	}
	for _, tt := range tests {
		args := append(append([]string{}, tt.args...), "--socket", sock)
		code, out, errOut := runCLI(t, args...)
		text := out
		if tt.code != 0 {
			text = errOut
		}
		if code != tt.code || !strings.Contains(text, tt.out) {
			t.Errorf("peerjail %s: exit %d, stdout %q, stderr %q; want exit %d with %q",
				strings.Join(tt.args, " "), code, trim(out), trim(errOut), tt.code, tt.out)
		}
		if tt.kernel != "" && !holds(fw, tt.kernel) {
			t.Errorf("peerjail %s: %s not in the firewall", strings.Join(tt.args, " "), tt.kernel)
		}
	}
	if holds(fw, "192.0.2.14/32") {
		t.Error("unbanned 192.0.2.14 still in the firewall")
	}
	for _, p := range []string{"0.0.0.0/0", "127.0.0.1/32", "192.0.2.52/32", "192.0.2.53/32"} {
		if holds(fw, p) {
			t.Errorf("refused %s in the firewall", p)
		}
	}
}
