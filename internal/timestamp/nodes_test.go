package timestamp

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nodeFixtures is where the node software's real-format fixtures live
// (tools/nodefixtures writes them for the stock filters' golden tests).
var nodeFixtures = filepath.Join("..", "config", "testdata", "stock", "nodes")

// TestNodeFixtures reads every line of the go-ethereum, CometBFT, Bitcoin
// Core and Nano fixtures, as the program wrote them and behind each
// journalctl prefix, and checks the time found against the line's own
// stamp, parsed here with the program's own layout: within a second. Behind
// a relay the relay's stamp counts unless the program's is finer, and a
// monotonic prefix is no wall time (the program's stamp counts).
func TestNodeFixtures(t *testing.T) {
	ref := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for _, name := range []string{"geth", "cometbft", "bitcoin", "nano"} {
		for _, file := range []string{name + ".log", name + "-journal.log"} {
			t.Run(file, func(t *testing.T) {
				lines := fixtureLines(t, filepath.Join(nodeFixtures, file))
				d, err := NewDetector(Options{Location: time.UTC, Reference: func() time.Time { return ref }})
				if err != nil {
					t.Fatal(err)
				}
				for n, line := range lines {
					want, ok := lineTruth(line)
					if !ok {
						t.Fatalf("%s:%d: the test cannot read this line's stamp: %q", file, n+1, line)
					}
					got, found := d.Find([]byte(line))
					if off := got.Sub(want); !found || off >= time.Second || off <= -time.Second {
						t.Errorf("%s:%d: found %v %v, written at %v: %q", file, n+1, got, found, want, line)
					}
				}
			})
		}
	}
}

func fixtureLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no lines", path)
	}
	return out
}

// relayLine splits a journalctl line into its stamp and the program's line;
// the fixtures' host is "node".
var relayLine = regexp.MustCompile(`^(.*?) node [\w.-]+\[\d+\]: (.*)$`)

// lineTruth is the time a fixture line was written, read independently of
// the detector: each format's text by its writer's own layout.
func lineTruth(line string) (time.Time, bool) {
	m := relayLine.FindStringSubmatch(line)
	if m == nil {
		t, _, ok := programTruth(line)
		return t, ok
	}
	pt, pdigits, ok := programTruth(m[2])
	if !ok {
		return time.Time{}, false
	}
	rt, rdigits, wall := relayTruth(m[1])
	if wall && rdigits >= pdigits {
		return rt, true
	}
	return pt, true
}

// The programs' stamps, each with the layout its writer uses.
var programLayouts = []struct {
	re     *regexp.Regexp
	layout string
	prefix string // what the text lacks of the layout
}{
	// go-ethereum log/format.go termTimeFormat "01-02|15:04:05.000"; the
	// fixtures were written in 2026.
	{regexp.MustCompile(`^[A-Z]{4,5} ?\[(\d\d-\d\d\|[0-9:.]+)\] `), "2006-01-02|15:04:05.000", "2026-"},
	// CometBFT libs/log/tmfmt_logger.go "2006-01-02|15:04:05.000".
	{regexp.MustCompile(`^[A-Z]\[(\d{4}-\d\d-\d\d\|[0-9:.]+)\] `), "2006-01-02|15:04:05.000", ""},
	// go-ethereum's logfmt handler: timeFormat "2006-01-02T15:04:05-0700".
	{regexp.MustCompile(`^t=(\S+) `), "2006-01-02T15:04:05-0700", ""},
	// Bitcoin Core FormatISO8601DateTime, with -logtimemicros a fraction.
	{regexp.MustCompile(`^(\d{4}-\d\d-\d\dT[0-9:.]+Z) `), time.RFC3339Nano, ""},
	// Nano's spdlog pattern "[%Y-%m-%d %H:%M:%S.%e]".
	{regexp.MustCompile(`^\[(\d{4}-\d\d-\d\d [0-9:.]+)\] `), "2006-01-02 15:04:05.000", ""},
}

// programTruth reads the stamp a program wrote at the start of its line,
// and how many digits it has past the second.
func programTruth(line string) (time.Time, int, bool) {
	if strings.HasPrefix(line, "{") {
		var obj map[string]any
		if json.Unmarshal([]byte(line), &obj) != nil {
			return time.Time{}, 0, false
		}
		for _, k := range []string{"t", "ts"} { // go-ethereum, CometBFT
			if v, ok := obj[k].(string); ok {
				t, err := time.Parse(time.RFC3339Nano, v)
				return t, fractionDigits(v), err == nil
			}
		}
		return time.Time{}, 0, false
	}
	for _, p := range programLayouts {
		if m := p.re.FindStringSubmatch(line); m != nil {
			t, err := time.Parse(p.layout, p.prefix+m[1])
			return t, fractionDigits(m[1]), err == nil
		}
	}
	return time.Time{}, 0, false
}

// relayTruth reads a journalctl -o style's stamp; wall is false for
// short-monotonic, whose stamp is time since boot.
func relayTruth(s string) (t time.Time, digits int, wall bool) {
	if strings.HasPrefix(s, "[") {
		return time.Time{}, 0, false
	}
	if sec, frac, ok := strings.Cut(s, "."); ok && !strings.ContainsAny(s, " :") { // short-unix
		n, err1 := strconv.ParseInt(sec, 10, 64)
		us, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 != nil || err2 != nil || len(frac) != 6 {
			return time.Time{}, 0, false
		}
		return time.Unix(n, us*1000).UTC(), 6, true
	}
	for _, layout := range []string{
		time.RFC3339Nano,              // short-iso-precise
		"2006-01-02T15:04:05-0700",    // short-iso
		"Mon 2006-01-02 15:04:05 MST", // short-full
		"Jan 02 15:04:05.000000 2006", // short-precise, with the fixtures' year
		"Jan 02 15:04:05 2006",        // short, with-unit
	} {
		text := s
		if strings.HasPrefix(layout, "Jan") {
			text += " 2026"
		}
		if t, err := time.Parse(layout, text); err == nil {
			return t.UTC(), fractionDigits(s), true
		}
	}
	return time.Time{}, 0, false
}

func fractionDigits(s string) int {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range s[i+1:] {
		if c < '0' || c > '9' {
			break
		}
		n++
	}
	return n
}
