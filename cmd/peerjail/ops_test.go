//go:build linux

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/daemon"
	"github.com/peerjail/peerjail/internal/golden"
)

func TestConfigCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "config", "-c", filepath.Join("testdata", "ops", "peerjail.yaml"))
	if code != 0 {
		t.Fatalf("config: exit %d: %s", code, errOut)
	}
	golden.CheckString(t, filepath.Join("testdata", "ops", "config.golden"), out)

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("jails:\n  ssh:\n    filter: sshd\n    findtime: 3x\n    source: {files: [/var/log/auth.log]}\n"), 0o600)
	for _, tt := range []struct {
		args       []string
		code       int
		stderr     string
		noStdout   bool
		wantStdout string
	}{
		{[]string{"config", "-c", bad}, 2, bad + `:4:15: jail "ssh": findtime: "3x" is not a duration`, true, ""},
		{[]string{"config", "-c", filepath.Join(t.TempDir(), "none.yaml")}, 1, "none.yaml", true, ""},
		{[]string{"config", "extra"}, 2, `unknown command "extra"`, true, ""},
	} {
		code, out, errOut := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.stderr) || (tt.noStdout && out != "") {
			t.Errorf("peerjail %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, trim(out), errOut, tt.code, tt.stderr)
		}
	}
}

// The everyday commands' bad input is refused before any daemon is asked.
func TestOpsUsageErrors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"status", "--top", "3"}, "--top lists one jail's failing hosts: name the jail"},
		{[]string{"status", "ssh", "--top", "-1"}, "--top -1: want a number of hosts from 0 to 10000"},
		{[]string{"status", "ssh", "--top", "many"}, `invalid argument "many" for "--top"`},
		{[]string{"status", "a", "b"}, "accepts at most 1 arg"},
		{[]string{"log-level", "verbose"}, `log level "verbose": want one of debug, info, warn, error`},
		{[]string{"log-level", "debug", "info"}, "accepts at most 1 arg"},
		{[]string{"run", "--log-level", "loud"}, `--log-level: log level "loud": want one of debug, info, warn, error`},
	} {
		code, out, errOut := runCLI(t, append(tt.args, "--socket", sock)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tt.stderr) {
			t.Errorf("peerjail %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(tt.args, " "), code, out, errOut, tt.stderr)
		}
	}
}

// startDryRun runs a daemon in this process on a dry-run configuration
// (nothing touches nftables), with its log level changeable.
func startDryRun(t *testing.T, cfg string, level *slog.LevelVar) (sock, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o600)
	path := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(path, []byte(strings.ReplaceAll(cfg, "{{LOG}}", log)), 0o600)
	sock = filepath.Join(dir, "peerjail.sock")
	serveDaemon(t, daemon.Options{
		ConfigPath: path, StatePath: filepath.Join(dir, "state.db"), SocketPath: sock,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), LogLevel: level,
	})
	return sock, log
}

// serveDaemon starts a daemon in this process and serves it until the test
// ends, when it waits for Serve to return.
func serveDaemon(t *testing.T, o daemon.Options) {
	t.Helper()
	o.Notify = func(string) {}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.Start(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
}

const opsJails = `jails:
  ssh:
    filter: sshd
    source: {files: ["{{LOG}}"]}
    maxretry: 3
    findtime: 1h
    action: dry-run
  quiet:
    filter: sshd
    source: {files: ["{{LOG}}.none"]}
    action: dry-run
`

func TestStatusSummaryAndTop(t *testing.T) {
	var level slog.LevelVar
	level.Set(slog.LevelWarn)
	sock, log := startDryRun(t, opsJails, &level)
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Format(time.Stamp)
	for _, h := range []struct {
		host string
		n    int
	}{{"198.51.100.1", 3}, {"198.51.100.2", 2}, {"198.51.100.3", 1}, {"198.51.100.4", 2}} {
		for i := range h.n {
			fmt.Fprintf(f, "%s node sshd[1]: Failed password for root from %s port %d ssh2\n", now, h.host, 4000+i)
		}
	}
	f.Close()
	var out string
	waitCLI(t, "198.51.100.1 banned, three hosts failing", func() bool {
		var code int
		code, out, _ = runCLI(t, "status", "--socket", sock)
		return code == 0 && strings.Contains(out, "ssh    sshd    3        1")
	})
	golden.CheckString(t, filepath.Join("testdata", "ops", "status-summary.golden"), out)

	code, out, errOut := runCLI(t, "status", "ssh", "--top", "2", "--socket", sock)
	if code != 0 {
		t.Fatalf("status ssh: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"jail ssh\n", "currently failing:  3 hosts", "198.51.100.1", "dry-run",
		"failing hosts (top 2 of 3, by hits in 1h):", "198.51.100.2  2 hits", "198.51.100.4  2 hits"} {
		if !strings.Contains(out, want) {
			t.Errorf("status ssh --top 2 lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "198.51.100.3") {
		t.Errorf("status ssh --top 2 lists the host with 1 hit:\n%s", out)
	}
	if code, out, _ := runCLI(t, "status", "ssh", "--top", "0", "--socket", sock); code != 0 || strings.Contains(out, "failing hosts") {
		t.Errorf("status ssh --top 0: exit %d, %q; want no failing hosts listed", code, out)
	}
	if code, _, errOut := runCLI(t, "status", "nope", "--socket", sock); code != 2 || !strings.Contains(errOut, `no such jail "nope"`) {
		t.Errorf("status nope: exit %d, %q; want 2 and no such jail", code, errOut)
	}
}

func TestLogLevelCLI(t *testing.T) {
	var level slog.LevelVar
	level.Set(slog.LevelWarn)
	sock, _ := startDryRun(t, opsJails, &level)
	for _, tt := range []struct{ args, want string }{{"", "warn"}, {"debug", "debug"}, {"", "debug"}, {"ERROR", "error"}} {
		args := []string{"log-level", "--socket", sock}
		if tt.args != "" {
			args = append(args, tt.args)
		}
		code, out, errOut := runCLI(t, args...)
		if code != 0 || out != tt.want+"\n" {
			t.Errorf("peerjail %s: exit %d, %q, %q; want %q", strings.Join(args, " "), code, out, errOut, tt.want)
		}
	}
	if level.Level() != slog.LevelError {
		t.Errorf("the daemon's level is %v, want ERROR", level.Level())
	}
}

func waitCLI(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting 20s for %s", what)
		}
	}
}
