package logprefix

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		line, host, tag, msg string // msg "" with tag "" means no prefix
	}{
		{"Dec  1 08:56:14 node sshd[1]: Failed password", "node", "sshd", "Failed password"},
		{"Dec 01 08:56:14 node ipfs[46133]: 2026-12-01T08:56:14.717Z\tINFO", "node", "ipfs", "2026-12-01T08:56:14.717Z\tINFO"},
		{"Dec 01 08:56:14.717400 node ipfs[46133]: m", "node", "ipfs", "m"},
		{"2026-12-01T08:56:14+0000 node ipfs[46133]: m", "node", "ipfs", "m"},
		{"2026-12-01T08:56:14.717400+00:00 node ipfs[46133]: m", "node", "ipfs", "m"},
		{"2026-12-01T08:56:14.717400Z node ipfs: m", "node", "ipfs", "m"},
		{"Tue 2026-12-01 08:56:14 UTC node ipfs[46133]: m", "node", "ipfs", "m"},
		{"Tue 2026-12-01 08:56:14 CET node ipfs.service[46133]: m", "node", "ipfs.service", "m"},
		{"1764579374.717400 node ipfs[46133]: m", "node", "ipfs", "m"},
		{"[ 1234.567890] node ipfs[46133]: m", "node", "ipfs", "m"},
		{"[12345678.000001] node ipfs[46133]: m", "node", "ipfs", "m"},
		{"<38>Dec  1 08:56:14 node sshd[1]: m", "node", "sshd", "m"},
		{"<38>1 2026-12-01T08:56:14.717400+00:00 node sshd 123 - - m", "node", "sshd", "m"},
		{`<38>1 2026-12-01T08:56:14Z node sshd - ID47 [a b="x]\"y"][c@1 d="e"] m`, "node", "sshd", "m"},
		{"<38>1 2026-12-01T08:56:14Z - - - - -", "", "", ""},
		{"Dec  1 08:56:14 node sshd[1]: [ID 800047 auth.info] Failed", "node", "sshd", "Failed"},
		{"Dec  1 08:56:14 <auth.info> node sshd[1]: m", "node", "sshd", "m"},
		{"Dec 01 08:56:14 ipfs[46133]: m", "", "ipfs", "m"},
		{"Feb 7 16:01:07 node sshd[5106]: m", "node", "sshd", "m"},
		{"Mar  3 00:17:22 [sshd]: m", "", "sshd", "m"},
		{"Jun 25 23:53:34 [sshd] m", "", "sshd", "m"},
		{"Jun 25 23:53:34 node [sshd] m", "node", "sshd", "m"},
		{"Dec 01 08:56:14 node sshd[1]:", "node", "sshd", ""},

		{"Failed password for root from 1.2.3.4", "", "", ""},
		{"node sshd[1]: m", "", "", ""},
		{"2024-07-27T00:00:23.000Z\tINFO\tcanonical-log\tx", "", "", ""},
		{"Dec 01 08:56:14 node sshd[x]: m", "", "", ""},
		{"Dec 01 08:56:14 node sshd[1]:m", "", "", ""},
		{"Dec 01 08:56:14 node [sshd m", "", "", ""},
		{"time=2025-11-02T10:00:02.000Z level=WARN msg=x", "", "", ""},
		{"{\"ts\":\"x\"}", "", "", ""},
	}
	for _, tt := range tests {
		p, ok := Parse([]byte(tt.line))
		if tt.tag == "" && tt.msg == "" && tt.host == "" {
			if ok && tt.line != "<38>1 2026-12-01T08:56:14Z - - - - -" {
				t.Errorf("Parse(%q) = %+v, want no prefix", tt.line, p)
			}
			continue
		}
		if !ok {
			t.Errorf("Parse(%q): no prefix", tt.line)
			continue
		}
		b := []byte(tt.line)
		if got := string(b[p.Host[0]:p.Host[1]]); got != tt.host {
			t.Errorf("Parse(%q) host %q, want %q", tt.line, got, tt.host)
		}
		if got := string(p.TagOf(b)); got != tt.tag {
			t.Errorf("Parse(%q) tag %q, want %q", tt.line, got, tt.tag)
		}
		if got := string(b[p.Message:]); got != tt.msg {
			t.Errorf("Parse(%q) message %q, want %q", tt.line, got, tt.msg)
		}
	}
}

func TestTagIs(t *testing.T) {
	names := []string{"sshd", "sshd-session"}
	for tag, want := range map[string]bool{
		"sshd": true, "sshd-session": true, "sshd.service": true, "sshd@3-192.0.2.1:22-198.51.100.7:5555.service": true,
		"sshdx": false, "fakeauth": false, "sshd.socket": false, "sshd-sessionx.service": false, "": false,
	} {
		if got := TagIs([]byte(tag), names); got != want {
			t.Errorf("TagIs(%q) = %v, want %v", tag, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("Dec  1 08:56:14 node sshd[1]: m"))
	f.Add([]byte(`<38>1 2026-12-01T08:56:14Z node sshd - ID47 [a b="x]"] m`))
	f.Add([]byte("[ 1234.567890] node ipfs[46133]: m"))
	f.Add([]byte("Tue 2026-12-01 08:56:14 UTC node ipfs.service[46133]: m"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ok := Parse(b)
		if !ok {
			return
		}
		if p.Message < 0 || p.Message > len(b) || p.Tag[0] > p.Tag[1] || p.Tag[1] > p.Message || p.Host[1] > p.Message {
			t.Fatalf("Parse(%q) = %+v out of range", b, p)
		}
	})
}

// FuzzParseInto checks that the in-place parser finds what the parser before
// it found (refParse), on every input.
func FuzzParseInto(f *testing.F) {
	for _, tt := range parseSeeds {
		f.Add([]byte(tt))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantOK := refParse(b)
		var got Prefix
		got.Message, got.Tag[0] = 7, 3 // ParseInto must not depend on what *p held
		gotOK := ParseInto(b, &got)
		if got != want || gotOK != wantOK {
			t.Fatalf("ParseInto(%q) = %+v, %v; before the rewrite %+v, %v", b, got, gotOK, want, wantOK)
		}
		if p, ok := Parse(b); p != want || ok != wantOK {
			t.Fatalf("Parse(%q) = %+v, %v; before the rewrite %+v, %v", b, p, ok, want, wantOK)
		}
	})
}

// parseSeeds are the prefix styles Parse knows and near misses of them.
var parseSeeds = []string{
	"Dec  1 08:56:14 node sshd[1]: m",
	`<38>1 2026-12-01T08:56:14Z node sshd - ID47 [a b="x]"] m`,
	"<38>1 2026-12-01T08:56:14Z - - - - -",
	"<38>1 2026-12-01T08:56:14Z node sshd - ID47 [a",
	"[ 1234.567890] node ipfs[46133]: m",
	"Tue 2026-12-01 08:56:14 UTC node ipfs.service[46133]: m",
	"Dec  1 08:56:14 <auth.info> node sshd[1]: [ID 800047 auth.info] m",
	"Dec  1 08:56:14 node sshd[1]: [ID 800047 auth.info]",
	"Mar  3 00:17:22 [sshd]: m", "Jun 25 23:53:34 node [sshd] m",
	"Dec 01 08:56:14 ipfs[46133]: m", "Dec 01 08:56:14 node sshd[x]: m",
	"Dec 01 08:56:14 node sshd[1]:", "Dec 01 08:56:14 node sshd[1]:m", "Dec 01 08:56:14 node",
	"1764579374.717400 node ipfs[46133]:  m",
	"Jul 27 00:00:00 ipfsNode ipfs[46133]: 2024-07-27T00:00:00.064Z\tINFO\tcanonical-log\tswarm/swarm_listen.go:128\tCANONICAL_PEER_STATUS: peer=12D3KooWqdXw addr=/ip4/222.244.49.102/tcp/30303",
}

func TestParseIntoSeeds(t *testing.T) {
	for _, s := range parseSeeds {
		want, wantOK := refParse([]byte(s))
		var got Prefix
		if ok := ParseInto([]byte(s), &got); got != want || ok != wantOK {
			t.Errorf("ParseInto(%q) = %+v, %v; before the rewrite %+v, %v", s, got, ok, want, wantOK)
		}
	}
}

// BenchmarkParse is the filters' case: a libp2p node's zap line relayed by
// syslog, the corpus's most common line.
func BenchmarkParse(b *testing.B) {
	for _, bb := range []struct{ name, line string }{
		{"libp2p", parseSeeds[len(parseSeeds)-1]},
		{"sshd", "Jul 27 00:00:07 bastion sshd[4711]: Failed password for root from 198.51.100.7 port 4444 ssh2"},
		{"with-unit", "Tue 2026-12-01 08:56:14 UTC node ipfs.service[46133]: m"},
	} {
		line := []byte(bb.line)
		b.Run(bb.name, func(b *testing.B) {
			var p Prefix
			for b.Loop() {
				if !ParseInto(line, &p) {
					b.Fatal("no prefix")
				}
			}
		})
	}
}
