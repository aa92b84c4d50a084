package filter

import (
	"testing"

	"github.com/peerjail/peerjail/internal/logline"
)

// FuzzRegexTemplate compiles arbitrary templates and runs them on arbitrary
// lines: no panic, and a match always names a valid host.
func FuzzRegexTemplate(f *testing.F) {
	f.Add(`Failed .* from <HOST> port \d+$`, "Failed password for root from 1.2.3.4 port 22")
	f.Add(`addr=<HOST>(?:\s|$)`, "addr=/ip6/::1/tcp/1 x")
	f.Add(`peer <ID> bad`, "peer \xff\x00 bad")
	f.Add(`(?P<host>.*)`, "[::1]:80")
	f.Add(`<HOST`, "<HOST>")
	f.Fuzz(func(t *testing.T, tmpl, line string) {
		fl, err := NewRegex("fuzz", &RegexSpec{Fail: []string{tmpl}, Ignore: []string{`ignore-me`}})
		if err != nil {
			return
		}
		hit, out := fl.Match(&logline.Line{Text: []byte(line)})
		if out == Match && !hit.Host.IsValid() {
			t.Fatalf("match without a host: %q on %q", tmpl, line)
		}
		if out != Match && hit.Host.IsValid() {
			t.Fatalf("%v with a host: %q on %q", out, tmpl, line)
		}
	})
}
