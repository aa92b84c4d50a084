//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/source"
)

// TestCheckWarnsAboutSources: a glob that matches no file is valid, but
// check says that the jail watches nothing (on stderr, exit 0).
func TestCheckWarnsAboutSources(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "auth.log"), nil, 0o600)
	cfg := filepath.Join(dir, "p.yaml")
	os.WriteFile(cfg, []byte("jails:\n  ssh:\n    filter: sshd\n    source: {files: [auth.log]}\n"+
		"  web:\n    filter: sshd\n    source: {files: [auth.log, 'nginx/*.log']}\n"), 0o600)
	code, out, errOut := runCLI(t, "check", "-c", cfg)
	want := `peerjail: warning: jail "web": files: ` + filepath.Join(dir, "nginx/*.log") + ` matches no file`
	if code != 0 || !strings.Contains(out, "ssh: filter sshd") || !strings.Contains(errOut, want) ||
		strings.Count(errOut, "warning") != 1 {
		t.Errorf("check: exit %d, stdout %q, stderr %q; want exit 0 and one warning %q", code, out, errOut, want)
	}
}

func TestWarnSourcesJournal(t *testing.T) {
	c, err := config.Parse("p.yaml", []byte("jails:\n  a:\n    filter: sshd\n    source: {journal: {match: [_SYSTEMD_UNIT=ssh.service, SYSLOG_IDENTIFIER=sshd]}}\n"+
		"  b:\n    filter: sshd\n    source: {journal: {match: [_SYSTEMD_UNIT=ipfs.service]}}\n"), config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	var w bytes.Buffer
	warnSources(&w, c, func() error { calls++; return source.ErrNoJournal })
	for _, want := range []string{
		`peerjail: warning: jail "a": journal _SYSTEMD_UNIT=ssh.service+SYSLOG_IDENTIFIER=sshd: no journal on this host`,
		`peerjail: warning: jail "b": journal _SYSTEMD_UNIT=ipfs.service: no journal on this host`,
	} {
		if !strings.Contains(w.String(), want) {
			t.Errorf("warnings %q, want %q", w.String(), want)
		}
	}
	if calls != 1 {
		t.Errorf("journal checked %d times, want once", calls)
	}
	w.Reset()
	warnSources(&w, c, func() error { return nil })
	if w.Len() != 0 {
		t.Errorf("warnings with a journal: %q", w.String())
	}
}

// TestCheckWithoutJournal runs check where the host's journal directories
// are hidden (tmpfs, in a mount namespace of its own): a journal jail is
// warned about.
func TestCheckWithoutJournal(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux: hides the journal in a private mount namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	cfg := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(cfg, []byte("jails:\n  ipfs:\n    filter: sshd\n    source: {journal: {match: [_SYSTEMD_UNIT=ipfs.service]}}\n"), 0o600)
	script := `for d in /var/log/journal /run/log/journal; do [ -d $d ] && mount -t tmpfs tmpfs $d; done; exec "$@"`
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh", os.Args[0], "check", "-c", cfg)
	cmd.Env = append(os.Environ(), e2eEnv+"=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	want := `peerjail: warning: jail "ipfs": journal _SYSTEMD_UNIT=ipfs.service: no journal on this host`
	if err != nil || !strings.Contains(errOut.String(), want) {
		t.Errorf("check: %v, stdout %q, stderr %q; want exit 0 and %q", err, out.String(), errOut.String(), want)
	}
}
