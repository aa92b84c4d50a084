package timestamp

import (
	"errors"
	"strings"
	"testing"
)

func TestPattern(t *testing.T) {
	libp2p := "Jul 27 00:00:00 ipfsNode ipfs[46133]: 2024-07-27T00:00:00.014Z\tINFO\tx"
	tests := []struct {
		name, pattern, line, want string
	}{
		{"not in a message", "%Y-%m-%d %H:%M:%S", "foo 2024-07-27 00:00:00 bar", ""},
		{"at the start", "%Y-%m-%d %H:%M:%S", "2024-07-27 00:00:00 bar", "2024-07-27T00:00:00Z"},
		{"in brackets", "%Y-%m-%d %H:%M:%S", "[2024-07-27 00:00:00] bar", "2024-07-27T00:00:00Z"},
		{"after a syslog prefix", "%Y-%m-%d %H:%M:%S", "Jul 27 00:00:00 h p[1]: 2024-07-26 00:00:00 bar", "2024-07-26T00:00:00Z"},
		{"caret pins to the start", "^%Y-%m-%d %H:%M:%S", "foo 2024-07-27 00:00:00 bar", ""},
		{"caret at the start", "^%Y-%m-%d %H:%M:%S", "2024-07-27 00:00:00 bar", "2024-07-27T00:00:00Z"},
		{"fail2ban line begin", "{^LN-BEG}%Y-%m-%d %H:%M:%S", "x 2024-07-27 00:00:00", ""},
		{"only the pattern is used", "%Y-%m-%d %H:%M:%S", "Jul 27 00:00:00 h p: x", ""},
		{"syslog with %d", "^%b %d %H:%M:%S", "Jul 27 00:00:00 h p: x", "2024-07-27T00:00:00Z"},
		{"syslog padded day", "%b %d %H:%M:%S", "Jul  7 00:00:00 h p: x", "2024-07-07T00:00:00Z"},
		{"syslog %e", "%b %e %H:%M:%S", "Jul  7 00:00:00 h p: x", "2024-07-07T00:00:00Z"},
		{"space-padded day without a space before", "%b%e %H:%M:%S", "Jul 7 00:00:00", "2024-07-07T00:00:00Z"},
		{"pattern year inference", "%b %d %H:%M:%S", "Aug 10 00:00:00 h p: x", "2023-08-10T00:00:00Z"},
		{"clf", "%d/%b/%Y:%H:%M:%S %z", `1.2.3.4 - - [27/Jul/2024:02:00:00 +0200] "GET /"`, "2024-07-27T00:00:00Z"},
		{"libp2p iso", "%Y-%m-%dT%H:%M:%S.%f%z", libp2p, "2024-07-27T00:00:00.014Z"},
		{"python", "%Y-%m-%d %H:%M:%S,%f", "2024-07-27 00:00:00,123 - x", "2024-07-27T00:00:00.123Z"},
		{"geth after its level", "%m-%d|%H:%M:%S.%f", "INFO [07-27|00:00:00.717] x", "2024-07-27T00:00:00.717Z"},
		{"cometbft after its level", "%Y-%m-%d|%H:%M:%S.%f", "Jul 27 00:00:00 h cometbft[1]: E[2024-07-26|00:00:00.524] x", "2024-07-26T00:00:00.524Z"},
		{"level stamp not in a message", "%m-%d|%H:%M:%S.%f", "Jul 27 00:00:00 h geth[1]: peer said DEBUG[01-01|00:00:00.717]", ""},
		{"two-digit year", "%y%m%d %H:%M:%S", "240727 10:00:00 [Note] x", "2024-07-27T10:00:00Z"},
		{"two-digit year last century", "%y-%m-%d %H:%M", "99-12-31 23:59 x", "1999-12-31T23:59:00Z"},
		{"one-digit hour", "%y%m%d %H:%M:%S", "240727  9:00:00 x", "2024-07-27T09:00:00Z"},
		{"no literal at all", "%Y%m%d%H%M%S", "20240727000000 y", "2024-07-27T00:00:00Z"},
		{"ctime", "%a %b %d %H:%M:%S %Y", "Sat Jul 27 00:00:00 2024 x", "2024-07-27T00:00:00Z"},
		{"full names", "%A, %B %d, %Y %H:%M", "Saturday, July 27, 2024 10:30 x", "2024-07-27T10:30:00Z"},
		{"any case names", "%b %d %Y %H:%M", "JUL 27 2024 10:30", "2024-07-27T10:30:00Z"},
		{"day of year", "%Y-%j %H:%M:%S", "2024-209 00:00:00", "2024-07-27T00:00:00Z"},
		{"zone Z", "%Y-%m-%dT%H:%M:%S%z", "2024-07-27T00:00:00Z", "2024-07-27T00:00:00Z"},
		{"zone required by %z", "%Y-%m-%dT%H:%M:%S%z", "2024-07-27T00:00:00 x", ""},
		{"percent literal", "%Y-%m-%d %H:%M 100%%", "2024-07-27 10:30 100%", "2024-07-27T10:30:00Z"},
		{"month 13", "%Y-%m-%d %H:%M:%S", "2024-13-01 00:00:00", ""},
		{"feb 30", "%Y-%m-%d %H:%M:%S", "2024-02-30 00:00:00", ""},
		{"day of year 367", "%Y-%j %H:%M", "2024-367 00:00", ""},
		{"past the scan limit", "%Y-%m-%d %H:%M:%S", strings.Repeat("x", ScanLimit) + "2024-07-27 00:00:00", ""},

		// Names restrict automatic detection to one family.
		{"name syslog", "syslog", libp2p, "2024-07-27T00:00:00Z"},
		{"name iso8601", "iso8601", libp2p, "2024-07-27T00:00:00.014Z"},
		{"name rfc3339", "RFC3339", libp2p, "2024-07-27T00:00:00.014Z"},
		{"name iso8601 json", "iso8601", `{"time":"2024-07-27T00:00:00.5Z"}`, "2024-07-27T00:00:00.5Z"},
		{"name iso8601 skips epoch", "iso8601", `{"time":1722038400}`, ""},
		{"name anchored iso8601", "^iso8601", "x 2024-07-27T00:00:00Z", ""},
		{"name epoch", "epoch", "1722038400.5 x", "2024-07-27T00:00:00.5Z"},
		{"name epoch json", "epoch", `{"ts":1722038400.25}`, "2024-07-27T00:00:00.25Z"},
		{"name epoch skips ms", "epoch", "1722038400123 x", ""},
		{"name epoch skips iso", "epoch", "2024-07-27T00:00:00Z x", ""},
		{"name epoch_ms", "epoch_ms", "1722038400123 x", "2024-07-27T00:00:00.123Z"},
		{"name epoch_ms skips seconds", "epoch_ms", `{"ts":1722038400.5}`, ""},
		{"name epoch never mid line", "epoch", "height 1722038400 x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFind(t, newTestDetector(t, tt.pattern), tt.line, tt.want)
		})
	}
}

func TestValidatePattern(t *testing.T) {
	good := []string{"", "iso8601", "rfc3339", "syslog", "epoch", "epoch_ms", "^syslog",
		"%Y-%m-%d %H:%M:%S", "^%b %d %H:%M:%S", "{^LN-BEG}%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%j %H:%M"}
	for _, p := range good {
		if err := ValidatePattern(p); err != nil {
			t.Errorf("ValidatePattern(%q) = %v, want nil", p, err)
		}
	}
	bad := []struct{ pattern, want string }{
		{"%Y-%m-%d %H:%M:%Q", "unknown directive %Q (e.g. %Y-%m-%d %H:%M:%S)"},
		{"%Y-%m-%d %H:%M:%s", "unknown directive %s: for epoch seconds use the datepattern epoch"},
		{"%Y-%m-%d %H:%M:%S %Z", "unknown directive %Z: for a zone use %z"},
		{"%Y-%m-%d %H:%M:%S%", "pattern ends with a lone % (e.g. %Y-%m-%d %H:%M:%S)"},
		{"%Y-%m-%d %H:%M:%S %Y", "directive %Y sets a field given before"},
		{"%Y %y-%m-%d %H:%M", "directive %y sets a field given before"},
		{"%H:%M:%S", "no month: add %m or %b (e.g. %Y-%m-%d %H:%M:%S)"},
		{"%Y-%m %H:%M", "no day: add %d"},
		{"%Y-%m-%d", "no hour: add %H"},
		{"%Y-%m-%d %H", "no minute: add %M"},
		{"%j %H:%M", "%j needs a year: add %Y"},
		{"%Y %j %m %H:%M", "%j gives month and day"},
		{"%m %b %d %H:%M", "both %m and %b give the month"},
		{"isoo8601", `unknown datepattern "isoo8601" (e.g. iso8601, rfc3339, syslog, epoch, epoch_ms or %Y-%m-%d %H:%M:%S)`},
		{"^", `unknown datepattern ""`},
		{strings.Repeat("%Y", 200), "longer than 256"},
	}
	for _, tt := range bad {
		err := ValidatePattern(tt.pattern)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidatePattern(%q) = %v, want an error containing %q", tt.pattern, err, tt.want)
			continue
		}
		if !errors.Is(err, ErrPattern) {
			t.Errorf("ValidatePattern(%q) = %v, not an ErrPattern", tt.pattern, err)
		}
		if _, err2 := NewDetector(Options{Pattern: tt.pattern}); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("NewDetector(%q) = %v, want %v", tt.pattern, err2, err)
		}
	}
}
