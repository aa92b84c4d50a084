package filter

import (
	"errors"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/logline"
)

func matchOne(t *testing.T, f Filter, line string) (Hit, Outcome) {
	t.Helper()
	return f.Match(&logline.Line{Text: []byte(line)})
}

func TestRegexHostForms(t *testing.T) {
	f, err := NewRegex("t", &RegexSpec{Fail: []string{`^fail from <HOST>(?: |$)`}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ line, want string }{
		{"fail from 203.0.113.7", "203.0.113.7"},
		{"fail from 203.0.113.7:4001 x", "203.0.113.7"},
		{"fail from 2001:db8::1", "2001:db8::1"},
		{"fail from [2001:db8::1]:4001", "2001:db8::1"},
		{"fail from ::ffff:203.0.113.8", "203.0.113.8"},
		{"fail from /ip4/203.0.113.9/udp/4001/quic-v1", "203.0.113.9"},
		{"fail from /ip6/2001:db8::2/tcp/4001/ws x", "2001:db8::2"},
		{"fail from /ip4/203.0.113.10/udp/1/quic-v1/webtransport/certhash/uEiA/certhash/uEiB", "203.0.113.10"},
		{"fail from 999.1.1.1", "nohost"},
		{"fail from cafe", "nohost"},
		{"fail from /dns4/example.com/tcp/1", "nohost"},
		{"fail from /unix/%2Ftmp%2Fp2p.sock", "nohost"},
		{"fail from example.com", "miss"},
		{"other", "miss"},
	}
	for _, tt := range tests {
		hit, out := matchOne(t, f, tt.line)
		got := out.String()
		if out == Match {
			got = hit.Host.String()
			if hit.Weight != 1 {
				t.Errorf("%q: weight %d", tt.line, hit.Weight)
			}
		}
		if got != tt.want {
			t.Errorf("%q: got %s, want %s", tt.line, got, tt.want)
		}
	}
}

func TestRegexIDAndRules(t *testing.T) {
	// A pattern names one host and at most one fallback identity.
	for _, src := range []string{`<HOST> <HOST>`, `<ID> <ID>`, `<ID> <HOST> <ID>`} {
		if _, err := NewRegex("t", &RegexSpec{Fail: []string{src}}); !errors.Is(err, ErrNoPlaceholder) {
			t.Errorf("%s: err = %v, want ErrNoPlaceholder", src, err)
		}
	}
	f, err := NewRegex("t", &RegexSpec{
		Fail:   []string{`bad peer \S+ from <HOST>`, `^peer <ID> sent junk`},
		Ignore: []string{`from 192\.0\.2\.`},
	})
	if err != nil {
		t.Fatal(err)
	}
	hit, out := matchOne(t, f, "peer 12D3KooWabc sent junk")
	if out != Match || hit.Host.ID != "12D3KooWabc" || hit.Rule != 1 || hit.Host.Addr.IsValid() {
		t.Errorf("id: got %+v %v", hit, out)
	}
	if _, out := matchOne(t, f, "bad peer x from 192.0.2.4"); out != Ignored {
		t.Errorf("ignore: got %v", out)
	}
	hit, out = matchOne(t, f, "bad peer x from 198.51.100.4")
	if out != Match || hit.Host.String() != "198.51.100.4" || hit.Rule != 0 {
		t.Errorf("host: got %+v %v", hit, out)
	}
	long := "peer " + strings.Repeat("x", maxIDLen+1) + " sent junk"
	if _, out := matchOne(t, f, long); out != NoHost {
		t.Errorf("over-long id: got %v, want nohost", out)
	}
}

func TestRegexCompileErrors(t *testing.T) {
	tests := []struct {
		spec  RegexSpec
		field string
		index int
		msg   string
	}{
		{RegexSpec{}, "fail", 0, "no patterns"},
		{RegexSpec{Fail: []string{"no host here"}}, "fail", 0, "exactly one <HOST>"},
		{RegexSpec{Fail: []string{"<HOST>", "a(<HOST>"}}, "fail", 1, "missing closing )"},
		{RegexSpec{Fail: []string{"<HOST> <HOST>"}}, "fail", 0, "exactly one <HOST>"},
		{RegexSpec{Fail: []string{"Failed ( from <HOST>"}}, "fail", 0, `missing closing ) in "Failed ( from <HOST>"`},
		{RegexSpec{Fail: []string{"<HOST>"}, Ignore: []string{"ok", "[z-a]"}}, "ignore", 1, "invalid character class range"},
		{RegexSpec{Fail: []string{`(?P<host>\S+) x`}}, "", 0, ""},
	}
	for _, tt := range tests {
		_, err := NewRegex("t", &tt.spec)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%v: unexpected error %v", tt.spec, err)
			}
			continue
		}
		var pe *PatternError
		if !errors.As(err, &pe) || pe.Field != tt.field || pe.Index != tt.index || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%v: got %v, want %s[%d] containing %q", tt.spec, err, tt.field, tt.index, tt.msg)
		}
	}
}

func TestRequiredLiteral(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`CANONICAL_PEER_STATUS: peer=\S+ addr=`, "CANONICAL_PEER_STATUS: peer="},
		{`^\d+ (?:a|b) Failed password for .* from`, " Failed password for "},
		{`(?i)failed`, ""},
		{`a|b`, ""},
		{`(?:xyzzy)+ q`, "xyzzy"},
		{`(?:xyzzy)? q`, " q"},
		{`x{2,}abc`, "abc"},
	}
	for _, tt := range tests {
		if got := string(requiredLiteral(tt.expr)); got != tt.want {
			t.Errorf("requiredLiteral(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// The pre-check must never change a result: with and without it, the same.
func TestLiteralPrecheckIsExact(t *testing.T) {
	lines := []string{"Failed password for root from 1.2.3.4", "failed password for root from 1.2.3.4", "x Failed passwor", ""}
	f, err := NewRegex("t", &RegexSpec{Fail: []string{`Failed password for .* from <HOST>`}})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		_, got := matchOne(t, f, l)
		want := Miss
		if f.fail[0].re.MatchString(l) {
			want = Match
		}
		if got != want {
			t.Errorf("%q: %v, regexp alone says %v", l, got, want)
		}
	}
}

// A relayed libp2p address is the relay's: it is never blamed. The pattern's
// <ID> is, when it has one; otherwise the line names nobody.
func TestRegexRelayAndFallbackID(t *testing.T) {
	withID, err := NewRegex("t", &RegexSpec{Fail: []string{`^status: peer=(?:""|<ID>)? addr=<HOST>(?:\s|$)`}})
	if err != nil {
		t.Fatal(err)
	}
	hostOnly, err := NewRegex("t", &RegexSpec{Fail: []string{`^status: peer=\S* addr=<HOST>(?:\s|$)`}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ line, withID, hostOnly string }{
		{"status: peer=12D3KooWA addr=/ip4/198.51.100.1/tcp/4001", "198.51.100.1", "198.51.100.1"},
		{"status: peer= addr=/ip4/198.51.100.2/tcp/60184 x", "198.51.100.2", "198.51.100.2"},
		{`status: peer="" addr=/ip4/198.51.100.3/tcp/60184`, "198.51.100.3", "198.51.100.3"},
		{"status: peer=12D3KooWB addr=/ip4/203.0.113.66/tcp/4001/p2p/12D3KooWRelay/p2p-circuit", "12D3KooWB", "nohost"},
		{"status: peer=12D3KooWB addr=/ip6/2001:db8::66/udp/4001/quic-v1/p2p/12D3KooWRelay/p2p-circuit/p2p/12D3KooWB", "12D3KooWB", "nohost"},
		{"status: peer= addr=/ip4/203.0.113.66/tcp/4001/p2p/12D3KooWRelay/p2p-circuit", "nohost", "nohost"},
		{"status: peer=12D3KooWC addr=/dns4/example.com/tcp/4001", "nohost", "nohost"},
		{"status: peer=12D3KooWC addr=/ip4/999.1.1.1/tcp/1", "nohost", "nohost"},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			f    Filter
			want string
		}{{withID, tt.withID}, {hostOnly, tt.hostOnly}} {
			hit, out := matchOne(t, c.f, tt.line)
			got := out.String()
			if out == Match {
				got = hit.Host.String()
			}
			if got != c.want {
				t.Errorf("%q: got %s, want %s", tt.line, got, c.want)
			}
		}
	}
}

// <PREFIX> stands for any relay prefix logprefix knows, or none; with names,
// lines a relay tagged with another program do not match.
func TestRegexPrefixToken(t *testing.T) {
	f, err := NewRegex("t", &RegexSpec{
		Fail:   []string{`^<PREFIX:sshd|sshd-session>Failed \S+ for \S+ from <HOST> port \d+`},
		Ignore: []string{`<PREFIX>Failed \S+ for \S+ from 192\.0\.2\.`},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ line, want string }{
		{"Failed password for root from 198.51.100.1 port 22 ssh2", "198.51.100.1"},
		{"Dec  1 08:56:14 node sshd[1]: Failed password for root from 198.51.100.2 port 22 ssh2", "198.51.100.2"},
		{"Dec 01 08:56:14.717400 node sshd-session[1]: Failed password for root from 198.51.100.3 port 22", "198.51.100.3"},
		{"Tue 2026-12-01 08:56:14 UTC node sshd.service[1]: Failed password for root from 198.51.100.4 port 22", "198.51.100.4"},
		{"[ 1234.567890] node sshd[1]: Failed password for root from 198.51.100.5 port 22", "198.51.100.5"},
		{"1764579374.717400 node sshd[1]: Failed password for root from 198.51.100.6 port 22", "198.51.100.6"},
		{"<38>1 2026-12-01T08:56:14Z node sshd 1 - - Failed password for root from 198.51.100.7 port 22", "198.51.100.7"},
		{"Dec  1 08:56:14 node sshd[1]: [ID 800047 auth.info] Failed password for root from 198.51.100.8 port 22", "198.51.100.8"},
		{"Dec  1 08:56:14 node sshd[1]: Failed password for root from 192.0.2.9 port 22", "ignored"},
		{"Dec  1 08:56:14 node fakeauth[1]: Failed password for root from 203.0.113.66 port 22", "miss"},
		{"Dec  1 08:56:14 node sshd[1]: x Failed password for root from 203.0.113.66 port 22", "miss"},
	}
	for _, tt := range tests {
		hit, out := matchOne(t, f, tt.line)
		got := out.String()
		if out == Match {
			got = hit.Host.String()
		}
		if got != tt.want {
			t.Errorf("%q: got %s, want %s", tt.line, got, tt.want)
		}
	}
	for _, bad := range []string{`x <PREFIX> <HOST>`, `<PREFIX:> <HOST>`, `<PREFIX:a||b> <HOST>`, `<PREFIXx <HOST>`} {
		if _, err := NewRegex("t", &RegexSpec{Fail: []string{bad}}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestCommonLiteral(t *testing.T) {
	tests := []struct {
		exprs []string
		want  string
	}{
		{[]string{`^\d+ x CANONICAL_PEER_STATUS: peer=`, `msg=CANONICAL_PEER_STATUS peer=`, `\{"msg":"CANONICAL_PEER_STATUS","logger":"c"`}, "CANONICAL_PEER_STATUS"},
		{[]string{`Failed \S+ for`, `Invalid user`}, ""},
		{[]string{`a|b`, `abcdef`}, ""},
		{[]string{`x(?:abcdef)+y`}, "abcdef"},
	}
	for _, tt := range tests {
		var sets [][][]byte
		for _, e := range tt.exprs {
			sets = append(sets, requiredLiterals(e))
		}
		if got := string(commonLiteral(sets)); got != tt.want {
			t.Errorf("commonLiteral(%q) = %q, want %q", tt.exprs, got, tt.want)
		}
	}
}

func TestAnchoredFirst(t *testing.T) {
	tests := []struct{ expr, want string }{ // want: the set's bytes, "" for nil
		{`^(?:(?:error|fatal): )?Failed x`, "Fef"},
		{`^(?:[iI](?:llegal|nvalid) user)`, "Ii"},
		{`^(?i)abc`, "Aa"},
		{`^(?i)kelvin`, ""},
		{`^x?`, ""},
		{`^.x`, ""},
		{`Failed`, ""},
		{`(?m)^Failed`, ""},
		{`^\d+ x`, "0123456789"},
		{`^é`, "\xc3"},
	}
	for _, tt := range tests {
		set := anchoredFirst(tt.expr)
		got := ""
		if set != nil {
			for c := range 256 {
				if set[c] {
					got += string(rune(c))
				}
			}
			if tt.want == "\xc3" {
				got = string([]byte{0xc3})
				if !set[0xc3] {
					got = "?"
				}
			}
		}
		if got != tt.want {
			t.Errorf("anchoredFirst(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// A fail pattern's literal that holds the filter's gate is looked for from
// the gate's first place less the gate's place in the literal: wherever
// the gate first occurs (before the literal, inside it, at the line's
// start), the outcome is what the regexp alone says.
func TestLiteralSearchFromGate(t *testing.T) {
	f, err := NewRegex("t", &RegexSpec{Fail: []string{
		`msg=CANONICAL_PEER_STATUS peer=<ID> addr=<HOST>`,
		`"msg":"CANONICAL_PEER_STATUS","addr":"<HOST>"`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if string(f.gate) != "CANONICAL_PEER_STATUS" || f.fail[0].gateAt != 4 || f.fail[1].gateAt != 7 {
		t.Fatalf("gate %q at %d and %d: the test needs the gate inside both literals", f.gate, f.fail[0].gateAt, f.fail[1].gateAt)
	}
	for _, l := range []string{
		"msg=CANONICAL_PEER_STATUS peer=a addr=192.0.2.1",
		"xxxxmsg=CANONICAL_PEER_STATUS peer=a addr=192.0.2.1",
		"xxxxxxxx CANONICAL_PEER_STATUS msg=CANONICAL_PEER_STATUS peer=a addr=192.0.2.1",
		"CANONICAL_PEER_STATUS msg=CANONICAL_PEER_STATUS peer=a addr=192.0.2.1",
		`xxxxxxxxxxxx CANONICAL_PEER_STATUS "msg":"CANONICAL_PEER_STATUS","addr":"192.0.2.1"`,
		"xxxxxxxx CANONICAL_PEER_STATUS peer=a addr=192.0.2.1",
		"msg=CANONICAL_PEER_STATU peer=a addr=192.0.2.1",
	} {
		_, got := matchOne(t, f, l)
		want := Miss
		if f.fail[0].re.MatchString(l) || f.fail[1].re.MatchString(l) {
			want = Match
		}
		if got != want {
			t.Errorf("%q: %v, regexp alone says %v", l, got, want)
		}
	}
}
