package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/golden"
)

// TestLoadBadGolden loads every testdata/bad/NAME.yaml and compares all its
// messages with NAME.err. Regenerate with -update, then read the diff.
func TestLoadBadGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/bad/*.yaml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f, LoadOptions{})
			if err == nil {
				t.Fatalf("loaded: %v", c.Summary())
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid", err)
			}
			golden.CheckString(t, strings.TrimSuffix(f, ".yaml")+".err", err.Error()+"\n")
		})
	}
}

// TestErrorMessages pins one message per check, with its exact position.
func TestErrorMessages(t *testing.T) {
	const head = "jails:\n  libp2p:\n    filter: sshd\n    source: {files: /var/log/x.log}\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"bad duration", head + "    findtime: 3x\n",
			`p.yaml:5:15: jail "libp2p": findtime: "3x" is not a duration (e.g. 10m, 1h30m, 1d)`},
		{"zero duration", head + "    bantime: 0m\n",
			`p.yaml:5:14: jail "libp2p": bantime: "0m" must be longer than zero (e.g. 10m, 1h30m, 1d)`},
		{"unknown key", head + "    maxretries: 3\n",
			`p.yaml:5:5: jail "libp2p": maxretries: unknown key (did you mean maxretry? known keys: filter, source, enabled, findtime, maxretry, bantime, bantime_increment, ignoreip, ignoreself, ipv6_prefix, maxhosts, ports, protocol, action, actions, datepattern, max_clock_skew, ipv6_escalation, key, fleet, type, jails)`},
		{"wrong type", head + "    maxretry: [3]\n",
			`p.yaml:5:15: jail "libp2p": maxretry: got a list, want a whole number (e.g. 5)`},
		{"maxretry below 1", head + "    maxretry: 0\n",
			`p.yaml:5:15: jail "libp2p": maxretry: 0 is out of range 1..1000000 (e.g. 5)`},
		{"ipv6 prefix", head + "    ipv6_prefix: 129\n",
			`p.yaml:5:18: jail "libp2p": ipv6_prefix: 129 is out of range 1..128 (e.g. 64)`},
		{"bad cidr", head + "    ignoreip: [127.0.0.1/8, 10.0.0.0/40]\n",
			`p.yaml:5:29: jail "libp2p": ignoreip[1]: "10.0.0.0/40" is not an address or CIDR (e.g. 10.0.0.0/8, 192.0.2.7, ::1)`},
		{"port out of range", head + "    ports: 70000\n",
			`p.yaml:5:12: jail "libp2p": ports: "70000" is out of range 1..65535 (e.g. 4001, "30000-30100")`},
		{"reversed range", head + "    ports: [22, '9-3']\n",
			`p.yaml:5:17: jail "libp2p": ports[1]: "9-3" is a reversed range (e.g. "3-9")`},
		{"protocol", head + "    protocol: sctp\n",
			`p.yaml:5:15: jail "libp2p": protocol: "sctp" is not a protocol (one of tcp, udp, all)`},
		{"action", head + "    action: dryrun\n",
			`p.yaml:5:13: jail "libp2p": action: "dryrun" is not an action (did you mean dry-run? one of nftables, dry-run)`},
		{"datepattern", head + "    datepattern: whenever\n",
			`p.yaml:5:18: jail "libp2p": datepattern: unknown datepattern "whenever" (e.g. iso8601, rfc3339, syslog, epoch, epoch_ms or %Y-%m-%d %H:%M:%S)`},
		{"unknown filter", "jails:\n  a:\n    filter: ssh\n    source: {files: /x}\n",
			`p.yaml:3:13: jail "a": filter: unknown filter "ssh" (did you mean sshd? stock: bitcoin-connections, bitcoin-discouraged, bitcoin-misbehaving, cometbft-peer-error, flow-suspicious, geth-connections, geth-handshake, geth-peer-drop, geth-too-many-peers, libp2p-misbehaving, libp2p-peer-status, nano-peer-errors, sshd, sshd-aggressive, sshd-ddos)`},
		{"fail without host", "filters:\n  f:\n    regex: {fail: 'Failed login'}\n" + head,
			`p.yaml:3:19: filter "f": regex.fail: needs exactly one <HOST> or <ID>, or one of each (or a (?P<host>…) / (?P<id>…) group)`},
		{"bad ignore regex", "filters:\n  f:\n    regex:\n      fail: 'from <HOST>'\n      ignore: ['a', 'b(']\n" + head,
			`p.yaml:5:21: filter "f": regex.ignore[1]: missing closing ): "b("`},
		{"duplicate jail", head + "  libp2p: {filter: sshd}\n",
			`p.yaml:5:3: jails: "libp2p" appears twice (first at line 2)`},
		{"empty jails", "jails: {}\n",
			`p.yaml:1:8: jails: no jails defined (e.g. jails: {libp2p: {filter: libp2p-peer-status, source: {files: [/var/log/ipfs/*.log]}}})`},
		{"both sources", "jails:\n  a:\n    filter: sshd\n    source: {files: /x, journal: {match: A=b}}\n",
			`p.yaml:4:34: jail "a": source.journal: a source is files or journal, not both`},
		{"no source kind", "jails:\n  a:\n    filter: sshd\n    source: {}\n",
			`p.yaml:4:13: jail "a": source: missing files or journal (e.g. {files: [/var/log/ipfs/*.log]} or {journal: {match: [_SYSTEMD_UNIT=ipfs.service]}})`},
		{"journal match", "jails:\n  a:\n    filter: sshd\n    source: {journal: {match: ipfs.service}}\n",
			`p.yaml:4:31: jail "a": source.journal.match: "ipfs.service" is not a journal match FIELD=value (e.g. _SYSTEMD_UNIT=ipfs.service)`},
		{"yaml syntax", "jails:\n  a:\n    filter: sshd\n   source: x\n",
			`p.yaml:4: yaml: did not find expected key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.yaml), LoadOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Error("not ErrInvalid")
			}
		})
	}
}

// TestAllErrorsReported checks that problems are collected, not only the
// first, each on its own line in file order.
func TestAllErrorsReported(t *testing.T) {
	data := "jails:\n  a:\n    filter: nope\n    findtime: x\n  b:\n    filter: sshd\n    maxretry: 0\n"
	_, err := Parse("p.yaml", []byte(data), LoadOptions{SourcesOptional: true})
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	for i, prefix := range []string{"p.yaml:3:13: ", "p.yaml:4:15: ", "p.yaml:7:15: "} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d: want prefix %q in\n%s", i, prefix, err)
		}
	}
	if len(lines) != 3 {
		t.Errorf("%d lines, want 3:\n%s", len(lines), err)
	}
}

func TestTooManyErrorsAreCut(t *testing.T) {
	var b strings.Builder
	b.WriteString("jails:\n  a:\n    filter: sshd\n    ignoreip:\n")
	for range 200 {
		b.WriteString("      - bad\n")
	}
	_, err := Parse("p.yaml", []byte(b.String()), LoadOptions{SourcesOptional: true})
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || lines[maxErrors] != "p.yaml: 150 more errors not shown" {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"findtime", "maxretry", "bantime", "ignoreip", "protocol", "tcp", "mine"}
	for _, tc := range []struct{ in, want string }{
		{"findtme", "findtime"},
		{"maxretries", "maxretry"},
		{"MaxRetry", "maxretry"},
		{"ignore_ip", "ignoreip"},
		{"bantim", "bantime"},
		{"protcol", "protocol"},
		{"porotocl", "protocol"},
		{"colour", ""},
		{"sctp", ""},
		{"tcpp", "tcp"},
		{"mien", "mine"},
		{"x", ""},
		{strings.Repeat("a", 100), ""},
	} {
		if got := suggest(tc.in, known); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
