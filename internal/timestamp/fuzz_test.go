package timestamp

import (
	"errors"
	"testing"
	"time"
)

var fuzzLines = []string{
	"Jul 27 00:00:00 ipfsNode ipfs[46133]: 2024-07-27T00:00:00.014Z\tINFO\tcanonical-log\tx",
	"Jul  7 00:00:00 bastion sshd[20389]: Connection closed by 2001:db8::1 port 52707 [preauth]",
	`{"level":"warn","module":"alsp","time":"2024-07-27T00:00:00.00389236Z","message":"m"}`,
	`{"level":"info","ts":1722038400.123,"msg":"x"}`,
	`time=2024-07-27T00:00:00.123+02:00 level=INFO msg="x"`,
	"1722038400123 x",
	"type=USER_AUTH msg=audit(1722038400.123:42): x",
	"2024-07-27 00:00:00,123 - root - INFO - x",
	`1.2.3.4 - - [27/Jul/2024:00:00:00 +0000] "GET /"`,
	"2024/07/27 00:00:00.123456 x",
	"Feb 29 23:59:60.999999999 x",
	"0000-01-01T00:00:00+23:59",
	"9999-12-31T23:59:59.999999999-23:59",
	"upgraded to 1.2.3 at 10.0.0.1",
	"\xff\x00Jul 27",
	"<13>1 2024-07-27T00:00:00.003Z host app 1 - - msg",
	`Jul 27 00:00:00 n flow[1]: {"level":"warn","time":"2024-07-27T00:00:00.5Z"}`,
	`{"a":[{"time":1}],"msg":"\"time\":\"2099-01-01T00:00:00Z","ts":1722038400}`,
	`level=info err="x time=2099-01-01T00:00:00Z" ts=1722038400 msg=y`,
	"[2024-07-27 00:00:00] x",
	"DEBUG[07-27|00:00:00.717] Adding p2p peer name=\"E[2099-01-01|00:00:00.000]\"",
	"[ 1241.567890] node geth[1]: INFO [02-29|23:59:60.999999999] x",
	"E[2024-07-27|00:00:00.524] Stopping peer for error module=p2p",
	`t=2024-07-27T00:00:00+0000 lvl=debug msg="x" t=2099-01-01T00:00:00Z`,
	`{"t":"2024-07-27T00:00:00.7174Z","lvl":"debug","msg":"x"}`,
}

// checkSane fails unless t, found in some text, is a time a log could hold,
// and unless formatting it as RFC 3339 and parsing that back gives t again.
func checkSane(t *testing.T, got time.Time) {
	t.Helper()
	if y := got.UTC().Year(); y < -1 || y > 10000 {
		t.Fatalf("found year %d", y)
	}
	if y := got.Year(); y < 1 || y > 9999 {
		return // RFC 3339 cannot write it
	}
	text := got.Format(time.RFC3339Nano)
	back, ok := ParseValueIn([]byte(text), time.UTC)
	if !ok || !back.Equal(got) {
		t.Fatalf("found %s, which parses back as %v %v", text, back, ok)
	}
}

func FuzzFind(f *testing.F) {
	for _, line := range fuzzLines {
		f.Add([]byte(line))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		d := newTestDetector(t, "")
		got, ok := d.Find(line) // full detection
		if ok {
			checkSane(t, got)
		}
		// The cached path finds a stamp wherever detection found one.
		again, ok2 := d.Find(line)
		if ok2 != ok {
			t.Fatalf("Find on the cached path: %v %v, after detection: %v %v", again, ok2, got, ok)
		}
		if ok2 {
			checkSane(t, again)
		}
	})
}

func FuzzParseValue(f *testing.F) {
	for _, v := range []string{"2024-07-27T00:00:00Z", "2024-07-27 00:00:00,123", "2024-07-27T02:00:00.5+02:00",
		`"2024-07-27T00:00:00Z"`, "1722038400", "1722038400.123", "1722038400123", "1722038400123456789"} {
		f.Add([]byte(v))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if got, ok := ParseValueIn(v, time.UTC); ok {
			checkSane(t, got)
		}
	})
}

func FuzzPattern(f *testing.F) {
	patterns := []string{"", "iso8601", "syslog", "epoch", "epoch_ms", "^%b %d %H:%M:%S",
		"%Y-%m-%dT%H:%M:%S.%f%z", "%d/%b/%Y:%H:%M:%S %z", "%a %b %e %H:%M:%S %Y", "%Y%m%d%H%M%S",
		"{^LN-BEG}%y-%j %H:%M", "%Y-%m-%d %H:%M %Q", "%"}
	for i, p := range patterns {
		f.Add(p, []byte(fuzzLines[i%len(fuzzLines)]))
	}
	f.Fuzz(func(t *testing.T, pattern string, line []byte) {
		err := ValidatePattern(pattern)
		d, err2 := NewDetector(Options{Pattern: pattern, Location: time.UTC, Reference: func() time.Time { return refTime }})
		if (err == nil) != (err2 == nil) {
			t.Fatalf("ValidatePattern: %v, NewDetector: %v", err, err2)
		}
		if err != nil {
			if !errors.Is(err, ErrPattern) {
				t.Fatalf("error %v is not an ErrPattern", err)
			}
			return
		}
		if got, ok := d.Find(line); ok {
			checkSane(t, got)
		}
	})
}
