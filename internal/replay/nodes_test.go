package replay

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeFixture copies a node software fixture (internal/config/testdata/stock/
// nodes) into a temporary log whose modification time, from which yearless
// stamps take their year, is the day after the fixtures were written.
func nodeFixture(t *testing.T, name, text string) string {
	t.Helper()
	if text == "" {
		data, err := os.ReadFile(filepath.Join("..", "config", "testdata", "stock", "nodes", name))
		if err != nil {
			t.Fatal(err)
		}
		text = string(data)
	}
	log := filepath.Join(t.TempDir(), name)
	mtime := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	if err := os.WriteFile(log, []byte(text), 0o600); err != nil || os.Chtimes(log, mtime, mtime) != nil {
		t.Fatal("cannot prepare the log")
	}
	return log
}

func nodeConfig(t *testing.T, filter string, maxretry int) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	text := fmt.Sprintf("jails:\n  node:\n    filter: %s\n    maxretry: %d\n    findtime: 10m\n    bantime: 1h\n    action: dry-run\n", filter, maxretry)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// go-ethereum's fixture holds the same handshake failures in its terminal
// format (no year), logfmt (t=) and JSON ("t"): each host is banned at its
// third hit, by the stamps geth wrote (an IPv6 host by its /64), and never
// the victim named in err=.
func TestReplayGethFixture(t *testing.T) {
	got := runReplay(t, Options{
		Config: loadConfig(t, nodeConfig(t, "geth-handshake", 3)),
		Logs:   []string{nodeFixture(t, "geth.log", "")}, JSON: true, Workers: 1,
	})
	want := `{"event":"ban","jail":"node","host":"198.51.100.31","at":"2026-12-01T08:56:28.000Z","until":"2026-12-01T09:56:28.000Z","hits":3,"actions":["dry-run"]}
{"event":"ban","jail":"node","host":"198.51.100.30","at":"2026-12-01T08:56:40.717Z","until":"2026-12-01T09:56:40.717Z","hits":3,"actions":["dry-run"]}
{"event":"ban","jail":"node","host":"2001:db8::/64","at":"2026-12-01T08:56:42.717Z","until":"2026-12-01T09:56:42.717Z","hits":3,"actions":["dry-run"]}
`
	if events := got[:strings.Index(got, `{"event":"summary"`)]; events != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(got, `"out_of_order":0}`) {
		t.Errorf("lines flagged out of order: %s", got)
	}
	checkContract(t, got)
}

// CometBFT's fixture: the text lines (E[2026-12-01|12:13:05.524]) and
// the JSON ones ("ts") were written in the same millisecond. Replayed as
// written, each host is banned at its second hit; replayed with the text
// lines' stamps spread out, windows open and close as the stamps say: of
// three passes over the same peers, the second (five minutes after the
// first) bans, the third (90 minutes after the first, when the bans have
// ended and findtime has passed) counts one hit each and bans nobody.
func TestReplayCometBFTFixture(t *testing.T) {
	got := runReplay(t, Options{
		Config: loadConfig(t, nodeConfig(t, "cometbft-peer-error", 2)),
		Logs:   []string{nodeFixture(t, "cometbft.log", "")}, JSON: true, Workers: 1,
	})
	for _, host := range []string{"198.51.100.40", "2001:db8::/64", "198.51.100.43", "198.51.100.44"} {
		ban := `"host":"` + host + `","at":"2026-12-01T12:13:05.524Z","until":"2026-12-01T13:13:05.524Z","hits":2,"actions":["dry-run"]}`
		if strings.Count(got, ban) != 1 {
			t.Errorf("no ban of %s at the fixture's time:\n%s", host, got)
		}
	}
	if strings.Contains(got, "203.0.113.66") || strings.Contains(got, "198.51.100.42") {
		t.Errorf("the victim or a bare err=EOF was banned:\n%s", got)
	}
	checkContract(t, got)

	data, err := os.ReadFile(filepath.Join("..", "config", "testdata", "stock", "nodes", "cometbft.log"))
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "E[") || strings.HasPrefix(l, "I[") {
			text = append(text, l)
		}
	}
	var b strings.Builder
	start := time.Date(2026, 12, 1, 12, 0, 0, 524e6, time.UTC)
	for _, pass := range []time.Duration{0, 5 * time.Minute, 90 * time.Minute} {
		for i, l := range text {
			stamp := start.Add(pass + time.Duration(i)*time.Second).Format("[2006-01-02|15:04:05.000]")
			b.WriteString(strings.Replace(l, "[2026-12-01|12:13:05.524]", stamp, 1) + "\n")
		}
	}
	got = runReplay(t, Options{
		Config: loadConfig(t, nodeConfig(t, "cometbft-peer-error", 2)),
		Logs:   []string{nodeFixture(t, "cometbft-spread.log", b.String())}, JSON: true, Workers: 1,
	})
	want := `{"event":"ban","jail":"node","host":"198.51.100.40","at":"2026-12-01T12:05:00.524Z","until":"2026-12-01T13:05:00.524Z","hits":2,"actions":["dry-run"]}
{"event":"ban","jail":"node","host":"2001:db8::/64","at":"2026-12-01T12:05:01.524Z","until":"2026-12-01T13:05:01.524Z","hits":2,"actions":["dry-run"]}
{"event":"ban","jail":"node","host":"198.51.100.43","at":"2026-12-01T12:05:03.524Z","until":"2026-12-01T13:05:03.524Z","hits":2,"actions":["dry-run"]}
{"event":"ban","jail":"node","host":"198.51.100.44","at":"2026-12-01T12:05:05.524Z","until":"2026-12-01T13:05:05.524Z","hits":2,"actions":["dry-run"]}
{"event":"unban","jail":"node","host":"198.51.100.40","at":"2026-12-01T13:05:00.524Z","actions":["dry-run"]}
{"event":"unban","jail":"node","host":"2001:db8::/64","at":"2026-12-01T13:05:01.524Z","actions":["dry-run"]}
{"event":"unban","jail":"node","host":"198.51.100.43","at":"2026-12-01T13:05:03.524Z","actions":["dry-run"]}
{"event":"unban","jail":"node","host":"198.51.100.44","at":"2026-12-01T13:05:05.524Z","actions":["dry-run"]}
`
	if events := got[:strings.Index(got, `{"event":"summary"`)]; events != want {
		t.Errorf("spread out, got:\n%s\nwant:\n%s", got, want)
	}
	checkContract(t, got)
}
