package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The configuration make install and the .deb put in /etc must check clean
// on a host with none of the logs it names, and run only the ssh jail, from
// the journal, on port 22: nothing else may ban on a fresh host. It reads
// /etc/peerjail/jails.d, which this test points at a directory of its own
// so that what the host has there does not count.
func TestDefaultConfig(t *testing.T) {
	data, err := os.ReadFile("../../configs/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const include = "\ninclude: [/etc/peerjail/jails.d/*.yaml]\n"
	if !strings.Contains(string(data), include) {
		t.Fatalf("configs/default.yaml does not say %q", include)
	}
	dir := t.TempDir()
	jailsD := filepath.Join(dir, "jails.d")
	cfg := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "/etc/peerjail/jails.d/", jailsD+"/", 1)), 0o644)

	code, out, errOut := runCLI(t, "check", "-c", cfg)
	if code != 0 || !onlyJournalWarnings(errOut) {
		t.Fatalf("check: exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "ssh: filter sshd, journal _SYSTEMD_UNIT=ssh.service or _SYSTEMD_UNIT=sshd.service,") ||
		!strings.Contains(lines[0], "ports 22 tcp, action nftables") {
		t.Errorf("enabled jails:\n%s\nwant only ssh from the journal, on port 22", out)
	}

	// A jail dropped into jails.d is read, shown, and inherits the defaults.
	os.Mkdir(jailsD, 0o755)
	os.WriteFile(filepath.Join(jailsD, "ipfs.yaml"), []byte("jails:\n  ipfs:\n    filter: libp2p-peer-status\n    source: {journal: {match: [_SYSTEMD_UNIT=ipfs.service]}}\n"), 0o644)
	os.WriteFile(filepath.Join(jailsD, "ipfs.yaml.dpkg-old"), []byte("not read\n"), 0o644)
	code, out, errOut = runCLI(t, "check", "-c", cfg)
	if code != 0 || !onlyJournalWarnings(errOut) {
		t.Fatalf("check with a drop-in: exit %d, stderr %q", code, errOut)
	}
	lines = strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"include " + filepath.Join(jailsD, "ipfs.yaml") + ": jails ipfs", "ssh: ", "ipfs: filter libp2p-peer-status, journal _SYSTEMD_UNIT=ipfs.service, maxretry 5 in 10m, ban 1h,"}
	if len(lines) != len(want) {
		t.Fatalf("check with a drop-in:\n%s\nwant %d lines", out, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want it to start with %q", i+1, lines[i], w)
		}
	}

	// A broken drop-in fails the check with its own position, exit 2.
	os.WriteFile(filepath.Join(jailsD, "ipfs.yaml"), []byte("jails:\n  ipfs:\n    filter: libp2p-peer-status\n    findtime: soon\n"), 0o644)
	code, out, errOut = runCLI(t, "check", "-c", cfg)
	if code != 2 || out != "" || !strings.Contains(errOut, filepath.Join(jailsD, "ipfs.yaml")+`:4:15: jail "ipfs": findtime: "soon" is not a duration`) {
		t.Errorf("check with a broken drop-in: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// onlyJournalWarnings reports whether check's stderr holds nothing but its
// warning about a host without a journal (a build machine or container),
// which is true there and no error.
func onlyJournalWarnings(errOut string) bool {
	for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if l != "" && !strings.Contains(l, "no journal on this host") {
			return false
		}
	}
	return true
}
