package replay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/golden"
)

// TestReplayEscalationAndRecidive pins both outputs on a log where four
// addresses of one /64 are banned (the fourth ban covers the /64, an
// address inside it then counts as banned) and one address banned three
// times in a day is banned for a week by the recidive jail.
func TestReplayEscalationAndRecidive(t *testing.T) {
	log := filepath.Join(t.TempDir(), "auth.log")
	data, err := os.ReadFile("testdata/escalate.log")
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 7, 28, 0, 0, 0, 0, time.UTC)
	if err := os.WriteFile(log, data, 0o600); err != nil || os.Chtimes(log, mtime, mtime) != nil {
		t.Fatal("cannot prepare the log")
	}
	for _, tt := range []struct {
		name, jail, golden string
		json               bool
	}{
		{"json", "", "escalate.jsonl", true},
		{"text", "", "escalate.txt", false},
		// Replaying the recidive jail alone replays the jail it counts.
		{"recidive alone", "recidive", "escalate-recidive.txt", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := runReplay(t, Options{Config: loadConfig(t, "testdata/escalate.yaml"), Jail: tt.jail, Logs: []string{log}, JSON: tt.json, Workers: 1})
			if tt.json {
				checkContract(t, got)
			} else {
				got = withoutSpeed(got)
			}
			golden.CheckString(t, filepath.Join("testdata", tt.golden), got)
			for _, want := range []string{"2001:db8:1:1::/64", "escalated", "recidive"} {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %q", want)
				}
			}
		})
	}
}

// withoutSpeed drops the text report's last line, the replay's speed.
func withoutSpeed(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 && strings.Contains(s[i:], "lines/s") {
		s = s[:i]
	}
	return s + "\n"
}

// Replaying the configured sources keeps the recidive jail, which has none.
func TestReplayConfiguredRecidive(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	data, err := os.ReadFile("testdata/escalate.log")
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 7, 28, 0, 0, 0, 0, time.UTC)
	if err := os.WriteFile(log, data, 0o600); err != nil || os.Chtimes(log, mtime, mtime) != nil {
		t.Fatal("cannot prepare the log")
	}
	cfg := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(cfg, []byte("jails:\n  ssh:\n    filter: sshd\n    source: {files: [auth.log]}\n    maxretry: 2\n    bantime: 30m\n"+
		"  recidive:\n    type: recidive\n    maxretry: 3\n"), 0o600)
	got := runReplay(t, Options{Config: loadConfig(t, cfg), ConfiguredFiles: true, JSON: true, Workers: 1})
	checkContract(t, got)
	if !strings.Contains(got, `{"event":"ban","jail":"recidive","host":"198.51.100.1","at":"2024-07-27T01:20:10.000Z"`) {
		t.Errorf("no recidive ban in:\n%s", got)
	}
}
