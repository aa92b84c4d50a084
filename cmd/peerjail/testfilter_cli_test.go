package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// test-filter's ways to name the filter and the input, and what a wrong
// combination says (exit 2).
func TestTestFilterForms(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`filters:
  mine:
    regex: {fail: ['Nope from <HOST>']}
jails:
  ssh:
    filter: sshd
    source: {files: [/var/log/auth.log]}
`), 0o600)
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, []byte(failedLine+"Jul 27 00:00:02 h app[2]: Nope from 198.51.100.7\n"), 0o600)
	nope := "Jul 27 00:00:02 h app[2]: Nope from 198.51.100.7"
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"test-filter", "-c", cfg, "ssh", log}, 0, "Lines: 2, matched 1", ""},
		{[]string{"test-filter", "-c", cfg, "mine", log, "--json"}, 0, `{"n":2,"host":"198.51.100.7","pattern":0}`, ""},
		{[]string{"test-filter", "-c", cfg, "sshd", "--line", nope}, 0, "Lines: 1, matched 0", ""},
		{[]string{"test-filter", "-c", cfg, "nope", log}, 2, "", `"nope" is no filter of ` + cfg + ` (filters: mine; jails: ssh)`},
		{[]string{"test-filter", "-c", cfg, log}, 2, "", "expected NAME (a filter or a jail of " + cfg + ") then LOG, got 1 argument(s)"},
		{[]string{"test-filter", "--regex", `Nope from <HOST>`, log, "--json"}, 0, `{"n":2,"host":"198.51.100.7","pattern":0}`, ""},
		{[]string{"test-filter", "--regex", `from <HOST>`, "--ignore-regex", `Nope`, log}, 0, "matched 1, ignored 1", ""},
		{[]string{"test-filter", "--regex", `from <HOST>`, "--line", nope}, 0, "Filter --regex on --line", ""},
		{[]string{"test-filter", "sshd", "--line", strings.TrimSuffix(failedLine, "\n"), "--json"}, 0, `{"n":1,"host":"198.51.100.1","pattern":`, ""},
		{[]string{"test-filter", "--regex", `from <HOST>`, "sshd", log}, 2, "", "expected LOG (the filter is --regex), got 2 argument(s)"},
		{[]string{"test-filter", "--regex", `from <HOST>`, "--line", nope, log}, 2, "", "expected no argument (the filter is --regex, the input is --line), got 1"},
		{[]string{"test-filter", "sshd", log, "--line", nope}, 2, "", "expected FILTER (a stock name or a filter file) (the input is --line), got 2"},
		{[]string{"test-filter", "--regex", `from (`, log}, 2, "", "--regex: "},
		{[]string{"test-filter", "--regex", `no host here`, log}, 2, "", "--regex: fail[0]: needs exactly one <HOST>"},
		{[]string{"test-filter", "--ignore-regex", `x`, "sshd", log}, 2, "", "--ignore-regex goes with --regex"},
		{[]string{"test-filter", "--regex", `from <HOST>`, "-c", cfg, log}, 2, "", "--regex and -c both name the filter"},
		{[]string{"test-filter", "sshd"}, 2, "", "expected FILTER (a stock name or a filter file) then LOG, got 1"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
			t.Errorf("peerjail %s: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q",
				strings.Join(tt.args, " "), code, trim(out), trim(errOut), tt.code, tt.stdout, tt.stderr)
		}
	}
}

// replay's inputs: what each combination of LOG, --journal and --since
// means, and what a wrong one says (exit 2).
func TestReplayForms(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, []byte(failedLine), 0o600)
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("jails:\n  ssh:\n    filter: sshd\n    source: {files: ["+log+"]}\n"), 0o600)
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"replay", "-c", cfg}, 2, "", "expected LOG... to replay, --journal for the jails' journal matches, or --since T"},
		{[]string{"replay", "-c", cfg, "--since", "-10000d", "--json"}, 0, `"event":"summary","jail":"ssh","lines":1`, ""},
		{[]string{"replay", "-c", cfg, "--since", "now", "--json"}, 0, `"event":"summary","jail":"ssh","lines":0`, ""},
		{[]string{"replay", "-c", cfg, "--until", "1999-01-01", "--json", log}, 0, `"lines":0`, ""},
		{[]string{"replay", "-c", cfg, "--since", "2 hours ago"}, 2, "", `--since "2 hours ago": not a time: expected RFC 3339`},
		{[]string{"replay", "-c", cfg, "--until", "2026-02-30", log}, 2, "", `--until "2026-02-30": not a time`},
		{[]string{"replay", "-c", cfg, "--since", "2026-12-02", "--until", "2026-12-01", log}, 2, "", "is before --since"},
		{[]string{"replay", "-c", cfg, "--journal", log}, 2, "", "expected LOG... or --journal, not both"},
		{[]string{"replay", "-c", cfg, "--journal-file", log, "--journal-dir", dir}, 2, "", "--journal-dir and --journal-file: expected one of them"},
		{[]string{"replay", "-c", cfg, "--journal"}, 2, "", "nothing to replay: no jail of " + cfg + " has a journal: source"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
			t.Errorf("peerjail %s: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q",
				strings.Join(tt.args, " "), code, trim(out), trim(errOut), tt.code, tt.stdout, tt.stderr)
		}
	}
}
