package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("jails:\n  ssh:\n    filter: sshd\n    findtime: 3x\n    source: {files: [/var/log/auth.log]}\n"), 0o600)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("jails:\n  ssh:\n    filter: sshd\n    source: {files: [/var/log/auth.log]}\n"), 0o600)
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, []byte("\xff\x00 not a log line\n"), 0o600)

	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"check", "-c", good}, 0, "ssh: filter sshd", ""},
		{[]string{"check", "-c", bad}, 2, "", `bad.yaml:4:15: jail "ssh": findtime: "3x" is not a duration`},
		{[]string{"check", "-c", filepath.Join(dir, "missing.yaml")}, 1, "", "missing.yaml"},
		{[]string{"check", "--no-such-flag"}, 2, "", "unknown flag"},
		{[]string{"replay", "-c", good}, 2, "", "expected LOG... to replay"},
		{[]string{"replay", "-c", good, "--jail", "nope", log}, 2, "", `no such jail "nope"`},
		{[]string{"replay", "-c", good, "--json", log}, 0, `"event":"summary","jail":"ssh","lines":1`, ""},
		{[]string{"test-filter", "no-such-filter", log}, 2, "", "neither a stock filter"},
		{[]string{"test-filter", "sshd", log}, 0, "Lines: 1, matched 0", ""},
		{[]string{"filters"}, 0, "libp2p-peer-status", ""},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
			t.Errorf("peerjail %s: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q",
				strings.Join(tt.args, " "), code, trim(out), trim(errOut), tt.code, tt.stdout, tt.stderr)
		}
	}
}

func trim(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
