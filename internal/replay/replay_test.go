package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/config"

	"github.com/peerjail/peerjail/internal/golden"
)

func loadConfig(t testing.TB, path string) *config.Config {
	t.Helper()
	c, err := config.Load(path, config.LoadOptions{SourcesOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func runReplay(t *testing.T, o Options) string {
	t.Helper()
	var out bytes.Buffer
	o.Out = &out
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestReplaySSHD pins the JSON Lines contract on a small log: an attacker
// banned, unbanned by log time and banned again for twice as long; a victim
// named only in user names never banned; ignoreip (127.0.0.1) ignored.
func TestReplaySSHD(t *testing.T) {
	c := loadConfig(t, "testdata/sshd.yaml")
	// syslog stamps have no year: it comes from the file's modification
	// time, so pin that to keep the golden file true in any year.
	log := filepath.Join(t.TempDir(), "auth.log")
	data, err := os.ReadFile("testdata/sshd.log")
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 7, 28, 0, 0, 0, 0, time.UTC)
	if err := os.WriteFile(log, data, 0o600); err != nil || os.Chtimes(log, mtime, mtime) != nil {
		t.Fatal("cannot prepare the log")
	}
	got := runReplay(t, Options{Config: c, Logs: []string{log}, JSON: true, Workers: 1})
	golden.CheckString(t, filepath.Join("testdata", "sshd.jsonl"), got)
	if strings.Contains(got, "203.0.113.66") {
		t.Error("the victim named in user names was banned")
	}
	checkContract(t, got)
}

// checkContract checks the JSON Lines stream: known events, time order,
// a summary per jail and nothing after the summaries.
func checkContract(t *testing.T, out string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	last, summaries := "", 0
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		switch ev["event"] {
		case "ban", "unban":
			if summaries > 0 {
				t.Fatalf("event after a summary: %s", sc.Text())
			}
			at := ev["at"].(string)
			if at < last {
				t.Errorf("out of time order: %s after %s", at, last)
			}
			last = at
		case "summary":
			summaries++
			for _, k := range []string{"jail", "lines", "matched", "ignored", "hosts", "bans", "out_of_order"} {
				if _, ok := ev[k]; !ok {
					t.Errorf("summary without %q: %s", k, sc.Text())
				}
			}
		default:
			t.Errorf("unknown event: %s", sc.Text())
		}
	}
	if summaries == 0 {
		t.Error("no summary")
	}
}

// Matching on several goroutines must not change a single byte of output.
func TestReplayParallelSameAsSerial(t *testing.T) {
	c := loadConfig(t, "../../examples/replay.yaml")
	logs := []string{"../../examples/ipfs.log.gz"}
	one := runReplay(t, Options{Config: c, Logs: logs, JSON: true, Workers: 1})
	four := runReplay(t, Options{Config: loadConfig(t, "../../examples/replay.yaml"), Logs: logs, JSON: true, Workers: 4})
	if one != four {
		t.Fatal("output with 4 workers differs from 1 worker")
	}
	checkContract(t, one)
	if !strings.Contains(one, `"event":"unban"`) || !strings.Contains(one, `"jail":"libp2p-churn"`) {
		t.Errorf("sample replay lacks expected events:\n%.500s", one)
	}
}

// Bad lines are counted and the replay goes on: a 3 MiB line, invalid
// UTF-8, NUL bytes, broken JSON.
func TestReplayBadInput(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "bad.log")
	var b bytes.Buffer
	b.WriteString(`{"suspicious":true,"remote_address":"198.51.100.9:3569","time":"2024-07-27T00:00:00Z"}` + "\n")
	b.WriteString(`{"suspicious":true,"remote_address":` + "\n")
	b.WriteString("\xff\xfe\x00\x00 garbage\n")
	b.WriteString(`{"x":"` + strings.Repeat("a", 3<<20) + `"}` + "\n")
	b.WriteString(`{"suspicious":true,"remote_address":"198.51.100.9:3569","time":"2024-07-27T00:00:01Z"}`)
	if err := os.WriteFile(log, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("jails:\n  flow:\n    filter: flow-suspicious\n    maxretry: 2\n    action: dry-run\n"), 0o600)
	got := runReplay(t, Options{Config: loadConfig(t, cfg), Logs: []string{log}, JSON: true})
	want := `{"event":"ban","jail":"flow","host":"198.51.100.9","at":"2024-07-27T00:00:01.000Z","until":"2024-07-27T01:00:01.000Z","hits":2,"actions":["dry-run"]}
{"event":"summary","jail":"flow","lines":5,"matched":2,"ignored":0,"hosts":1,"bans":1,"out_of_order":0}
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	text := runReplay(t, Options{Config: loadConfig(t, cfg), Logs: []string{log}})
	// The broken object and the 3 MiB one are unparsed; the binary line has
	// none of the filter's keys, so it is a plain miss.
	if !strings.Contains(text, "unparsed               2") {
		t.Errorf("text report does not count 2 unparsed lines:\n%s", text)
	}
}

// Syslog stamps are local time; the golden files are written in UTC.
func TestMain(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}

// A stamp that jumps (a clock set to 2099, then to 2001) is flagged and
// moves no clock: it ends no ban early, and the banned host's next hits are
// still hits on a banned host, not a fresh window. The output is the one of
// the same log without the jumping lines, but for the summary's counts.
func TestReplayClockJump(t *testing.T) {
	data, err := os.ReadFile("testdata/sshd.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	var again strings.Builder
	for i := range 5 {
		fmt.Fprintf(&again, "Jul 27 00:02:%02d bastion sshd[10]: Failed password for root from 198.51.100.1 port %d ssh2\n", i, 42000+i)
	}
	jumps := "2099-01-01T00:00:00+0000 bastion sshd[15]: Invalid user x from 198.51.100.9 port 1\n" +
		"2001-01-01T00:00:00+0000 bastion sshd[15]: Invalid user x from 198.51.100.9 port 2\n"
	plain := strings.Join(lines[:12], "") + again.String() + strings.Join(lines[12:], "")
	jumped := strings.Join(lines[:12], "") + jumps + again.String() + strings.Join(lines[12:], "")
	run := func(text string) string {
		log := filepath.Join(t.TempDir(), "auth.log")
		mtime := time.Date(2024, 7, 28, 0, 0, 0, 0, time.UTC)
		if err := os.WriteFile(log, []byte(text), 0o600); err != nil || os.Chtimes(log, mtime, mtime) != nil {
			t.Fatal("cannot prepare the log")
		}
		return runReplay(t, Options{Config: loadConfig(t, "testdata/sshd.yaml"), Logs: []string{log}, JSON: true, Workers: 1})
	}
	want, got := run(plain), run(jumped)
	events := func(out string) string {
		i := strings.Index(out, `{"event":"summary"`)
		return out[:i]
	}
	if events(got) != events(want) {
		t.Errorf("events with the jumping lines:\n%s\nwithout:\n%s", events(got), events(want))
	}
	if !strings.Contains(got, `"out_of_order":2}`) || !strings.Contains(want, `"out_of_order":0}`) {
		t.Errorf("summary does not flag the two jumps: %s", got[strings.Index(got, `{"event":"summary"`):])
	}
	checkContract(t, got)
}
