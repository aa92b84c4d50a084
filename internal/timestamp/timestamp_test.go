package timestamp

import (
	"testing"
	"time"
)

// refTime is "now" for year inference in tests.
var refTime = time.Date(2024, 7, 28, 12, 0, 0, 0, time.UTC)

func newTestDetector(t testing.TB, pattern string) *Detector {
	t.Helper()
	d, err := NewDetector(Options{
		Pattern:   pattern,
		Location:  time.UTC,
		Reference: func() time.Time { return refTime },
	})
	if err != nil {
		t.Fatalf("NewDetector(%q): %v", pattern, err)
	}
	return d
}

// checkFind runs Find on a fresh detector (full detection) and compares with
// want, an RFC 3339 time or "" for no timestamp.
func checkFind(t *testing.T, d *Detector, line, want string) {
	t.Helper()
	got, ok := d.Find([]byte(line))
	switch {
	case want == "" && ok:
		t.Errorf("Find(%q) = %s, want no timestamp", line, got.Format(time.RFC3339Nano))
	case want != "" && !ok:
		t.Errorf("Find(%q) found nothing, want %s", line, want)
	case want != "":
		w, err := time.Parse(time.RFC3339Nano, want)
		if err != nil {
			t.Fatalf("bad want %q: %v", want, err)
		}
		if !got.Equal(w) {
			t.Errorf("Find(%q) = %s, want %s", line, got.Format(time.RFC3339Nano), want)
		}
	}
}

func TestFind(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		// ISO 8601 / RFC 3339.
		{"iso utc", "2024-07-27T00:00:00Z msg", "2024-07-27T00:00:00Z"},
		{"iso millis", "2024-07-27T00:00:00.014Z\tINFO", "2024-07-27T00:00:00.014Z"},
		{"iso nanos", "2024-07-27T00:00:00.000548005Z x", "2024-07-27T00:00:00.000548005Z"},
		{"iso one digit", "2024-07-27T00:00:00.5Z", "2024-07-27T00:00:00.5Z"},
		{"iso past nanos", "2024-07-27T00:00:00.1234567891Z", "2024-07-27T00:00:00.123456789Z"},
		{"iso offset colon", "2024-07-27T02:00:00+02:00 x", "2024-07-27T00:00:00Z"},
		{"iso offset compact", "2024-07-27T02:00:00+0200 x", "2024-07-27T00:00:00Z"},
		{"iso offset hours", "2024-07-27T02:00:00+02 x", "2024-07-27T00:00:00Z"},
		{"iso negative offset", "2024-07-26T19:00:00.5-05:00", "2024-07-27T00:00:00.5Z"},
		{"iso lower t z", "2024-07-27t00:00:00z", "2024-07-27T00:00:00Z"},
		{"iso no zone is local", "2024-07-27T00:00:00 x", "2024-07-27T00:00:00Z"},
		{"iso mid line is the message's", "node 3 said at 2024-07-27T00:00:01Z: hello", ""},
		{"python comma", "2024-07-27 00:00:00,123 - root - INFO - hi", "2024-07-27T00:00:00.123Z"},
		{"python dot", "2024-07-27 00:00:00.123 INFO hi", "2024-07-27T00:00:00.123Z"},
		{"space zone", "2024-07-27 02:00:00 +0200 x", "2024-07-27T00:00:00Z"},
		{"postgres utc", "2024-07-27 00:00:00.250 UTC [42] LOG: x", "2024-07-27T00:00:00.25Z"},
		{"go log", "2024/07/27 00:00:00.123456 dial failed", "2024-07-27T00:00:00.123456Z"},
		{"rfc5424", "<34>1 2024-07-27T00:00:00.003Z host app 1 - - msg", "2024-07-27T00:00:00.003Z"},
		{"leap second", "2024-06-30T23:59:60Z", "2024-07-01T00:00:00Z"},
		{"feb 29 leap year", "2024-02-29T10:00:00Z", "2024-02-29T10:00:00Z"},
		{"clf", `1.2.3.4 - - [27/Jul/2024:02:00:00 +0200] "GET / HTTP/1.1" 200`, "2024-07-27T00:00:00Z"},

		// syslog, year from the reference 2024-07-28.
		{"syslog", "Jul 27 00:00:00 bastion sshd[1]: Failed password", "2024-07-27T00:00:00Z"},
		{"syslog padded day", "Jul  7 00:00:00 bastion sshd[1]: x", "2024-07-07T00:00:00Z"},
		{"syslog unpadded day", "Jul 7 00:00:00 bastion sshd[1]: x", "2024-07-07T00:00:00Z"},
		{"syslog within a week ahead", "Aug  3 00:00:00 h p: x", "2024-08-03T00:00:00Z"},
		{"syslog more than a week ahead", "Aug  5 00:00:00 h p: x", "2023-08-05T00:00:00Z"},
		{"syslog fraction", "Jul 27 00:00:00.250 h p: x", "2024-07-27T00:00:00.25Z"},

		// A relay's stamp and the program's at the start of its message: the
		// finer wins, then the relay's. Stamps inside the message never count.
		{"libp2p in syslog", "Jul 27 00:00:00 ipfsNode ipfs[46133]: 2024-07-27T00:00:00.014Z\tINFO\tcanonical-log", "2024-07-27T00:00:00.014Z"},
		{"syslog then iso seconds", "Jul 27 00:00:00 h p: 2024-07-27T00:00:05Z x", "2024-07-27T00:00:00Z"},
		{"only the line's start", "2024-07-27T00:00:01Z then 2024-07-27T00:00:02.5Z", "2024-07-27T00:00:01Z"},
		{"key, not a string value", `{"msg":"retry at 2024-07-27T09:00:00Z","time":"2024-07-27T00:00:00Z"}`, "2024-07-27T00:00:00Z"},
		{"finer text in a string loses to the key", `{"time":"2024-07-27T00:00:00Z","msg":"at 2024-07-27T09:00:00.5Z"}`, "2024-07-27T00:00:00Z"},
		{"string value that looks like a key", `{"msg":"\",\"time\":\"2099-01-01T00:00:00Z","ts":1722038400}`, "2024-07-27T00:00:00Z"},
		{"nested key", `{"peer":{"time":"2099-01-01T00:00:00Z"},"ts":1722038400}`, "2024-07-27T00:00:00Z"},
		{"json after a syslog prefix", `Jul 27 00:00:00 n flow[1]: {"level":"warn","time":"2024-07-27T00:00:00.5Z"}`, "2024-07-27T00:00:00.5Z"},
		{"slog after a syslog prefix", `Jul 27 00:00:00 n app[1]: time=2024-07-27T00:00:00.5Z level=INFO msg=x`, "2024-07-27T00:00:00.5Z"},
		{"bracketed iso", "[2024-07-27T00:00:00.5Z] x", "2024-07-27T00:00:00.5Z"},
		{"syslog pri", "<13>Jul 27 00:00:00 h p: x", "2024-07-27T00:00:00Z"},
		{"logfmt key after msg", `level=info msg=x time=2024-07-27T00:00:00Z`, ""},
		{"logfmt key in a quoted value", `level=info err="x time=2024-07-27T00:00:00Z" ts=1722038400`, "2024-07-27T00:00:00Z"},

		// JSON and logfmt keys.
		{"zerolog", `{"level":"info","time":"2024-07-27T00:00:00.000548005Z","message":"x"}`, "2024-07-27T00:00:00.000548005Z"},
		{"json space after colon", `{"time": "2024-07-27T00:00:00Z"}`, "2024-07-27T00:00:00Z"},
		{"json epoch", `{"level":"info","time":1722038400,"message":"x"}`, "2024-07-27T00:00:00Z"},
		{"zap ts float", `{"level":"info","ts":1722038400.123,"msg":"x"}`, "2024-07-27T00:00:00.123Z"},
		{"json epoch ms", `{"timestamp":1722038400123}`, "2024-07-27T00:00:00.123Z"},
		{"json epoch string", `{"ts":"1722038400.5"}`, "2024-07-27T00:00:00.5Z"},
		{"logstash", `{"@timestamp":"2024-07-27T00:00:00.001Z","message":"x"}`, "2024-07-27T00:00:00.001Z"},
		{"slog text", `time=2024-07-27T00:00:00.123Z level=INFO msg="x"`, "2024-07-27T00:00:00.123Z"},
		{"slog text quoted", `time="2024-07-27 00:00:00.123" level=INFO`, "2024-07-27T00:00:00.123Z"},
		{"go-log ts", `ts=1722038400.25 level=info msg=x`, "2024-07-27T00:00:00.25Z"},
		{"logfmt epoch ms", `level=info ts=1722038400123 msg=x`, "2024-07-27T00:00:00.123Z"},
		{"json epoch ns", `{"time":1722038400000000001}`, "2024-07-27T00:00:00.000000001Z"},

		// A level, then a bracketed stamp: go-ethereum's terminal format (no
		// year) and CometBFT's; go-ethereum's "t" key in logfmt and JSON.
		{"geth debug", "DEBUG[07-27|00:00:00.717] Rejected inbound connection addr=1.2.3.4:30303", "2024-07-27T00:00:00.717Z"},
		{"geth info padded", "INFO [07-27|00:00:00.717] Looking for peers", "2024-07-27T00:00:00.717Z"},
		{"geth crit padded", "CRIT [07-27|00:00:00.717] x", "2024-07-27T00:00:00.717Z"},
		{"geth without fraction", "WARN [07-27|00:00:00] x", "2024-07-27T00:00:00Z"},
		{"geth more than a week ahead", "DEBUG[08-05|00:00:00.717] x", "2023-08-05T00:00:00.717Z"},
		{"geth in syslog", "Jul 27 00:00:00 n geth[1]: DEBUG[07-27|00:00:00.717] x", "2024-07-27T00:00:00.717Z"},
		{"geth behind a monotonic journal", "[ 1241.567890] n geth[1]: TRACE[07-27|00:00:00.717] x", "2024-07-27T00:00:00.717Z"},
		{"geth logfmt", `t=2024-07-27T02:00:00+0200 lvl=debug msg="Rejected inbound connection"`, "2024-07-27T00:00:00Z"},
		{"geth json", `{"t":"2024-07-27T00:00:00.7174Z","lvl":"debug","msg":"x"}`, "2024-07-27T00:00:00.7174Z"},
		{"json t loses to time", `{"t":"2099-01-01T00:00:00Z","time":"2024-07-27T00:00:00Z"}`, "2024-07-27T00:00:00Z"},
		{"cometbft", "E[2024-07-27|00:00:00.524] Stopping peer for error module=p2p", "2024-07-27T00:00:00.524Z"},
		{"cometbft info", "I[2024-07-27|00:00:00.524] Stopping peer gracefully module=p2p ", "2024-07-27T00:00:00.524Z"},
		{"cometbft in short-iso", "2024-07-27T00:00:00+0000 n cometbft[1]: E[2024-07-27|00:00:00.524] x", "2024-07-27T00:00:00.524Z"},
		{"cometbft json", `{"_msg":"x","err":"EOF","level":"error","module":"p2p","ts":"2024-07-27T00:00:00.524082434Z"}`, "2024-07-27T00:00:00.524082434Z"},
		{"nano", "[2024-07-27 00:00:00.717] [tcp_server] [debug] x", "2024-07-27T00:00:00.717Z"},
		{"bitcoin", "2024-07-27T00:00:00Z [net] Added connection peer=8", "2024-07-27T00:00:00Z"},
		{"bitcoin logtimemicros", "2024-07-27T00:00:00.717400Z Added connection peer=5", "2024-07-27T00:00:00.7174Z"},
		{"level too long", "NOTICE[07-27|00:00:00.717] x", ""},
		{"lower-case level", "debug[07-27|00:00:00.717] x", ""},
		{"level glued to a word", "xDEBUG[07-27|00:00:00.717] x", ""},
		{"level stamp unclosed", "DEBUG[07-27|00:00:00.717 x", ""},
		{"level stamp month 13", "DEBUG[13-01|00:00:00.717] x", ""},
		{"level stamp iso separator", "E[2024-07-27T00:00:00.524] x", ""},
		{"level stamp two pads", "INFO  [07-27|00:00:00.717] x", ""},
		{"level stamp mid message", "Jul 27 00:00:00 n geth[1]: Peer said DEBUG[01-01|00:00:00.717] x", "2024-07-27T00:00:00Z"},
		{"t key after msg", `lvl=info msg=x t=2099-01-01T00:00:00Z`, ""},
		{"nested t key", `{"lvl":"info","peer":{"t":"2099-01-01T00:00:00Z"}}`, ""},

		// Epoch numbers where loggers put them.
		{"epoch at start", "1722038400 connection from 1.2.3.4", "2024-07-27T00:00:00Z"},
		{"epoch fraction at start", "1722038400.5\tx", "2024-07-27T00:00:00.5Z"},
		{"epoch ms at start", "1722038400123 x", "2024-07-27T00:00:00.123Z"},
		{"epoch bracketed", "[1722038400.123] x", "2024-07-27T00:00:00.123Z"},
		{"auditd", "type=USER_AUTH msg=audit(1722038400.123:42): pid=1", "2024-07-27T00:00:00.123Z"},

		// Not timestamps.
		{"empty", "", ""},
		{"version", "upgraded to 1.2.3 from 1.2.2", ""},
		{"bare number mid line", "reprovided 1722038400 keys", ""},
		{"bare ms number mid line", "height 1722038400123 finalized", ""},
		{"epoch with leading zero", "0722038400 x", ""},
		{"epoch too short", "172203840 x", ""},
		{"epoch then letters", "1722038400abc x", ""},
		{"epoch then dot", "1722038400.1.2 x", ""},
		{"uptime key", "uptime=1722038400 x", ""},
		{"ipv4", "Failed password from 203.0.113.7 port 22", ""},
		{"ipv6", "from 2001:db8:12:34::1 port 22", ""},
		{"mac", "link 00:11:22:33:44:55 up", ""},
		{"month 13", "2024-13-01T00:00:00Z x", ""},
		{"month 0", "2024-00-01T00:00:00Z x", ""},
		{"feb 30", "2024-02-30T00:00:00Z x", ""},
		{"feb 29 non-leap", "2023-02-29T00:00:00Z x", ""},
		{"hour 25", "2024-07-27T25:00:00Z x", ""},
		{"minute 60", "2024-07-27T00:60:00Z x", ""},
		{"syslog day 32", "Jul 32 00:00:00 h p: x", ""},
		{"syslog lower-case month", "jul 27 00:00:00 h p: x", ""},
		{"syslog glued to a word", "xJul 27 00:00:00 h p: x", ""},
		{"time without date", "took 00:00:05 to sync", ""},
		{"digit before date", "12024-07-27T00:00:00Z", ""},
		{"digit after seconds", "2024-07-27T00:00:001 x", ""},
		{"mixed date separators", "2024-07/27T00:00:00Z", ""},
		{"escaped json key", `{"msg":"{\"time\":1722038400}"}`, ""},
		{"nul bytes", "2024-07-27T00:00\x0000Z", ""},
		{"invalid utf-8", "\xff\xfe2024-07-27T00:00:0\xff", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFind(t, newTestDetector(t, ""), tt.line, tt.want)
		})
	}
}

func TestFindLocation(t *testing.T) {
	plus2 := time.FixedZone("plus2", 2*3600)
	d, err := NewDetector(Options{Location: plus2, Reference: func() time.Time { return refTime }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ line, want string }{
		{"2024-07-27T02:00:00 x", "2024-07-27T00:00:00Z"},
		{"Jul 27 02:00:00 h p: x", "2024-07-27T00:00:00Z"},
		{"2024-07-27T02:00:00Z x", "2024-07-27T02:00:00Z"}, // an explicit zone wins
		{"1722038400 x", "2024-07-27T00:00:00Z"},
	}
	for _, tt := range tests {
		checkFind(t, d, tt.line, tt.want)
	}
	got, _ := d.Find([]byte("2024-07-27T02:00:00 x"))
	if got.Location() != plus2 {
		t.Errorf("zone-less time in %v, want the detector's Location", got.Location())
	}
}

func TestYearInference(t *testing.T) {
	tests := []struct {
		name, ref, line, want string
	}{
		{"december line read in january", "2025-01-02T08:00:00Z", "Dec 31 23:59:59 h p: x", "2024-12-31T23:59:59Z"},
		{"january line read in january", "2025-01-02T08:00:00Z", "Jan  2 07:00:00 h p: x", "2025-01-02T07:00:00Z"},
		{"new year line read on new year's eve", "2024-12-31T23:00:00Z", "Jan  1 00:30:00 h p: x", "2025-01-01T00:30:00Z"},
		{"clock a week fast", "2024-12-28T00:00:00Z", "Jan  3 12:00:00 h p: x", "2025-01-03T12:00:00Z"},
		{"more than a week ahead", "2024-12-20T00:00:00Z", "Jan  3 12:00:00 h p: x", "2024-01-03T12:00:00Z"},
		{"feb 29 finds the leap year", "2025-03-01T00:00:00Z", "Feb 29 10:00:00 h p: x", "2024-02-29T10:00:00Z"},
		{"geth december line read in january", "2025-01-02T08:00:00Z", "DEBUG[12-31|23:59:59.717] x", "2024-12-31T23:59:59.717Z"},
		{"geth feb 29", "2025-03-01T00:00:00Z", "INFO [02-29|10:00:00.000] x", "2024-02-29T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := time.Parse(time.RFC3339, tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			d, err := NewDetector(Options{Location: time.UTC, Reference: func() time.Time { return ref }})
			if err != nil {
				t.Fatal(err)
			}
			checkFind(t, d, tt.line, tt.want)
		})
	}
}

// TestYearInferenceFollowsReference checks that a detector running across
// New Year follows its reference: the year is remembered per stamp hour, and
// the reference read again when the hour changes.
func TestYearInferenceFollowsReference(t *testing.T) {
	ref := time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC)
	d, err := NewDetector(Options{Location: time.UTC, Reference: func() time.Time { return ref }})
	if err != nil {
		t.Fatal(err)
	}
	checkFind(t, d, "Dec 31 22:59:59 h p: x", "2024-12-31T22:59:59Z")
	checkFind(t, d, "Jul 27 00:00:00 h p: x", "2024-07-27T00:00:00Z")
	ref = time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)
	checkFind(t, d, "Jul 27 01:00:00 h p: x", "2025-07-27T01:00:00Z")
	checkFind(t, d, "Dec 31 22:59:59 h p: x", "2024-12-31T22:59:59Z")
}

func TestFindLongLines(t *testing.T) {
	pad := make([]byte, 3<<20)
	for i := range pad {
		pad[i] = 'a'
	}
	tests := []struct{ name, line, want string }{
		{"json time field late", `{"msg":"` + string(pad) + `","time":"2024-07-27T00:00:00Z"}`, "2024-07-27T00:00:00Z"},
		{"free text past the scan limit", string(pad[:ScanLimit]) + " 2024-07-27T00:00:00Z", ""},
		{"logfmt key past the scan limit", string(pad[:ScanLimit]) + " time=2024-07-27T00:00:00Z", ""},
		{"huge line without a stamp", string(pad), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFind(t, newTestDetector(t, ""), tt.line, tt.want)
		})
	}
}
