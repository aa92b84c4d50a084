//go:build linux && cgo

package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// journalT0 is the realtime stamp of the test journals' entries' second 0.
var journalT0 = time.Date(2024, 7, 27, 0, 0, 0, 0, time.UTC)

type entry struct {
	sec  int // after journalT0
	unit string
	msg  string
}

// makeJournal writes entries to a journal file with systemd-journal-remote,
// which reads journald's export format: a real journal file, as copied
// from a host.
func makeJournal(t *testing.T, entries []entry) string {
	t.Helper()
	var bin string
	for _, p := range []string{"/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"} {
		if _, err := os.Stat(p); err == nil {
			bin = p
		}
	}
	if bin == "" {
		t.Skip("needs systemd-journal-remote (Debian package systemd-journal-remote) to build a journal file")
	}
	var export bytes.Buffer
	for i, e := range entries {
		at := journalT0.Add(time.Duration(e.sec) * time.Second)
		fmt.Fprintf(&export, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=0123456789abcdef0123456789abcdef\n"+
			"_SYSTEMD_UNIT=%s\nSYSLOG_IDENTIFIER=%s\n_PID=%d\nMESSAGE=%s\n\n",
			at.UnixMicro(), (i+1)*1000, e.unit, strings.TrimSuffix(e.unit, ".service"), 100+i, e.msg)
	}
	path := filepath.Join(t.TempDir(), "copied.journal")
	cmd := exec.Command(bin, "--output="+path, "-")
	cmd.Stdin = &export
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-journal-remote: %v: %s", err, out)
	}
	return path
}

func failed(host string, port int) string {
	return fmt.Sprintf("Failed password for root from %s port %d ssh2", host, port)
}

// journalEntries: ssh.service fails from .1 at seconds 1, 2, 4, 6 and from
// .2 at 3; other.service names .9 three times, which no jail reads.
func journalEntries() []entry {
	return []entry{
		{1, "ssh.service", failed("198.51.100.1", 1)},
		{2, "ssh.service", failed("198.51.100.1", 2)},
		{2, "other.service", failed("198.51.100.9", 1)},
		{3, "ssh.service", failed("198.51.100.2", 1)},
		{3, "other.service", failed("198.51.100.9", 2)},
		{4, "ssh.service", failed("198.51.100.1", 3)},
		{5, "other.service", failed("198.51.100.9", 3)},
		{6, "ssh.service", failed("198.51.100.1", 4)},
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const journalConfig = `defaults: {findtime: 10m, maxretry: 3, bantime: 1m, action: dry-run}
jails:
  ssh:
    filter: sshd
    source: {journal: {match: [_SYSTEMD_UNIT=ssh.service]}}
  nosource:
    filter: sshd
`

// A copied journal replays with the entries' own realtime stamps, only the
// jail's matches, and only the jails with a journal source. Bans still
// running when the log ends are not lifted.
func TestReplayJournalFile(t *testing.T) {
	jf := makeJournal(t, journalEntries())
	c := loadConfig(t, writeConfig(t, journalConfig))
	for _, tc := range []struct {
		name         string
		since, until time.Time
		want         string
	}{
		{"all", time.Time{}, time.Time{}, `{"event":"ban","jail":"ssh","host":"198.51.100.1","at":"2024-07-27T00:00:04.000Z","until":"2024-07-27T00:01:04.000Z","hits":3,"actions":["dry-run"]}
{"event":"summary","jail":"ssh","lines":5,"matched":5,"ignored":0,"hosts":2,"bans":1,"out_of_order":0}
`},
		// From second 2 to 5: .1 fails twice only.
		{"window", journalT0.Add(2 * time.Second), journalT0.Add(5 * time.Second), `{"event":"summary","jail":"ssh","lines":3,"matched":3,"ignored":0,"hosts":2,"bans":0,"out_of_order":0}
`},
		{"since", journalT0.Add(2 * time.Second), time.Time{}, `{"event":"ban","jail":"ssh","host":"198.51.100.1","at":"2024-07-27T00:00:06.000Z","until":"2024-07-27T00:01:06.000Z","hits":3,"actions":["dry-run"]}
{"event":"summary","jail":"ssh","lines":4,"matched":4,"ignored":0,"hosts":2,"bans":1,"out_of_order":0}
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runReplay(t, Options{Config: c, ConfiguredJournal: true, JournalFiles: []string{jf},
				Since: tc.since, Until: tc.until, JSON: true})
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		got := runReplay(t, Options{Config: c, ConfiguredJournal: true, JournalDir: filepath.Dir(jf), JSON: true})
		if !strings.Contains(got, `"lines":5,"matched":5`) {
			t.Errorf("replay of the journal's directory:\n%s", got)
		}
	})
	t.Run("no journal jail", func(t *testing.T) {
		c := loadConfig(t, writeConfig(t, "jails:\n  ssh:\n    filter: sshd\n    source: {files: [/nonexistent/auth.log]}\n"))
		err := Run(t.Context(), Options{Config: c, ConfiguredJournal: true, JournalFiles: []string{jf}, Out: &bytes.Buffer{}})
		if !errors.Is(err, ErrNoSource) {
			t.Errorf("Run = %v, want ErrNoSource", err)
		}
	})
}

// Every configured source at once: a jail's auth.log with its rotated
// siblings (one gzipped) beside another jail's journal matches, merged by
// time: decisions come out in time order across the sources.
func TestReplayConfiguredSources(t *testing.T) {
	jf := makeJournal(t, journalEntries())
	dir := t.TempDir()
	mtime := journalT0.Add(time.Hour)
	syslog := func(sec int, host string) string {
		return journalT0.Add(time.Duration(sec)*time.Second).Format(time.Stamp) + " h sshd[1]: " + failed(host, sec) + "\n"
	}
	write := func(name string, gz bool, secs ...int) {
		var b bytes.Buffer
		for _, s := range secs {
			b.WriteString(syslog(s, "203.0.113.5"))
		}
		data := b.Bytes()
		if gz {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			data = z.Bytes()
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil || os.Chtimes(p, mtime, mtime) != nil {
			t.Fatal("cannot write", p)
		}
	}
	write("auth.log.2.gz", true, 0)
	write("auth.log.1", false, 3)
	write("auth.log", false, 5, 7)
	write("auth.log.old", false, 1) // not a rotated name
	cfg := journalConfig + "  files:\n    filter: sshd\n    maxretry: 3\n    source: {files: [" + filepath.Join(dir, "auth.log") + "]}\n"
	c := loadConfig(t, writeConfig(t, cfg))
	got := runReplay(t, Options{Config: c, ConfiguredFiles: true, ConfiguredJournal: true, JournalFiles: []string{jf}, JSON: true})
	want := `{"event":"ban","jail":"ssh","host":"198.51.100.1","at":"2024-07-27T00:00:04.000Z","until":"2024-07-27T00:01:04.000Z","hits":3,"actions":["dry-run"]}
{"event":"ban","jail":"files","host":"203.0.113.5","at":"2024-07-27T00:00:05.000Z","until":"2024-07-27T00:01:05.000Z","hits":3,"actions":["dry-run"]}
{"event":"summary","jail":"ssh","lines":5,"matched":5,"ignored":0,"hosts":2,"bans":1,"out_of_order":0}
{"event":"summary","jail":"files","lines":4,"matched":4,"ignored":0,"hosts":1,"bans":1,"out_of_order":0}
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	checkContract(t, got)
	text := runReplay(t, Options{Config: loadConfig(t, writeConfig(t, cfg)), ConfiguredFiles: true, ConfiguredJournal: true, JournalFiles: []string{jf}})
	if !strings.Contains(text, "\n9 lines in ") {
		t.Errorf("the text report does not count the 5 entries and the 4 file lines:\n%s", text)
	}
}

// Ctrl-C while the journal is read: what was read is reported, and Run
// says it was interrupted.
func TestReplayJournalInterrupted(t *testing.T) {
	jf := makeJournal(t, journalEntries())
	c := loadConfig(t, writeConfig(t, journalConfig))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	err := Run(ctx, Options{Config: c, ConfiguredJournal: true, JournalFiles: []string{jf}, JSON: true, Out: &out})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if want := `{"event":"summary","jail":"ssh","lines":0,`; !strings.HasPrefix(out.String(), want) {
		t.Errorf("report %q, want it to start %q", out.String(), want)
	}
}
