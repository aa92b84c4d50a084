package timestamp

import (
	"testing"
	"time"
)

// Every journalctl -o style and syslog prefix is read by logprefix's rule:
// the relay's stamp, and the program's own at its message start when finer.
// A monotonic stamp is no wall time: only the program's counts.
func TestRelayPrefixStyles(t *testing.T) {
	d, err := NewDetector(Options{Location: time.UTC, Reference: func() time.Time { return time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	const prog = "2026-12-01T08:56:14.717401Z\tINFO\tcanonical-log\tx.go:1\tCANONICAL_PEER_STATUS: peer= addr=/ip4/198.51.100.1/tcp/1"
	tests := []struct{ line, want string }{
		{"Dec 01 08:56:14 node ipfs[46133]: " + prog, "2026-12-01T08:56:14.717401Z"},
		{"Dec 01 08:56:14.717400 node ipfs[46133]: msg", "2026-12-01T08:56:14.7174Z"},
		{"2026-12-01T08:56:14+0000 node ipfs[46133]: " + prog, "2026-12-01T08:56:14.717401Z"},
		{"Tue 2026-12-01 08:56:14 UTC node ipfs[46133]: msg", "2026-12-01T08:56:14Z"},
		{"Tue 2026-12-01 08:56:14 UTC node ipfs.service[46133]: " + prog, "2026-12-01T08:56:14.717401Z"},
		{"Tue 2026-12-01 09:56:14 CET node ipfs.service[46133]: msg", "2026-12-01T09:56:14Z"},
		{"1796115374.717400 node ipfs[46133]: " + prog, "2026-12-01T08:56:14.7174Z"}, // as fine as the program's: the relay's
		{"1796115374.717400 node ipfs[46133]: msg", "2026-12-01T08:56:14.7174Z"},
		{"[ 1234.567890] node ipfs[46133]: " + prog, "2026-12-01T08:56:14.717401Z"},
		{"[ 1234.567890] node ipfs[46133]: msg", ""},
		{"<30>1 2026-12-01T08:56:14Z node ipfs 46133 - - " + prog, "2026-12-01T08:56:14.717401Z"},
		{"Dec  1 08:56:14 node sshd[1]: [ID 800047 auth.info] Failed password", "2026-12-01T08:56:14Z"},
		{"[ 1234.567890] node sshd[1]: Failed password for 2020-01-01T00:00:00Z from 1.2.3.4", ""},
		{"Tue 2026-12-01 08:56:14 UTC node sshd[1]: Invalid user 2020-01-01T00:00:00.123456Z from 1.2.3.4", "2026-12-01T08:56:14Z"},
	}
	for _, tt := range tests {
		got, ok := d.Find([]byte(tt.line))
		if tt.want == "" {
			if ok {
				t.Errorf("%q: got %v, want no time", tt.line, got)
			}
			continue
		}
		if !ok || got.UTC().Format(time.RFC3339Nano) != tt.want {
			t.Errorf("%q: got %v %v, want %s", tt.line, got, ok, tt.want)
		}
	}
}
