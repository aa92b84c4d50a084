package report

import (
	"bytes"
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/audit"
	"github.com/peerjail/peerjail/internal/golden"
	"github.com/peerjail/peerjail/internal/store"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// fixture writes a trail and a state file as a daemon would have: two bans
// of 198.51.100.7 in ssh (the second in force), one in libp2p of its /64
// neighbour's network, a manual unban, a reload, and another host.
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	uid := uint32(0)
	pol := &audit.Policy{FindTime: "10m0s", MaxRetry: 3, BanTime: "1h0m0s"}
	src := []string{"files:/var/log/auth.log"}
	nft := []audit.Result{{Action: "nftables", OK: true}}
	ev := []string{
		"Dec  1 08:59:50 bastion sshd[1]: Failed password for invalid user admin from 198.51.100.7 port 40000 ssh2",
		"Dec  1 08:59:55 bastion sshd[1]: Invalid user oracle db from 198.51.100.7 port 40001",
		"Dec  1 09:00:00 bastion sshd[1]: Failed password for root from 198.51.100.7 port 40002 ssh2 (to 192.0.2.10:22)",
	}
	ok := true
	l := audit.Open(dir, audit.Options{})
	l.Write(
		audit.Record{Time: t0, Event: "ban", By: "jail", Jail: "ssh", Key: "198.51.100.7", At: t0, Until: t0.Add(time.Hour), Hits: 3, Offences: 1,
			Filter: "sshd", Policy: pol, Sources: src, Evidence: ev, Actions: nft},
		audit.Record{Time: t0.Add(time.Hour), Event: "unban", By: "expiry", Jail: "ssh", Key: "198.51.100.7", At: t0.Add(time.Hour), Actions: nft},
		audit.Record{Time: t0.Add(90 * time.Minute), Event: "ban", By: "jail", Jail: "other", Key: "203.0.113.1", At: t0, Until: t0.Add(time.Hour),
			Filter: "sshd", Policy: pol, Evidence: []string{"x"}, Actions: nft},
		audit.Record{Time: t0.Add(2 * time.Hour), Event: "reload", By: "manual", UID: &uid, OK: &ok, Config: "/etc/peerjail/peerjail.yaml"},
		audit.Record{Time: t0.Add(3 * time.Hour), Event: "ban", By: "jail", Jail: "ssh", Key: "198.51.100.7", At: t0.Add(3 * time.Hour), Until: t0.Add(5 * time.Hour), Hits: 4, Offences: 2,
			Filter: "sshd", Policy: pol, Sources: src, Evidence: ev[2:], Actions: append(slices.Clone(nft), audit.Result{Action: "webhook https://hooks.example.org", Queued: true})},
		// The queued webhook's answer: not a ban of its own.
		audit.Record{Time: t0.Add(3*time.Hour + time.Second), Event: "action", Jail: "ssh", Key: "198.51.100.7", At: t0.Add(3 * time.Hour),
			Actions: []audit.Result{{Action: "webhook https://hooks.example.org", OK: true}}},
		audit.Record{Time: t0.Add(4 * time.Hour), Event: "ban", By: "manual", UID: &uid, Jail: "libp2p", Key: "198.51.100.0/24", At: t0.Add(4 * time.Hour), Until: t0.Add(28 * time.Hour), Offences: 1,
			Filter: "libp2p-peer-status", Policy: &audit.Policy{FindTime: "1h0m0s", MaxRetry: 10, BanTime: "1d0h0m0s"}, Sources: []string{"journal:_SYSTEMD_UNIT=ipfs.service"},
			Actions: []audit.Result{{Action: "nftables", Error: "netlink: operation not permitted"}}},
	)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "state.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(store.Batch{
		PutBans:      []store.Ban{{Jail: "ssh", Key: "198.51.100.7", At: t0.Add(3 * time.Hour), Until: t0.Add(5 * time.Hour), Offences: 2}},
		PutOffenders: []store.Offender{{Jail: "ssh", Key: "198.51.100.7", Offences: 2, Last: t0.Add(3 * time.Hour)}, {Jail: "old", Key: "198.51.100.7", Offences: 7, Last: t0.Add(-48 * time.Hour)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "state.db")
}

func gather(t *testing.T, state, host string, since time.Time) History {
	t.Helper()
	var h Host
	if host != "" {
		var err error
		if h, err = ParseHost(host); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := Gather(Options{StatePath: state, Host: h, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	return hist
}

func TestHistoryGolden(t *testing.T) {
	state := fixture(t)
	now := t0.Add(4 * time.Hour)
	for _, tt := range []struct {
		name, host string
		since      time.Time
	}{
		{"history-host", "198.51.100.7:40000", time.Time{}},
		{"history-since", "198.51.100.7", t0.Add(2 * time.Hour)},
		{"history-all", "", time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := gather(t, state, tt.host, tt.since)
			if !h.StoreRead {
				t.Error("the state file was not read")
			}
			var text, js bytes.Buffer
			if err := WriteHistory(&text, h, now, time.UTC); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, h.Entries); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tt.name+".txt"), text.Bytes())
			golden.Check(t, filepath.Join("testdata", tt.name+".json"), js.Bytes())
		})
	}
}

func bundle(t *testing.T, redact bool) Bundle {
	t.Helper()
	state := fixture(t)
	host, _ := ParseHost("198.51.100.7")
	o := BundleOptions{Host: host, Now: t0.Add(4 * time.Hour), Version: "peerjail 0.0.0-test (commit abc, go1.26 linux/amd64)"}
	if redact {
		o.Redact = NewRedactor([]netip.Addr{netip.MustParseAddr("192.0.2.10")}, "bastion")
	}
	return NewBundle(gather(t, state, "198.51.100.7", time.Time{}), o)
}

func TestReportGolden(t *testing.T) {
	for _, redact := range []bool{true, false} {
		b := bundle(t, redact)
		name := "report"
		if !redact {
			name += "-unredacted"
		}
		var md, js bytes.Buffer
		if err := WriteMarkdown(&md, b); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&js, b); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", name+".md"), md.Bytes())
		golden.Check(t, filepath.Join("testdata", name+".json"), js.Bytes())
		for _, private := range []string{"admin", "oracle", "root", "192.0.2.10", "bastion"} {
			if got := strings.Contains(md.String()+js.String(), private); got == redact {
				t.Errorf("redact %v: %q in the report: %v", redact, private, got)
			}
		}
	}
}

func TestRedactor(t *testing.T) {
	r := NewRedactor([]netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("2001:db8::1")}, "node-1")
	for _, tt := range []struct{ in, want string }{
		{"Failed password for invalid user x y from 1.2.3.4 port 22", "Failed password for invalid user <user> from 1.2.3.4 port 22"},
		{"Failed publickey for alice from 1.2.3.4 port 22 ssh2", "Failed publickey for <user> from 1.2.3.4 port 22 ssh2"},
		{"Invalid user bob from 1.2.3.4 port 22", "Invalid user <user> from 1.2.3.4 port 22"},
		{"Connection closed by invalid user carol 1.2.3.4 port 22 [preauth]", "Connection closed by invalid user <user> 1.2.3.4 port 22 [preauth]"},
		{"Accepted password for dave from 1.2.3.4 port 22 ssh2", "Accepted password for <user> from 1.2.3.4 port 22 ssh2"},
		{"node-1 sshd[7]: from 1.2.3.4 to 10.0.0.5:22 and 10.0.0.50", "<hostname> sshd[7]: from 1.2.3.4 to <self> and 10.0.0.50"},
		{"dial [2001:db8::1]:4001 ok; ::ffff:10.0.0.5.", "dial <self> ok; <self>."},
		{"node-10 is another host", "node-10 is another host"},
	} {
		if got := r.Line(tt.in); got != tt.want {
			t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseHost(t *testing.T) {
	for _, tt := range []struct {
		in             string
		key            string
		addrs          []string
		match, invalid bool
	}{
		{"198.51.100.7", "198.51.100.7", nil, true, false},
		{"/ip4/198.51.100.7/tcp/4001", "198.51.100.0/24", nil, true, false},
		{"2001:db8:1:2::9", "2001:db8:1:2::/64", nil, true, false},
		{"198.51.100.0/24", "198.51.100.9", nil, true, false},
		{"198.51.100.8", "198.51.100.7", nil, false, false},
		{"12D3KooWPeer", "12D3KooWPeer", nil, true, false},
		{"12D3KooWPeer", "12D3KooWOther", nil, false, false},
		{"198.51.100.7", "12D3KooWPeer", []string{"198.51.100.7/32"}, true, false},
		{"1.2.3", "", nil, false, true},
		{"a b", "", nil, false, true},
		{"", "", nil, false, true},
	} {
		h, err := ParseHost(tt.in)
		if tt.invalid {
			if !errors.Is(err, ErrHost) || !strings.Contains(err.Error(), "expected an address") {
				t.Errorf("ParseHost(%q): %v, want ErrHost saying what is expected", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseHost(%q): %v", tt.in, err)
		}
		if got := h.Matches(tt.key, tt.addrs); got != tt.match {
			t.Errorf("%q matches %q %v: %v, want %v", tt.in, tt.key, tt.addrs, got, tt.match)
		}
	}
}

// TestHistoryWhileLocked: while a daemon holds the state file, history
// reads the trail alone, at once.
func TestHistoryWhileLocked(t *testing.T) {
	state := fixture(t)
	st, err := store.Open(state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	h := gather(t, state, "198.51.100.7", time.Time{})
	if h.StoreRead || !h.StoreLocked || len(h.Entries) != 2 || time.Since(start) > 5*time.Second {
		t.Fatalf("store read %v, %d entries: want the trail's two (ssh, libp2p) without the store", h.StoreRead, len(h.Entries))
	}
	if e := h.Entries[1]; e.Jail != "ssh" || e.Offences != 2 || len(e.Events) != 4 || !e.Until.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("ssh entry from the trail: %+v", e)
	}
}
