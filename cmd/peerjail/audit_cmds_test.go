package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestAuditCommands: banned, unban across every jail, history and report
// against a daemon in this process, with report redacting by default.
func TestAuditCommands(t *testing.T) {
	sock, fw := banDaemon(t)
	dir := filepath.Dir(sock)
	state := filepath.Join(dir, "state.db")
	f, err := os.OpenFile(filepath.Join(dir, "auth.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		fmt.Fprintf(f, "%s bastion sshd[1]: Invalid user alice from 198.51.100.9 port %d\n", time.Now().Format(time.Stamp), 4000+i)
	}
	f.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !holds(fw, "198.51.100.9/32") {
		if time.Now().After(deadline) {
			t.Fatal("no ban from the log")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, out, _ := cli(t, "banned", "198.51.100.9", "--socket", sock); code != 0 || !strings.HasPrefix(out, "ssh  198.51.100.9  until ") || !strings.Contains(out, "enforced") {
		t.Errorf("banned HOST: exit %d\n%s", code, out)
	}
	code, out, errOut := cli(t, "report", "198.51.100.9", "--state", state)
	if code != 0 || strings.Contains(out, "alice") || !strings.Contains(out, "Invalid user <user> from 198.51.100.9") ||
		!strings.Contains(errOut, "a daemon holds the state file") {
		t.Errorf("report (redacted by default): exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := cli(t, "report", "198.51.100.9", "--state", state, "--no-redact"); code != 0 || !strings.Contains(out, "Invalid user alice from") {
		t.Errorf("report --no-redact: exit %d\n%s", code, out)
	}
	if code, out, _ := cli(t, "unban", "198.51.100.9", "--socket", sock); code != 0 || out != "1 ban(s) lifted in every jail\n" || holds(fw, "198.51.100.9/32") {
		t.Errorf("unban HOST: exit %d, %q", code, out)
	}
	if code, out, _ := cli(t, "history", "198.51.100.9", "--state", state); code != 0 ||
		!strings.Contains(out, "ssh 198.51.100.9: 1 offence") || !strings.Contains(out, "unban by manual (uid ") {
		t.Errorf("history: exit %d\n%s", code, out)
	}
	for _, bad := range [][]string{
		{"history", "1.2.3", "--state", state},
		{"history", "--since", "soon", "--state", state},
		{"report", "--state", state},
		{"report", "198.51.100.9", "--format", "pdf", "--state", state},
		{"banned", "a", "b", "--socket", sock},
		{"unban", "ssh", "198.51.100.9", "extra", "--socket", sock},
		{"unban", "a", "b", "--all", "--socket", sock},
		{"unban", "--socket", sock},
	} {
		if code, _, errOut := cli(t, bad...); code != exitUsage || !strings.Contains(errOut, "expected") {
			t.Errorf("%q: exit %d, %s; want 2 with what was expected", bad, code, errOut)
		}
	}
}
