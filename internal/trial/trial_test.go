package trial

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/filter"
)

func sshSpec() filter.Spec {
	return filter.Spec{Name: "t", Regex: &filter.RegexSpec{
		Fail:   []string{`Failed \S+ for .* from <HOST> port \d+`, `Invalid user .* from <HOST>`},
		Ignore: []string{`from 192\.0\.2\.`},
	}}
}

func writeLog(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTrialCounts(t *testing.T) {
	log := writeLog(t,
		"Failed password for root from 198.51.100.1 port 22 ssh2",
		"Invalid user x from 198.51.100.2 port 22",
		"Failed password for root from 198.51.100.1 port 23 ssh2",
		"Failed password for root from 192.0.2.1 port 22 ssh2",
		"Failed password for root from 999.1.1.1 port 22 ssh2",
		"Accepted password for bob from 198.51.100.3 port 22 ssh2",
	)
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Spec: sshSpec(), Log: log, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 6 || res.Matched != 3 || res.Ignored != 1 || res.NoHost != 1 || res.Missed != 1 {
		t.Errorf("counts: %+v", res)
	}
	if res.PerPattern[0] != 2 || res.PerPattern[1] != 1 || res.Hosts["198.51.100.1"] != 2 {
		t.Errorf("per pattern %v, hosts %v", res.PerPattern, res.Hosts)
	}
	for _, want := range []string{"#0          2", "#1          1", "Accepted password", "matched 3, ignored 1, missed 1, no host 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// The --json contract: one {"n","host","pattern"} per matched line, then
// {"summary":{...}}.
func TestTrialJSON(t *testing.T) {
	log := writeLog(t, "x", "Invalid user a from 2001:db8::1", "Failed none for b from 198.51.100.4 port 1")
	var out bytes.Buffer
	if _, err := Run(context.Background(), Options{Spec: sshSpec(), Log: log, Out: &out, JSON: true}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("got %d objects, want 3", len(lines))
	}
	if lines[0]["n"] != 2.0 || lines[0]["host"] != "2001:db8::1" || lines[0]["pattern"] != 1.0 {
		t.Errorf("first match: %v", lines[0])
	}
	if lines[1]["n"] != 3.0 || lines[1]["pattern"] != 0.0 {
		t.Errorf("second match: %v", lines[1])
	}
	s, ok := lines[2]["summary"].(map[string]any)
	if !ok || s["matched"] != 2.0 || s["lines"] != 3.0 || s["missed"] != 1.0 {
		t.Errorf("summary: %v", lines[2])
	}
}
