//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check validates the example fleet section as written and prints
// it in one line; a bad value in it is a config error with its position
// (exit 2). `fleet` alone is a usage error.
func TestCheckFleet(t *testing.T) {
	dir := t.TempDir()
	example := `fleet:
  servers: [nats://127.0.0.1:4222]
  creds: /etc/peerjail/fleet.creds
  stream: PEERJAIL
  subject: peerjail.reports
  publish: [libp2p]
jails:
  libp2p:
    filter: libp2p-peer-status
    source: {journal: {match: [_SYSTEMD_UNIT=ipfs-daemon.service]}}
    findtime: 3m
    maxretry: 90
    bantime: 10m
    fleet: {quorum: 2, window: 10m, bantime: 1h}
`
	cfg := filepath.Join(dir, "p.yaml")
	os.WriteFile(cfg, []byte(example), 0o600)
	code, out, errOut := runCLI(t, "check", "-c", cfg)
	want := "fleet: servers nats://127.0.0.1:4222, reporter the host's name, creds /etc/peerjail/fleet.creds, stream PEERJAIL (peerjail.reports.<reporter>.<jail>, 1 replicas), publish libp2p"
	if code != 0 || !strings.Contains(out, want+"\n") || !strings.Contains(out, "fleet quorum 2 in 10m, fleet ban 1h") {
		t.Errorf("check: exit %d, stdout %q, stderr %q; want exit 0 and %q", code, out, errOut, want)
	}

	os.WriteFile(cfg, []byte(strings.Replace(example, "quorum: 2", "quorum: two", 1)), 0o600)
	code, _, errOut = runCLI(t, "check", "-c", cfg)
	if code != 2 || !strings.Contains(errOut, cfg+":14:") {
		t.Errorf("check of a bad quorum: exit %d, stderr %q; want exit 2 and a position on line 14", code, errOut)
	}

	if code, _, errOut := runCLI(t, "fleet"); code != 2 || !strings.Contains(errOut, "status") {
		t.Errorf("fleet alone: exit %d, stderr %q; want exit 2 naming the subcommand", code, errOut)
	}
}
