package filter

import (
	"bytes"
	"testing"

	"github.com/peerjail/peerjail/internal/logline"
)

// FuzzRegexTemplate compiles arbitrary templates and runs them on arbitrary
// lines: no panic, a match always names a valid host, and the literals
// looked for first are in every match.
func FuzzRegexTemplate(f *testing.F) {
	f.Add(`Failed .* from <HOST> port \d+$`, "Failed password for root from 1.2.3.4 port 22")
	f.Add(`addr=<HOST>(?:\s|$)`, "addr=/ip6/::1/tcp/1 x")
	f.Add(`peer <ID> bad`, "peer \xff\x00 bad")
	f.Add(`(?P<host>.*)`, "[::1]:80")
	f.Add(`<HOST`, "<HOST>")
	f.Add(`^<PREFIX:sshd>Failed .* from <HOST>$`, "Dec  1 08:56:14 h sshd[1]: Failed x from 1.2.3.4")
	f.Add(`<PREFIX>peer=(?:""|<ID>)? addr=<HOST>`, "[ 1.5] h ipfs[1]: peer=x addr=/ip4/1.2.3.4/tcp/1/p2p/y/p2p-circuit")
	f.Add(`^Received disconnect from <HOST>(?: port \d+)?:\s*3: .*: Auth fail`, "Received disconnect from 1.2.3.4 port 5:3: x: Auth fail")
	f.Fuzz(func(t *testing.T, tmpl, line string) {
		fl, err := NewRegex("fuzz", &RegexSpec{Fail: []string{tmpl}, Ignore: []string{`ignore-me`}})
		if err != nil {
			return
		}
		// The literals Match looks for before running a pattern are in
		// every match of it: skipping a line without them changes nothing.
		for _, p := range fl.fail {
			var pl prefixedLine
			msg, ok := pl.message([]byte(line), &p.prefix)
			if !ok {
				continue
			}
			if loc := p.re.FindIndex(msg); loc != nil {
				for _, lit := range append([][]byte{p.literal}, p.also...) {
					if !bytes.Contains(msg[loc[0]:loc[1]], lit) {
						t.Fatalf("%q matches %q without its literal %q", tmpl, msg[loc[0]:loc[1]], lit)
					}
				}
			}
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
